"""The stance models by name, and the one the pipeline deploys (params.yaml ``train.model``).

`remiss train` fits the deployed model on every labelled pair and saves it to one directory;
`remiss classify`, `remiss score` and the notebooks load it back with :func:`load`, whichever
model it is, so the matrix analysts get comes from the model the evaluation measured best:

- ``transformer``: transformers' ``save_pretrained`` model and tokenizer (:mod:`.train`);
- a baseline (:data:`.baselines.BASELINES`): the fitted estimator in ``classifier.joblib``,
  the way scikit-learn persists its models.

Both directories carry ``stance_meta.json``: the model's name, labels and training data.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

from ..records import directory_in_place
from .data import Classifier, Pair
from .train import META_FILE, TRANSFORMER, TrainParams, read_meta, train, write_meta

log = logging.getLogger(__name__)

Factory = Callable[[], Classifier]

#: a fitted baseline, pickled by joblib (our own artefact: load only directories you trust)
ESTIMATOR_FILE = "classifier.joblib"


def factories(names: Sequence[str], params: TrainParams | None, models_dir: Path | None) -> dict[str, Factory]:
    """name → a fresh, unfitted classifier; the transformer trains with ``params``."""
    from .baselines import BASELINES
    from .predict import TransformerClassifier

    known = {**BASELINES, TRANSFORMER: lambda: TransformerClassifier(params=params, models_dir=models_dir)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return {name: known[name] for name in names}


def fit_and_save(pairs: Sequence[Pair], params: TrainParams, out_dir: Path, models_dir: Path = Path("models")) -> Path:
    """Fit ``params.model`` on ``pairs`` into ``out_dir``, replacing it only when complete."""
    if params.model == TRANSFORMER:
        return train(pairs, params, out_dir, models_dir)
    import joblib

    classifier = factories([params.model], params, models_dir)[params.model]().fit(pairs)
    with directory_in_place(Path(out_dir)) as tmp:
        joblib.dump(classifier, tmp / ESTIMATOR_FILE)
        write_meta(tmp, params.model, pairs)
    log.info("fitted %s on %d pairs → %s", params.model, len(pairs), out_dir)
    return Path(out_dir)


def model_name(model_dir: Path) -> str:
    """The name of the model saved in ``model_dir``."""
    model_dir = Path(model_dir)
    if not (model_dir / META_FILE).exists():
        raise FileNotFoundError(f"{model_dir}: not a stance model (no {META_FILE}); run `remiss train`")
    return read_meta(model_dir)["model"]


def load(model_dir: Path, device: str | None = None, batch_size: int = 16) -> Classifier:
    """The model saved by :func:`fit_and_save`; ``device`` and ``batch_size`` concern the transformer."""
    name = model_name(model_dir)
    if name == TRANSFORMER:
        from .predict import StanceModel

        return StanceModel.load(model_dir, device=device, batch_size=batch_size)
    import joblib

    classifier = joblib.load(Path(model_dir) / ESTIMATOR_FILE)
    if type(classifier) is not factories([name], None, None)[name]:
        raise ValueError(f"{model_dir}: {ESTIMATOR_FILE} holds a {type(classifier).__name__}, "
                         f"not the {name} that {META_FILE} names")
    return classifier
