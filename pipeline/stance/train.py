"""Fine-tune a transformer on (target, paragraph) pairs: transformers' Trainer, class-weighted loss.

The same code trains the bundled multilingual-e5-small on a 2-core CPU, KB-BERT on a GPU and
the tiny random BERT of the tests; only :class:`TrainParams` differs. The output directory is
what :class:`pipeline.stance.predict.StanceModel` loads: model and tokenizer
(``save_pretrained``) plus ``stance_meta.json`` (label map, backbone, data hash, params, timings).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..records import LABELS, atomic_write_text, directory_in_place
from .backbones import BUNDLED_E5
from .data import Pair, data_hash

log = logging.getLogger(__name__)

META_FILE = "stance_meta.json"
#: the fine-tuned transformer's name among the stance models (the baselines use their registry names)
TRANSFORMER = "transformer"


@dataclass(frozen=True)
class TrainParams:
    """params.yaml ``train:``. The defaults are the CPU configuration of `dvc repro` (four-fold
    CV plus the final model within 20 minutes on 2 cores, bench/results/repro.json); on a GPU
    unfreeze the encoder and raise max_length."""

    #: the model `remiss train` fits and classify deploys: "transformer" or a baseline's name
    #: (pipeline/stance/deploy.py); every other field configures the transformer
    model: str = TRANSFORMER
    backbone: str = BUNDLED_E5
    epochs: int = 6
    batch_size: int = 8
    learning_rate: float = 3e-4
    #: tokens of target + paragraph; paragraphs state their verdict early, the tail is detail
    max_length: int = 128
    seed: int = 13
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    #: the word embeddings are most of a multilingual model's weights (250k × 384 for e5-small);
    #: a hundred examples cannot move them usefully, and their optimizer step dominates CPU time
    freeze_embeddings: bool = True
    #: also freeze this many of the lowest encoder layers (0: train all): on a CPU the
    #: backward pass through them is most of the training time
    freeze_layers: int = 9


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


def _freeze(model, params: TrainParams) -> None:
    base = model.base_model
    if params.freeze_embeddings and hasattr(base, "embeddings"):
        for parameter in base.embeddings.parameters():
            parameter.requires_grad = False
    if params.freeze_layers:
        layers = base.encoder.layer
        if params.freeze_layers > len(layers):
            raise ValueError(f"freeze_layers={params.freeze_layers} but the backbone has {len(layers)} layers")
        for layer in layers[: params.freeze_layers]:
            for parameter in layer.parameters():
                parameter.requires_grad = False


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

    from .backbones import load_sequence_classifier, load_tokenizer

    labels = [p.label for p in pairs]
    if not pairs or any(label not in LABELS for label in labels):
        raise ValueError(f"training needs labelled pairs (labels from {LABELS})")
    out_dir = Path(out_dir)
    set_seed(params.seed)

    tokenizer = load_tokenizer(params.backbone, models_dir=models_dir)
    model = load_sequence_classifier(params.backbone, list(LABELS), models_dir=models_dir)
    _freeze(model, params)
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


def write_meta(model_dir: Path, model: str, pairs: Sequence[Pair], **details) -> None:
    """``stance_meta.json``: the model's name, its labels, what it was trained on, and ``details``."""
    meta = {"model": model, "labels": list(LABELS), "data_hash": data_hash(pairs), "n_pairs": len(pairs),
            "label_counts": dict(Counter(p.label for p in pairs)), **details}
    atomic_write_text(Path(model_dir) / META_FILE, json.dumps(meta, ensure_ascii=False, indent=1) + "\n")


def read_meta(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / META_FILE).read_text(encoding="utf-8"))


# --- CLI ---------------------------------------------------------------------------------------

def training_data(statements: Path, corrections: Path, paragraphs: Sequence, referral):
    """The gold pairs, and the gold pairs merged with annotators' corrections
    (:func:`pipeline.annotate.merge_training_data`:
    gold wins, conflicts resolved and listed, stale corrections reported, not applied)."""
    from ..annotate import merge_training_data
    from ..gold import load_statements
    from .data import gold_pairs

    gold = gold_pairs(load_statements(statements), paragraphs, referral)
    merged = merge_training_data(gold, corrections, paragraphs, referral)
    for line in merged.summary().splitlines():
        log.info("%s", line)
    return gold, merged


def add_data_args(p: argparse.ArgumentParser) -> None:
    """The training data's inputs, shared by `remiss train` and `remiss evaluate`."""
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--statements", type=Path, default=Path("labels/gold/statements.yaml"), help="gold statements")
    p.add_argument("--corrections", type=Path, default=Path("labels/corrections"),
                   help="folder of annotators' <name>.jsonl corrections (missing: none)")
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads its 'train' section")
    p.add_argument("--backbone", default=None, help="override train.backbone (hub id, local dir, bundled:…)")
    p.add_argument("--models-dir", type=Path, default=Path("models"), help="cache of converted backbones")


def train_args(p: argparse.ArgumentParser) -> None:
    add_data_args(p)
    p.add_argument("--model", default=None, help="override train.model: transformer, lexicon, tfidf_logreg, e5_logreg")
    p.add_argument("--out", type=Path, default=Path("models/stance"), help="the fitted model's directory")


def train_cmd(args: argparse.Namespace) -> int:
    from ..records import Paragraph, read_jsonl
    from ..registry import load_referral
    from ..params import load_section

    from .deploy import fit_and_save

    params = load_section(args.params, "train", TrainParams, backbone=args.backbone, model=args.model)
    _, merged = training_data(args.statements, args.corrections, read_jsonl(args.paragraphs, Paragraph),
                              load_referral(args.referral))
    fit_and_save(merged.pairs, params, args.out, args.models_dir)
    return 0
