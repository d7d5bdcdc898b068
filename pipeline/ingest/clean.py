"""Cleaning, the same for every format: page furniture out, line-end hyphens joined (but
Swedish suspended compounds such as "hälso- och sjukvård" kept), footnotes and bare URLs moved
behind the body so that they never run into a paragraph."""
from __future__ import annotations

import re
from collections import Counter

from ..records import Document
from .readers import RawPages


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
