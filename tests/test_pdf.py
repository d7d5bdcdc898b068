"""The four responses rendered to PDF (running header, page numbers) go through ingest and
segment with every gold quote still inside exactly one paragraph."""
from __future__ import annotations

import pytest

from pipeline.gold import paragraphs_holding
from pipeline.ingest import ingest_file
from pipeline.segment import segment
from tests.conftest import RESPONSES
from tests.pdfs import LINES_PER_PAGE, write_pdf


@pytest.fixture(scope="module")
def pdf_paragraphs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pdf")
    paragraphs = []
    for source in sorted(RESPONSES.glob("*.txt")):
        # the PDF prints each extracted line; blank lines of the export are not printed
        lines = [line.strip() for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        path = write_pdf(folder / f"{source.stem}.pdf", lines, header=f"Remissvar {source.stem}")
        document = ingest_file(path)
        assert document.pages == -(-len(lines) // LINES_PER_PAGE)
        assert f"Remissvar {source.stem}" not in document.text  # the running header is furniture
        paragraphs.extend(segment(document))
    return paragraphs


def test_every_gold_quote_in_one_paragraph_after_pdf(pdf_paragraphs, statements):
    misplaced = [(s.doc, s.quote[:60], len(paragraphs_holding(s.quote, s.doc, pdf_paragraphs)))
                 for s in statements if len(paragraphs_holding(s.quote, s.doc, pdf_paragraphs)) != 1]
    assert misplaced == []


def test_no_page_numbers_in_pdf_paragraphs(pdf_paragraphs):
    assert not [p.text for p in pdf_paragraphs if p.text.endswith(")") and p.text.split()[0].isdigit()]
