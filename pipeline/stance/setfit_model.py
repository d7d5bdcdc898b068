"""``setfit``: SetFit (the ``setfit`` library) on the bundled e5 encoder.

Contrastive fine-tuning of the sentence encoder on pairs of passages (same label or not),
then a class-balanced logistic regression on its embeddings: a method made for few labels.
The passage is read as an e5 ``query:`` (e5's prefix for classification inputs); the target
text is not read, as in the baselines (:mod:`.baselines`).
"""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..records import LABELS
from .data import Pair, StancePrediction, check_fitted, check_labels, from_probabilities
from .params import TrainParams

log = logging.getLogger(__name__)

PREFIX = "query: "
#: SetFit pickles its head (model_head.pkl, which runs code when loaded); we save the
#: scikit-learn head in skops's format instead (see baselines.SklearnArtefact)
HEAD_FILE = "model_head.skops"
PICKLED_HEAD = "model_head.pkl"


def _texts(pairs: Sequence[Pair]) -> list[str]:
    return [PREFIX + p.second_text for p in pairs]


@dataclass
class SetFitClassifier:
    name = "setfit"

    params: TrainParams = field(default_factory=TrainParams)
    models_dir: Path = Path("models")
    model_: object = field(default=None, repr=False)
    seconds_: float = 0.0

    @classmethod
    def from_params(cls, params: TrainParams, models_dir: Path) -> "SetFitClassifier":
        return cls(params=params, models_dir=Path(models_dir))

    def fit(self, pairs: Sequence[Pair]) -> "SetFitClassifier":
        from datasets import Dataset
        from setfit import SetFitModel, Trainer, TrainingArguments

        from .authored import within_budget
        from .backbones import freeze, resolve_backbone

        pairs = within_budget(pairs, self.params.max_pairs, self.params.seed)
        labels = check_labels(pairs)
        model = SetFitModel.from_pretrained(
            resolve_backbone(self.params.backbone, self.models_dir), labels=list(LABELS),
            head_params={"class_weight": "balanced", "max_iter": 5000, "random_state": self.params.seed})
        # the same frozen embeddings and lower layers as the transformer (train.freeze_*)
        freeze(model.model_body[0].auto_model, self.params.freeze_embeddings, self.params.freeze_layers)
        with tempfile.TemporaryDirectory(prefix="setfit-") as tmp:
            args = TrainingArguments(
                output_dir=tmp, batch_size=self.params.batch_size, num_epochs=1,
                max_steps=self.params.setfit_steps, body_learning_rate=self.params.setfit_learning_rate,
                max_length=self.params.max_length, seed=self.params.seed, report_to="none",
                show_progress_bar=False, save_strategy="no", logging_strategy="no")
            trainer = Trainer(model=model, args=args,
                              train_dataset=Dataset.from_dict({"text": _texts(pairs), "label": labels}))
            started = time.perf_counter()
            trainer.train()
            self.seconds_ = round(time.perf_counter() - started, 1)
        self.model_ = model
        log.info("setfit: %d pairs, %d contrastive steps in %.0f s", len(pairs), self.params.setfit_steps, self.seconds_)
        return self

    def predict(self, pairs: Sequence[Pair]) -> list[StancePrediction]:
        check_fitted(self)
        if not pairs:
            return []
        return from_probabilities(self.model_.model_head.classes_,
                                  self.model_.predict_proba(_texts(pairs), as_numpy=True))

    def save(self, directory: Path) -> None:
        check_fitted(self)
        import skops.io

        self.model_.save_pretrained(str(directory))
        (Path(directory) / PICKLED_HEAD).unlink()
        skops.io.dump(self.model_.model_head, Path(directory) / HEAD_FILE)

    def details(self) -> dict:
        return {"backbone": self.params.backbone, "setfit_steps": self.params.setfit_steps,
                "max_length": self.params.max_length, "train_seconds": self.seconds_}

    @classmethod
    def load(cls, directory: Path, device: str | None = None, trust: bool = False, **_) -> "SetFitClassifier":
        import skops.io
        from setfit import SetFitModel
        from skops.io.exceptions import UntrustedTypesFoundException

        directory = Path(directory)
        if (directory / PICKLED_HEAD).exists():
            if not trust:
                raise ValueError(f"{directory / PICKLED_HEAD}: a pickle, and unpickling runs any code the file holds; "
                                 "load it only if you trust who wrote it (--trust-model), or retrain (remiss train)")
            return cls(model_=SetFitModel.from_pretrained(str(directory), device=device))
        try:
            head = skops.io.load(directory / HEAD_FILE)
        except UntrustedTypesFoundException as err:
            raise ValueError(f"{directory / HEAD_FILE}: holds types a scikit-learn head does not need ({err}); "
                             "not loaded") from None
        # without model_head.pkl SetFit builds a fresh head (and says so at INFO): replaced here
        model = SetFitModel.from_pretrained(str(directory), device=device)
        model.model_head = head
        return cls(model_=model)
