"""Linking as ranking: every target of the referral scored against a response's text, and a
link only where one target stands out *relative to the referral's other targets*.

An absolute cosine does not transfer: e5 similarities are compressed into a narrow band
whose position moves with the referral's wording, so a threshold calibrated on one
referral links nothing (or everything) on the next. Standardising each text's scores over
the referral's targets (a z-score) asks instead "is one target clearly the one this text is
about?", which means the same on any referral. Two rankers are fused, each standardised
first: e5 (dense, ``query:`` text against ``passage:`` target) finds paraphrases; TF-IDF
over character 4–5-grams (sparse) finds shared terms and Swedish compounds ("läkarmedverkan",
"ledarskapsutbildning") that a small multilingual encoder blurs. Equal weight is the
default: it is the standard choice for score fusion, not fitted to the seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from ..embed import Encoder
from ..records import Link, Paragraph, Target


def target_text(target: Target) -> str:
    """What a target is ranked by: its title and summary."""
    return f"{target.title}. {target.summary}".strip()


def standardise(scores: np.ndarray) -> np.ndarray:
    """Each row as z-scores over its columns (the referral's targets)."""
    spread = scores.std(axis=1, keepdims=True)
    return (scores - scores.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)


def reachable_z(min_z: float, targets: int) -> float:
    """The threshold a referral of ``targets`` targets can reach: over n scores the largest
    z-score is at most √(n − 1), so a 3-target referral could never pass z = 2."""
    return min(min_z, 0.75 * float(np.sqrt(max(targets - 1, 1))))


class Ranker(Protocol):
    """Scores texts against a referral's targets: one row of z-scores over the targets per text."""

    def fit(self, targets: Sequence[Target], corpus: Sequence[str]) -> "Ranker": ...

    def relative_scores(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class DenseRanker:
    """e5: ``query:`` text against ``passage:`` target, cosine, standardised."""

    encoder: Encoder

    def fit(self, targets: Sequence[Target], corpus: Sequence[str] = ()) -> "DenseRanker":
        self.targets_ = tuple(targets)
        self.target_vectors_ = self.encoder.passages([target_text(t) for t in targets])
        return self

    def relative_scores(self, texts: Sequence[str]) -> np.ndarray:
        return standardise(self.encoder.queries(list(texts)) @ self.target_vectors_.T)


_CHAR_WB_4_5 = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 5)).build_analyzer()


@lru_cache(maxsize=4096)
def _char_ngrams(text: str) -> tuple[str, ...]:
    # scikit-learn's own char_wb analyser, memoised: a document's vectoriser reads the targets
    # twice and its paragraphs again when they are ranked, and every document reads the targets
    return tuple(_CHAR_WB_4_5(text))


@dataclass
class SparseRanker:
    """TF-IDF over character 4–5-grams, its vocabulary and weights learnt from the targets and
    the responses being linked (a word weighs by its rarity in this referral's material)."""

    def fit(self, targets: Sequence[Target], corpus: Sequence[str] = ()) -> "SparseRanker":
        texts = [target_text(t) for t in targets]
        self.targets_ = tuple(targets)
        self.vectorizer_ = TfidfVectorizer(analyzer=_char_ngrams, sublinear_tf=True)
        self.vectorizer_.fit([*texts, *corpus])
        self.target_terms_ = self.vectorizer_.transform(texts)
        return self

    def relative_scores(self, texts: Sequence[str]) -> np.ndarray:
        return standardise((self.vectorizer_.transform(list(texts)) @ self.target_terms_.T).toarray())


@dataclass
class FusedRanker:
    """The weighted mean of several rankers' z-scores (rankers of weight 0 are not run)."""

    rankers: Sequence[Ranker]
    weights: Sequence[float]

    def fit(self, targets: Sequence[Target], corpus: Sequence[str] = ()) -> "FusedRanker":
        self.targets_ = tuple(targets)
        self.used_ = [(r.fit(targets, corpus), w) for r, w in zip(self.rankers, self.weights) if w]
        return self

    def relative_scores(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.targets_)))
        total = sum(w for _, w in self.used_)
        return sum(w * r.relative_scores(texts) for r, w in self.used_) / total


def default_ranker(encoder: Encoder, lexical_weight: float) -> FusedRanker:
    return FusedRanker([DenseRanker(encoder), SparseRanker()], [1 - lexical_weight, lexical_weight])


def _standout(row: np.ndarray, min_z: float) -> int | None:
    best = int(np.argmax(row))
    return best if row[best] >= min_z else None


def _score(z: float) -> float:
    # below every rule link (≥ 0.75): a ranked link is a guess about the text, not its words
    return round(0.7 * (1 - float(np.exp(-z / 2))), 4)


def link_ranked(paragraphs: Sequence[Paragraph], ranker: Ranker, min_z: float) -> list[Link]:
    """Links for ``paragraphs`` (those no rule reached): the target that stands out for the
    whole paragraph, and for each of its sentences that carries a stance cue (a paragraph may
    judge two proposals); where neither stands out, the target its section heading stands
    out for (a heading that paraphrases a target passes its link to the paragraphs under it)."""
    from ..stance.lexicon import cue_hits
    from ..stance.windows import sentence_spans

    targets = ranker.targets_
    if len(targets) < 2:
        return []
    threshold = reachable_z(min_z, len(targets))
    units: list[tuple[int, str]] = []
    for n, paragraph in enumerate(paragraphs):
        units.append((n, paragraph.text))
        spans = sentence_spans(paragraph.text)
        if len(spans) > 1:
            units += [(n, paragraph.text[a:b]) for a, b in spans if cue_hits(paragraph.text[a:b])]
    sections = sorted({p.section for p in paragraphs if p.section})
    scores = ranker.relative_scores([text for _, text in units] + sections)
    found: dict[int, dict[str, float]] = {}
    for (n, _), row in zip(units, scores):
        best = _standout(row, threshold)
        if best is not None:
            own = found.setdefault(n, {})
            own[targets[best].id] = max(own.get(targets[best].id, 0.0), float(row[best]))
    by_section = {s: row for s, row in zip(sections, scores[len(units):])}
    links = []
    for n, paragraph in enumerate(paragraphs):
        for target, z in found.get(n, {}).items():
            links.append(Link(paragraph.doc, paragraph.id, target, "ranked", _score(z)))
        if n not in found and paragraph.section:
            best = _standout(by_section[paragraph.section], threshold)
            if best is not None:
                z = float(by_section[paragraph.section][best])
                links.append(Link(paragraph.doc, paragraph.id, targets[best].id, "section", _score(z)))
    return links
