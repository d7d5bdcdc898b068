"""`remiss annotate` in a real browser: Debian's Chromium, driven through chromium-driver by
Selenium, presses the real keys on the Voilà app and reads what the screen shows; the
correction files are checked line by line. One server for the module, on the real corpus,
with a learned model (TF-IDF + LR fitted on gold) deployed; it is killed (SIGKILL, kernels
too) mid-session and restarted."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from pipeline.annotation import CorrectionLog, build_queue, cohen_kappa, merge_training_data, predictions_version
from pipeline.annotation.app import SCREEN_KEYS, app_url
from pipeline.classify import classify
from pipeline.link import LinkParams, link
from pipeline.records import LABELS, Prediction, read_jsonl, write_jsonl
from pipeline.stance.models import fit_and_save, load
from pipeline.stance.params import TrainParams
from tests.conftest import GOLD, REGISTRY, ROOT
from tests.test_annotate import DECISION_FIELDS
from tests.test_report import CHROMIUM

CHROMEDRIVER = Path("/usr/bin/chromedriver")
needs_chromium = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason=(
    "Chromium or its driver is not installed: apt-get install -y --no-install-recommends chromium chromium-driver "
    "(make browser)"))
needs_selenium = pytest.mark.skipif(importlib.util.find_spec("selenium") is None,
                                    reason="selenium is not installed: pip install -e '.[test]'")
#: where the test run leaves a screenshot of one item screen for a reviewer (git-ignored)
SCREENSHOTS = ROOT / "tests" / "screenshots"
WAIT = 90  # s: a page's kernel runs the notebook; on 2 busy cores that took up to 15 s


@dataclass
class AppData:
    root: Path
    paragraphs: Path
    links: Path
    predictions: Path
    model: Path
    corrections: Path
    retrain_dir: Path


@pytest.fixture(scope="module")
def app_data(tmp_path_factory, paragraphs, referral, stance_pairs) -> AppData:
    """What `dvc repro` leaves for the annotator, from the real corpus: paragraphs, links (no
    e5), a deployed learned model (TF-IDF + LR on gold: it fits in seconds) and its predictions."""
    root = tmp_path_factory.mktemp("app")
    data = AppData(root, root / "paragraphs.jsonl", root / "links.jsonl", root / "predictions.jsonl",
                   root / "deployed", root / "corrections", root / "retrained")
    links = link(paragraphs, referral, LinkParams(semantic=False))
    fit_and_save(stance_pairs, TrainParams(model="tfidf_logreg"), data.model)
    write_jsonl(data.paragraphs, paragraphs)
    write_jsonl(data.links, links)
    write_jsonl(data.predictions, classify(links, paragraphs, referral, load(data.model)))
    return data


class Server:
    """`remiss annotate` as a user starts it; ``kill`` takes the server and its kernels down with SIGKILL."""

    def __init__(self, data: AppData, log: Path):
        self.data, self.log, self.process = data, log, None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def start(self) -> None:
        d = self.data
        # authored rows left out: retraining on gold + corrections alone takes seconds, not a minute
        command = [sys.executable, "-m", "pipeline.cli", "annotate", "--referral", str(REGISTRY),
                   "--predictions", str(d.predictions), "--paragraphs", str(d.paragraphs), "--links", str(d.links),
                   "--corrections", str(d.corrections), "--model", str(d.model), "--authored", str(d.root / "none"),
                   "--retrain-dir", str(d.retrain_dir), "--statements", str(GOLD / "statements.yaml"),
                   "--agreement-every", "2", "--port", str(self.port), "--annotator", "anna"]
        earlier = self.log.read_text(encoding="utf-8") if self.log.exists() else ""  # an earlier run's lines
        with self.log.open("a") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + WAIT
        while "Voilà is running at" not in self.log.read_text(encoding="utf-8")[len(earlier):]:
            assert self.process.poll() is None, self.log.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "the app server did not start"
            time.sleep(0.2)

    def kill(self) -> None:
        everything = [self.process.pid] + [c.pid for c in psutil.Process(self.process.pid).children(recursive=True)]
        for pid in everything:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        psutil.wait_procs([p for p in map(_process, everything) if p], timeout=10)


def _process(pid: int):
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


@pytest.fixture(scope="module")
def server(app_data, tmp_path_factory):
    srv = Server(app_data, tmp_path_factory.mktemp("server") / "server.log")
    srv.start()
    yield srv
    srv.kill()


class Screen:
    """One browser session on the app (its own Chromium and profile)."""

    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        # as root on a machine without Google's hosts: no sandbox, no background connections
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
                    "--window-size=1400,1300"):
            options.add_argument(arg)
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)

    def text(self, part: str) -> str:
        from selenium.webdriver.common.by import By

        found = self.driver.find_elements(By.CSS_SELECTOR, f".remiss-{part}")
        return found[0].text if found else ""

    def wait(self, check, what: str, timeout: float = WAIT) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda _d: check(), message=what)

    def open(self, url: str) -> None:
        self.driver.get(url)
        self.wait(lambda: "Target" in self.text("item") and "items to review" in self.text("status"),
                  f"the item screen at {url}")

    def press(self, key: str) -> str:
        """Type ``key`` into the keys box (a real key event) and wait for the screen's answer."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        before = self.text("status")
        box = self.driver.find_element(By.CSS_SELECTOR, ".remiss-keys input")
        box.send_keys(Keys.ENTER if key == "enter" else key)
        self.wait(lambda: self.text("status") != before, f"an answer to key {key!r}")
        return self.text("status")

    def choose_new_target(self, label: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        Select(self.driver.find_element(By.CSS_SELECTOR, ".remiss-new-target select")).select_by_visible_text(label)

    def close(self) -> None:
        self.driver.quit()


def shows(screen: Screen, item) -> bool:
    shown = screen.text("item")
    return f"{item.doc} · {item.paragraph} ·" in shown and f"Target {item.target}:" in shown


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@needs_chromium
@needs_selenium
def test_every_key_in_a_real_browser_and_resume_after_a_killed_server(server, app_data, paragraphs, referral):
    predictions = read_jsonl(app_data.predictions, Prediction)
    queue = build_queue(predictions, paragraphs, referral)  # least certain first, by the deployed model
    url = app_url("127.0.0.1", server.port, "anna")
    assert f"annotator app: {url}\n" in server.log.read_text(encoding="utf-8")  # what `remiss annotate` prints
    screen = Screen()
    try:
        screen.open(url)
        assert shows(screen, queue[0])
        assert screen.text("progress").startswith(f"anna · 0 done / {len(queue)} in queue")
        first = queue[0].target
        assert f"{first}: 0/{sum(i.target == first for i in queue)}" in screen.text("progress")
        legend = screen.text("legend")
        assert all(f"{key} {what}" in legend for key, what in SCREEN_KEYS.items())
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        screen.driver.save_screenshot(str(SCREENSHOTS / "annotate-item.png"))

        new_target = next(t for t in referral.targets if t.id != queue[5].target)
        expected = []  # (item, action, stance, new target) per line of anna.jsonl
        for n, key in enumerate(["1", "2", "3", "4"]):
            status = screen.press(key)
            label = LABELS[n]
            expected.append((queue[n], "accept" if label == queue[n].stance else "relabel", label, None))
            assert status.startswith(f"saved: {queue[n].doc} {queue[n].paragraph} {queue[n].target}: ")
            assert shows(screen, queue[n + 1])
        screen.press("enter")
        expected.append((queue[4], "accept", queue[4].stance, None))
        screen.choose_new_target(f"{new_target.id} {new_target.title}")
        assert f"on {new_target.id}" in screen.press("t")
        expected.append((queue[5], "retarget", queue[5].stance, new_target.id))
        screen.press("x")
        expected.append((queue[6], "remove_target", None, None))
        screen.press("n")
        expected.append((queue[7], "not_stance", None, None))
        screen.press("s")
        expected.append((queue[8], "skip", None, None))
        assert shows(screen, queue[9])
        assert screen.press("b").startswith("back one item") and shows(screen, queue[8])
        screen.press("enter")  # decided again: a new line supersedes the skip
        expected.append((queue[8], "accept", queue[8].stance, None))
        assert shows(screen, queue[9])
        assert screen.text("progress").startswith(f"anna · 9 done / {len(queue)} in queue")
        assert "agreement after 9 decisions" in screen.text("agreement")  # refreshed at the 10th line (every 2)

        log = app_data.corrections / "anna.jsonl"
        rows = lines(log)
        assert [list(r) for r in rows] == [DECISION_FIELDS] * len(expected)
        assert [((r["doc"], r["paragraph"], r["target"]), r["action"], r["stance"], r["new_target"]) for r in rows] \
            == [(item.key, action, stance, target) for item, action, stance, target in expected]
        assert {r["model_version"] for r in rows} == {predictions_version(app_data.predictions)}
        assert all(r["annotator"] == "anna" and r["text_hash"] == item.text_hash
                   for r, (item, *_) in zip(rows, expected))

        # the server dies with the screen open; every decision the screen acknowledged is on disk
        server.kill()
        assert lines(log) == rows
        server.start()
        screen.open(url)
        left = len(queue) - 9
        assert screen.text("status").startswith(f"anna: {len(rows)} earlier decisions; {left} items to review")
        assert shows(screen, queue[9])  # resumed at the first item not yet decided
        assert screen.text("progress").startswith(f"anna · 9 done / {len(queue)} in queue")
        screen.press("2")
        after = lines(log)
        assert after[:len(rows)] == rows and len(after) == len(rows) + 1
        assert (after[-1]["paragraph"], after[-1]["target"], after[-1]["stance"]) == (queue[9].paragraph,
                                                                                        queue[9].target, "oppose")
    finally:
        screen.close()


@needs_chromium
@needs_selenium
def test_two_annotators_in_two_browsers_then_retrain_from_the_app(server, app_data, paragraphs, referral,
                                                                    stance_pairs):
    predictions = read_jsonl(app_data.predictions, Prediction)
    queue = build_queue(predictions, paragraphs, referral, done_keys=())
    bo, cy = Screen(), Screen()
    try:
        for screen, name in ((bo, "bo"), (cy, "cy")):
            screen.open(app_url("127.0.0.1", server.port, name))
            assert screen.text("progress").startswith(f"{name} · 0 done")
        # both sessions open at once, each with its own kernel (the URL names the annotator, over the
        # server's --annotator): bo and cy on the same two items
        bo.press("1")
        cy.press("1")
        bo.press("2")
        cy.press("3")
        bo_rows, cy_rows = lines(app_data.corrections / "bo.jsonl"), lines(app_data.corrections / "cy.jsonl")
        assert [r["annotator"] for r in bo_rows] == ["bo", "bo"] and [r["annotator"] for r in cy_rows] == ["cy", "cy"]
        assert [(r["paragraph"], r["target"]) for r in bo_rows] == [(i.paragraph, i.target) for i in queue[:2]]
        assert [r["stance"] for r in bo_rows] == ["support", "oppose"] and [r["stance"] for r in cy_rows] == [
            "support", "hesitant"]
        # after two decisions each screen shows the agreement with the other and with gold
        kappa = cohen_kappa(["support", "oppose"], ["support", "hesitant"])
        assert f"bo: κ {kappa:.2f} on 2" in cy.text("agreement")
        gold = {(p.doc, p.paragraph, p.target): p.label for p in stance_pairs}
        on_gold = [(gold[i.key], label) for i, label in zip(queue[:2], ["support", "hesitant"]) if i.key in gold]
        assert f"gold: {sum(g == o for g, o in on_gold)}/{len(on_gold)} agree" in cy.text("agreement")

        # r: the deployed kind (TF-IDF + LR) is trained on gold + corrections in the background
        cy.press("r")
        assert "training…" in cy.text("model")
        cy.wait(lambda: "new model ready" in cy.text("model") or "failed" in cy.text("model"), "the new model", 240)
        assert "new model ready" in cy.text("model"), cy.text("model")
        [new] = list(app_data.retrain_dir.iterdir())
        meta = json.loads((new / "model" / "stance_meta.json").read_text(encoding="utf-8"))
        merged = merge_training_data(stance_pairs, app_data.corrections, paragraphs, referral)
        assert meta["model"] == "tfidf_logreg" and meta["n_pairs"] == len(merged.pairs)
        # the queue re-ranked by the new model's uncertainty, cy's decided items left out
        new_predictions = read_jsonl(new / "predictions.jsonl", Prediction)
        assert new_predictions != predictions
        done = CorrectionLog.for_annotator(app_data.corrections, "cy").done_keys()
        reranked = build_queue(new_predictions, paragraphs, referral, done_keys=done)
        cy.wait(lambda: shows(cy, reranked[0]), "the re-ranked queue's first item")
        assert predictions_version(new / "predictions.jsonl") in cy.text("model")
        cy.press("n")
        last = lines(app_data.corrections / "cy.jsonl")[-1]
        assert (last["paragraph"], last["target"], last["stance"]) == (reranked[0].paragraph, reranked[0].target, None)
        assert last["model_version"] == predictions_version(new / "predictions.jsonl")
        assert lines(app_data.corrections / "bo.jsonl") == bo_rows  # cy's screen never writes bo's file
    finally:
        bo.close()
        cy.close()


def test_annotate_refuses_a_bad_name_or_missing_predictions_before_serving(tmp_path, caplog):
    from pipeline.cli import main

    assert main(["annotate", "--referral", str(REGISTRY), "--annotator", "../anna"]) == 2
    assert "annotator name '../anna'" in caplog.text
    missing = tmp_path / "predictions.jsonl"
    assert main(["annotate", "--referral", str(REGISTRY), "--predictions", str(missing)]) == 2
    assert f"{missing}: not found" in caplog.text
