"""segment: gold quotes inside exactly one paragraph; headings, bullets, signatures, offsets."""
from __future__ import annotations

from pipeline.gold import norm, paragraphs_holding
from pipeline.ingest.clean import clean
from pipeline.ingest.readers import RawPages
from pipeline.segment import section_number, segment


def by_doc(paragraphs, doc):
    return [p for p in paragraphs if p.doc == doc]


def test_every_gold_quote_lies_in_exactly_one_paragraph(paragraphs, statements):
    misplaced = [(s.doc, s.quote[:60], len(paragraphs_holding(s.quote, s.doc, paragraphs)))
                 for s in statements if len(paragraphs_holding(s.quote, s.doc, paragraphs)) != 1]
    assert misplaced == []


def test_offsets_point_into_the_clean_text(documents, paragraphs):
    texts = {d.doc: d.text for d in documents}
    for p in paragraphs:
        assert norm(texts[p.doc][p.start:p.end]) == norm(p.text), p.id


def test_ids_are_unique_and_stable(documents, paragraphs):
    ids = [(p.doc, p.id) for p in paragraphs]
    assert len(ids) == len(set(ids))
    again = [(p.doc, p.id, p.text) for d in documents for p in segment(d)]
    assert again == [(p.doc, p.id, p.text) for p in paragraphs]


def test_multi_line_numbered_heading_names_the_section(paragraphs):
    sos = by_doc(paragraphs, "socialstyrelsen")
    sections = {p.section for p in sos if p.section}
    assert ("4.1.1 Genomför redan lämnade förslag om lagkrav på tillgång till medicinsk bedömning dygnet runt"
            in sections)
    assert "7.2.2 Genomför försöksverksamhet med Magnetmodellen i kommunal hälso- och sjukvård" in sections
    follow = next(p for p in sos if p.text.startswith("Av relevans för tillgång till medicinsk bedömning"))
    assert section_number(follow.section) == "4.1.1"


def test_unnumbered_headings_of_vgr(paragraphs):
    vgr = by_doc(paragraphs, "vastra-gotalandsregionen")
    sections = {p.section for p in vgr}
    assert {"Lagkrav på tillgång till medicinsk bedömning dygnet runt", "Stärkta avtal om läkarmedverkan",
            "En ordning där kommuner kan anställa läkare"} <= sections
    assert "Förslag på åtgärder som gör det mer attraktivt för läkare att arbeta i den kommunala hälso- och sjukvården" \
        in sections


def test_summary_bullets_are_list_items(paragraphs):
    bullets = [p for p in by_doc(paragraphs, "socialstyrelsen") if p.kind == "bullet"]
    assert len(bullets) == 10
    assert all(p.text.startswith("•") for p in bullets)
    fss = [p for p in by_doc(paragraphs, "sveriges-socialchefer") if p.kind == "bullet"]
    assert len(fss) == 6  # the dash inside "… sjukvården – FSS instämmer" starts no item


def test_signatures_and_footnotes(paragraphs):
    kinds = {p.text: p.kind for p in paragraphs}
    assert kinds["Monica Persson"] == "signature"
    assert kinds["Regiondirektör"] == "signature"
    assert kinds["Stockholm den 5 mars 2025"] == "signature"
    notes = [p for p in by_doc(paragraphs, "socialstyrelsen") if p.kind == "footnote"]
    assert len(notes) == 3 and all("https://" in p.text for p in notes)


def test_a_heading_followed_by_a_heading_stands_alone(paragraphs):
    stockholm = {p.text: p for p in by_doc(paragraphs, "stockholms-stad")}
    assert stockholm["Reservationer m.m."].kind == "heading"


def test_docx_layout_breaks_at_every_paragraph():
    text = ("5.4 Det ska inte vara förbjudet\n\nSocialstyrelsen tillstyrker förslaget.\n\n"
            "Utredningens förslag ställer krav på samordning.")
    document = clean("d", "d.docx", RawPages([text], layout="paragraphs"), "0")
    texts = [p.text for p in segment(document)]
    assert texts == ["5.4 Det ska inte vara förbjudet Socialstyrelsen tillstyrker förslaget.",
                     "Utredningens förslag ställer krav på samordning."]
