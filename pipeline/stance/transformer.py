"""``transformer``: a BERT-style encoder fine-tuned on (target, passage) pairs.

transformers' Trainer with class-weighted cross-entropy; the same code trains the bundled
multilingual-e5-small on a 2-core CPU, KB-BERT on a GPU and the tiny random BERT of the
tests, only :class:`~.params.TrainParams` differs. A saved model is the ``save_pretrained``
model and tokenizer plus ``stance_meta.json`` (label map, backbone, data hash, params, timings).
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

from ..records import LABELS, directory_in_place
from .data import Pair, StancePrediction, check_fitted, check_labels
from .meta import read_meta, write_meta
from .params import TrainParams

log = logging.getLogger(__name__)

#: the fine-tuned transformer's name in the model registry
TRANSFORMER = "transformer"


def class_weights(labels: Sequence[str]) -> list[float]:
    """Inverse-frequency weights in LABELS order ("balanced": n / (classes present × count));
    a label absent from training gets 1.0, which has no effect as no example carries it."""
    counts = Counter(labels)
    present = sum(1 for label in LABELS if counts[label])
    return [len(labels) / (present * counts[label]) if counts[label] else 1.0 for label in LABELS]


def _device_precision() -> dict:
    """fp32 on CPU; on CUDA bf16 where the GPU has it, else fp16."""
    import torch

    if not torch.cuda.is_available():
        return {"use_cpu": True, "bf16": False, "fp16": False}
    bf16 = torch.cuda.is_bf16_supported()
    return {"use_cpu": False, "bf16": bf16, "fp16": not bf16}


def encode(tokenizer, firsts: Sequence[str], seconds: Sequence[str], max_length: int) -> dict:
    """Tokenise pairs the one way training and prediction share. "longest_first" cuts the
    paragraph's tail (the longer segment) and only touches the target if it alone is too long."""
    return tokenizer(list(firsts), list(seconds), truncation="longest_first", max_length=max_length)


def _make_trainer_class():
    import torch
    from transformers import Trainer, TrainerCallback

    class WeightedLossTrainer(Trainer):
        """Cross-entropy with class weights: support outnumbers hesitant five to one."""

        # the loss below is a per-batch mean; let Trainer scale it for gradient accumulation
        loss_is_scaled_for_ga = False

        def __init__(self, *args, class_weight: torch.Tensor, **kwargs):
            super().__init__(*args, **kwargs)
            self.class_weight = class_weight

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs.logits.float()
            loss = torch.nn.functional.cross_entropy(logits, labels, weight=self.class_weight.to(logits.device))
            return (loss, outputs) if return_outputs else loss

    class EpochLog(TrainerCallback):
        """Seconds and mean training loss of every epoch, for stance_meta.json."""

        def __init__(self):
            self.epochs: list[dict] = []
            self._start = 0.0

        def on_epoch_begin(self, args, state, control, **kwargs):
            self._start = time.perf_counter()

        def on_epoch_end(self, args, state, control, **kwargs):
            self.epochs.append({"epoch": len(self.epochs) + 1, "seconds": round(time.perf_counter() - self._start, 3)})

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs and self.epochs:
                self.epochs[-1].setdefault("loss", round(float(logs["loss"]), 6))

    return WeightedLossTrainer, EpochLog


def train(pairs: Sequence[Pair], params: TrainParams, out_dir: Path, models_dir: Path = Path("models")) -> Path:
    """Fine-tune ``params.backbone`` on ``pairs`` and save it to ``out_dir``.

    Training happens in a temporary sibling of ``out_dir`` that replaces it only when
    complete, so a crash leaves the previous model in place. Returns ``out_dir``.
    """
    import torch
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, TrainingArguments, set_seed

    from .backbones import freeze, load_sequence_classifier, load_tokenizer

    labels = check_labels(pairs)
    out_dir = Path(out_dir)
    set_seed(params.seed)

    tokenizer = load_tokenizer(params.backbone, models_dir=models_dir)
    model = load_sequence_classifier(params.backbone, list(LABELS), models_dir=models_dir)
    freeze(model, params.freeze_embeddings, params.freeze_layers)
    label_id = {label: i for i, label in enumerate(LABELS)}
    dataset = Dataset.from_dict({
        "first": [p.target_text for p in pairs], "second": [p.second_text for p in pairs],
        "labels": [label_id[label] for label in labels],
    }).map(lambda batch: encode(tokenizer, batch["first"], batch["second"], params.max_length),
           batched=True, remove_columns=["first", "second"])

    with directory_in_place(out_dir) as tmp:
        args = TrainingArguments(
            output_dir=str(tmp / "trainer"), num_train_epochs=params.epochs,
            per_device_train_batch_size=params.batch_size, learning_rate=params.learning_rate,
            weight_decay=params.weight_decay, warmup_steps=params.warmup_ratio, lr_scheduler_type="linear",
            seed=params.seed, data_seed=params.seed, save_strategy="no", eval_strategy="no",
            logging_strategy="epoch", report_to="none", disable_tqdm=True, dataloader_num_workers=0,
            **_device_precision(),
        )
        trainer_class, epoch_log_class = _make_trainer_class()
        epoch_log = epoch_log_class()
        trainer = trainer_class(
            model=model, args=args, train_dataset=dataset, data_collator=DataCollatorWithPadding(tokenizer),
            callbacks=[epoch_log], class_weight=torch.tensor(class_weights(labels), dtype=torch.float32),
        )
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
        shutil.rmtree(tmp / "trainer", ignore_errors=True)

        model = trainer.model.to("cpu").float().eval()
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_meta(tmp, TRANSFORMER, pairs, label2id=label_id, backbone=params.backbone,
                   class_weights=dict(zip(LABELS, class_weights(labels))), params=dataclasses.asdict(params),
                   epochs=epoch_log.epochs, train_seconds=round(seconds, 3),
                   device="cuda" if torch.cuda.is_available() else "cpu")
    log.info("trained %s on %d pairs in %.0f s → %s", params.backbone, len(pairs), seconds, out_dir)
    return out_dir


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

        model_dir = Path(model_dir)
        name = read_meta(model_dir)["model"]
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
    """The fine-tuned transformer behind the registry's fit/predict/save/load; each fit trains
    in a fresh temporary directory and keeps the model in memory (``model_``)."""

    name = TRANSFORMER

    params: TrainParams = field(default_factory=TrainParams)
    models_dir: Path = Path("models")
    batch_size: int = 16
    model_: StanceModel | None = field(default=None, repr=False)

    @classmethod
    def from_params(cls, params: TrainParams, models_dir: Path) -> "TransformerClassifier":
        return cls(params=params, models_dir=Path(models_dir))

    def fit(self, pairs: Sequence[Pair]) -> "TransformerClassifier":
        from .authored import within_budget

        pairs = within_budget(pairs, self.params.max_pairs, self.params.seed)
        with tempfile.TemporaryDirectory(prefix="stance-") as tmp:
            self.model_ = StanceModel.load(train(pairs, self.params, Path(tmp) / "model", self.models_dir),
                                           batch_size=self.batch_size)
        return self

    def predict(self, pairs: Sequence[Pair]) -> list[StancePrediction]:
        check_fitted(self)
        return self.model_.predict(pairs, batch_size=self.batch_size)

    def save(self, directory: Path) -> None:
        check_fitted(self)
        self.model_.model.to("cpu").save_pretrained(directory)
        self.model_.tokenizer.save_pretrained(directory)

    def details(self) -> dict:
        """What stance_meta.json says of the training beyond the data (backbone, params, timings)."""
        generic = {"model", "labels", "data_hash", "n_pairs", "label_counts"}
        return {k: v for k, v in self.model_.meta.items() if k not in generic} if self.model_ else {}

    @classmethod
    def load(cls, directory: Path, device: str | None = None, batch_size: int = 16, **_) -> StanceModel:
        # safetensors weights and JSON tokenizer files: nothing in the directory runs code
        return StanceModel.load(directory, device=device, batch_size=batch_size)


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
