"""The ingest policy, one for ``remiss ingest`` (``dvc repro``) and ``remiss score``: which files
are distinct responses and under which document ids, how long a response may be, and the
doubts a response is read with (OCR confidence, a language that does not look Swedish)."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..records import Document, file_sha256
from .limits import IngestError, IngestLimits
from .ocr import ocr_warnings
from .read import ingest_file

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
class Response:
    """One distinct response file and the document id it is read under."""

    path: Path
    doc: str
    sha256: str


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
    return (f"{pages} pages, more than ingest.max_pages ({max_pages}): not read (a response is rarely that long; "
            "split the file or raise the limit: params.yaml, or --max-pages)")


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


def distinct_responses(paths: Sequence[Path]) -> tuple[list[Response], list[Problem]]:
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
    responses = [Response(path, path.stem if stems[path.stem] == 1 else f"{path.stem}-{sha[:8]}", sha)
                 for sha, path in first.items()]
    return sorted(responses, key=lambda r: r.doc), problems


def read_response(response: Response, limits: IngestLimits) -> tuple[Document, list[str]]:
    """:func:`ingest_file` under the policy: a PDF over the page limit is
    refused from its page tree before its text is read, the document takes the response's id,
    and the doubts come back as warnings. Raises :class:`IngestError` naming the file."""
    path = response.path
    if path.suffix.lower() == ".pdf" and (pages := pdf_pages(path) or 0) > limits.max_pages:
        raise IngestError(path, too_long(pages, limits.max_pages))
    document = dataclasses.replace(ingest_file(path, limits), doc=response.doc)
    if document.pages > limits.max_pages:  # a .txt with form feeds
        raise IngestError(path, too_long(document.pages, limits.max_pages))
    warnings = ocr_warnings(document, limits)
    if warning := language_warning(document.text[: document.body_end]):
        warnings.append(warning)
    return document, warnings
