"""A cross-encoder that reads (response text, target) together and says whether the text is
about the target: trained on the authored corpus (labels/authored), where each passage is
about its own target (a positive) and not about the other targets of the same referral
(negatives). It scores every target of a referral, and its scores are standardised over the
referral like the bi-encoder's (:mod:`.ranking`), so the two compare on the same footing.

The reference method for reranking, at a reranker's price: one forward pass per (text,
target) pair instead of one per text. ``python -m bench.linking --cross-encoder`` trains one
and measures it beside the bi-encoder and the fused ranker.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..records import Target
from ..stance.authored import AuthoredRow
from .ranking import standardise, target_text


def training_pairs(rows: Sequence[AuthoredRow], negatives: int = 1, seed: int = 13) -> list[tuple[str, str, float]]:
    """(passage, target text, 1.0) for each row's own target and (…, 0.0) for ``negatives``
    other targets of its referral."""
    by_referral: dict[str, dict[str, str]] = {}
    for row in rows:
        text = f"{row.target_title}. {row.target_summary}".strip()
        by_referral.setdefault(row.referral, {})[row.target_title] = text
    rng = random.Random(seed)
    pairs = []
    for row in rows:
        own = by_referral[row.referral][row.target_title]
        others = sorted(t for title, t in by_referral[row.referral].items() if title != row.target_title)
        pairs.append((row.passage, own, 1.0))
        pairs += [(row.passage, other, 0.0) for other in rng.sample(others, min(negatives, len(others)))]
    return pairs


def train_cross_encoder(rows: Sequence[AuthoredRow], backbone: str, out_dir: Path, epochs: int = 1,
                        batch_size: int = 16, max_length: int = 96, freeze_layers: int = 8,
                        learning_rate: float = 3e-4, seed: int = 13) -> Path:
    """Fine-tune ``backbone`` (a local model folder) as a cross-encoder, its embeddings and
    ``freeze_layers`` lowest layers frozen (as the stance transformer: on a CPU the lower
    layers are most of the cost; with most weights frozen and a fresh head, the learning rate
    is the stance transformer's 3e-4, not the 2e-5 of full fine-tuning); saved with
    ``save_pretrained`` to ``out_dir``."""
    import torch
    from sentence_transformers import InputExample
    from sentence_transformers.cross_encoder import CrossEncoder
    from torch.utils.data import DataLoader

    torch.manual_seed(seed)
    from ..stance.backbones import freeze

    model = CrossEncoder(backbone, num_labels=1, max_length=max_length, local_files_only=True)
    freeze(model.model, embeddings=True, layers=min(freeze_layers, len(model.model.base_model.encoder.layer) - 1))
    examples = [InputExample(texts=[passage, target], label=label) for passage, target, label in training_pairs(rows)]
    loader = DataLoader(examples, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    model.fit(train_dataloader=loader, epochs=epochs, warmup_steps=len(loader) // 10,
              optimizer_params={"lr": learning_rate}, show_progress_bar=False)
    model.save_pretrained(str(out_dir))
    return Path(out_dir)


@dataclass
class CrossEncoderRanker:
    """Referral-relative scores from a trained cross-encoder: the :class:`.ranking.Ranker` interface."""

    model_dir: Path
    batch_size: int = 32

    def fit(self, targets: Sequence[Target], corpus: Sequence[str] = ()) -> "CrossEncoderRanker":
        from sentence_transformers.cross_encoder import CrossEncoder

        if getattr(self, "targets_", None) != tuple(targets):
            # logits per text, for these targets: a text is scored once however often it is ranked
            self.logits_: dict[str, np.ndarray] = {}
        self.targets_ = tuple(targets)
        if not hasattr(self, "model_"):
            self.model_ = CrossEncoder(str(self.model_dir), local_files_only=True, device="cpu")
        return self

    def relative_scores(self, texts: Sequence[str]) -> np.ndarray:
        from torch.nn import Identity

        if not texts:
            return np.zeros((0, len(self.targets_)))
        documents = [target_text(t) for t in self.targets_]
        new = sorted(set(texts) - set(self.logits_))
        if new:
            pairs = [(text, document) for text in new for document in documents]
            # raw logits in float64: a sigmoid would squeeze them before they are standardised
            logits = np.asarray(self.model_.predict(pairs, batch_size=self.batch_size, show_progress_bar=False,
                                                    activation_fn=Identity()), dtype=np.float64)
            self.logits_.update(zip(new, logits.reshape(len(new), len(documents))))
        return standardise(np.stack([self.logits_[text] for text in texts]))
