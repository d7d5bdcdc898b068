"""``stance_meta.json``: what every saved stance model directory says about itself."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Sequence

from ..records import LABELS, atomic_write_text
from .data import Pair, data_hash

META_FILE = "stance_meta.json"


def write_meta(model_dir: Path, model: str, pairs: Sequence[Pair], **details) -> None:
    """``stance_meta.json``: the model's name, its labels, what it was trained on, and ``details``."""
    meta = {"model": model, "labels": list(LABELS), "data_hash": data_hash(pairs), "n_pairs": len(pairs),
            "label_counts": dict(Counter(p.label for p in pairs)), **details}
    atomic_write_text(Path(model_dir) / META_FILE, json.dumps(meta, ensure_ascii=False, indent=1) + "\n")


def read_meta(model_dir: Path) -> dict:
    path = Path(model_dir) / META_FILE
    if not path.exists():
        raise FileNotFoundError(f"{model_dir}: not a stance model (no {META_FILE}); run `remiss train`")
    return json.loads(path.read_text(encoding="utf-8"))
