"""The Ray engine (``remiss score --engine ray``): the local engine's work spread over a Ray cluster.

- Reading, segmenting and linking are one Ray task per document (:func:`prepare_task`, one
  CPU each), at most two per cluster CPU in flight.
- The stance model runs in a pool of actors (:class:`ModelActor`): one per GPU, else one per
  CPUS_PER_ACTOR CPUs (``--actors`` overrides). Actors rather than Ray Data's
  ``map_batches``: byte-identical outputs need each document's pairs batched only with each
  other, as the local engine does (StanceModel.predict sorts them by length and pads per
  batch), whereas ``map_batches`` cuts batches across the documents of a block and would
  change the padding, and so the floats; an actor keeps the model loaded between documents,
  and each finished document can be cached the moment it returns. (Ray Data would also pull
  in pyarrow and pandas for no gain here.)
- A task whose worker dies is retried (``max_retries``), an actor that dies is restarted and
  its calls retried (``max_restarts``, ``max_task_retries``); each is deterministic, so the
  outputs stay identical. A file that kills its process every time becomes a Problem.
- The driver (this process) hashes the inputs, computes the cache keys, writes the cache and
  the outputs, so the cache is the local engine's: a run on either engine resumes the other's.
  The workers read the inputs and the model by absolute path: they must be on a file
  system every node sees at the same path.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import ray

from ..referral import Referral
from ..stance.inference import load_inference
from ..stance.transformer import Inference
from .documents import Job, Prepared, Problem, Scored, Settings, prepare
from .engines import Engine
from .model import score_document

if TYPE_CHECKING:
    from ..score import Options

#: retries of a task or actor call after its process died (the default of Ray's tasks)
RETRIES = 3
#: without GPUs, one model actor per this many cluster CPUs: as locally, most cores read files
CPUS_PER_ACTOR = 4
#: documents in flight per model actor: one running, one waiting, so the actor never idles
PER_ACTOR = 2


@ray.remote(num_cpus=1, max_retries=RETRIES)
def prepare_task(job: Job, settings: Settings) -> Prepared | Problem:
    return prepare(job, settings)


@ray.remote(max_restarts=-1, max_task_retries=RETRIES)
class ModelActor:
    """The stance model, loaded once, scoring one document per call as the local engine does."""

    def __init__(self, model: Path, device: str, cpu_path: str, batch_size: int, trust: bool, referral: Referral):
        self.inference = load_inference(model, device, cpu_path, batch_size, trust)
        self.referral = referral

    def describe(self) -> Inference:
        """What the cache keys name of the model: device, precision, batch size."""
        return dataclasses.replace(self.inference, model=None)

    def score(self, result: Prepared | Problem, job: Job) -> tuple[Scored | Problem, float]:
        if isinstance(result, Problem):
            return result, 0.0
        return score_document(result, job, self.referral, self.inference)


class RayEngine(Engine):
    def __init__(self, options: Options, settings: Settings):
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a research tool does not report home
        # connected already (a benchmark, a notebook): use that connection and leave it open
        self.owned = not ray.is_initialized()
        if self.owned:
            ray.init(address=options.address, include_dashboard=False, logging_level=logging.WARNING)
        self.settings, self.actors = settings, []
        try:
            resources = ray.cluster_resources()
            self.cpus = max(1, int(resources.get("CPU", 1)))
            gpus = 0 if options.device == "cpu" else int(resources.get("GPU", 0))
            if options.device == "cuda" and not gpus:
                raise ValueError("--device cuda: the Ray cluster has no GPU (use --device auto or cpu)")
            count = options.actors or gpus or max(1, self.cpus // CPUS_PER_ACTOR)
            actor = ModelActor.options(num_cpus=1, num_gpus=min(1.0, gpus / count) if gpus else 0)
            self.actors = [actor.remote(Path(options.model).absolute(), options.device, options.cpu_path,
                                        options.batch_size, options.trust_model, settings.referral)
                           for _ in range(count)]
            try:
                described = ray.get([a.describe.remote() for a in self.actors])
            except ray.exceptions.RayError as err:
                raise ValueError(f"the stance model did not load on the Ray cluster: {err}") from None
            if any(d != described[0] for d in described):  # mixed GPUs: one key per run cannot name them all
                raise ValueError(f"the model actors run in different settings ({described}): "
                                 "give --device or nodes of one kind")
            self.inference = described[0]
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        if self.owned and ray.is_initialized():
            ray.shutdown()

    def scored(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, Scored | Problem, float]]:
        settings = ray.put(self.settings)
        queue = list(reversed(jobs))
        reading: dict[ray.ObjectRef, Job] = {}
        read: list[tuple[ray.ObjectRef, Job]] = []
        scoring: dict[ray.ObjectRef, tuple[Job, int, ray.ObjectRef]] = {}
        busy = [0] * len(self.actors)
        while queue or reading or read or scoring:
            while queue and len(reading) + len(read) < 2 * self.cpus:
                job = queue.pop()
                reading[prepare_task.remote(_absolute(job), settings)] = job
            while read and min(busy) < PER_ACTOR:
                # the reference, not the value: the paragraphs go from the reader to the actor directly
                prepared_ref, job = read.pop(0)
                actor = busy.index(min(busy))
                scoring[self.actors[actor].score.remote(prepared_ref, _absolute(job))] = (job, actor, prepared_ref)
                busy[actor] += 1
            done, _ = ray.wait([*reading, *scoring], num_returns=1)
            for ref in done:
                if ref in reading:
                    read.append((ref, reading.pop(ref)))
                    continue
                job, actor, prepared_ref = scoring.pop(ref)
                busy[actor] -= 1
                yield job, *_result(ref, prepared_ref, job)


def _absolute(job: Job) -> Job:
    """The job as a worker on another node (another working directory) can read it."""
    return dataclasses.replace(job, path=job.path.absolute())


def _result(ref: ray.ObjectRef, prepared_ref: ray.ObjectRef, job: Job) -> tuple[Scored | Problem, float]:
    try:
        result, seconds = ray.get(ref)
    except ray.exceptions.RayError as err:
        try:
            ray.get(prepared_ref)
            where = "the stance model's process"
        except ray.exceptions.RayError:
            where = "the process reading it"
        return Problem(str(job.path), "error", f"{where} died on this file {RETRIES + 1} times "
                                               f"({type(err).__name__}); rerun to retry it"), 0.0
    if isinstance(result, Problem):  # named by the path as given, as the local engine names it
        result = dataclasses.replace(result, file=str(job.path))
    return result, seconds
