"""Hand-labelled gold data (labels/gold): statements, document cells, and where quotes sit."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import yaml

from .records import Paragraph, Statement


def norm(text: str) -> str:
    """Compare quotes whitespace-insensitively, a line-end hyphen joined ("instäm- mer")."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"(?<=[a-zåäöé])- (?=[a-zåäöé])", "", text)


def load_statements(path: Path) -> list[Statement]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return [Statement(doc=doc, target=str(item["target"]), stance=item["stance"], speaker=item["speaker"],
                      part=item["part"], quote=item["quote"], note=item.get("note"))
            for doc, items in data.items() for item in items]


def load_document_cells(path: Path) -> dict[str, dict[str, str]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {doc: {str(t): s for t, s in cells.items()} for doc, cells in data.items()}


def paragraphs_holding(quote: str, doc: str, paragraphs: Sequence[Paragraph]) -> list[Paragraph]:
    """The paragraphs of ``doc`` whose text contains ``quote`` (normally exactly one)."""
    key = norm(quote)
    return [p for p in paragraphs if p.doc == doc and key in norm(p.text)]
