"""The stance models by name: one registry for the lexicon, the learned baselines, SetFit and
the fine-tuned transformer, and the directory format `remiss train` saves any of them in.

Every entry offers the same four verbs: ``fit(pairs)``, ``predict(pairs)``, ``save(dir)`` and
``load(dir)`` (a classmethod); an entry may build itself from params.yaml ``train:`` with
``from_params`` and add training details to ``stance_meta.json`` with ``details()``. Imports
run one way: the models know nothing of the registry, the registry of the pipeline.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from ..records import directory_in_place
from .baselines import E5LogReg, HybridLogReg, TfidfLogReg
from .data import Classifier, Pair
from .lexicon import LexiconBaseline
from .meta import read_meta, write_meta
from .params import TrainParams
from .setfit_model import SetFitClassifier
from .transformer import TransformerClassifier

log = logging.getLogger(__name__)

#: name → model class; evaluation output, params.yaml and stance_meta.json use these names
MODELS: dict[str, type] = {cls.name: cls for cls in (
    LexiconBaseline, TfidfLogReg, E5LogReg, HybridLogReg, SetFitClassifier, TransformerClassifier)}
#: the models that learn from labelled pairs (the lexicon's labels come from its cue rules)
LEARNED: tuple[str, ...] = tuple(name for name in MODELS if name != LexiconBaseline.name)


def model_class(name: str) -> type:
    if name not in MODELS:
        raise ValueError(f"unknown stance model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def create(name: str, params: TrainParams | None = None, models_dir: Path = Path("models")) -> Classifier:
    """A fresh, unfitted model; the transformer and SetFit take their settings from ``params``."""
    cls = model_class(name)
    if hasattr(cls, "from_params"):
        return cls.from_params(params or TrainParams(), Path(models_dir))
    return cls()


def fit_and_save(pairs: Sequence[Pair], params: TrainParams, out_dir: Path, models_dir: Path = Path("models")) -> Path:
    """Fit ``params.model`` on ``pairs`` into ``out_dir``, replacing it only when complete."""
    model = create(params.model, params, models_dir).fit(pairs)
    with directory_in_place(Path(out_dir)) as tmp:
        model.save(tmp)
        details = model.details() if hasattr(model, "details") else {}
        write_meta(tmp, params.model, pairs, **details)
    log.info("fitted %s on %d pairs → %s", params.model, len(pairs), out_dir)
    return Path(out_dir)


def model_name(model_dir: Path) -> str:
    """The name of the model saved in ``model_dir``."""
    return str(read_meta(model_dir)["model"])


def load(model_dir: Path, device: str | None = None, batch_size: int = 16, trust: bool = False) -> Classifier:
    """The model :func:`fit_and_save` saved in ``model_dir``; ``device`` and ``batch_size``
    concern the neural models. Nothing in the directory runs code unless ``trust``
    (``--trust-model``) lets a pickle be loaded: a learned baseline saved before skops, or
    SetFit's head as SetFit itself saves it."""
    cls = model_class(model_name(model_dir))
    return cls.load(Path(model_dir), device=device, batch_size=batch_size, trust=trust)
