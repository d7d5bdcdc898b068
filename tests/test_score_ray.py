"""`remiss score --engine ray` on a Ray instance the tests start (2 CPUs, loopback only): the
local engine's bytes, also when a reader or the model's process is killed mid-run, and when
the driver is killed and the run resumed."""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from pipeline.score import main
from tests.conftest import REGISTRY
from tests.test_score import CACHE, NO_SEMANTIC, _args, _bad_inputs, _corpus, _kill_once_cached, _outputs, model  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="the optional 'ray' extra (make setup installs it)")

#: Ray on loopback only: node addresses 127.0.0.1 (Ray otherwise takes the address it would
#: reach the internet from), no usage reports, no dashboard
#: a loopback test cluster: no usage stats, and no token auth, which Ray turns on by itself
#: wherever an earlier Ray run left ~/.ray/auth_token (the driver then failed to connect here)
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
#: the corpus of the kill tests: 4 responses and 8 altered copies
DOCUMENTS = 12


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """`ray start --head --block` with 2 CPUs, starting (it takes half a minute on 2 busy cores);
    the process and its log. Stopped by signalling only its own process group (`ray stop`
    would stop every Ray instance of this user)."""
    port = _free_port()
    temp = Path(f"/tmp/ray-test-{os.getpid()}")  # Ray's socket paths must stay short
    log = tmp_path_factory.mktemp("ray") / "ray-start.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", f"--port={port}",
             "--num-cpus=2", "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats",
             "--object-store-memory=200000000", f"--temp-dir={temp}"],
            env={**os.environ, **RAY_ENV}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process, log, f"127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # its orderly stop takes half a minute; the workers go with the raylet
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(head, model, monkeypatch_module):
    """The address of the started head, once it is up (the model trains meanwhile)."""
    process, log, address = head
    deadline = time.monotonic() + 180
    while "Ray runtime started" not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "Ray runtime started" in log.read_text(), log.read_text()
    for name, value in RAY_ENV.items():  # this process is a driver too
        monkeypatch_module.setenv(name, value)
    return address


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def reference(tmp_path_factory, model) -> tuple[Path, Path]:
    """The kill tests' corpus and the local engine's outputs for it."""
    work = tmp_path_factory.mktemp("ray-reference")
    inputs = _corpus(work / "in", variants=DOCUMENTS - 4)
    assert main(_args(inputs, model, work / "local", "--workers", "0")) == 0
    return inputs, work / "local"


def test_ray_writes_the_local_engines_bytes_and_keys(tmp_path, cluster, model):
    """Bad files included: they are the same errors.jsonl lines. The same cache keys: a run on
    one engine resumes the other's."""
    folder = tmp_path / "in"
    _bad_inputs(folder)
    for source in sorted(_corpus(tmp_path / "good").iterdir())[:3]:
        shutil.copy(source, folder / source.name)
    extra = ("--max-pages", "3")
    assert main(_args(folder, model, tmp_path / "local", "--workers", "0", *extra)) == 1
    assert main(_args(folder, model, tmp_path / "ray", "--engine", "ray", "--address", cluster, *extra)) == 1
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "local")
    assert len((tmp_path / "ray" / "errors.jsonl").read_text().splitlines()) == 5
    keys = {out: sorted(p.name for p in (tmp_path / out / CACHE).glob("*.json")) for out in ("local", "ray")}
    assert len(keys["ray"]) == 3 and keys["ray"] == keys["local"]


def _kill_when_busy(titles: tuple[str, ...], killed: dict[str, int], stop: threading.Event) -> None:
    """SIGKILL the first Ray worker seen running each of ``titles`` (Ray names a worker's process
    ``ray::<task>`` while it runs one, ``ray::IDLE`` between tasks)."""
    while not stop.is_set() and len(killed) < len(titles):
        for process in psutil.process_iter(["pid", "cmdline"]):
            command = " ".join(process.info["cmdline"] or [])
            for title in titles:
                if title not in killed and command.startswith(title):
                    os.kill(process.info["pid"], signal.SIGKILL)
                    killed[title] = process.info["pid"]
        time.sleep(0.005)


def test_killed_workers_are_retried_and_the_bytes_stay(tmp_path, cluster, model, reference):
    """A reader killed in its task and the model's actor killed in a call: Ray retries the task
    and restarts the actor, and the outputs are the local engine's."""
    inputs, local = reference
    titles = ("ray::prepare_task", "ray::ModelActor.score")
    killed: dict[str, int] = {}
    stop = threading.Event()
    killer = threading.Thread(target=_kill_when_busy, args=(titles, killed, stop), daemon=True)
    killer.start()
    try:
        assert main(_args(inputs, model, tmp_path / "ray", "--engine", "ray", "--address", cluster)) == 0
    finally:
        stop.set()
        killer.join()
    assert sorted(killed) == sorted(titles), f"killed only {killed}: the run ended first"
    assert _outputs(tmp_path / "ray") == _outputs(local)


def test_a_killed_driver_resumes_with_the_same_bytes(tmp_path, cluster, model, reference):
    """kill -9 of `remiss score --engine ray` after its first cached document; a rerun skips what
    is cached. Relative input paths from another working directory than the workers'."""
    inputs, local = reference
    shutil.copytree(inputs, tmp_path / "in")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline.score", *_args(Path("in"), model, out, "--engine", "ray",
                                                              "--address", cluster)[1:]]
    env = {**os.environ, **RAY_ENV, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cached = _kill_once_cached(command, tmp_path, env, out, wait_s=180)
    assert 1 <= cached < DOCUMENTS

    resumed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({cached} from the cache)" in resumed.stderr
    assert _outputs(out) == _outputs(local)


def test_engine_ray_without_ray_is_a_usage_error(tmp_path, model, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` finds where the extra is missing
    monkeypatch.delitem(sys.modules, "pipeline.scoring.ray_engine", raising=False)
    folder = _corpus(tmp_path / "in")
    with caplog.at_level(logging.ERROR, logger="remiss"):
        assert main(_args(folder, model, tmp_path / "out", "--engine", "ray")) == 2
    assert "--engine ray needs Ray" in caplog.text
