"""GPU throughput of the stance transformer (e5-small) with tokenisation off the critical path:
pairs/s per batch size at 128 tokens, and the GPU's utilisation while it runs (issue 18 part 4).

    python bench/gpu.py export                      # here: config, tokenizer and pairs → bench/gpu-input/
    python bench/gpu_throughput.py                  # on the GPU machine, one call (< 8 min on an H100)
    python bench/gpu_throughput.py --smoke          # anywhere, in seconds: the same code on a few pairs

What differs from bench/gpu.py (which times `remiss score`'s own Inference, tokenising in the
loop): pairs are tokenised in DataLoader worker processes while the GPU runs the previous
batches, into pinned memory, copied with ``non_blocking``; batches are length-bucketed (pairs
sorted by length, so a batch pads to its own longest); the model runs SDPA attention under bf16
autocast (and, once, with bf16 weights); the probabilities stay on the GPU until the end, so no
batch waits for a copy back. The weights are random (the architecture from config.json): speed
does not depend on their values. Utilisation is sampled every 0.1 s with NVML (pynvml) or
nvidia-smi. Writes bench/results/gpu-throughput.json (--results).
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INPUT = ROOT / "bench" / "gpu-input"
BATCH_SIZES = (32, 64, 128, 256, 512, 1024)


def load_pairs(input_dir: Path) -> list[tuple[str, str]]:
    """The corpus's linked (target, window) pairs bench/gpu.py exported; else (no export) each
    response paragraph against the next one, which is as long as a real pair."""
    exported = input_dir / "pairs.json"
    if exported.exists():
        return [tuple(p) for p in json.loads(exported.read_text(encoding="utf-8"))]
    paragraphs = [" ".join(block.split()) for path in sorted((ROOT / "corpus" / "responses").glob("*.txt"))
                  for block in path.read_text(encoding="utf-8").split("\n\n") if len(block.split()) > 5]
    return list(zip(paragraphs[1:], paragraphs))


class Tokenise:
    """The collate function, run in the DataLoader's workers: a batch of pairs → padded tensors."""

    def __init__(self, tokenizer, max_length: int):
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, batch: list[tuple[str, str]]):
        return self.tokenizer([t for t, _ in batch], [p for _, p in batch], truncation="longest_first",
                              max_length=self.max_length, padding="longest", return_tensors="pt")


def buckets(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices sorted by length, cut into batches: each batch pads only to its own longest pair."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i: i + batch_size] for i in range(0, len(order), batch_size)]


class Utilisation:
    """GPU utilisation (%) and memory in use, sampled every ``every`` s while the block runs."""

    def __init__(self, device: str, every: float = 0.1):
        self.device, self.every, self.samples = device, every, []
        self._stop = threading.Event()

    def _nvml(self):
        try:
            import pynvml
        except ImportError:
            return None
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        return lambda: (pynvml.nvmlDeviceGetUtilizationRates(handle).gpu,
                        pynvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20)

    def _smi(self):
        if not shutil.which("nvidia-smi"):
            return None

        def read():
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits",
                                  "-i", "0"], capture_output=True, text=True, check=True).stdout
            util, memory = out.strip().splitlines()[0].split(",")
            return float(util), float(memory)
        return read

    def _run(self, read) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(read())

    def __enter__(self) -> "Utilisation":
        read = (self._nvml() or self._smi()) if self.device == "cuda" else None
        self._thread = threading.Thread(target=self._run, args=(read,), daemon=True) if read else None
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def summary(self) -> dict | None:
        if not self.samples:
            return None
        utils = [u for u, _ in self.samples]
        return {"mean_percent": round(sum(utils) / len(utils), 1), "min_percent": min(utils),
                "samples": len(utils), "max_memory_mb": round(max(m for _, m in self.samples))}


def throughput(model, loader, device: str, dtype, repeats: int = 1) -> float:
    """Pairs/s over ``repeats`` passes of ``loader``: tokenised by its workers, copied without
    blocking, probabilities gathered on the device and brought back once at the end."""
    import torch

    pairs, started = 0, time.perf_counter()
    for _ in range(repeats):
        probs = []
        with torch.inference_mode(), torch.autocast(device, dtype=dtype, enabled=dtype is not None):
            for batch in loader:
                batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
                probs.append(torch.softmax(model(**batch).logits.float(), dim=-1))
                pairs += len(batch["input_ids"])
        torch.cat(probs).cpu()  # the only wait for the device
    return pairs / (time.perf_counter() - started)


def run(args: argparse.Namespace) -> dict:
    import torch
    from torch.utils.data import DataLoader
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if not args.smoke and device != "cuda":
        raise SystemExit("bench/gpu_throughput.py: no CUDA device (--smoke runs the same code on the CPU)")
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(args.input)
    config.num_labels = 4
    model = AutoModelForSequenceClassification.from_config(config, attn_implementation="sdpa").to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.input)
    corpus = load_pairs(args.input)
    pairs = (corpus * math.ceil(args.pairs / len(corpus)))[: args.pairs]
    tokenise = Tokenise(tokenizer, args.max_length)
    started = time.perf_counter()
    lengths = [len(ids) for ids in tokenizer([t for t, _ in pairs], [p for _, p in pairs], truncation="longest_first",
                                             max_length=args.max_length)["input_ids"]]
    tokenise_per_s = len(pairs) / (time.perf_counter() - started)  # one process, for comparison with the workers
    autocast = (torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else
                torch.float16 if device == "cuda" else None)

    def loader(batch_size: int) -> DataLoader:
        return DataLoader(pairs, batch_sampler=buckets(lengths, batch_size), collate_fn=tokenise,
                          num_workers=args.workers, pin_memory=device == "cuda",
                          prefetch_factor=4 if args.workers else None, persistent_workers=False)

    per_batch: dict[str, dict] = {}
    for size in args.batch_sizes:
        warm = DataLoader(pairs[: size * 2], batch_size=size, collate_fn=tokenise)
        throughput(model, warm, device, autocast)  # kernels and the allocator for this shape
        with Utilisation(device) as gpu:
            rate = throughput(model, loader(size), device, autocast, args.repeats)
        per_batch[str(size)] = {"pairs_per_s": round(rate, 1), "gpu_utilisation": gpu.summary()}
        print(f"batch {size}: {rate:,.0f} pairs/s, utilisation {gpu.summary()}", flush=True)
    best = max(per_batch, key=lambda k: per_batch[k]["pairs_per_s"])
    # the model alone on pre-tokenised batches already on the device: what the loader must keep up with
    resident = [{k: v.to(device) for k, v in tokenise([pairs[i] for i in chunk]).items()}
                for chunk in buckets(lengths, int(best))]
    model_only = throughput(model, resident, device, autocast, args.repeats)
    weights = {"dtype": None, "pairs_per_s": None}
    if device == "cuda":
        bf16_model = model.to(torch.bfloat16)
        weights = {"dtype": "bfloat16", "pairs_per_s": round(throughput(bf16_model, loader(int(best)), device, None,
                                                                         args.repeats), 1)}
    return {
        "device": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__, "python": platform.python_version(), "smoke": args.smoke,
        "architecture": {k: getattr(config, k) for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                                          "vocab_size")},
        "weights": "random (the architecture of config.json)", "attention": model.config._attn_implementation,
        "autocast": str(autocast).replace("torch.", "") if autocast else None, "max_length": args.max_length,
        "pairs": len(pairs), "corpus_pairs": len(corpus), "mean_tokens": round(sum(lengths) / len(lengths), 1),
        "loader_workers": args.workers, "repeats": args.repeats,
        "tokenise_pairs_per_s_one_process": round(tokenise_per_s, 1),
        "per_batch_size": per_batch, "best_batch_size": int(best),
        "best_pairs_per_s": per_batch[best]["pairs_per_s"],
        "model_only_pairs_per_s_at_best": round(model_only, 1),
        "bf16_weights_at_best": weights,
        "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20) if device == "cuda" else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", type=Path, default=INPUT, help="config.json and tokenizer (bench/gpu.py export)")
    p.add_argument("--pairs", type=int, default=60000, help="pairs per pass (the corpus's, repeated)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--workers", type=int, default=6, help="DataLoader processes tokenising ahead of the GPU")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--smoke", action="store_true", help="a few pairs and small batches, on the CPU if no GPU")
    p.add_argument("--results", type=Path, default=None,
                   help="default bench/results/gpu-throughput.json (a smoke run writes nothing unless given)")
    args = p.parse_args(argv)
    if args.smoke:
        args.pairs, args.batch_sizes, args.workers, args.repeats = 48, [8, 16], min(args.workers, 1), 1
    result = run(args)
    results = args.results or (None if args.smoke else ROOT / "bench" / "results" / "gpu-throughput.json")
    if results:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
