"""segment: clean text → paragraphs with kind, section and character offsets.

Remissvar reach us as PDF text layers: every printed line is broken, some exports put a
blank line between all lines, headings run over several lines, and a numbered heading
often runs straight into its first paragraph. Paragraph boundaries are therefore decided
line by line from layout cues: a bullet or numbered heading starts a unit; a short line
that ends a sentence ends one; blank lines count only in documents where they are rare
enough to mean something. A heading is kept with the paragraph it introduces (the
annotators quote "4.4.3 Det bör inte införas sanktioner … Socialstyrelsen delar
utredningens bedömning." as one statement) and names the ``section`` of what follows.
"""
from __future__ import annotations

import argparse
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from .records import Document, Paragraph, read_jsonl, write_jsonl
from .text.sentences import ends_sentence

log = logging.getLogger("remiss")

BULLET = re.compile(r"^(?:[•◦▪●■*]|\d{1,2}[.)])\s+\S")
#: a dash starts a list item only after a line that ends a sentence or introduces a list;
#: elsewhere it is a dash inside the sentence ("… sjukvården – FSS instämmer i förslaget.")
DASH_ITEM = re.compile(r"^[\-–—]\s+\S")
NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\s+([A-ZÅÄÖ].*)$")
#: function words that cannot end a heading line: the heading continues on the next line
CONTINUES = frozenset({
    "och", "eller", "om", "med", "för", "att", "i", "på", "av", "till", "inom", "den", "det",
    "de", "en", "ett", "som", "vid", "från", "mellan", "samt", "under", "efter", "per", "utan",
})
CLOSING_CUE = re.compile(r"^(?:För [A-ZÅÄÖ]|Med vänlig|Beslut om detta yttrande|Detta yttrande har beslutats)")
#: "Stockholm den 5 mars 2025" closes a letter when a name follows it
PLACE_DATE = re.compile(r"^[A-ZÅÄÖ][a-zåäö]+ den \d{1,2} [a-zåäö]+ \d{4}$")
NAME_LINE = re.compile(r"^[A-ZÅÄÖ][\w-]+(?: (?:[A-ZÅÄÖ][\w-]+|och|af|von|de))+$")
MAX_HEADING_LINES = 3
MAX_HEADING_WORDS = 20
SHORT_LINE = 0.8  # a line this much shorter than the column ends its paragraph if it ends a sentence


@dataclass
class Line:
    text: str
    start: int
    end: int
    gap_before: bool  # a blank line precedes it


@dataclass
class Block:
    lines: list[Line]
    kind: str

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


def _lines(text: str) -> list[Line]:
    lines, gap = [], False
    for match in re.finditer(r"[^\n\f]*", text):
        content = match.group()
        if not content.strip():
            # an empty match between two separators means a blank line; \f alone is not one
            if match.start() > 0 and text[match.start() - 1] == "\n" and match.end() < len(text) \
                    and text[match.end()] == "\n":
                gap = True
            continue
        lead = len(content) - len(content.lstrip())
        lines.append(Line(content.strip(), match.start() + lead, match.start() + len(content.rstrip()), gap))
        gap = False
    return lines


def _column_width(lines: list[Line]) -> int:
    lengths = sorted(len(line.text) for line in lines)
    return lengths[int(0.9 * (len(lengths) - 1))] if lengths else 80


def _is_item(line: Line, prev: Line | None) -> bool:
    return bool(BULLET.match(line.text) or DASH_ITEM.match(line.text) and (prev is None or ends_sentence(prev.text)))


def _starts_unit(line: Line, prev: Line | None = None) -> bool:
    return _is_item(line, prev) or bool(NUMBERED_HEADING.match(line.text))


def _starts_upper(line: Line) -> bool:
    first = line.text[:1]
    return first.isupper() or first.isdigit() or first in "•”\"(–-"


def _continues(line: Line) -> bool:
    """The line is cut mid-phrase: the next line goes on with the same unit."""
    last = line.text.rsplit(" ", 1)[-1].lower()
    return last in CONTINUES or line.text.endswith(("-", ","))


def _heading_length(lines: list[Line], i: int, width: int, blank_breaks: bool) -> int:
    """How many lines from ``i`` form a heading (0 if none)."""
    numbered = bool(NUMBERED_HEADING.match(lines[i].text))
    if not numbered and not lines[i].text[:1].isupper():
        return 0
    words = 0
    for k in range(MAX_HEADING_LINES):
        if i + k >= len(lines):
            return 0
        line = lines[i + k]
        if k and (line.gap_before and blank_breaks or _starts_unit(line)):
            return 0
        words += len(line.text.split())
        if words > MAX_HEADING_WORDS or ends_sentence(line.text) or line.text.endswith(";"):
            return 0
        nxt = lines[i + k + 1] if i + k + 1 < len(lines) else None
        if nxt is None:
            return k + 1
        continued = (not _starts_upper(nxt) or _continues(line)) and not _starts_unit(nxt)
        if continued and not (blank_breaks and nxt.gap_before):
            continue
        short = len(line.text) < SHORT_LINE * width
        return k + 1 if (short or numbered or blank_breaks and nxt.gap_before) else 0
    return 0


def _blocks(lines: list[Line], layout: str) -> list[Block]:
    width = _column_width(lines)
    gaps = sum(line.gap_before for line in lines[1:])
    # blank lines mean paragraph breaks only where most lines are not blank-separated
    blank_breaks = layout == "paragraphs" or gaps < 0.4 * max(1, len(lines) - 1)
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        n = _heading_length(lines, i, width, blank_breaks) if (not blocks or blocks[-1].kind != "open") else 0
        if n:
            blocks.append(Block(lines[i:i + n], "heading"))
            i += n
            continue
        prev_line = lines[i - 1] if i else None
        kind = "bullet" if _is_item(lines[i], prev_line) and not NUMBERED_HEADING.match(lines[i].text) else "paragraph"
        block = [lines[i]]
        i += 1
        while i < len(lines):
            prev, line = block[-1], lines[i]
            if _starts_unit(line, prev) or (blank_breaks and line.gap_before) or layout == "paragraphs":
                break
            short = len(prev.text) < SHORT_LINE * width
            if _starts_upper(line) and (
                    ends_sentence(prev.text) and (short or _heading_length(lines, i, width, blank_breaks))
                    # a list item often has no full stop: its short last line ends it
                    or kind == "bullet" and short and not _continues(prev)):
                break
            block.append(line)
            i += 1
        blocks.append(Block(block, kind))
    return blocks


def _mark_signatures(blocks: list[Block]) -> None:
    """Closing formulas and the names and titles after them are signatures, not content."""
    closing = False
    for block, after in zip(blocks, blocks[1:] + [None]):
        if CLOSING_CUE.match(block.text) or (
                PLACE_DATE.match(block.text) and after is not None and NAME_LINE.match(after.text)):
            closing = True
            block.kind = "signature"
        elif closing and block.kind == "heading":
            block.kind = "signature"
        else:
            closing = False
    for block in reversed(blocks):  # names and titles that end the document
        if block.kind not in ("heading", "signature"):
            break
        block.kind = "signature"


def segment(document: Document) -> list[Paragraph]:
    body = document.text[: document.body_end]
    blocks = _blocks(_lines(body), document.layout)
    _mark_signatures(blocks)
    paragraphs: list[Paragraph] = []
    section: str | None = None
    pending: Block | None = None  # a heading waiting for the paragraph it introduces

    def emit(lines: list[Line], kind: str, text: str) -> None:
        paragraphs.append(Paragraph(
            doc=document.doc, id=f"p{len(paragraphs) + 1:03d}", text=text, kind=kind,
            section=section, start=lines[0].start, end=lines[-1].end,
        ))

    for block in blocks:
        if block.kind == "heading":
            if pending:
                emit(pending.lines, "heading", pending.text)
            pending = block
            section = block.text
            continue
        if pending and block.kind == "paragraph":
            emit(pending.lines + block.lines, "paragraph", f"{pending.text} {block.text}")
        else:
            if pending:
                emit(pending.lines, "heading", pending.text)
            emit(block.lines, block.kind, block.text)
        pending = None
    if pending:
        emit(pending.lines, "heading", pending.text)
    for match in re.finditer(r"[^\n]+", document.text[document.body_end:]):
        start = document.body_end + match.start()
        paragraphs.append(Paragraph(
            doc=document.doc, id=f"p{len(paragraphs) + 1:03d}", text=match.group().strip(),
            kind="footnote", section=None, start=start, end=document.body_end + match.end(),
        ))
    return paragraphs


def section_number(section: str | None) -> str | None:
    """The number of a numbered heading ("4.1.1 Genomför …" → "4.1.1")."""
    match = NUMBERED_HEADING.match(section or "")
    return match.group(1) if match else None


# --- CLI ---------------------------------------------------------------------------------------

def segment_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--documents", type=Path, default=Path("data/ingested.jsonl"))
    p.add_argument("--out", type=Path, default=Path("data/paragraphs.jsonl"))


def segment_cmd(args: argparse.Namespace) -> int:
    documents = read_jsonl(args.documents, Document)
    paragraphs = [p for document in documents for p in segment(document)]
    write_jsonl(args.out, paragraphs)
    log.info("%d paragraphs from %d documents → %s", len(paragraphs), len(documents), args.out)
    return 0
