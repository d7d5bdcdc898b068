"""score: response files → paragraphs, links, stances, cells and the reports, in one command.

``remiss score`` is for analysts with hundreds of responses. It composes the pipeline's own
stage functions (ingest → segment → link → classify → aggregate → report), never copies of
them; what it adds is throughput, resumption and bad-input handling (the parts are in
:mod:`pipeline.scoring`):

- an engine runs the documents: ``local`` (the default) reads, segments and links in worker
  processes (``--workers``) while this process runs the stance model; ``ray`` spreads the
  same work over a Ray cluster (:mod:`pipeline.scoring.ray_engine`);
- each document's results go to ``OUT/.cache/<key>.json``, written atomically, its key
  covering the input bytes, the document id, the model files, the inference settings, the
  link params, the referral and the stage code, not the engine. A rerun (also after
  ``kill -9``, also on the other engine) reuses them, and the output files are always
  assembled from the cache, sorted by document;
- a document's pairs are batched only with each other: its probabilities never depend on
  which other documents were in flight, which is what makes a resumed run byte-identical to
  an uninterrupted one;
- every file that cannot be scored, or is scored with a doubt, is one line of
  ``OUT/errors.jsonl``; the run goes on and exits 1 if any of them is an error.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .ingest import IngestLimits, Problem, distinct_responses, find_responses, limits_from_args, policy_args
from .link import LinkParams
from .params import load_section
from .referral import load_referral
from .scoring.cache import (
    CACHE_DIR,
    cache_key,
    cached,
    fingerprint,
    load_scored,
    locked,
    remove_temporaries,
    save_scored,
    write_outputs,
)
from .scoring.documents import Job, Settings
from .scoring.engines import ENGINES, Engine, open_engine
from .scoring.progress import Progress
from .stance.inference import DEFAULT_BATCH_SIZE, DEFAULT_CPU_PATH, model_args

log = logging.getLogger("remiss")


def default_workers() -> int:
    """One core for the model, the rest (at most four, they wait on it) for reading files."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


@dataclass(frozen=True)
class Options:
    model: Path = Path("models/stance")
    device: str = "auto"
    #: pairs per forward pass (at most a document's pairs: they are batched per document, and
    #: 32 holds a typical response's 18 in one pass); on 2 idle cores 8, 16 and 32 run within
    #: 6% of each other (bench/results/stance.json)
    batch_size: int = DEFAULT_BATCH_SIZE
    workers: int = field(default_factory=default_workers)
    cpu_path: str = DEFAULT_CPU_PATH
    #: also load a pickled model (--trust-model): unpickling runs code
    trust_model: bool = False
    link: LinkParams = LinkParams()
    limits: IngestLimits = IngestLimits()
    progress: bool = True
    engine: str = "local"
    #: the Ray cluster (auto, HOST:PORT); None starts a Ray instance on this machine
    address: str | None = None
    #: model actors on the Ray cluster; 0: one per GPU, else one per CPUS_PER_ACTOR CPUs
    actors: int = 0


@dataclass
class Summary:
    documents: int = 0
    cached: int = 0
    pairs: int = 0
    seconds: float = 0.0
    #: seconds in classify() alone: the model's share, for pairs/s
    classify_seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(p.level == "error" for p in self.problems)


def score(paths: Sequence[Path], referral_path: Path, out: Path, options: Options = Options()) -> Summary:
    """Score the responses in ``paths`` (files or folders) into ``out``; see the module docstring."""
    started = time.perf_counter()
    out = Path(out)
    referral = load_referral(referral_path)
    files, skipped = find_responses(list(paths))
    if not files:
        raise ValueError(f"no response files in {', '.join(map(str, paths))}")
    settings = Settings(referral, options.link, options.limits)
    with open_engine(options, settings) as engine:
        key_base = fingerprint(options.model, engine.inference, settings, referral_path)
        responses, problems = distinct_responses(files)
        jobs = [Job(r.path, r.doc, r.sha256) for r in responses]
        problems += [Problem(s.file, s.level, s.problem) for s in skipped]
        jobs = [dataclasses.replace(j, key=cache_key(j.sha256, j.doc, key_base)) for j in jobs]
        with locked(out):
            return _score(jobs, problems, engine, settings, out, options, started)


def _score(jobs: list[Job], problems: list[Problem], engine: Engine, settings: Settings, out: Path,
           options: Options, started: float) -> Summary:
    cache = out / CACHE_DIR
    remove_temporaries(out)

    summary = Summary()
    todo = [j for j in jobs if cached(cache / f"{j.key}.json") is None]
    summary.cached = len(jobs) - len(todo)
    progress = Progress(len(jobs), summary.cached, options.progress)
    try:
        for job, result, seconds in engine.scored(todo):
            if isinstance(result, Problem):
                problems.append(result)
                progress.advance(0, failed=True)
                continue
            summary.classify_seconds += seconds
            save_scored(cache / f"{job.key}.json", result)
            summary.pairs += len(result.predictions)
            progress.advance(len(result.predictions), failed=False)
    finally:
        progress.close()

    failed = {p.file for p in problems if p.level == "error"}
    # new and resumed documents alike are read back from the cache: one path to the outputs,
    # so a resumed run writes the bytes an uninterrupted one does
    done = [(job, load_scored(cache / f"{job.key}.json")) for job in jobs if str(job.path) not in failed]
    problems += [Problem(str(job.path), "warning", w) for job, s in done for w in s.warnings]
    write_outputs(out, [s for _, s in done], problems, settings.referral)
    summary.documents = len(done)
    summary.problems = problems
    summary.seconds = time.perf_counter() - started
    return summary


# --- command line -----------------------------------------------------------------------------------

def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return number


def score_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("responses", nargs="+", type=Path, help="response files or folders (.pdf, .docx, .txt)")
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    model_args(p)
    p.add_argument("--out", type=Path, required=True,
                   help="folder for paragraphs, links, predictions, documents, voices, errors (.jsonl) and reports/")
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads its 'link' and 'ingest' sections")
    p.add_argument("--no-semantic", dest="semantic", action="store_false", default=None,
                   help="skip the semantic (e5) linker")
    p.add_argument("--workers", type=_count, default=default_workers(),
                   help=f"processes that read, segment and link files (0: in this process; default {default_workers()}; "
                        "the local engine)")
    policy_args(p)
    p.add_argument("--engine", choices=ENGINES, default="local",
                   help="local: this machine's processes; ray: a Ray cluster (the optional 'ray' extra; docs/scale.md)")
    p.add_argument("--address", default=None,
                   help="--engine ray: the cluster (auto, or HOST:PORT of `ray start --head`; default: a new Ray "
                        "instance on this machine)")
    p.add_argument("--actors", type=_count, default=0,
                   help="--engine ray: stance model actors (default 0: one per GPU, else one per 4 CPUs)")


def score_cmd(args: argparse.Namespace) -> int:
    options = Options(model=args.model, device=args.device, batch_size=args.batch_size, workers=args.workers,
                      cpu_path=args.cpu_path, trust_model=args.trust_model,
                      link=load_section(args.params, "link", LinkParams, semantic=args.semantic),
                      limits=limits_from_args(args),
                      progress=log.isEnabledFor(logging.INFO), engine=args.engine, address=args.address,
                      actors=args.actors)
    summary = score(args.responses, args.referral, args.out, options)
    for problem in sorted(summary.problems, key=lambda p: (p.file, p.level)):
        (log.error if problem.level == "error" else log.warning)("%s: %s", problem.file, problem.error)
    errors = sum(p.level == "error" for p in summary.problems)
    log.info("scored %d documents (%d from the cache), %d pairs in %.1f s; %d errors, %d warnings → %s",
             summary.documents, summary.cached, summary.pairs, summary.seconds, errors,
             len(summary.problems) - errors, args.out)
    return 1 if summary.failed else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.score``: the same as ``remiss score``."""
    parser = argparse.ArgumentParser(prog="remiss score", description="response files → stance matrix and reports")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    score_args(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s")
    try:
        return score_cmd(args)
    except (OSError, ValueError) as err:
        # a usage error (no model, bad registry, no CUDA) before any file is read: one clear line
        log.error("%s", err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
