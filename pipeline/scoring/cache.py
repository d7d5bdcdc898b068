"""OUT/.cache/<key>.json per document, the lock on OUT, and the output files assembled from the cache."""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Iterator, Sequence

from ..records import (
    Cell,
    Link,
    Paragraph,
    Prediction,
    atomic_write_text,
    hash_file,
    write_jsonl,
)
from ..referral import Referral
from ..stance.transformer import Inference
from .documents import Problem, Scored, Settings

log = logging.getLogger("remiss")

CACHE_DIR = ".cache"
#: OUT/.cache/.lock, held (flock) by the run writing to OUT: a second run on it stops at once
LOCK_FILE = ".lock"
#: the package whose code decides a document's results: all of it counts, so that no module
#: can be left out of the cache key by hand
PACKAGE = Path(__file__).resolve().parents[1]


def code_digest(digest) -> None:
    """Every module of the package, by its path in the package and its bytes."""
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0")
        hash_file(digest, path)


def fingerprint(model_dir: Path, inference: Inference, settings: Settings, referral_path: Path) -> str:
    """Everything besides the input that a document's results depend on. Of ``inference``
    only its device, precision and batch size count (an engine whose model runs elsewhere
    passes them without the model)."""
    import torch
    import transformers

    digest = hashlib.sha256()
    model_dir = Path(model_dir)
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(model_dir)).encode() + b"\0")
        hash_file(digest, path)
    code_digest(digest)
    digest.update(Path(referral_path).read_bytes())
    digest.update(json.dumps({
        "device": inference.device, "precision": inference.precision, "batch_size": inference.batch_size,
        "link": dataclasses.asdict(settings.link), "ingest": dataclasses.asdict(settings.limits),
        "torch": torch.__version__, "transformers": transformers.__version__,
    }, sort_keys=True).encode())
    return digest.hexdigest()


def cache_key(sha256: str, doc: str, fingerprint_: str) -> str:
    return hashlib.sha256(f"{sha256}\0{doc}\0{fingerprint_}".encode()).hexdigest()


def save_scored(path: Path, scored: Scored) -> None:
    atomic_write_text(path, json.dumps(dataclasses.asdict(scored), ensure_ascii=False) + "\n")


def load_scored(path: Path) -> Scored:
    data = json.loads(path.read_bytes())
    return Scored(doc=data["doc"], paragraphs=[Paragraph(**p) for p in data["paragraphs"]],
                  links=[Link(**item) for item in data["links"]],
                  predictions=[Prediction(**p) for p in data["predictions"]],
                  cells=[Cell(**c) for c in data["cells"]], voices=[Prediction(**p) for p in data["voices"]],
                  warnings=data["warnings"])


def cached(path: Path) -> Scored | None:
    """The cache entry at ``path``; None when there is none, or when it cannot be read (a
    truncated or hand-edited file): the document is then scored again, with a warning."""
    if not path.exists():
        return None
    try:
        return load_scored(path)
    except (ValueError, KeyError, TypeError) as err:  # JSON and UTF-8 errors are ValueErrors
        log.warning("%s: unreadable cache entry (%s: %s); scoring the document again", path, type(err).__name__, err)
        path.unlink(missing_ok=True)
        return None


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``OUT/.cache/.lock`` for the run: two runs on one folder would mix their documents,
    and each would take the other's temporaries for a killed run's and remove them. The lock
    goes with the process (also on kill -9); the file stays, as removing it would let a third
    run lock a new file while a second still holds the old one."""
    (out / CACHE_DIR).mkdir(parents=True, exist_ok=True)
    fd = os.open(out / CACHE_DIR / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise ValueError(f"{out}: another remiss score run (pid {holder}) is writing to this folder; "
                             "wait for it to finish or give another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def remove_temporaries(out: Path) -> None:
    """A killed run leaves its half-written temporaries (records.atomic_save names them .NAME.*.tmp)."""
    for folder in (out, out / CACHE_DIR, out / "reports"):
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def write_outputs(out: Path, scored: Sequence[Scored], problems: Sequence[Problem], referral: Referral) -> None:
    """The output files from per-document results, in document order; each written atomically."""
    from ..report import write_reports

    scored = sorted(scored, key=lambda s: s.doc)
    paragraphs = [p for s in scored for p in s.paragraphs]
    cells = [c for s in scored for c in s.cells]
    other_voices = [v for s in scored for v in s.voices]
    write_jsonl(out / "paragraphs.jsonl", paragraphs)
    write_jsonl(out / "links.jsonl", [item for s in scored for item in s.links])
    write_jsonl(out / "predictions.jsonl", [p for s in scored for p in s.predictions])
    write_jsonl(out / "documents.jsonl", cells)
    write_jsonl(out / "voices.jsonl", other_voices)
    write_jsonl(out / "errors.jsonl", sorted(problems, key=lambda p: (p.file, p.level, p.error)))
    write_reports(cells, paragraphs, other_voices, referral, out / "reports")
