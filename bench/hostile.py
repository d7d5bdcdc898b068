"""Hostile inputs and concurrent use at full size (issue 15); the tests run the same at a size for CI.

    python -m bench.hostile [--appends 2000] [--torn-rounds 750] [--skip-score]

Writes ``bench/results/hostile.json``:

- ``appends``: two processes append ``--appends`` decisions each to one corrections file that
  starts with a torn tail; ``torn_race``: ``--torn-rounds`` times, a torn tail and then two
  processes appending one decision each at the same moment (where the unlocked log lost
  12 of 1,500). Both count the appends that returned and are not in the file: 0 is the bar.
- ``score``: `remiss score` (a subprocess, default workers) on a folder holding a 50 MB .txt, a
  DOCX with one 1.5M-character paragraph, a 786 KB DOCX zip bomb of 207k paragraphs and one
  good response: the wall time (bar: 60 s on 2 cores), the errors.jsonl lines, whether the good
  response was scored.
- ``at_limits``: a realistic response just under ``ingest.max_chars`` (the corpus's responses
  repeated): seconds to ingest, segment and link it (rule linkers), which is what the
  defaults in params.yaml ``ingest:`` were chosen by.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.annotation import CorrectionLog, Decision  # noqa: E402
from pipeline.ingest import IngestLimits, ingest_file  # noqa: E402
from pipeline.link import LinkParams, link  # noqa: E402
from pipeline.params import load_section  # noqa: E402
from pipeline.records import atomic_write_text  # noqa: E402
from pipeline.referral import load_referral  # noqa: E402
from pipeline.segment import segment  # noqa: E402

RESPONSES = ROOT / "corpus" / "responses"
REGISTRY = ROOT / "corpus" / "proposals" / "sou-2024-72.yaml"
RESULTS = ROOT / "bench" / "results" / "hostile.json"
TORN = b'{"doc": "torn'  # the start of a line a crash cut off
WORD_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


# --- the corrections log ------------------------------------------------------------------------

def decision(writer: int, n: int, note: str = "") -> Decision:
    return Decision(doc="d", paragraph=f"w{writer}-{n}", target="4.1", text_hash="h",
                    original={"stance": "support", "probs": {}}, model_version=None, action="accept",
                    stance="support", new_target=None, speaker=None, note=note, annotator="anna",
                    timestamp="2026-01-01T00:00:00+00:00")


def _writers(path: Path, jobs: list[list[int]], note: str = "") -> None:
    """One forked process per list of decision numbers, started together; each appends its own
    (a long ``note`` makes each write take longer: a wider window for a race)."""
    go_read, go_write = os.pipe()
    pids = []
    for writer, numbers in enumerate(jobs):
        if (pid := os.fork()) == 0:
            os.close(go_write)
            os.read(go_read, 1)
            log = CorrectionLog(path)
            for n in numbers:
                log.append(decision(writer, n, note))
            os._exit(0)
        pids.append(pid)
    os.close(go_read)
    os.write(go_write, b"x" * len(jobs))
    os.close(go_write)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "a writer failed"


def lost(path: Path, expected: set[str]) -> int:
    return len(expected - {d.paragraph for d in CorrectionLog(path).read().decisions})


def appends(each: int, folder: Path) -> dict:
    path = folder / "anna.jsonl"
    path.write_bytes(TORN)
    started = time.perf_counter()
    _writers(path, [list(range(each))] * 2)
    seconds = time.perf_counter() - started
    expected = {f"w{w}-{n}" for w in range(2) for n in range(each)}
    return {"processes": 2, "appends_each": each, "lost": lost(path, expected),
            "bad_lines": len(CorrectionLog(path).read().bad), "seconds": round(seconds, 1)}


def torn_race(rounds: int, folder: Path, note: str = "") -> dict:
    path = folder / "anna.jsonl"
    for n in range(rounds):
        with path.open("ab") as f:
            f.write(TORN)
        _writers(path, [[n], [n]], note)
    expected = {f"w{w}-{n}" for w in range(2) for n in range(rounds)}
    return {"rounds": rounds, "appends": 2 * rounds, "lost": lost(path, expected)}


# --- remiss score on hostile files --------------------------------------------------------------

def write_docx(path: Path, paragraphs, text_chars: int) -> None:
    """A DOCX whose XML streams into the zip: ``paragraphs`` many, each ``text_chars`` long."""
    text = ("Vi tillstyrker förslaget. " * (text_chars // 26 + 1))[:text_chars]
    paragraph = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>'))
        package.writestr("_rels/.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>'))
        with package.open("word/document.xml", "w", force_zip64=True) as xml:
            xml.write(f'<?xml version="1.0"?><w:document xmlns:w="{WORD_NS}"><w:body>'.encode())
            for _ in range(paragraphs):
                xml.write(paragraph)
            xml.write(b"</w:body></w:document>")


def hostile_folder(folder: Path) -> dict[str, int]:
    """The issue's three files and a good response; returns each file's size in bytes."""
    folder.mkdir()
    line = ("Vi tillstyrker förslaget i sin helhet. " * 25 + "\n").encode()
    with (folder / "femtio-mb.txt").open("wb") as f:
        for _ in range(50_000_000 // len(line) + 1):
            f.write(line)
    write_docx(folder / "lang-paragraf.docx", 1, 1_500_000)
    write_docx(folder / "zip-bomb.docx", 207_000, 880)
    good = RESPONSES / "socialstyrelsen.txt"
    (folder / good.name).write_bytes(good.read_bytes())
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir())}


def lexicon_model(folder: Path) -> Path:
    """The lexicon saved as `remiss train` saves it: a real model directory, fitted in a second."""
    from pipeline.gold import load_statements
    from pipeline.stance.data import gold_pairs
    from pipeline.stance.models import fit_and_save
    from pipeline.stance.params import TrainParams

    paragraphs = [p for path in sorted(RESPONSES.glob("*.txt")) for p in segment(ingest_file(path))]
    pairs = gold_pairs(load_statements(ROOT / "labels" / "gold" / "statements.yaml"), paragraphs,
                       load_referral(REGISTRY))
    return fit_and_save(pairs, TrainParams(model="lexicon"), folder / "stance")


def score_hostile(folder: Path, model: Path | None) -> dict:
    inputs = folder / "in"
    sizes = hostile_folder(inputs)
    model = model or lexicon_model(folder)
    out = folder / "out"
    command = [sys.executable, "-m", "pipeline.score", "-q", str(inputs), "--referral", str(REGISTRY),
               "--model", str(model), "--out", str(out), "--params", str(ROOT / "params.yaml")]
    started = time.perf_counter()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    docs = {json.loads(line)["doc"] for line in (out / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()}
    return {"model": "lexicon" if model.parent == folder else str(model), "files": sizes, "seconds": round(seconds, 1),
            "exit_code": run.returncode, "errors": [{"file": Path(e["file"]).name, "level": e["level"],
                                                     "error": e["error"]} for e in errors],
            "scored": sorted(docs), "good_response_scored": "socialstyrelsen" in docs}


def at_limits(folder: Path, limits: IngestLimits) -> dict:
    base = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted(RESPONSES.glob("*.txt"))) + "\n\n"
    path = folder / "at-limit.txt"
    path.write_text((base * (limits.max_chars // len(base) + 1))[: limits.max_chars - 20_000], encoding="utf-8")
    started = time.perf_counter()
    document = ingest_file(path, limits)
    paragraphs = segment(document)
    links = link(paragraphs, load_referral(REGISTRY), LinkParams(semantic=False))
    return {"chars": len(document.text), "paragraphs": len(paragraphs), "links": len(links),
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--appends", type=int, default=2000, help="appends per process")
    p.add_argument("--torn-rounds", type=int, default=750, help="torn tails raced by two appends")
    p.add_argument("--model", type=Path, help="the model for the score run (default: the lexicon, fitted here)")
    p.add_argument("--skip-score", action="store_true", help="only the corrections log")
    args = p.parse_args()
    limits = load_section(ROOT / "params.yaml", "ingest", IngestLimits)
    result: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                    "limits": dataclasses.asdict(limits)}
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        tmp = Path(tmp)
        for name, run in (("appends", lambda d: appends(args.appends, d)),
                          ("torn_race", lambda d: torn_race(args.torn_rounds, d))):
            (tmp / name).mkdir()
            result[name] = run(tmp / name)
            print(name, result[name], flush=True)
        if not args.skip_score:
            (tmp / "score").mkdir()
            result["score"] = score_hostile(tmp / "score", args.model)
            print("score", {k: v for k, v in result["score"].items() if k != "errors"}, flush=True)
            result["at_limits"] = at_limits(tmp, limits)
            print("at_limits", result["at_limits"], flush=True)
    atomic_write_text(RESULTS, json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"→ {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
