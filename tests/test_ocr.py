"""OCR of scanned PDF pages (issue 16): seed responses rendered image-only and mixed, a missing
Tesseract, --ocr never as before, and the record of what was recognised."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import tests.pdfs
from pipeline.cli import main
from pipeline.gold import norm, paragraphs_holding
from pipeline.ingest import IngestError, IngestLimits, ingest_file
from pipeline.ingest.ocr import ocr_warnings, usable_layer
from pipeline.ingest.readers import read_pdf
from pipeline.records import Document, read_jsonl, to_json, write_jsonl
from pipeline.segment import segment
from tests.conftest import RESPONSES
from tests.pdfs import write_pdf
from tests.scans import write_mixed, write_scan


def _has_swedish_tesseract() -> bool:
    if shutil.which("tesseract") is None:
        return False
    listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
    return "swe" in listed


needs_tesseract = pytest.mark.skipif(not _has_swedish_tesseract(),
                                     reason="tesseract-ocr-swe not installed (make ocr)")
FSS = RESPONSES / "sveriges-socialchefer.txt"


def seed_lines(first: int, last: int) -> list[str]:
    """Lines ``first``..``last`` (1-based) of the FSS response as tests/test_pdf.py prints them."""
    lines = [line.strip() for line in FSS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[first - 1:last]


@pytest.fixture
def short_pages(monkeypatch):
    # a few lines a page: two recognised pages in a second or two, running header and numbers on each
    monkeypatch.setattr(tests.pdfs, "LINES_PER_PAGE", 4)


@needs_tesseract
def test_image_only_seed_pages_are_recognised_and_cleaned(tmp_path, short_pages, statements):
    scan = write_scan(tmp_path / "sveriges-socialchefer.pdf", seed_lines(18, 24), header="Remissvar FSS")
    document = ingest_file(scan)
    assert document.ocr_pages == (1, 2)
    assert all(conf > 80 for conf in document.ocr_confidence)
    assert "Remissvar FSS" not in document.text  # the recognised running header is furniture
    # and so are the page numbers "1 (2)", "2 (2)", also as OCR misreads them ("112)", "22)")
    assert not [line for line in document.text.split("\n") if line.endswith(")") and line[0].isdigit()]
    assert "instämmer i förslaget" in norm(document.text)  # "instäm-" | "mer" joined
    paragraphs = segment(document)
    quotes = [s for s in statements if s.doc == "sveriges-socialchefer"][:3]
    assert [len(paragraphs_holding(s.quote, s.doc, paragraphs)) for s in quotes] == [1, 1, 1]


@needs_tesseract
def test_mixed_pdf_keeps_its_text_pages_layer_byte_for_byte(tmp_path):
    text_pdf = write_pdf(tmp_path / "text.pdf", seed_lines(1, 80), header="Remissvar FSS")
    scan = write_scan(tmp_path / "signed.pdf", ["Med vänlig hälsning", "Föreningen Sveriges socialchefer"])
    mixed = write_mixed(tmp_path / "mixed.pdf", text_pdf, scan, at=2)
    layer = read_pdf(text_pdf, IngestLimits(ocr="never")).pages
    raw = read_pdf(mixed, IngestLimits(ocr="auto"))
    assert raw.ocr_pages == (3,)
    assert raw.pages[:2] == layer
    assert "vänlig hälsning" in raw.pages[2]
    # never: the scanned page reads as it did before OCR, empty
    assert read_pdf(mixed, IngestLimits(ocr="never")).pages == [*layer, ""]


@needs_tesseract
def test_always_recognises_pages_that_have_a_text_layer(tmp_path):
    text_pdf = write_pdf(tmp_path / "text.pdf", ["Socialstyrelsen tillstyrker förslaget."])
    raw = read_pdf(text_pdf, IngestLimits(ocr="always"))
    assert raw.ocr_pages == (1,)
    assert "tillstyrker förslaget" in raw.pages[0]


def test_never_gives_todays_error_for_an_image_only_pdf(tmp_path):
    scan = write_scan(tmp_path / "skannad.pdf", ["Socialstyrelsen tillstyrker förslaget."])
    with pytest.raises(IngestError) as err:
        ingest_file(scan, IngestLimits(ocr="never"))
    assert err.value.problem == "no text layer on any of its 1 pages (a scanned image?); run OCR first"


def test_without_tesseract_each_scan_is_an_error_and_the_run_goes_on(tmp_path, monkeypatch):
    scan = write_scan(tmp_path / "skannad.pdf", ["Socialstyrelsen tillstyrker förslaget."])
    (tmp_path / "text.txt").write_text("Socialstyrelsen tillstyrker förslaget.\n", encoding="utf-8")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no tesseract to be found
    out, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    assert main(["ingest", str(tmp_path), "--out", str(out), "--errors", str(errors), "--ocr", "auto"]) == 0
    assert [d["doc"] for d in read_jsonl(out)] == ["text"]
    [error] = read_jsonl(errors)
    assert error["file"] == str(scan)
    assert "Tesseract is not installed" in error["error"] and "page 1" in error["error"]


@needs_tesseract
def test_low_confidence_pages_are_warnings_in_errors_jsonl(tmp_path):
    scan = write_scan(tmp_path / "skannad.pdf", ["Socialstyrelsen tillstyrker förslaget."])
    params = tmp_path / "params.yaml"
    params.write_text("ingest:\n  ocr_min_confidence: 100\n", encoding="utf-8")  # no page is that sure
    out, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    assert main(["ingest", str(scan), "--out", str(out), "--errors", str(errors), "--params", str(params)]) == 0
    [document] = read_jsonl(out, Document)
    [warning] = read_jsonl(errors)
    assert document.ocr_pages == [1]
    assert warning["file"] == str(scan) and warning["level"] == "warning"
    assert warning["error"].startswith(f"page 1 recognised by OCR with mean confidence {document.ocr_confidence[0]:.1f}")


def test_ocr_warnings_name_the_pages_below_the_threshold():
    document = Document("d", "d.pdf", "text", 4, "0" * 64, pages=3, ocr_pages=(1, 3), ocr_confidence=(91.0, 42.5))
    [warning] = ocr_warnings(document, IngestLimits(ocr_min_confidence=70))
    assert warning.startswith("page 3 recognised by OCR with mean confidence 42.5")


def test_a_text_document_is_written_as_before_and_an_ocr_one_reads_back(tmp_path):
    text = ingest_file(FSS)
    assert list(json.loads(to_json(text))) == ["doc", "source", "text", "body_end", "sha256", "pages", "layout"]
    scanned = Document("d", "d.pdf", "text", 4, "0" * 64, pages=2, ocr_pages=(2,), ocr_confidence=(88.1,))
    write_jsonl(tmp_path / "docs.jsonl", [text, scanned])
    back = read_jsonl(tmp_path / "docs.jsonl", Document)
    assert back[0] == text
    assert (back[1].ocr_pages, back[1].ocr_confidence) == ([2], [88.1])


@pytest.mark.parametrize("layer, usable", [
    ("Socialstyrelsen tillstyrker förslaget.", True),
    ("3 (4)", False),  # a scan's page number
    ("", False),
    ("#$%& 12/3 §§ ¤¤ 45:6 ## ()", False),  # glyph soup of a broken font encoding
])
def test_usable_layer(layer, usable):
    assert usable_layer(layer) is usable


def test_an_unknown_ocr_mode_is_refused():
    with pytest.raises(ValueError, match="ingest.ocr must be one of auto, always, never"):
        IngestLimits(ocr="sometimes")


def test_ocr_text_gives_back_bullets_and_section_signs():
    from pipeline.ingest.ocr import _ocr_text

    words = ["+»", "Avtalen", "stärks.", "16", "kap.", "1", "$", "HSL."]
    lines = [1, 1, 1, 2, 2, 2, 2, 2]
    data = {"text": words, "block_num": [1] * 8, "par_num": [1] * 8, "line_num": lines}
    assert _ocr_text(data) == "• Avtalen stärks.\n16 kap. 1 § HSL."
