"""ingest: response files (.txt, .pdf, .docx) → clean :class:`~pipeline.records.Document` s.

A file is read by the reader its suffix registers (:mod:`.readers`; scanned PDF pages by
Tesseract, :mod:`.ocr`) within the limits of params.yaml ``ingest:`` (:mod:`.limits`), then
cleaned the same way whatever its format (:mod:`.clean`). Which files are distinct responses,
under which ids, and what a response is read with a doubt about is the policy (:mod:`.policy`)
that ``remiss ingest`` and ``remiss score`` share. Bad input is a :class:`Problem` naming the
file; the others go on.
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..params import load_section, positive
from ..records import Document, write_jsonl
from .limits import OCR_MODES, IngestError, IngestLimits
from .policy import Problem, Response, distinct_responses, read_response
from .read import ingest_file

__all__ = ["OCR_MODES", "IngestError", "IngestLimits", "Problem", "Response", "Skipped", "find_responses",
           "ingest_file", "ingest_responses", "distinct_responses", "read_response"]

log = logging.getLogger("remiss")


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


def ingest_responses(paths: Sequence[Path], limits: IngestLimits = IngestLimits()) -> tuple[list[Document], list[Problem]]:
    """The distinct responses among ``paths`` (files and folders), read under the policy, and
    a Problem for every file left out or read with a doubt."""
    files, skipped = find_responses(list(paths))
    problems = [Problem(entry.file, entry.level, entry.problem) for entry in skipped]
    responses, duplicates = distinct_responses(files)
    problems += duplicates
    documents = []
    for response in responses:
        try:
            document, warnings = read_response(response, limits)
        except IngestError as err:
            problems.append(Problem(err.path, "error", err.problem))
            continue
        documents.append(document)
        problems += [Problem(str(response.path), "warning", warning) for warning in warnings]
    return documents, problems


# --- CLI ---------------------------------------------------------------------------------------

def ingest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("responses", nargs="+", type=Path, help="response files or folders (.txt, .pdf, .docx)")
    p.add_argument("--out", type=Path, default=Path("data/ingested.jsonl"), help="clean documents (JSON Lines)")
    p.add_argument("--errors", type=Path, default=Path("data/ingest_errors.jsonl"),
                   help="one line per file that could not be read, or was read with a doubt")
    p.add_argument("--strict", action="store_true", help="exit 1 if any file could not be read")
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads its 'ingest' section (per-file limits)")
    policy_args(p)


def policy_args(p: argparse.ArgumentParser) -> None:
    """The ingest options every command that reads responses takes."""
    p.add_argument("--ocr", choices=OCR_MODES, default=None,
                   help="PDF pages read by Tesseract: auto (pages with an image and no usable text layer), always, "
                        "never (default: params.yaml ingest.ocr, else auto)")
    p.add_argument("--max-pages", type=positive, default=None,
                   help="longer files are refused, reported as errors (default: params.yaml ingest.max_pages)")


def limits_from_args(args: argparse.Namespace) -> IngestLimits:
    return load_section(args.params, "ingest", IngestLimits, ocr=args.ocr, max_pages=args.max_pages)


def ingest_cmd(args: argparse.Namespace) -> int:
    documents, problems = ingest_responses(args.responses, limits_from_args(args))
    for problem in problems:
        log.warning("%s %s: %s", "skipped" if problem.level == "error" else "read", problem.file, problem.error)
    write_jsonl(args.errors, problems)
    write_jsonl(args.out, documents)
    log.info("ingested %d documents, %d failed → %s", len(documents),
             sum(p.level == "error" for p in problems), args.out)
    return 1 if args.strict and any(p.level == "error" for p in problems) else 0
