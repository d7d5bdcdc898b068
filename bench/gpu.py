"""GPU inference speed of the stance transformer: pairs/s per batch size, bf16 autocast and fp32.

    python bench/gpu.py export [--model models/stance-transformer]     # here: writes bench/gpu-input/
    python bench/gpu.py run [--pairs 5600]                             # on the GPU machine

`export` writes the corpus's linked (target, paragraph) pairs and the fine-tuned model's
config and tokenizer, without its weights: speed does not depend on the weights' values, and
the 470 MB checkpoint does not fit in what travels to a lent GPU machine (64 MiB). `run`
builds the same architecture from config.json with random weights and times
:class:`pipeline.stance.transformer.Inference` (what `remiss score` calls: length-sorted batches,
bf16 autocast on CUDA) on the pairs repeated to ``--pairs``, the volume of a batch-scoring
job; tokenisation is inside the timing, as it is in `remiss score`. It writes
bench/results/gpu.json, or --results.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INPUT = ROOT / "bench" / "gpu-input"
#: the model files that are not weights
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "stance_meta.json")


def export(model_dir: Path, out: Path) -> None:
    from bench.run import corpus
    from pipeline.stance.data import link_pairs

    referral, paragraphs, links = corpus()
    pairs = link_pairs(links, paragraphs, referral)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pairs.json").write_text(json.dumps([list(p.text_pair) for p in pairs], ensure_ascii=False), encoding="utf-8")
    for name in MODEL_FILES:
        if (model_dir / name).exists():
            shutil.copy(model_dir / name, out / name)
    print(f"{len(pairs)} pairs and {model_dir}'s config and tokenizer → {out}")


def run(input_dir: Path, n_pairs: int, batch_sizes: list[int], repeats: int) -> dict:
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from pipeline.stance.meta import read_meta
    from pipeline.stance.transformer import Inference, StanceModel, encode

    if not torch.cuda.is_available():
        raise SystemExit("bench/gpu.py run: no CUDA device")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(input_dir)).to("cuda").eval()
    stance = StanceModel(model=model, tokenizer=AutoTokenizer.from_pretrained(input_dir), meta=read_meta(input_dir),
                         device="cuda")
    corpus = [tuple(p) for p in json.loads((input_dir / "pairs.json").read_text(encoding="utf-8"))]
    pairs = (corpus * math.ceil(n_pairs / len(corpus)))[:n_pairs]
    started = time.perf_counter()
    encode(stance.tokenizer, [t for t, _ in pairs], [s for _, s in pairs], stance.max_length)
    tokenize_seconds = time.perf_counter() - started  # on the CPU, inside every predict call
    autocast = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    throughput: dict[str, dict[str, float]] = {}
    for precision in (autocast, "fp32"):
        throughput[precision] = {}
        for size in batch_sizes:
            stance.batch_size = size
            inference = Inference(stance, precision, "cuda", size)
            inference.predict(pairs[: size * 4])  # warm-up: kernels and allocator for this shape
            runs = []
            for _ in range(repeats):
                torch.cuda.synchronize()
                started = time.perf_counter()
                inference.predict(pairs)  # returns lists on the host: the GPU has finished
                runs.append(time.perf_counter() - started)
            throughput[precision][str(size)] = round(len(pairs) / statistics.median(runs), 1)
            print(precision, size, throughput[precision][str(size)], "pairs/s", flush=True)
    best = {p: max(t, key=t.get) for p, t in throughput.items()}
    return {
        "gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "python": platform.python_version(),
        "model": read_meta(input_dir)["backbone"], "max_length": stance.max_length, "weights": "random (same architecture)",
        "pairs": len(pairs), "corpus_pairs": len(corpus), "repeats": repeats,
        "tokenize_pairs_per_second": round(len(pairs) / tokenize_seconds, 1),
        "pairs_per_second": throughput,
        "best_batch_size": best, "best_pairs_per_second": {p: throughput[p][b] for p, b in best.items()},
        "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    e = sub.add_parser("export")
    e.add_argument("--model", type=Path, default=ROOT / "models" / "stance-transformer")
    e.add_argument("--out", type=Path, default=INPUT)
    r = sub.add_parser("run")
    r.add_argument("--input", type=Path, default=INPUT)
    r.add_argument("--pairs", type=int, default=5600)
    r.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256])
    r.add_argument("--repeats", type=int, default=3)
    r.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "gpu.json")
    args = p.parse_args()
    if args.what == "export":
        export(args.model, args.out)
        return 0
    result = run(args.input, args.pairs, args.batch_sizes, args.repeats)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
