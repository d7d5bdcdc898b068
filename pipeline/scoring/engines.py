"""Engines: what runs each document through prepare (ingest → segment → link) and the model.

An engine is a context manager with ``inference`` (the model's device, precision and batch
size, which the cache keys name) and ``scored(jobs)``, which yields ``(job, Scored or
Problem, seconds in the model)`` in completion order. The run (:func:`pipeline.score.score`)
does the rest the same way for every engine: the cache, the lock, the outputs. ``local``
(the default) is this machine's process pool; ``ray`` (:mod:`.ray_engine`, the optional
``ray`` extra) a Ray cluster.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing import get_context
from typing import TYPE_CHECKING, Callable, Iterator, Sequence, TypeVar

from ..stance.inference import load_inference
from .documents import Job, Problem, Scored, Settings, prepare
from .model import score_document

if TYPE_CHECKING:
    from ..score import Options

R = TypeVar("R")
ENGINES = ("local", "ray")
#: how often a worker checks that the run that started it is still there
PARENT_CHECK_S = 1.0


class Engine:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass


def open_engine(options: Options, settings: Settings) -> Engine:
    if options.engine == "local":
        return LocalEngine(options, settings)
    try:
        from .ray_engine import RayEngine
    except ModuleNotFoundError as err:
        if err.name != "ray":
            raise
        raise ValueError("--engine ray needs Ray: pip install 'remiss-stance[ray]'") from None
    return RayEngine(options, settings)


# --- local: a process pool reads, this process classifies -------------------------------------

class LocalEngine(Engine):
    """``workers`` processes ingest, segment and link while this process runs the stance
    model, so reading the next PDFs overlaps with classifying the last one."""

    def __init__(self, options: Options, settings: Settings):
        self.inference = load_inference(options.model, options.device, options.cpu_path, options.batch_size,
                                        options.trust_model)
        self.settings, self.workers = settings, options.workers

    def scored(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, Scored | Problem, float]]:
        for job, result in prepared(jobs, partial(prepare, settings=self.settings), self.workers):
            if isinstance(result, Problem):
                yield job, result, 0.0
            else:
                yield job, *score_document(result, job, self.settings.referral, self.inference)


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _worker_init(parent: int) -> None:
    # a worker is one core's worth of work: the e5 engine must not spread over all of them
    os.environ["OMP_NUM_THREADS"] = "1"
    # a killed run (kill -9, SIGTERM) cannot shut its pool down, and a worker waits on its job
    # queue forever (it holds both ends of the pipe): leave when the parent is gone
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def prepared(jobs: Sequence[Job], task: Callable[[Job], R], workers: int) -> Iterator[tuple[Job, R | Problem]]:
    """(job, task(job)) in completion order. With workers, at most two jobs per worker are in
    flight, so memory stays flat and a kill loses little; a worker that dies (a PDF reader
    crash) fails only the jobs in flight, and a fresh pool goes on with the rest."""
    if workers == 0:
        for job in jobs:
            yield job, task(job)
        return
    queue = list(reversed(jobs))
    while queue:
        # spawn, not fork: this process holds torch's thread pools, which do not survive a fork
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init,
                                   initargs=(os.getpid(),))
        pending: dict[Future, Job] = {}
        try:
            while queue or pending:
                while queue and len(pending) < 2 * workers:
                    pending[pool.submit(task, queue[-1])] = queue[-1]
                    queue.pop()
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    yield pending.pop(future), result
        except BrokenProcessPool:
            if not pending:  # the pool could not even start: retrying would loop
                raise
            for future, job in pending.items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    yield job, future.result()  # finished before the crash
                else:
                    yield job, Problem(str(job.path), "error", "a worker process died while this file was in flight "
                                       "(it or a file read beside it crashed the reader); rerun to retry it")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
