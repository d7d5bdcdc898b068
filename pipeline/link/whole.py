"""The report as a whole: statements on the referral itself ("betänkandet i sin helhet",
"flera av utredningens förslag", "förslagen i stort") link to the registry's ``helhet`` target.

That is a position on the report, its own column in the matrix, and not a blanket clause:
"I de fall frågorna inte kommenteras nedan tillstyrker vi förslagen" says nothing about the
report as such but gives each uncommented proposal a stance (:mod:`pipeline.text.blanket`).
"""
from __future__ import annotations

import re

from ..text.blanket import UNCOMMENTED
from ..records import Link, Paragraph, Target
from ..referral import Referral
from .rules import name_matches

_REPORT_STEM = r"(?:betänkande|utredning|promemoria|rapport|remiss)"
_REPORT = rf"{_REPORT_STEM}(?:ts?|ens?|ns?|s)?"
#: the report itself, not its genitive ("tillstyrker utredningen", not "utredningens förslag att …")
_THE_REPORT = rf"{_REPORT_STEM}(?:t|en|n)?"
_PROPOSALS = r"(?:förslag(?:en)?|bedömningar(?:na)?|slutsatser(?:na)?)"
#: the usual Swedish ways of speaking of a report as a whole or of most of its proposals
WHOLE_REPORT = re.compile(
    rf"\b{_REPORT}\s+(?:i\s+sin\s+helhet|som\s+helhet|i\s+stort|i\s+huvudsak|i\s+allt\s+väsentligt)"
    rf"|\b(?:flera|många|merparten|huvuddelen|de\s+flesta|samtliga|alla|majoriteten|flertalet)\s+(?:av\s+)?"
    rf"(?:{_REPORT}\s+|de\s+)?{_PROPOSALS}"
    rf"|\bförslagen\s+(?:i\s+stort|i\s+sin\s+helhet|som\s+helhet|i\s+huvudsak)"
    rf"|\b{_REPORT}\s+förslag\s+och\s+bedömningar"
    rf"|\b(?:positiv\w*|negativ\w*|kritisk\w*|tveksam\w*)\s+till\s+{_THE_REPORT}\b"
    rf"|\b(?:tillstyrker|avstyrker|välkomnar|stödjer|ställer\s+sig\s+bakom)\s+{_THE_REPORT}\b", re.I)


def whole_target(referral: Referral) -> Target | None:
    return next((t for t in referral.targets if t.kind == "helhet"), None)


def link_whole(paragraph: Paragraph, referral: Referral) -> list[Link]:
    """A link to the ``helhet`` target where a sentence of ``paragraph`` takes a stance on the
    report as a whole (by the phrases above or the target's own title and aliases)."""
    from ..stance.lexicon import cue_hits
    from ..stance.windows import sentence_spans

    target = whole_target(referral)
    if target is None or paragraph.kind not in ("paragraph", "bullet"):
        return []
    for start, end in sentence_spans(paragraph.text):
        sentence = paragraph.text[start:end]
        if UNCOMMENTED.search(sentence) or not cue_hits(sentence):
            continue
        if WHOLE_REPORT.search(sentence) or name_matches(sentence, len(sentence), [target]):
            return [Link(paragraph.doc, paragraph.id, target.id, "whole", 0.8)]
    return []
