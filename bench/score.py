"""Benchmark `remiss score` on a synthetic corpus built from the real responses.

    python bench/score.py [--model models/stance] [--docs 1000] [--workers N] [--device auto] [--engine ray]

Builds ``--docs`` responses by recombining the real paragraphs of corpus/responses (every
``--pdf-every``-th rendered to PDF, the rest PDF-style text exports), then runs
:func:`pipeline.score.score` on them and writes ``bench/results/score.json`` and ``.md``:

- the first tenth of the corpus on the CPU twice, plain fp32 and dynamic int8: the model's
  pairs/s (time inside classify) and how often int8 gives plain's label (a transformer only;
  a deployed baseline such as the lexicon has one CPU path);
- the whole corpus with the default settings: documents/s, pairs/s, peak memory (this process
  and its workers together, sampled; and ru_maxrss);
- linearity: the time for all documents over the time for a tenth (10 means linear).

With ``--engine ray`` it instead runs the whole corpus on both engines on this machine (Ray:
a local instance with all its cores) and writes ``bench/results/score-ray.json`` and ``.md``:
documents/s of each, Ray's own cost per task, measured (no-op tasks and actor calls one
after another and all at once; the gap between a reading task's wall time and its own
time), and a scaling note built from those measurements.

Each paragraph that ends a sentence gets a registry number before its full stop ("… (dnr
2025/0042-07).") so that no two documents share its text: the e5 memo of pipeline/embed.py
would otherwise make the semantic linker look faster than on a real corpus, where paragraphs
do not repeat.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import random
import resource
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
# the repository in place of this folder: Ray gives its workers the driver's script folder,
# where bench/profile.py would shadow the standard library's profile
sys.path[0] = str(ROOT)

from pipeline.ingest import ingest_file  # noqa: E402
from pipeline.link import LinkParams  # noqa: E402
from pipeline.params import load_section  # noqa: E402
from pipeline.records import Paragraph, atomic_write_text, read_jsonl  # noqa: E402
from pipeline.score import Options, Summary, default_workers, score  # noqa: E402
from pipeline.stance.inference import DEFAULT_CPU_PATH, resolve_device  # noqa: E402
from pipeline.segment import segment  # noqa: E402
from pipeline.stance.models import model_name  # noqa: E402
from pipeline.stance.transformer import TRANSFORMER  # noqa: E402
from tests.pdfs import write_pdf  # noqa: E402
from tests.test_score import _outputs  # noqa: E402

RESPONSES = ROOT / "corpus" / "responses"
REGISTRY = ROOT / "corpus" / "proposals" / "sou-2024-72.yaml"
CONTENT_KINDS = ("heading", "paragraph", "bullet")
WIDTH = 85  # characters per printed line, as in the PDF exports of corpus/responses


# --- the synthetic corpus ---------------------------------------------------------------------

def paragraph_pool() -> list[list[Paragraph]]:
    """Per real response, its paragraphs that carry content (no signatures, no footnotes)."""
    return [[p for p in segment(ingest_file(path)) if p.kind in CONTENT_KINDS]
            for path in sorted(RESPONSES.glob("*.txt"))]


def synthetic_lines(n: int, pool: list[list[Paragraph]]) -> list[str]:
    """Response ``n``: the opening of one real response, then 10-40 paragraphs drawn from all
    of them (each response's in its own order, so headings stay before what they introduce),
    then a signature. Printed lines of WIDTH characters, a blank line between paragraphs."""
    rng = random.Random(n)
    opening = pool[rng.randrange(len(pool))][:2]
    drawn = sorted(rng.sample([(s, i) for s, doc in enumerate(pool) for i in range(2, len(doc))], rng.randint(10, 40)))
    lines: list[str] = []
    for k, paragraph in enumerate([*opening, *(pool[s][i] for s, i in drawn)]):
        text = paragraph.text
        if text.endswith(".") and paragraph.kind != "heading":  # inside the sentence: it must still end one
            text = f"{text[:-1]} (dnr 2025/{n:04d}-{k:02d})."
        lines += [*textwrap.wrap(text, WIDTH), ""]
    return lines + ["Med vänlig hälsning", "", f"Anna Andersson {n}", "Generaldirektör"]


def build_corpus(folder: Path, docs: int, pdf_every: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pool = paragraph_pool()
    paths = []
    for n in range(docs):
        lines = synthetic_lines(n, pool)
        if pdf_every and n % pdf_every == pdf_every - 1:
            # the PDF prints each line; the export's blank lines are not printed
            path = write_pdf(folder / f"svar-{n:04d}.pdf", [line for line in lines if line],
                             header=f"Remissvar {n}")
        else:
            path = folder / f"svar-{n:04d}.txt"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


# --- measuring -------------------------------------------------------------------------------------

class PeakMemory:
    """Peak resident memory, sampled every 0.2 s: of this process and its workers together, and
    of the largest worker (ru_maxrss cannot say either: it is per process, and a spawned
    child's counts the parent's pages it had before exec)."""

    def __init__(self):
        self.total = self.worker = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            sizes = []
            for process in [me, *me.children(recursive=True)]:
                try:
                    sizes.append(process.memory_info().rss)
                except psutil.Error:  # a worker that just exited
                    sizes.append(0)
            self.total = max(self.total, sum(sizes))
            self.worker = max(self.worker, *sizes[1:], 0)
            self._stop.wait(0.2)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run(name: str, paths: list[Path], out: Path, options: Options) -> dict:
    print(f"[{name}] scoring {len(paths)} documents ({options.device}, {options.cpu_path}, "
          f"{options.workers} workers) → {out}", file=sys.stderr, flush=True)
    with PeakMemory() as memory:
        summary: Summary = score(paths, REGISTRY, out, options)
    return {
        "documents": summary.documents, "pairs": summary.pairs, "failed": sum(p.level == "error" for p in summary.problems),
        "seconds": round(summary.seconds, 2), "classify_seconds": round(summary.classify_seconds, 2),
        "documents_per_s": round(summary.documents / summary.seconds, 3),
        "pairs_per_s": round(summary.pairs / summary.seconds, 2),
        "model_pairs_per_s": round(summary.pairs / summary.classify_seconds, 2) if summary.classify_seconds else None,
        "peak_rss_mb": round(memory.total / 2**20), "peak_worker_rss_mb": round(memory.worker / 2**20),
    }


def labels(out: Path) -> dict[tuple[str, str, str], str]:
    return {(p["doc"], p["paragraph"], p["target"]): p["stance"] for p in read_jsonl(out / "predictions.jsonl")}


def agreement(a: Path, b: Path) -> dict:
    first, second = labels(a), labels(b)
    if first.keys() != second.keys():
        raise RuntimeError(f"{a} and {b} classified different pairs")
    same = sum(first[k] == second[k] for k in first)
    return {"pairs": len(first), "same_label": same, "agreement": round(same / len(first), 4) if first else None}


def markdown(result: dict) -> str:
    s, r = result["settings"], result["runs"]
    full, small = r["full"], r[result["linearity"]["small_run"]]
    rows = "\n".join(
        f"| {name} | {v['documents']} | {v['pairs']} | {v['seconds']} | {v['documents_per_s']} | {v['pairs_per_s']} "
        f"| {v['model_pairs_per_s']} | {v['peak_rss_mb']} |" for name, v in r.items())
    agree = result["int8_vs_plain"]
    cpu_paths = (f"""- **CPU inference, plain fp32 vs dynamic int8** (first {r['cpu-plain']['documents']} documents): model
  throughput {r['cpu-plain']['model_pairs_per_s']} vs {r['cpu-int8']['model_pairs_per_s']} pairs/s;
  int8 gives plain's label on {agree['same_label']}/{agree['pairs']} pairs ({agree['agreement']:.1%}).
  Default CPU path: `{DEFAULT_CPU_PATH}`.""" if agree else
                 f"- **CPU inference**: the {s['model_name']} model has one CPU path (no int8 to compare).")
    return f"""# `remiss score` benchmark

{s['docs']} synthetic responses (every {s['pdf_every']}th a PDF) recombined from the real paragraphs of
corpus/responses; model `{s['model']}` ({s['model_name']}); device {s['device']}; {s['workers']} workers; batch size
{s['batch_size']}; semantic linking {'on' if s['semantic'] else 'off'}; {s['machine']}.

| run | documents | pairs | seconds | documents/s | pairs/s (end to end) | pairs/s (model) | peak RSS MB (all processes) |
|---|---|---|---|---|---|---|---|
{rows}

{cpu_paths}
- **Linearity**: {full['documents']} documents took {full['seconds']} s, {small['documents']} took
  {small['seconds']} s: ratio {result['linearity']['ratio']} for {result['linearity']['expected']}× the documents
  (per document after start-up: {result['linearity']['seconds_per_doc_small']} s vs
  {result['linearity']['seconds_per_doc_marginal']} s).
- Peak memory of the full run: {full['peak_rss_mb']} MB for all processes, {full['peak_worker_rss_mb']} MB the
  largest worker; ru_maxrss of the benchmark process {result['ru_maxrss_mb']} MB.
"""


def settings(args: argparse.Namespace, link: LinkParams) -> dict:
    return {"docs": args.docs, "pdf_every": args.pdf_every, "model": str(args.model),
            "model_name": model_name(args.model), "device": args.device,
            "workers": args.workers, "batch_size": args.batch_size, "semantic": link.semantic,
            "default_cpu_path": DEFAULT_CPU_PATH,
            "machine": f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, "
                       f"{round(psutil.virtual_memory().total / 2**30)} GiB"}


# --- local vs Ray ------------------------------------------------------------------------------------

def ray_overhead(paths: list[Path], options: Options, calls: int = 200) -> dict:
    """Ray's cost per task and per actor call on this machine, and per reading task the gap
    between its wall time seen from the driver and its own time inside the worker."""
    import ray

    from pipeline.referral import load_referral
    from pipeline.scoring.documents import Job, Settings, prepare

    @ray.remote(num_cpus=1)
    def noop() -> None:
        return None

    @ray.remote(num_cpus=1)
    def timed_prepare(job: Job, settings: Settings) -> float:
        started = time.perf_counter()
        prepare(job, settings)
        return time.perf_counter() - started

    @ray.remote(num_cpus=1)
    class Noop:
        def call(self) -> None:
            return None

    def per_call(submit) -> tuple[float, float]:
        """ms per call one after another (a round trip each), and all submitted at once."""
        started = time.perf_counter()
        for _ in range(calls):
            ray.get(submit())
        sequential = time.perf_counter() - started
        started = time.perf_counter()
        ray.get([submit() for _ in range(calls)])
        return round(sequential / calls * 1e3, 3), round((time.perf_counter() - started) / calls * 1e3, 3)

    ray.get([noop.remote() for _ in range(calls)])  # the workers started and warm
    task_sequential, task_batched = per_call(noop.remote)
    actor = Noop.remote()
    ray.get(actor.call.remote())
    actor_sequential, actor_batched = per_call(actor.call.remote)
    ray.kill(actor)
    settings = ray.put(Settings(load_referral(REGISTRY), options.link, options.limits))
    gaps, own = [], []
    for n, path in enumerate(paths[:22]):
        started = time.perf_counter()
        seconds = ray.get(timed_prepare.remote(Job(path.absolute(), path.stem, "-"), settings))
        if n >= 2:  # the first calls of a worker import the pipeline
            gaps.append(time.perf_counter() - started - seconds)
            own.append(seconds)
    return {"calls": calls, "noop_task_ms_sequential": task_sequential, "noop_task_ms_batched": task_batched,
            "noop_actor_call_ms_sequential": actor_sequential, "noop_actor_call_ms_batched": actor_batched,
            "prepare_tasks": len(own), "prepare_own_s_mean": round(sum(own) / len(own), 4),
            "prepare_gap_ms_median": round(sorted(gaps)[len(gaps) // 2] * 1e3, 3)}


def ray_bench(args: argparse.Namespace, paths: list[Path], work: Path, base: Options) -> dict:
    import ray

    from pipeline.scoring.ray_engine import CPUS_PER_ACTOR

    started = time.perf_counter()
    ray.init(include_dashboard=False, logging_level="WARNING")
    start_seconds = round(time.perf_counter() - started, 2)
    try:
        runs = {"local": run("local", paths, work / "local", base),
                "ray": run("ray", paths, work / "ray", dataclasses.replace(base, engine="ray"))}
        overhead = ray_overhead(paths, base)
        cpus = int(ray.cluster_resources()["CPU"])
    finally:
        ray.shutdown()
    if _outputs(work / "local") != _outputs(work / "ray"):
        raise RuntimeError("the engines wrote different outputs")
    actors = max(1, cpus // CPUS_PER_ACTOR)
    return {"ray_start_seconds": start_seconds, "cpus": cpus, "actors": actors, "runs": runs, "overhead": overhead,
            "same_outputs": True, "scaling": scaling(args.docs, cpus, actors, overhead, runs["ray"])}


def scaling(docs: int, cpus: int, actors: int, overhead: dict, ray_run: dict) -> dict:
    """Projected seconds on n nodes like this one, from the measured costs: reading (its own time
    and Ray's gap per task) on the CPUs the model actors leave, the model on the actors, and
    the driver's cost of submitting two tasks per document as a floor."""
    reading = overhead["prepare_own_s_mean"] + overhead["prepare_gap_ms_median"] / 1e3
    model = ray_run["classify_seconds"] / ray_run["documents"] + overhead["noop_actor_call_ms_sequential"] / 1e3
    driver = 2 * overhead["noop_task_ms_batched"] / 1e3
    projected = {str(n): round(max(docs * reading / (n * max(1, cpus - actors)), docs * model / (n * actors),
                                   docs * driver), 1) for n in (1, 4, 16, 64)}
    return {"reading_seconds_per_doc": round(reading, 4), "model_seconds_per_doc": round(model, 4),
            "driver_seconds_per_doc": round(driver, 5), "projected_seconds": projected}


def ray_markdown(result: dict) -> str:
    s, r, o, sc = result["settings"], result["runs"], result["overhead"], result["scaling"]
    rows = "\n".join(f"| {name} | {v['documents']} | {v['pairs']} | {v['seconds']} | {v['documents_per_s']} | "
                     f"{v['pairs_per_s']} | {v['peak_rss_mb']} |" for name, v in r.items())
    projected = ", ".join(f"{n} node{'s' if n != '1' else ''} {t} s" for n, t in sc["projected_seconds"].items())
    return f"""# `remiss score`: local engine vs Ray on one machine

{s['docs']} synthetic responses (every {s['pdf_every']}th a PDF), model `{s['model']}` ({s['model_name']}), device
{s['device']}, semantic linking {'on' if s['semantic'] else 'off'}; {s['machine']}. Local: {s['workers']} reading
workers beside the model; Ray: a local instance with {result['cpus']} CPUs (started in {result['ray_start_seconds']} s,
not counted), {result['actors']} model actor(s). Both wrote byte-identical outputs. The cores were shared with other work while this
ran: the absolute figures are noisy, the ratios less so. Rerun: `{s['command']}`.

| engine | documents | pairs | seconds | documents/s | pairs/s | peak RSS MB (all processes) |
|---|---|---|---|---|---|---|
{rows}

Ray's own cost, measured ({o['calls']} calls each): a no-op task {o['noop_task_ms_sequential']} ms one after another,
{o['noop_task_ms_batched']} ms each submitted at once; a no-op actor call {o['noop_actor_call_ms_sequential']} ms /
{o['noop_actor_call_ms_batched']} ms. A reading task (ingest, segment, link of one response, {o['prepare_own_s_mean']} s
of its own) took {o['prepare_gap_ms_median']} ms more from the driver's side (median of {o['prepare_tasks']}).

**Scaling note.** Per document, reading costs {sc['reading_seconds_per_doc']} s (its own time plus Ray's gap) on
each of the {result['cpus'] - result['actors'] or 1} CPU(s) per node the model actors leave, the model
{sc['model_seconds_per_doc']} s on {result['actors']} actor(s) per node, and the driver {sc['driver_seconds_per_doc']} s
to submit its two tasks (a floor whatever the cluster). So {s['docs']} documents take about documents × reading ÷
(nodes × reading CPUs) when reading is the bottleneck: {projected} (the measured single node took
{r['ray']['seconds']} s, start-up, contention and the outputs included). With a transformer the model is the
bottleneck on CPUs; a GPU actor per node takes it off them.
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "stance")
    p.add_argument("--docs", type=int, default=1000, help="size of the synthetic corpus (a tenth is the small run)")
    p.add_argument("--pdf-every", type=int, default=10, help="render every n-th response as PDF (0: none)")
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--batch-size", type=int, default=Options.batch_size)
    p.add_argument("--no-semantic", dest="semantic", action="store_false", default=None)
    p.add_argument("--work", type=Path, default=None, help="folder for the corpus and outputs (default: a temporary one)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="ray: the whole corpus on both engines, and Ray's overhead (default results score-ray)")
    p.add_argument("--results", type=Path, default=None,
                   help="writes RESULTS.json and RESULTS.md (default bench/results/score, or score-ray)")
    args = p.parse_args(argv)
    args.results = args.results or ROOT / "bench" / "results" / ("score-ray" if args.engine == "ray" else "score")
    if not (args.model / "stance_meta.json").exists():
        print(f"bench/score.py: no trained stance model in {args.model} (no stance_meta.json). Train one first "
              f"(`dvc repro` or `remiss train`), or point --model at one.", file=sys.stderr)
        return 2
    transformer = model_name(args.model) == TRANSFORMER

    link = load_section(ROOT / "params.yaml", "link", LinkParams, semantic=args.semantic)
    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        work = args.work or Path(tmp)
        paths = build_corpus(work / "corpus", args.docs, args.pdf_every)
        small = paths[: max(1, args.docs // 10)]
        base = Options(model=args.model, device=args.device, batch_size=args.batch_size, workers=args.workers,
                       link=link)
        # not measured: the first run of a process pays once for what later runs find warm (the
        # model file in the page cache, oneDNN's kernels, imports); it would bend the ratios
        run("warm-up", paths[:2], work / "warm-up", base)
        if args.engine == "ray":
            result = {"settings": settings(args, link), **ray_bench(args, paths, work, base)}
            result["settings"]["command"] = " ".join(["python", "bench/score.py", *(argv or sys.argv[1:])])
            atomic_write_text(args.results.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
            atomic_write_text(args.results.with_suffix(".md"), ray_markdown(result))
            print(ray_markdown(result))
            return 0
        runs = {"cpu-plain": run("cpu-plain", small, work / "cpu-plain",
                                 dataclasses.replace(base, device="cpu", cpu_path="plain"))}
        agree = None
        if transformer:
            runs["cpu-int8"] = run("cpu-int8", small, work / "cpu-int8",
                                   dataclasses.replace(base, device="cpu", cpu_path="int8"))
            agree = agreement(work / "cpu-plain", work / "cpu-int8")
        # linearity compares runs with the same settings: on a CPU the default path's run above
        small_name = f"cpu-{DEFAULT_CPU_PATH}" if resolve_device(args.device) == "cpu" else "small"
        if small_name not in runs:
            runs[small_name] = run(small_name, small, work / small_name, base)
        runs["full"] = run("full", paths, work / "full", base)

    small_run, full_run = runs[small_name], runs["full"]
    marginal = (full_run["seconds"] - small_run["seconds"]) / max(1, len(paths) - len(small))
    result = {
        "settings": settings(args, link),
        "runs": runs,
        "int8_vs_plain": agree,
        "linearity": {"small_run": small_name, "ratio": round(full_run["seconds"] / small_run["seconds"], 2),
                      "expected": round(len(paths) / len(small), 2),
                      "seconds_per_doc_small": round(small_run["seconds"] / len(small), 3),
                      "seconds_per_doc_marginal": round(marginal, 3)},
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    atomic_write_text(args.results.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
    atomic_write_text(args.results.with_suffix(".md"), markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
