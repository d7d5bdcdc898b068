"""SentencePiece's precompiled charsmap, built from e5.c's per-codepoint normalisation table:
a darts-clone double-array trie of the mapped codepoints and their replacements."""
from __future__ import annotations

import struct
from collections import deque

import numpy as np


def _double_array(keys: dict[bytes, int]) -> np.ndarray:
    """A darts-clone double-array trie of ``keys`` (byte string → value), the structure a
    SentencePiece ``precompiled_charsmap`` holds and ``tokenizers``' Precompiled searches.

    A node at ``pos`` with offset ``o`` keeps its child for byte ``c`` at ``pos ^ o ^ c`` (a
    unit whose low byte is ``c``) and its value at ``pos ^ o``. Each ``pos ^ o`` ("base") is
    given to one node only: that is what lets a lookup trust a matching label.
    """
    root: dict = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    size = 1 << 12
    units = np.zeros(size, dtype=np.uint32)
    used = np.zeros(size, dtype=bool)  # slots holding a unit
    taken = np.zeros(size, dtype=bool)  # bases given to a node
    used[0] = True  # the root
    queue = deque([(root, 0, 0)])  # (node, position, label)
    while queue:
        node, pos, label = queue.popleft()
        labels = np.array(sorted(0 if k is None else k for k in node))  # 0: the value slot
        # a base and its slots share a 256-block: blocks before the first free slot or the
        # first free base cannot fit
        start = max(int(np.argmin(used)), int(np.argmin(taken))) & ~0xFF
        while True:  # try the bases of 16 blocks at a time, the lowest that fits wins
            if start + 17 * 256 > size:
                units, used, taken = (np.concatenate([a, np.zeros_like(a)]) for a in (units, used, taken))
                size *= 2
            bases = np.arange(start, start + 16 * 256)
            fits = ~taken[bases] & ~used[bases[:, None] ^ labels].any(axis=1)
            if fits.any():
                base = int(bases[fits.argmax()])
                break
            start += 16 * 256
        offset = base ^ pos
        if offset >= 1 << 21:
            raise ValueError("charsmap trie too large for a plain darts offset")
        taken[base] = True
        used[base ^ labels] = True
        units[pos] = label | (int(None in node) << 8) | (offset << 10)
        if None in node:
            units[base] = node[None] | (1 << 31)  # a leaf unit: its label can never match a byte
        queue.extend((child, base ^ k, k) for k, child in node.items() if k is not None)
    return units[: int(np.flatnonzero(units).max()) + 1]


def precompiled_charsmap(normalization: dict[int, str]) -> bytes:
    """e5.c's per-codepoint normalisation table as a SentencePiece precompiled charsmap:
    ``u32 trie_bytes``, the double-array trie, then the NUL-terminated replacements.

    ``tokenizers`` looks a grapheme cluster up whole before its codepoints, so a mapped
    codepoint followed by combining marks is replaced together with them; e5.c maps each
    codepoint on its own. That is the one difference, and it is how transformers' own
    XLM-R tokenizer applies its charsmap.
    """
    replacements = bytearray()
    at: dict[str, int] = {}
    keys = {}
    for codepoint, out in sorted(normalization.items()):
        if out not in at:
            at[out] = len(replacements)
            replacements += out.encode("utf-8") + b"\0"
        keys[chr(codepoint).encode("utf-8")] = at[out]
    trie = _double_array(keys).astype("<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(replacements)
