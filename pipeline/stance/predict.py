"""Load a fine-tuned stance model (the output of :func:`pipeline.stance.train.train`) and predict."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

from ..records import LABELS
from .data import Pair, StancePrediction
from .train import TRANSFORMER, encode, read_meta

#: what :meth:`StanceModel.predict` accepts: pairs, or (target text, paragraph text) tuples
PairLike = Union[Pair, tuple[str, str]]


@dataclass
class StanceModel:
    model: object
    tokenizer: object
    meta: dict
    device: str = "cpu"
    batch_size: int = 16
    labels: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        # the label order is the one the model was trained with (stance_meta.json), checked
        # against the model's own config so that a mismatched directory fails loudly
        self.labels = tuple(self.meta["labels"])
        id2label = {int(k): v for k, v in getattr(self.model.config, "id2label", {}).items()}
        if id2label and tuple(id2label[i] for i in range(len(id2label))) != self.labels:
            raise ValueError(f"model config labels {id2label} disagree with stance_meta.json {self.labels}")
        if set(self.labels) != set(LABELS):
            raise ValueError(f"model labels {self.labels} are not {LABELS}")

    @classmethod
    def load(cls, model_dir: Path, device: str | None = None, batch_size: int = 16) -> "StanceModel":
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from .deploy import model_name

        model_dir = Path(model_dir)
        name = model_name(model_dir)
        if name != TRANSFORMER:
            raise ValueError(f"{model_dir}: holds a {name} model, not a fine-tuned transformer")
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(device).eval()
        return cls(model=model, tokenizer=tokenizer, meta=read_meta(model_dir), device=device, batch_size=batch_size)

    @property
    def max_length(self) -> int:
        return int(self.meta["params"]["max_length"])

    def predict(self, items: Sequence[PairLike], batch_size: int | None = None) -> list[StancePrediction]:
        """A label and a probability per label for each item, in input order.

        Items are batched by token length (less padding: on a CPU, padding is most of the
        cost); padding does not change a BERT's output, so the order is not visible in the
        result.
        """
        import torch

        if not items:
            return []
        batch_size = batch_size or self.batch_size
        texts = [item.text_pair if isinstance(item, Pair) else (item[0], item[1]) for item in items]
        encoded = encode(self.tokenizer, [t for t, _ in texts], [p for _, p in texts], self.max_length)
        order = sorted(range(len(texts)), key=lambda i: len(encoded["input_ids"][i]))
        out: list[StancePrediction | None] = [None] * len(texts)
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start: start + batch_size]
                features = [{k: v[i] for k, v in encoded.items()} for i in chunk]
                batch = self.tokenizer.pad(features, return_tensors="pt").to(self.device)
                probs = torch.softmax(self.model(**batch).logits.float(), dim=-1).cpu().tolist()
                for i, row in zip(chunk, probs):
                    by_label = {label: float(p) for label, p in zip(self.labels, row)}
                    out[i] = StancePrediction(max(by_label, key=by_label.get), by_label)
        return out  # type: ignore[return-value]


@dataclass
class TransformerClassifier:
    """The fine-tuned transformer behind the same fit/predict as the baselines; each fit
    trains into ``work_dir`` (a fresh temporary directory when None)."""

    params: object  # TrainParams
    models_dir: Path = Path("models")
    work_dir: Path | None = None
    batch_size: int = 16
    model: StanceModel | None = field(default=None, repr=False)

    def fit(self, pairs: Sequence[Pair]) -> "TransformerClassifier":
        import tempfile

        from .train import train

        if self.work_dir is not None:
            self.model = StanceModel.load(train(pairs, self.params, Path(self.work_dir), self.models_dir))
        else:
            with tempfile.TemporaryDirectory(prefix="stance-") as tmp:
                self.model = StanceModel.load(train(pairs, self.params, Path(tmp) / "model", self.models_dir))
        return self

    def predict(self, pairs: Sequence[Pair]) -> list[StancePrediction]:
        if self.model is None:
            raise RuntimeError("fit the model before predicting")
        return self.model.predict(pairs, batch_size=self.batch_size)


@dataclass
class Inference:
    """A stance model as classify() calls it in `remiss score`, in its precision: on CUDA under
    bf16 (fp16 where bf16 is missing) autocast."""

    model: object  # a StanceModel with its device and batch size, or a fitted baseline
    precision: str  # "fp32", "int8" (CPU), "bf16" or "fp16" (CUDA autocast); "exact" for a baseline
    device: str = "cpu"
    batch_size: int | None = None

    def predict(self, pairs):
        import torch

        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        with torch.autocast("cuda", dtype=dtype) if dtype else contextlib.nullcontext():
            return self.model.predict(pairs)
