"""Who speaks in each paragraph of a response.

A municipality's answer can quote several voices: its own (the city executive, the
kommunstyrelse), its administration (stadsledningskontoret), its boards (socialnämnden,
äldrenämnden) with their administrations ("Förvaltningen …"), and party statements
("Särskilt uttalande av … (L)", "Ersättaryttrande av … (KD)"). Only the organisation's own
voice decides a cell of the remissammanställning; the others are kept with their speaker.
A case file's account of the referral ("Ärendet": "Utredningens bedömning är …") is nobody's
position: it gets its own speaker, so a restated assessment never fills a cell.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Sequence

from ..records import Paragraph

#: a body of the organisation that answers in its own name ("Socialnämnden", "Stadsledningskontoret")
ORGAN = re.compile(r"^(?:[A-ZÅÄÖ][a-zåäö]+(?:nämnden|kontoret|förvaltningen)|Stadsledningskontoret)$")
#: bodies that decide for the organisation itself
OWN_VOICE_ORGANS = re.compile(r"^(?:Kommunstyrelsen|Regionstyrelsen|Kommunfullmäktige|Regionfullmäktige|"
                              r"Borgarrådsberedningen|Föredragande borgarråd\w*)\b")
PARTY_STATEMENT = re.compile(
    r"^(?:Särskilt uttalande|Ersättaryttrande|Reservation|Protokollsanteckning)\s+(?:av|från)\s+[^()]*\((\w+)\)"
    r"(?!,?\s*se\b)")  # "…(SD), se Reservationer m.m." only points to the statement
PARTIES = {"S": "Socialdemokraterna", "M": "Moderaterna", "SD": "Sverigedemokraterna", "C": "Centerpartiet",
           "V": "Vänsterpartiet", "KD": "Kristdemokraterna", "L": "Liberalerna", "MP": "Miljöpartiet"}
#: headings of a municipal case file (tjänsteutlåtande) under which the organisation restates
#: the referral ("Ärendet", "Sammanfattning av ärendet", "Bakgrund"): no one takes a position there
REFERRAL_ACCOUNT = re.compile(r"^(?:Sammanfattning av ärendet|Ärendet|Bakgrund|Utredningens förslag)\s*$")
#: the speaker of such paragraphs: never the organisation's own voice, so never a cell's evidence
REFERRAL_ACCOUNT_SPEAKER = "Referat av utredningen"
#: headings under which the organisation speaks in its own name again
OWN_SECTION = re.compile(r"^(?:Föredragande borgarrådens synpunkter|Förslag till beslut|Sammanfattning"
                         r"|Remissammanställning\w*|Beredning|Kommunstyrelsen)\b")
#: the organisation as subject of a stance sentence: "Socialstyrelsen avstyrker", "VGR anser"
SUBJECT = re.compile(r"(?:^|[.:!?]\s+|\b(?:att|och|men)\s+)([A-ZÅÄÖ][\w-]*(?: [A-ZÅÄÖ][\w-]*)?)\s+"
                     r"(?:tillstyrker|avstyrker|anser|instämmer|delar|ser|ställer|välkomnar|motsätter|"
                     r"ifrågasätter|menar|vill|är|föreslår|förordar|lämnar|har)\b")
PLACE_NAME = re.compile(r"\b([A-ZÅÄÖ][a-zåäö]+s (?:stad|kommun)|Region [A-ZÅÄÖ][a-zåäö]+|[A-ZÅÄÖ][\w ]+regionen)\b")
NOT_AN_ORGANISATION = frozenset({"Utredningen", "Regeringen", "Det", "Den", "Detta", "Vi", "Myndigheten",
                                 "Förvaltningen", "Regionen", "Kommunen", "Staden", "Här", "Som", "Många"})


def organisation_name(paragraphs: Sequence[Paragraph], fallback: str) -> str:
    """The responding organisation's own name, as it refers to itself."""
    text = " ".join(p.text for p in paragraphs if p.kind in ("paragraph", "bullet", "heading"))
    places = Counter(m.group(1) for m in PLACE_NAME.finditer(text))
    subjects = Counter(m.group(1) for m in SUBJECT.finditer(text)
                       if m.group(1) not in NOT_AN_ORGANISATION and not ORGAN.match(m.group(1)))
    for name, count in places.most_common(1):
        if count >= subjects.most_common(1)[0][1] if subjects else True:
            return name
    return subjects.most_common(1)[0][0] if subjects else fallback


def _organ_subject(paragraph: Paragraph, section_organ: str | None) -> str | None:
    """An organ that is the subject of a sentence of the paragraph ("Socialnämnden är positiv …")."""
    for match in SUBJECT.finditer(paragraph.text):
        name = match.group(1)
        if name.endswith(("Förvaltningen", "förvaltningen")) and section_organ:
            return section_organ  # a board's administration speaks for the board
        if ORGAN.match(name):
            return name
    return None


def attribute_speakers(paragraphs: Sequence[Paragraph], organisation: str) -> dict[str, str]:
    """Paragraph id → speaker, for the paragraphs of one response (in document order)."""
    speakers: dict[str, str] = {}
    voice = organisation
    organ: str | None = None
    party_until_heading = False
    for paragraph in paragraphs:
        heading = paragraph.section if paragraph.text.startswith(paragraph.section or "\0") else None
        if paragraph.kind == "heading":
            heading = paragraph.text
        if heading:
            party = PARTY_STATEMENT.match(heading)
            if party:
                voice, party_until_heading = PARTIES.get(party.group(1), party.group(1)), True
            elif REFERRAL_ACCOUNT.match(heading):
                voice, organ, party_until_heading = REFERRAL_ACCOUNT_SPEAKER, None, False
            elif ORGAN.match(heading):
                voice, organ, party_until_heading = heading, heading, False
            elif OWN_SECTION.match(heading) or OWN_VOICE_ORGANS.match(heading) or party_until_heading:
                voice, organ, party_until_heading = organisation, None, False
        body = paragraph.text[len(heading):].lstrip() if heading and paragraph.kind != "heading" else paragraph.text
        party = PARTY_STATEMENT.match(body)
        if party:
            voice, party_until_heading = PARTIES.get(party.group(1), party.group(1)), True
        subject = None if party_until_heading else _organ_subject(paragraph, organ)
        speakers[paragraph.id] = subject or voice
    return speakers


def by_doc(paragraphs: Sequence[Paragraph]) -> dict[str, list[Paragraph]]:
    """Paragraphs grouped by response, in order."""
    grouped: dict[str, list[Paragraph]] = defaultdict(list)
    for paragraph in paragraphs:
        grouped[paragraph.doc].append(paragraph)
    return grouped


def document_speakers(doc: str, paragraphs: Sequence[Paragraph]) -> tuple[str, dict[str, str]]:
    """One response's own organisation, and paragraph id → speaker."""
    organisation = organisation_name(paragraphs, doc)
    return organisation, attribute_speakers(paragraphs, organisation)


def speaker_maps(paragraphs: Sequence[Paragraph]) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """doc → the organisation that answers, and (doc, paragraph id) → speaker."""
    organisations, speakers = {}, {}
    for doc, doc_paragraphs in by_doc(paragraphs).items():
        organisations[doc], doc_speakers = document_speakers(doc, doc_paragraphs)
        speakers.update({(doc, pid): speaker for pid, speaker in doc_speakers.items()})
    return organisations, speakers
