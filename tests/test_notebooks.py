"""The notebooks run headless (nbclient) on pipeline outputs built from the real corpus: the
annotator notebook with a scripted annotator, the explore notebook with and without results."""
from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from pipeline.aggregate import aggregate
from pipeline.annotation import CorrectionLog, build_queue, decide, text_hash
from pipeline.classify import classify
from pipeline.evaluate import (
    confusion_rows, cross_validate, csv_text, document_cells, document_metrics, statement_metrics, summary_json,
)
from pipeline.gold import load_document_cells, paragraphs_holding
from pipeline.link import LinkParams, link
from pipeline.records import Prediction, atomic_write_text, read_jsonl, write_jsonl
from pipeline.report import build_matrix, render_html
from pipeline.stance.baselines import TfidfLogReg
from pipeline.stance.lexicon import LexiconBaseline

from .conftest import REGISTRY
from .test_annotate import DECISION_FIELDS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "python3"  # the notebooks' kernelspec name


@pytest.fixture(scope="module", autouse=True)
def kernel(tmp_path_factory):
    """Run the notebooks on this interpreter (the venv's ipykernel), whatever "python3" kernel
    a user-wide `ipykernel install` registered for another Python: JUPYTER_PATH is searched first."""
    from ipykernel.kernelspec import write_kernel_spec

    jupyter = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(jupyter / "kernels" / KERNEL)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(jupyter))
        yield


@pytest.fixture(scope="module")
def repro(tmp_path_factory, stance_pairs, paragraphs, referral) -> Path:
    """What `dvc repro` writes, from the real corpus, with baselines in place of the transformer:
    paragraphs and predictions (TF-IDF fitted on gold, every link without e5), the
    leave-one-response-out metrics of two baselines, and the report of the predictions' cells."""
    out = tmp_path_factory.mktemp("repro")
    links = link(paragraphs, referral, LinkParams(semantic=False))
    predictions = classify(links, paragraphs, referral, TfidfLogReg().fit(stance_pairs))
    write_jsonl(out / "data" / "paragraphs.jsonl", paragraphs)
    write_jsonl(out / "data" / "predictions.jsonl", predictions)

    cv = cross_validate(stance_pairs, {"lexicon": LexiconBaseline, "tfidf_logreg": TfidfLogReg}, links, paragraphs,
                        referral)
    statement = statement_metrics(cv.rows)
    gold_cells = load_document_cells(ROOT / "labels" / "gold" / "documents.yaml")
    documents = {model: document_metrics(document_cells(p, paragraphs, referral), gold_cells)
                 for model, p in cv.link_predictions.items()}
    write_jsonl(out / "metrics" / "statements_cv.jsonl", cv.rows)
    atomic_write_text(out / "metrics" / "stance.json", summary_json({"lodo": statement}, documents, {"lodo": cv.seconds}, {}))
    for model in statement:
        atomic_write_text(out / "metrics" / "confusion" / f"{model}.csv", csv_text(confusion_rows(cv.rows, model)))

    cells, other_voices = aggregate(predictions, paragraphs, referral)
    atomic_write_text(out / "reports" / "index.html", render_html(build_matrix(cells, paragraphs, other_voices, referral)))
    return out


def run_notebook(name: str, **params) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>`` with ``params`` set in a cell right after the parameters cell."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert "parameters" in nb.cells[0].metadata.get("tags", [])
    nb.cells.insert(1, nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in params.items())))
    NotebookClient(nb, timeout=120, kernel_name=KERNEL, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def text_of(nb) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for k, v in output.get("data", {}).items() if k in ("text/plain", "text/html"))
    return "\n".join(parts)


def test_notebooks_have_no_stored_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == KERNEL
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path


def test_annotate_notebook_with_a_scripted_annotator(tmp_path, repro, paragraphs, referral):
    data = repro / "data"
    inputs = dict(PREDICTIONS=str(data / "predictions.jsonl"), PARAGRAPHS=str(data / "paragraphs.jsonl"),
                  REFERRAL=str(REGISTRY), CORRECTIONS=str(tmp_path / "corrections"))
    queue = build_queue(read_jsonl(data / "predictions.jsonl", Prediction), paragraphs, referral)
    new_target = next(t.id for t in referral.targets if t.id != queue[3].target)
    steps = [{"key": "2", "note": "scripted: opposes"},   # typed into the keys box
             {"click": "hesitant"},                          # a label button
             {"key": "n"},
             {"key": "t", "new_target": new_target},
             {"click": "x", "speaker": "Socialnämnden"}]
    nb = run_notebook("annotate.ipynb", **inputs, ANNOTATOR="robot", MODEL_VERSION="test-model",
                      SCRIPTED_DECISIONS=steps)

    log = tmp_path / "corrections" / "robot.jsonl"
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5
    assert all(list(row) == DECISION_FIELDS for row in rows)
    assert [(r["doc"], r["paragraph"], r["target"]) for r in rows] == [i.key for i in queue[:5]]
    hashes = {(p.doc, p.id): text_hash(p.text) for p in paragraphs}
    assert all(r["text_hash"] == hashes[(r["doc"], r["paragraph"])] for r in rows)
    assert all(r["annotator"] == "robot" and r["model_version"] == "test-model" and r["timestamp"] for r in rows)
    assert [r["original"] for r in rows] == [{"stance": i.stance, "probs": i.probs} for i in queue[:5]]
    assert [r["stance"] for r in rows] == ["oppose", "hesitant", None, queue[3].stance, None]
    assert [r["action"] for r in rows][2:] == ["not_stance", "retarget", "remove_target"]
    assert rows[0]["action"] in ("relabel", "accept") and rows[0]["note"] == "scripted: opposes"
    assert rows[3]["new_target"] == new_target and rows[4]["speaker"] == "Socialnämnden"
    shown = text_of(nb)
    assert shown.count("saved:") == 5  # every step went through
    assert "corrections applied: " in shown and "annotators: robot;" in shown  # the adjudication cell ran

    # reopening resumes after the five decisions
    nb = run_notebook("annotate.ipynb", **inputs, ANNOTATOR="robot", SCRIPTED_DECISIONS=[{"key": "enter"}])
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6 and (rows[5]["doc"], rows[5]["paragraph"], rows[5]["target"]) == queue[5].key
    assert rows[5]["action"] == "accept"
    assert "robot: 5 earlier decisions" in text_of(nb)

    # a second annotator disagrees on one item; the adjudicator's queue is that item alone
    CorrectionLog.for_annotator(tmp_path / "corrections", "bo").append(decide(queue[1], "relabel", "bo", stance="support"))
    nb = run_notebook("annotate.ipynb", **inputs, ANNOTATOR="carl", ONLY_DISAGREEMENTS=True,
                      SCRIPTED_DECISIONS=[{"key": "3"}, {"key": "1"}])
    [row] = [json.loads(line) for line in (tmp_path / "corrections" / "carl.jsonl").read_text().splitlines()]
    assert ((row["doc"], row["paragraph"], row["target"]), row["stance"]) == (queue[1].key, "hesitant")
    shown = text_of(nb)
    assert "1 items to review" in shown and "the queue is done" in shown  # the second key had no item
    assert "Cohen's kappa bo × robot" in shown and "hesitant (majority)" in shown  # carl broke the tie


def test_annotate_notebook_without_predictions(tmp_path):
    nb = run_notebook("annotate.ipynb", PREDICTIONS=str(tmp_path / "none.jsonl"), CORRECTIONS=str(tmp_path / "c"),
                      SCRIPTED_DECISIONS=[{"key": "enter"}])
    assert "Nothing to review yet" in text_of(nb)
    assert not (tmp_path / "c").exists()


def test_explore_notebook_on_a_fresh_clone(tmp_path):
    missing = {k: str(tmp_path / f"missing-{k}") for k in ("METRICS", "CV", "CONFUSION", "REPORT")}
    shown = text_of(run_notebook("explore.ipynb", **missing))
    for what, key in (("model table", "METRICS"), ("confusion matrices", "CONFUSION"), ("worst errors", "CV"),
                      ("report", "REPORT")):
        assert f"{what}: {missing[key]} not found" in shown


def test_explore_notebook_with_results(repro, paragraphs):
    metrics = repro / "metrics"
    nb = run_notebook("explore.ipynb", METRICS=str(metrics / "stance.json"), CV=str(metrics / "statements_cv.jsonl"),
                      CONFUSION=str(metrics / "confusion"), PARAGRAPHS=str(repro / "data" / "paragraphs.jsonl"),
                      REPORT=str(repro / "reports" / "index.html"))
    shown = text_of(nb)
    assert "not found" not in shown
    # the model table, best macro-F1 first
    scores = json.loads((metrics / "stance.json").read_text(encoding="utf-8"))["lodo"]["models"]
    best, worst = sorted(scores, key=lambda m: -scores[m]["macro_f1"])
    assert shown.index(best) < shown.index(worst) and "f1_hesitant" in shown
    # one confusion matrix per model, drawn
    assert sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])) == 1
    # the most confident error first, with the paragraph that holds its quote
    cv = [r for r in read_jsonl(metrics / "statements_cv.jsonl") if r["gold"] != r["pred"]]
    top = max(cv, key=lambda r: r["probs"][r["pred"]])
    [held] = paragraphs_holding(top["quote"], top["doc"], paragraphs)
    assert f"{len(cv)} wrong predictions" in shown and html.escape(f"{held.id}: {held.text[:60]}") in shown
    # the remissammanställning, in an iframe
    assert "<iframe srcdoc=" in shown and "tillstyrker" in shown
