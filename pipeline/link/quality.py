"""How well links find the gold: recall over gold statements, precision on gold paragraphs
(the same definitions as ../shared/check/measure.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..gold import norm
from ..records import Link, Paragraph, Statement


@dataclass(frozen=True)
class LinkQuality:
    #: gold statements (target ≠ "*") whose paragraph is linked to their target
    recall: float
    #: links on paragraphs that hold a gold statement that point to one of its targets
    precision: float
    statements: int
    missed: tuple[str, ...]
    wrong: tuple[str, ...]


def link_quality(statements: Sequence[Statement], paragraphs: Sequence[Paragraph],
                 links: Sequence[Link]) -> LinkQuality:
    by_doc: dict[str, list[tuple[str, str]]] = {}
    for p in paragraphs:
        by_doc.setdefault(p.doc, []).append((p.id, norm(p.text)))
    linked: dict[tuple[str, str], set[str]] = {}
    for item in links:
        linked.setdefault((item.doc, item.paragraph), set()).add(item.target)
    concrete = [s for s in statements if s.target != "*"]
    gold: dict[tuple[str, str], set[str]] = {}
    hits, missed = 0, []
    for s in concrete:
        quote = norm(s.quote)
        holders = [pid for pid, text in by_doc.get(s.doc, []) if quote in text]
        key = (s.doc, holders[0]) if len(holders) == 1 else None
        if key:
            gold.setdefault(key, set()).add(s.target)
        if key and s.target in linked.get(key, set()):
            hits += 1
        else:
            missed.append(f"{s.doc} {s.target}: {s.quote[:60]}")
    predicted = [(key, t) for key in gold for t in sorted(linked.get(key, set()))]
    wrong = [f"{key[0]} {key[1]} → {t}" for key, t in predicted if t not in gold[key]]
    return LinkQuality(
        recall=round(hits / len(concrete), 4) if concrete else 0.0,
        precision=round(1 - len(wrong) / len(predicted), 4) if predicted else 0.0,
        statements=len(concrete), missed=tuple(missed), wrong=tuple(wrong))
