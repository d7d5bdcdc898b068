"""The stance model as ``remiss score`` runs it: loaded for a device and a CPU path, applied
to one document at a time."""
from __future__ import annotations

import logging
import time
import traceback

from ..aggregate import aggregate
from ..classify import classify
from ..referral import Referral
from ..stance.transformer import Inference
from .documents import Job, Prepared, Problem, Scored

log = logging.getLogger("remiss")

def score_document(prepared: Prepared, job: Job, referral: Referral,
                   inference: Inference) -> tuple[Scored | Problem, float]:
    """One document's stances and cells, and the seconds it took; a failure (out of GPU memory
    on one huge document) is a Problem naming the file, so the others go on.

    Its pairs are batched only with each other (StanceModel.predict sorts them by length):
    its probabilities never depend on which other documents were in flight, which is what
    makes a resumed run, and one on another engine, byte-identical to an uninterrupted one."""
    started = time.perf_counter()
    try:
        predictions = classify(prepared.links, prepared.paragraphs, referral, inference)
        cells, other_voices = aggregate(predictions, prepared.paragraphs, referral)
    except Exception as err:
        log.debug("%s", traceback.format_exc())
        return Problem(str(job.path), "error", f"failed while classifying ({type(err).__name__}: {err})"), 0.0
    return (Scored(job.doc, prepared.paragraphs, prepared.links, predictions, cells, other_voices, prepared.warnings),
            time.perf_counter() - started)
