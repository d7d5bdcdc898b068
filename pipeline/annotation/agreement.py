"""Agreement between annotators: Cohen's kappa per pair (scikit-learn's) and Fleiss' kappa
over everyone, per label set, with the disagreements listed for adjudication."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from sklearn.metrics import cohen_kappa_score

from ..records import LABELS, Paragraph
from ..referral import Referral
from .log import CATEGORIES, NO_PAIR, read_corrections
from .merge import collect_votes, resolve


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """scikit-learn's Cohen's kappa, nan where it is undefined (both annotators gave one and the
    same label throughout) instead of a warning and a division by zero."""
    if len(a) != len(b) or not a:
        raise ValueError("two equally long, non-empty label lists are needed")
    if len(set(a) | set(b)) == 1:
        return float("nan")
    return float(cohen_kappa_score(a, b))


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa from a subjects × categories table of rating counts.

    Subjects may have different numbers of raters (at least 2): each subject's agreement
    P_i = (Σ_j n_ij² − n_i) / (n_i (n_i − 1)) and the category shares p_j = Σ_i n_ij / Σ_i n_i;
    with the same number of raters everywhere this is Fleiss (1971)."""
    rows = [[int(x) for x in row] for row in table if sum(row) >= 2]
    if not rows:
        return float("nan")
    total = sum(sum(r) for r in rows)
    shares = [sum(r[j] for r in rows) / total for j in range(len(rows[0]))]
    per_subject = [(sum(x * x for x in r) - sum(r)) / (sum(r) * (sum(r) - 1)) for r in rows]
    p_bar = sum(per_subject) / len(rows)
    p_e = sum(p * p for p in shares)
    if p_e == 1:
        return float("nan")
    return (p_bar - p_e) / (1 - p_e)


#: the label sets agreement is measured on: name → (its categories, the category of a decision's
#: outcome, None where the outcome is outside the set). Annotators can agree that a paragraph
#: takes a stance on a target yet disagree on which, so each question gets its own kappa.
LABEL_SETS: dict[str, tuple[tuple[str, ...], Callable[[str], str | None]]] = {
    # the whole decision: one of the four stances, or no stance on this target
    "stance or none": (CATEGORIES, lambda outcome: outcome),
    # which stance, among the decisions that give one
    "stance": (LABELS, lambda outcome: outcome if outcome in LABELS else None),
    # whether the paragraph takes a stance on the target at all
    "any stance": (("stance", NO_PAIR), lambda outcome: NO_PAIR if outcome == NO_PAIR else "stance"),
}


def format_kappa(value: float, digits: int = 3) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


@dataclass
class AgreementReport:
    annotators: list[str]
    #: keys decided by at least two annotators
    items: int
    #: per label set and annotator pair with shared items: {"labels", "a", "b", "n", "kappa"}
    cohen: list[dict]
    #: per label set, all annotators together: {"labels", "n", "kappa"}
    fleiss: list[dict]
    #: where annotators differ: {"doc", "paragraph", "target", "labels": {annotator: outcome},
    #: "resolved": the outcome the merge's rule gives (gold still wins over it), "text"}
    disagreements: list[dict]

    def summary(self) -> str:
        lines = [f"annotators: {', '.join(self.annotators) or 'none'}; items decided by ≥2: {self.items}"]
        lines += [f"Fleiss' kappa, {r['labels']} ({r['n']} items): {format_kappa(r['kappa'])}" for r in self.fleiss]
        lines += [f"Cohen's kappa {r['a']} × {r['b']}, {r['labels']} ({r['n']} items): {format_kappa(r['kappa'])}"
                  for r in self.cohen]
        lines.append(f"disagreements: {len(self.disagreements)}")
        return "\n".join(lines)


def agreement(corrections_dir: Path, paragraphs: Sequence[Paragraph] | None = None,
              referral: Referral | None = None) -> AgreementReport:
    """Cohen's kappa per annotator pair and Fleiss' kappa over everyone, per label set
    (:data:`LABEL_SETS`), on the keys that at least two annotators decided (their latest
    decision each; "skip" does not count). With ``paragraphs``, stale decisions are left out
    and the disagreement rows carry the paragraph text."""
    votes, _ = collect_votes(read_corrections(corrections_dir), paragraphs, referral)
    shared = {key: key_votes for key, key_votes in sorted(votes.items()) if len(key_votes) >= 2}
    annotators = sorted({a for key_votes in votes.values() for a in key_votes})
    cohen, fleiss = [], []
    for name, (categories, category) in LABEL_SETS.items():
        rated = [{a: category(v.outcome) for a, v in key_votes.items() if category(v.outcome) is not None}
                 for key_votes in shared.values()]
        for i, a in enumerate(annotators):
            for b in annotators[i + 1:]:
                both = [(r[a], r[b]) for r in rated if a in r and b in r]
                if both:
                    cohen.append({"labels": name, "a": a, "b": b, "n": len(both),
                                  "kappa": cohen_kappa([x for x, _ in both], [y for _, y in both])})
        table = [[sum(c == label for c in r.values()) for label in categories] for r in rated if len(r) >= 2]
        if table:
            fleiss.append({"labels": name, "n": len(table), "kappa": fleiss_kappa(table)})
    texts = {(p.doc, p.id): p.text for p in paragraphs or ()}
    disagreements = [{"doc": key[0], "paragraph": key[1], "target": key[2],
                      "labels": {a: v.outcome for a, v in sorted(key_votes.items())},
                      "resolved": "{} ({})".format(*resolve(key_votes)), "text": texts.get(key[:2], "")}
                     for key, key_votes in shared.items() if len({v.outcome for v in key_votes.values()}) > 1]
    return AgreementReport(annotators=annotators, items=len(shared), cohen=cohen, fleiss=fleiss,
                           disagreements=disagreements)
