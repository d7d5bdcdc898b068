"""aggregate: paragraph-level stance predictions → the document × target matrix.

The rules a careful reader applies: only the organisation's own voice decides a cell
(boards, administrations and party statements are kept as "voices" beside it); an explicit
verdict (support, oppose, hesitant) outranks a neutral comment on the same target; when
verdicts disagree (a summary bullet against the body) the cell takes the one the
probabilities favour and is flagged; a blanket clause gives every proposal and assessment
the response does not address in its own voice a default stance.
"""
from __future__ import annotations

import argparse
import logging
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from .text.blanket import BlanketClause, default_stance, find_blanket_clauses
from .records import Cell, Paragraph, Prediction, read_jsonl, write_jsonl
from .referral import Referral, load_referral
from .text.speakers import by_doc, document_speakers
from .stance.data import VERDICTS, StancePrediction, combine

log = logging.getLogger(__name__)


def _cell(doc: str, target: str, speaker: str, predictions: list[Prediction]) -> Cell:
    stance, backing_at = combine([StancePrediction(p.stance, p.probs) for p in predictions])
    backing = [predictions[i] for i in backing_at]
    confidence = sum(p.probs.get(stance, 0.0) for p in backing) / len(backing)
    evidence = list(dict.fromkeys([p.paragraph for p in backing] + [p.paragraph for p in predictions]))
    verdicts = [p for p in predictions if p.stance in VERDICTS]
    flags = []
    if len({p.stance for p in verdicts}) > 1:
        flags.append("verdicts disagree: " + ", ".join(f"{p.paragraph} {p.stance}" for p in verdicts))
    return Cell(doc=doc, target=target, stance=stance, confidence=round(confidence, 4), source="statement",
                speaker=speaker, evidence=evidence, flags=flags)


def aggregate_document(doc: str, organisation: str, predictions: Sequence[Prediction],
                       paragraphs: Sequence[Paragraph], referral: Referral,
                       speakers: dict[str, str]) -> tuple[list[Cell], list[Prediction]]:
    """Cells of one response in its own voice, and the statements of its other voices."""
    own: dict[str, list[Prediction]] = defaultdict(list)
    others = []
    for prediction in predictions:
        if prediction.speaker == organisation:
            own[prediction.target].append(prediction)
        else:
            others.append(prediction)
    cells = [_cell(doc, target, organisation, own[target]) for target in own]
    clause = default_stance(_own_clauses(paragraphs, speakers, organisation))
    if clause is not None:
        addressed = set(own)
        cells += [Cell(doc=doc, target=t.id, stance=clause.stance, confidence=1.0, source="blanket",
                       speaker=organisation, evidence=[clause.paragraph])
                  for t in referral.proposals_and_assessments() if t.id not in addressed]
    order = {t.id: n for n, t in enumerate(referral.targets)}
    return sorted(cells, key=lambda c: order.get(c.target, len(order))), others


def _own_clauses(paragraphs: Sequence[Paragraph], speakers: dict[str, str], organisation: str) -> list[BlanketClause]:
    return [c for c in find_blanket_clauses(paragraphs) if speakers.get(c.paragraph) == organisation]


def aggregate(predictions: Sequence[Prediction], paragraphs: Sequence[Paragraph],
              referral: Referral) -> tuple[list[Cell], list[Prediction]]:
    """The cells of every response in ``paragraphs``, and the statements of their other voices."""
    predictions_of: dict[str, list[Prediction]] = defaultdict(list)
    for prediction in predictions:
        predictions_of[prediction.doc].append(prediction)
    cells, others = [], []
    for doc, doc_paragraphs in by_doc(paragraphs).items():
        organisation, speakers = document_speakers(doc, doc_paragraphs)
        doc_cells, doc_others = aggregate_document(doc, organisation, predictions_of[doc], doc_paragraphs,
                                                   referral, speakers)
        cells += doc_cells
        others += doc_others
    return cells, others


# --- CLI ---------------------------------------------------------------------------------------

def aggregate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--predictions", type=Path, default=Path("data/predictions.jsonl"))
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--out", type=Path, default=Path("data/documents.jsonl"), help="one cell per (response, target)")
    p.add_argument("--voices", type=Path, default=Path("data/voices.jsonl"),
                   help="statements of voices other than the organisation's own")


def aggregate_cmd(args: argparse.Namespace) -> int:
    cells, others = aggregate(read_jsonl(args.predictions, Prediction), read_jsonl(args.paragraphs, Paragraph),
                              load_referral(args.referral))
    write_jsonl(args.out, cells)
    write_jsonl(args.voices, others)
    log.info("%d cells (%d from blanket clauses), %d other voices → %s", len(cells),
             sum(c.source == "blanket" for c in cells), len(others), args.out)
    return 0
