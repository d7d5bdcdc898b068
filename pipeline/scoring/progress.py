"""Progress of a run: bars on a terminal, log lines elsewhere."""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("remiss")

LOG_EVERY_S = 10.0


class Progress:
    """tqdm bars for documents and pairs on a terminal; a plain log line every LOG_EVERY_S
    seconds when stderr is a file or a pipe (batch jobs, CI), where bars would be noise."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.failed, self.pairs = total, done, 0, 0
        self.started = self.last_log = time.perf_counter()
        self.resumed = done
        self.bars = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bars = (tqdm(total=total, initial=done, unit="doc", desc="documents", position=0, dynamic_ncols=True),
                         tqdm(unit="pair", desc="pairs", position=1, dynamic_ncols=True))
        self.enabled = enabled

    def advance(self, pairs: int, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        self.pairs += pairs
        if self.bars:
            self.bars[0].update(1)
            self.bars[1].update(pairs)
        elif self.enabled and time.perf_counter() - self.last_log >= LOG_EVERY_S:
            self.log()

    def log(self) -> None:
        self.last_log = now = time.perf_counter()
        elapsed = max(now - self.started, 1e-9)
        rate = (self.done - self.resumed) / elapsed
        eta = (self.total - self.done) / rate if rate else float("nan")
        log.info("score: %d/%d documents (%d failed), %d pairs; %.2f documents/s, %.1f pairs/s; ETA %s",
                 self.done, self.total, self.failed, self.pairs, rate, self.pairs / elapsed,
                 time.strftime("%H:%M:%S", time.gmtime(eta)) if eta == eta else "?")

    def close(self) -> None:
        if self.bars:
            for bar in self.bars:
                bar.close()
        elif self.enabled:
            self.log()
