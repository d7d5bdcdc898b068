"""The annotator loop (pipeline/annotation/): queue, correction log, merge into training data,
agreement — on the real corpus, with the predictions a baseline makes on its links."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import math
import time

import pytest
from sklearn.metrics import cohen_kappa_score

from pipeline.annotation import (
    ACTIONS, LABEL_SETS, NO_PAIR, AnnotationSession, CorrectionLog, agreement, build_queue, check_annotator,
    cohen_kappa, decide, find_cues, fleiss_kappa, highlight_html, merge_training_data, text_hash,
)
from pipeline.annotation.commands import corrections_main
from pipeline.classify import classify
from pipeline.link import LinkParams, link
from pipeline.records import LABELS, Prediction, write_jsonl
from pipeline.report import COLOURS
from pipeline.stance import baselines, lexicon
from pipeline.stance.lexicon import CUES
from pipeline.stance.data import data_hash, gold_pairs
from tests.conftest import REGISTRY, ROOT

DECISION_FIELDS = ["doc", "paragraph", "target", "text_hash", "original", "model_version", "action", "stance",
                   "new_target", "speaker", "note", "annotator", "timestamp"]


@pytest.fixture(scope="module")
def gold(stance_pairs):
    """The gold pairs, one per gold statement."""
    return stance_pairs


@pytest.fixture(scope="module")
def predictions(gold, paragraphs, referral) -> list[Prediction]:
    """What the classify stage writes, with TF-IDF + logistic regression fitted on the gold
    pairs standing in for the transformer: every link (no e5) gets a stance and probabilities."""
    links = link(paragraphs, referral, LinkParams(semantic=False))
    return classify(links, paragraphs, referral, baselines.TfidfLogReg().fit(gold))


@pytest.fixture(scope="module")
def queue(predictions, paragraphs, referral):
    return build_queue(predictions, paragraphs, referral)


@pytest.fixture(scope="module")
def fresh(queue, gold):
    """Queue items that no gold statement labels (corrections on those count)."""
    gold_keys = {(p.doc, p.paragraph, p.target) for p in gold}
    return [i for i in queue if i.key not in gold_keys]


# -- cues and the queue ------------------------------------------------------------------


def test_cues_are_found_and_highlighted():
    text = "Staden instämmer inte i förslaget men <b>välkomnar</b> utredningen. Delar av förslaget ..."
    cues = find_cues(text)
    assert [(text[c.start:c.end], c.label) for c in cues] == [("instämmer inte", "oppose"), ("välkomnar", "support")]
    shown = highlight_html(text, cues)
    assert f"<mark style='background:{COLOURS['oppose'][1]}' title='oppose'>instämmer inte</mark>" in shown
    assert "&lt;b&gt;<mark style='background:" in shown and "'>välkomnar</mark>&lt;/b&gt;" in shown
    assert CUES is lexicon.CUES  # one lexicon: the lexicon baseline's


def test_queue_items_carry_what_the_screen_shows(queue, paragraphs, referral):
    assert queue
    texts = {(p.doc, p.id): p for p in paragraphs}
    for item in queue:
        paragraph = texts[(item.doc, item.paragraph)]
        assert item.text == paragraph.text and item.section == paragraph.section
        assert item.text_hash == hashlib.sha256(paragraph.text.encode()).hexdigest()[:16]
        assert item.target_title == referral.get(item.target).title
        assert all(0 <= c.start < c.end <= len(item.text) for c in item.cues)
    assert any(item.cues for item in queue)


def test_queue_lowest_margin_first_and_document_order(queue, predictions, paragraphs, referral):
    margins = [round(item.margin, 9) for item in queue]
    assert margins == sorted(margins)
    assert len(queue) == len(predictions)
    lowest = min(sorted(p.probs.values())[-1] - sorted(p.probs.values())[-2] for p in predictions)
    assert queue[0].margin == pytest.approx(lowest) and queue[-1].margin > lowest + 0.1

    in_doc_order = build_queue(predictions, paragraphs, referral, order="document")
    position = {(p.doc, p.id): n for n, p in enumerate(paragraphs)}
    keys = [(i.doc, position[(i.doc, i.paragraph)]) for i in in_doc_order]
    assert keys == sorted(keys)
    with pytest.raises(ValueError):
        build_queue(predictions, paragraphs, referral, order="random")


def test_queue_filters_and_done_keys(queue, predictions, paragraphs, referral):
    target = queue[0].target
    only = build_queue(predictions, paragraphs, referral, target=target)
    assert only and {i.target for i in only} == {target}
    assert len(only) == sum(p.target == target for p in predictions)

    stance = queue[0].stance
    assert {i.stance for i in build_queue(predictions, paragraphs, referral, stance=stance)} == {stance}

    speaker = next(p.speaker for p in predictions if p.speaker)
    by_speaker = build_queue(predictions, paragraphs, referral, speaker=speaker)
    assert by_speaker and {i.speaker for i in by_speaker} == {speaker}

    both = build_queue(predictions, paragraphs, referral, target=target, stance="no such label")
    assert both == []

    done = {i.key for i in queue[:5]}
    rest = build_queue(predictions, paragraphs, referral, done_keys=done)
    assert [i.key for i in rest] == [i.key for i in queue[5:]]

    picked = {queue[7].key, queue[3].key}
    assert [i.key for i in build_queue(predictions, paragraphs, referral, only=picked)] == [queue[3].key, queue[7].key]

    # a prediction on another referral's target (or a paragraph no longer there) is not shown
    strays = [dataclasses.replace(predictions[0], target="99.9"), dataclasses.replace(predictions[0], paragraph="p999")]
    assert [i.key for i in build_queue([*predictions, *strays], paragraphs, referral)] == [i.key for i in queue]


# -- decisions and the log ---------------------------------------------------------------


def test_decisions_are_one_full_line_each_with_the_agreed_fields(tmp_path, queue, referral):
    log = CorrectionLog.for_annotator(tmp_path, "anna")
    session = AnnotationSession(queue, log, "anna", referral, model_version="m1")
    other = next(t.id for t in referral.targets if t.id != queue[2].target)
    session.press("1", note="clear support")
    session.press("enter")
    session.press("t", new_target=other, speaker="Socialnämnden")
    session.press("n")
    session.press("s")
    session.press("x")
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    rows = [json.loads(line) for line in lines]
    assert all(list(row) == DECISION_FIELDS for row in rows)
    assert [r["action"] for r in rows][1:] == ["accept", "retarget", "not_stance", "skip", "remove_target"]
    assert rows[0]["action"] in ("relabel", "accept") and rows[0]["stance"] == "support"
    assert rows[0]["note"] == "clear support" and rows[0]["original"]["stance"] == queue[0].stance
    assert rows[1]["stance"] == queue[1].stance
    assert rows[2]["new_target"] == other and rows[2]["speaker"] == "Socialnämnden"
    assert rows[2]["stance"] == queue[2].stance
    assert rows[3]["stance"] is None and rows[5]["new_target"] is None
    assert all(r["annotator"] == "anna" and r["model_version"] == "m1" for r in rows)
    assert [r["text_hash"] for r in rows] == [i.text_hash for i in queue[:6]]
    assert session.current == queue[6]


def test_bad_input_is_refused_before_anything_is_written(tmp_path, queue, referral):
    log = CorrectionLog.for_annotator(tmp_path, "anna")
    session = AnnotationSession(queue, log, "anna", referral)
    with pytest.raises(ValueError, match="not a target"):
        session.press("t", new_target="99.9")
    with pytest.raises(ValueError, match="unknown key"):
        session.press("q")
    with pytest.raises(ValueError):
        check_annotator("../etc/passwd")
    with pytest.raises(ValueError):
        decide(queue[0], "relabel", "anna", stance="maybe")
    assert session.press("b") == "nothing to go back to"
    assert not log.path.exists() and session.current == queue[0]
    assert set(ACTIONS) == {"accept", "relabel", "retarget", "remove_target", "not_stance", "skip"}


def test_back_and_decide_again_supersedes(tmp_path, fresh, paragraphs, referral, gold):
    items = fresh[:2]
    log = CorrectionLog.for_annotator(tmp_path, "anna")
    session = AnnotationSession(items, log, "anna", referral)
    session.decide("relabel", stance="oppose")
    assert session.press("b") == "back one item" and session.current == items[0]
    session.decide("relabel", stance="hesitant")
    assert session.current == items[1]
    assert len(log.read().decisions) == 2
    merged = merge_training_data(gold, tmp_path, paragraphs, referral)
    assert [(p.doc, p.paragraph, p.target, p.label) for p in merged.corrections] == [(*items[0].key, "hesitant")]


# -- crash safety and resume -------------------------------------------------------------

SAVED = 10
#: the notebook's writer in a process of its own: SAVED decisions, each acknowledged on stdout
#: once ``press`` returns, then one whose note is long enough (64 MB) that a kill lands inside
#: its write
WRITER = f"""
import json, sys
from pipeline.annotation import AnnotationSession, CorrectionLog, Item
from pipeline.referral import load_referral
items = [Item(**d) for d in json.load(open(sys.argv[1], encoding="utf-8"))]
session = AnnotationSession(items, CorrectionLog(sys.argv[2]), "crashy", load_referral(sys.argv[3]))
for n in range({SAVED}):
    session.press("1234"[n % 4])
    print("saved", flush=True)
print("writing", flush=True)
session.press("1", note="x" * (64 << 20))
"""


def test_sigkill_mid_write_keeps_earlier_decisions_and_the_file_valid(tmp_path, queue, predictions, paragraphs,
                                                                        referral):
    items_file = tmp_path / "items.json"
    items_file.write_text(json.dumps([dataclasses.asdict(i) for i in queue]), encoding="utf-8")
    log_path = tmp_path / "corrections" / "crashy.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(items_file), str(log_path), str(REGISTRY)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        said = [proc.stdout.readline().strip() for _ in range(SAVED + 1)]
        assert said == ["saved"] * SAVED + ["writing"]
        acknowledged = log_path.read_bytes()
        deadline = time.monotonic() + 60
        while os.stat(log_path).st_size == len(acknowledged):  # until the long line starts to land
            assert proc.poll() is None and time.monotonic() < deadline, "the writer never started the last write"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    data = log_path.read_bytes()
    assert data.startswith(acknowledged) and len(data) > len(acknowledged)
    if data.endswith(b"\n"):
        # on a loaded machine the kernel may finish the 64 MB write before the signal lands;
        # then nothing is torn and the test below (torn line → cut off) has nothing to show
        pytest.skip("the kill landed after the last write completed; rerun to tear it")
    read = CorrectionLog(log_path).read()
    assert [(d.key, d.stance) for d in read.decisions] == [(i.key, LABELS[n % 4]) for n, i in enumerate(queue[:SAVED])]
    assert [(b.line, "torn" in b.reason) for b in read.bad] == [(SAVED + 1, True)]

    # reopening resumes at the item that was on screen; the next decision cuts the torn line off
    resumed = build_queue(predictions, paragraphs, referral, done_keys=CorrectionLog(log_path).done_keys())
    assert [i.key for i in resumed] == [i.key for i in queue[SAVED:]]
    AnnotationSession(resumed, CorrectionLog(log_path), "crashy", referral).press("enter")
    data = log_path.read_bytes()
    assert data.startswith(acknowledged) and data.endswith(b"\n")
    rows = [json.loads(line) for line in data.decode("utf-8").splitlines()]  # JSON Lines again, every line
    assert len(rows) == SAVED + 1 and (rows[-1]["paragraph"], rows[-1]["action"]) == (queue[SAVED].paragraph, "accept")
    assert CorrectionLog(log_path).read().bad == []


def test_damaged_lines_are_reported_and_the_rest_is_read(tmp_path, queue, paragraphs, referral):
    log = CorrectionLog.for_annotator(tmp_path, "anna")
    log.append(decide(queue[0], "accept", "anna"))
    whole = json.dumps(dataclasses.asdict(decide(queue[1], "relabel", "anna", stance="oppose")), ensure_ascii=False)
    with open(log.path, "ab") as f:
        f.write(b"{a hand edit gone wrong\n")
        f.write(whole.encode("utf-8"))  # a whole decision that only lacks its newline
    read = log.read()
    assert [d.key for d in read.decisions] == [queue[0].key, queue[1].key]
    assert [(b.line, b.reason.startswith("unreadable")) for b in read.bad] == [(2, True)]

    log.append(decide(queue[2], "not_stance", "anna"))  # ends the whole line rather than cutting it off
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and lines[2] == whole and json.loads(lines[3])["action"] == "not_stance"
    merged = merge_training_data([], tmp_path, paragraphs, referral)
    assert len(merged.bad_lines) == 1 and len(merged.applied) == 3
    assert "unreadable" in merged.summary()


# -- corrections → the next run's training data ------------------------------------------


def _log(tmp_path, annotator, item, action, stance=None, timestamp=None, **kw):
    decision = decide(item, action, annotator, stance=stance, timestamp=timestamp, **kw)
    CorrectionLog.for_annotator(tmp_path, annotator).append(decision)
    return decision


def test_a_correction_changes_the_next_models_training_data(tmp_path, fresh, queue, gold, statements, paragraphs,
                                                             referral):
    item = fresh[0]
    new = next(label for label in ("hesitant", "oppose") if label != item.stance)
    on_gold = next(i for i in queue if i not in fresh)
    gold_label = next(p.label for p in gold if (p.doc, p.paragraph, p.target) == on_gold.key)
    _log(tmp_path, "anna", item, "relabel", stance=new)
    _log(tmp_path, "anna", fresh[1], "not_stance")
    _log(tmp_path, "anna", fresh[2], "skip")
    _log(tmp_path, "anna", on_gold, "relabel", stance=next(label for label in LABELS if label != gold_label))

    merged = merge_training_data(gold, tmp_path, paragraphs, referral)
    assert merged.pairs[:len(gold)] == gold
    [pair] = merged.corrections
    assert merged.pairs == [*gold, pair] and data_hash(merged.pairs) != data_hash(gold)
    assert (pair.doc, pair.paragraph, pair.target, pair.label) == (*item.key, new)
    assert pair.paragraph_text == item.text and pair.target_text.startswith(item.target)
    # the same pairs as the training stage's own entry point builds
    assert gold_pairs(statements, paragraphs, referral, extra_pairs=merged.corrections) == merged.pairs
    # and the next model learns the correction: before, it predicted what the annotator corrected
    before = baselines.TfidfLogReg().fit(gold).predict([pair])[0].label
    after = baselines.TfidfLogReg().fit(merged.pairs).predict([pair])[0].label
    assert (before, after) == (item.stance, new)

    # gold wins: the correction on a gold pair changes nothing and is reported
    assert [v.decision.key for v in merged.overridden_by_gold] == [on_gold.key]
    # not_stance removes the pair; skip is ignored
    assert {a.key: a.outcome for a in merged.applied} == {item.key: new, fresh[1].key: NO_PAIR}
    assert not merged.stale and not merged.conflicts


def test_retarget_moves_the_pair(tmp_path, fresh, gold, paragraphs, referral):
    gold_keys = {(p.doc, p.paragraph, p.target) for p in gold}
    item = fresh[0]
    other = next(t.id for t in referral.targets if t.id != item.target
                 and (item.doc, item.paragraph, t.id) not in gold_keys)
    _log(tmp_path, "anna", item, "retarget", stance="support", new_target=other)
    merged = merge_training_data(gold, tmp_path, paragraphs, referral)
    assert [(p.doc, p.paragraph, p.target, p.label) for p in merged.corrections] == \
        [(item.doc, item.paragraph, other, "support")]
    assert {a.key: a.outcome for a in merged.applied}[item.key] == NO_PAIR


def test_a_stale_correction_is_reported_not_applied(tmp_path, fresh, gold, paragraphs, referral):
    item = fresh[0]
    changed = dataclasses.replace(item, text_hash=text_hash(item.text + " (ändrad)"))
    _log(tmp_path, "anna", changed, "relabel", stance="oppose")
    gone = dataclasses.replace(fresh[1], paragraph="p999")
    _log(tmp_path, "anna", gone, "relabel", stance="oppose")
    merged = merge_training_data(gold, tmp_path, paragraphs, referral)
    assert merged.pairs == gold and not merged.applied
    assert [(s.decision.key, "changed" in s.reason) for s in merged.stale] == [(item.key, True), (gone.key, False)]
    assert "stale, not applied: 2" in merged.summary()


def test_annotator_conflicts_are_listed_and_resolved(tmp_path, fresh, gold, paragraphs, referral):
    a, b = fresh[:2]
    # a: two against one → majority
    _log(tmp_path, "anna", a, "relabel", stance="oppose", timestamp="2025-01-01T10:00:00+00:00")
    _log(tmp_path, "bo", a, "relabel", stance="oppose", timestamp="2025-01-01T10:01:00+00:00")
    _log(tmp_path, "cai", a, "relabel", stance="hesitant", timestamp="2025-01-01T10:02:00+00:00")
    # b: one against one → the most recent decision
    _log(tmp_path, "anna", b, "relabel", stance="support", timestamp="2025-01-01T11:00:00+00:00")
    _log(tmp_path, "bo", b, "not_stance", timestamp="2025-01-01T11:05:00+00:00")
    merged = merge_training_data(gold, tmp_path, paragraphs, referral)
    conflicts = {c.key: c for c in merged.conflicts}
    assert set(conflicts) == {a.key, b.key}
    assert conflicts[a.key].votes == {"anna": "oppose", "bo": "oppose", "cai": "hesitant"}
    assert (conflicts[a.key].resolved, conflicts[a.key].rule) == ("oppose", "majority")
    assert conflicts[b.key].votes == {"anna": "support", "bo": NO_PAIR}
    assert (conflicts[b.key].resolved, conflicts[b.key].rule) == (NO_PAIR, "tie: most recent")
    assert [(p.paragraph, p.target, p.label) for p in merged.corrections] == [(a.paragraph, a.target, "oppose")]
    assert "conflicts between annotators: 2" in merged.summary()


# -- agreement ---------------------------------------------------------------------------


def test_cohen_kappa_is_scikit_learns_and_nan_where_undefined():
    a = ["support", "support", "oppose", "neutral", "hesitant", "support", "neutral", "oppose", "none", "support",
         "neutral", "neutral"]
    b = ["support", "neutral", "oppose", "neutral", "oppose", "support", "neutral", "hesitant", "none", "support",
         "support", "neutral"]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    # one label throughout from both: chance agreement is total, kappa undefined (no warning, no error)
    assert math.isnan(cohen_kappa(["support"] * 3, ["support"] * 3))
    assert cohen_kappa(["support"] * 3, ["oppose"] * 3) == 0.0
    with pytest.raises(ValueError):
        cohen_kappa(["support"], [])


def test_fleiss_kappa_on_the_textbook_example():
    # Fleiss (1971) as on Wikipedia: 10 subjects, 14 raters, 5 categories; by hand
    # P̄ = 172/455, P̄e = 417/1960, κ = (P̄ − P̄e) / (1 − P̄e) = 4211/20059 ≈ 0.210
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(table) == pytest.approx(4211 / 20059, abs=1e-12)


def test_agreement_per_label_set_on_correction_files(tmp_path, queue, paragraphs, referral):
    items = queue[:8]
    anna = ["support", "oppose", "neutral", "neutral", "hesitant", "support", "oppose", None]
    bo = ["support", "oppose", "support", "neutral", "hesitant", "neutral", None, None]
    for who, labels in (("anna", anna), ("bo", bo)):
        for item, label in zip(items, labels):
            _log(tmp_path, who, item, "relabel" if label else "not_stance", stance=label)
    _log(tmp_path, "cai", queue[20], "relabel", stance="oppose")  # alone: not an agreement item
    report = agreement(tmp_path, paragraphs, referral)
    assert report.annotators == ["anna", "bo", "cai"] and report.items == 8
    a = [label or NO_PAIR for label in anna]
    b = [label or NO_PAIR for label in bo]
    cohen = {r["labels"]: r for r in report.cohen}
    fleiss = {r["labels"]: r for r in report.fleiss}
    assert set(cohen) == set(fleiss) == set(LABEL_SETS)
    assert all((r["a"], r["b"]) == ("anna", "bo") for r in report.cohen)
    # the whole decision: four stances or none
    assert cohen["stance or none"]["n"] == fleiss["stance or none"]["n"] == 8
    assert cohen["stance or none"]["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    assert fleiss["stance or none"]["kappa"] == pytest.approx(fleiss_kappa(
        [[(x == c) + (y == c) for c in (*LABELS, NO_PAIR)] for x, y in zip(a, b)]))
    # the stance, on the items both gave one
    both = [(x, y) for x, y in zip(a, b) if NO_PAIR not in (x, y)]
    assert cohen["stance"]["n"] == 6
    assert cohen["stance"]["kappa"] == pytest.approx(cohen_kappa_score([x for x, _ in both], [y for _, y in both]))
    # whether there is a stance at all
    def any_stance(labels):
        return [NO_PAIR if label == NO_PAIR else "stance" for label in labels]
    assert cohen["any stance"]["kappa"] == pytest.approx(cohen_kappa_score(any_stance(a), any_stance(b)))

    rows = {(r["doc"], r["paragraph"], r["target"]): r for r in report.disagreements}
    assert set(rows) == {items[2].key, items[5].key, items[6].key}
    assert rows[items[2].key]["labels"] == {"anna": "neutral", "bo": "support"}
    assert rows[items[2].key]["resolved"] == "support (tie: most recent)"
    assert rows[items[2].key]["text"] == items[2].text
    assert "Fleiss' kappa, stance (6 items)" in report.summary()


def test_corrections_cli_prints_merge_and_agreement(tmp_path, queue, paragraphs, referral, capsys):
    write_jsonl(tmp_path / "paragraphs.jsonl", paragraphs)
    corrections = tmp_path / "corrections"
    _log(corrections, "anna", queue[0], "relabel", stance="oppose")
    _log(corrections, "bo", queue[0], "relabel", stance="support")
    out = tmp_path / "pairs.jsonl"
    code = corrections_main(["--corrections", str(corrections), "--paragraphs", str(tmp_path / "paragraphs.jsonl"),
                             "--referral", str(REGISTRY),
                             "--statements", str(ROOT / "labels" / "gold" / "statements.yaml"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "== merge ==" in printed and "== agreement ==" in printed and "Cohen's kappa anna × bo" in printed
    assert out.exists() and len(out.read_text(encoding="utf-8").splitlines()) >= 1
