"""Decisions and the correction log: ``labels/corrections/<annotator>.jsonl``, one
:class:`Decision` a line, each written with one ``write`` and fsynced before the next item is
shown, so a crash loses at most the item on screen. Reading reports a torn last line (a write
cut off by a crash) and keeps every line before it; the next append cuts the torn line off.
Appends hold an exclusive ``flock`` on the file (reads a shared one), so two processes
appending to one file lose nothing: a torn tail is then always a dead writer's."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..records import LABELS
from .queue import Item, Key

#: what an annotator can decide about one (paragraph, target) item
ACTIONS: tuple[str, ...] = ("accept", "relabel", "retarget", "remove_target", "not_stance", "skip")
#: the outcome of "not_stance", "remove_target" (and of "retarget" on the old target): no pair
NO_PAIR = "none"
#: what a decision can say about a key: one of the four stances, or "no pair"
CATEGORIES: tuple[str, ...] = (*LABELS, NO_PAIR)


@dataclass(frozen=True)
class Decision:
    """One line of ``labels/corrections/<annotator>.jsonl``.

    ``stance`` is the label the pair gets: the predicted one for "accept", the new one for
    "relabel", the label on ``new_target`` for "retarget", and null for "remove_target",
    "not_stance" and "skip".
    """

    doc: str
    paragraph: str
    target: str
    text_hash: str
    original: dict  # {"stance": ..., "probs": {...}}: what the model said
    model_version: str | None
    action: str
    stance: str | None
    new_target: str | None
    speaker: str | None
    note: str
    annotator: str
    timestamp: str

    def __post_init__(self):
        for name, kinds in DECISION_TYPES.items():
            if not isinstance(value := getattr(self, name), kinds):
                raise ValueError(f"{name} must be {' or '.join(k.__name__ for k in kinds)}, "
                                 f"not {type(value).__name__} {value!r:.60}")
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, not {self.action!r}")
        if self.action in ("accept", "relabel", "retarget"):
            if self.stance not in LABELS:
                raise ValueError(f"{self.action}: stance must be one of {LABELS}, not {self.stance!r}")
        elif self.stance is not None:
            raise ValueError(f"{self.action}: stance must be null")
        if (self.action == "retarget") != bool(self.new_target):
            raise ValueError("new_target is given with, and only with, action 'retarget'")

    @property
    def key(self) -> Key:
        return (self.doc, self.paragraph, self.target)

    def outcomes(self) -> list[tuple[Key, str]]:
        """What this decision says about which keys: a stance or NO_PAIR ("skip" says nothing)."""
        if self.action == "skip":
            return []
        if self.action == "retarget":
            return [(self.key, NO_PAIR), ((self.doc, self.paragraph, self.new_target), self.stance)]
        return [(self.key, self.stance if self.action in ("accept", "relabel") else NO_PAIR)]


#: field → the JSON types it may hold: a list for ``doc`` (valid JSON) crashed the merge
DECISION_TYPES: dict[str, tuple[type, ...]] = {
    **{name: (str,) for name in ("doc", "paragraph", "target", "text_hash", "action", "note", "annotator",
                                 "timestamp")},
    **{name: (str, type(None)) for name in ("model_version", "stance", "new_target", "speaker")},
    "original": (dict,),
}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def decide(item: Item, action: str, annotator: str, stance: str | None = None, new_target: str | None = None,
           speaker: str | None = None, note: str = "", model_version: str | None = None,
           timestamp: str | None = None) -> Decision:
    """A decision on ``item``. "accept" takes the predicted stance; "retarget" without a
    stance keeps the predicted one; "relabel" to the predicted stance is recorded as "accept"."""
    if action == "accept":
        stance = item.stance
    elif action == "relabel" and stance == item.stance:
        action = "accept"
    elif action == "retarget" and stance is None:
        stance = item.stance
    return Decision(doc=item.doc, paragraph=item.paragraph, target=item.target, text_hash=item.text_hash,
                    original={"stance": item.stance, "probs": dict(item.probs)}, model_version=model_version,
                    action=action, stance=stance, new_target=new_target or None,
                    speaker=(speaker or "").strip() or None, note=(note or "").strip(), annotator=annotator,
                    timestamp=timestamp or now())


@dataclass(frozen=True)
class BadLine:
    """A line of a correction file that could not be read: a torn tail left by a crash, or a bad hand edit."""

    path: str
    line: int
    text: str
    reason: str


@dataclass
class LogRead:
    decisions: list[Decision]
    bad: list[BadLine]


ANNOTATOR_NAME = re.compile(r"[\w][\w.-]{0,63}")


def check_annotator(name: str) -> str:
    """An annotator name that is safe as a file name (letters, digits, ``_ . -``)."""
    name = (name or "").strip()
    if not ANNOTATOR_NAME.fullmatch(name):
        raise ValueError(f"annotator name {name!r}: use letters, digits, '_', '.' or '-' (e.g. 'anna')")
    return name


class CorrectionLog:
    """An annotator's append-only decisions, ``<corrections_dir>/<annotator>.jsonl``."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def for_annotator(cls, corrections_dir: Path, annotator: str) -> "CorrectionLog":
        return cls(Path(corrections_dir) / f"{check_annotator(annotator)}.jsonl")

    def append(self, decision: Decision) -> None:
        """Append one whole line with one ``write`` and fsync it before returning: once this
        returns, the decision survives a crash. A torn tail left by an earlier crash is
        repaired first (:meth:`_repair_tail`) so that the file stays one decision per line."""
        line = (json.dumps(asdict(decision), ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            # one writer at a time (the lock goes with the fd: on close, also a killed one's):
            # without it another process's line still being written looked like a torn tail
            # and was cut off, as was any line appended between reading the tail and cutting
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._repair_tail(fd)
            view = memoryview(line)
            while view:  # a regular file takes it in one go; the loop is for the rare short write
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created and hasattr(os, "O_DIRECTORY"):  # make the new file's name durable too
            dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _repair_tail(self, fd: int) -> None:
        """A file that does not end in a newline holds the start of a write a crash cut off:
        its decision was never acknowledged (the item stayed on screen, and the reopened
        queue shows it again). Cut it off, the only bytes this log ever removes; a tail that
        is a whole decision lacking only its newline gets the newline instead."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        data = self.path.read_bytes()
        start = data.rfind(b"\n") + 1
        try:
            _decision(data[start:])
        except ValueError:
            os.ftruncate(fd, start)
        else:
            os.write(fd, b"\n")

    def read(self) -> LogRead:
        """Every readable decision in file order; unreadable lines (a torn tail) are reported
        in ``bad`` and the lines before and after them are kept."""
        if not self.path.exists():
            return LogRead([], [])
        with self.path.open("rb") as f:
            fcntl.flock(f, fcntl.LOCK_SH)  # no line half-written by a live writer
            data = f.read()
        lines = data.split(b"\n")
        decisions, bad = [], []
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                decision = _decision(raw)
                if decision.annotator != self.path.stem:  # would count as that annotator's vote
                    raise ValueError(f"claims annotator {decision.annotator!r} in {self.path.stem!r}'s file: not counted")
                decisions.append(decision)
            except ValueError as err:
                torn = number == len(lines)  # no newline after it: the write was cut off
                reason = "torn last line (no newline): the write was cut off" if torn else f"unreadable: {err}"
                bad.append(BadLine(str(self.path), number, raw[:200].decode("utf-8", errors="replace"), reason))
        return LogRead(decisions, bad)

    def done_keys(self) -> set[Key]:
        """Keys this annotator has seen, skipped ones included: a reopened queue starts at
        the first item not yet looked at."""
        return {d.key for d in self.read().decisions}


def _decision(line: bytes) -> Decision:
    """One line of a correction file; ValueError if it is not a whole decision (JSON and
    UTF-8 errors are ValueErrors too)."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    known = {name: data[name] for name in Decision.__dataclass_fields__ if name in data}
    known["note"] = known.get("note") or ""
    try:
        return Decision(**known)
    except TypeError as err:  # a field is missing
        raise ValueError(str(err)) from None


def read_corrections(corrections_dir: Path) -> dict[str, LogRead]:
    """Every ``*.jsonl`` correction file in ``corrections_dir``, by file stem."""
    corrections_dir = Path(corrections_dir)
    if not corrections_dir.is_dir():
        return {}
    return {path.stem: CorrectionLog(path).read() for path in sorted(corrections_dir.glob("*.jsonl"))}


def predictions_version(path: Path) -> str:
    """Names the predictions a decision was made on: the hash of the predictions file."""
    return "predictions-sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
