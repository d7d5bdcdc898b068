"""What one response file may hold (params.yaml ``ingest:``), and the error that names a file
that breaks a limit or cannot be read."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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

    #: the most pages (a longer PDF is refused from its page tree, before its text is read)
    max_pages: int = 300
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


def check_size(path: Path, limits: IngestLimits, chars: int, paragraphs: int, longest: int) -> None:
    """IngestError naming the file and the first limit it exceeds."""
    for value, limit, name, what in ((longest, limits.max_paragraph_chars, "max_paragraph_chars",
                                      "characters in one paragraph"),
                                     (paragraphs, limits.max_paragraphs, "max_paragraphs", "paragraphs (lines)"),
                                     (chars, limits.max_chars, "max_chars", "characters")):
        if value > limit:
            raise IngestError(path, f"more than {limit:,} {what} (ingest.{name}): not read "
                                    "(split the file or raise the limit in params.yaml)")
