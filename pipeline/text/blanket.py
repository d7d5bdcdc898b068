"""Blanket clauses: what a response says about the proposals it does not comment on.

"I de fall frågorna inte kommenteras nedan tillstyrker Stockholms stad förslagen" gives
every proposal and assessment the response does not otherwise address that stance; "Detta
ska inte tolkas som att VGR därmed ställer sig bakom delar som inte kommenteras" says
there is no such default.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ..records import Paragraph
from .sentences import sentences

#: the sentence speaks about what is not commented on
UNCOMMENTED = re.compile(
    r"(?:inte|ej) (?:kommentera[ts]?|berör[ts]?|behandla[ts]?|tar upp|nämn[ts]?)|i övrigt|i övriga delar"
    r"|övriga förslag|övriga delar|de förslag som inte", re.I)
#: ... and says that silence is not consent
NO_DEFAULT = re.compile(
    r"(?:inte|ej) (?:ska |skall |bör )?(?:tolkas|uppfattas|ses|betraktas|innebär|betyder)"
    r"|innebär inte att|betyder inte att|inget ställningstagande|tar (?:inte|ej) ställning", re.I)
STANCE_VERBS: tuple[tuple[str, re.Pattern], ...] = (
    ("oppose", re.compile(r"\bavstyrk\w*|\bmotsätter\b", re.I)),
    ("support", re.compile(r"\btillstyrk\w*|\binstämmer\b|\bställer sig bakom\b|\bställer sig positiv\w*"
                           r"|\b(?:har )?inga? (?:invändningar|synpunkter|erinringar)\b"
                           r"|\binget att invända\b|\bstödjer\b|\bdelar\b", re.I)),
    ("neutral", re.compile(r"\bavstår\b", re.I)),
)


@dataclass(frozen=True)
class BlanketClause:
    doc: str
    paragraph: str
    #: the stance every uncommented proposal gets; None for a "no default" clause
    stance: str | None
    text: str


def find_blanket_clauses(paragraphs: Sequence[Paragraph]) -> list[BlanketClause]:
    clauses = []
    for paragraph in paragraphs:
        if paragraph.kind not in ("paragraph", "bullet"):
            continue
        for start, end in sentences(paragraph.text):
            sentence = paragraph.text[start:end]
            if not UNCOMMENTED.search(sentence):
                continue
            if NO_DEFAULT.search(sentence):
                clauses.append(BlanketClause(paragraph.doc, paragraph.id, None, sentence))
                continue
            stance = next((label for label, verb in STANCE_VERBS if verb.search(sentence)), None)
            if stance and re.search(r"förslag|frågor|delar|bedömning", sentence, re.I):
                clauses.append(BlanketClause(paragraph.doc, paragraph.id, stance, sentence))
    return clauses


def default_stance(clauses: Sequence[BlanketClause]) -> BlanketClause | None:
    """The clause that sets the default, if any: an explicit "no default" wins over a default."""
    if any(c.stance is None for c in clauses):
        return None
    return clauses[0] if clauses else None
