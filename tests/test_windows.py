"""Windows: which sentences of a real linked paragraph a stance model reads for a target."""
from __future__ import annotations

import pytest

from pipeline.classify import classify
from pipeline.records import Link
from pipeline.stance.lexicon import LexiconBaseline
from pipeline.stance.windows import sentence_spans, windows


@pytest.fixture(scope="module")
def text_of(paragraphs):
    by_key = {(p.doc, p.id): p.text for p in paragraphs}
    return lambda doc, pid: by_key[(doc, pid)]


def read(text_of, referral, doc, pid, target):
    text = text_of(doc, pid)
    return [text[start:end] for start, end in windows(text, referral.get(target), referral)]


def test_two_targets_in_one_paragraph_get_a_sentence_each(text_of, referral):
    # VGR: "kan inte se att det finns behov av rollen avancerad specialistsjuksköterska …
    # Däremot menar VGR att möjligheter till kontinuerlig fortbildning …"
    first, second = (text_of("vastra-gotalandsregionen", "p048")[s:e]
                     for s, e in sentence_spans(text_of("vastra-gotalandsregionen", "p048")))
    assert read(text_of, referral, "vastra-gotalandsregionen", "p048", "7.2.4") == [first]
    assert read(text_of, referral, "vastra-gotalandsregionen", "p048", "7.2.5") == [second]
    team = read(text_of, referral, "vastra-gotalandsregionen", "p043", "7.1.3")
    assert len(team) == 1 and "multiprofessionella team" in team[0]


def test_sentences_about_other_targets_are_left_out(text_of, referral):
    # Stockholm's administration welcomes 4.6.4 and 4.1.1 by name in the paragraph its 4.1 link reads
    about_41 = " ".join(read(text_of, referral, "stockholms-stad", "p036", "4.1"))
    assert "ledningsansvarig" not in about_41 and "välkomnar" not in about_41
    assert any("ledningsansvarig" in w for w in read(text_of, referral, "stockholms-stad", "p036", "4.6.4"))


def test_a_hesitant_and_an_oppose_sentence_both_reach_the_evidence(paragraphs, referral, text_of):
    found = read(text_of, referral, "stockholms-stad", "p047", "5.4")
    assert len(found) == 2 and "tveksam" in found[0] and "inte är en lösning" in found[1]
    [prediction] = classify([Link("stockholms-stad", "p047", "5.4", "section", 0.95)],
                            paragraphs, referral, LexiconBaseline())
    assert [s["stance"] for s in prediction.sentences] == ["hesitant", "oppose"]
    assert prediction.stance in ("hesitant", "oppose")
    text = text_of("stockholms-stad", "p047")
    assert "tveksam" in text[prediction.sentences[0]["start"]: prediction.sentences[0]["end"]]


def test_a_summary_bullet_is_read_with_its_lead_in(paragraphs, referral, text_of):
    # "Socialstyrelsen avstyrker:" then "• förslaget att i 16 kap. 1 § … (4.2.3)": the verdict is only in the lead-in
    bullet = read(text_of, referral, "socialstyrelsen", "p009", "4.2.3")
    assert bullet[0].startswith("• förslaget att i 16 kap. 1 §")
    [prediction] = classify([Link("socialstyrelsen", "p009", "4.2.3", "number", 1.0)], paragraphs, referral,
                            LexiconBaseline())
    assert prediction.stance == "oppose"


def test_a_one_sentence_paragraph_is_its_own_window(referral):
    text = "Kommunen tillstyrker förslaget."
    assert windows(text, referral.get("5.4"), referral) == [(0, len(text))]
