"""dvc.yaml knows every file each stage reads: the paths its command names and every module of
the package its command runs, found by following the imports. A stage that reads something
DVC does not track is not rerun when that something changes, and a metric goes stale."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from pipeline.cli import COMMANDS

from .imports import NOT_STAGE_CODE, PACKAGE, ROOT, closure, module_file


def stages() -> dict[str, dict]:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    text = (ROOT / "dvc.yaml").read_text(encoding="utf-8")
    for key, value in params.items():
        if isinstance(value, str):
            text = text.replace("${" + key + "}", value)
    return yaml.safe_load(text)["stages"]


def names(entries) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries or ()]


def covered(path: Path, deps: list[str]) -> bool:
    return any(path == ROOT / d or (ROOT / d) in path.parents for d in deps)


def stage_module(command: str) -> Path:
    handler = COMMANDS[command][2]
    path = module_file(handler.__module__)
    assert path is not None and path not in NOT_STAGE_CODE, (
        f"`remiss {command}` runs {handler.__module__}.{handler.__name__}: a stage's command belongs to its "
        "stage module, so that its code dependencies can be followed from there")
    return path


STAGES = stages()


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_path_the_command_names_is_a_dependency(name):
    stage = STAGES[name]
    deps, outs = names(stage.get("deps")), names(stage.get("outs")) + names(stage.get("metrics")) \
        + names(stage.get("plots"))
    missing = []
    for token in shlex.split(stage["cmd"])[2:]:
        path = ROOT / token
        is_output = any(path == ROOT / o or path in (ROOT / o).parents for o in outs)
        if token.startswith("-") or is_output or not path.exists():
            continue
        if not covered(path, deps):
            missing.append(token)
    assert not missing, f"stage {name} reads {missing} but dvc.yaml does not list them as deps"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_module_the_command_runs_is_a_dependency(name):
    stage = STAGES[name]
    command = shlex.split(stage["cmd"])[1]
    missing = sorted(str(f.relative_to(ROOT)) for f in closure(stage_module(command))
                     if not covered(f, names(stage.get("deps"))))
    assert not missing, f"stage {name} runs {missing} but dvc.yaml does not list them as deps"


def test_the_import_follower_sees_function_local_and_relative_imports():
    # the deps test is only as good as this: train imports the corrections merge inside a function
    found = closure(PACKAGE / "stance" / "train.py")
    assert PACKAGE / "stance" / "lexicon.py" in found
    assert PACKAGE / "records.py" in found
    assert PACKAGE / "stance" / "__init__.py" in found
