"""One response's way through ingest → segment → link (the ingest policy is :mod:`pipeline.ingest.policy`)."""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass

from ..ingest import IngestError, IngestLimits, Problem, Response, read_response
from ..link import LinkParams, link
from ..records import Cell, Link, Paragraph, Prediction
from ..referral import Referral
from ..segment import segment

log = logging.getLogger("remiss")


@dataclass(frozen=True)
class Job(Response):
    """One distinct response to score, with its cache key."""

    key: str = ""


@dataclass(frozen=True)
class Settings:
    """What a worker needs besides the file; pickled with every job (a referral is small)."""

    referral: Referral
    link: LinkParams
    limits: IngestLimits = IngestLimits()


@dataclass(frozen=True)
class Prepared:
    """A worker's result for one response: paragraphs and links, and doubts about the file."""

    paragraphs: list[Paragraph]
    links: list[Link]
    warnings: list[str]


@dataclass(frozen=True)
class Scored:
    """One document's results: what OUT/.cache/<key>.json holds."""

    doc: str
    paragraphs: list[Paragraph]
    links: list[Link]
    predictions: list[Prediction]
    cells: list[Cell]
    voices: list[Prediction]
    warnings: list[str]


def prepare(job: Job, settings: Settings) -> Prepared | Problem:
    """Ingest, segment and link one response; bad input becomes a Problem naming the file."""
    try:
        document, warnings = read_response(job, settings.limits)
        paragraphs = segment(document)
        links = link(paragraphs, settings.referral, settings.link)
        return Prepared(paragraphs, links, warnings)
    except IngestError as err:
        return Problem(str(job.path), "error", err.problem)
    except Exception as err:  # a pathological file must not end a run of hundreds: report it, go on
        log.debug("%s", traceback.format_exc())
        return Problem(str(job.path), "error", f"failed while reading, segmenting or linking it "
                                               f"({type(err).__name__}: {err})")
