"""Shared fixtures: the bundled corpus, its registry and gold, ingested and segmented once."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.gold import load_statements
from pipeline.ingest import ingest_file
from pipeline.registry import load_referral
from pipeline.segment import segment

ROOT = Path(__file__).resolve().parents[1]
RESPONSES = ROOT / "corpus" / "responses"
REGISTRY = ROOT / "corpus" / "proposals" / "sou-2024-72.yaml"
GOLD = ROOT / "labels" / "gold"


@pytest.fixture(scope="session")
def referral():
    return load_referral(REGISTRY)


@pytest.fixture(scope="session")
def statements():
    return load_statements(GOLD / "statements.yaml")


@pytest.fixture(scope="session")
def documents():
    return [ingest_file(path) for path in sorted(RESPONSES.glob("*.txt"))]


@pytest.fixture(scope="session")
def paragraphs(documents):
    return [p for document in documents for p in segment(document)]
