"""The review queue: each (paragraph, target) prediction as an :class:`Item`, least certain first
or in document order, leaving out what the annotator already decided."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Collection, Iterable, Sequence

from ..records import Paragraph, Prediction
from ..referral import Referral
from .cues import CueSpan, find_cues

Key = tuple[str, str, str]  # (doc, paragraph id, target id)
ORDERS = ("uncertainty", "document")


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
