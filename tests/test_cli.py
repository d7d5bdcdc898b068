"""The `remiss` command: each stage usable without DVC, bad input reported, good input kept."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline.cli import COMMANDS, main
from tests.conftest import REGISTRY, RESPONSES


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_has_help(name):
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", name, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: remiss" in result.stdout


def test_stages_run_without_dvc_and_bad_files_do_not_stop_the_corpus(tmp_path):
    responses = tmp_path / "responses"
    responses.mkdir()
    for source in RESPONSES.glob("*.txt"):
        (responses / source.name).write_bytes(source.read_bytes())
    (responses / "trasig.pdf").write_bytes(b"%PDF-1.4 broken")
    (responses / "tom.txt").write_bytes(b"")
    out = tmp_path / "data"
    assert main(["-q", "ingest", str(responses), "--out", str(out / "ingested.jsonl"),
                 "--errors", str(out / "errors.jsonl")]) == 0
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert sorted(e["file"].rsplit("/", 1)[1] for e in errors) == ["tom.txt", "trasig.pdf"]
    assert all(e["error"] for e in errors)
    assert len((out / "ingested.jsonl").read_text().splitlines()) == 4
    assert main(["-q", "segment", "--documents", str(out / "ingested.jsonl"), "--out", str(out / "p.jsonl")]) == 0
    assert main(["-q", "link", "--paragraphs", str(out / "p.jsonl"), "--referral", str(REGISTRY),
                 "--out", str(out / "links.jsonl"), "--no-semantic"]) == 0
    first = json.loads((out / "links.jsonl").read_text().splitlines()[0])
    assert set(first) == {"doc", "paragraph", "target", "method", "score"}
    paragraph = json.loads((out / "p.jsonl").read_text().splitlines()[0])
    assert set(paragraph) == {"doc", "id", "text", "kind", "section", "start", "end"}
    # --strict turns a skipped file into a failing exit code
    assert main(["-q", "ingest", str(responses), "--out", str(out / "i2.jsonl"), "--errors",
                 str(out / "e2.jsonl"), "--strict"]) == 1


def test_a_bad_registry_is_a_clear_error_and_keeps_earlier_outputs(tmp_path, caplog):
    paragraphs = tmp_path / "p.jsonl"
    paragraphs.write_text("", encoding="utf-8")
    out = tmp_path / "links.jsonl"
    out.write_text("earlier result\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: {}", encoding="utf-8")
    assert main(["link", "--paragraphs", str(paragraphs), "--referral", str(bad), "--out", str(out)]) == 2
    assert str(bad) in caplog.text
    assert out.read_text() == "earlier result\n"
