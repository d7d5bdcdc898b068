"""classify: every linked (paragraph, target) gets one stance and the paragraph's speaker."""
from __future__ import annotations

import pytest

from pipeline.classify import classify, unique_links
from pipeline.text.speakers import speaker_maps
from pipeline.records import LABELS
from pipeline.stance.lexicon import LexiconBaseline


def test_every_unique_link_is_classified_with_its_speaker(corpus_links, paragraphs, referral):
    predictions = classify(corpus_links, paragraphs, referral, LexiconBaseline())
    assert len(predictions) == len(unique_links(corpus_links))
    assert len({(p.doc, p.paragraph, p.target) for p in predictions}) == len(predictions)
    for p in predictions:
        assert p.stance in LABELS and sum(p.probs.values()) == pytest.approx(1.0)
        assert p.speaker
    organisations, _ = speaker_maps(paragraphs)
    assert organisations["stockholms-stad"] == "Stockholms stad"
    stockholm_54 = {p.speaker for p in predictions if (p.doc, p.target) == ("stockholms-stad", "5.4")}
    assert {"Stockholms stad", "Socialnämnden", "Äldrenämnden"} <= stockholm_54
