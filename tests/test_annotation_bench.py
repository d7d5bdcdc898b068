"""bench/annotation.py on a tiny setting: one round of five corrections in document order on
the real seeds and gold, the model refitted by `remiss train` on them."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from bench.annotation import ANNOTATOR, prepare, retrain, simulate
from pipeline.annotation import CorrectionLog, build_queue, pair_key
from pipeline.records import Paragraph, Prediction, read_jsonl
from pipeline.stance.authored import load_authored
from pipeline.stance.data import data_hash
from pipeline.stance.meta import read_meta
from pipeline.stance.train import training_data

ROOT = Path(__file__).resolve().parents[1]


def test_a_round_writes_the_gold_as_corrections_and_the_model_learns_from_them(tmp_path):
    # one referral's authored rows keep each fit to a second; the code path is the bench's
    parts = tmp_path / "authored" / "parts"
    parts.mkdir(parents=True)
    shutil.copy(ROOT / "labels/authored/parts/education-2.jsonl", parts)
    authored_rows = len(load_authored(tmp_path / "authored"))
    inputs = prepare(tmp_path, authored=tmp_path / "authored")
    base = tmp_path / "model-0"
    retrain(inputs, tmp_path / "no-corrections", base)
    assert read_meta(base)["n_pairs"] == authored_rows  # no seed statement in the start model

    run = tmp_path / "document"
    run.mkdir()
    rounds = simulate(inputs, "document", run, base, k=5, rounds=1)

    # the annotator decided the first five items of the document-order queue, each with its gold label
    decisions = CorrectionLog.for_annotator(run / "corrections", ANNOTATOR).read().decisions
    predictions = read_jsonl(run / "predictions-0.jsonl", Prediction)
    first = build_queue(predictions, inputs.paragraphs, inputs.referral, order="document")[:5]
    assert [d.key for d in decisions] == [item.key for item in first]
    assert all(d.stance == inputs.truth[d.key] for d in decisions)
    assert all(d.action == ("accept" if d.original["stance"] == d.stance else "relabel") for d in decisions)

    # the refitted model learnt from exactly the authored rows plus those five corrections
    data = training_data(tmp_path / "no-statements.yaml", run / "corrections", tmp_path / "authored",
                         read_jsonl(tmp_path / "paragraphs.jsonl", Paragraph), inputs.referral)
    assert data.gold == []
    assert [pair_key(p) for p in data.corrections] == [d.key for d in decisions]
    meta = read_meta(run / "model-1")
    assert meta["data_hash"] == data_hash(data.pairs) != read_meta(base)["data_hash"]
    assert Counter(meta["label_counts"]) - Counter(read_meta(base)["label_counts"]) == Counter(d.stance for d in decisions)

    # round 1 is scored on the statements whose key is not corrected, the lexicon on the same ones
    corrected = {d.key for d in decisions}
    assert [r["corrections"] for r in rounds] == [0, 5]
    assert [r["n_evaluated"] for r in rounds] == [len(inputs.gold),
                                                  sum(pair_key(p) not in corrected for p in inputs.gold)]
    assert all(0 <= r[name] <= 1 for r in rounds for name in ("macro_f1", "lexicon_macro_f1"))
