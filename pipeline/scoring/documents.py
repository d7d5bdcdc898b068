"""One response's way through ingest → segment → link, and the plan of which files to score."""
from __future__ import annotations

import dataclasses
import logging
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..ingest import IngestError, IngestLimits, ingest_file, ocr_warnings
from ..link import LinkParams, link
from ..records import Cell, Link, Paragraph, Prediction, file_sha256
from ..referral import Referral
from ..segment import segment

log = logging.getLogger("remiss")

DEFAULT_MAX_PAGES = 300
#: Swedish responses have about a third of their words in SWEDISH_WORDS (0.33-0.36 on the
#: corpus), Norwegian 0.06, German 0.03, English 0; below this the text is probably not Swedish
SWEDISH_SHARE = 0.15
SWEDISH_WORDS = frozenset(
    "och att det som en på är av för med till den har de inte om ett men vi kan ska eller från vid även samt "
    "bör detta denna dessa också där när sig under efter mellan utan hur vilket vilka måste skulle får inom "
    "enligt".split())
#: fewer words than this say nothing about the language
LANGUAGE_MIN_WORDS = 30


@dataclass(frozen=True)
class Problem:
    """One line of errors.jsonl: a file that was not scored ("error") or scored with a doubt ("warning")."""

    file: str
    level: str
    error: str


@dataclass(frozen=True)
class Job:
    """One distinct response to score."""

    path: Path
    doc: str
    sha256: str
    key: str = ""


@dataclass(frozen=True)
class Settings:
    """What a worker needs besides the file; pickled with every job (a referral is small)."""

    referral: Referral
    link: LinkParams
    max_pages: int
    limits: IngestLimits = IngestLimits()


@dataclass(frozen=True)
class Prepared:
    """A worker's result for one response: paragraphs and links, and doubts about the file."""

    paragraphs: list[Paragraph]
    links: list[Link]
    warnings: list[str]


@dataclass(frozen=True)
class Scored:
    """One document's results: what OUT/.cache/<key>.json holds."""

    doc: str
    paragraphs: list[Paragraph]
    links: list[Link]
    predictions: list[Prediction]
    cells: list[Cell]
    voices: list[Prediction]
    warnings: list[str]


def pdf_pages(path: Path) -> int | None:
    """Page count from the PDF's page tree without extracting text; None if it does not open
    (ingest_file then says why: corrupt, encrypted …)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        return None
    try:
        return len(pdf)
    finally:
        pdf.close()


def too_long(pages: int, max_pages: int) -> str:
    return (f"{pages} pages, more than --max-pages {max_pages}: not scored (a response is rarely that long; "
            "split the file or raise --max-pages)")


def swedish_share(text: str) -> tuple[float, int]:
    """Share of the first 3,000 words that are common Swedish function words, and the word count."""
    words = re.findall(r"[a-zåäöéü]+", text.lower())[:3000]
    return (sum(w in SWEDISH_WORDS for w in words) / len(words) if words else 0.0), len(words)


def language_warning(text: str) -> str | None:
    share, words = swedish_share(text)
    if words < LANGUAGE_MIN_WORDS or share >= SWEDISH_SHARE:
        return None
    return (f"does not look like Swedish (only {share:.0%} of its words are common Swedish function words; "
            f"Swedish responses have about a third): scored anyway, check its results")


def prepare(job: Job, settings: Settings) -> Prepared | Problem:
    """Ingest, segment and link one response; bad input becomes a Problem naming the file."""
    try:
        if job.path.suffix.lower() == ".pdf" and (pages := pdf_pages(job.path) or 0) > settings.max_pages:
            raise IngestError(job.path, too_long(pages, settings.max_pages))
        document = dataclasses.replace(ingest_file(job.path, settings.limits), doc=job.doc)
        if document.pages > settings.max_pages:  # a .txt with form feeds
            raise IngestError(job.path, too_long(document.pages, settings.max_pages))
        warnings = ocr_warnings(document, settings.limits)
        if warning := language_warning(document.text[: document.body_end]):
            warnings.append(warning)
        paragraphs = segment(document)
        links = link(paragraphs, settings.referral, settings.link)
        return Prepared(paragraphs, links, warnings)
    except IngestError as err:
        return Problem(str(job.path), "error", err.problem)
    except Exception as err:  # a pathological file must not end a run of hundreds: report it, go on
        log.debug("%s", traceback.format_exc())
        return Problem(str(job.path), "error", f"failed while reading, segmenting or linking it "
                                               f"({type(err).__name__}: {err})")


def plan(paths: Sequence[Path]) -> tuple[list[Job], list[Problem]]:
    """Distinct responses to score, with unique document ids, and the files left out.

    A file with the same bytes as an earlier one is scored once (a warning names both). The
    id is the file stem, as in the pipeline; stems shared by different files get the first
    eight hex digits of their sha256 appended, so that no two responses merge.
    """
    problems: list[Problem] = []
    first: dict[str, Path] = {}
    for path in paths:
        try:
            sha = file_sha256(path)
        except OSError as err:  # missing, a folder's unreadable file, no permission
            problems.append(Problem(str(path), "error", f"cannot read it ({err.strerror or err})"))
            continue
        if sha in first:
            problems.append(Problem(str(path), "warning", f"same content as {first[sha]} (sha256 {sha[:12]}…): "
                                                          "scored once, under that file"))
        else:
            first[sha] = path
    stems: dict[str, int] = {}
    for path in first.values():
        stems[path.stem] = stems.get(path.stem, 0) + 1
    jobs = [Job(path, path.stem if stems[path.stem] == 1 else f"{path.stem}-{sha[:8]}", sha)
            for sha, path in first.items()]
    return sorted(jobs, key=lambda j: j.doc), problems
