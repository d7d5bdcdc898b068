"""Blanket clauses: both kinds, in the corpus and in other phrasings."""
from __future__ import annotations

import pytest

from pipeline.text.blanket import default_stance, find_blanket_clauses
from pipeline.records import Paragraph


def clauses(text: str):
    return find_blanket_clauses([Paragraph("d", "p001", text, "paragraph", None, 0, len(text))])


def test_the_corpus_has_one_clause_of_each_kind(paragraphs):
    found = {(c.doc, c.stance) for c in find_blanket_clauses(paragraphs)}
    assert found == {("stockholms-stad", "support"), ("vastra-gotalandsregionen", None)}


@pytest.mark.parametrize("text, stance", [
    ("I de fall frågorna inte kommenteras nedan tillstyrker Stockholms stad förslagen.", "support"),
    ("Region Skåne tillstyrker i övrigt utredningens förslag.", "support"),
    ("I övriga delar har Kammarkollegiet inga invändningar mot förslagen.", "support"),
    ("Förslag som inte kommenteras nedan har myndigheten inget att invända mot.", "support"),
    ("I övrigt avstyrker föreningen förslagen i betänkandet.", "oppose"),
    ("Länsstyrelsen avstår från att yttra sig om de förslag som inte berörs nedan.", "neutral"),
])
def test_default_clauses(text, stance):
    (clause,) = clauses(text)
    assert clause.stance == stance
    assert default_stance([clause]) == clause


@pytest.mark.parametrize("text", [
    "Detta ska inte tolkas som att VGR därmed ställer sig bakom delar som inte kommenteras.",
    "Att kommunen inte kommenterar ett förslag innebär inte att kommunen tillstyrker det.",
    "Förslag som inte kommenteras ska inte uppfattas som att myndigheten ställer sig bakom dem.",
])
def test_no_default_clauses(text):
    (clause,) = clauses(text)
    assert clause.stance is None
    assert default_stance([clause]) is None


@pytest.mark.parametrize("text", [
    "I övrigt hänvisar vi till stadsledningskontorets tjänsteutlåtande.",
    "Socialstyrelsen tillstyrker utredningens förslag.",
    "Frågan om journaler kommenteras inte i utredningen.",
])
def test_not_blanket(text):
    assert clauses(text) == []
