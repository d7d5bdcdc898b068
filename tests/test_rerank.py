"""The cross-encoder reranker: its training pairs from the authored corpus, and that a model
trained and saved by it scores a referral's targets relative to each other."""
from __future__ import annotations

import numpy as np

from pipeline.link.rerank import CrossEncoderRanker, train_cross_encoder, training_pairs
from pipeline.stance.authored import load_authored
from tests.conftest import ROOT


def test_positives_are_own_targets_and_negatives_come_from_the_same_referral():
    rows = load_authored(ROOT / "labels" / "authored")[:300]
    pairs = training_pairs(rows, negatives=1, seed=0)
    targets_of = {}
    for row in rows:
        targets_of.setdefault(row.referral, set()).add(f"{row.target_title}. {row.target_summary}".strip())
    positives = [p for p in pairs if p[2] == 1.0]
    assert len(positives) == len(rows)
    by_passage = {row.passage: row for row in rows}
    for passage, target, label in pairs:
        row = by_passage[passage]
        own = f"{row.target_title}. {row.target_summary}".strip()
        assert (target == own) == (label == 1.0)
        assert target in targets_of[row.referral]


def test_a_trained_cross_encoder_ranks_relative_to_the_referral(tiny_bert, tmp_path, referral):
    rows = load_authored(ROOT / "labels" / "authored")[:24]
    out = train_cross_encoder(rows, str(tiny_bert), tmp_path / "ce", batch_size=8, max_length=64)
    ranker = CrossEncoderRanker(out).fit(referral.targets)
    scores = ranker.relative_scores(["Vi tillstyrker förslaget om en nationell ledarskapsutbildning.", "Inget."])
    assert scores.shape == (2, len(referral.targets))
    assert np.allclose(scores.mean(axis=1), 0, atol=1e-3) and np.allclose(scores.std(axis=1), 1, atol=1e-3)
