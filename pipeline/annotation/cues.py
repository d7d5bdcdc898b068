"""The stance cues of an item's text, highlighted on screen: the lexicon's cues, a negation
right after a cue joined to it."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Iterable

from ..report import COLOURS
from ..stance.lexicon import CUES, cue_hits

#: a negation right after a cue belongs to it on screen ("instämmer inte")
_TRAILING_NEGATION = re.compile(r"\s+(?:inte|ej|icke)\b", re.I)


@dataclass(frozen=True)
class CueSpan:
    start: int
    end: int
    #: the label the cue signals, negation applied (a hint for the annotator, not a rule)
    label: str


def find_cues(text: str) -> list[CueSpan]:
    """The stance cues in ``text``, left to right: the lexicon baseline's cues
    (:data:`pipeline.stance.baselines.CUES`, the cues of ANNOTATION.md and evaluative
    predicates), with its negation handling for the label; where two overlap the longer one wins."""
    labels = {hit.start: hit.label for hit in cue_hits(text)}
    found = []
    for cue in CUES:
        for m in re.compile(cue.pattern.pattern, cue.pattern.flags | re.I).finditer(text):
            end = m.end()
            negation = _TRAILING_NEGATION.match(text, end)
            if negation and cue.negatable:
                end = negation.end()
            found.append(CueSpan(m.start(), end, labels.get(m.start(), cue.label)))
    found.sort(key=lambda c: (c.start, -(c.end - c.start)))
    out: list[CueSpan] = []
    for cue in found:
        if out and cue.start < out[-1].end:
            continue
        out.append(cue)
    return out


def highlight_html(text: str, cues: Iterable[CueSpan]) -> str:
    """``text`` as HTML with each cue in a ``<mark>`` in its label's colour (the report's),
    the label on hover; everything escaped."""
    out, at = [], 0
    for cue in sorted(cues, key=lambda c: c.start):
        if cue.start < at:
            continue
        background = COLOURS[cue.label][1]
        out += [html.escape(text[at:cue.start]),
                f"<mark style='background:{background}' title='{html.escape(cue.label)}'>",
                html.escape(text[cue.start:cue.end]), "</mark>"]
        at = cue.end
    out.append(html.escape(text[at:]))
    return "".join(out).replace("\n", "<br>")
