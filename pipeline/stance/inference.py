"""A saved stance model loaded for inference, the one way ``remiss classify`` (and so ``dvc
repro``) and ``remiss score`` load it: on a device, in a precision (CUDA: bf16 autocast, fp16
where bf16 is missing; CPU: fp32, or int8 on request), with one batch size."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..params import positive
from .transformer import Inference

#: pairs a forward pass; length-sorted, so the padding a batch adds stays small
DEFAULT_BATCH_SIZE = 32
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


def model_args(p: argparse.ArgumentParser) -> None:
    """The model options of every command that runs a saved model, so they load it alike."""
    p.add_argument("--model", type=Path, default=Path("models/stance"), help="a trained stance model (remiss train)")
    p.add_argument("--trust-model", action="store_true",
                   help="also load a pickled model (an older baseline, SetFit's own head): it runs code, so only "
                        "from a source you trust")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: CUDA (bf16/fp16 autocast) if available, else CPU")
    p.add_argument("--cpu-path", choices=("plain", "int8"), default=DEFAULT_CPU_PATH,
                   help=f"CPU inference: fp32, or dynamic int8 quantisation of the linear layers "
                        f"(default {DEFAULT_CPU_PATH}; see bench/results/score.md)")
    p.add_argument("--batch-size", type=positive, default=DEFAULT_BATCH_SIZE, help="pairs per forward pass")


def load_from_args(args: argparse.Namespace) -> Inference:
    return load_inference(args.model, args.device, args.cpu_path, args.batch_size, args.trust_model)
