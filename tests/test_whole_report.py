"""The report as a whole: a registry's ``helhet`` target, linked from statements on the whole
report and shown as its own column, kept apart from blanket clauses."""
from __future__ import annotations

import dataclasses

import pytest

from pipeline.aggregate import aggregate
from pipeline.classify import classify
from pipeline.gold import paragraphs_holding
from pipeline.link import LinkParams, link
from pipeline.link.whole import link_whole
from pipeline.records import Paragraph, Target
from pipeline.referral import RegistryError, load_referral
from pipeline.report import build_matrix, matrix_rows
from pipeline.stance.models import create

WHOLE = Target("helhet", "helhet", "Betänkandet i sin helhet", "Utredningens förslag och bedömningar som helhet.")


@pytest.fixture(scope="module")
def with_whole(referral):
    return dataclasses.replace(referral, targets=(WHOLE, *referral.targets))


def para(text: str) -> Paragraph:
    return Paragraph("d", "p001", text, "paragraph", None, 0, len(text))


def test_the_registry_format_holds_one_whole(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("targets:\n  - {id: helhet, kind: helhet, title: Betänkandet i sin helhet}\n"
                    "  - {id: '1', title: Ett förslag}\n", encoding="utf-8")
    referral = load_referral(path)
    assert [t.kind for t in referral.targets] == ["helhet", "forslag"]
    assert [t.id for t in referral.proposals_and_assessments()] == ["1"]  # a blanket clause does not cover the whole
    path.write_text(path.read_text(encoding="utf-8") + "  - {id: h2, kind: helhet, title: Igen}\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="second 'helhet'"):
        load_referral(path)


@pytest.mark.parametrize("text", [
    "Stadsledningskontoret ställer sig positivt till flera av utredningens förslag men är tveksamma "
    "till förslaget om en ordning där kommuner kan anställa läkare.",
    "Förbundet tillstyrker betänkandet i sin helhet.",
    "Kommunen ställer sig i huvudsak positiv till förslagen i stort.",
    "Regionen avstyrker betänkandet.",
])
def test_statements_on_the_whole_report_link_to_it(text, with_whole):
    assert [l.target for l in link_whole(para(text), with_whole)] == ["helhet"]


@pytest.mark.parametrize("text", [
    "I de fall frågorna inte kommenteras nedan tillstyrker Stockholms stad förslagen.",  # a blanket clause
    "Socialstyrelsen har tagit ställning till utredningens förslag.",  # says so, takes no stance
    "Socialstyrelsen tillstyrker utredningens förslag att avsätta medel.",  # one proposal
])
def test_what_is_not_a_stance_on_the_whole(text, with_whole):
    assert link_whole(para(text), with_whole) == []


def test_without_a_whole_target_nothing_links_to_it(referral):
    assert link_whole(para("Förbundet tillstyrker betänkandet i sin helhet."), referral) == []


def test_a_seed_opening_verdict_gets_its_own_column(paragraphs, with_whole):
    links = link(paragraphs, with_whole, LinkParams(semantic=False))
    whole = {(l.doc, l.paragraph) for l in links if l.target == "helhet"}
    (opening,) = paragraphs_holding("Stadsledningskontoret ställer sig positivt till flera av utredningens förslag",
                                    "stockholms-stad", paragraphs)
    assert (opening.doc, opening.id) in whole
    # the paragraph keeps its link to the proposal it singles out
    assert "5.4" in {l.target for l in links if (l.doc, l.paragraph) == (opening.doc, opening.id)}
    predictions = classify(links, paragraphs, with_whole, create("lexicon"))
    cells, voices = aggregate(predictions, paragraphs, with_whole)
    stockholm = {c.target: c for c in cells if c.doc == "stockholms-stad"}
    # the whole report's cell comes from the statement on it, not from Stockholm's blanket clause
    assert stockholm["helhet"].source != "blanket"
    matrix = build_matrix(cells, paragraphs, voices, with_whole)
    header = matrix_rows(matrix)[0]
    assert header[1] == "helhet" and header.count("helhet") == 1
