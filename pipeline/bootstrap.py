"""Bootstrap intervals for macro-F1: how much a figure on 94 statements can move.

Statements are resampled with replacement (Efron's percentile bootstrap); a paired bootstrap
resamples the same statements for two models, so that the interval is the one of their
difference on the same data, not of two independent figures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .records import LABELS


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Macro-F1 over the labels gold uses (a label absent from gold is not scored)."""
    from sklearn.metrics import f1_score

    present = [label for label in LABELS if label in set(gold)]
    return float(f1_score(list(gold), list(pred), labels=present, average="macro", zero_division=0))


def _samples(n: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


def bootstrap_f1(gold: Sequence[str], pred: Sequence[str], resamples: int = 1000, seed: int = 0,
                 level: float = 0.95) -> Interval:
    """Macro-F1 and its percentile interval."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    scores = [macro_f1(gold[idx], pred[idx]) for idx in _samples(len(gold), resamples, seed)]
    tail = (1 - level) / 2 * 100
    return Interval(round(macro_f1(gold, pred), 4), round(float(np.percentile(scores, tail)), 4),
                    round(float(np.percentile(scores, 100 - tail)), 4))


@dataclass(frozen=True)
class PairedDifference:
    #: macro-F1 of ``a`` minus that of ``b``, with its percentile interval
    difference: Interval
    #: the share of resamples in which ``a`` does not beat ``b`` (a one-sided bootstrap p-value)
    p_not_better: float


def paired_bootstrap(gold: Sequence[str], pred_a: Sequence[str], pred_b: Sequence[str], resamples: int = 1000,
                     seed: int = 0, level: float = 0.95) -> PairedDifference:
    gold, a, b = np.asarray(gold), np.asarray(pred_a), np.asarray(pred_b)
    deltas = np.asarray([macro_f1(gold[idx], a[idx]) - macro_f1(gold[idx], b[idx])
                         for idx in _samples(len(gold), resamples, seed)])
    tail = (1 - level) / 2 * 100
    observed = macro_f1(gold, a) - macro_f1(gold, b)
    return PairedDifference(
        Interval(round(observed, 4), round(float(np.percentile(deltas, tail)), 4),
                 round(float(np.percentile(deltas, 100 - tail)), 4)),
        round(float(np.mean(deltas <= 0)), 4))
