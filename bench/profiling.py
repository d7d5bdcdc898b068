"""Where `remiss score`'s time goes, and this tree's documents/s beside the code before issue 18's
speed work (git 7fa5b26) in one run, on the synthetic corpus of bench/score.py.

    python -m bench.profiling            # defaults: about 12 minutes on 2 idle cores

1. **profile**: the stages of one document (read, segment, link by rules, rank: e5 and TF-IDF,
   classify: windows and the model, aggregate) timed one document at a time, in one process and
   on one thread as a `remiss score` worker runs them, for the baseline's code and this tree's;
   with cProfile's heaviest functions.
2. **compare**: `remiss score` (``python -m pipeline.score``, default settings) with the
   baseline's code and this tree's on the same files, the deployed lexicon and a fine-tuned
   transformer, alternated so that a shared machine's load falls on both; their outputs are
   compared byte for byte.
3. **growth**: this tree on the first 100 and on all 1,000 documents; per-document times from
   the cache entries' completion times, to see whether documents get slower as a run goes on.

Writes bench/results/profile.json and profile.md. The baseline is a ``git worktree`` of
``--baseline`` (made under the temporary folder, removed afterwards), run with its own
``pipeline`` through PYTHONPATH; models and the registry are this tree's. (Not bench/profile.py:
a script run by path from bench/ would import it as the standard library's ``profile``.)
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "corpus" / "proposals" / "sou-2024-72.yaml"
BASELINE = "7fa5b26"
#: the per-document stages, in the order a document goes through them
STAGES = ("read", "segment", "link_rules", "rank_dense", "rank_sparse", "rank_other", "classify_windows",
          "classify_model", "aggregate")
#: the files `remiss score` writes that must not change (reports/ holds a PNG whose bytes carry
#: matplotlib metadata; it is drawn from documents.jsonl, which is compared)
OUTPUTS = ("paragraphs.jsonl", "links.jsonl", "predictions.jsonl", "documents.jsonl", "voices.jsonl",
           "errors.jsonl")


# --- 1. the profile: runs inside the tree it profiles (PYTHONPATH), so it imports only `pipeline` ----

class Clock:
    """CPU seconds per stage for the current document (the child runs on one thread, so CPU
    time is the work done, whatever else the machine is running)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextlib.contextmanager
    def stage(self, name: str):
        started = time.process_time()
        try:
            yield
        finally:
            self.add(name, time.process_time() - started)


class TimedRanker:
    """A ranker whose fitting and scoring are charged to ``stage``."""

    def __init__(self, ranker, clock: Clock, stage: str):
        self.ranker, self.clock, self.stage = ranker, clock, stage

    def fit(self, targets, corpus=()):
        with self.clock.stage(self.stage):
            self.ranker.fit(targets, corpus)
        self.targets_ = self.ranker.targets_
        return self

    def relative_scores(self, texts):
        started = time.process_time()
        try:
            return self.ranker.relative_scores(texts)
        finally:
            self.clock.add(self.stage, time.process_time() - started)
            self.clock.add("scoring", time.process_time() - started)


class TimedModel:
    def __init__(self, model, clock: Clock):
        self.model, self.clock = model, clock

    def predict(self, pairs):
        with self.clock.stage("classify_model"):
            return self.model.predict(pairs)


def profile_stages(files: list[Path], model_dir: Path, referral_path: Path, warm_up: int = 2) -> dict:
    """Each document through the stages `remiss score` runs, timed per stage; the first
    ``warm_up`` documents (imports, spaCy and e5 start-up, target embeddings) are not counted."""
    import pipeline
    import pipeline.link as linking
    from pipeline.aggregate import aggregate
    from pipeline.classify import classify
    from pipeline.embed import E5
    from pipeline.ingest import ingest_file
    from pipeline.link import LinkParams, link
    from pipeline.link.ranking import DenseRanker, FusedRanker, SparseRanker
    from pipeline.segment import segment
    from pipeline.stance.models import load

    # the package's name in this tree (the baseline's is registry); asked of the tree's files, as an
    # import would find this tree's through its editable install
    package = "referral" if (Path(pipeline.__file__).parent / "referral").is_dir() else "registry"
    load_referral = importlib.import_module(f"pipeline.{package}").load_referral

    referral = load_referral(referral_path)
    params = LinkParams()
    model = load(model_dir, device="cpu", batch_size=32)
    clock = Clock()
    link_ranked = linking.link_ranked

    def timed_link_ranked(*args, **kwargs):
        with clock.stage("ranked"):
            return link_ranked(*args, **kwargs)

    linking.link_ranked = timed_link_ranked  # the ranked linker's own work: sentences and cues
    per_doc: list[dict[str, float]] = []
    profiler = cProfile.Profile()
    for n, path in enumerate(files):
        clock.seconds = {}
        ranker = FusedRanker([TimedRanker(DenseRanker(E5), clock, "rank_dense"),
                              TimedRanker(SparseRanker(), clock, "rank_sparse")],
                             [1 - params.lexical_weight, params.lexical_weight])
        if n == warm_up:
            profiler.enable()
        started, wall = time.process_time(), time.perf_counter()
        with clock.stage("read"):
            document = ingest_file(path)
        with clock.stage("segment"):
            paragraphs = segment(document)
        with clock.stage("link"):
            links = link(paragraphs, referral, params, ranker=ranker)
        with clock.stage("classify"):
            predictions = classify(links, paragraphs, referral, TimedModel(model, clock))
        with clock.stage("aggregate"):
            aggregate(predictions, paragraphs, referral)
        total, wall = time.process_time() - started, time.perf_counter() - wall
        if n < warm_up:
            continue
        s = {stage: clock.seconds.get(stage, 0.0) for stage in
             ("read", "segment", "link", "ranked", "scoring", "rank_dense", "rank_sparse", "classify",
              "classify_model", "aggregate")}
        fitting = s["rank_dense"] + s["rank_sparse"] - s["scoring"]
        per_doc.append({
            "read": s["read"], "segment": s["segment"], "link_rules": s["link"] - fitting - s["ranked"],
            "rank_dense": s["rank_dense"], "rank_sparse": s["rank_sparse"], "rank_other": s["ranked"] - s["scoring"],
            "classify_windows": s["classify"] - s["classify_model"], "classify_model": s["classify_model"],
            "aggregate": s["aggregate"], "total": total, "wall": wall,
            "paragraphs": len(paragraphs), "links": len(links), "pairs": len(predictions)})
    profiler.disable()
    return {"code": str(Path(pipeline.__file__).resolve().parent.parent), "model": str(model_dir),
            "per_document": per_doc, "top_functions": _top(pstats.Stats(profiler))}


def _top(stats: pstats.Stats, n: int = 25) -> list[dict]:
    """The functions with the most time of their own."""
    rows = [{"function": f"{_short(filename)}:{line}({name})", "calls": calls, "own_s": round(own, 3),
             "cumulative_s": round(cumulative, 3)}
            for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items()]
    return sorted(rows, key=lambda r: -r["own_s"])[:n]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/pipeline/"):
        if marker in filename:
            return ("pipeline/" if marker == "/pipeline/" else "") + filename.split(marker, 1)[1]
    return filename


def summarise_profile(result: dict) -> dict:
    """Mean seconds per document per stage, each stage's share, and the spread of the totals."""
    rows = result["per_document"]
    mean = {s: statistics.fmean(r[s] for r in rows) for s in (*STAGES, "total")}
    totals = sorted(r["total"] for r in rows)
    return {
        "documents": len(rows),
        "seconds_per_document": {s: round(v, 4) for s, v in mean.items()},
        "share": {s: round(mean[s] / mean["total"], 3) for s in STAGES},
        "total_p50_p90_max": [round(totals[len(totals) // 2], 3), round(totals[int(0.9 * (len(totals) - 1))], 3),
                              round(totals[-1], 3)],
        "pairs_per_document": round(statistics.fmean(r["pairs"] for r in rows), 1),
        "wall_seconds_per_document": round(statistics.fmean(r["wall"] for r in rows), 4),
        # the same documents' CPU time in the first and the second half: does a document cost more later?
        "first_half_second_half": [round(statistics.fmean(r["total"] for r in half), 4) if half else None
                                   for half in (rows[: len(rows) // 2], rows[len(rows) // 2:])],
    }


# --- 2. and 3.: remiss score end to end, each tree with its own code ------------------------------------

def tree_env(tree: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("OMP_NUM_THREADS", None)
    return env


def score_run(tree: Path, files: list[Path], model: Path, out: Path, extra: tuple[str, ...] = ()) -> dict:
    """``python -m pipeline.score`` of ``tree`` on ``files``: wall seconds and documents/s, the CPU
    seconds of the run and its workers (a shared machine's load bends the first, less the
    second), and when each document's cache entry was written."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "pipeline.score", "-q", *map(str, files), "--referral", str(REGISTRY),
               "--model", str(model), "--out", str(out), "--params", str(tree / "params.yaml"), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, wall_started = time.perf_counter(), time.time()
    done = subprocess.run(command, cwd=tree, env=tree_env(tree), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: remiss score failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    finished = sorted(p.stat().st_mtime - wall_started for p in (out / ".cache").glob("*.json"))
    return {"documents": len(files), "seconds": round(seconds, 2), "documents_per_s": round(len(files) / seconds, 3),
            "cpu_seconds": round(cpu, 1), "cpu_seconds_per_document": round(cpu / len(files), 4),
            "first_document_s": round(finished[0], 2), "last_document_s": round(finished[-1], 2),
            "finished": finished}


def per_document(run: dict, first: int) -> dict:
    """Mean seconds between documents finishing, over the first ``first`` and over the rest."""
    gaps = [b - a for a, b in zip(run["finished"], run["finished"][1:])]
    head, tail = gaps[: first - 1], gaps[first - 1:]
    return {"first": round(statistics.fmean(head), 4) if head else None,
            "rest": round(statistics.fmean(tail), 4) if tail else None}


def same_outputs(a: Path, b: Path) -> dict:
    return {name: (a / name).read_bytes() == (b / name).read_bytes() for name in OUTPUTS}


@contextlib.contextmanager
def worktree(commit: str, tree: Path):
    """A checkout of ``commit`` at ``tree`` for the block."""
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True, check=False)


def child_profile(tree: Path, files: list[Path], model: Path, out: Path) -> dict:
    """profile_stages in a process of its own, with ``tree``'s pipeline, on one thread."""
    env = dict(tree_env(tree), OMP_NUM_THREADS="1")
    list_file = out.with_suffix(".files")
    list_file.write_text("\n".join(map(str, files)), encoding="utf-8")
    subprocess.run([sys.executable, "-c", CHILD, "--files", str(list_file), "--model", str(model), "--json", str(out)],
                   cwd=tree, env=env, check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def compare(trees: dict[str, Path], files: list[Path], model: Path, work: Path, extra: tuple[str, ...] = ()) -> dict:
    """The baseline and this tree on the same files, one after the other; their outputs compared."""
    runs = {}
    for name, tree in trees.items():
        print(f"[profile] {name}: remiss score {model.name}, {len(files)} documents {' '.join(extra)}",
              file=sys.stderr, flush=True)
        runs[name] = score_run(tree, files, model, work / f"{name}-{model.name}-{len(files)}", extra)
        runs[name]["load_average"] = round(os.getloadavg()[0], 2)
    a, b = (work / f"{name}-{model.name}-{len(files)}" for name in trees)
    return {**{name: _brief(run) for name, run in runs.items()},
            "ratio_documents_per_s": round(runs["current"]["documents_per_s"] / runs["baseline"]["documents_per_s"], 2),
            "ratio_cpu_per_document": round(runs["baseline"]["cpu_seconds_per_document"]
                                            / runs["current"]["cpu_seconds_per_document"], 2),
            "outputs_identical": same_outputs(a, b)}


def _brief(run: dict) -> dict:
    return {k: v for k, v in run.items() if k != "finished"}


def growth(tree: Path, files: list[Path], small: int, model: Path, work: Path, extra: tuple[str, ...]) -> dict:
    """This tree on the first ``small`` documents and on all: the ratio of their times, and within
    the long run the mean time per document over its first ``small`` and over the rest."""
    runs = {}
    for n in (small, len(files)):
        print(f"[profile] growth: {n} documents", file=sys.stderr, flush=True)
        runs[n] = score_run(tree, files[:n], model, work / f"growth-{n}", extra)
        runs[n]["load_average"] = round(os.getloadavg()[0], 2)
    big = runs[len(files)]
    return {"runs": {str(n): _brief(r) for n, r in runs.items()},
            "ratio": round(big["seconds"] / runs[small]["seconds"], 2), "documents_ratio": len(files) / small,
            "cpu_ratio": round(big["cpu_seconds"] / runs[small]["cpu_seconds"], 2),
            "seconds_between_documents": per_document(big, small),
            # after the last document: every entry read back from the cache, the outputs and reports written
            "outputs_seconds": {str(n): round(r["seconds"] - r["last_document_s"], 2) for n, r in runs.items()}}


def markdown(result: dict) -> str:
    s = result["settings"]
    lines = ["# Where `remiss score`'s time goes (issue 18)", "",
             (f"{s['machine']}; baseline `{s['baseline']}`; {s['docs']} synthetic responses of bench/score.py "
             "(every 10th a PDF). `python -m bench.profiling`."), "",
             "## Per stage, CPU seconds per document (one thread, as a worker)", "",
             "| stage | " + " | ".join(result["profile"]) + " |", "|---|" + "---|" * len(result["profile"])]
    for stage in (*STAGES, "total"):
        lines.append(f"| {stage} | " + " | ".join(
            f"{p['summary']['seconds_per_document'][stage]:.4f}"
            + (f" ({p['summary']['share'][stage]:.0%})" if stage in p["summary"]["share"] else "")
            for p in result["profile"].values()) + " |")
    lines += ["", "Heaviest functions of this tree's lexicon profile (own time):", ""]
    lines += [f"- `{f['function']}`: {f['own_s']} s in {f['calls']} calls"
              for f in result["profile"]["current lexicon"]["top_functions"][:8]]
    lines += ["", "## `remiss score`, baseline and this tree in one run", "",
              ("| model | settings | documents | baseline documents/s | this tree documents/s | ratio | "
               "CPU s/document baseline → this tree | outputs identical |"), "|---|---|---|---|---|---|---|---|"]
    for name, c in result["compare"].items():
        model, settings = name.split(" ", 1)
        lines.append(f"| {model} | {settings} | {c['current']['documents']} | {c['baseline']['documents_per_s']} | "
                     f"{c['current']['documents_per_s']} | {c['ratio_documents_per_s']}× | "
                     f"{c['baseline']['cpu_seconds_per_document']} → {c['current']['cpu_seconds_per_document']} | "
                     f"{all(c['outputs_identical'].values())} |")
    g = result["growth"]
    small, big = g["runs"].values()
    lines += ["", "## Growth", "",
              (f"This tree, {result['settings']['growth_settings']}: {small['documents']} documents in {small['seconds']} s, "
              f"{big['documents']} in {big['seconds']} s: **{g['ratio']}×** for {g['documents_ratio']:.0f}× the "
              f"documents ({big['documents_per_s']} documents/s; CPU {g['cpu_ratio']}×). In the long run, "
              f"{g['seconds_between_documents']['first']} s between documents over its first {small['documents']} and "
              f"{g['seconds_between_documents']['rest']} s over the rest; writing the outputs after the last "
              f"document took {g['outputs_seconds'][str(small['documents'])]} s and "
              f"{g['outputs_seconds'][str(big['documents'])]} s."), ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=1000, help="synthetic responses; the growth run scores them all")
    p.add_argument("--small", type=int, default=100, help="the growth run's short run")
    p.add_argument("--profile-docs", type=int, default=60, help="documents profiled per tree (lexicon)")
    p.add_argument("--profile-transformer-docs", type=int, default=12)
    p.add_argument("--compare-docs", type=int, default=150, help="documents per remiss score run (lexicon)")
    p.add_argument("--compare-transformer-docs", type=int, default=30)
    p.add_argument("--lexicon", type=Path, default=ROOT / "models" / "stance")
    p.add_argument("--transformer", type=Path, default=ROOT / "models" / "stance-transformer",
                   help="a fine-tuned transformer (Makefile `bench` trains one); missing: its runs are left out")
    p.add_argument("--baseline", default=BASELINE, help="the commit to compare with")
    p.add_argument("--current", default=None,
                   help="measure this commit instead of the working tree (a checkout of it: others' edits in "
                        "progress do not reach the run)")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "profile")
    args = p.parse_args(argv)
    from bench.score import build_corpus

    transformer = args.transformer.resolve() if (args.transformer / "stance_meta.json").exists() else None
    lexicon = args.lexicon.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        work = Path(tmp)
        print(f"[profile] building {args.docs} responses", file=sys.stderr, flush=True)
        files = build_corpus(work / "corpus", args.docs, 10)
        result = {"settings": {
            "docs": args.docs, "baseline": args.baseline, "current": args.current or "working tree",
            "lexicon": str(args.lexicon), "transformer": str(transformer),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
            "growth_settings": "lexicon, --workers 2"}}
        with contextlib.ExitStack() as checkouts:
            base = checkouts.enter_context(worktree(args.baseline, work / "baseline"))
            current = checkouts.enter_context(worktree(args.current, work / "current")) if args.current else ROOT
            trees = {"baseline": base, "current": current}
            result["profile"] = {}
            for label, model, n in (("lexicon", lexicon, args.profile_docs),
                                    ("transformer", transformer, args.profile_transformer_docs)):
                for name, tree in trees.items():
                    if model is None:
                        continue
                    print(f"[profile] stages: {name} {label}, {n} documents", file=sys.stderr, flush=True)
                    profiled = child_profile(tree, files[: n + 2], model, work / f"stages-{name}-{label}.json")
                    result["profile"][f"{name} {label}"] = {"summary": summarise_profile(profiled),
                                                            "top_functions": profiled["top_functions"][:15]}
            result["compare"] = {
                "lexicon default workers": compare(trees, files[: args.compare_docs], lexicon, work),
                "lexicon --workers 2": compare(trees, files[: args.compare_docs], lexicon, work, ("--workers", "2")),
            }
            if transformer:
                result["compare"]["transformer default workers"] = compare(
                    trees, files[: args.compare_transformer_docs], transformer, work)
            result["growth"] = growth(current, files, args.small, lexicon, work, ("--workers", "2"))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    args.results.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


def stages_main(argv: list[str]) -> int:
    """The child of :func:`child_profile`: ``profile.py stages --files LIST --model DIR --json OUT``."""
    p = argparse.ArgumentParser()
    p.add_argument("--files", type=Path, required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--json", type=Path, required=True)
    args = p.parse_args(argv)
    files = [Path(line) for line in args.files.read_text(encoding="utf-8").splitlines()]
    result = profile_stages(files, args.model, REGISTRY)
    args.json.write_text(json.dumps(result) + "\n", encoding="utf-8")
    return 0


#: the child's entry: this file loaded by path, not as bench.profiling, so that the first
#: `pipeline` on sys.path is the profiled tree's (the working directory, then PYTHONPATH)
CHILD = (f"import importlib.util, sys; spec = importlib.util.spec_from_file_location('bench_profiling', "
         f"{str(Path(__file__).resolve())!r}); module = importlib.util.module_from_spec(spec); "
         f"spec.loader.exec_module(module); sys.exit(module.stages_main(sys.argv[1:]))")


if __name__ == "__main__":
    sys.exit(main())
