"""link: recall and precision against the gold, and numbers that are not targets."""
from __future__ import annotations

import pytest

from pipeline.gold import paragraphs_holding
from pipeline.link import LinkParams, link, link_numbers
from pipeline.records import Paragraph


@pytest.fixture(scope="module")
def links(paragraphs, referral):
    return link(paragraphs, referral, LinkParams())


def linked_targets(links):
    out: dict[tuple[str, str], set[str]] = {}
    for item in links:
        out.setdefault((item.doc, item.paragraph), set()).add(item.target)
    return out


def test_recall_and_precision_on_gold(paragraphs, statements, links):
    by_paragraph = linked_targets(links)
    gold: dict[tuple[str, str], set[str]] = {}
    hits = 0
    concrete = [s for s in statements if s.target != "*"]
    for s in concrete:
        (holder,) = paragraphs_holding(s.quote, s.doc, paragraphs)
        key = (s.doc, holder.id)
        gold.setdefault(key, set()).add(s.target)
        hits += s.target in by_paragraph.get(key, set())
    predicted = [(key, t) for key in gold for t in by_paragraph.get(key, set())]
    precision = sum(t in gold[key] for key, t in predicted) / len(predicted)
    recall = hits / len(concrete)
    assert recall >= 0.95, recall
    assert precision >= 0.90, precision


def test_every_link_has_method_and_score(links, referral):
    assert {l.method for l in links} <= {"number", "section", "title", "alias", "label", "ranked", "whole"}
    assert all(0 < l.score <= 1 and l.target in referral.ids for l in links)


def para(text: str, section: str | None = None) -> Paragraph:
    return Paragraph(doc="d", id="p001", text=text, kind="paragraph", section=section, start=0, end=len(text))


@pytest.mark.parametrize("text", [
    "Socialstyrelsen avstyrker förslaget i SOU 2022:41 att de ledningsansvariga ska ha specialistkompetens.",
    "Regleringen i 16 kap. 1 § HSL bör ändras.",
    "Utredningen Dir 2023:148 och dir. 2023:148 pågår.",
    "Remissvaret ska ha kommit in senast 12 mars 2025, dnr KS 2024/1303-1.1.",
    "Riktvärdet om 1 100 invånare per specialistläkare.",
    "Se även 4.2.3 nedan.",
    "hemsjukvård som hälso- och sjukvård på primärvårdsnivå (s. 33 i utredningen)",
    "Beslutet fattades 2025-03-18.",
])
def test_numbers_that_belong_to_something_else_are_not_targets(text, referral):
    assert link_numbers(para(text), referral) == []


@pytest.mark.parametrize("text, expected", [
    ("Socialstyrelsen tillstyrker förslaget (4.1.1) och avstyrker förslaget (7.1.1).", {"4.1.1", "7.1.1"}),
    ("Som utredningen lyfter i 4.3.2 anser Socialstyrelsen att journaler behövs.", {"4.3"}),
    ("Vi har synpunkter på avsnitt 8 om konsekvenser.", {"8"}),
])
def test_explicit_numbers(text, expected, referral):
    assert {l.target for l in link_numbers(para(text), referral)} == expected


def test_section_heading_links_an_unnumbered_paragraph(referral):
    found = link([para("Socialstyrelsen delar utredningens bedömning.", section="4.4.3 Det bör inte införas sanktioner")],
                 referral, LinkParams(semantic=False))
    assert [(l.target, l.method) for l in found] == [("4.4.3", "section")]


def test_a_paragraph_naming_another_target_leaves_its_section(referral):
    text = "VGR instämmer till fullo i utredningens bedömning att det inte ska finnas sanktioner, eftersom …"
    found = link([para(text, section="Stärkta avtal om läkarmedverkan")], referral, LinkParams(semantic=False))
    assert {l.target for l in found} == {"4.4.3"}


def test_longest_name_wins(referral):
    found = link([para("VGR kan inte se att det finns behov av rollen avancerad specialistsjuksköterska.")],
                 referral, LinkParams(semantic=False))
    assert {l.target for l in found} == {"7.2.4"}


def test_ranked_links_only_what_no_rule_reached_and_rank_below_rules(links):
    ranked = [l for l in links if l.method == "ranked"]
    by_rules = {(l.doc, l.paragraph) for l in links if l.method in ("number", "title", "alias", "label")}
    assert ranked and all((l.doc, l.paragraph) not in by_rules for l in ranked)
    assert max(l.score for l in ranked) < min(l.score for l in links if l.method in ("number", "title", "alias"))
