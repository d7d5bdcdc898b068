"""Shared fixtures: the bundled corpus, its registry and gold, ingested and segmented once."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.gold import load_statements
from pipeline.ingest import ingest_file
from pipeline.referral import load_referral
from pipeline.segment import segment

ROOT = Path(__file__).resolve().parents[1]
RESPONSES = ROOT / "corpus" / "responses"
REGISTRY = ROOT / "corpus" / "proposals" / "sou-2024-72.yaml"
GOLD = ROOT / "labels" / "gold"


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """The models fitted in tests are tiny: on a busy 2-core machine more BLAS threads only
    spin (a 0.05 s TF-IDF fit took 6 s)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def referral():
    return load_referral(REGISTRY)


@pytest.fixture(scope="session")
def statements():
    return load_statements(GOLD / "statements.yaml")


@pytest.fixture(scope="session")
def documents():
    return [ingest_file(path) for path in sorted(RESPONSES.glob("*.txt"))]


@pytest.fixture(scope="session")
def paragraphs(documents):
    return [p for document in documents for p in segment(document)]


@pytest.fixture(scope="session")
def stance_pairs(statements, paragraphs, referral):
    """One (target, paragraph) pair per gold statement, built from the segmented corpus."""
    from pipeline.stance.data import gold_pairs

    return gold_pairs(statements, paragraphs, referral)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A tiny random BERT and a WordPiece tokenizer trained on the corpus, saved like any
    backbone, so tests run the exact training and prediction code a real model goes through."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = tmp_path_factory.mktemp("tiny-bert")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train([str(p) for p in sorted(RESPONSES.glob("*.txt"))],
                    trainers.WordPieceTrainer(vocab_size=2000, special_tokens=specials))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.decoder = decoders.WordPiece()
    wrapped = BertTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    wrapped.save_pretrained(out)
    config = BertConfig(vocab_size=len(wrapped), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=512)
    torch.manual_seed(0)  # the same tiny model in every run
    BertModel(config).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def corpus_links(paragraphs, referral):
    """The pipeline's links on the real corpus, semantic linker included."""
    from pipeline.link import LinkParams, link

    return link(paragraphs, referral, LinkParams())
