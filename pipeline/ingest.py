"""ingest: a response file (.txt, .pdf, .docx) → a clean :class:`Document`.

Readers are registered by file suffix; each returns the pages of raw text. Cleaning is the
same for every format: page furniture out, line-end hyphens joined (but Swedish suspended
compounds such as "hälso- och sjukvård" kept), footnotes and bare URLs moved behind the
body so that they never run into a paragraph.
"""
from __future__ import annotations

import hashlib
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree

from .records import Document


class IngestError(Exception):
    """A response that cannot be read; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


OCR_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class IngestLimits:
    """params.yaml ``ingest:``: the most one file may hold. Beyond them a file is refused
    with an error naming it, before cleaning, segmenting and linking it could take minutes
    (a 50 MB .txt, a 1.5M-character paragraph, a zip bomb of 207k DOCX paragraphs).

    The defaults hold --max-pages' 300 pages of dense print (about 3,300 characters and 50
    lines a page; the corpus's longest response has 19,681 characters and 278 lines) and a
    paragraph of six such pages; a file at the limits is read, segmented and linked in about
    10 s on one core (bench/results/hostile.json, "at_limits")."""

    max_chars: int = 1_000_000
    max_paragraphs: int = 20_000
    max_paragraph_chars: int = 20_000
    #: PDF pages recognised with Tesseract: "auto" those that hold an image and no usable
    #: text layer, "always" every page, "never" none (an image-only PDF is then an error)
    ocr: str = "auto"
    #: the resolution pages are rendered at for OCR (bench/results/ocr.json: CER and s/page)
    ocr_dpi: int = 200
    #: a recognised page below this mean word confidence (Tesseract's 0-100) is a warning
    ocr_min_confidence: float = 70.0

    def __post_init__(self) -> None:
        if self.ocr not in OCR_MODES:
            raise ValueError(f"ingest.ocr must be one of {', '.join(OCR_MODES)}, not {self.ocr!r}")


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
            layer = _text_layer(page)
            if _needs_ocr(page, layer, limits.ocr):
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


def _text_layer(page) -> str:
    # pdfium ends lines with CRLF (a lone CR in some producers) and marks a hyphen at a line
    # end with U+FFFE joined to the next line; give the hyphen its line end back so that the
    # one dehyphenation rule decides ("instäm-|mer" joins, "hälso-|och" stays)
    text = page.get_textpage().get_text_range()
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-\n").replace("\xad", "-\n")


LETTER = re.compile(r"[^\W\d_]")
#: a text layer with fewer letters, or mostly other characters, is not used (a scan's page
#: number, or the glyph soup of a broken font encoding)
MIN_LAYER_LETTERS = 8
MIN_LETTER_SHARE = 0.5


def usable_layer(text: str) -> bool:
    letters = len(LETTER.findall(text))
    visible = len("".join(text.split()))
    return letters >= MIN_LAYER_LETTERS and letters >= MIN_LETTER_SHARE * visible


def _needs_ocr(page, layer: str, mode: str) -> bool:
    import pypdfium2.raw as pdfium_c

    if mode != "auto":
        return mode == "always"
    # a page without an image has nothing to recognise (a blank or a short signature page)
    has_image = next(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2), None) is not None
    return has_image and not usable_layer(layer)


def recognise(path: Path, number: int, page, dpi: int) -> tuple[str, float]:
    """Page ``number`` rendered at ``dpi`` and read by Tesseract's Swedish model: its text
    (one line per recognised line) and mean word confidence."""
    import pytesseract
    from PIL import ImageFilter

    # a median filter takes out a scan's isolated specks, which Tesseract reads as dots and colons
    image = page.render(scale=dpi / 72, grayscale=True).to_pil().filter(ImageFilter.MedianFilter(3))
    try:
        data = pytesseract.image_to_data(image, lang="swe", output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError as err:
        raise IngestError(path, f"page {number} needs OCR, but Tesseract is not installed (no 'tesseract' on "
                                "PATH): install tesseract-ocr and tesseract-ocr-swe (make ocr), or use "
                                "--ocr never") from err
    except pytesseract.TesseractError as err:
        raise IngestError(path, f"page {number}: Tesseract failed ({err.message.strip() or err.status}); "
                                "is its Swedish model installed (tesseract-ocr-swe)?") from err
    return _ocr_text(data), _mean_confidence(data)


def _ocr_text(data: dict) -> str:
    # one line per recognised line, as a PDF text layer has them; no blank lines between
    # Tesseract's paragraphs: it breaks paragraphs inside sentences (measured on the seeds), and
    # segment finds paragraphs in line-broken text as it does for text layers
    lines: dict[tuple[int, int, int], list[str]] = {}
    for word, block, par, line in zip(data["text"], data["block_num"], data["par_num"], data["line_num"]):
        if word.strip():
            lines.setdefault((block, par, line), []).append(word.strip())
    return "\n".join(OCR_SECTION.sub("§", OCR_BULLET.sub("• ", " ".join(words))) for words in lines.values())


#: Tesseract reads a bullet "•" as one or two of these (measured on the seeds: "»", "«", "+", "+»");
#: given back so that segment starts a bullet paragraph there, as it does for a text layer
OCR_BULLET = re.compile(r"^[«»+*·•®©°]{1,2}\s+")
#: and "§" beside a number as "$" ("16 kap. 1 $ hälso- och sjukvårdslagen")
OCR_SECTION = re.compile(r"(?<=\d )\$|\$(?= ?\d)")


def _mean_confidence(data: dict) -> float:
    scores = [float(c) for word, c in zip(data["text"], data["conf"]) if word.strip() and float(c) >= 0]
    return round(sum(scores) / len(scores), 1) if scores else 0.0


def ocr_warnings(document: Document, limits: IngestLimits) -> list[str]:
    """A warning for each recognised page whose mean confidence is below ingest.ocr_min_confidence."""
    return [f"page {page} recognised by OCR with mean confidence {conf:.1f} (below ingest.ocr_min_confidence "
            f"{limits.ocr_min_confidence:g}): its text may be wrong"
            for page, conf in zip(document.ocr_pages, document.ocr_confidence) if conf < limits.ocr_min_confidence]


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


def check_size(path: Path, limits: IngestLimits, chars: int, paragraphs: int, longest: int) -> None:
    """IngestError naming the file and the first limit it exceeds."""
    for value, limit, name, what in ((longest, limits.max_paragraph_chars, "max_paragraph_chars",
                                      "characters in one paragraph"),
                                     (paragraphs, limits.max_paragraphs, "max_paragraphs", "paragraphs (lines)"),
                                     (chars, limits.max_chars, "max_chars", "characters")):
        if value > limit:
            raise IngestError(path, f"more than {limit:,} {what} (ingest.{name}): not read "
                                    "(split the file or raise the limit in params.yaml)")


def check_pages(path: Path, raw: RawPages, limits: IngestLimits) -> None:
    lines = [line for page in raw.pages for line in page.split("\n") if line.strip()]
    check_size(path, limits, sum(map(len, raw.pages)), len(lines), max(map(len, lines), default=0))


# --- cleaning -----------------------------------------------------------------------------

#: words that follow a suspended compound: "hälso- och sjukvård", "kommun- eller regionnivå"
SUSPENDED_COMPOUND_NEXT = frozenset({"och", "eller", "samt", "respektive", "resp.", "som", "till", "men"})
PAGE_NUMBER = re.compile(r"^(?:sid(?:a|an)?\.?\s*)?\d{1,3}(?:\s*(?:\(\d{1,3}\)|av\s+\d{1,3}|/\s*\d{1,3}))?$", re.I)
URL = re.compile(r"(?:https?://|www\.)\S+")
FOOTNOTE = re.compile(r"^(\d{1,2})\s+(?=\S)")
LINE_END_HYPHEN = re.compile(r"(\w)-$")
#: a page number as OCR reads it: digits and brackets, one misread ("1 (2)" as "112)", "2 {2)")
OCR_PAGE_NUMBER = re.compile(r"^(?:sid(?:a|an)?\.?\s*)?(?=.*\d)[\d()\[\]{}|/ ]{1,9}$", re.I)


def _strip_furniture(pages: list[list[str]], recognised: frozenset[int] = frozenset()) -> list[list[str]]:
    """Drop page numbers and lines repeated at the top or bottom of most pages; on the pages
    ``recognised`` by OCR (0-based), page numbers as OCR misreads them too."""
    edges = Counter()
    for lines in pages:
        content = [line for line in lines if line]
        for line in {*content[:2], *content[-2:]}:
            edges[line] += 1
    repeated = {line for line, n in edges.items() if n >= 2 and n >= (len(pages) + 1) // 2}
    cleaned = []
    for n, lines in enumerate(pages):
        content_idx = [i for i, line in enumerate(lines) if line]
        edge_idx = set(content_idx[:2] + content_idx[-2:])
        number = OCR_PAGE_NUMBER if n in recognised else PAGE_NUMBER
        cleaned.append(
            [line for i, line in enumerate(lines)
             if not (line in repeated or (i in edge_idx and number.match(line)))]
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
    # the URLs of the kept notes, looked up rather than searched for in every kept note (that
    # was quadratic: 10,000 URLs took 9 s); trailing punctuation does not make another URL
    seen: set[str] = set()
    for note in notes:
        if URL.fullmatch(note) and note.rstrip(".,;:)]") in seen:
            continue
        kept.append(note)
        seen.update(url.rstrip(".,;:)]") for url in URL.findall(note))
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
    body = _WordIndex()
    for line, raw in zip(lines, raw_lines):
        # a heading may have been broken over lines in the body: look for its words in a row
        if raw.startswith("\t") and line and body.contains(line.split(" ")):
            continue
        kept.append(line)
        body.extend(line.split(" "))
    return kept


class _WordIndex:
    """The words of the lines kept so far, and where each word occurs: a phrase is looked
    for at the places of its rarest word, not in the whole text joined again for every
    outline line (that was quadratic: 10,000 outline lines took 2 s, 20,000 8 s). An empty
    line is an empty word, so that no phrase runs across it."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.at: dict[str, list[int]] = {}

    def extend(self, words: list[str]) -> None:
        for word in words:
            self.at.setdefault(word, []).append(len(self.words))
            self.words.append(word)

    def contains(self, phrase: list[str]) -> bool:
        offset, anchor = min(enumerate(phrase), key=lambda iw: len(self.at.get(iw[1], ())))
        return any(self.words[p - offset:p - offset + len(phrase)] == phrase
                   for p in self.at.get(anchor, ()) if p >= offset)


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
    pages = _strip_furniture(pages, frozenset(number - 1 for number in raw.ocr_pages))
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
                    pages=len(raw.pages), layout=raw.layout, ocr_pages=raw.ocr_pages,
                    ocr_confidence=raw.ocr_confidence)


def ingest_file(path: Path, limits: IngestLimits = IngestLimits()) -> Document:
    """Read and clean one response; raise :class:`IngestError` naming the file on bad input."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "no such file")
    read = READERS.get(path.suffix.lower())
    if read is None:
        raise IngestError(path, f"unknown file type {path.suffix or '(no suffix)'!r}; "
                                f"supported: {', '.join(sorted(READERS))}")
    try:
        if path.stat().st_size == 0:
            raise IngestError(path, "empty file")
        raw = read(path, limits)
        check_pages(path, raw, limits)
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:  # no permission, a file gone meanwhile: this file fails, not the run
        raise IngestError(path, f"cannot read it ({err.strerror or err})") from err
    document = clean(path.stem, str(path), raw, sha256)
    if not document.text[: document.body_end].strip():
        raise IngestError(path, "no text after cleaning (only whitespace, page numbers or URLs)")
    return document


@dataclass(frozen=True)
class Skipped:
    """An entry of an input folder that is not read: a dangling link or a link loop (an
    error: a response meant to be there is not), a subfolder (a warning: folders are not
    searched recursively) or anything else that is not a regular file."""

    file: str
    level: str
    problem: str


def find_responses(paths: list[Path]) -> tuple[list[Path], list[Skipped]]:
    """Files to ingest: the given files, and the readable files inside given folders, sorted;
    and the folders' entries left out, each with the reason (hidden files are left out as
    a matter of course: temporaries, .DS_Store)."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    for path in map(Path, paths):
        if not path.is_dir():
            found.append(path)
            continue
        for entry in sorted(path.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_file():
                found.append(entry)
            elif entry.is_symlink():  # is_file() follows the link: False when it leads nowhere
                skipped.append(Skipped(str(entry), "error", "a symbolic link that leads to no file "
                                                            "(dangling, or a loop): not read"))
            elif entry.is_dir():
                skipped.append(Skipped(str(entry), "warning", "a subfolder: not searched "
                                                              "(give it as an input of its own)"))
            else:
                skipped.append(Skipped(str(entry), "error", "not a regular file (a pipe, socket or device): not read"))
    return found, skipped
