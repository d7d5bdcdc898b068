"""evaluate: leave-one-document-out cross-validation of every stance model, at two levels.

Statement level: each gold statement's pair is predicted by a model trained on the other
responses (gold pairs plus annotators' corrections, minus anything from the held-out
response). Document level: the same fold model classifies *every* link of the held-out
response, and :func:`pipeline.aggregate.aggregate` turns those into cells, so the
remissammanställning of a response is never built by a model that saw it.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from .aggregate import aggregate
from .classify import classify
from .records import LABELS, Cell, Link, Paragraph, Prediction
from .registry import Referral
from .stance.data import Pair
from .stance.deploy import Factory
from .stance.train import TRANSFORMER

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CVRow:
    """One cross-validated statement prediction (a line of metrics/statements_cv.jsonl)."""

    model: str
    fold: int
    doc: str
    target: str
    quote: str
    gold: str
    pred: str
    probs: dict[str, float]


@dataclass
class CVResult:
    rows: list[CVRow] = field(default_factory=list)
    #: model → paragraph-level predictions on every link of each held-out response
    link_predictions: dict[str, list[Prediction]] = field(default_factory=dict)
    #: model → seconds spent fitting and predicting over all folds
    seconds: dict[str, float] = field(default_factory=dict)


def cross_validate(gold: Sequence[Pair], models: Mapping[str, Factory], links: Sequence[Link],
                   paragraphs: Sequence[Paragraph], referral: Referral, extra: Sequence[Pair] = ()) -> CVResult:
    """Leave one gold response out, for every model in ``models`` (name → fresh classifier).

    ``extra`` (annotators' corrections) joins every fold's training data except the pairs of
    the held-out response itself.
    """
    docs = sorted({p.doc for p in gold})
    result = CVResult()
    for name, make in models.items():
        started = time.perf_counter()
        result.link_predictions[name] = []
        for fold, doc in enumerate(docs):
            train = [p for p in (*gold, *extra) if p.doc != doc]
            test = [p for p in gold if p.doc == doc]
            model = make().fit(train)
            for pair, pred in zip(test, model.predict(test)):
                result.rows.append(CVRow(name, fold, doc, pair.target, pair.quote, str(pair.label), pred.label,
                                         {k: round(v, 6) for k, v in pred.probs.items()}))
            doc_links = [l for l in links if l.doc == doc]
            doc_paragraphs = [p for p in paragraphs if p.doc == doc]
            result.link_predictions[name] += classify(doc_links, doc_paragraphs, referral, model)
            log.info("%s fold %d (%s held out): %d train, %d test", name, fold, doc, len(train), len(test))
        result.seconds[name] = round(time.perf_counter() - started, 1)
    return result


def statement_metrics(rows: Sequence[CVRow]) -> dict[str, dict]:
    """Per model: accuracy, macro-F1 over the labels gold uses, per-class P/R/F1/support."""
    out = {}
    for model in sorted({r.model for r in rows}):
        gold = [r.gold for r in rows if r.model == model]
        pred = [r.pred for r in rows if r.model == model]
        present = [label for label in LABELS if label in gold]
        precision, recall, f1, support = precision_recall_fscore_support(
            gold, pred, labels=list(LABELS), zero_division=0)
        out[model] = {
            "n": len(gold),
            "accuracy": round(float(accuracy_score(gold, pred)), 4),
            "macro_f1": round(float(f1_score(gold, pred, labels=present, average="macro", zero_division=0)), 4),
            "per_class": {label: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                                  "f1": round(float(f), 4), "support": int(s)}
                          for label, p, r, f, s in zip(LABELS, precision, recall, f1, support)},
        }
    return out


def confusion_rows(rows: Sequence[CVRow], model: str) -> list[dict[str, str]]:
    """One row per statement (actual, predicted): the shape DVC's confusion template counts."""
    return [{"actual": r.gold, "predicted": r.pred} for r in rows if r.model == model]


def confusion_table(rows: Sequence[CVRow], model: str) -> list[list[int]]:
    """The confusion matrix in LABELS order (rows: gold, columns: predicted)."""
    mine = [r for r in rows if r.model == model]
    return confusion_matrix([r.gold for r in mine], [r.pred for r in mine], labels=list(LABELS)).tolist()


def document_cells(predictions: Sequence[Prediction], paragraphs: Sequence[Paragraph],
                   referral: Referral) -> list[Cell]:
    return aggregate(predictions, paragraphs, referral)[0]


def document_metrics(cells: Iterable[Cell], gold: Mapping[str, Mapping[str, str]]) -> dict:
    """Cells against labels/gold/documents.yaml, on the responses gold covers.

    accuracy: gold cells the pipeline gets right; addressed_recall: gold cells it fills at all;
    filled_not_in_gold: cells it fills that gold leaves empty (a proposal the response does
    not take a position on, or a wrong link).
    """
    predicted = {(c.doc, c.target): c.stance for c in cells if c.doc in gold}
    gold_cells = {(doc, str(t)): s for doc, targets in gold.items() for t, s in targets.items()}
    right = sum(predicted.get(key) == stance for key, stance in gold_cells.items())
    filled = sum(key in predicted for key in gold_cells)
    extra = sorted(f"{d} {t}" for d, t in predicted if (d, t) not in gold_cells)
    wrong = sorted(f"{d} {t}: gold {s}, got {predicted.get((d, t), 'nothing')}"
                   for (d, t), s in gold_cells.items() if predicted.get((d, t)) != s)
    return {"gold_cells": len(gold_cells), "accuracy": round(right / len(gold_cells), 4) if gold_cells else None,
            "addressed_recall": round(filled / len(gold_cells), 4) if gold_cells else None,
            "filled_not_in_gold": len(extra), "wrong": wrong, "extra": extra}


def csv_text(rows: Sequence[Mapping[str, object]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def per_class_rows(metrics: Mapping[str, dict], model: str) -> list[dict[str, object]]:
    return [{"label": label, **values} for label, values in metrics[model]["per_class"].items()]


def summary_json(statement: Mapping[str, dict], documents: Mapping[str, dict], seconds: Mapping[str, float]) -> str:
    """metrics/stance.json: the numbers `dvc metrics show` compares across experiments."""
    data = {model: {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                    **{f"f1_{label}": m["per_class"][label]["f1"] for label in LABELS},
                    "doc_cell_accuracy": documents[model]["accuracy"],
                    "doc_addressed_recall": documents[model]["addressed_recall"],
                    "doc_filled_not_in_gold": documents[model]["filled_not_in_gold"],
                    "cv_seconds": seconds.get(model)}
            for model, m in statement.items()}
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


# --- CLI ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvaluateParams:
    """params.yaml ``evaluate:``. The deployed model is ``train.model``: its cross-validated
    cells are metrics/documents_cv.jsonl and the headline of metrics/documents.json."""

    #: every model cross-validated side by side
    models: tuple[str, ...] = ("lexicon", "tfidf_logreg", "e5_logreg", TRANSFORMER)


def evaluate_args(p: argparse.ArgumentParser) -> None:
    from .stance.train import add_data_args

    add_data_args(p)
    p.add_argument("--links", type=Path, default=Path("data/links.jsonl"))
    p.add_argument("--documents-gold", type=Path, default=Path("labels/gold/documents.yaml"))
    p.add_argument("--out", type=Path, default=Path("metrics"), help="folder for metrics and plots")


def evaluate_cmd(args: argparse.Namespace) -> int:
    from .gold import load_document_cells
    from .params import load_section
    from .records import atomic_write_text, read_jsonl, write_jsonl
    from .registry import load_referral
    from .stance.deploy import factories
    from .stance.train import TrainParams, training_data

    params = load_section(args.params, "evaluate", EvaluateParams)
    train_params = load_section(args.params, "train", TrainParams, backbone=args.backbone)
    deployed = train_params.model
    if deployed not in params.models:
        raise ValueError(f"{args.params}: train.model {deployed!r} (the deployed model) is not in evaluate.models")
    referral = load_referral(args.referral)
    paragraphs = read_jsonl(args.paragraphs, Paragraph)
    gold, merged = training_data(args.statements, args.corrections, paragraphs, referral)
    gold_cells = load_document_cells(args.documents_gold)
    result = cross_validate(gold,
                            factories(params.models, train_params, args.models_dir),
                            read_jsonl(args.links, Link), paragraphs, referral, extra=merged.corrections)

    statement = statement_metrics(result.rows)
    cells = {m: document_cells(preds, paragraphs, referral) for m, preds in result.link_predictions.items()}
    documents = {m: document_metrics(c, gold_cells) for m, c in cells.items()}
    out = args.out
    write_jsonl(out / "statements_cv.jsonl", result.rows)
    write_jsonl(out / "documents_cv.jsonl", cells[deployed])
    atomic_write_text(out / "stance.json", summary_json(statement, documents, result.seconds))
    atomic_write_text(out / "documents.json", json.dumps(
        {"deployed": deployed, **documents[deployed], "by_model": {
            m: {k: v for k, v in d.items() if k not in ("wrong", "extra")} for m, d in documents.items()}},
        ensure_ascii=False, indent=1) + "\n")
    for model in params.models:
        atomic_write_text(out / "confusion" / f"{model}.csv", csv_text(confusion_rows(result.rows, model)))
        atomic_write_text(out / "per_class" / f"{model}.csv", csv_text(per_class_rows(statement, model)))
    for model, m in statement.items():
        log.info("%-13s macro-F1 %.3f  accuracy %.3f  cells %.3f  (%.0f s)", model, m["macro_f1"], m["accuracy"],
                 documents[model]["accuracy"], result.seconds[model])
    return 0
