"""Speaker attribution on the real responses, checked against the gold statements' speakers."""
from __future__ import annotations

import pytest

from pipeline.gold import paragraphs_holding
from pipeline.records import Paragraph
from pipeline.text.speakers import REFERRAL_ACCOUNT_SPEAKER, attribute_speakers, organisation_name

OWN_VOICE_IN_GOLD = {"socialstyrelsen": "Socialstyrelsen", "sveriges-socialchefer": "FSS",
                     "vastra-gotalandsregionen": "VGR", "stockholms-stad": "Stockholms stad"}


@pytest.fixture(scope="module")
def attributed(paragraphs):
    out = {}
    for doc in OWN_VOICE_IN_GOLD:
        doc_paragraphs = [p for p in paragraphs if p.doc == doc]
        organisation = organisation_name(doc_paragraphs, doc)
        out[doc] = (organisation, attribute_speakers(doc_paragraphs, organisation))
    return out


def test_organisation_names(attributed):
    assert {doc: org for doc, (org, _) in attributed.items()} == OWN_VOICE_IN_GOLD


def test_every_gold_statement_has_its_speaker(paragraphs, statements, attributed):
    wrong = []
    for s in statements:
        (holder,) = paragraphs_holding(s.quote, s.doc, paragraphs)
        organisation, speakers = attributed[s.doc]
        expected = organisation if s.speaker == OWN_VOICE_IN_GOLD[s.doc] else s.speaker
        if speakers[holder.id] != expected:
            wrong.append((s.doc, s.speaker, speakers[holder.id], s.quote[:50]))
    assert wrong == []


def test_stockholm_voices(attributed):
    _, speakers = attributed["stockholms-stad"]
    assert {"Stockholms stad", "Stadsledningskontoret", "Socialnämnden", "Äldrenämnden", "Liberalerna",
            "Kristdemokraterna", "Sverigedemokraterna"} <= set(speakers.values())


def p(n: int, text: str, kind: str = "paragraph", section: str | None = None) -> Paragraph:
    return Paragraph("d", f"p{n:03d}", text, kind, section, 0, len(text))


def test_a_pointer_to_a_party_statement_is_not_the_statement():
    paragraphs = [p(1, "Socialnämnden", "heading", "Socialnämnden"),
                  p(2, "Särskilt uttalande av Anna Andersson (M), se Reservationer m.m.", section="Socialnämnden"),
                  p(3, "Förvaltningen ställer sig tveksam till förslaget.", section="Socialnämnden"),
                  p(4, "Reservation av Bo Berg (V) Vänsterpartiet avstyrker förslaget.",
                    section="Reservation av Bo Berg (V)")]
    assert attribute_speakers(paragraphs, "Uppsala kommun") == {
        "p001": "Socialnämnden", "p002": "Socialnämnden", "p003": "Socialnämnden", "p004": "Vänsterpartiet"}


def test_the_case_files_account_of_the_referral_is_no_ones_position(attributed, paragraphs):
    # Stockholm's "Ärendet" restates the inquiry ("Utredningens grundläggande bedömning är …"):
    # it must not decide the city's cell for 4.1, which comes from the blanket clause
    _, speakers = attributed["stockholms-stad"]
    (account,) = [p for p in paragraphs if p.doc == "stockholms-stad"
                  and p.text.startswith("Stärkt läkarmedverkan") and "grundläggande bedömning" in p.text]
    assert speakers[account.id] == REFERRAL_ACCOUNT_SPEAKER
    (own,) = [p for p in paragraphs if p.doc == "stockholms-stad" and "som princip rimligt" in p.text]
    assert speakers[own.id] == "Stockholms stad"


def test_background_sections_are_accounts_and_the_organisation_speaks_again_after_them():
    paragraphs = [p(1, "Bakgrund", "heading", "Bakgrund"),
                  p(2, "Utredningen föreslår att kommuner får anställa läkare.", section="Bakgrund"),
                  p(3, "Förslag till beslut", "heading", "Förslag till beslut"),
                  p(4, "Kommunen tillstyrker förslaget.", section="Förslag till beslut")]
    assert attribute_speakers(paragraphs, "Uppsala kommun") == {
        "p001": REFERRAL_ACCOUNT_SPEAKER, "p002": REFERRAL_ACCOUNT_SPEAKER,
        "p003": "Uppsala kommun", "p004": "Uppsala kommun"}
