"""link: paragraphs × a referral's targets → the targets each paragraph is about.

Linkers run in order of trust. An explicit number of a registry target ("(4.1.1)",
"avsnitt 7.2.3") is the author telling us what the paragraph is about, so when a paragraph
has one, the weaker cues are not consulted. Otherwise the titles and aliases it repeats and
the section it sits under are linked (:mod:`.rules`). A paragraph none of these reaches is
ranked against all the referral's targets, and linked where one target stands out relative
to the others (:mod:`.ranking`). Statements on the report as a whole link to its ``helhet``
target, whatever else the paragraph is linked to (:mod:`.whole`).
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..embed import E5, Encoder
from ..params import load_section
from ..records import Link, Paragraph, read_jsonl, write_jsonl
from ..referral import Referral, load_referral
from .ranking import Ranker, default_ranker, link_ranked, target_text
from .rules import link_by_rules, link_numbers
from .whole import link_whole

log = logging.getLogger("remiss")

__all__ = ["LINKABLE_KINDS", "LinkParams", "link", "link_numbers", "target_text"]

LINKABLE_KINDS = frozenset({"paragraph", "bullet", "heading"})


@dataclass(frozen=True)
class LinkParams:
    #: rank what no rule reached (e5 + TF-IDF); off: rules only
    semantic: bool = True
    #: a target stands out when its fused score is this many standard deviations above the
    #: mean over the referral's targets; calibrated on the number-free seeds (docs/linking.md)
    min_z: float = 2.0
    #: weight of the TF-IDF ranker against e5's in the fused score (0.5: equal)
    lexical_weight: float = 0.5


def link(paragraphs: Sequence[Paragraph], referral: Referral, params: LinkParams = LinkParams(),
         encoder: Encoder | None = E5, ranker: Ranker | None = None) -> list[Link]:
    """Links of ``paragraphs`` to ``referral``'s targets, in paragraph order; ``ranker``
    replaces the default (``encoder``'s e5 fused with TF-IDF) for what no rule reached."""
    linkable = [p for p in paragraphs if p.kind in LINKABLE_KINDS]
    links: list[Link] = []
    unlinked: list[Paragraph] = []
    for paragraph in linkable:
        found = link_by_rules(paragraph, referral)
        links.extend(found)
        if not found and paragraph.kind != "heading":
            unlinked.append(paragraph)
        links.extend(link_whole(paragraph, referral))
    if ranker is None and encoder is not None:
        ranker = default_ranker(encoder, params.lexical_weight)
    if params.semantic and ranker is not None and unlinked:
        ranker.fit([t for t in referral.targets if t.kind != "helhet"], [p.text for p in linkable])
        links.extend(link_ranked(unlinked, ranker, params.min_z))
    order = {(p.doc, p.id): n for n, p in enumerate(paragraphs)}
    return sorted(links, key=lambda l: (order[(l.doc, l.paragraph)], -l.score, l.target))


# --- CLI ---------------------------------------------------------------------------------------

def link_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--out", type=Path, default=Path("data/links.jsonl"))
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads its 'link' section")
    p.add_argument("--no-semantic", dest="semantic", action="store_false", default=None,
                   help="skip the semantic (e5) linker")


def link_cmd(args: argparse.Namespace) -> int:
    params = load_section(args.params, "link", LinkParams, semantic=args.semantic)
    paragraphs = read_jsonl(args.paragraphs, Paragraph)
    links = link(paragraphs, load_referral(args.referral), params)
    write_jsonl(args.out, links)
    log.info("%d links on %d paragraphs → %s", len(links), len({(l.doc, l.paragraph) for l in links}), args.out)
    return 0
