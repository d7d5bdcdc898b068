"""ingest: a response file (.txt, .pdf, .docx) → a clean :class:`Document`.

Readers are registered by file suffix; each returns the pages of raw text. Cleaning is the
same for every format: page furniture out, line-end hyphens joined (but Swedish suspended
compounds such as "hälso- och sjukvård" kept), footnotes and bare URLs moved behind the
body so that they never run into a paragraph.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .records import Document


class IngestError(Exception):
    """A response that cannot be read; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class RawPages:
    pages: list[str]
    #: "lines": the text breaks every printed line (PDF text layers, PDF-to-text exports);
    #: "paragraphs": one line per paragraph (DOCX).
    layout: str = "lines"


Reader = Callable[[Path], RawPages]
READERS: dict[str, Reader] = {}


def reader(*suffixes: str) -> Callable[[Reader], Reader]:
    def register(func: Reader) -> Reader:
        for suffix in suffixes:
            READERS[suffix] = func
        return func

    return register


@reader(".txt")
def read_txt(path: Path) -> RawPages:
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
def read_pdf(path: Path) -> RawPages:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as err:
        problem = str(err)
        if "password" in problem.lower():
            raise IngestError(path, "encrypted PDF: it needs a password to open; save an unprotected copy") from err
        raise IngestError(path, f"not a readable PDF ({problem}); the file is corrupt or not a PDF") from err
    try:
        pages = [page.get_textpage().get_text_range() for page in pdf]
    finally:
        pdf.close()
    # pdfium ends lines with CRLF (a lone CR in some producers) and marks a hyphen at a line
    # end with U+FFFE joined to the next line; give the hyphen its line end back so that the
    # one dehyphenation rule decides ("instäm-|mer" joins, "hälso-|och" stays)
    pages = [p.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-\n").replace("\xad", "-\n")
             for p in pages]
    if pages and not any(p.strip() for p in pages):
        raise IngestError(path, f"no text layer on any of its {len(pages)} pages (a scanned image?); run OCR first")
    return RawPages(pages)


@reader(".docx")
def read_docx(path: Path) -> RawPages:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

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


# --- cleaning -----------------------------------------------------------------------------

#: words that follow a suspended compound: "hälso- och sjukvård", "kommun- eller regionnivå"
SUSPENDED_COMPOUND_NEXT = frozenset({"och", "eller", "samt", "respektive", "resp.", "som", "till", "men"})
PAGE_NUMBER = re.compile(r"^(?:sid(?:a|an)?\.?\s*)?\d{1,3}(?:\s*(?:\(\d{1,3}\)|av\s+\d{1,3}|/\s*\d{1,3}))?$", re.I)
URL = re.compile(r"(?:https?://|www\.)\S+")
FOOTNOTE = re.compile(r"^(\d{1,2})\s+(?=\S)")
LINE_END_HYPHEN = re.compile(r"(\w)-$")


def _strip_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Drop page numbers and lines repeated at the top or bottom of most pages."""
    edges = Counter()
    for lines in pages:
        content = [line for line in lines if line]
        for line in {*content[:2], *content[-2:]}:
            edges[line] += 1
    repeated = {line for line, n in edges.items() if n >= 2 and n >= (len(pages) + 1) // 2}
    cleaned = []
    for lines in pages:
        content_idx = [i for i, line in enumerate(lines) if line]
        edge_idx = set(content_idx[:2] + content_idx[-2:])
        cleaned.append(
            [line for i, line in enumerate(lines)
             if not (line in repeated or (i in edge_idx and PAGE_NUMBER.match(line)))]
        )
    return cleaned


def _split_notes(lines: list[str]) -> tuple[list[str], list[str]]:
    """Move footnotes ("1 https://…", "2 Se prop. …") and bare URL lines out of the body.

    A footnote is a numbered line at a page bottom or one that holds a URL; a URL broken
    over lines is joined back (its hyphens are real, so they are kept).
    """
    body, notes = [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        is_url_line = bool(URL.fullmatch(line))
        is_url_note = bool(FOOTNOTE.match(line) and URL.search(line))
        if not (is_url_line or is_url_note):
            body.append(line)
            i += 1
            continue
        note = line
        i += 1
        # a URL continues on the next non-blank line when that line has no spaces
        while note.endswith(("-", "/", "_", "=", "&", "?")):
            j = i
            while j < len(lines) and not lines[j]:
                j += 1
            if j < len(lines) and " " not in lines[j] and not URL.match(lines[j]):
                note += lines[j]
                i = j + 1
            else:
                break
        notes.append(note)
    return body, notes


def _dedupe_notes(notes: list[str]) -> list[str]:
    """PDF link annotations repeat a footnote's URL as bare lines; keep each URL once."""
    kept: list[str] = []
    for note in notes:
        url = URL.search(note)
        if URL.fullmatch(note) and any(url.group() in other for other in kept):
            continue
        kept.append(note)
    return kept


def _dehyphenate(lines: list[str]) -> list[str]:
    """Join words split by a line-end hyphen; keep suspended compounds and real hyphens."""
    out = list(lines)
    for i, line in enumerate(out):
        match = LINE_END_HYPHEN.search(line)
        if not match:
            continue
        j = i + 1
        while j < len(out) and out[j] in ("", "\f"):
            j += 1
        if j == len(out):
            continue
        head, _, rest = out[j].partition(" ")
        if not head or head.lower() in SUSPENDED_COMPOUND_NEXT:
            continue
        if head[0].islower() and match.group(1).islower():
            out[i] = line[:-1] + head  # "instäm-" + "mer" → "instämmer"
        elif head[0].isalnum():
            out[i] = line + head  # "VULF-" + "avtal" → "VULF-avtal": the hyphen is part of the word
        else:
            continue
        out[j] = rest
    return out


def _drop_outline(lines: list[str], raw_lines: list[str]) -> list[str]:
    """Some PDF exports append the bookmark outline as tab-indented copies of headings."""
    kept: list[str] = []
    for line, raw in zip(lines, raw_lines):
        # a heading may have been broken over lines in the body: compare with the joined text
        if raw.startswith("\t") and line and line in " ".join(kept):
            continue
        kept.append(line)
    return kept


def _footnote_markers(body: str, notes: list[str]) -> str:
    """Remove footnote reference digits glued to words ("patientsäkerhet1.") for known notes."""
    numbers = {m.group(1) for note in notes if (m := FOOTNOTE.match(note))}
    for number in numbers:
        body = re.sub(rf"(?<=[a-zåäöé]){number}(?=[\s.,;:)]|$)", "", body, flags=re.M)
    return body


def clean(doc: str, source: str, raw: RawPages, sha256: str) -> Document:
    pages: list[list[str]] = []
    for page in raw.pages:
        raw_lines = page.split("\n")
        lines = [" ".join(line.split()) for line in raw_lines]
        pages.append(_drop_outline(lines, raw_lines))
    pages = _strip_furniture(pages)
    body_pages, notes = [], []
    for lines in pages:
        body, page_notes = _split_notes(lines)
        body_pages.append(body)
        notes.extend(page_notes)
    # hyphens are joined across page breaks too, so work on one list with page marks
    flat: list[str] = []
    for n, lines in enumerate(body_pages):
        if n:
            flat.append("\f")
        flat.extend(lines)
    flat = _dehyphenate([line for line in flat])
    text = "\n".join(flat)
    text = re.sub(r"\n?\f\n?", "\f", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    if raw.layout == "paragraphs":
        text = re.sub(r"\n+", "\n\n", text)
    notes = _dedupe_notes(notes)
    text = _footnote_markers(text, notes)
    body_end = len(text)
    if notes:
        text += "\n\n" + "\n".join(notes)
    return Document(doc=doc, source=source, text=text, body_end=body_end, sha256=sha256,
                    pages=len(raw.pages), layout=raw.layout)


def ingest_file(path: Path) -> Document:
    """Read and clean one response; raise :class:`IngestError` naming the file on bad input."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "no such file")
    read = READERS.get(path.suffix.lower())
    if read is None:
        raise IngestError(path, f"unknown file type {path.suffix or '(no suffix)'!r}; "
                                f"supported: {', '.join(sorted(READERS))}")
    if path.stat().st_size == 0:
        raise IngestError(path, "empty file")
    raw = read(path)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    document = clean(path.stem, str(path), raw, sha256)
    if not document.text[: document.body_end].strip():
        raise IngestError(path, "no text after cleaning (only whitespace, page numbers or URLs)")
    return document


def find_responses(paths: list[Path]) -> list[Path]:
    """Files to ingest: the given files, and the readable files inside given folders, sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")))
        else:
            found.append(path)
    return found
