"""(target, passage) pairs for stance classification, built from gold statements and links.

The formulation is x-stance's: the first segment names the target ("4.1.1 title. summary"),
the second is the passage that holds the statement: the sentences of the paragraph the
statement's quote spans (a gold pair), or one window of a linked paragraph
(:mod:`.windows`, in classify). The quote itself is kept on the pair only to tie a
prediction back to its gold statement.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

from ..gold import load_statements, norm
from ..records import LABELS, Link, Paragraph, Statement, Target
from ..referral import Referral
from ..text.sentences import sentences

__all__ = ["Pair", "StancePrediction", "Classifier", "GoldPairError", "load_statements", "target_text", "lead_ins", "gold_pairs",
           "link_pairs", "data_hash", "combine", "check_labels", "from_probabilities", "BLANKET", "VERDICTS"]

#: the target of a blanket clause; it stands for "every target not addressed", not a pair
BLANKET = "*"
#: the labels that take a position; an explicit verdict outranks a neutral comment
VERDICTS = ("support", "oppose", "hesitant")


@dataclass(frozen=True)
class Pair:
    doc: str
    paragraph: str
    target: str
    target_text: str
    paragraph_text: str
    #: the gold quote this pair was built from ("" for pairs built from links)
    quote: str = ""
    #: one of LABELS; None where unknown (pairs to predict)
    label: str | None = None
    #: the clause that introduces the list a bullet belongs to ("Socialstyrelsen avstyrker:");
    #: a summary bullet's stance is often only there
    context: str = ""
    #: the sentences of the paragraph the classifier reads ("": the whole paragraph)
    window: str = ""

    @property
    def text(self) -> str:
        """The passage the classifier reads: the window, or the whole paragraph."""
        return self.window or self.paragraph_text

    @property
    def second_text(self) -> str:
        """The second segment the classifiers read: the list's lead-in, then the passage."""
        return f"{self.context} {self.text}" if self.context else self.text

    @property
    def text_pair(self) -> tuple[str, str]:
        return self.target_text, self.second_text


@dataclass(frozen=True)
class StancePrediction:
    label: str
    #: a probability for every label in LABELS, summing to 1
    probs: dict[str, float]


class Classifier(Protocol):
    """What every stance model offers (baselines and the transformer alike), so that the
    evaluation treats them the same: fit on labelled pairs, predict unlabelled ones."""

    def fit(self, pairs: Sequence[Pair]) -> "Classifier": ...

    def predict(self, pairs: Sequence[Pair]) -> list[StancePrediction]: ...


def check_fitted(model: Classifier, attribute: str = "model_") -> None:
    """scikit-learn's contract: fitted state lives in trailing-underscore attributes that ``fit``
    sets, and using a model before ``fit`` raises its NotFittedError (a ValueError, so the CLI
    reports it as a usage error)."""
    from sklearn.exceptions import NotFittedError

    if getattr(model, attribute, None) is None:
        raise NotFittedError(f"This {type(model).__name__} instance is not fitted yet: call fit before using it")


def one_hot(label: str) -> dict[str, float]:
    return {name: float(name == label) for name in LABELS}


def from_probabilities(classes: Sequence[str], rows) -> list[StancePrediction]:
    """Predictions from a classifier's probability rows over ``classes`` (its training labels):
    a probability for every label in LABELS, 0 for a label absent from training."""
    classes = [str(c) for c in classes]
    out = []
    for row in rows:
        probs = {label: float(row[classes.index(label)]) if label in classes else 0.0 for label in LABELS}
        out.append(StancePrediction(max(probs, key=probs.get), probs))
    return out


def check_labels(pairs: Sequence[Pair]) -> list[str]:
    """The pairs' labels, all of them from LABELS (training needs them)."""
    labels = [p.label for p in pairs]
    unknown = sorted({str(label) for label in labels if label not in LABELS})
    if unknown or not labels:
        raise ValueError(f"training needs labelled pairs (labels from {LABELS}); got {', '.join(unknown) or 'none'}")
    return labels


def combine(predictions: Sequence[StancePrediction]) -> tuple[str, list[int]]:
    """The label several predictions on one target add up to, and the indices of those that
    back it (most confident first), by the rules of labels/ANNOTATION.md: an explicit verdict
    outranks a neutral comment; between verdicts, the probability mass of all of them decides,
    but only among labels some prediction was given (a calibrated model may put mass on a
    label it did not predict); ties go to the label listed first in LABELS."""
    pool = [i for i, p in enumerate(predictions) if p.label in VERDICTS] or list(range(len(predictions)))
    labels = [label for label in LABELS if any(predictions[i].label == label for i in pool)]
    weight = {label: sum(predictions[i].probs.get(label, 0.0) for i in pool) for label in labels}
    label = max(labels, key=lambda name: (weight[name], -labels.index(name)))
    backing = sorted((i for i in pool if predictions[i].label == label),
                     key=lambda i: -predictions[i].probs.get(label, 0.0))
    return label, backing


class GoldPairError(ValueError):
    """A gold statement that cannot be turned into a pair; the message names doc and quote."""


def target_text(target: Target) -> str:
    """The first segment: the target as a reader of the referral would name it."""
    return " ".join(f"{target.id} {target.title}. {target.summary}".split())


def lead_ins(paragraphs: Sequence[Paragraph]) -> dict[tuple[str, str], str]:
    """{(doc, paragraph id): lead-in} for bullets introduced by a clause ending in a colon.

    "Myndigheten tillstyrker:" followed by six bullets makes each of them a support, though
    none of them says so. Walking back over the bullets of the same list (same document and
    section), the nearest paragraph ending with ':' introduces it; its last sentence is the
    lead-in. A non-bullet paragraph without a colon ends the search: the list has no lead-in.
    """
    out: dict[tuple[str, str], str] = {}
    for i, paragraph in enumerate(paragraphs):
        if paragraph.kind != "bullet":
            continue
        for j in range(i - 1, -1, -1):
            previous = paragraphs[j]
            if previous.doc != paragraph.doc or previous.section != paragraph.section:
                break
            text = previous.text.rstrip()
            if text.endswith(":"):
                spans = sentences(text)
                start = spans[-1][0] if spans else 0
                out[(paragraph.doc, paragraph.id)] = " ".join(text[start:].split())
                break
            if previous.kind != "bullet":
                break
    return out


def _pair(paragraph: Paragraph, target: Target, context: str, quote: str = "", label: str | None = None,
          window: str = "") -> Pair:
    return Pair(doc=paragraph.doc, paragraph=paragraph.id, target=target.id, target_text=target_text(target),
                paragraph_text=paragraph.text, quote=quote, label=label, context=context, window=window)


def quote_window(text: str, quote: str) -> str:
    """The fewest consecutive sentences of ``text`` that hold ``quote`` (compared with
    :func:`norm`): a statement is read as its sentences, as the pipeline reads a window."""
    from .windows import sentence_spans

    key, spans = norm(quote), sentence_spans(text)
    for length in range(1, len(spans) + 1):
        for i in range(len(spans) - length + 1):
            piece = text[spans[i][0]: spans[i + length - 1][1]]
            if key in norm(piece):
                return piece
    return text


def gold_pairs(statements: Iterable[Statement], paragraphs: Sequence[Paragraph], referral: Referral,
               extra_pairs: Iterable[Pair] = ()) -> list[Pair]:
    """One pair per gold statement (blanket clauses excluded), in gold order, then ``extra_pairs``
    (annotator corrections) as given. A statement's window is the sentences its quote spans.

    Each quote must sit in exactly one paragraph of its document (compared with :func:`norm`);
    anything else is an error in the gold or the segmentation, and training on a guess would
    hide it.
    """
    by_doc: dict[str, list[tuple[Paragraph, str]]] = defaultdict(list)
    for paragraph in paragraphs:
        by_doc[paragraph.doc].append((paragraph, norm(paragraph.text)))
    contexts = lead_ins(paragraphs)
    pairs = []
    for statement in statements:
        if statement.target == BLANKET:
            continue
        where = f"{statement.doc}: quote {statement.quote[:80]!r}"
        if statement.stance not in LABELS:
            raise GoldPairError(f"{where}: stance {statement.stance!r} is not one of {LABELS}")
        target = referral.get(statement.target)
        if target is None:
            raise GoldPairError(f"{where}: target {statement.target!r} is not in the registry")
        if statement.doc not in by_doc:
            raise GoldPairError(f"{where}: no paragraphs for document {statement.doc!r}")
        key = norm(statement.quote)
        hits = [p for p, text in by_doc[statement.doc] if key in text]
        if len(hits) != 1:
            found = "in no paragraph" if not hits else f"in {len(hits)} paragraphs ({', '.join(p.id for p in hits)})"
            raise GoldPairError(f"{where}: found {found}; expected exactly one")
        paragraph = hits[0]
        pairs.append(_pair(paragraph, target, contexts.get((paragraph.doc, paragraph.id), ""),
                           quote=statement.quote, label=statement.stance,
                           window=quote_window(paragraph.text, statement.quote)))
    pairs.extend(extra_pairs)
    return pairs


def link_pairs(links: Iterable[Link], paragraphs: Sequence[Paragraph], referral: Referral) -> list[Pair]:
    """Unlabelled pairs for the pipeline to classify: one per link, built exactly as in training."""
    by_key = {(p.doc, p.id): p for p in paragraphs}
    contexts = lead_ins(paragraphs)
    pairs = []
    for item in links:
        paragraph, target = by_key.get((item.doc, item.paragraph)), referral.get(str(item.target))
        if paragraph is None or target is None:
            raise ValueError(f"link {item.doc}/{item.paragraph} → {item.target}: unknown paragraph or target")
        pairs.append(_pair(paragraph, target, contexts.get((paragraph.doc, paragraph.id), "")))
    return pairs


def data_hash(pairs: Iterable[Pair]) -> str:
    """sha256 of the pairs as sorted JSON lines: the same data in any order, the same hash."""
    rows = sorted(json.dumps(dataclasses.asdict(p), ensure_ascii=False, sort_keys=True) for p in pairs)
    return hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()

