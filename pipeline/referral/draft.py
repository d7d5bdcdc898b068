"""A draft registry for a new referral, for the user to review before anything is linked.

Two sources, each target noting which gave it and how sure the draft is:

* the referral's own text, where given (an SOU/Ds as PDF, text or Markdown): its numbered
  section headings, and the "Förslag:" / "Bedömning:" / "Utredningens förslag:" boxes under
  them, which give the kind and the summary (``confidence: high``); a text without numbers
  (a summary chapter) gives unnumbered headings with their first paragraph, which become the
  summaries of the ids the responses cite where one heading clearly matches;
* the responses: a numbered heading a response prints ("4.2.3 Avtalen bör stärkas …") gives
  the id and its title (``medium``); a number cited in running text ("… dygnet runt (4.1.1)")
  gives the id and the words before it as a provisional title (``low``).

A ``helhet`` target (the report as a whole) is always drafted first.
"""
from __future__ import annotations

import argparse
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import yaml

from ..ingest import IngestError, find_responses, ingest_file
from ..records import Paragraph, atomic_write_text
from ..segment import section_number, segment
from . import load_referral

log = logging.getLogger("remiss")

CONFIDENCE = {"high": 3, "medium": 2, "low": 1}
#: a numbered heading of a report: "4.2.3 Avtalen bör stärkas genom …" (Markdown marks allowed)
REPORT_HEADING = re.compile(r"^[#\s*]*(\d{1,2}(?:\.\d{1,2}){0,3})\s+([A-ZÅÄÖ][^\n]{2,160}?)[*\s]*$", re.M)
UNNUMBERED_HEADING = re.compile(r"^#{1,4}\s+\**([^\n*]{3,160}?)\**\s*$", re.M)
BOX = re.compile(r"^\s*\**(?:Utredningens\s+)?(Förslag|Bedömning)(?:ar)?\s*:\**\s*(.*)$", re.I | re.M)
#: how a response introduces the proposal it then cites: "förslaget om att …"
LEAD_WORDS = re.compile(r"^(?:[•◦▪●■*\-–—]\s*)?(?:utredningens\s+)?(?:förslaget|förslagen|bedömningen)"
                        r"(?:\s+(?:om|att|om att|att det))?\s+", re.I)


@dataclass
class DraftTarget:
    id: str
    kind: str
    title: str
    summary: str = ""
    confidence: str = "low"
    sources: list[str] = field(default_factory=list)

    def offer(self, title: str, confidence: str, source: str, kind: str | None = None, summary: str = "") -> None:
        """Keep the most trusted title (and kind, summary) offered for this id; every source."""
        if source not in self.sources:
            self.sources.append(source)
        if CONFIDENCE[confidence] > CONFIDENCE[self.confidence] or not self.title:
            self.title, self.confidence = title, confidence
            self.kind = kind or self.kind
        self.summary = self.summary or summary


def _id_key(target_id: str) -> tuple:
    return tuple(int(part) for part in target_id.split("."))


def _clean_title(text: str) -> str:
    text = " ".join(text.replace("*", " ").split()).strip(" .,:;–-")
    return text[:1].upper() + text[1:] if text else text


def from_report(text: str, source: str) -> list[DraftTarget]:
    """Targets from a referral's numbered headings and the boxes under them."""
    headings = list(REPORT_HEADING.finditer(text))
    found = []
    for n, match in enumerate(headings):
        body = text[match.end(): headings[n + 1].start() if n + 1 < len(headings) else len(text)]
        box = BOX.search(body)
        kind = {"förslag": "forslag", "bedömning": "bedomning"}[box.group(1).lower()] if box else "avsnitt"
        summary = ""
        if box:
            paragraph = re.split(r"\n\s*\n", body[box.start(2):], maxsplit=1)[0]
            summary = " ".join(paragraph.replace("*", " ").split())
        target = DraftTarget(match.group(1), kind, "")
        target.offer(_clean_title(match.group(2)), "high" if box else "medium",
                     f"{source}: heading {match.group(1)}", kind, summary)
        found.append(target)
    return found


def summary_topics(text: str) -> list[tuple[str, str]]:
    """(heading, first paragraph) of a text's unnumbered headings: a summary chapter's topics."""
    headings = list(UNNUMBERED_HEADING.finditer(text))
    topics = []
    for n, match in enumerate(headings):
        body = text[match.end(): headings[n + 1].start() if n + 1 < len(headings) else len(text)].strip()
        first = " ".join(re.split(r"\n\s*\n", body, maxsplit=1)[0].split()) if body else ""
        topics.append((_clean_title(match.group(1)), first))
    return topics


def from_responses(paragraphs: Sequence[Paragraph]) -> list[DraftTarget]:
    """Targets from the numbers responses cite: printed headings, else the words before a number."""
    from ..link.rules import SECTION_WORD, cited_numbers

    found: dict[str, DraftTarget] = {}
    for paragraph in paragraphs:
        where = f"{paragraph.doc} {paragraph.id}"
        number = section_number(paragraph.section) if paragraph.section else None
        if number and paragraph.text.startswith(paragraph.section):
            title = paragraph.section[len(number):]
            found.setdefault(number, DraftTarget(number, "forslag", "")).offer(
                _clean_title(title), "medium", f"{where}: heading")
        for start, cited in cited_numbers(paragraph.text):
            if cited == number and paragraph.text.startswith(paragraph.section or "\0"):
                continue  # the heading itself
            if "." not in cited and not SECTION_WORD.search(paragraph.text[max(0, start - 20):start]):
                continue  # "1" opening a numbered list is not a chapter
            context = _context_before(paragraph.text, start)
            found.setdefault(cited, DraftTarget(cited, "forslag", "")).offer(
                _clean_title(LEAD_WORDS.sub("", context)) or f"Avsnitt {cited}", "low", f"{where}: cited")
    return list(found.values())


def _context_before(text: str, start: int) -> str:
    """The clause a cited number closes: back to the previous sentence end or list mark, at
    most 20 words."""
    before = text[:start].rstrip(" (")
    cut = max(before.rfind(". "), before.rfind(": "), before.rfind("•"))
    words = before[cut + 1:].split()
    return " ".join(words[-20:])


def attach_summaries(targets: Sequence[DraftTarget], topics: Sequence[tuple[str, str]]) -> None:
    """Give targets without a summary the summary topic whose heading shares the most word
    stems with their title, where that topic is the clear best (twice the runner-up's overlap)."""
    from ..link.rules import stem

    def stems(text: str) -> set[str]:
        return {stem(w) for w in re.findall(r"\w{4,}", text.lower())}

    topic_stems = [stems(heading) for heading, _ in topics]
    for target in targets:
        if target.summary or not topics:
            continue
        mine = stems(target.title)
        overlaps = sorted(((len(mine & t), n) for n, t in enumerate(topic_stems)), reverse=True)
        best, n = overlaps[0]
        runner_up = overlaps[1][0] if len(overlaps) > 1 else 0
        if best >= 2 and best >= 2 * runner_up:
            heading, paragraph = topics[n]
            target.summary = paragraph
            target.sources.append(f"summary topic: {heading}")


def draft_registry(paragraphs: Sequence[Paragraph], report_text: str = "", report_source: str = "",
                   referral_id: str = "", referral_title: str = "") -> dict:
    """The draft as the registry format's mapping (``load_referral`` reads it back)."""
    merged: dict[str, DraftTarget] = {}
    for target in (*from_report(report_text, report_source), *from_responses(paragraphs)):
        if target.id not in merged:
            merged[target.id] = target
            continue
        kept = merged[target.id]
        for source in target.sources:
            kept.offer(target.title, target.confidence, source,
                       target.kind if target.confidence == "high" else None, target.summary)
    targets = sorted(merged.values(), key=lambda t: _id_key(t.id))
    attach_summaries(targets, summary_topics(report_text))
    rows = [{"id": "helhet", "kind": "helhet", "title": "Betänkandet i sin helhet",
             "summary": "Utredningens förslag och bedömningar som helhet.", "confidence": "high",
             "sources": ["drafted for every referral"]}]
    rows += [{"id": t.id, "kind": t.kind, "title": t.title, "summary": t.summary, "confidence": t.confidence,
              "sources": t.sources} for t in targets]
    return {"referral": {"id": referral_id, "title": referral_title, "status": "draft: review every target"},
            "targets": rows}


def draft_yaml(registry: dict) -> str:
    header = ("# Drafted by `remiss registry draft`. Review before use: merge or drop ids, correct titles\n"
              "# and kinds (forslag, bedomning, avsnitt, helhet), add aliases; then link with it.\n")
    return header + yaml.safe_dump(registry, allow_unicode=True, sort_keys=False, width=100)


# --- CLI ---------------------------------------------------------------------------------------

def registry_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    d = sub.add_parser("draft", help="draft a registry YAML from the referral's text and the responses",
                       description="Draft a registry for review: ids, titles, kinds, summaries, each "
                                   "target with its sources and a confidence.")
    d.add_argument("responses", nargs="+", type=Path, help="response files or folders (.txt, .pdf, .docx)")
    d.add_argument("--report", type=Path, help="the referral's own text (.pdf, .txt or .md), if at hand")
    d.add_argument("--id", default="", help='the referral\'s id, e.g. "SOU 2024:72"')
    d.add_argument("--title", default="", help="the referral's title")
    d.add_argument("--out", type=Path, required=True, help="where to write the draft YAML")
    d.add_argument("--force", action="store_true", help="overwrite an existing file")


def registry_cmd(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.force:
        raise ValueError(f"{args.out}: exists; a draft never overwrites a registry (use --force)")
    paragraphs: list[Paragraph] = []
    files, skipped = find_responses(args.responses)
    for entry in skipped:
        log.warning("skipped %s: %s", entry.file, entry.problem)
    for path in files:
        try:
            paragraphs += segment(ingest_file(path))
        except IngestError as err:
            log.warning("skipped %s", err)
    report = ""
    if args.report:
        # a PDF or DOCX through its reader; text and Markdown as they are (headings and all)
        binary = args.report.suffix.lower() in (".pdf", ".docx")
        report = ingest_file(args.report).text if binary else args.report.read_text(encoding="utf-8")
    registry = draft_registry(paragraphs, report, str(args.report or ""), args.id, args.title)
    atomic_write_text(args.out, draft_yaml(registry))
    load_referral(args.out)  # the draft is a valid registry
    counts = Counter(t["confidence"] for t in registry["targets"])
    log.info("%d targets drafted (%s) → %s; review it before linking", len(registry["targets"]),
             ", ".join(f"{n} {c}" for c, n in counts.items()), args.out)
    return 0
