"""Windows: the sentences of a linked paragraph that speak about its target.

A paragraph often holds a verdict on its target, a comment, and a remark on something else
("… avstyrker förslaget i SOU 2022:41"); read whole, the three blur, and a paragraph with a
hesitant and an oppose statement can only yield one of them. So a stance model reads one
sentence at a time: every sentence that names the target (number, title, alias), carries a
stance cue, or is the one most similar to the target, and none that names only other targets. The list's lead-in ("Socialstyrelsen avstyrker:") stays in front (:class:`Pair`).
"""
from __future__ import annotations

import math
import re
from typing import Sequence

from ..records import Paragraph, Target
from ..referral import Referral
from ..text.sentences import sentences

Span = tuple[int, int]

_WORD = re.compile(r"\w{4,}")


def sentence_spans(text: str) -> list[Span]:
    """The sentences of ``text`` without surrounding white space; the whole text if it has none."""
    spans = []
    for start, end in sentences(text):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans or [(0, len(text))]


def mentions(text: str, target: Target) -> list[int]:
    """Where ``text`` names ``target``: its number ("(4.1.1)", not "4.1.10") or a title or
    alias it repeats, as the linker reads them."""
    from ..link.rules import name_matches

    number = re.compile(rf"(?<![\d.]){re.escape(target.id)}(?!\d|\.\d)")
    places = [m.start() for m in number.finditer(text)]
    places += [m.start for m in name_matches(text, len(text), [target])]
    return sorted(places)


def named_targets(text: str, referral: Referral) -> set[str]:
    """The registry targets ``text`` names by number (the linker's notion of a section
    number) or by a title or alias it repeats."""
    from ..link.rules import link_numbers, name_matches

    numbered = {item.target for item in link_numbers(Paragraph("", "", text, "paragraph", None, 0, len(text)), referral)}
    return numbered | {m.target for m in name_matches(text, len(text), referral.targets)}


def _stems(text: str) -> set[str]:
    from ..link.rules import stem

    return {stem(w) for w in _WORD.findall(text.lower())}


def most_similar(texts: Sequence[str], target: Target) -> int:
    """The index of the text sharing most word stems with the target's title, summary and
    aliases (normalised by the text's length, so a long sentence does not win by size)."""
    names = _stems(" ".join((target.title, target.summary, *target.aliases, *target.alt_titles)))

    def score(i: int) -> float:
        words = _stems(texts[i])
        return len(words & names) / math.sqrt(len(words)) if words else 0.0

    return max(range(len(texts)), key=lambda i: (score(i), -i))


def windows(text: str, target: Target, referral: Referral) -> list[Span]:
    """The spans of ``text`` a stance model reads for ``target``, in text order."""
    from .lexicon import cue_hits

    spans = sentence_spans(text)
    if len(spans) == 1:
        return spans
    pieces = [text[start:end] for start, end in spans]
    similar = most_similar(pieces, target)
    kept = []
    for i, piece in enumerate(pieces):
        named = named_targets(piece, referral)
        if named and target.id not in named:
            continue  # about other targets (rule 3 of labels/ANNOTATION.md)
        if target.id in named or mentions(piece, target) or cue_hits(piece) or i == similar:
            kept.append(spans[i])
    return kept or spans
