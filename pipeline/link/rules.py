"""The rules a response's own words give: numbers it cites, titles and aliases it repeats,
the section heading it sits under. Registered in order of trust by :func:`pipeline.link.link`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from ..records import Link, Paragraph, Target
from ..referral import Referral
from ..segment import section_number
from ..text.sentences import sentences

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


def resolve(number: str, referral: Referral) -> tuple[str, float] | None:
    """The registry target a number names: itself, or its nearest listed ancestor (4.3.2 → 4.3)."""
    parts = number.split(".")
    for depth in range(len(parts), 0, -1):
        candidate = ".".join(parts[:depth])
        if candidate in referral.ids:
            return candidate, 1.0 if depth == len(parts) else 0.9
    return None


def cited_numbers(text: str) -> list[tuple[int, str]]:
    """The section numbers ``text`` cites, with where: not law or document references, dates,
    amounts or pointers elsewhere ("Se även 4.2.3"); a bare "8" only at the start or after
    "avsnitt"/"kapitel"."""
    found = []
    for match in NUMBER.finditer(text):
        # the words next to a number decide; a bounded window keeps a long paragraph linear
        before, after = text[max(0, match.start() - 40): match.start()], text[match.end(): match.end() + 40]
        number = match.group(1)
        if NOT_A_SECTION_BEFORE.search(before) or NOT_A_SECTION_AFTER.match(after) or CROSS_REFERENCE.search(before):
            continue
        if "." not in number and not (match.start() == 0 or SECTION_WORD.search(before)):
            continue
        found.append((match.start(), number))
    return found


def link_numbers(paragraph: Paragraph, referral: Referral) -> list[Link]:
    found: dict[str, float] = {}
    for _, number in cited_numbers(paragraph.text):
        resolved = resolve(number, referral)
        if resolved and resolved[1] > found.get(resolved[0], 0):
            found[resolved[0]] = resolved[1]
    return [Link(paragraph.doc, paragraph.id, t, "number", s) for t, s in found.items()]


def stem(word: str) -> str:
    # crude Swedish stemming: "anställa" ~ "anställer", "läkare" ~ "läkarna", "sanktioner" ~ "sanktionerna"
    return word[:-2] if len(word) >= 7 else word[:-1] if len(word) >= 5 else word


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern:
    words = [re.escape(w) + r"\w{0,5}" for w in _name_stems(name)]
    # up to two words may come between: "anställa framförallt behandlade läkare"
    return re.compile(r"(?<!\w)" + r"\s+(?:\S+\s+){0,2}".join(words) + r"(?!\w)")


@lru_cache(maxsize=4096)
def _name_stems(name: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in name.lower().split())


def lead_end_of(paragraph: Paragraph) -> int:
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


def name_matches(text: str, lead_end: int, targets: Sequence[Target]) -> list[NameMatch]:
    """Where ``text`` repeats targets' titles or aliases; a match inside a longer match of
    another target gives way to it ("avancerad specialistsjuksköterska" is 7.2.4, not 7.2.3)."""
    lowered = text.lower()
    found = []
    for target in targets:
        titles = (target.title, *target.alt_titles)
        for name in (*titles, *target.aliases):
            # the pattern matches only where every word's stem is in the text: most names are
            # not, and a substring test is far cheaper than the regular expression
            if not all(s in lowered for s in _name_stems(name)):
                continue
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
        if all(any(n.startswith(stem(w)) for n in name_words) for w in words):
            return True
    return False


def link_section(paragraph: Paragraph, referral: Referral) -> list[Link]:
    if not paragraph.section:
        return []
    number = section_number(paragraph.section)
    if number:
        resolved = resolve(number, referral)
        return [Link(paragraph.doc, paragraph.id, resolved[0], "section", 0.95 * resolved[1])] if resolved else []
    best: dict[str, float] = {}
    for m in name_matches(paragraph.section, len(paragraph.section), referral.targets):
        best[m.target] = max(best.get(m.target, 0), 0.9 * m.score)
    return [Link(paragraph.doc, paragraph.id, t, "section", s) for t, s in best.items()]


LABEL = re.compile(r"^(?:[•◦▪●■*\-–—]\s*)?([^:.\-–]{3,60})(?::|\s[-–]\s)")


def link_names(paragraph: Paragraph, referral: Referral, lead_end: int) -> list[Link]:
    best: dict[str, float] = {}
    for m in name_matches(paragraph.text, lead_end, referral.targets):
        best[m.target] = max(best.get(m.target, 0), m.score)
    links = [Link(paragraph.doc, paragraph.id, t, "title" if s > 0.9 else "alias", s) for t, s in best.items()]
    label = LABEL.match(paragraph.text)
    if label and not links:
        matching = [t for t in referral.targets if _label_matches(label.group(1), t)]
        if len(matching) == 1:
            links.append(Link(paragraph.doc, paragraph.id, matching[0].id, "label", 0.75))
    return links


def best_per_target(links: list[Link]) -> list[Link]:
    """One link per target, the most trusted; order of first appearance."""
    best: dict[str, Link] = {}
    for item in links:
        if item.target not in best or item.score > best[item.target].score:
            best[item.target] = item
    return list(best.values())


def link_by_rules(paragraph: Paragraph, referral: Referral) -> list[Link]:
    """A paragraph's links from its own words: cited numbers first (the author saying what the
    paragraph is about; then nothing weaker is consulted), else the titles and aliases it
    repeats and the section it sits under."""
    found = link_numbers(paragraph, referral)
    if found:
        return found
    lead_end = lead_end_of(paragraph)
    named = link_names(paragraph, referral, lead_end)
    section = link_section(paragraph, referral)
    # a paragraph whose lead names other targets has left its section's topic
    lead_named = {m.target for m in name_matches(paragraph.text[:lead_end], lead_end, referral.targets)}
    if lead_named and not lead_named & {item.target for item in section}:
        section = []
    return best_per_target(section + named)
