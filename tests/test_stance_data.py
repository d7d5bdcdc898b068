"""stance.data: the (target, paragraph) pairs every model trains and predicts on."""
from __future__ import annotations

import dataclasses

import pytest

from pipeline.gold import norm
from pipeline.records import LABELS, Link, Statement
from pipeline.stance.data import BLANKET, GoldPairError, data_hash, gold_pairs, lead_ins, link_pairs


def test_one_pair_per_concrete_gold_statement(stance_pairs, statements):
    concrete = [s for s in statements if s.target != BLANKET]
    assert len(stance_pairs) == len(concrete) == 94
    for pair, statement in zip(stance_pairs, concrete):
        assert (pair.doc, pair.target, pair.label, pair.quote) == (statement.doc, statement.target, statement.stance,
                                                                   statement.quote)
        assert norm(statement.quote) in norm(pair.paragraph_text)
        assert pair.target_text.startswith(f"{statement.target} ")
    assert {p.label for p in stance_pairs} == set(LABELS)


def test_summary_bullets_carry_their_lead_in(paragraphs, stance_pairs):
    contexts = lead_ins(paragraphs)
    assert contexts, "the corpus has bullet lists introduced by a clause ending in ':'"
    assert all(text.endswith(":") for text in contexts.values())
    with_context = [p for p in stance_pairs if p.context]
    assert with_context and all(p.second_text.startswith(p.context) for p in with_context)


def test_a_quote_in_no_paragraph_is_an_error_naming_doc_and_quote(paragraphs, referral):
    bad = Statement(doc="socialstyrelsen", target="4.1.1", stance="support", speaker="Socialstyrelsen",
                    part="body", quote="Detta citat finns inte i svaret")
    with pytest.raises(GoldPairError, match=r"socialstyrelsen: quote 'Detta citat finns inte.*in no paragraph"):
        gold_pairs([bad], paragraphs, referral)
    with pytest.raises(GoldPairError, match="not in the registry"):
        gold_pairs([dataclasses.replace(bad, target="99.9")], paragraphs, referral)


def test_link_pairs_are_built_exactly_like_training_pairs(stance_pairs, paragraphs, referral):
    """The same target text, paragraph and lead-in; a training pair also knows which of the
    paragraph's sentences its quote spans (classify finds the windows of a link itself)."""
    links = [Link(p.doc, p.paragraph, p.target, "number", 1.0) for p in stance_pairs]
    built = link_pairs(links, paragraphs, referral)
    assert built == [dataclasses.replace(p, quote="", label=None, window="") for p in stance_pairs]


def test_a_statement_is_read_as_the_sentences_its_quote_spans(stance_pairs):
    for pair in stance_pairs:
        assert norm(pair.quote) in norm(pair.window) and pair.window in pair.paragraph_text
    # Stockholm's administration on 5.4: a hesitant and an oppose sentence in one paragraph
    both = [p for p in stance_pairs if p.doc == "stockholms-stad" and p.paragraph == "p047"]
    windows = {p.label: p.window for p in both}
    assert windows["oppose"] == "Förvaltningens uppfattning är att förslaget inte är en lösning på dagens problematik."
    # the hesitant quote runs over two sentences, and stops before the oppose one
    assert windows["hesitant"].startswith("En ordning där kommuner kan anställa läkare Förvaltningen ställer sig tveksam")
    assert windows["hesitant"].endswith("kommunal hälso- och sjukvård.") and "lösning" not in windows["hesitant"]
    shorter = sum(len(p.window) < len(p.paragraph_text) for p in stance_pairs)
    assert shorter >= len(stance_pairs) / 3


def test_data_hash_ignores_order_and_sees_labels(stance_pairs):
    assert data_hash(stance_pairs) == data_hash(list(reversed(stance_pairs)))
    other = next(label for label in LABELS if label != stance_pairs[0].label)
    relabelled = [dataclasses.replace(stance_pairs[0], label=other), *stance_pairs[1:]]
    assert data_hash(relabelled) != data_hash(stance_pairs)
