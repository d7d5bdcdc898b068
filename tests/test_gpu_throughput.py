"""bench/gpu_throughput.py cannot rot between the rare runs on a GPU: its --smoke run goes
through the same loader, buckets and model code on the CPU, on a tiny BERT."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_smoke_run_measures_every_batch_size(tiny_bert, tmp_path):
    results = tmp_path / "gpu-throughput.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_throughput.py"), "--smoke", "--input", str(tiny_bert),
                    "--results", str(results)], check=True, capture_output=True, timeout=300)
    result = json.loads(results.read_text(encoding="utf-8"))
    assert result["smoke"] and result["attention"] == "sdpa" and result["pairs"] == 48
    assert set(result["per_batch_size"]) == {"8", "16"}
    assert all(r["pairs_per_s"] > 0 for r in result["per_batch_size"].values())
    assert result["model_only_pairs_per_s_at_best"] > 0 and result["mean_tokens"] <= result["max_length"]


def test_buckets_pad_each_batch_to_its_own_longest():
    sys.path.insert(0, str(ROOT / "bench"))
    from gpu_throughput import buckets

    lengths = [5, 90, 7, 128, 6, 100]
    batches = buckets(lengths, 2)
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert [[lengths[i] for i in b] for b in batches] == [[5, 6], [7, 90], [100, 128]]
