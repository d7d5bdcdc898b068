"""Does correcting pay off? Simulated annotators correct the model's predictions on the seeds
with the gold, round by round, and the model is retrained on the corrections each round;
written to bench/results/annotation.json and, for `dvc plots show`, annotation_curve.csv
(macro-F1), annotation_gap.csv (minus the lexicon's on the same statements) and
annotation_gain.csv (minus the start model's on the same statements).

    python -m bench.annotation [--k 10] [--seeds 0 1 2]

The model starts where a user with a new referral starts: the deployed learned model kind
(params.yaml ``train.model``, "auto" resolved as `remiss train` resolves it) fitted on the
authored rows alone. Each round the simulated annotator decides the first k items of the
annotator queue (:func:`pipeline.annotation.queue.build_queue` over the model's predictions on the
gold statements' (paragraph, target) keys) with the gold label, appended through
:class:`~pipeline.annotation.log.CorrectionLog` as the notebook appends it; then `remiss train`
(its own argument parser and command) refits the model with ``--corrections`` on that folder
and an empty ``--statements`` file, so the seed gold reaches training only as corrections.
Macro-F1 (:func:`pipeline.bootstrap.macro_f1`, as the evaluate stage's learning curve) is measured on the gold statements
whose key is not corrected yet, the lexicon's on the same statements beside it. Orders:
uncertainty (the notebook's default), document, and random (the document-order queue shuffled,
once per seed).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.annotation import ORDERS, CorrectionLog, Key, build_queue, decide, pair_key, predictions_version
from pipeline.classify import classify
from pipeline.bootstrap import macro_f1
from pipeline.evaluate import csv_text
from pipeline.gold import load_statements
from pipeline.ingest import ingest_file
from pipeline.params import load_section
from pipeline.records import Link, Paragraph, atomic_write_text, write_jsonl
from pipeline.referral import Referral, load_referral
from pipeline.segment import segment
from pipeline.stance.data import Classifier, Pair, StancePrediction, combine, gold_pairs, one_hot
from pipeline.stance.meta import read_meta
from pipeline.stance.models import create, load
from pipeline.stance.params import TrainParams
from pipeline.stance.train import AUTO, chosen_model, train_args, train_cmd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PARAMS = ROOT / "params.yaml"
REGISTRY = ROOT / "corpus" / "proposals" / "sou-2024-72.yaml"
ANNOTATOR = "simulated"
RANDOM = "random"


@dataclass(frozen=True)
class Inputs:
    referral: Referral
    paragraphs: list[Paragraph]
    #: one pair per gold statement, read as the sentences its quote spans (what is scored)
    gold: list[Pair]
    #: the label the simulated annotator gives each (doc, paragraph, target) key
    truth: dict[Key, str]
    #: the lexicon's prediction on each gold statement: its labels come from the cue rules alone
    #: (fitting only calibrates its probabilities), so corrections do not move it
    lexicon: list[StancePrediction]
    #: one link per key, the items the queue can show
    links: list[Link]
    model: str
    #: `remiss train` arguments every round shares
    train_argv: list[str]


def deployed_kind(params: Path = PARAMS, metrics: Path = ROOT / "metrics" / "stance.json") -> str:
    """The model kind `remiss train` deploys: ``train.model``, or the one "auto" picks."""
    name = load_section(params, "train", TrainParams).model
    return chosen_model(params, metrics) if name == AUTO else name


def key_labels(pairs: list[Pair]) -> dict[Key, str]:
    """One label per key. Five paragraphs hold two statements on one target (a verdict and a
    comment, or two verdicts), and a correction labels the paragraph: the statements' labels
    combine as classify combines a paragraph's windows (labels/ANNOTATION.md: the verdict wins)."""
    labels: dict[Key, list[str]] = {}
    for pair in pairs:
        labels.setdefault(pair_key(pair), []).append(str(pair.label))
    return {key: combine([StancePrediction(label, one_hot(label)) for label in found])[0]
            for key, found in labels.items()}


def prepare(workdir: Path, authored: Path = ROOT / "labels" / "authored") -> Inputs:
    """The seeds segmented as the pipeline segments them, the gold as pairs and keys, and the
    training inputs in ``workdir`` (the paragraphs file and an empty statements file)."""
    referral = load_referral(REGISTRY)
    documents = [ingest_file(path) for path in sorted((ROOT / "corpus" / "responses").glob("*.txt"))]
    paragraphs = [p for document in documents for p in segment(document)]
    gold = gold_pairs(load_statements(ROOT / "labels" / "gold" / "statements.yaml"), paragraphs, referral)
    truth = key_labels(gold)
    write_jsonl(workdir / "paragraphs.jsonl", paragraphs)
    # `remiss train` reads gold statements from --statements: none, so that the seeds' gold
    # reaches the model only through the corrections the simulated annotator made
    atomic_write_text(workdir / "no-statements.yaml", "{}\n")
    model = deployed_kind()
    train_argv = ["--paragraphs", str(workdir / "paragraphs.jsonl"), "--referral", str(REGISTRY),
                  "--statements", str(workdir / "no-statements.yaml"), "--authored", str(authored),
                  "--params", str(PARAMS), "--models-dir", str(ROOT / "models"), "--model", model]
    return Inputs(referral=referral, paragraphs=paragraphs, gold=gold, truth=truth,
                  lexicon=create("lexicon").predict(gold),
                  links=[Link(doc, paragraph, target, "gold", 1.0) for doc, paragraph, target in truth],
                  model=model, train_argv=train_argv)


def retrain(inputs: Inputs, corrections: Path, out: Path) -> None:
    """`remiss train --corrections CORRECTIONS --out OUT` with the bench's other arguments."""
    parser = argparse.ArgumentParser(prog="remiss train")
    train_args(parser)
    train_cmd(parser.parse_args([*inputs.train_argv, "--corrections", str(corrections), "--out", str(out)]))


def measure(inputs: Inputs, model: Classifier, start: list[StancePrediction], done: set[Key]) -> dict:
    """Macro-F1 of ``model``, of the lexicon and of the start model (its predictions ``start``)
    on the gold statements outside ``done``, as the evaluate stage's learning curve scores each
    point (no bootstrap: 2 × 1,000 resamples a round cost more than the refit on 2 shared cores).
    The start model on the same statements separates what the corrections taught from what
    taking the corrected statements out of the scored set did: the uncertainty order takes out
    the start model's likeliest errors."""
    remaining = [i for i, pair in enumerate(inputs.gold) if pair_key(pair) not in done]
    if not remaining:
        return {"n_evaluated": 0, "macro_f1": None, "lexicon_macro_f1": None, "start_macro_f1": None}
    truth = [str(inputs.gold[i].label) for i in remaining]
    predicted = [p.label for p in model.predict([inputs.gold[i] for i in remaining])]
    return {"n_evaluated": len(remaining), "macro_f1": round(macro_f1(truth, predicted), 4),
            "lexicon_macro_f1": round(macro_f1(truth, [inputs.lexicon[i].label for i in remaining]), 4),
            "start_macro_f1": round(macro_f1(truth, [start[i].label for i in remaining]), 4)}


def simulate(inputs: Inputs, order: str, workdir: Path, base: Path, k: int, rounds: int | None = None,
             seed: int | None = None) -> list[dict]:
    """One annotator correcting ``k`` items a round in ``order`` (one of ORDERS, or RANDOM with
    ``seed``), from the model in ``base``, until every key is corrected (or ``rounds`` rounds).
    Its corrections are ``workdir/corrections/simulated.jsonl``, round n's model ``workdir/model-n``."""
    if order not in (*ORDERS, RANDOM):
        raise ValueError(f"order must be one of {(*ORDERS, RANDOM)}, not {order!r}")
    corrections = workdir / "corrections"
    log = CorrectionLog.for_annotator(corrections, ANNOTATOR)
    rng = random.Random(seed)
    start = load(base).predict(inputs.gold)
    model_dir, out = base, []
    for number in range(len(inputs.truth) + 1):
        started = time.perf_counter()
        model = load(model_dir)
        done = log.done_keys()
        row = {"round": number, "corrections": len(done), "training_pairs": read_meta(model_dir)["n_pairs"],
               **measure(inputs, model, start, done)}
        out.append(row)
        if len(done) == len(inputs.truth) or number == rounds:
            break
        predictions = classify(inputs.links, inputs.paragraphs, inputs.referral, model)
        predictions_path = workdir / f"predictions-{number}.jsonl"
        write_jsonl(predictions_path, predictions)
        queue = build_queue(predictions, inputs.paragraphs, inputs.referral,
                            order="document" if order == RANDOM else order, done_keys=done)
        if order == RANDOM:
            rng.shuffle(queue)
        version = predictions_version(predictions_path)
        # "relabel" to the predicted stance is recorded as "accept", as the notebook's Enter
        decisions = [decide(item, "relabel", ANNOTATOR, stance=inputs.truth[item.key], model_version=version)
                     for item in queue[:k]]
        for decision in decisions:
            log.append(decision)
        row["corrected"] = [" ".join(d.key) for d in decisions]
        row["relabelled"] = sum(d.action == "relabel" for d in decisions)
        model_dir = workdir / f"model-{number + 1}"
        retrain(inputs, corrections, model_dir)
        row["seconds"] = round(time.perf_counter() - started, 1)
        print(f"{workdir.name:12} {row['corrections']:3d} corrections: macro-F1 {row['macro_f1']} "
              f"(lexicon {row['lexicon_macro_f1']}, start model {row['start_macro_f1']}, n={row['n_evaluated']}); "
              f"{row['relabelled']}/{len(decisions)} relabelled, {row['seconds']} s", flush=True)
    return out


def reaches_lexicon(rounds: list[dict], score: str = "macro_f1") -> dict:
    """The fewest corrections at which ``score`` (the model's macro-F1, or the start model's) on
    the remaining statements is at least the lexicon's on them, and the fewest from which it
    stays there (None: never)."""
    scored = [r for r in rounds if r[score] is not None]
    first = next((r["corrections"] for r in scored if r[score] >= r["lexicon_macro_f1"]), None)
    stays = None
    for r in reversed(scored):
        if r[score] < r["lexicon_macro_f1"]:
            break
        stays = r["corrections"]
    return {"first": first, "stays_from": stays}


def curves(orders: dict[str, list[dict]], value) -> str:
    """One row per number of corrections, one column per order (the plots' wide format)."""
    grid = sorted({r["corrections"] for rounds in orders.values() for r in rounds if r["macro_f1"] is not None})
    by = {name: {r["corrections"]: r for r in rounds if r["macro_f1"] is not None} for name, rounds in orders.items()}
    return csv_text([{"corrections": c, **{name: value(by[name][c]) if c in by[name] else "" for name in orders}}
                     for c in grid])


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=10, help="corrections per round")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the random order")
    args = ap.parse_args()
    started, at_start = time.perf_counter(), machine()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = prepare(tmp)
        base = tmp / "model-0"
        retrain(inputs, tmp / "no-corrections", base)
        runs = [(order, None) for order in ORDERS] + [(RANDOM, seed) for seed in args.seeds]
        orders = {}
        for order, seed in runs:
            name = order if seed is None else f"{order}_{seed}"
            (tmp / name).mkdir()
            orders[name] = simulate(inputs, order, tmp / name, base, args.k, seed=seed)
    command = f"python -m bench.annotation --k {args.k} --seeds {' '.join(map(str, args.seeds))}"
    result = {
        "command": command, "machine": at_start, "seconds": round(time.perf_counter() - started, 1),
        "model": inputs.model, "model_from": "params.yaml train.model (auto: evaluate.deploy_by in metrics/stance.json)",
        "training": "labels/authored + the simulated corrections (remiss train --statements <empty file>)",
        "statements": len(inputs.gold), "keys": len(inputs.truth), "k": args.k,
        "reaches_lexicon": {name: reaches_lexicon(rounds) for name, rounds in orders.items()},
        # the same without retraining: what taking the corrected statements out of the scored set does alone
        "start_model_reaches_lexicon": {name: reaches_lexicon(rounds, "start_macro_f1")
                                        for name, rounds in orders.items()},
        "orders": orders,
    }
    atomic_write_text(RESULTS / "annotation.json", json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(RESULTS / "annotation_curve.csv", curves(orders, lambda r: r["macro_f1"]))
    atomic_write_text(RESULTS / "annotation_gap.csv",
                      curves(orders, lambda r: round(r["macro_f1"] - r["lexicon_macro_f1"], 4)))
    atomic_write_text(RESULTS / "annotation_gain.csv",
                      curves(orders, lambda r: round(r["macro_f1"] - r["start_macro_f1"], 4)))
    for name, found in result["reaches_lexicon"].items():
        print(f"{name:12} reaches the lexicon at {found['first']} corrections, stays from {found['stays_from']}")
    print(f"{result['seconds']} s → {(RESULTS / 'annotation.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
