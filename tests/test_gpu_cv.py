"""bench/gpu_cv.py: folds recorded here and answered elsewhere score exactly as the evaluate
stage's own cross-validation would."""
from __future__ import annotations

import json

from bench.gpu_cv import MODEL, record_folds, replay, run_fold
from bench.run import cv_summary
from pipeline.evaluate import cross_validate
from pipeline.gold import load_document_cells
from pipeline.stance.lexicon import LexiconBaseline
from tests.conftest import GOLD


def test_replayed_fold_answers_score_as_the_direct_cross_validation(stance_pairs, corpus_links, paragraphs, referral):
    inputs = (stance_pairs, (), corpus_links, paragraphs, referral)
    gold_cells = load_document_cells(GOLD / "documents.yaml")
    # the folds travel as JSON, and are answered there by a model fitted on each fold's pairs
    folds = json.loads(json.dumps(record_folds(*inputs), ensure_ascii=False))
    assert len(folds) == len({p.doc for p in stance_pairs})
    for fold in folds:
        held_out = {p["doc"] for p in fold["predict"]}
        assert len(held_out) == 1 and not held_out & {p["doc"] for p in fold["train"]}
    answered = json.loads(json.dumps([run_fold(fold, LexiconBaseline()) for fold in folds]))

    direct = cross_validate(stance_pairs, {MODEL: LexiconBaseline}, corpus_links, paragraphs, referral)
    expected = cv_summary(direct, MODEL, gold_cells, paragraphs, referral)
    assert replay(folds, answered, *inputs, gold_cells) == expected
    assert expected["doc_cell_accuracy"] >= 0.90
