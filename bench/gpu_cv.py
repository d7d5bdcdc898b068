"""The transformer's leave-one-response-out CV on a lent GPU (or, slowly, on the CPU here), in
configurations `dvc repro` cannot afford on 2 cores (every layer trained, 256 tokens, more
epochs), scored here by the code that writes metrics/.

    python bench/gpu_cv.py export                                   # here: bench/gpu-input/cv/
    python bench/gpu_cv.py run --variant "freeze_layers=0,…" …      # on the GPU machine
    python bench/gpu_cv.py score --predictions PATH [PATH …]        # here: bench/results/gpu-cv.json

`export` runs :func:`pipeline.evaluate.cross_validate` with a classifier that only records
what each fold fits on and predicts (the held-out response's gold pairs and every pair of its
links), and writes the bundled backbone small enough to travel to a lent GPU machine (64 MiB
may go there; this is about 37 MiB): word-embedding rows that no recorded pair uses set to
zero (never looked up, so training and predictions are those of the full model),
gzip-compressed (the 4-bit weights, dequantized, compress well).
`run` trains each fold's model with :class:`pipeline.stance.transformer.TransformerClassifier`
(the evaluate stage's) per ``--variant`` of params.yaml's train section and writes every
prediction. `score` runs `cross_validate` again with a classifier that replays them, so
statement and document figures come from the same code as metrics/stance.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import cv_inputs, cv_summary, train_variant, write  # noqa: E402
from pipeline.records import atomic_write_text  # noqa: E402
from pipeline.stance.data import Pair, StancePrediction, data_hash, one_hot  # noqa: E402

INPUT = ROOT / "bench" / "gpu-input" / "cv"
FOLDS = "folds.json"
BACKBONE = "backbone.tar.gz"
MODEL = "transformer"


@dataclasses.dataclass
class Recorder:
    """Records a fold: what it is fitted on, what it is asked to predict (answers are discarded)."""

    folds: list

    def fit(self, pairs):
        self.folds.append({"train": [dataclasses.asdict(p) for p in pairs], "predict": []})
        return self

    def predict(self, pairs):
        self.folds[-1]["predict"] += [dataclasses.asdict(p) for p in pairs]
        return [StancePrediction("neutral", one_hot("neutral")) for _ in pairs]


@dataclasses.dataclass
class Replay:
    """Answers each fold with the predictions its GPU-trained model made, in the order the fold
    was recorded: the fold is known by the hash of its training pairs, and each pair's texts
    are checked against the recording."""

    answers: dict  # train data hash → [((target text, second text), StancePrediction)] in recorded order
    queue: list = dataclasses.field(default_factory=list)

    def fit(self, pairs):
        self.queue = list(self.answers[data_hash(pairs)])
        return self

    def predict(self, pairs):
        answered, self.queue = self.queue[: len(pairs)], self.queue[len(pairs):]
        if [texts for texts, _ in answered] != [p.text_pair for p in pairs]:
            raise ValueError("the pairs to predict differ from the recorded fold: export again")
        return [prediction for _, prediction in answered]


def record_folds(gold, extra, links, paragraphs, referral) -> list[dict]:
    """Each fold of the evaluate stage's CV: the pairs it trains on and those it predicts."""
    from pipeline.evaluate import cross_validate

    folds: list = []
    cross_validate(gold, {MODEL: lambda: Recorder(folds)}, links, paragraphs, referral, extra=extra)
    return folds


def run_fold(fold: dict, classifier) -> dict:
    """Fit ``classifier`` on the fold's training pairs; its predictions for the pairs to predict."""
    train = [Pair(**p) for p in fold["train"]]
    started = time.perf_counter()
    predictions = classifier.fit(train).predict([Pair(**p) for p in fold["predict"]])
    return {"train_hash": data_hash(train), "seconds": round(time.perf_counter() - started, 1),
            "predictions": [dataclasses.asdict(p) for p in predictions]}


def replay(folds: list[dict], done: list[dict], gold, extra, links, paragraphs, referral, gold_cells) -> dict:
    """The figures of the CV whose fold models answered as ``done`` records."""
    from pipeline.evaluate import cross_validate

    answers = {}
    for fold, answered in zip(folds, done):
        pairs = [Pair(**p) for p in fold["predict"]]
        answers[answered["train_hash"]] = [(p.text_pair, StancePrediction(**prediction))
                                           for p, prediction in zip(pairs, answered["predictions"])]
    result = cross_validate(gold, {MODEL: lambda: Replay(answers)}, links, paragraphs, referral, extra=extra)
    return cv_summary(result, MODEL, gold_cells, paragraphs, referral)


def export(out: Path, models_dir: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from pipeline.stance.backbones import BUNDLED_E5, resolve_backbone

    folds = record_folds(*lodo_inputs(cv_inputs()[0]))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / FOLDS, json.dumps(folds, ensure_ascii=False))

    source = resolve_backbone(BUNDLED_E5, models_dir)
    tokenizer = AutoTokenizer.from_pretrained(source)
    # as converted, without a pooler: the classifier initialises one, on the GPU as here
    model = AutoModel.from_pretrained(source, add_pooling_layer=False)
    texts = {text for fold in folds for p in (*fold["train"], *fold["predict"])
             for text in Pair(**p).text_pair}
    used = {i for ids in tokenizer(sorted(texts))["input_ids"] for i in ids} | set(tokenizer.all_special_ids)
    embeddings = model.get_input_embeddings().weight
    with torch.no_grad():
        keep = torch.zeros(embeddings.shape[0], dtype=torch.bool)
        keep[sorted(used)] = True
        embeddings[~keep] = 0
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        partial = out / (BACKBONE + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            for path in sorted(Path(tmp).iterdir()):
                tar.add(path, arcname=path.name)
        partial.replace(out / BACKBONE)
    print(f"{len(folds)} folds, {sum(len(f['predict']) for f in folds)} pairs to predict, "
          f"{len(used)} of {embeddings.shape[0]} word embeddings kept → {out} "
          f"({(out / BACKBONE).stat().st_size / 2**20:.1f} MiB backbone)")


def run(input_dir: Path, variants: list[str], out: Path) -> None:
    """Every fold of every variant, writing ``out`` after each fold (a run cut short keeps what
    it finished)."""
    import torch

    from pipeline.stance.transformer import TransformerClassifier

    folds = json.loads((input_dir / FOLDS).read_text(encoding="utf-8"))
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"cpu, {torch.get_num_threads()} threads"
    result = {"device": device, "torch": torch.__version__, "variants": []}
    with tempfile.TemporaryDirectory(prefix="gpu-cv-") as tmp:  # the unpacked backbone is 470 MB
        work = Path(tmp)
        with tarfile.open(input_dir / BACKBONE) as tar:
            tar.extractall(work / "backbone", filter="data")
        for variant in variants:
            params = dataclasses.replace(train_variant(variant), model=MODEL, backbone=str(work / "backbone"))
            entry = {"variant": variant, "params": dataclasses.asdict(params), "folds": []}
            result["variants"].append(entry)
            for fold in folds:
                classifier = TransformerClassifier(params=params, models_dir=work / "models", batch_size=64)
                entry["folds"].append(run_fold(fold, classifier))
                atomic_write_text(out, json.dumps(result) + "\n")
                print(variant, "fold", len(entry["folds"]), entry["folds"][-1]["seconds"], "s", flush=True)


def lodo_inputs(inputs) -> tuple:
    """cv_inputs() as :func:`record_folds` takes them: every fold also learns from the
    authored rows and the corrections."""
    data, links, paragraphs, referral = inputs
    return data.gold, [*data.authored, *data.corrections], links, paragraphs, referral


def score(input_dir: Path, predictions: list[Path]) -> dict:
    """Every complete variant in the ``run`` outputs ``predictions``, with the device it ran on."""
    raw, gold_cells = cv_inputs()
    inputs = lodo_inputs(raw)
    folds = json.loads((input_dir / FOLDS).read_text(encoding="utf-8"))
    runs = []
    for path in predictions:
        ran = json.loads(path.read_text(encoding="utf-8"))
        for entry in ran["variants"]:
            if len(entry["folds"]) < len(folds):
                print(f"{path}, {entry['variant']}: {len(entry['folds'])} of {len(folds)} folds ran, not scored")
                continue
            summary = replay(folds, entry["folds"], *inputs, gold_cells)
            runs.append({"variant": entry["variant"] or "params.yaml", **summary,
                         "cv_seconds": round(sum(f["seconds"] for f in entry["folds"]), 1),
                         "device": ran["device"], "torch": ran["torch"]})
            print(runs[-1], flush=True)
    return {"statements": len(inputs[0]), "backbone": "bundled multilingual-e5-small (unused word embeddings zeroed)",
            "runs": runs}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", type=Path, default=INPUT)
    sub = p.add_subparsers(dest="what", required=True)
    e = sub.add_parser("export")
    e.add_argument("--models-dir", type=Path, default=ROOT / "models")
    r = sub.add_parser("run")
    r.add_argument("--variant", action="append", required=True,
                   help='train params to change, "key=value,key=value" ("" = params.yaml as is)')
    r.add_argument("--out", type=Path, required=True, help="the predictions' JSON file")
    s = sub.add_parser("score")
    s.add_argument("--predictions", type=Path, nargs="+", required=True, help="run outputs, scored in order")
    s.add_argument("--results", default="gpu-cv.json", help="file name under bench/results/")
    args = p.parse_args()
    if args.what == "export":
        export(args.input, args.models_dir)
    elif args.what == "run":
        run(args.input, args.variant, args.out)
    else:
        write(args.results, score(args.input, args.predictions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
