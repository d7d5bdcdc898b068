"""params.yaml ``train:``: which stance model `remiss train` fits, and the learned models' settings."""
from __future__ import annotations

from dataclasses import dataclass

from .backbones import BUNDLED_E5


@dataclass(frozen=True)
class TrainParams:
    """params.yaml ``train:``. The defaults are the CPU configuration of `dvc repro` (four-fold
    CV plus the final model within 20 minutes on 2 cores, bench/results/repro.json); on a GPU
    unfreeze the encoder and raise max_length."""

    #: the model `remiss train` fits and classify deploys: a name in pipeline/stance/models.py;
    #: the fields below configure the transformer and SetFit (both on ``backbone``)
    model: str = "transformer"
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
    #: the transformer and SetFit learn from at most this many pairs (0: all): every gold pair and
    #: correction, and a label-stratified sample of the authored rows. On a 2-core CPU an epoch
    #: over all 2,400 pairs takes minutes; bench/run.py ablate measures the full configuration
    max_pairs: int = 0
    #: SetFit's contrastive steps (batches of passage pairs) before its head is fitted
    setfit_steps: int = 500
    setfit_learning_rate: float = 2e-5
