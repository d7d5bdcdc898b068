"""The annotator loop: review the model's paragraph-level predictions, correct them, and feed
the corrections into the next training run.

Everything the notebook ``notebooks/annotate.ipynb`` does is here, so it can be tested
without Jupyter:

* :func:`build_queue` turns predictions into :class:`Item` s to review, least certain first
  (or in document order), skipping those the annotator already decided, so reopening the
  notebook resumes where the annotator stopped.
* :class:`AnnotationSession` is one annotator working through a queue; the notebook's
  buttons and keyboard shortcuts call :meth:`AnnotationSession.press`.
* :class:`CorrectionLog` is the annotator's append-only JSON Lines file
  ``labels/corrections/<annotator>.jsonl``: one :class:`Decision` a line, each written with
  one ``write`` and fsynced before the next item is shown, so a crash loses at most the item
  on screen. Reading reports a torn last line (a write cut off by a crash) and keeps every
  line before it; the next append cuts the torn line off. Appends hold an exclusive
  ``flock`` on the file (reads a shared one), so two processes appending to one file lose
  nothing: a torn tail is then always a dead writer's, never a live one's line in progress.
* :func:`merge_training_data` is gold + corrections → the pairs of the next training run.
* :func:`agreement` is Cohen's and Fleiss' kappa per label set over items decided by several
  annotators, with the disagreements listed for adjudication.

The same guidelines apply to corrections as to the gold data (``labels/ANNOTATION.md``).
"""
from __future__ import annotations

import argparse
import dataclasses
import fcntl
import hashlib
import html
import json
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

from .records import LABELS, Link, Paragraph, Prediction
from .registry import Referral
from .report import COLOURS
from .stance.lexicon import CUES, cue_hits
from .stance.data import Pair, link_pairs

Key = tuple[str, str, str]  # (doc, paragraph id, target id)

#: what an annotator can decide about one (paragraph, target) item
ACTIONS: tuple[str, ...] = ("accept", "relabel", "retarget", "remove_target", "not_stance", "skip")
#: the outcome of "not_stance", "remove_target" (and of "retarget" on the old target): no pair
NO_PAIR = "none"
#: what a decision can say about a key: one of the four stances, or "no pair"
CATEGORIES: tuple[str, ...] = (*LABELS, NO_PAIR)
ORDERS = ("uncertainty", "document")

#: keyboard shortcuts, shown on screen by the notebook; ``press`` takes these names
KEYS: dict[str, str] = {
    **{str(n): f"label {label}" for n, label in enumerate(LABELS, 1)},
    "enter": "accept the prediction",
    "n": "not a stance (no position taken, or not a statement at all)",
    "x": "wrong target (remove the link)",
    "t": "change the target (to the one chosen in 'new target')",
    "s": "skip (decide later)",
    "b": "back to the previous item",
}

# ---------------------------------------------------------------------------------------
# stance cues

#: a negation right after a cue belongs to it on screen ("instämmer inte")
_TRAILING_NEGATION = re.compile(r"\s+(?:inte|ej|icke)\b", re.I)


@dataclass(frozen=True)
class CueSpan:
    start: int
    end: int
    #: the label the cue signals, negation applied (a hint for the annotator, not a rule)
    label: str


def find_cues(text: str) -> list[CueSpan]:
    """The stance cues in ``text``, left to right: the lexicon baseline's cues
    (:data:`pipeline.stance.baselines.CUES`, the cues of ANNOTATION.md and evaluative
    predicates), with its negation handling for the label; where two overlap the longer one wins."""
    labels = {hit.start: hit.label for hit in cue_hits(text)}
    found = []
    for cue in CUES:
        for m in re.compile(cue.pattern.pattern, cue.pattern.flags | re.I).finditer(text):
            end = m.end()
            negation = _TRAILING_NEGATION.match(text, end)
            if negation and cue.negatable:
                end = negation.end()
            found.append(CueSpan(m.start(), end, labels.get(m.start(), cue.label)))
    found.sort(key=lambda c: (c.start, -(c.end - c.start)))
    out: list[CueSpan] = []
    for cue in found:
        if out and cue.start < out[-1].end:
            continue
        out.append(cue)
    return out


def highlight_html(text: str, cues: Iterable[CueSpan]) -> str:
    """``text`` as HTML with each cue in a ``<mark>`` in its label's colour (the report's),
    the label on hover; everything escaped."""
    out, at = [], 0
    for cue in sorted(cues, key=lambda c: c.start):
        if cue.start < at:
            continue
        background = COLOURS[cue.label][1]
        out += [html.escape(text[at:cue.start]),
                f"<mark style='background:{background}' title='{html.escape(cue.label)}'>",
                html.escape(text[cue.start:cue.end]), "</mark>"]
        at = cue.end
    out.append(html.escape(text[at:]))
    return "".join(out).replace("\n", "<br>")


# ---------------------------------------------------------------------------------------
# the queue


def text_hash(text: str) -> str:
    """Identifies the paragraph text a decision was made on (sha256, first 16 hex digits)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Item:
    """One (paragraph, target) prediction to review."""

    doc: str
    paragraph: str
    target: str
    text: str
    text_hash: str
    section: str | None
    target_title: str
    stance: str
    probs: dict[str, float]
    speaker: str | None
    #: the stance cues in ``text``
    cues: list[CueSpan] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.doc, self.paragraph, self.target)

    @property
    def margin(self) -> float:
        """Top probability minus the runner-up: small = the model is unsure."""
        top = sorted((float(p) for p in self.probs.values()), reverse=True) + [0.0, 0.0]
        return top[0] - top[1]


def build_queue(predictions: Sequence[Prediction], paragraphs: Sequence[Paragraph], referral: Referral,
                order: str = "uncertainty", target: str | None = None, stance: str | None = None,
                speaker: str | None = None, doc: str | None = None, done_keys: Iterable[Key] = (),
                only: Collection[Key] | None = None) -> list[Item]:
    """The items to review: the predictions on ``referral``'s targets.

    ``order="uncertainty"``: smallest margin (top-1 minus top-2 probability) first, ties in
    document order; ``order="document"``: by document, then paragraph order, then the
    registry's target order. ``target``, ``stance`` (the predicted one), ``speaker`` and
    ``doc`` filter, and ``only`` keeps just those keys (the disagreements, to adjudicate);
    items whose key is in ``done_keys`` (already decided) are left out, so reopening resumes
    where the annotator stopped. Predictions on paragraphs that are no longer in
    ``paragraphs`` cannot be shown and are left out.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    done = set(done_keys)
    by_key = {(p.doc, p.id): p for p in paragraphs}
    position = {(p.doc, p.id): n for n, p in enumerate(paragraphs)}
    target_order = {t.id: n for n, t in enumerate(referral.targets)}
    wanted = {"target": target, "stance": stance, "speaker": speaker, "doc": doc}
    items = []
    for prediction in predictions:
        key = (prediction.doc, prediction.paragraph, prediction.target)
        paragraph, registered = by_key.get(key[:2]), referral.get(prediction.target)
        if (paragraph is None or registered is None or key in done or (only is not None and key not in only)
                or any(value is not None and getattr(prediction, name) != value for name, value in wanted.items())):
            continue
        items.append(Item(
            doc=prediction.doc, paragraph=prediction.paragraph, target=prediction.target, text=paragraph.text,
            text_hash=text_hash(paragraph.text), section=paragraph.section, target_title=registered.title,
            stance=prediction.stance, probs=dict(prediction.probs), speaker=prediction.speaker,
            cues=find_cues(paragraph.text)))

    def document_order(item: Item) -> tuple:
        return (item.doc, position[(item.doc, item.paragraph)], target_order[item.target])

    if order == "uncertainty":
        return sorted(items, key=lambda i: (round(i.margin, 9), document_order(i)))
    return sorted(items, key=document_order)


def item_html(item: Item) -> str:
    """One item as the notebook shows it: heading, target, highlighted text, prediction (each
    label with its key and probability)."""
    bars = "".join(
        f"<tr><td><b>{n}</b> {html.escape(label)}</td><td style='width:12em'><div style='height:0.8em;"
        f"background:{COLOURS[label][0]};width:{100 * float(item.probs.get(label, 0.0)):.0f}%'></div></td>"
        f"<td>{float(item.probs.get(label, 0.0)):.2f}</td></tr>" for n, label in enumerate(LABELS, 1))
    section = f"<div style='color:#666'>§ {html.escape(item.section)}</div>" if item.section else ""
    return (f"<div style='font-family:sans-serif'>"
            f"<div><b>{html.escape(item.doc)}</b> · {html.escape(item.paragraph)} · speaker: "
            f"{html.escape(item.speaker or '?')}</div>{section}"
            f"<div>Target <b>{html.escape(item.target)}</b>: {html.escape(item.target_title)}</div>"
            f"<blockquote style='border-left:3px solid #ccc;padding-left:0.8em'>"
            f"{highlight_html(item.text, item.cues)}</blockquote>"
            f"<div>Predicted: <b>{html.escape(item.stance)}</b> (margin {item.margin:.2f})</div>"
            f"<table>{bars}</table></div>")


# ---------------------------------------------------------------------------------------
# decisions and the correction log


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


# ---------------------------------------------------------------------------------------
# one annotator's session (what the notebook's buttons call)


class AnnotationSession:
    """One annotator working through a queue. Every decision is on disk before the next
    item is shown; ``back`` returns to the previous item, and deciding it again appends a
    new line that supersedes the earlier one (the latest decision of an annotator counts)."""

    def __init__(self, queue: Sequence[Item], log: CorrectionLog, annotator: str, referral: Referral,
                 model_version: str | None = None):
        self.queue = list(queue)
        self.log = log
        self.annotator = check_annotator(annotator)
        self.referral = referral
        self.model_version = model_version
        self.pos = 0
        self.decisions: list[Decision] = []

    @property
    def current(self) -> Item | None:
        return self.queue[self.pos] if self.pos < len(self.queue) else None

    @property
    def remaining(self) -> int:
        return len(self.queue) - self.pos

    def decide(self, action: str, stance: str | None = None, new_target: str | None = None,
               speaker: str | None = None, note: str = "") -> Decision:
        item = self.current
        if item is None:
            raise ValueError("the queue is done: nothing to decide")
        if action == "retarget":
            new_target = (new_target or "").strip()
            if new_target not in self.referral.ids:
                raise ValueError(f"choose the new target first: {new_target!r} is not a target of the referral")
            if new_target == item.target:
                raise ValueError(f"{new_target} is already the item's target")
        decision = decide(item, action, self.annotator, stance=stance, new_target=new_target, speaker=speaker,
                          note=note, model_version=self.model_version)
        self.log.append(decision)
        self.decisions.append(decision)
        self.pos += 1
        return decision

    def back(self) -> Item | None:
        self.pos = max(0, self.pos - 1)
        return self.current

    def press(self, key: str, speaker: str | None = None, note: str = "", new_target: str | None = None,
              retarget_stance: str | None = None) -> str:
        """Do what ``key`` (see :data:`KEYS`) means; returns a one-line message for the screen."""
        key = {"\r": "enter", "\n": "enter"}.get(key, key.lower() if len(key) == 1 else key)
        common = dict(speaker=speaker, note=note)
        if key == "b":
            if self.pos == 0:
                return "nothing to go back to"
            self.back()
            return "back one item"
        if key.isdigit() and key in KEYS:
            d = self.decide("relabel", stance=LABELS[int(key) - 1], **common)
        elif key == "enter":
            d = self.decide("accept", **common)
        elif key == "n":
            d = self.decide("not_stance", **common)
        elif key == "x":
            d = self.decide("remove_target", **common)
        elif key == "s":
            d = self.decide("skip", **common)
        elif key == "t":
            d = self.decide("retarget", new_target=new_target, stance=retarget_stance, **common)
        else:
            raise ValueError(f"unknown key {key!r}; keys: {', '.join(KEYS)}")
        what = d.action + (f" → {d.stance}" if d.stance else "") + (f" on {d.new_target}" if d.new_target else "")
        return f"saved: {d.doc} {d.paragraph} {d.target}: {what}"


# ---------------------------------------------------------------------------------------
# corrections → training data


@dataclass(frozen=True)
class Vote:
    annotator: str
    outcome: str  # a stance, or NO_PAIR
    decision: Decision


@dataclass(frozen=True)
class Applied:
    key: Key
    outcome: str
    annotators: tuple[str, ...]  # those whose vote is the outcome
    rule: str  # "single", "unanimous", "majority" or "tie: most recent"


@dataclass(frozen=True)
class Conflict:
    key: Key
    votes: dict[str, str]  # annotator → outcome
    resolved: str
    rule: str


@dataclass(frozen=True)
class Stale:
    decision: Decision
    reason: str


@dataclass
class MergeResult:
    #: the next run's training data: the gold pairs, then the corrections' pairs in document
    #: order (the same as ``gold_pairs(statements, paragraphs, referral, extra_pairs=corrections)``)
    pairs: list[Pair]
    applied: list[Applied]
    conflicts: list[Conflict]
    stale: list[Stale]
    #: corrections on a (doc, paragraph, target) that gold already labels: gold wins
    overridden_by_gold: list[Vote] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    #: the pairs the corrections add (``pairs`` minus gold)
    corrections: list[Pair] = field(default_factory=list)

    def summary(self) -> str:
        by_outcome = Counter(a.outcome for a in self.applied)
        lines = [f"training pairs: {len(self.pairs)} ({len(self.pairs) - len(self.corrections)} gold, "
                 f"{len(self.corrections)} from corrections)",
                 "corrections applied: " + (", ".join(f"{k} {v}" for k, v in sorted(by_outcome.items())) or "none"),
                 f"overridden by gold: {len(self.overridden_by_gold)}",
                 f"stale, not applied: {len(self.stale)}",
                 f"conflicts between annotators: {len(self.conflicts)}"]
        lines += [f"  {' '.join(c.key)}: {c.votes} → {c.resolved} ({c.rule})" for c in self.conflicts]
        lines += [f"  stale: {s.decision.annotator} {' '.join(s.decision.key)}: {s.reason}" for s in self.stale]
        lines += [f"  unreadable: {b.path}:{b.line}: {b.reason}" for b in self.bad_lines]
        return "\n".join(lines)


def _timestamp_order(decision: Decision) -> datetime:
    """When a decision was made (a missing or unreadable timestamp sorts first)."""
    try:
        when = datetime.fromisoformat(decision.timestamp)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def collect_votes(logs: dict[str, LogRead], paragraphs: Sequence[Paragraph] | None,
                  referral: Referral | None) -> tuple[dict[Key, dict[str, Vote]], list[Stale]]:
    """Each annotator's latest vote on each key, and the decisions that could not be used.

    A decision is stale when its paragraph is gone or its text changed (``text_hash``), or
    when its target (or new target) is no longer in the registry; "skip" votes nothing, so
    it does not supersede an earlier decision.
    """
    current = {(p.doc, p.id): text_hash(p.text) for p in paragraphs} if paragraphs is not None else None
    votes: dict[Key, dict[str, Vote]] = defaultdict(dict)
    stale: list[Stale] = []
    ordered = sorted(((n, d) for log in logs.values() for n, d in enumerate(log.decisions)),
                     key=lambda nd: (_timestamp_order(nd[1]), nd[0]))
    for _, decision in ordered:
        if decision.action == "skip":
            continue
        if current is not None:
            now_hash = current.get((decision.doc, decision.paragraph))
            if now_hash is None:
                stale.append(Stale(decision, "the paragraph is no longer in the segmented response"))
                continue
            if now_hash != decision.text_hash:
                stale.append(Stale(decision, f"paragraph text changed (hash {decision.text_hash} → {now_hash})"))
                continue
        if referral is not None:
            missing = [t for t in (decision.target, decision.new_target) if t and t not in referral.ids]
            if missing:
                stale.append(Stale(decision, f"target {missing[0]} is not in the registry"))
                continue
        for key, outcome in decision.outcomes():
            votes[key][decision.annotator] = Vote(decision.annotator, outcome, decision)
    return votes, stale


def resolve(votes: dict[str, Vote]) -> tuple[str, str]:
    """The outcome of one key and the rule that chose it: the majority of the annotators'
    latest votes; a tie goes to the most recent decision among the tied outcomes."""
    counts = Counter(v.outcome for v in votes.values())
    if len(votes) == 1:
        return next(iter(counts)), "single"
    if len(counts) == 1:
        return next(iter(counts)), "unanimous"
    top = max(counts.values())
    tied = {o for o, n in counts.items() if n == top}
    if len(tied) == 1:
        return tied.pop(), "majority"
    latest = max((v for v in votes.values() if v.outcome in tied), key=lambda v: _timestamp_order(v.decision))
    return latest.outcome, "tie: most recent"


def merge_training_data(gold_pairs: Sequence[Pair], corrections_dir: Path, paragraphs: Sequence[Paragraph],
                        referral: Referral) -> MergeResult:
    """The training data of the next run: the gold pairs plus the annotators' corrections.

    Rules:

    * Per annotator, the latest decision on a (doc, paragraph, target) counts ("skip" is
      ignored; "back" and deciding again supersedes).
    * A decision whose ``text_hash`` no longer matches the current paragraph text (the
      response changed), or whose paragraph or target is gone, is reported in ``stale`` and
      not applied.
    * Gold always wins: corrections on a key that gold labels are reported in
      ``overridden_by_gold`` and change nothing.
    * Annotators who disagree: majority vote over their latest decisions; a tie goes to the
      most recent decision among the tied outcomes. Every such key is listed in
      ``conflicts`` with each annotator's vote.
    * "accept" and "relabel" give a pair with that stance; "retarget" removes the pair on
      the old target and gives one on the new target; "not_stance" and "remove_target"
      give no pair (and are listed in ``applied`` with outcome ``"none"``).
    """
    logs = read_corrections(corrections_dir)
    votes, stale = collect_votes(logs, paragraphs, referral)
    gold_keys = {pair_key(p) for p in gold_pairs}
    position = {(p.doc, p.id): n for n, p in enumerate(paragraphs)}
    target_order = {t.id: n for n, t in enumerate(referral.targets)}
    applied, conflicts, overridden, labelled = [], [], [], []
    for key in sorted(votes, key=lambda k: (position[k[:2]], target_order[k[2]])):  # collect_votes checked both
        key_votes = votes[key]
        if key in gold_keys:
            overridden.extend(key_votes.values())
            continue
        outcome, rule = resolve(key_votes)
        if len({v.outcome for v in key_votes.values()}) > 1:
            conflicts.append(Conflict(key, {a: v.outcome for a, v in sorted(key_votes.items())}, outcome, rule))
        applied.append(Applied(key, outcome, tuple(sorted(a for a, v in key_votes.items() if v.outcome == outcome)),
                               rule))
        if outcome != NO_PAIR:
            labelled.append((key, outcome))
    extra = correction_pairs(labelled, paragraphs, referral)
    bad = [b for log in logs.values() for b in log.bad]
    return MergeResult(pairs=[*gold_pairs, *extra], applied=applied, conflicts=conflicts, stale=stale,
                       overridden_by_gold=overridden, bad_lines=bad, corrections=extra)


def pair_key(pair: Pair) -> Key:
    return (pair.doc, pair.paragraph, pair.target)


def correction_pairs(outcomes: Sequence[tuple[Key, str]], paragraphs: Sequence[Paragraph],
                     referral: Referral) -> list[Pair]:
    """Labelled pairs for (key, stance) outcomes, built exactly as the pipeline builds the
    pairs it classifies (:func:`pipeline.stance.data.link_pairs`: target text, list lead-in)."""
    links = [Link(doc, paragraph, target, "correction", 1.0) for (doc, paragraph, target), _ in outcomes]
    return [dataclasses.replace(pair, label=stance)
            for pair, (_, stance) in zip(link_pairs(links, paragraphs, referral), outcomes)]


# ---------------------------------------------------------------------------------------
# agreement


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two annotators' labels on the same items (nan when undefined:
    both gave one and the same label throughout)."""
    if len(a) != len(b) or not a:
        raise ValueError("two equally long, non-empty label lists are needed")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[label] * cb[label] for label in ca) / (n * n)
    if expected == 1:
        return float("nan")
    return (observed - expected) / (1 - expected)


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa from a subjects × categories table of rating counts.

    Subjects may have different numbers of raters (at least 2): each subject's agreement
    P_i = (Σ_j n_ij² − n_i) / (n_i (n_i − 1)) and the category shares p_j = Σ_i n_ij / Σ_i n_i;
    with the same number of raters everywhere this is Fleiss (1971)."""
    rows = [[int(x) for x in row] for row in table if sum(row) >= 2]
    if not rows:
        return float("nan")
    total = sum(sum(r) for r in rows)
    shares = [sum(r[j] for r in rows) / total for j in range(len(rows[0]))]
    per_subject = [(sum(x * x for x in r) - sum(r)) / (sum(r) * (sum(r) - 1)) for r in rows]
    p_bar = sum(per_subject) / len(rows)
    p_e = sum(p * p for p in shares)
    if p_e == 1:
        return float("nan")
    return (p_bar - p_e) / (1 - p_e)


#: the label sets agreement is measured on: name → (its categories, the category of a decision's
#: outcome, None where the outcome is outside the set). Annotators can agree that a paragraph
#: takes a stance on a target yet disagree on which, so each question gets its own kappa.
LABEL_SETS: dict[str, tuple[tuple[str, ...], Callable[[str], str | None]]] = {
    # the whole decision: one of the four stances, or no stance on this target
    "stance or none": (CATEGORIES, lambda outcome: outcome),
    # which stance, among the decisions that give one
    "stance": (LABELS, lambda outcome: outcome if outcome in LABELS else None),
    # whether the paragraph takes a stance on the target at all
    "any stance": (("stance", NO_PAIR), lambda outcome: NO_PAIR if outcome == NO_PAIR else "stance"),
}


def _kappa(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"


@dataclass
class AgreementReport:
    annotators: list[str]
    #: keys decided by at least two annotators
    items: int
    #: per label set and annotator pair with shared items: {"labels", "a", "b", "n", "kappa"}
    cohen: list[dict]
    #: per label set, all annotators together: {"labels", "n", "kappa"}
    fleiss: list[dict]
    #: where annotators differ: {"doc", "paragraph", "target", "labels": {annotator: outcome},
    #: "resolved": the outcome the merge's rule gives (gold still wins over it), "text"}
    disagreements: list[dict]

    def summary(self) -> str:
        lines = [f"annotators: {', '.join(self.annotators) or 'none'}; items decided by ≥2: {self.items}"]
        lines += [f"Fleiss' kappa, {r['labels']} ({r['n']} items): {_kappa(r['kappa'])}" for r in self.fleiss]
        lines += [f"Cohen's kappa {r['a']} × {r['b']}, {r['labels']} ({r['n']} items): {_kappa(r['kappa'])}"
                  for r in self.cohen]
        lines.append(f"disagreements: {len(self.disagreements)}")
        return "\n".join(lines)


def agreement(corrections_dir: Path, paragraphs: Sequence[Paragraph] | None = None,
              referral: Referral | None = None) -> AgreementReport:
    """Cohen's kappa per annotator pair and Fleiss' kappa over everyone, per label set
    (:data:`LABEL_SETS`), on the keys that at least two annotators decided (their latest
    decision each; "skip" does not count). With ``paragraphs``, stale decisions are left out
    and the disagreement rows carry the paragraph text."""
    votes, _ = collect_votes(read_corrections(corrections_dir), paragraphs, referral)
    shared = {key: key_votes for key, key_votes in sorted(votes.items()) if len(key_votes) >= 2}
    annotators = sorted({a for key_votes in votes.values() for a in key_votes})
    cohen, fleiss = [], []
    for name, (categories, category) in LABEL_SETS.items():
        rated = [{a: category(v.outcome) for a, v in key_votes.items() if category(v.outcome) is not None}
                 for key_votes in shared.values()]
        for i, a in enumerate(annotators):
            for b in annotators[i + 1:]:
                both = [(r[a], r[b]) for r in rated if a in r and b in r]
                if both:
                    cohen.append({"labels": name, "a": a, "b": b, "n": len(both),
                                  "kappa": cohen_kappa([x for x, _ in both], [y for _, y in both])})
        table = [[sum(c == label for c in r.values()) for label in categories] for r in rated if len(r) >= 2]
        if table:
            fleiss.append({"labels": name, "n": len(table), "kappa": fleiss_kappa(table)})
    texts = {(p.doc, p.id): p.text for p in paragraphs or ()}
    disagreements = [{"doc": key[0], "paragraph": key[1], "target": key[2],
                      "labels": {a: v.outcome for a, v in sorted(key_votes.items())},
                      "resolved": "{} ({})".format(*resolve(key_votes)), "text": texts.get(key[:2], "")}
                     for key, key_votes in shared.items() if len({v.outcome for v in key_votes.values()}) > 1]
    return AgreementReport(annotators=annotators, items=len(shared), cohen=cohen, fleiss=fleiss,
                           disagreements=disagreements)


def rows_html(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """A list of dicts as an HTML table (for the notebooks; no pandas needed)."""
    if not rows:
        return "<p><i>(none)</i></p>"
    columns = list(columns or rows[0].keys())
    head = "".join(f"<th style='text-align:left'>{html.escape(str(c))}</th>" for c in columns)

    def cell(value) -> str:
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:.3f}"
        return f"<td style='text-align:left;vertical-align:top'>{html.escape(str(value))}</td>"
    body = "".join("<tr>" + "".join(cell(r.get(c, "")) for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


# ---------------------------------------------------------------------------------------
# command line


def corrections_main(argv: Sequence[str] | None = None) -> int:
    """``remiss corrections``: what the corrections would change in the next training run,
    and how well the annotators agree."""
    parser = argparse.ArgumentParser(prog="remiss corrections", description=corrections_main.__doc__)
    add_corrections_args(parser)
    return corrections_cmd(parser.parse_args(argv))


def add_corrections_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corrections", type=Path, default=Path("labels/corrections"),
                   help="folder of <annotator>.jsonl correction files")
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--statements", type=Path, default=Path("labels/gold/statements.yaml"), help="gold statements")
    p.add_argument("--out", type=Path, default=None, help="write the merged training pairs here (JSON Lines)")


def corrections_cmd(args: argparse.Namespace) -> int:
    from .gold import load_statements
    from .records import read_jsonl, write_jsonl
    from .registry import load_referral
    from .stance.data import gold_pairs

    referral = load_referral(args.referral)
    paragraphs = read_jsonl(args.paragraphs, Paragraph)
    gold = gold_pairs(load_statements(args.statements), paragraphs, referral)
    merged = merge_training_data(gold, args.corrections, paragraphs, referral)
    report = agreement(args.corrections, paragraphs, referral)
    print("== merge ==")
    print(merged.summary())
    print("== agreement ==")
    print(report.summary())
    for row in report.disagreements:
        print(f"  {row['doc']} {row['paragraph']} {row['target']}: {row['labels']}")
    if args.out:
        write_jsonl(args.out, merged.pairs)
        print(f"wrote {len(merged.pairs)} pairs → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(corrections_main())
