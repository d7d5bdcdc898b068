"""evaluate: leave-one-document-out folds that never see the held-out response, metrics that
agree with scikit-learn, document cells against gold, and the files DVC reads."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import pytest
import yaml
from sklearn.metrics import f1_score

from pipeline import cli
from pipeline.evaluate import (CVRow, confusion_table, cross_validate, deploy_choice, document_cells,
                               document_metrics, learning_curve, statement_metrics, unseen_referral)
from pipeline.stance.authored import authored_pairs, load_authored
from pipeline.gold import load_document_cells
from pipeline.records import LABELS, Cell, write_jsonl
from pipeline.stance.lexicon import LexiconBaseline
from pipeline.stance.data import StancePrediction, one_hot
from tests.conftest import GOLD, REGISTRY, ROOT


@dataclass
class Spy:
    """Predicts 'support' and remembers which responses it was trained on."""

    seen: list[set[str]] = field(default_factory=list)

    def fit(self, pairs):
        self.seen.append({p.doc for p in pairs})
        return self

    def predict(self, pairs):
        return [StancePrediction("support", one_hot("support")) for _ in pairs]


def test_no_fold_trains_on_the_response_it_tests(stance_pairs, corpus_links, paragraphs, referral):
    spy = Spy()
    foreign = dataclasses.replace(stance_pairs[0], doc="ny-remissinstans")
    held_out_correction = dataclasses.replace(stance_pairs[1])
    result = cross_validate(stance_pairs, {"spy": lambda: spy}, corpus_links, paragraphs, referral,
                            extra=[foreign, held_out_correction])
    docs = sorted({p.doc for p in stance_pairs})
    assert len(spy.seen) == len(docs) == 4
    for fold, doc in enumerate(docs):
        assert doc not in spy.seen[fold]
        assert "ny-remissinstans" in spy.seen[fold]  # corrections on other responses always train
    assert sorted((r.doc, r.target, r.quote) for r in result.rows) == sorted((p.doc, p.target, p.quote) for p in stance_pairs)
    assert {r.fold for r in result.rows} == {0, 1, 2, 3}
    linked = {(l.doc, l.paragraph, l.target) for l in corpus_links}
    assert {(p.doc, p.paragraph, p.target) for p in result.link_predictions["spy"]} == linked


def test_the_unseen_referral_protocol_trains_on_authored_rows_only(stance_pairs):
    spy = Spy()
    authored = authored_pairs(load_authored(ROOT / "labels" / "authored")[:50])
    result = unseen_referral(stance_pairs, {"spy": lambda: spy}, authored)
    assert len(spy.seen) == 1 and all(doc.startswith("authored:") for doc in spy.seen[0])
    assert [(r.doc, r.quote) for r in result.rows] == [(p.doc, p.quote) for p in stance_pairs]


def test_learning_curve_grows_the_authored_rows_to_all_of_them(stance_pairs):
    sizes = []

    class Counting(Spy):
        def fit(self, pairs):
            sizes.append(len(pairs))
            return self

    rows = load_authored(ROOT / "labels" / "authored")
    curve = learning_curve(stance_pairs, Counting, rows, sizes=(0, 250, 500), seeds=(0, 1))
    assert [point["rows"] for point in curve] == [250, 500, len(rows)]
    assert [point["seeds"] for point in curve] == [2, 2, 1] and sizes[-1] == len(rows)
    assert all(abs(n - size) <= 2 for n, size in zip(sizes, [250, 250, 500, 500]))


def test_deploy_choice_ranks_by_the_rule_among_the_candidates():
    summary = {"unseen": {"models": {"lexicon": {"macro_f1": 0.9}, "a": {"macro_f1": 0.6}, "b": {"macro_f1": 0.7}}},
               "lodo": {"models": {"a": {"doc_cell_accuracy": 0.8}, "b": {"doc_cell_accuracy": 0.8}}}}
    assert deploy_choice(summary, "unseen.macro_f1", ["a", "b"]) == "b"
    assert deploy_choice(summary, "lodo.doc_cell_accuracy", ["a", "b"]) == "a"  # a tie: the earlier one
    with pytest.raises(ValueError, match="no model among c"):
        deploy_choice(summary, "unseen.macro_f1", ["c"])


def test_statement_metrics_agree_with_scikit_learn():
    gold = ["support", "support", "oppose", "hesitant", "neutral", "support"]
    pred = ["support", "oppose", "oppose", "support", "neutral", "support"]
    rows = [CVRow("m", 0, "d", "1", f"q{i}", g, p, one_hot(p)) for i, (g, p) in enumerate(zip(gold, pred))]
    metrics = statement_metrics(rows)["m"]
    assert metrics["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert metrics["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"), abs=1e-4)
    low, high = metrics["macro_f1_ci95"]
    assert low <= metrics["macro_f1"] <= high
    assert metrics["per_class"]["hesitant"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    table = confusion_table(rows, "m")
    assert table[LABELS.index("support")] == [2, 1, 0, 0] and sum(map(sum, table)) == 6


def test_document_metrics_count_right_missing_and_extra_cells():
    gold = load_document_cells(GOLD / "documents.yaml")
    perfect = [Cell(d, t, s, 1.0, "statement", None) for d, cells in gold.items() for t, s in cells.items()]
    assert document_metrics(perfect, gold)["accuracy"] == 1.0
    flipped = dataclasses.replace(perfect[0], stance="oppose" if perfect[0].stance != "oppose" else "support")
    extra = Cell(perfect[0].doc, "not-a-gold-cell", "support", 1.0, "statement", None)
    scored = document_metrics([flipped, *perfect[2:], extra], gold)
    n = len(perfect)
    assert scored["accuracy"] == pytest.approx((n - 2) / n, abs=1e-4)
    assert scored["addressed_recall"] == pytest.approx((n - 1) / n, abs=1e-4)
    assert scored["filled_not_in_gold"] == 1 and scored["extra"] == [f"{perfect[0].doc} not-a-gold-cell"]


def test_lexicon_cells_of_held_out_responses(stance_pairs, corpus_links, paragraphs, referral):
    result = cross_validate(stance_pairs, {"lexicon": LexiconBaseline}, corpus_links, paragraphs, referral)
    cells = document_cells(result.link_predictions["lexicon"], paragraphs, referral)
    scored = document_metrics(cells, load_document_cells(GOLD / "documents.yaml"))
    assert scored["accuracy"] >= 0.90 and scored["addressed_recall"] >= 0.95
    # the city does not comment on 4.1 itself (its case file only restates the inquiry): the blanket clause decides
    (city_41,) = [c for c in cells if (c.doc, c.target) == ("stockholms-stad", "4.1")]
    assert (city_41.stance, city_41.source) == ("support", "blanket")
    # the city supports 5.4 in its own voice while its administration and boards doubt it
    (city_54,) = [c for c in cells if (c.doc, c.target) == ("stockholms-stad", "5.4")]
    assert (city_54.stance, city_54.source, city_54.speaker) == ("support", "statement", "Stockholms stad")


def test_evaluate_command_writes_metrics_and_plots(tmp_path, paragraphs, corpus_links):
    data = tmp_path / "data"
    write_jsonl(data / "paragraphs.jsonl", paragraphs)
    write_jsonl(data / "links.jsonl", corpus_links)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({
        "evaluate": {"models": ["lexicon", "tfidf_logreg"], "deploy_from": ["tfidf_logreg"], "bootstrap_resamples": 200,
                     "curve_model": "tfidf_logreg", "curve_rows": [250], "curve_seeds": [0]},
        "train": {"model": "auto"}}))
    out = tmp_path / "metrics"
    code = cli.main(["evaluate", "--paragraphs", str(data / "paragraphs.jsonl"), "--links", str(data / "links.jsonl"),
                     "--referral", str(REGISTRY), "--statements", str(GOLD / "statements.yaml"),
                     "--documents-gold", str(GOLD / "documents.yaml"), "--corrections", str(tmp_path / "none"),
                     "--authored", str(ROOT / "labels" / "authored"), "--params", str(params), "--out", str(out)])
    assert code == 0
    for name in ("statements_cv.jsonl", "statements_unseen.jsonl"):
        rows = [json.loads(line) for line in (out / name).read_text().splitlines()]
        assert len(rows) == 2 * 94
        assert set(rows[0]) == {"model", "fold", "doc", "target", "quote", "gold", "pred", "probs"}
    summary = json.loads((out / "stance.json").read_text())
    assert set(summary) == {"lodo", "unseen"}
    for protocol in summary.values():
        assert set(protocol["models"]) == {"lexicon", "tfidf_logreg"}
        for m in protocol["models"].values():
            assert m["macro_f1_ci95"][0] <= m["macro_f1"] <= m["macro_f1_ci95"][1]
        paired = protocol["paired_bootstrap"]
        assert paired["best_learned"] == "tfidf_logreg" and 0 <= paired["p_not_better"] <= 1
        assert paired["minus_lexicon"] == pytest.approx(
            protocol["models"]["tfidf_logreg"]["macro_f1"] - protocol["models"]["lexicon"]["macro_f1"], abs=2e-4)
    documents = json.loads((out / "documents.json").read_text())
    # train.model auto: the cells shown are those of the model the rule deploys
    assert documents["deployed"] == "tfidf_logreg"
    assert documents["accuracy"] == summary["lodo"]["models"]["tfidf_logreg"]["doc_cell_accuracy"]
    cells = [json.loads(line) for line in (out / "documents_cv.jsonl").read_text().splitlines()]
    assert {"doc", "target", "stance", "confidence", "source", "speaker", "evidence"} <= set(cells[0])
    curve = (out / "learning_curve.csv").read_text().splitlines()
    assert curve[0] == "model,rows,macro_f1,min,max,seeds" and len(curve) == 3
    for protocol in ("lodo", "unseen"):
        for model in ("lexicon", "tfidf_logreg"):
            assert (out / "confusion" / protocol / f"{model}.csv").read_text().startswith("actual,predicted\n")
            assert (out / "per_class" / protocol / f"{model}.csv").read_text().startswith(
                "label,precision,recall,f1,support\n")
