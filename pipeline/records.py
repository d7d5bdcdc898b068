"""Typed records that flow between the stages, and their JSON Lines form.

Every stage is a function over these records; files are read and written only at the
edges (CLI, DVC stages) through :func:`read_jsonl` / :func:`write_jsonl`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

LABELS: tuple[str, ...] = ("support", "oppose", "hesitant", "neutral")
PARAGRAPH_KINDS: tuple[str, ...] = ("heading", "paragraph", "bullet", "signature", "footnote")


@dataclass(frozen=True)
class Document:
    """One response after ingest: clean UTF-8 text.

    ``text[:body_end]`` is the body (pages separated by form feeds, line breaks kept);
    ``text[body_end:]`` holds footnotes and bare URLs, kept apart from the body.
    """

    doc: str
    source: str
    text: str
    body_end: int
    sha256: str
    pages: int = 1
    #: "lines" when every printed line is broken (PDF), "paragraphs" when one line is one paragraph (DOCX)
    layout: str = "lines"
    #: the pages (1-based) read by OCR and each one's mean Tesseract word confidence (0-100);
    #: left out of the JSON when empty, so that text inputs are written as before
    ocr_pages: tuple[int, ...] = ()
    ocr_confidence: tuple[float, ...] = ()

    OMIT_WHEN_EMPTY = ("ocr_pages", "ocr_confidence")


@dataclass(frozen=True)
class Paragraph:
    doc: str
    id: str
    text: str
    kind: str
    section: str | None
    start: int
    end: int


@dataclass(frozen=True)
class Target:
    """One proposal (förslag), assessment (bedömning) or section (avsnitt) of a referral."""

    id: str
    kind: str
    title: str
    summary: str = ""
    aliases: tuple[str, ...] = ()
    alt_titles: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every phrase a response may use to name this target."""
        return (self.title, *self.alt_titles, *self.aliases)


@dataclass(frozen=True)
class Link:
    doc: str
    paragraph: str
    target: str
    method: str
    score: float


@dataclass(frozen=True)
class Statement:
    """A hand-labelled stance statement (labels/gold/statements.yaml)."""

    doc: str
    target: str
    stance: str
    speaker: str
    part: str
    quote: str
    note: str | None = None


@dataclass(frozen=True)
class Prediction:
    """The stance of one linked (paragraph, target): combined from its windows' stances."""

    doc: str
    paragraph: str
    target: str
    stance: str
    probs: dict[str, float]
    speaker: str | None = None
    #: the window predictions it combines: ``{"start", "end", "stance", "probs"}``, offsets into
    #: the paragraph's text; a paragraph with a hesitant and an oppose sentence keeps both here
    sentences: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    """One cell of the remissammanställning: a response's position on one target."""

    doc: str
    target: str
    stance: str
    confidence: float
    source: str
    speaker: str | None
    evidence: list[str] = field(default_factory=list)
    #: what a careful reader should look at, e.g. a summary bullet and the body disagreeing
    flags: list[str] = field(default_factory=list)


R = TypeVar("R")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def hash_file(digest, path: Path) -> None:
    """Feed a file's bytes to ``digest`` (a hashlib object) in 1 MiB chunks: models and PDFs
    need not fit in memory twice."""
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    hash_file(digest, path)
    return digest.hexdigest()


def atomic_save(path: Path, save: Callable[[Path], None]) -> None:
    """Let ``save`` write a file at a temporary name beside ``path``, then swap it in, so
    that readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        save(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def temporary_sibling_dir(target: Path) -> Path:
    """An empty directory beside ``target`` (same file system, so it can be renamed onto it)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))


def replace_dir(new: Path, target: Path) -> None:
    """Put the finished directory ``new`` where ``target`` is: two renames, so readers never
    see a half-written ``target``. Permissions follow the umask (mkdtemp makes 0700, and
    save_pretrained 0600 files; models are meant to be shared)."""
    new, target = Path(new), Path(target)
    mask = _umask()
    for root, dirs, files in os.walk(new):
        os.chmod(root, 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(root, name), 0o666 & ~mask)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.{os.getpid()}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def directory_in_place(target: Path) -> Iterator[Path]:
    """A temporary sibling of ``target`` to write its new content into: it replaces ``target``
    (:func:`replace_dir`) when the block ends, and is removed if the block fails, so a crash
    leaves the previous ``target`` as it was."""
    tmp = temporary_sibling_dir(target)
    try:
        yield tmp
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    def save(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    atomic_save(path, save)


def to_json(record) -> str:
    data = dataclasses.asdict(record) if dataclasses.is_dataclass(record) else record
    for name in getattr(record, "OMIT_WHEN_EMPTY", ()):
        if not data[name]:
            del data[name]
    return json.dumps(data, ensure_ascii=False, sort_keys=False)


def write_jsonl(path: Path, records: Iterable) -> None:
    atomic_write_text(path, "".join(to_json(r) + "\n" for r in records))


def read_jsonl(path: Path, cls: type[R] | None = None) -> list[R]:
    """Read JSON Lines; with ``cls``, build that dataclass from each line."""
    out = []
    with Path(path).open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not valid JSON ({err.msg})") from err
            out.append(cls(**data) if cls else data)
    return out
