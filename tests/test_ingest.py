"""ingest: hyphen rules, furniture, footnotes, and a clear error for every kind of bad input."""
from __future__ import annotations

import docx
import pytest
from fpdf import FPDF

from pipeline.ingest import IngestError, ingest_file
from pipeline.ingest.clean import clean
from pipeline.ingest.readers import RawPages
from tests.pdfs import FONT, write_pdf


def cleaned(text: str, pages: list[str] | None = None) -> str:
    document = clean("t", "t.txt", RawPages(pages or [text]), "0")
    return document.text[: document.body_end]


def test_line_end_hyphen_is_joined():
    assert "FSS instämmer\ni förslaget." in cleaned("FSS instäm-\nmer i förslaget.")
    assert "parallella\nsjukvårdsorganisationer" in cleaned("samt att paral-\nlella sjukvårdsorganisationer")


def test_line_end_hyphen_joined_across_the_blank_lines_of_the_export():
    assert "sjukvården\n\ni syfte" in cleaned("hälso- och sjuk-\n\nvården i syfte")


@pytest.mark.parametrize("text, kept", [
    ("kommunal hälso-\noch sjukvård", "hälso-\noch sjukvård"),
    ("kommunal hälso- \n\noch sjukvård", "hälso-\n\noch sjukvård"),
    ("på kommun-\neller regionnivå", "kommun-\neller regionnivå"),
    ("arbetsmiljö-\nsamt patientsäkerhetshänseende", "arbetsmiljö-\nsamt"),
])
def test_suspended_compounds_keep_their_hyphen(text, kept):
    assert kept in cleaned(text)


def test_hyphen_after_an_acronym_is_part_of_the_word():
    assert "breddat VULF-avtal" in cleaned("ett breddat VULF-\navtal för fler")


def test_footnotes_and_urls_leave_the_body():
    text = ("för patientsäkerhet1. Det är också\nviktigt.\n"
            "1 https://www.socialstyrelsen.se/kunskapsstod/nationella-\n\nkompetensmal/\n"
            "https://www.socialstyrelsen.se/kunskapsstod/nationella-kompetensmal/\n")
    document = clean("t", "t.txt", RawPages([text]), "0")
    body, notes = document.text[: document.body_end], document.text[document.body_end:]
    assert "https" not in body
    assert "patientsäkerhet." in body  # the footnote marker is gone, the word is whole
    assert notes.strip() == "1 https://www.socialstyrelsen.se/kunskapsstod/nationella-kompetensmal/"


def test_page_furniture_is_dropped():
    pages = [f"Remissvar SOU 2024:72\nText på sidan {n} fortsätter.\nMer text här.\n{n} (4)" for n in range(1, 5)]
    body = cleaned("", pages)
    assert "Remissvar SOU 2024:72" not in body
    assert "(4)" not in body
    assert "Text på sidan 3 fortsätter." in body
    assert body.count("\f") == 3  # page breaks are kept as form feeds


def test_the_real_corpus_ingests(documents):
    assert [d.doc for d in documents] == ["socialstyrelsen", "stockholms-stad", "sveriges-socialchefer",
                                         "vastra-gotalandsregionen"]
    fss = next(d for d in documents if d.doc == "sveriges-socialchefer")
    assert "instämmer" in fss.text and "instäm-" not in fss.text
    assert fss.text.count("Remiss av SOU 2024:72") == 1  # the appended PDF outline is dropped
    sos = next(d for d in documents if d.doc == "socialstyrelsen")
    assert "https://" not in sos.text[: sos.body_end] and "https://" in sos.text[sos.body_end:]


# --- bad input: every case names the file and the problem --------------------------------

def _error(path) -> str:
    with pytest.raises(IngestError) as caught:
        ingest_file(path)
    assert str(path) in str(caught.value)
    return caught.value.problem


@pytest.mark.parametrize("name, content, problem", [
    ("tom.txt", b"", "empty"),
    ("svar.odt", b"something", "unknown file type '.odt'"),
    ("latin1.txt", "Socialstyrelsen tillstyrker förslaget.".encode("latin-1"), "not UTF-8"),
    ("trasig.pdf", b"%PDF-1.7\n1 0 obj garbage \x00\xff", "not a readable PDF"),
])
def test_unreadable_file_is_an_error_naming_it(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    assert problem in _error(path)


def test_truncated_pdf(tmp_path):
    whole = write_pdf(tmp_path / "hel.pdf", ["Socialstyrelsen tillstyrker förslaget."])
    path = tmp_path / "halv.pdf"
    path.write_bytes(whole.read_bytes()[:200])
    assert "not a readable PDF" in _error(path)


def test_encrypted_pdf(tmp_path):
    path = write_pdf(tmp_path / "lasad.pdf", ["Socialstyrelsen tillstyrker förslaget."], password="hemligt")
    assert "encrypted" in _error(path)


def test_pdf_without_text_layer(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_fill_color(80, 80, 80)
    pdf.rect(20, 20, 120, 60, style="F")  # a scanned page: marks, no text
    path = tmp_path / "skannad.pdf"
    pdf.output(str(path))
    assert "no text layer" in _error(path)


def test_corrupt_docx(tmp_path):
    path = tmp_path / "trasig.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert "not a readable DOCX" in _error(path)


def test_docx_paragraphs_are_kept(tmp_path):
    document = docx.Document()
    document.add_heading("5.4 Det ska inte vara förbjudet för kommuner att anställa läkare", level=2)
    document.add_paragraph("Socialstyrelsen tillstyrker utredningens förslag.")
    path = tmp_path / "svar.docx"
    document.save(str(path))
    ingested = ingest_file(path)
    assert ingested.layout == "paragraphs"
    assert "anställa läkare\n\nSocialstyrelsen tillstyrker" in ingested.text


def test_font_for_pdfs_exists():
    assert FONT.exists()
