"""Gold + corrections → the pairs of the next training run: gold always wins, annotators who
disagree are resolved by majority and then the most recent decision, every conflict is
listed, and a decision whose paragraph text changed is stale, not applied."""
from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from ..records import Link, Paragraph
from ..referral import Referral
from ..stance.data import Pair, link_pairs
from .log import NO_PAIR, BadLine, Decision, LogRead, read_corrections
from .queue import Key, text_hash


@dataclass(frozen=True)
class Vote:
    annotator: str
    outcome: str  # a stance, or NO_PAIR
    decision: Decision


@dataclass(frozen=True)
class Applied:
    key: Key
    outcome: str
    annotators: tuple[str, ...]  # those whose vote is the outcome
    rule: str  # "single", "unanimous", "majority" or "tie: most recent"


@dataclass(frozen=True)
class Conflict:
    key: Key
    votes: dict[str, str]  # annotator → outcome
    resolved: str
    rule: str


@dataclass(frozen=True)
class Stale:
    decision: Decision
    reason: str


@dataclass
class MergeResult:
    #: the next run's training data: the gold pairs, then the corrections' pairs in document
    #: order (the same as ``gold_pairs(statements, paragraphs, referral, extra_pairs=corrections)``)
    pairs: list[Pair]
    applied: list[Applied]
    conflicts: list[Conflict]
    stale: list[Stale]
    #: corrections on a (doc, paragraph, target) that gold already labels: gold wins
    overridden_by_gold: list[Vote] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    #: the pairs the corrections add (``pairs`` minus gold)
    corrections: list[Pair] = field(default_factory=list)

    def summary(self) -> str:
        by_outcome = Counter(a.outcome for a in self.applied)
        lines = [f"training pairs: {len(self.pairs)} ({len(self.pairs) - len(self.corrections)} gold, "
                 f"{len(self.corrections)} from corrections)",
                 "corrections applied: " + (", ".join(f"{k} {v}" for k, v in sorted(by_outcome.items())) or "none"),
                 f"overridden by gold: {len(self.overridden_by_gold)}",
                 f"stale, not applied: {len(self.stale)}",
                 f"conflicts between annotators: {len(self.conflicts)}"]
        lines += [f"  {' '.join(c.key)}: {c.votes} → {c.resolved} ({c.rule})" for c in self.conflicts]
        lines += [f"  stale: {s.decision.annotator} {' '.join(s.decision.key)}: {s.reason}" for s in self.stale]
        lines += [f"  unreadable: {b.path}:{b.line}: {b.reason}" for b in self.bad_lines]
        return "\n".join(lines)


def _timestamp_order(decision: Decision) -> datetime:
    """When a decision was made (a missing or unreadable timestamp sorts first)."""
    try:
        when = datetime.fromisoformat(decision.timestamp)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def collect_votes(logs: dict[str, LogRead], paragraphs: Sequence[Paragraph] | None,
                  referral: Referral | None) -> tuple[dict[Key, dict[str, Vote]], list[Stale]]:
    """Each annotator's latest vote on each key, and the decisions that could not be used.

    A decision is stale when its paragraph is gone or its text changed (``text_hash``), or
    when its target (or new target) is no longer in the registry; "skip" votes nothing, so
    it does not supersede an earlier decision.
    """
    current = {(p.doc, p.id): text_hash(p.text) for p in paragraphs} if paragraphs is not None else None
    votes: dict[Key, dict[str, Vote]] = defaultdict(dict)
    stale: list[Stale] = []
    ordered = sorted(((n, d) for log in logs.values() for n, d in enumerate(log.decisions)),
                     key=lambda nd: (_timestamp_order(nd[1]), nd[0]))
    for _, decision in ordered:
        if decision.action == "skip":
            continue
        if current is not None:
            now_hash = current.get((decision.doc, decision.paragraph))
            if now_hash is None:
                stale.append(Stale(decision, "the paragraph is no longer in the segmented response"))
                continue
            if now_hash != decision.text_hash:
                stale.append(Stale(decision, f"paragraph text changed (hash {decision.text_hash} → {now_hash})"))
                continue
        if referral is not None:
            missing = [t for t in (decision.target, decision.new_target) if t and t not in referral.ids]
            if missing:
                stale.append(Stale(decision, f"target {missing[0]} is not in the registry"))
                continue
        for key, outcome in decision.outcomes():
            votes[key][decision.annotator] = Vote(decision.annotator, outcome, decision)
    return votes, stale


def resolve(votes: dict[str, Vote]) -> tuple[str, str]:
    """The outcome of one key and the rule that chose it: the majority of the annotators'
    latest votes; a tie goes to the most recent decision among the tied outcomes."""
    counts = Counter(v.outcome for v in votes.values())
    if len(votes) == 1:
        return next(iter(counts)), "single"
    if len(counts) == 1:
        return next(iter(counts)), "unanimous"
    top = max(counts.values())
    tied = {o for o, n in counts.items() if n == top}
    if len(tied) == 1:
        return tied.pop(), "majority"
    latest = max((v for v in votes.values() if v.outcome in tied), key=lambda v: _timestamp_order(v.decision))
    return latest.outcome, "tie: most recent"


def merge_training_data(gold_pairs: Sequence[Pair], corrections_dir: Path, paragraphs: Sequence[Paragraph],
                        referral: Referral) -> MergeResult:
    """The training data of the next run: the gold pairs plus the annotators' corrections.

    Rules:

    * Per annotator, the latest decision on a (doc, paragraph, target) counts ("skip" is
      ignored; "back" and deciding again supersedes).
    * A decision whose ``text_hash`` no longer matches the current paragraph text (the
      response changed), or whose paragraph or target is gone, is reported in ``stale`` and
      not applied.
    * Gold always wins: corrections on a key that gold labels are reported in
      ``overridden_by_gold`` and change nothing.
    * Annotators who disagree: majority vote over their latest decisions; a tie goes to the
      most recent decision among the tied outcomes. Every such key is listed in
      ``conflicts`` with each annotator's vote.
    * "accept" and "relabel" give a pair with that stance; "retarget" removes the pair on
      the old target and gives one on the new target; "not_stance" and "remove_target"
      give no pair (and are listed in ``applied`` with outcome ``"none"``).
    """
    logs = read_corrections(corrections_dir)
    votes, stale = collect_votes(logs, paragraphs, referral)
    gold_keys = {pair_key(p) for p in gold_pairs}
    position = {(p.doc, p.id): n for n, p in enumerate(paragraphs)}
    target_order = {t.id: n for n, t in enumerate(referral.targets)}
    applied, conflicts, overridden, labelled = [], [], [], []
    for key in sorted(votes, key=lambda k: (position[k[:2]], target_order[k[2]])):  # collect_votes checked both
        key_votes = votes[key]
        if key in gold_keys:
            overridden.extend(key_votes.values())
            continue
        outcome, rule = resolve(key_votes)
        if len({v.outcome for v in key_votes.values()}) > 1:
            conflicts.append(Conflict(key, {a: v.outcome for a, v in sorted(key_votes.items())}, outcome, rule))
        applied.append(Applied(key, outcome, tuple(sorted(a for a, v in key_votes.items() if v.outcome == outcome)),
                               rule))
        if outcome != NO_PAIR:
            labelled.append((key, outcome))
    extra = correction_pairs(labelled, paragraphs, referral)
    bad = [b for log in logs.values() for b in log.bad]
    return MergeResult(pairs=[*gold_pairs, *extra], applied=applied, conflicts=conflicts, stale=stale,
                       overridden_by_gold=overridden, bad_lines=bad, corrections=extra)


def pair_key(pair: Pair) -> Key:
    return (pair.doc, pair.paragraph, pair.target)


def correction_pairs(outcomes: Sequence[tuple[Key, str]], paragraphs: Sequence[Paragraph],
                     referral: Referral) -> list[Pair]:
    """Labelled pairs for (key, stance) outcomes, built exactly as the pipeline builds the
    pairs it classifies (:func:`pipeline.stance.data.link_pairs`: target text, list lead-in)."""
    links = [Link(doc, paragraph, target, "correction", 1.0) for (doc, paragraph, target), _ in outcomes]
    return [dataclasses.replace(pair, label=stance)
            for pair, (_, stance) in zip(link_pairs(links, paragraphs, referral), outcomes)]
