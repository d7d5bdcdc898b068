"""params.yaml: one section per stage, read into that stage's params dataclass."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TypeVar

import yaml

P = TypeVar("P")


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def load_section(path: Path | None, section: str, cls: type[P], **overrides) -> P:
    """``cls`` built from ``path``'s ``section`` (missing file or section: defaults), then
    the non-None ``overrides`` (command-line flags) on top."""
    values: dict = {}
    if path is not None and Path(path).exists():
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        values = dict(data.get(section) or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) in '{section}': {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)
