"""Hostile inputs and concurrent use (issue 15): every input is built here, small, and each
test names the defect it guards against. The full-size figures: ``python -m bench.hostile``."""
from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.hostile import TORN, appends, decision, torn_race
from pipeline.annotation import CorrectionLog, merge_training_data, text_hash
from pipeline.cli import main as remiss
from pipeline.ingest import IngestError, IngestLimits, ingest_file
from pipeline.ingest.clean import _dedupe_notes, _drop_outline
from pipeline.records import Cell, Paragraph
from pipeline.referral import Referral, RegistryError, load_referral
from pipeline.report import write_reports
from pipeline.score import main as score_main
from pipeline.scoring.cache import CACHE_DIR, LOCK_FILE
from tests.conftest import REGISTRY, RESPONSES, ROOT

NO_SEMANTIC = ["--no-semantic", "--params", "/nonexistent/params.yaml"]
GOOD = "socialstyrelsen.txt"


@pytest.fixture(scope="module")
def model(stance_pairs, tmp_path_factory) -> Path:
    """The lexicon, saved as `remiss train` saves it: the cheapest real model directory."""
    from pipeline.stance.models import fit_and_save
    from pipeline.stance.params import TrainParams

    return fit_and_save(stance_pairs, TrainParams(model="lexicon"), tmp_path_factory.mktemp("lexicon") / "stance")


def _score_args(inputs: list[Path], model: Path, out: Path, *extra: str) -> list[str]:
    return ["-q", *map(str, inputs), "--referral", str(REGISTRY), "--model", str(model), "--out", str(out),
            *NO_SEMANTIC, *extra]


def _errors(out: Path) -> dict[str, dict]:
    lines = (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()
    return {Path(e["file"]).name: e for e in map(json.loads, lines)}


def _scored_docs(out: Path) -> set[str]:
    return {json.loads(line)["doc"] for line in (out / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()}


def _docx_xml(path: Path, paragraphs: list[str]) -> Path:
    """A minimal DOCX written as XML: thousands of paragraphs in milliseconds (python-docx
    takes seconds), and the shape of a zip bomb: the XML compresses a thousandfold."""
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        '+xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": f'<?xml version="1.0"?><w:document xmlns:w="{ns}"><w:body>{body}</w:body></w:document>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in parts.items():
            package.writestr(name, text)
    return path


# --- 3. single inputs without bounds, 7. an unreadable file, 12. silent skips ---------------------------------------------------------

def test_oversized_files_are_refused_by_name_and_the_good_one_scored(tmp_path, model):
    """#3: a .txt over the character limit, a DOCX paragraph of 1.5M characters and a DOCX zip
    bomb of 25,000 paragraphs were all read (minutes at full size); now each is one error."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(RESPONSES / GOOD, inputs / GOOD)
    line = "Vi tillstyrker förslaget. " * 40 + "\n"
    (inputs / "huge.txt").write_text(line * 1_000, encoding="utf-8")  # 1,041,000 characters on 1,000 lines
    document = docx.Document()
    document.add_paragraph("Vi tillstyrker " * 100_000)  # one 1.5M-character paragraph
    document.save(inputs / "long-paragraph.docx")
    bomb = _docx_xml(inputs / "bomb.docx", ["Vi tillstyrker."] * 25_000)
    assert bomb.stat().st_size < 100_000

    out = tmp_path / "out"
    assert score_main(_score_args([inputs], model, out, "--workers", "0")) == 1
    errors = _errors(out)
    assert errors["huge.txt"]["error"].startswith("more than 1,000,000 characters (ingest.max_chars)")
    assert "(ingest.max_paragraph_chars)" in errors["long-paragraph.docx"]["error"]
    assert "(ingest.max_paragraphs)" in errors["bomb.docx"]["error"]
    assert _scored_docs(out) == {"socialstyrelsen"}


def test_a_txt_far_over_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 4001)
    with pytest.raises(IngestError, match=r"4,001 bytes, more than 4 × ingest.max_chars \(1,000 characters\)"):
        ingest_file(path, IngestLimits(max_chars=1000))


def test_limits_come_from_params_yaml(tmp_path):
    (tmp_path / "a.txt").write_text("Vi tillstyrker förslaget i sin helhet och utan förbehåll.\n", encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text("ingest:\n  max_chars: 20\n", encoding="utf-8")
    assert remiss(["-q", "ingest", str(tmp_path / "a.txt"), "--out", str(tmp_path / "i.jsonl"), "--errors",
                   str(tmp_path / "e.jsonl"), "--params", str(params)]) == 0
    [error] = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert "(ingest.max_chars)" in error["error"]


def test_outline_and_note_dedupe_are_linear():
    """#3: _drop_outline joined every kept line again for each tab-indented line, _dedupe_notes
    compared each URL with every kept note: 20,000 of each took 8 s and 36 s."""
    lines = [f"Rubrik nummer {n} om förslaget" for n in range(20_000)]
    started = time.perf_counter()
    kept = _drop_outline(lines, ["\t" + line for line in lines])
    notes = _dedupe_notes([f"https://example.se/{n}" for n in range(20_000)])
    assert time.perf_counter() - started < 5
    assert len(kept) == len(lines) and len(notes) == 20_000
    assert _drop_outline(["Förslag 4.1", "Ny rubrik", "Förslag 4.1"], ["Förslag 4.1", "Ny rubrik", "\tFörslag 4.1"]) \
        == ["Förslag 4.1", "Ny rubrik"]
    assert _dedupe_notes(["1 https://a.se/x", "https://a.se/x", "https://b.se"]) == ["1 https://a.se/x", "https://b.se"]



def test_ingest_goes_on_past_an_unreadable_file(tmp_path, monkeypatch):
    """#7: one file without read permission ended `remiss ingest` with rc 2 and nothing written.
    (Tests run as root, who may read anything: the denial is simulated at the read.)"""
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(RESPONSES / GOOD, inputs / GOOD)
    locked_file = inputs / "locked.txt"
    locked_file.write_text("Vi tillstyrker.", encoding="utf-8")
    locked_file.chmod(0)
    read_bytes = Path.read_bytes

    def denied(self):
        if self == locked_file:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    out, errors = tmp_path / "ingested.jsonl", tmp_path / "errors.jsonl"
    assert remiss(["-q", "ingest", str(inputs), "--out", str(out), "--errors", str(errors), *NO_SEMANTIC[1:]]) == 0
    assert [json.loads(line)["doc"] for line in out.read_text().splitlines()] == ["socialstyrelsen"]
    [error] = [json.loads(line) for line in errors.read_text().splitlines()]
    assert error == {"file": str(locked_file), "level": "error", "error": "cannot read it (Permission denied)"}


def _folder_with_odd_entries(tmp_path: Path) -> Path:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(RESPONSES / GOOD, inputs / GOOD)
    (inputs / "loop.txt").symlink_to(inputs / "loop.txt")
    (inputs / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (inputs / "more").mkdir()
    shutil.copy(RESPONSES / "stockholms-stad.txt", inputs / "more" / "stockholms-stad.txt")
    return inputs


def test_links_that_lead_nowhere_and_subfolders_are_reported(tmp_path, model):
    """#12: symlink loops, dangling links and subfolders were left out without a word."""
    inputs = _folder_with_odd_entries(tmp_path)
    out, errors = tmp_path / "ingested.jsonl", tmp_path / "errors.jsonl"
    assert remiss(["-q", "ingest", str(inputs), "--out", str(out), "--errors", str(errors), *NO_SEMANTIC[1:]]) == 0
    lines = {Path(e["file"]).name: e["error"] for e in map(json.loads, errors.read_text().splitlines())}
    assert set(lines) == {"loop.txt", "dangling.txt", "more"}
    assert "dangling, or a loop" in lines["loop.txt"] and "dangling, or a loop" in lines["dangling.txt"]
    assert lines["more"].startswith("a subfolder: not searched")

    scored = tmp_path / "scored"
    assert score_main(_score_args([inputs], model, scored, "--workers", "0")) == 1  # the links are errors
    levels = {name: e["level"] for name, e in _errors(scored).items()}
    assert levels == {"loop.txt": "error", "dangling.txt": "error", "more": "warning"}
    assert _scored_docs(scored) == {"socialstyrelsen"}


# --- 5. the lock on --out, 6. orphaned workers, 9. a corrupt cache entry --------------------------

def test_a_second_run_on_one_out_folder_fails_and_touches_nothing(tmp_path, model, caplog):
    """#5: two runs on one folder both exited 0, and each removed the other's temporaries."""
    out = tmp_path / "out"
    (out / CACHE_DIR).mkdir(parents=True)
    live = out / ".documents.jsonl.abc.tmp"  # another run's temporary, being written
    live.write_text("half", encoding="utf-8")
    with open(out / CACHE_DIR / LOCK_FILE, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("4242\n")
        held.flush()
        with caplog.at_level(logging.ERROR, logger="remiss"):
            assert score_main(_score_args([RESPONSES / GOOD], model, out)) == 2
    assert "another remiss score run (pid 4242) is writing to this folder" in caplog.text
    assert live.exists() and not (out / "errors.jsonl").exists()
    assert score_main(_score_args([RESPONSES / GOOD], model, out, "--workers", "0")) == 0  # released: runs


#: a run's worker pool, each worker in a job that never ends; stands for `remiss score` (the
#: same pool code) without the model, which would take the test 10 s a run to load
POOL = """
import time
from pipeline.scoring.engines import prepared
for _ in prepared([3600.0] * 4, time.sleep, workers=2):
    pass
"""


def test_workers_leave_when_the_run_is_killed():
    """#6: after kill -9 or SIGTERM of `remiss score`, its spawn workers waited forever. Two
    runs at once, one for each signal."""
    import psutil

    runs = {sig: subprocess.Popen([sys.executable, "-c", POOL], cwd=ROOT, start_new_session=True)
            for sig in (signal.SIGKILL, signal.SIGTERM)}
    workers: dict[int, list[int]] = {}
    try:
        deadline = time.monotonic() + 60
        # each pool's two workers (spawn also starts a resource tracker)
        while min(len(w) for w in workers.values() or [[]]) < 2 and time.monotonic() < deadline:
            workers = {sig: [p.pid for p in psutil.Process(run.pid).children() if "spawn_main" in " ".join(p.cmdline())]
                       for sig, run in runs.items()}
            time.sleep(0.1)
        assert all(len(w) == 2 for w in workers.values()), "a run never started its workers"
        time.sleep(1)  # they are up and waiting on their jobs
        for sig, run in runs.items():
            os.kill(run.pid, sig)
            run.wait(timeout=30)
        pids = [pid for w in workers.values() for pid in w if psutil.pid_exists(pid)]
        _, alive = psutil.wait_procs([psutil.Process(pid) for pid in pids], timeout=15)
        assert not alive, f"workers still running after the main process died: {[p.pid for p in alive]}"
    finally:
        for pid in [*(run.pid for run in runs.values()), *(pid for w in workers.values() for pid in w)]:
            try:  # orphans are no longer the run's children
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_truncated_cache_entry_is_scored_again(tmp_path, model, caplog):
    """#9: one truncated cache file failed every rerun with a JSON error naming no file."""
    out = tmp_path / "out"
    args = _score_args([RESPONSES / GOOD, RESPONSES / "stockholms-stad.txt"], model, out, "--workers", "0")
    assert score_main(args) == 0
    reference = {p.name: p.read_bytes() for p in out.glob("*.jsonl")}
    entry = sorted((out / CACHE_DIR).glob("*.json"))[0]
    entry.write_bytes(entry.read_bytes()[:100])
    with caplog.at_level(logging.WARNING, logger="remiss"):
        assert score_main(args) == 0
    assert f"{entry}: unreadable cache entry" in caplog.text
    assert {p.name: p.read_bytes() for p in out.glob("*.jsonl")} == reference


# --- 4. spreadsheet formula injection, 8. mathtext -------------------------------------------------

def _report(tmp_path: Path, doc: str, title: str) -> Path:
    from pipeline.records import Target

    referral = Referral("=SOU", "t", (Target("=1+1", "forslag", title),))
    cell = Cell(doc, "=1+1", "support", 0.9, "statement", None, ["p1"])
    paragraph = Paragraph(doc, "p1", "Vi tillstyrker.", "paragraph", None, 0, 15)
    write_reports([cell], [paragraph], [], referral, tmp_path / "reports")
    return tmp_path / "reports"


def test_formulas_in_titles_and_file_names_stay_text(tmp_path):
    """#4: '=HYPERLINK(…)' as a title and "@cmd|' -C calc'!A0" as a file name were live
    formulas in matrix.xlsx and bare in the CSVs."""
    from openpyxl import load_workbook

    title, doc = '=HYPERLINK("http://evil.example","klicka")', "@cmd|' -C calc'!A0"
    reports = _report(tmp_path, doc, title)
    matrix = (reports / "matrix.csv").read_text(encoding="utf-8")
    tally = (reports / "tally.csv").read_text(encoding="utf-8")
    assert f"'{doc}" in matrix and "'=1+1" in matrix
    assert "'=HYPERLINK(" in tally
    sheet = load_workbook(reports / "matrix.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert {c.value for c in cells} >= {title, doc, "=1+1"}
    assert all(c.data_type == "s" for c in cells)


def test_dollar_signs_in_names_do_not_break_the_heatmap(tmp_path):
    """#8: a file name with '$\\foo$' aborted the whole report in matplotlib's mathtext."""
    reports = _report(tmp_path, r"svar-$\foo$-$x^2$", r"Titel med $\unknown$")
    assert (reports / "heatmap.png").stat().st_size > 0


# --- 3. a billion laughs, 10. registry validation ------------------------------------------------------------------------

def test_billion_laughs_registry_is_refused(tmp_path):
    """#3: a 496-byte registry of nested aliases built a 722M-character title."""
    rows = ['a0: &a0 "hahahahaha"'] + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(rows) + '\ntargets:\n  - id: "1"\n    title: *a8\n', encoding="utf-8")
    assert path.stat().st_size < 600
    started = time.perf_counter()
    with pytest.raises(RegistryError, match=r"laughs.yaml: .*alias \*a0: aliases are not allowed"):
        load_referral(path)
    assert time.perf_counter() - started < 1



TARGET = '  - id: "1"\n    title: Ett förslag\n'


@pytest.mark.parametrize("body, message", [
    (f"targets:\n{TARGET}targets:\n  - id: \"2\"\n    title: Två\n", "key 'targets' given twice"),
    (f"targets:\n{TARGET}  - id: \"2\"\n    title: ''\n", r"target 2 \(2\): empty title"),
    (f"targets:\n{TARGET}  - id: \"2\"\n    title: Två\n    aliases: tvåan\n",
     r"target 2 \(2\): 'aliases' must be a list of phrases, not str"),
    (f"targets:\n{TARGET}  - id: \"2\"\n    title: Två\n    aliases: [tvåan, '']\n",
     r"target 2 \(2\): 'aliases' holds an empty"),
])
def test_registry_mistakes_are_errors_naming_file_and_target(tmp_path, body, message):
    """#10: a second targets: key dropped the first list, an empty title or a string of
    aliases linked everywhere."""
    path = tmp_path / "registry.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RegistryError, match=rf"registry.yaml.*{message}"):
        load_referral(path)


def test_unquoted_section_numbers_keep_their_zeros(tmp_path):
    """#10: unquoted ids 4.10 and 7.20 were YAML floats, read as "4.1" and "7.2"."""
    path = tmp_path / "registry.yaml"
    path.write_text("targets:\n  - id: 4.1\n    title: A\n  - id: 4.10\n    title: B\n  - id: 7.20\n    title: C\n"
                    "  - id: 5\n    title: D\n", encoding="utf-8")
    assert [t.id for t in load_referral(path).targets] == ["4.1", "4.10", "7.20", "5"]


# --- 1. annotator decisions lost, 11. corrections records not type-checked ---------------------------

def test_two_processes_appending_to_one_log_lose_nothing(tmp_path):
    """#1: _repair_tail read the tail without a lock, took another process's line in progress
    for a crash's torn tail and cut it off (3 of 4,000 appends lost; 12 of 1,500 after a
    torn tail). bench/hostile.py runs this at 2 × 2,000."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert appends(200, tmp_path / "a") == {"processes": 2, "appends_each": 200, "lost": 0, "bad_lines": 0,
                                            "seconds": pytest.approx(0, abs=120)}
    # a torn tail, then two appends at once, 40 times: the long note widens the race's window
    # (unlocked, 11 of 100 such appends were lost)
    assert torn_race(40, tmp_path / "b", note="x" * 100_000)["lost"] == 0


def _writer(path: Path, first: int, note: str, report: int) -> None:
    """A forked annotator: appends decisions first, first + 1, … and reports each number once
    its append has returned, until it is killed."""
    log = CorrectionLog(path)
    for n in range(first, first + 10_000):
        log.append(decision(0, n, note))
        os.write(report, f"{n}\n".encode())
    os._exit(0)


def _round(path: Path, kills: list[float], note: str, first: int) -> set[int]:
    """Two writers at once, each killed (SIGKILL) after its delay; the numbers whose appends returned."""
    children = []
    for n, delay in enumerate(kills):
        report_read, report_write = os.pipe()
        if (pid := os.fork()) == 0:
            os.close(report_read)
            _writer(path, first + n * 10_000, note, report_write)
        os.close(report_write)
        children.append((pid, delay, report_read))
    started = time.monotonic()
    returned: set[int] = set()
    for pid, delay, report_read in sorted(children, key=lambda c: c[1]):
        time.sleep(max(0.0, started + delay - time.monotonic()))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(report_read, "rb") as reports:
            returned |= {int(line) for line in reports.read().split()}
    return returned


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(st.tuples(st.floats(0, 0.15), st.floats(0, 0.15)), min_size=1, max_size=3),
       note_chars=st.sampled_from([0, 2_000, 300_000]), torn_start=st.booleans())
def test_any_interleaving_of_appends_and_kills_loses_no_returned_append(tmp_path_factory, rounds, note_chars,
                                                                          torn_start):
    """#1, as a property: two processes append to one log and are killed at any moment (also
    inside a write), round after round; every append that returned is in the file, and once
    the next append has repaired the tail, every line is a whole decision."""
    path = tmp_path_factory.mktemp("log") / "anna.jsonl"
    if torn_start:
        path.write_bytes(TORN)
    returned: set[int] = set()
    for n, kills in enumerate(rounds):
        returned |= _round(path, list(kills), "x" * note_chars, first=n * 100_000)
    CorrectionLog(path).append(decision(1, 0))
    read = CorrectionLog(path).read()
    in_file = {int(d.paragraph.split("-")[1]) for d in read.decisions if d.paragraph.startswith("w0-")}
    assert returned <= in_file
    assert read.bad == [] and path.read_bytes().endswith(b"\n")


def test_records_of_the_wrong_type_or_annotator_are_bad_lines_naming_file_and_line(tmp_path, paragraphs, referral):
    """#11: valid JSON with a list for `doc` crashed the merge with a traceback, and lines in
    anna's file that claimed annotator bo were merged as bo's votes."""
    paragraph, target = paragraphs[0], referral.targets[0].id

    def line(annotator: str, stance: str, **changes) -> str:
        record = dict(dataclasses.asdict(decision(0, 0)), doc=paragraph.doc, paragraph=paragraph.id, target=target,
                      text_hash=text_hash(paragraph.text), annotator=annotator, stance=stance)
        return json.dumps({**record, **changes}) + "\n"

    (tmp_path / "anna.jsonl").write_text(line("anna", "support") + line("anna", "support", doc=[paragraph.doc])
                                         + line("bo", "support"), encoding="utf-8")
    (tmp_path / "bo.jsonl").write_text(line("bo", "oppose"), encoding="utf-8")
    merged = merge_training_data([], tmp_path, paragraphs, referral)
    assert [(Path(b.path).name, b.line) for b in merged.bad_lines] == [("anna.jsonl", 2), ("anna.jsonl", 3)]
    assert "doc must be str, not list" in merged.bad_lines[0].reason
    assert "claims annotator 'bo' in 'anna''s file" in merged.bad_lines[1].reason
    [conflict] = merged.conflicts  # anna's one vote against bo's: a disagreement, not bo's majority
    assert conflict.votes == {"anna": "support", "bo": "oppose"}


# --- 2. a --model folder that runs code -----------------------------------------------------------

class _Payload:
    """What a crafted pickle does when it is loaded: here, leave a file behind."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


@pytest.mark.parametrize("model_name", ["hybrid", "setfit"])
def test_a_model_folder_with_a_pickle_runs_nothing_without_trust(tmp_path, stance_pairs, model_name, caplog):
    """#2: joblib.load unpickled a crafted classifier.joblib (it ran os.system); SetFit's
    model_head.pkl is a pickle too. Without --trust-model neither is opened."""
    import joblib

    from pipeline.stance.models import fit_and_save
    from pipeline.stance.params import TrainParams

    folder = fit_and_save(stance_pairs, TrainParams(model="tfidf_logreg"), tmp_path / "stance")
    meta = json.loads((folder / "stance_meta.json").read_text(encoding="utf-8"))
    (folder / "stance_meta.json").write_text(json.dumps({**meta, "model": model_name}), encoding="utf-8")
    for saved in folder.glob("classifier.*"):
        saved.unlink()
    marker = tmp_path / "pwned"
    pickle = folder / ("classifier.joblib" if model_name == "hybrid" else "model_head.pkl")
    joblib.dump(_Payload(marker), pickle)
    out = tmp_path / "out"
    with caplog.at_level(logging.ERROR, logger="remiss"):
        assert score_main(_score_args([RESPONSES / GOOD], folder, out, "--workers", "0")) == 2
    assert f"{pickle}: a pickle, and unpickling runs any code the file holds" in caplog.text
    assert "(--trust-model)" in caplog.text
    assert remiss(["-q", "classify", "--model", str(folder), "--links", str(tmp_path / "none.jsonl"),
                   "--referral", str(REGISTRY)]) == 2
    assert not marker.exists()
    if model_name == "hybrid":  # trusted, the pickle is opened: and runs
        assert score_main(_score_args([RESPONSES / GOOD], folder, out, "--workers", "0", "--trust-model")) == 2
        assert marker.read_text() == "ran"


def test_a_skops_file_with_foreign_types_is_refused(tmp_path, stance_pairs, caplog):
    import skops.io

    from pipeline.stance.models import fit_and_save
    from pipeline.stance.params import TrainParams

    folder = fit_and_save(stance_pairs, TrainParams(model="tfidf_logreg"), tmp_path / "stance")
    skops.io.dump({"model_": os.system}, folder / "classifier.skops")
    with caplog.at_level(logging.ERROR, logger="remiss"):
        assert score_main(_score_args([RESPONSES / GOOD], folder, tmp_path / "out", "--workers", "0")) == 2
    assert "classifier.skops: holds types a scikit-learn model does not need" in caplog.text
    assert "posix.system" in caplog.text


def test_saved_baselines_load_without_pickle_and_predict_the_same(tmp_path, stance_pairs):
    """#2: what `remiss train` saves now loads without --trust-model and predicts as fitted."""
    from pipeline.stance.models import create, fit_and_save, load
    from pipeline.stance.params import TrainParams

    folder = fit_and_save(stance_pairs, TrainParams(model="hybrid"), tmp_path / "stance")
    assert sorted(p.name for p in folder.iterdir()) == ["classifier.json", "classifier.skops", "stance_meta.json"]
    fitted = create("hybrid").fit(stance_pairs)
    assert load(folder).predict(stance_pairs[:20]) == fitted.predict(stance_pairs[:20])

