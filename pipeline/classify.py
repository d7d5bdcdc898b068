"""classify: links → paragraph-level stance predictions, each with the paragraph's speaker.

One pure function over records; any :class:`~pipeline.stance.data.Classifier` does the
predicting (the fine-tuned transformer in the pipeline, a fold's model in cross-validation,
a baseline in a test), so `dvc repro`, `remiss score` and the evaluation share this code.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Sequence

from .records import Link, Paragraph, Prediction, read_jsonl, write_jsonl
from .registry import Referral, load_referral
from .speakers import voices
from .stance.data import Classifier, link_pairs

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
    _, speakers = voices(paragraphs)
    results = model.predict(link_pairs(links, paragraphs, referral))
    return [Prediction(doc=item.doc, paragraph=item.paragraph, target=str(item.target), stance=result.label,
                       probs={k: round(v, 6) for k, v in result.probs.items()},
                       speaker=speakers.get((item.doc, item.paragraph)))
            for item, result in zip(links, results)]


# --- CLI ---------------------------------------------------------------------------------------

def classify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--links", type=Path, default=Path("data/links.jsonl"))
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--model", type=Path, default=Path("models/stance"), help="a model fitted by `remiss train`")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda where available)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--out", type=Path, default=Path("data/predictions.jsonl"))


def classify_cmd(args: argparse.Namespace) -> int:
    from .stance.deploy import load

    model = load(args.model, device=args.device, batch_size=args.batch_size)
    predictions = classify(read_jsonl(args.links, Link), read_jsonl(args.paragraphs, Paragraph),
                           load_referral(args.referral), model)
    write_jsonl(args.out, predictions)
    log.info("%d predictions → %s", len(predictions), args.out)
    return 0
