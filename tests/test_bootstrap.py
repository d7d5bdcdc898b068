"""Bootstrap intervals, checked against a case computed by hand."""
import numpy as np
import pytest

from pipeline import bootstrap
from pipeline.bootstrap import bootstrap_f1, macro_f1, paired_bootstrap

GOLD = ["support", "support", "oppose", "oppose"]
PRED = ["support", "oppose", "oppose", "oppose"]
#: three resamples: the data as it is, the first and third items twice, the second and fourth twice
RESAMPLES = np.array([[0, 1, 2, 3], [0, 0, 2, 2], [1, 1, 3, 3]])


def test_macro_f1_by_hand():
    # support: P 1, R 1/2 → F1 2/3; oppose: P 2/3, R 1 → F1 4/5; mean 11/15
    assert macro_f1(GOLD, PRED) == pytest.approx(11 / 15)


def test_interval_by_hand(monkeypatch):
    monkeypatch.setattr(bootstrap, "_samples", lambda n, resamples, seed: RESAMPLES)
    # resample scores: 11/15, 1 (all right), and 1/3 (support missed: F1 0; oppose 2·½·1/1.5 = 2/3)
    # numpy's linear percentiles of [1/3, 11/15, 1]: 2.5 % at position 0.05, 97.5 % at 1.95
    low = 1 / 3 + 0.05 * (11 / 15 - 1 / 3)
    high = 11 / 15 + 0.95 * (1 - 11 / 15)
    interval = bootstrap_f1(GOLD, PRED, resamples=3)
    assert (interval.value, interval.low, interval.high) == (round(11 / 15, 4), round(low, 4), round(high, 4))


def test_paired_difference_by_hand(monkeypatch):
    monkeypatch.setattr(bootstrap, "_samples", lambda n, resamples, seed: RESAMPLES)
    always_oppose = ["oppose"] * 4
    # a − b per resample: 11/15 − 1/3 = 2/5; 1 − 1/3 = 2/3; 1/3 − 1/3 = 0 → a not better once in three
    paired = paired_bootstrap(GOLD, PRED, always_oppose, resamples=3)
    assert paired.difference.value == round(2 / 5, 4)
    assert paired.p_not_better == round(1 / 3, 4)
    assert paired.difference.low == round(0 + 0.05 * (2 / 5), 4)
    assert paired.difference.high == round(2 / 5 + 0.95 * (2 / 3 - 2 / 5), 4)


def test_interval_holds_the_figure_and_is_seeded():
    rng = np.random.default_rng(1)
    gold = list(rng.choice(["support", "oppose", "hesitant", "neutral"], 94))
    pred = [g if rng.random() < 0.7 else "neutral" for g in gold]
    a, b = bootstrap_f1(gold, pred, seed=5), bootstrap_f1(gold, pred, seed=5)
    assert a == b and a.low < a.value < a.high
