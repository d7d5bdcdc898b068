"""Scanned PDFs for the OCR tests and bench/ocr.py: text rendered with tests/pdfs.py, then
rasterised as a scanner would (grey, a slight rotation, speckle noise) into image-only pages."""
from __future__ import annotations

import random
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageFilter

from tests.pdfs import write_pdf

SCAN_DPI = 200  # an office scanner's usual setting for letters


def scan_pages(text_pdf: Path, dpi: int = SCAN_DPI, angle: float = 0.4, noise: float = 0.002,
               seed: int = 16) -> list[Image.Image]:
    """Each page of ``text_pdf`` as a grey image, turned by ``angle`` degrees and speckled
    with ``noise`` (the share of pixels flipped to black or white)."""
    rng = random.Random(seed)
    pdf = pdfium.PdfDocument(text_pdf)
    images = []
    for page in pdf:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False)
        pixels = image.load()
        width, height = image.size
        for _ in range(int(noise * width * height)):
            pixels[rng.randrange(width), rng.randrange(height)] = rng.choice((0, 255))
        images.append(image.filter(ImageFilter.SMOOTH) if noise else image)
    pdf.close()
    return images


def write_scan(path: Path, lines: list[str], dpi: int = SCAN_DPI, header: str | None = None, **scan) -> Path:
    """``lines`` laid out as write_pdf does, saved as an image-only PDF (no text layer)."""
    text_pdf = write_pdf(path.with_suffix(".text.pdf"), lines, header=header)
    images = scan_pages(text_pdf, dpi, **scan)
    text_pdf.unlink()
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return path


def write_mixed(path: Path, text_pdf: Path, scan_pdf: Path, at: int) -> Path:
    """``text_pdf``'s pages with ``scan_pdf``'s first page put in at index ``at``: the text
    pages are copied as they are, their text layer untouched."""
    out = pdfium.PdfDocument.new()
    with_text, scanned = pdfium.PdfDocument(text_pdf), pdfium.PdfDocument(scan_pdf)
    out.import_pages(with_text)
    out.import_pages(scanned, pages=[0], index=at)
    out.save(path)
    for pdf in (out, with_text, scanned):
        pdf.close()
    return path
