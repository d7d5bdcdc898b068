"""Readers, registered by file suffix: each returns a response's pages of raw text."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree

from .limits import IngestError, IngestLimits, check_size
from .ocr import needs_ocr, recognise, text_layer


@dataclass(frozen=True)
class RawPages:
    pages: list[str]
    #: "lines": the text breaks every printed line (PDF text layers, PDF-to-text exports);
    #: "paragraphs": one line per paragraph (DOCX).
    layout: str = "lines"
    #: the pages (1-based) recognised by OCR, and each one's mean word confidence (0-100)
    ocr_pages: tuple[int, ...] = ()
    ocr_confidence: tuple[float, ...] = ()


Reader = Callable[[Path, "IngestLimits"], RawPages]
READERS: dict[str, Reader] = {}


def reader(*suffixes: str) -> Callable[[Reader], Reader]:
    def register(func: Reader) -> Reader:
        for suffix in suffixes:
            READERS[suffix] = func
        return func

    return register


@reader(".txt")
def read_txt(path: Path, limits: IngestLimits) -> RawPages:
    # UTF-8 takes at most four bytes a character: a larger file holds too many, unread
    if (size := path.stat().st_size) > 4 * limits.max_chars:
        raise IngestError(path, f"{size:,} bytes, more than 4 × ingest.max_chars ({limits.max_chars:,} characters): "
                                "not read (split the file or raise the limit in params.yaml)")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise IngestError(
            path, f"not UTF-8 text (undecodable byte 0x{data[err.start]:02x} at offset {err.start}); "
            "convert the file to UTF-8"
        ) from err
    if "\x00" in text:
        raise IngestError(path, "contains NUL bytes: a binary file, not text")
    return RawPages(text.split("\f"))


@reader(".pdf")
def read_pdf(path: Path, limits: IngestLimits) -> RawPages:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as err:
        problem = str(err)
        if "password" in problem.lower():
            raise IngestError(path, "encrypted PDF: it needs a password to open; save an unprotected copy") from err
        raise IngestError(path, f"not a readable PDF ({problem}); the file is corrupt or not a PDF") from err
    try:
        pages, recognised = [], {}
        for number, page in enumerate(pdf, 1):
            layer = text_layer(page)
            if needs_ocr(page, layer, limits.ocr):
                layer, recognised[number] = recognise(path, number, page, limits.ocr_dpi)
            pages.append(layer)
    finally:
        pdf.close()
    if pages and not any(p.strip() for p in pages):
        if limits.ocr == "never":
            raise IngestError(path, f"no text layer on any of its {len(pages)} pages (a scanned image?); run OCR first")
        if not recognised:
            raise IngestError(path, f"no text layer on any of its {len(pages)} pages, and no image on them for "
                                    "OCR to recognise (drawn marks only?)")
        raise IngestError(path, f"no text on any of its {len(pages)} pages: no text layer, and OCR recognised "
                                "none (blank scans?)")
    return RawPages(pages, ocr_pages=tuple(recognised), ocr_confidence=tuple(recognised.values()))


WORD_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
#: the most XML a DOCX may hold per character of ingest.max_chars: Word spends about 10-30
#: bytes of markup on each run of text; the 786 KB zip bomb unpacked to 194 MB
DOCX_XML_PER_CHAR = 64


def _check_docx_size(path: Path, limits: IngestLimits) -> None:
    """Count the body's paragraphs and characters as the XML streams in, and stop at the first
    limit exceeded: python-docx would build the whole tree first (a 786 KB zip bomb: 194 MB
    of XML, 1.8 GB of memory)."""
    try:
        with zipfile.ZipFile(path) as package, package.open("word/document.xml") as xml:
            # zipfile reads no more than the size the entry declares
            if (size := package.getinfo("word/document.xml").file_size) > DOCX_XML_PER_CHAR * limits.max_chars:
                raise IngestError(path, f"{size:,} bytes of XML, more than {DOCX_XML_PER_CHAR} × ingest.max_chars "
                                        f"({limits.max_chars:,} characters): not read (a zip bomb?)")
            paragraphs = chars = paragraph_chars = 0
            for _, element in ElementTree.iterparse(xml, events=("end",)):
                if element.tag == WORD_NS + "t":
                    paragraph_chars += len(element.text or "")
                elif element.tag == WORD_NS + "p":
                    paragraphs += 1
                    chars += paragraph_chars
                    check_size(path, limits, chars, paragraphs, paragraph_chars)
                    paragraph_chars = 0
                    element.clear()
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError):
        return  # python-docx says what is wrong with the package below


@reader(".docx")
def read_docx(path: Path, limits: IngestLimits) -> RawPages:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _check_docx_size(path, limits)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as err:
        raise IngestError(path, f"not a readable DOCX ({err}); the file is corrupt or not a Word document") from err
    except Exception as err:  # zipfile.BadZipFile and friends: python-docx does not wrap them
        raise IngestError(path, f"not a readable DOCX ({type(err).__name__}: {err})") from err
    paragraphs = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            paragraphs.append(" | ".join(cell.text.strip() for cell in row.cells))
    return RawPages(["\n".join(paragraphs)], layout="paragraphs")


def check_pages(path: Path, raw: RawPages, limits: IngestLimits) -> None:
    lines = [line for page in raw.pages for line in page.split("\n") if line.strip()]
    check_size(path, limits, sum(map(len, raw.pages)), len(lines), max(map(len, lines), default=0))
