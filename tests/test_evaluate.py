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
from pipeline.evaluate import (CVRow, confusion_table, cross_validate, document_cells, document_metrics,
                               statement_metrics)
from pipeline.gold import load_document_cells
from pipeline.records import LABELS, Cell, write_jsonl
from pipeline.stance.baselines import LexiconBaseline
from pipeline.stance.data import StancePrediction, one_hot
from tests.conftest import GOLD, REGISTRY


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


def test_statement_metrics_agree_with_scikit_learn():
    gold = ["support", "support", "oppose", "hesitant", "neutral", "support"]
    pred = ["support", "oppose", "oppose", "support", "neutral", "support"]
    rows = [CVRow("m", 0, "d", "1", f"q{i}", g, p, one_hot(p)) for i, (g, p) in enumerate(zip(gold, pred))]
    metrics = statement_metrics(rows)["m"]
    assert metrics["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert metrics["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"), abs=1e-4)
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
    params.write_text(yaml.safe_dump({"evaluate": {"models": ["lexicon", "tfidf_logreg"]}, "train": {"model": "lexicon"}}))
    out = tmp_path / "metrics"
    code = cli.main(["evaluate", "--paragraphs", str(data / "paragraphs.jsonl"), "--links", str(data / "links.jsonl"),
                     "--referral", str(REGISTRY), "--statements", str(GOLD / "statements.yaml"),
                     "--documents-gold", str(GOLD / "documents.yaml"), "--corrections", str(tmp_path / "none"),
                     "--params", str(params), "--out", str(out)])
    assert code == 0
    rows = [json.loads(line) for line in (out / "statements_cv.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 94
    assert set(rows[0]) == {"model", "fold", "doc", "target", "quote", "gold", "pred", "probs"}
    summary = json.loads((out / "stance.json").read_text())
    assert set(summary) == {"lexicon", "tfidf_logreg"} and summary["lexicon"]["macro_f1"] > summary["tfidf_logreg"]["macro_f1"]
    documents = json.loads((out / "documents.json").read_text())
    assert documents["deployed"] == "lexicon" and documents["accuracy"] == summary["lexicon"]["doc_cell_accuracy"]
    cells = [json.loads(line) for line in (out / "documents_cv.jsonl").read_text().splitlines()]
    assert {"doc", "target", "stance", "confidence", "source", "speaker", "evidence"} <= set(cells[0])
    for model in ("lexicon", "tfidf_logreg"):
        assert (out / "confusion" / f"{model}.csv").read_text().startswith("actual,predicted\n")
        assert (out / "per_class" / f"{model}.csv").read_text().startswith("label,precision,recall,f1,support\n")
