"""The stance model as ``remiss score`` runs it: loaded for a device and a CPU path, applied
to one document at a time."""
from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path

from ..aggregate import aggregate
from ..classify import classify
from ..registry import Referral
from ..stance.transformer import Inference
from .documents import Job, Prepared, Problem, Scored

log = logging.getLogger("remiss")

#: fp32 on a CPU unless asked for int8: on 2 cores int8 ran the fine-tuned e5-small 1.7× faster
#: (19.6 vs 11.5 pairs/s) but changed 2% of the labels (1745/1780 the same; bench/results/score.md)
DEFAULT_CPU_PATH = "plain"


def resolve_device(device: str) -> str:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available (use --device auto or cpu)")
    return "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"


def quantize(model):
    """Dynamic int8 quantisation of every nn.Linear: int8 weights per output channel,
    activations quantised per batch. Per channel because per-tensor weights flipped twice as
    many labels of the fine-tuned e5-small (91% vs 96% agreement with fp32 on the corpus)."""
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (UserWarning, DeprecationWarning))  # torch points to torchao; this still works
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def load_inference(model_dir: Path, device: str, cpu_path: str, batch_size: int, trust: bool = False) -> Inference:
    import torch

    from ..stance.models import load, model_name
    from ..stance.transformer import TRANSFORMER, StanceModel

    name = model_name(model_dir)
    if name != TRANSFORMER:
        if cpu_path == "int8":
            raise ValueError(f"--cpu-path int8 quantises a transformer; {model_dir} holds a {name} model")
        return Inference(load(model_dir, trust=trust), "exact")
    device = resolve_device(device)
    model = StanceModel.load(model_dir, device=device, batch_size=batch_size)
    if device == "cuda":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    elif cpu_path == "int8":
        model.model = quantize(model.model)
        precision = "int8"
    else:
        precision = "fp32"
    return Inference(model, precision, device, batch_size)


def score_document(prepared: Prepared, job: Job, referral: Referral,
                   inference: Inference) -> tuple[Scored | Problem, float]:
    """One document's stances and cells, and the seconds it took; a failure (out of GPU memory
    on one huge document) is a Problem naming the file, so the others go on.

    Its pairs are batched only with each other (StanceModel.predict sorts them by length):
    its probabilities never depend on which other documents were in flight, which is what
    makes a resumed run, and one on another engine, byte-identical to an uninterrupted one."""
    started = time.perf_counter()
    try:
        predictions = classify(prepared.links, prepared.paragraphs, referral, inference)
        cells, other_voices = aggregate(predictions, prepared.paragraphs, referral)
    except Exception as err:
        log.debug("%s", traceback.format_exc())
        return Problem(str(job.path), "error", f"failed while classifying ({type(err).__name__}: {err})"), 0.0
    return (Scored(job.doc, prepared.paragraphs, prepared.links, predictions, cells, other_voices, prepared.warnings),
            time.perf_counter() - started)
