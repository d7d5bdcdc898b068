"""Render text to PDF for the tests (fpdf2 with matplotlib's DejaVu Sans, which has å, ä, ö, •, –)."""
from __future__ import annotations

from pathlib import Path

import matplotlib
from fpdf import FPDF

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
LINES_PER_PAGE = 40


def write_pdf(path: Path, lines: list[str], password: str | None = None, header: str | None = None) -> Path:
    """One PDF line per text line, 40 lines a page, an optional running header and page numbers."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=10)
    if password:
        pdf.set_encryption(owner_password=password + "-owner", user_password=password)
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    for number, page in enumerate(pages, 1):
        pdf.add_page()
        if header:
            pdf.set_xy(15, 8)
            pdf.cell(text=header)
        for n, line in enumerate(page):
            pdf.set_xy(15, 16 + n * 5.6)
            pdf.cell(text=line)
        pdf.set_xy(100, 288)
        pdf.cell(text=f"{number} ({len(pages)})")
    pdf.output(str(path))
    return path
