"""One annotator working through a queue: what the screen's keys and buttons call."""
from __future__ import annotations

from typing import Sequence

from ..records import LABELS
from ..referral import Referral
from .log import CorrectionLog, Decision, check_annotator, decide
from .queue import Item

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
