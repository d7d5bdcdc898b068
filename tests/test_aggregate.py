"""aggregate: with the gold stances as predictions (an oracle classifier) the rules must
rebuild the gold document cells; and the rules one by one."""
from __future__ import annotations

import pytest

from pipeline.aggregate import aggregate, aggregate_document
from pipeline.gold import load_document_cells, paragraphs_holding
from pipeline.records import LABELS, Paragraph, Prediction
from pipeline.text.speakers import speaker_maps
from tests.conftest import GOLD


def onehot(stance: str) -> dict[str, float]:
    return {label: float(label == stance) for label in LABELS}


@pytest.fixture(scope="module")
def voices_of(paragraphs):
    return speaker_maps(paragraphs)


def test_oracle_stances_rebuild_the_gold_cells(paragraphs, statements, referral, voices_of):
    _, speakers = voices_of
    predictions: dict[tuple, Prediction] = {}
    for s in statements:
        if s.target == "*":
            continue
        (holder,) = paragraphs_holding(s.quote, s.doc, paragraphs)
        key = (s.doc, holder.id, s.target)
        if key in predictions and predictions[key].stance != "neutral":
            continue  # one prediction per (paragraph, target): its verdict
        predictions[key] = Prediction(s.doc, holder.id, s.target, s.stance, onehot(s.stance), speakers[(s.doc, holder.id)])
    cells, voices = aggregate(list(predictions.values()), paragraphs, referral)
    got = {(c.doc, c.target): c.stance for c in cells}
    gold = {(d, t): s for d, targets in load_document_cells(GOLD / "documents.yaml").items() for t, s in targets.items()}
    assert got == gold
    stockholm_54 = next(c for c in cells if (c.doc, c.target) == ("stockholms-stad", "5.4"))
    assert stockholm_54.stance == "support" and stockholm_54.speaker == "Stockholms stad"
    boards = {(v.speaker, v.stance) for v in voices if (v.doc, v.target) == ("stockholms-stad", "5.4")}
    assert {("Socialnämnden", "hesitant"), ("Äldrenämnden", "hesitant"), ("Stadsledningskontoret", "hesitant")} <= boards
    blanket = [c for c in cells if c.source == "blanket"]
    assert blanket and all(c.doc == "stockholms-stad" and c.stance == "support" for c in blanket)


def para(n: int, text: str) -> Paragraph:
    return Paragraph("d", f"p{n:03d}", text, "paragraph", None, 0, len(text))


def test_a_verdict_outranks_a_neutral_comment(referral):
    predictions = [
        Prediction("d", "p001", "5.4", "neutral", {"support": 0.05, "oppose": 0.0, "hesitant": 0.0, "neutral": 0.95}, "Org"),
        Prediction("d", "p002", "5.4", "oppose", {"support": 0.1, "oppose": 0.6, "hesitant": 0.1, "neutral": 0.2}, "Org"),
    ]
    cells, _ = aggregate_document("d", "Org", predictions, [para(1, "x"), para(2, "y")], referral, {})
    (cell,) = cells
    assert (cell.stance, cell.evidence, cell.flags) == ("oppose", ["p002", "p001"], [])


def test_summary_and_body_disagreeing_is_flagged(referral):
    predictions = [
        Prediction("d", "p001", "4.1", "support", {"support": 0.9, "oppose": 0.05, "hesitant": 0.05, "neutral": 0.0}, "Org"),
        Prediction("d", "p009", "4.1", "oppose", {"support": 0.3, "oppose": 0.6, "hesitant": 0.1, "neutral": 0.0}, "Org"),
    ]
    (cell,), _ = aggregate_document("d", "Org", predictions, [], referral, {})
    assert cell.stance == "support" and cell.flags and "disagree" in cell.flags[0]


def test_other_voices_never_decide_a_cell(referral):
    predictions = [Prediction("d", "p001", "5.4", "hesitant", onehot("hesitant"), "Socialnämnden")]
    cells, voices = aggregate_document("d", "Org", predictions, [para(1, "Socialnämnden är tveksam.")], referral,
                                       {"p001": "Socialnämnden"})
    assert cells == [] and voices == predictions


def test_blanket_clause_fills_only_unaddressed_positions(referral):
    clause = para(1, "I de fall frågorna inte kommenteras nedan tillstyrker kommunen förslagen.")
    predictions = [Prediction("d", "p002", "5.4", "oppose", onehot("oppose"), "Org")]
    cells, _ = aggregate_document("d", "Org", predictions, [clause, para(2, "…")], referral,
                                  {"p001": "Org", "p002": "Org"})
    by_target = {c.target: c for c in cells}
    assert by_target["5.4"].stance == "oppose" and by_target["5.4"].source == "statement"
    assert {t.id for t in referral.proposals_and_assessments()} == set(by_target)  # avsnitt (2.4, 8) get no default
    assert all(c.source == "blanket" and c.stance == "support" and c.evidence == ["p001"]
               for t, c in by_target.items() if t != "5.4")


def test_a_cell_takes_a_label_its_paragraphs_were_given(referral):
    # calibrated probabilities may favour a label no paragraph got: the predicted labels decide
    leaning = {"support": 0.45, "oppose": 0.05, "hesitant": 0.1, "neutral": 0.4}
    predictions = [Prediction("d", f"p{n}", "4.1", "neutral", leaning, "Org") for n in (1, 2)]
    cells, _ = aggregate_document("d", "Org", predictions, [], referral, {})
    assert [(c.target, c.stance, c.confidence) for c in cells] == [("4.1", "neutral", 0.4)]
