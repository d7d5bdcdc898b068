"""classify: links → stance predictions, each with the paragraph's speaker.

The model reads each window of a linked paragraph (:mod:`pipeline.stance.windows`: the
sentences that speak about the target, the list's lead-in in front); the link's stance is
their combination by labels/ANNOTATION.md (:func:`~pipeline.stance.data.combine`), and the
window predictions stay on it as evidence. One pure function over records; any
:class:`~pipeline.stance.data.Classifier` does the predicting (the deployed model in the
pipeline, a fold's model in cross-validation, a baseline in a test), so `dvc repro`,
`remiss score` and the evaluation share this code.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Sequence

from .records import Link, Paragraph, Prediction, read_jsonl, write_jsonl
from .referral import Referral, load_referral
from .text.speakers import speaker_maps
from .stance.data import Classifier, combine, link_pairs
from .stance.inference import load_from_args, model_args
from .stance.windows import windows

log = logging.getLogger(__name__)


def unique_links(links: Sequence[Link]) -> list[Link]:
    """One link per (doc, paragraph, target): the first, which is the most trusted method."""
    seen, out = set(), []
    for item in links:
        key = (item.doc, item.paragraph, str(item.target))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def classify(links: Sequence[Link], paragraphs: Sequence[Paragraph], referral: Referral,
             model: Classifier) -> list[Prediction]:
    """A stance for every linked (paragraph, target), in link order."""
    links = unique_links(links)
    _, speakers = speaker_maps(paragraphs)
    pairs = link_pairs(links, paragraphs, referral)
    spans = [windows(pair.paragraph_text, referral.get(pair.target), referral) for pair in pairs]
    flat = [dataclasses.replace(pair, window=pair.paragraph_text[start:end])
            for pair, found in zip(pairs, spans) for start, end in found]
    results = iter(model.predict(flat))
    out = []
    for item, found in zip(links, spans):
        mine = [next(results) for _ in found]
        stance, backing = combine(mine)
        out.append(Prediction(
            doc=item.doc, paragraph=item.paragraph, target=str(item.target), stance=stance,
            probs=_rounded(mine[backing[0]].probs), speaker=speakers.get((item.doc, item.paragraph)),
            sentences=[{"start": start, "end": end, "stance": result.label, "probs": _rounded(result.probs)}
                       for (start, end), result in zip(found, mine)]))
    return out


def _rounded(probs: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) for k, v in probs.items()}


# --- CLI ---------------------------------------------------------------------------------------

def classify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--links", type=Path, default=Path("data/links.jsonl"))
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--out", type=Path, default=Path("data/predictions.jsonl"))
    model_args(p)


def classify_cmd(args: argparse.Namespace) -> int:
    predictions = classify(read_jsonl(args.links, Link), read_jsonl(args.paragraphs, Paragraph),
                           load_referral(args.referral), load_from_args(args))
    write_jsonl(args.out, predictions)
    log.info("%d predictions → %s", len(predictions), args.out)
    return 0
