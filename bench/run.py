"""Benchmarks of the stance model and the pipeline, written to bench/results/ as JSON.

    python bench/run.py stance   # CPU pairs/s at the corpus's paragraph lengths, training s/epoch
    python bench/run.py repro    # wall time of `dvc repro` in a fresh clone (offline, from scratch)
    python bench/run.py          # both
    python bench/run.py ablate --ablate-model transformer --protocol unseen --variant max_pairs=0
                                 # one model under the evaluate stage's protocols (default both) with
                                 # params.yaml's train section changed as given, one run per --variant

Numbers depend on the machine: each file records the CPU count and torch threads used.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.records import Link, Paragraph, atomic_write_text, read_jsonl  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def machine() -> dict:
    import torch

    return {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "processor": platform.processor() or platform.machine()}


def write(name: str, data: dict) -> Path:
    path = RESULTS / name
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    print(f"→ {path.relative_to(ROOT)}")
    return path


def bench_stance(model_dir: Path, batch_sizes: list[int], repeats: int) -> dict:
    """Pairs/s over every linked pair of the corpus (the lengths the pipeline really sees),
    per batch size, and the training time per epoch recorded by `remiss train`."""
    from pipeline.stance.data import link_pairs
    from pipeline.stance.meta import read_meta
    from pipeline.stance.transformer import StanceModel, encode

    referral, paragraphs, links = corpus()
    pairs = link_pairs(links, paragraphs, referral)
    model = StanceModel.load(model_dir, device="cpu")
    lengths = [len(ids) for ids in encode(model.tokenizer, [p.target_text for p in pairs],
                                          [p.second_text for p in pairs], model.max_length)["input_ids"]]
    throughput = {}
    model.predict(pairs[:8])  # warm-up: first call allocates
    for size in batch_sizes:
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            model.predict(pairs, batch_size=size)
            runs.append(time.perf_counter() - started)
        throughput[str(size)] = round(len(pairs) / statistics.median(runs), 2)
    meta = read_meta(model_dir)
    epochs = [e["seconds"] for e in meta["epochs"]]
    return {
        "model": str(model_dir.relative_to(ROOT)) if model_dir.is_relative_to(ROOT) else str(model_dir),
        "backbone": meta["backbone"], "machine": machine(),
        "pairs": len(pairs),
        "tokens_per_pair": {"median": statistics.median(lengths), "max": max(lengths), "truncated_at": model.max_length},
        "cpu_pairs_per_second_by_batch_size": throughput,
        "best_cpu_pairs_per_second": max(throughput.values()),
        "training": {"pairs": meta["n_pairs"], "epochs": len(epochs), "device": meta["device"],
                     "seconds_per_epoch_median": round(statistics.median(epochs), 2) if epochs else None,
                     "train_seconds": meta["train_seconds"]},
    }


def corpus():
    """The bundled corpus as `dvc repro` left it: params.yaml's referral, data/paragraphs.jsonl
    and data/links.jsonl."""
    import yaml

    from pipeline.referral import load_referral

    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    return (load_referral(ROOT / params["referral"]), read_jsonl(ROOT / "data" / "paragraphs.jsonl", Paragraph),
            read_jsonl(ROOT / "data" / "links.jsonl", Link))


def cv_inputs():
    """What the evaluate stage evaluates on: the training data (gold, corrections, authored),
    links, paragraphs and referral, and the gold document cells."""
    from pipeline.gold import load_document_cells
    from pipeline.stance.train import training_data

    referral, paragraphs, links = corpus()
    data = training_data(ROOT / "labels/gold/statements.yaml", ROOT / "labels/corrections", ROOT / "labels/authored",
                         paragraphs, referral)
    return (data, links, paragraphs, referral), load_document_cells(ROOT / "labels/gold/documents.yaml")


def bench_repro() -> dict:
    """`dvc repro --force` from a fresh clone of HEAD (every stage run, backbone conversion
    included), in the current environment, with no network."""
    with tempfile.TemporaryDirectory(prefix="remiss-repro-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        started = time.perf_counter()
        # --force: a clone holds the committed metrics/, which match dvc.lock, so a plain
        # `dvc repro` would skip the evaluate stage (the longest) once data/ is rebuilt
        done = subprocess.run(["dvc", "repro", "--force"], cwd=clone, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(f"dvc repro failed in {clone}:\n{done.stderr[-3000:]}")
        stages = [line for line in done.stdout.splitlines() if line.startswith("Running stage")]
    return {"seconds": round(seconds, 1), "minutes": round(seconds / 60, 2), "stages": len(stages),
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip(),
            "machine": machine()}


def train_variant(overrides: str):
    """params.yaml's train section with "key=value,key=value" applied, each value parsed as its
    field's type."""
    import dataclasses

    from pipeline.params import load_section
    from pipeline.stance.params import TrainParams

    params = load_section(ROOT / "params.yaml", "train", TrainParams)
    for item in filter(None, overrides.split(",")):
        key, _, value = item.partition("=")
        if not hasattr(params, key):
            raise SystemExit(f"--variant {overrides}: TrainParams has no field {key!r}")
        kind = type(getattr(params, key))
        params = dataclasses.replace(params, **{key: value.lower() == "true" if kind is bool else kind(value)})
    return params


def cv_summary(result, model: str, gold_cells, paragraphs, referral) -> dict:
    """One model's figures from a :func:`pipeline.evaluate.cross_validate` result: statement
    macro-F1 and accuracy, document-cell accuracy, and how often it predicted each label."""
    from pipeline.evaluate import document_cells, document_metrics, statement_metrics

    statement = statement_metrics(result.rows)[model]
    cells = document_metrics(document_cells(result.link_predictions[model], paragraphs, referral), gold_cells)
    return {"macro_f1": statement["macro_f1"], "accuracy": statement["accuracy"], "doc_cell_accuracy": cells["accuracy"],
            "predicted": {label: sum(r.pred == label for r in result.rows if r.model == model)
                          for label in statement["per_class"]}}


def bench_ablate(model: str, variants: list[str], protocols: list[str]) -> dict:
    """The evaluate stage's protocols for one model under each variant of the train params:
    seed LODO (statement macro-F1, document cells) and/or the unseen referral."""
    from pipeline.evaluate import cross_validate, document_cells, document_metrics, statement_metrics, unseen_referral
    from pipeline.stance.models import create

    (data, links, paragraphs, referral), gold_cells = cv_inputs()
    runs = []
    for variant in variants:
        train = train_variant(variant)
        factory = {model: lambda: create(model, train, ROOT / "models")}
        run: dict = {"variant": variant or "params.yaml"}
        for protocol in protocols:
            if protocol == "lodo":
                result = cross_validate(data.gold, factory, links, paragraphs, referral,
                                        extra=[*data.authored, *data.corrections])
                cells = document_metrics(document_cells(result.link_predictions[model], paragraphs, referral), gold_cells)
            else:
                result, cells = unseen_referral(data.gold, factory, data.authored), {}
            figures = statement_metrics(result.rows)[model]
            run[protocol] = {**{k: figures[k] for k in ("macro_f1", "macro_f1_ci95", "accuracy")},
                             "f1": {label: v["f1"] for label, v in figures["per_class"].items()},
                             **({"doc_cell_accuracy": cells["accuracy"]} if cells else {}),
                             "seconds": result.seconds[model]}
        runs.append(run)
        print(runs[-1], flush=True)
    return {"model": model, "statements": len(data.gold), "authored": len(data.authored), "runs": runs,
            "machine": machine()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", choices=["stance", "repro", "ablate"], default=["stance", "repro"])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "stance-transformer")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 16, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variant", action="append", default=None,
                        help='ablate: train params to change, "key=value,key=value" ("" = params.yaml as is)')
    parser.add_argument("--ablate-model", default="transformer", help="ablate: the stance model to evaluate")
    parser.add_argument("--protocol", action="append", choices=["lodo", "unseen"], default=None,
                        help="ablate: the evaluate stage's protocols to run (default: both)")
    args = parser.parse_args()
    if "stance" in args.what:
        from pipeline.stance.models import model_name
        from pipeline.stance.transformer import TRANSFORMER

        if not (args.model / "stance_meta.json").exists() or model_name(args.model) != TRANSFORMER:
            raise SystemExit(f"{args.model}: no fine-tuned transformer; `make bench` fits one into "
                             f"models/stance-transformer (remiss train --model transformer)")
        write("stance.json", bench_stance(args.model, args.batch_sizes, args.repeats))
    if "repro" in args.what:
        if shutil.which("dvc") is None:
            raise SystemExit("dvc not on PATH: run inside the project's virtualenv (make bench)")
        write("repro.json", bench_repro())
    if "ablate" in args.what:
        write(f"ablation-{args.ablate_model}.json",
              bench_ablate(args.ablate_model, args.variant or [""], args.protocol or ["lodo", "unseen"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
