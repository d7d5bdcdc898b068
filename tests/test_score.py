"""`remiss score`: kill-and-resume gives the same bytes, bad files are reported and skipped,
the device and the int8 path do not change the answer (beyond a stated tolerance)."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.score import main
from pipeline.ingest import IngestLimits, Problem
from pipeline.scoring.documents import Job, Settings, prepare
from pipeline.scoring.engines import prepared
from pipeline.stance.inference import load_inference
from tests.conftest import REGISTRY, RESPONSES, ROOT
from tests.pdfs import write_pdf

#: int8 must give plain fp32's label on at least this share of the corpus's pairs
INT8_AGREEMENT = 0.9
NO_SEMANTIC = ["--no-semantic", "--params", "/nonexistent/params.yaml"]
CACHE = ".cache"


@pytest.fixture(scope="module")
def model(stance_pairs, tiny_bert, tmp_path_factory) -> Path:
    """A stance model trained for one epoch on the gold pairs: real files, real code path."""
    from pipeline.stance.params import TrainParams
    from pipeline.stance.transformer import train

    out = tmp_path_factory.mktemp("score-model") / "stance"
    params = TrainParams(backbone=str(tiny_bert), epochs=1, max_length=128, freeze_layers=0)
    return train(stance_pairs, params, out, models_dir=tmp_path_factory.mktemp("models"))


def _corpus(folder: Path, variants: int = 0) -> Path:
    """The four responses and ``variants`` altered copies of them (different bytes, new names)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(RESPONSES.glob("*.txt"))
    for source in sources:
        shutil.copy(source, folder / source.name)
    for n in range(variants):
        source = sources[n % len(sources)]
        text = source.read_text(encoding="utf-8") + f"\n\nDetta yttrande är kopia nummer {n + 1}.\n"
        (folder / f"{source.stem}-kopia-{n + 1}.txt").write_text(text, encoding="utf-8")
    return folder


def _args(inputs: Path | list[Path], model: Path, out: Path, *extra: str) -> list[str]:
    paths = [str(p) for p in (inputs if isinstance(inputs, list) else [inputs])]
    return ["-q", *paths, "--referral", str(REGISTRY), "--model", str(model), "--out", str(out), *NO_SEMANTIC, *extra]


def _outputs(out: Path) -> dict[str, bytes]:
    """Every output file except the cache."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and CACHE not in p.parts}


def _errors(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]


def _kill_once_cached(command: list[str], cwd: Path, env: dict, out: Path, wait_s: float) -> int:
    """Start ``command``, SIGKILL it as soon as its first document is cached, and return how
    many documents the cache then holds (at least one, no outputs written yet)."""
    run = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           start_new_session=True)
    deadline = time.monotonic() + wait_s
    while not list((out / CACHE).glob("*.json")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "documents.jsonl").exists()
    return len(list((out / CACHE).glob("*.json")))


def test_kill_and_resume_gives_the_same_bytes(tmp_path, model):
    inputs = _corpus(tmp_path / "in", variants=8)
    reference = tmp_path / "reference"
    # the reference reads files in two worker processes, the killed and resumed runs in-process:
    # the outputs must not depend on that either
    assert main(_args(inputs, model, reference, "--workers", "2")) == 0

    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline.score", *_args(inputs, model, out, "--workers", "0")[1:]]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cached = _kill_once_cached(command, ROOT, env, out, wait_s=120)
    assert 1 <= cached < 12

    resumed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert _outputs(out) == _outputs(reference)
    assert len((out / "documents.jsonl").read_text().splitlines()) > 0
    assert {json.loads(line)["doc"] for line in (out / "paragraphs.jsonl").read_text().splitlines()} == \
        {p.stem for p in inputs.iterdir()}
    # stderr is a pipe here: plain progress lines, no bars
    assert "score: 12/12 documents (0 failed)" in resumed.stderr and "documents/s" in resumed.stderr
    assert f"({cached} from the cache)" in resumed.stderr


def _bad_inputs(folder: Path) -> dict[str, str]:
    """file name → a word its error message must contain."""
    from fpdf import FPDF

    folder.mkdir()
    (folder / "trasig.pdf").write_bytes(b"%PDF-1.7\n" + random.Random(0).randbytes(4000))
    write_pdf(folder / "krypterad.pdf", ["Socialstyrelsen tillstyrker förslaget."], password="hemligt")
    (folder / "tom.txt").write_bytes(b"")
    scan = FPDF()
    scan.add_page()
    scan.rect(20, 20, 120, 80, style="F")  # a page with a picture and no text layer
    scan.output(str(folder / "skannad.pdf"))
    write_pdf(folder / "lang.pdf", [f"Rad {n} av remissvaret." for n in range(200)])  # 5 pages
    return {"trasig.pdf": "corrupt", "krypterad.pdf": "password", "tom.txt": "empty",
            "skannad.pdf": "OCR", "lang.pdf": "ingest.max_pages (3)"}


ENGLISH = ("The National Board of Health and Welfare supports the proposal that every municipality should appoint "
           "a medically responsible physician. However, the board considers that the consequences for small "
           "municipalities have not been analysed well enough, and it recommends that the government looks into "
           "this further before a decision is made. The board has no comments on the other proposals.\n")


def test_bad_files_are_reported_and_the_good_ones_scored(tmp_path, model):
    folder = tmp_path / "in"
    expected = _bad_inputs(folder)
    good = sorted(_corpus(tmp_path / "good").iterdir())[:2]
    for source in good:
        shutil.copy(source, folder / source.name)
    shutil.copy(good[0], folder / f"{good[0].stem}_kopia.txt")
    (folder / "engelsk.txt").write_text(ENGLISH, encoding="utf-8")
    out = tmp_path / "out"

    assert main(_args(folder, model, out, "--workers", "0", "--max-pages", "3")) == 1

    errors = {Path(e["file"]).name: e for e in _errors(out)}
    for name, word in expected.items():
        assert errors[name]["level"] == "error" and word in errors[name]["error"], errors[name]
    assert errors["engelsk.txt"]["level"] == "warning" and "Swedish" in errors["engelsk.txt"]["error"]
    duplicate = errors[f"{good[0].stem}_kopia.txt"]
    assert duplicate["level"] == "warning" and str(folder / good[0].name) in duplicate["error"]
    assert all(e["file"] == str(folder / name) for name, e in errors.items())
    scored = {json.loads(line)["doc"] for line in (out / "paragraphs.jsonl").read_text().splitlines()}
    assert scored == {good[0].stem, good[1].stem, "engelsk"}
    assert (out / "reports" / "index.html").exists()

    # remiss ingest (dvc repro's first stage) reads the same folder under the same policy
    from pipeline.cli import main as remiss

    ingested, ingest_errors = tmp_path / "ingested.jsonl", tmp_path / "ingest_errors.jsonl"
    assert remiss(["ingest", str(folder), "--out", str(ingested), "--errors", str(ingest_errors),
                   "--max-pages", "3", "--strict"]) == 1
    as_read = [json.loads(line) for line in ingest_errors.read_text().splitlines()]
    assert sorted(as_read, key=lambda e: (e["file"], e["level"])) == \
        sorted(_errors(out), key=lambda e: (e["file"], e["level"]))
    assert {json.loads(line)["doc"] for line in ingested.read_text().splitlines()} == scored


def test_warnings_alone_exit_0(tmp_path, model):
    folder = _corpus(tmp_path / "in")
    shutil.copy(folder / "socialstyrelsen.txt", folder / "socialstyrelsen_kopia.txt")
    (folder / "engelsk.txt").write_text(ENGLISH, encoding="utf-8")
    out = tmp_path / "out"
    assert main(_args(folder, model, out, "--workers", "0")) == 0
    assert {e["level"] for e in _errors(out)} == {"warning"}


def test_the_default_refuses_a_500_page_pdf_before_reading_its_text(tmp_path, referral):
    from fpdf import FPDF
    from pipeline.link import LinkParams

    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    for n in range(500):
        pdf.add_page()
        pdf.cell(text=f"Sida {n + 1}")
    pdf.output(str(tmp_path / "bilaga.pdf"))
    result = prepare(Job(tmp_path / "bilaga.pdf", "bilaga", "-"), Settings(referral, LinkParams(semantic=False),
                                                                           IngestLimits()))
    assert result.level == "error" and f"500 pages, more than ingest.max_pages ({IngestLimits.max_pages})" in result.error


def crash_on_c(job: Job) -> str:
    """A reader that takes its worker down on file "c" (module level: spawned workers import it)."""
    if job.doc == "c":
        os._exit(1)
    return job.doc


def test_a_worker_crash_fails_only_the_files_in_flight():
    jobs = [Job(Path(f"{doc}.pdf"), doc, "-") for doc in "abcdef"]
    results = {job.doc: result for job, result in prepared(jobs, crash_on_c, workers=1)}
    assert sorted(results) == list("abcdef")
    assert isinstance(results["c"], Problem) and results["c"].level == "error" and "rerun" in results["c"].error
    # one worker has two files in flight: "c" and at most one beside it; a fresh pool reads the rest
    assert [doc for doc in "abef" if results[doc] != doc] == []


def test_usage_errors_exit_2(tmp_path, model):
    folder = _corpus(tmp_path / "in")
    assert main(_args(folder, tmp_path / "no-model", tmp_path / "out")) == 2
    (tmp_path / "empty").mkdir()
    assert main(_args(tmp_path / "empty", model, tmp_path / "out")) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: {}", encoding="utf-8")
    assert main(["-q", str(folder), "--referral", str(bad), "--model", str(model), "--out", str(tmp_path / "o")]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(_args(folder, model, tmp_path / "out", "--batch-size", "0"))
    assert exit_.value.code == 2


def test_device_cpu_and_auto_agree(tmp_path, model):
    folder = _corpus(tmp_path / "in")
    assert main(_args(folder, model, tmp_path / "cpu", "--workers", "0", "--device", "cpu")) == 0
    assert main(_args(folder, model, tmp_path / "auto", "--workers", "0", "--device", "auto")) == 0
    assert _outputs(tmp_path / "cpu") == _outputs(tmp_path / "auto")


def test_int8_predicts_the_labels_of_plain_fp32(model, documents, paragraphs, referral):
    from pipeline.classify import classify
    from pipeline.link import LinkParams, link

    links = link(paragraphs, referral, LinkParams(semantic=False))
    plain = classify(links, paragraphs, referral, load_inference(model, "cpu", "plain", 32))
    int8 = classify(links, paragraphs, referral, load_inference(model, "cpu", "int8", 32))
    assert len(plain) == len(int8) > 50
    agreement = sum(a.stance == b.stance for a, b in zip(plain, int8)) / len(plain)
    assert agreement >= INT8_AGREEMENT


def test_a_deployed_baseline_scores_and_refuses_int8(tmp_path, stance_pairs):
    from pipeline.stance.models import fit_and_save
    from pipeline.stance.params import TrainParams

    lexicon = fit_and_save(stance_pairs, TrainParams(model="lexicon"), tmp_path / "lexicon")
    folder = _corpus(tmp_path / "in")
    assert main(_args(folder, lexicon, tmp_path / "int8", "--cpu-path", "int8")) == 2
    assert main(_args(folder, lexicon, tmp_path / "out", "--workers", "0")) == 0
    cells = {(c["doc"], c["target"]): c for c in map(json.loads, (tmp_path / "out" / "documents.jsonl").open())}
    assert cells[("stockholms-stad", "7.2.7")]["source"] == "blanket"
    assert cells[("vastra-gotalandsregionen", "5.4")]["stance"] == "oppose"


def test_the_cache_key_covers_every_module_of_the_package(tmp_path, monkeypatch):
    # stance/train.py's encode() is what prediction uses; a hand-kept module list once missed it
    import hashlib
    import shutil

    from pipeline.scoring import cache

    copy = tmp_path / "pipeline"
    shutil.copytree(cache.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "PACKAGE", copy)

    def digest() -> str:
        h = hashlib.sha256()
        cache.code_digest(h)
        return h.hexdigest()

    before = digest()
    assert digest() == before
    for module in ("stance/train.py", "annotation/merge.py", "link/rules.py"):
        with open(copy / module, "a", encoding="utf-8") as f:
            f.write("\n# changed\n")
        assert digest() != before, f"a change to {module} does not change the cache key"
        before = digest()
