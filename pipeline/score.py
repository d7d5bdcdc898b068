"""score: response files → paragraphs, links, stances, cells and the reports, in one command.

``remiss score`` is for analysts with hundreds of responses. It composes the pipeline's own
stage functions (ingest → segment → link → classify → aggregate → report), never copies of
them; what it adds is throughput, resumption and bad-input handling:

- ingest, segment and link run in worker processes (``--workers``) while this process runs
  the stance model, so reading the next PDFs overlaps with classifying the last one;
- each document's results go to ``OUT/.cache/<key>.json``, written atomically, its key
  covering the input bytes, the document id, the model files, the inference settings, the
  link params, the referral and the stage code. A rerun (also after ``kill -9``) reuses
  them, and the output files are always assembled from the cache, sorted by document;
- a document's pairs are batched only with each other (StanceModel.predict sorts them by
  length): its probabilities never depend on which other documents were in flight, which is
  what makes a resumed run byte-identical to an uninterrupted one;
- every file that cannot be scored, or is scored with a doubt, is one line of
  ``OUT/errors.jsonl``; the run goes on and exits 1 if any of them is an error.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import importlib
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

from .aggregate import aggregate
from .classify import classify
from .ingest import OCR_MODES, IngestError, IngestLimits, find_responses, ingest_file, ocr_warnings
from .link import LinkParams, link
from .params import load_section
from .records import Cell, Link, Paragraph, Prediction, atomic_write_text, file_sha256, hash_file, write_jsonl
from .registry import Referral, load_referral
from .segment import segment
from .stance.transformer import Inference

log = logging.getLogger("remiss")
R = TypeVar("R")

CACHE_DIR = ".cache"
#: OUT/.cache/.lock, held (flock) by the run writing to OUT: a second run on it stops at once
LOCK_FILE = ".lock"
#: how often a worker checks that the run that started it is still there
PARENT_CHECK_S = 1.0
DEFAULT_MAX_PAGES = 300
#: fp32 on a CPU unless asked for int8: on 2 cores int8 ran the fine-tuned e5-small 1.7× faster
#: (19.6 vs 11.5 pairs/s) but changed 2% of the labels (1745/1780 the same; bench/results/score.md)
DEFAULT_CPU_PATH = "plain"
#: Swedish responses have about a third of their words in SWEDISH_WORDS (0.33-0.36 on the
#: corpus), Norwegian 0.06, German 0.03, English 0; below this the text is probably not Swedish
SWEDISH_SHARE = 0.15
SWEDISH_WORDS = frozenset(
    "och att det som en på är av för med till den har de inte om ett men vi kan ska eller från vid även samt "
    "bör detta denna dessa också där när sig under efter mellan utan hur vilket vilka måste skulle får inom "
    "enligt".split())
#: fewer words than this say nothing about the language
LANGUAGE_MIN_WORDS = 30
LOG_EVERY_S = 10.0


@dataclass(frozen=True)
class Problem:
    """One line of errors.jsonl: a file that was not scored ("error") or scored with a doubt ("warning")."""

    file: str
    level: str
    error: str


@dataclass(frozen=True)
class Job:
    """One distinct response to score."""

    path: Path
    doc: str
    sha256: str
    key: str = ""


@dataclass(frozen=True)
class Settings:
    """What a worker needs besides the file; pickled with every job (a referral is small)."""

    referral: Referral
    link: LinkParams
    max_pages: int
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
    batch_size: int = 32
    workers: int = field(default_factory=default_workers)
    max_pages: int = DEFAULT_MAX_PAGES
    cpu_path: str = DEFAULT_CPU_PATH
    #: also load a pickled model (--trust-model): unpickling runs code
    trust_model: bool = False
    link: LinkParams = LinkParams()
    limits: IngestLimits = IngestLimits()
    progress: bool = True


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


# --- the worker: ingest → segment → link ------------------------------------------------------

def pdf_pages(path: Path) -> int | None:
    """Page count from the PDF's page tree without extracting text; None if it does not open
    (ingest_file then says why: corrupt, encrypted …)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        return None
    try:
        return len(pdf)
    finally:
        pdf.close()


def too_long(pages: int, max_pages: int) -> str:
    return (f"{pages} pages, more than --max-pages {max_pages}: not scored (a response is rarely that long; "
            "split the file or raise --max-pages)")


def swedish_share(text: str) -> tuple[float, int]:
    """Share of the first 3,000 words that are common Swedish function words, and the word count."""
    words = re.findall(r"[a-zåäöéü]+", text.lower())[:3000]
    return (sum(w in SWEDISH_WORDS for w in words) / len(words) if words else 0.0), len(words)


def language_warning(text: str) -> str | None:
    share, words = swedish_share(text)
    if words < LANGUAGE_MIN_WORDS or share >= SWEDISH_SHARE:
        return None
    return (f"does not look like Swedish (only {share:.0%} of its words are common Swedish function words; "
            f"Swedish responses have about a third): scored anyway, check its results")


def prepare(job: Job, settings: Settings) -> Prepared | Problem:
    """Ingest, segment and link one response; bad input becomes a Problem naming the file."""
    try:
        if job.path.suffix.lower() == ".pdf" and (pages := pdf_pages(job.path) or 0) > settings.max_pages:
            raise IngestError(job.path, too_long(pages, settings.max_pages))
        document = dataclasses.replace(ingest_file(job.path, settings.limits), doc=job.doc)
        if document.pages > settings.max_pages:  # a .txt with form feeds
            raise IngestError(job.path, too_long(document.pages, settings.max_pages))
        warnings = ocr_warnings(document, settings.limits)
        if warning := language_warning(document.text[: document.body_end]):
            warnings.append(warning)
        paragraphs = segment(document)
        links = link(paragraphs, settings.referral, settings.link)
        return Prepared(paragraphs, links, warnings)
    except IngestError as err:
        return Problem(str(job.path), "error", err.problem)
    except Exception as err:  # a pathological file must not end a run of hundreds: report it, go on
        log.debug("%s", traceback.format_exc())
        return Problem(str(job.path), "error", f"failed while reading, segmenting or linking it "
                                               f"({type(err).__name__}: {err})")


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


# --- the model ----------------------------------------------------------------------------------

def resolve_device(device: str) -> str:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available (use --device auto or cpu)")
    return "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"


def quantize(model):
    """Dynamic int8 quantisation of every nn.Linear: int8 weights per output channel,
    activations quantised per batch. Per channel because per-tensor weights flipped twice as
    many labels of the fine-tuned e5-small (91% vs 96% agreement with fp32 on the corpus)."""
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (UserWarning, DeprecationWarning))  # torch points to torchao; this still works
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def load_inference(model_dir: Path, device: str, cpu_path: str, batch_size: int, trust: bool = False) -> Inference:
    import torch

    from .stance.models import load, model_name
    from .stance.transformer import TRANSFORMER, StanceModel

    name = model_name(model_dir)
    if name != TRANSFORMER:
        if cpu_path == "int8":
            raise ValueError(f"--cpu-path int8 quantises a transformer; {model_dir} holds a {name} model")
        return Inference(load(model_dir, trust=trust), "exact")
    device = resolve_device(device)
    model = StanceModel.load(model_dir, device=device, batch_size=batch_size)
    if device == "cuda":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    elif cpu_path == "int8":
        model.model = quantize(model.model)
        precision = "int8"
    else:
        precision = "fp32"
    return Inference(model, precision, device, batch_size)


# --- the cache ------------------------------------------------------------------------------------

#: modules whose code decides a document's results: a change to any of them invalidates the cache
STAGE_MODULES = ("ingest", "segment", "sentences", "link", "link.rules", "link.ranking", "link.whole", "embed", "speakers", "blanket", "classify", "aggregate",
                 "records", "stance.data", "stance.windows", "stance.lexicon", "stance.baselines",
                 "stance.setfit_model", "stance.transformer", "stance.models")


def fingerprint(model_dir: Path, inference: Inference, settings: Settings, referral_path: Path) -> str:
    """Everything besides the input that a document's results depend on."""
    import torch
    import transformers

    digest = hashlib.sha256()
    model_dir = Path(model_dir)
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(model_dir)).encode() + b"\0")
        hash_file(digest, path)
    for name in STAGE_MODULES:
        digest.update(Path(importlib.import_module(f"{__package__}.{name}").__file__).read_bytes())
    digest.update(Path(referral_path).read_bytes())
    digest.update(json.dumps({
        "device": inference.device, "precision": inference.precision, "batch_size": inference.batch_size,
        "link": dataclasses.asdict(settings.link), "ingest": dataclasses.asdict(settings.limits), "torch": torch.__version__, "transformers": transformers.__version__,
    }, sort_keys=True).encode())
    return digest.hexdigest()


def cache_key(sha256: str, doc: str, fingerprint_: str) -> str:
    return hashlib.sha256(f"{sha256}\0{doc}\0{fingerprint_}".encode()).hexdigest()


def save_scored(path: Path, scored: Scored) -> None:
    atomic_write_text(path, json.dumps(dataclasses.asdict(scored), ensure_ascii=False) + "\n")


def load_scored(path: Path) -> Scored:
    data = json.loads(path.read_bytes())
    return Scored(doc=data["doc"], paragraphs=[Paragraph(**p) for p in data["paragraphs"]],
                  links=[Link(**item) for item in data["links"]],
                  predictions=[Prediction(**p) for p in data["predictions"]],
                  cells=[Cell(**c) for c in data["cells"]], voices=[Prediction(**p) for p in data["voices"]],
                  warnings=data["warnings"])


def cached(path: Path) -> Scored | None:
    """The cache entry at ``path``; None when there is none, or when it cannot be read (a
    truncated or hand-edited file): the document is then scored again, with a warning."""
    if not path.exists():
        return None
    try:
        return load_scored(path)
    except (ValueError, KeyError, TypeError) as err:  # JSON and UTF-8 errors are ValueErrors
        log.warning("%s: unreadable cache entry (%s: %s); scoring the document again", path, type(err).__name__, err)
        path.unlink(missing_ok=True)
        return None


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``OUT/.cache/.lock`` for the run: two runs on one folder would mix their documents,
    and each would take the other's temporaries for a killed run's and remove them. The lock
    goes with the process (also on kill -9); the file stays, as removing it would let a third
    run lock a new file while a second still holds the old one."""
    (out / CACHE_DIR).mkdir(parents=True, exist_ok=True)
    fd = os.open(out / CACHE_DIR / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise ValueError(f"{out}: another remiss score run (pid {holder}) is writing to this folder; "
                             "wait for it to finish or give another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def remove_temporaries(out: Path) -> None:
    """A killed run leaves its half-written temporaries (records.atomic_save names them .NAME.*.tmp)."""
    for folder in (out, out / CACHE_DIR, out / "reports"):
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


# --- inputs -----------------------------------------------------------------------------------------

def plan(paths: Sequence[Path]) -> tuple[list[Job], list[Problem]]:
    """Distinct responses to score, with unique document ids, and the files left out.

    A file with the same bytes as an earlier one is scored once (a warning names both). The
    id is the file stem, as in the pipeline; stems shared by different files get the first
    eight hex digits of their sha256 appended, so that no two responses merge.
    """
    problems: list[Problem] = []
    first: dict[str, Path] = {}
    for path in paths:
        try:
            sha = file_sha256(path)
        except OSError as err:  # missing, a folder's unreadable file, no permission
            problems.append(Problem(str(path), "error", f"cannot read it ({err.strerror or err})"))
            continue
        if sha in first:
            problems.append(Problem(str(path), "warning", f"same content as {first[sha]} (sha256 {sha[:12]}…): "
                                                          "scored once, under that file"))
        else:
            first[sha] = path
    stems: dict[str, int] = {}
    for path in first.values():
        stems[path.stem] = stems.get(path.stem, 0) + 1
    jobs = [Job(path, path.stem if stems[path.stem] == 1 else f"{path.stem}-{sha[:8]}", sha)
            for sha, path in first.items()]
    return sorted(jobs, key=lambda j: j.doc), problems


# --- progress ---------------------------------------------------------------------------------------

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


# --- the run ------------------------------------------------------------------------------------------

def score_document(prepared_: Prepared, doc: str, referral: Referral, inference: Inference) -> Scored:
    predictions = classify(prepared_.links, prepared_.paragraphs, referral, inference)
    cells, other_voices = aggregate(predictions, prepared_.paragraphs, referral)
    return Scored(doc, prepared_.paragraphs, prepared_.links, predictions, cells, other_voices, prepared_.warnings)


def write_outputs(out: Path, scored: Sequence[Scored], problems: Sequence[Problem], referral: Referral) -> None:
    """The output files from per-document results, in document order; each written atomically."""
    from .report import write_reports

    scored = sorted(scored, key=lambda s: s.doc)
    paragraphs = [p for s in scored for p in s.paragraphs]
    cells = [c for s in scored for c in s.cells]
    other_voices = [v for s in scored for v in s.voices]
    write_jsonl(out / "paragraphs.jsonl", paragraphs)
    write_jsonl(out / "links.jsonl", [item for s in scored for item in s.links])
    write_jsonl(out / "predictions.jsonl", [p for s in scored for p in s.predictions])
    write_jsonl(out / "documents.jsonl", cells)
    write_jsonl(out / "voices.jsonl", other_voices)
    write_jsonl(out / "errors.jsonl", sorted(problems, key=lambda p: (p.file, p.level, p.error)))
    write_reports(cells, paragraphs, other_voices, referral, out / "reports")


def score(paths: Sequence[Path], referral_path: Path, out: Path, options: Options = Options()) -> Summary:
    """Score the responses in ``paths`` (files or folders) into ``out``; see the module docstring."""
    started = time.perf_counter()
    out = Path(out)
    referral = load_referral(referral_path)
    files, skipped = find_responses(list(paths))
    if not files:
        raise ValueError(f"no response files in {', '.join(map(str, paths))}")
    inference = load_inference(options.model, options.device, options.cpu_path, options.batch_size,
                               options.trust_model)
    settings = Settings(referral, options.link, options.max_pages, options.limits)
    key_base = fingerprint(options.model, inference, settings, referral_path)
    jobs, problems = plan(files)
    problems += [Problem(s.file, s.level, s.problem) for s in skipped]
    jobs = [dataclasses.replace(j, key=cache_key(j.sha256, j.doc, key_base)) for j in jobs]
    with locked(out):
        return _score(jobs, problems, referral, inference, settings, out, options, started)


def _score(jobs: list[Job], problems: list[Problem], referral: Referral, inference: Inference, settings: Settings,
           out: Path, options: Options, started: float) -> Summary:
    cache = out / CACHE_DIR
    remove_temporaries(out)

    summary = Summary()
    todo = [j for j in jobs if cached(cache / f"{j.key}.json") is None]
    summary.cached = len(jobs) - len(todo)
    progress = Progress(len(jobs), summary.cached, options.progress)
    try:
        for job, result in prepared(todo, partial(prepare, settings=settings), options.workers):
            if isinstance(result, Problem):
                problems.append(result)
                progress.advance(0, failed=True)
                continue
            classify_started = time.perf_counter()
            try:
                scored = score_document(result, job.doc, referral, inference)
            except Exception as err:  # e.g. out of GPU memory on one huge document: the others go on
                log.debug("%s", traceback.format_exc())
                problems.append(Problem(str(job.path), "error", f"failed while classifying ({type(err).__name__}: {err})"))
                progress.advance(0, failed=True)
                continue
            summary.classify_seconds += time.perf_counter() - classify_started
            save_scored(cache / f"{job.key}.json", scored)
            summary.pairs += len(scored.predictions)
            progress.advance(len(scored.predictions), failed=False)
    finally:
        progress.close()

    failed = {p.file for p in problems if p.level == "error"}
    # new and resumed documents alike are read back from the cache: one path to the outputs,
    # so a resumed run writes the bytes an uninterrupted one does
    done = [(job, load_scored(cache / f"{job.key}.json")) for job in jobs if str(job.path) not in failed]
    problems += [Problem(str(job.path), "warning", w) for job, s in done for w in s.warnings]
    write_outputs(out, [s for _, s in done], problems, referral)
    summary.documents = len(done)
    summary.problems = problems
    summary.seconds = time.perf_counter() - started
    return summary


# --- command line -----------------------------------------------------------------------------------

def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return number


def score_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("responses", nargs="+", type=Path, help="response files or folders (.pdf, .docx, .txt)")
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--model", type=Path, default=Path("models/stance"), help="a trained stance model (remiss train)")
    p.add_argument("--trust-model", action="store_true",
                   help="also load a pickled model (an older baseline, SetFit's own head): it runs code, so only "
                        "from a source you trust")
    p.add_argument("--out", type=Path, required=True,
                   help="folder for paragraphs, links, predictions, documents, voices, errors (.jsonl) and reports/")
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads its 'link' and 'ingest' sections")
    p.add_argument("--no-semantic", dest="semantic", action="store_false", default=None,
                   help="skip the semantic (e5) linker")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: CUDA (bf16/fp16 autocast) if available, else CPU")
    p.add_argument("--cpu-path", choices=("plain", "int8"), default=DEFAULT_CPU_PATH,
                   help=f"CPU inference: fp32, or dynamic int8 quantisation of the linear layers "
                        f"(default {DEFAULT_CPU_PATH}; see bench/results/score.md)")
    p.add_argument("--batch-size", type=_positive, default=Options.batch_size, help="pairs per forward pass")
    p.add_argument("--workers", type=_count, default=default_workers(),
                   help=f"processes that read, segment and link files (0: in this process; default {default_workers()})")
    p.add_argument("--max-pages", type=_positive, default=DEFAULT_MAX_PAGES,
                   help="longer files are refused (reported in errors.jsonl)")
    p.add_argument("--ocr", choices=OCR_MODES, default=None,
                   help="PDF pages read by Tesseract: auto (pages with an image and no usable text layer), always, "
                        "never (default: params.yaml ingest.ocr, else auto)")


def score_cmd(args: argparse.Namespace) -> int:
    options = Options(model=args.model, device=args.device, batch_size=args.batch_size, workers=args.workers,
                      max_pages=args.max_pages, cpu_path=args.cpu_path, trust_model=args.trust_model,
                      link=load_section(args.params, "link", LinkParams, semantic=args.semantic),
                      limits=load_section(args.params, "ingest", IngestLimits, ocr=args.ocr),
                      progress=log.isEnabledFor(logging.INFO))
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
