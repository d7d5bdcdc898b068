"""evaluate: every stance model under two protocols, with bootstrap intervals.

(a) **Seed LODO**: leave one gold response out; each fold's model learns from the authored
rows (other referrals), the other responses' gold statements and the annotators'
corrections (minus the held-out response's). Statement level: each held-out statement's
window is predicted. Document level: the same fold model classifies *every* link of the
held-out response and :func:`pipeline.aggregate.aggregate` turns those into cells, so no
response's remissammanställning is built by a model that saw it.

(b) **Unseen referral**: each model learns from the authored rows alone and predicts all
gold statements, a referral none of its training rows is about: the closest figure we can
compute here to what a user with a new referral gets.

Every macro-F1 carries a bootstrap 95 % interval; the best learned model is compared with
the lexicon by a paired bootstrap; a learning curve tracks (b) against the authored rows used.
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
from typing import Callable, Iterable, Mapping, Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from .aggregate import aggregate
from .bootstrap import bootstrap_f1, paired_bootstrap
from .classify import classify
from .records import LABELS, Cell, Link, Paragraph, Prediction
from .referral import Referral
from .stance.data import Classifier, Pair

#: a fresh, unfitted model
Factory = Callable[[], Classifier]

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


def unseen_referral(gold: Sequence[Pair], models: Mapping[str, Factory], authored: Sequence[Pair]) -> CVResult:
    """Protocol (b): fit on the authored rows only, predict every gold statement."""
    result = CVResult()
    for name, make in models.items():
        started = time.perf_counter()
        model = make().fit(authored)
        for pair, pred in zip(gold, model.predict(gold)):
            result.rows.append(CVRow(name, 0, pair.doc, pair.target, pair.quote, str(pair.label), pred.label,
                                     {k: round(v, 6) for k, v in pred.probs.items()}))
        result.seconds[name] = round(time.perf_counter() - started, 1)
        log.info("%s unseen referral: %d authored → %d gold", name, len(authored), len(gold))
    return result


def learning_curve(gold: Sequence[Pair], make: Factory, authored_rows: Sequence, sizes: Sequence[int],
                   seeds: Sequence[int]) -> list[dict]:
    """Protocol (b) macro-F1 of one model against the number of authored rows it learns from
    (a label-stratified subsample per seed; every row once, at the full size)."""
    from .bootstrap import macro_f1
    from .stance.authored import authored_pairs, subsample

    truth = [str(p.label) for p in gold]
    out = []
    for size in [*sorted(n for n in sizes if 0 < n < len(authored_rows)), len(authored_rows)]:
        scores = []
        for seed in (seeds if size < len(authored_rows) else seeds[:1]):
            train = authored_pairs(subsample(authored_rows, size, seed))
            scores.append(macro_f1(truth, [p.label for p in make().fit(train).predict(gold)]))
        out.append({"rows": size, "macro_f1": round(sum(scores) / len(scores), 4),
                    "min": round(min(scores), 4), "max": round(max(scores), 4), "seeds": len(scores)})
        log.info("learning curve: %d authored rows → macro-F1 %.3f", size, out[-1]["macro_f1"])
    return out


def statement_metrics(rows: Sequence[CVRow], resamples: int = 1000) -> dict[str, dict]:
    """Per model: accuracy, macro-F1 over the labels gold uses with its bootstrap 95 %
    interval, per-class P/R/F1/support."""
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
            "macro_f1_ci95": _interval(bootstrap_f1(gold, pred, resamples)),
            "per_class": {label: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                                  "f1": round(float(f), 4), "support": int(s)}
                          for label, p, r, f, s in zip(LABELS, precision, recall, f1, support)},
        }
    return out


def _interval(interval) -> list[float]:
    return [interval.low, interval.high]


def compare_to_lexicon(rows: Sequence[CVRow], learned: Sequence[str], resamples: int = 1000) -> dict:
    """The learned model with the highest macro-F1 against the lexicon, paired bootstrap on
    the same statements."""
    from .bootstrap import macro_f1

    by_model = {m: sorted((r for r in rows if r.model == m), key=lambda r: (r.doc, r.target, r.quote))
                for m in {r.model for r in rows}}
    candidates = [m for m in learned if m in by_model]
    if "lexicon" not in by_model or not candidates:
        return {}
    best = max(candidates, key=lambda m: (macro_f1([r.gold for r in by_model[m]], [r.pred for r in by_model[m]]), m))
    gold = [r.gold for r in by_model["lexicon"]]
    if gold != [r.gold for r in by_model[best]]:
        raise ValueError(f"{best} and the lexicon were scored on different statements")
    paired = paired_bootstrap(gold, [r.pred for r in by_model[best]], [r.pred for r in by_model["lexicon"]], resamples)
    return {"best_learned": best, "minus_lexicon": paired.difference.value,
            "minus_lexicon_ci95": _interval(paired.difference), "p_not_better": paired.p_not_better}


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


def summary_json(protocols: Mapping[str, Mapping[str, dict]], documents: Mapping[str, dict],
                 seconds: Mapping[str, Mapping[str, float]], comparisons: Mapping[str, dict]) -> str:
    """metrics/stance.json: the numbers `dvc metrics show` compares across experiments, per
    protocol ("lodo", "unseen") and model; the document cells come from the LODO folds."""
    data: dict = {}
    for protocol, statement in protocols.items():
        section = {model: {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "macro_f1_ci95": m["macro_f1_ci95"],
                           **{f"f1_{label}": m["per_class"][label]["f1"] for label in LABELS},
                           "seconds": seconds[protocol].get(model)}
                   for model, m in statement.items()}
        if protocol == "lodo":
            for model in section:
                section[model].update(doc_cell_accuracy=documents[model]["accuracy"],
                                      doc_addressed_recall=documents[model]["addressed_recall"],
                                      doc_filled_not_in_gold=documents[model]["filled_not_in_gold"])
        data[protocol] = {"models": section, "paired_bootstrap": comparisons.get(protocol, {})}
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def deploy_choice(summary: Mapping, rule: str, candidates: Sequence[str]) -> str:
    """The model ``rule`` ("<protocol>.<metric>", e.g. "unseen.macro_f1") ranks first among
    ``candidates`` in a metrics/stance.json summary; ties go to the earlier candidate."""
    protocol, _, metric = rule.partition(".")
    models = summary.get(protocol, {}).get("models", {})
    scored = [m for m in candidates if m in models and models[m].get(metric) is not None]
    if not scored:
        raise ValueError(f"no model among {', '.join(candidates)} has {rule!r} in the metrics")
    return max(scored, key=lambda m: (models[m][metric], -candidates.index(m)))


# --- CLI ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvaluateParams:
    """params.yaml ``evaluate:``."""

    #: every model evaluated side by side (names in pipeline/stance/models.py)
    models: tuple[str, ...] = ("lexicon", "tfidf_logreg", "e5_logreg", "hybrid", "setfit", "transformer")
    #: how `remiss train` chooses the model when ``train.model`` is "auto": the one of
    #: ``deploy_from`` that ranks first by "<protocol>.<metric>" in metrics/stance.json
    deploy_by: str = "unseen.macro_f1"
    #: the learned models: the lexicon's cues were written from the four seed responses, so
    #: its figures on them are fitted, not a fair rival on the unseen-referral protocol
    deploy_from: tuple[str, ...] = ("tfidf_logreg", "e5_logreg", "hybrid", "setfit", "transformer")
    bootstrap_resamples: int = 1000
    #: the model whose learning curve (protocol b) is drawn, and its points
    curve_model: str = "hybrid"
    curve_rows: tuple[int, ...] = (250, 500, 1000)
    curve_seeds: tuple[int, ...] = (0, 1, 2)


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
    from .referral import load_referral
    from .stance.authored import load_authored
    from .stance.params import TrainParams
    from .stance.models import create
    from .stance.train import training_data

    params = load_section(args.params, "evaluate", EvaluateParams)
    train_params = load_section(args.params, "train", TrainParams, backbone=args.backbone)
    referral = load_referral(args.referral)
    paragraphs = read_jsonl(args.paragraphs, Paragraph)
    data = training_data(args.statements, args.corrections, args.authored, paragraphs, referral)
    factories = {name: (lambda name=name: create(name, train_params, args.models_dir)) for name in params.models}
    gold_cells = load_document_cells(args.documents_gold)
    resamples = params.bootstrap_resamples

    lodo = cross_validate(data.gold, factories, read_jsonl(args.links, Link), paragraphs, referral,
                          extra=[*data.authored, *data.corrections])
    unseen = unseen_referral(data.gold, factories, data.authored)
    results = {"lodo": lodo, "unseen": unseen}
    statement = {protocol: statement_metrics(r.rows, resamples) for protocol, r in results.items()}
    comparisons = {protocol: compare_to_lexicon(r.rows, params.deploy_from, resamples) for protocol, r in results.items()}
    cells = {m: document_cells(preds, paragraphs, referral) for m, preds in lodo.link_predictions.items()}
    documents = {m: document_metrics(c, gold_cells) for m, c in cells.items()}
    summary = summary_json(statement, documents, {p: r.seconds for p, r in results.items()}, comparisons)
    deployed = train_params.model if train_params.model != "auto" else deploy_choice(
        json.loads(summary), params.deploy_by, list(params.deploy_from))
    curve = learning_curve(data.gold, factories[params.curve_model], load_authored(args.authored),
                           params.curve_rows, params.curve_seeds)

    out = args.out
    write_jsonl(out / "statements_cv.jsonl", lodo.rows)
    write_jsonl(out / "statements_unseen.jsonl", unseen.rows)
    write_jsonl(out / "documents_cv.jsonl", cells[deployed])
    atomic_write_text(out / "stance.json", summary)
    atomic_write_text(out / "documents.json", json.dumps(
        {"deployed": deployed, **documents[deployed], "by_model": {
            m: {k: v for k, v in d.items() if k not in ("wrong", "extra")} for m, d in documents.items()}},
        ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(out / "learning_curve.csv", csv_text([{"model": params.curve_model, **row} for row in curve]))
    for protocol, result in results.items():
        for model in params.models:
            atomic_write_text(out / "confusion" / protocol / f"{model}.csv", csv_text(confusion_rows(result.rows, model)))
            atomic_write_text(out / "per_class" / protocol / f"{model}.csv",
                              csv_text(per_class_rows(statement[protocol], model)))
        for model, m in statement[protocol].items():
            log.info("%-6s %-13s macro-F1 %.3f [%.3f, %.3f]  accuracy %.3f  (%.0f s)", protocol, model, m["macro_f1"],
                     *m["macro_f1_ci95"], m["accuracy"], result.seconds[model])
    log.info("deployed: %s (cells %.3f)", deployed, documents[deployed]["accuracy"])
    return 0
