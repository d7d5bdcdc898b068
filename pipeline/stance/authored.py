"""labels/authored/: (target, passage) training rows the team wrote on other referrals.

Training material, not gold (datasheet: labels/authored/README.md). Each part file
``parts/<area>.jsonl`` holds rows of one policy area; a row becomes a :class:`Pair` whose
document is its referral, so that no evaluation fold ever mixes a referral's rows between
training and test.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

from ..records import LABELS
from .data import Pair

T = TypeVar("T")

#: a row's document id starts with this, so authored pairs never collide with a response's
AUTHORED_DOC = "authored:"

RESPONDENT_KINDS: frozenset[str] = frozenset({
    "statlig myndighet", "tillsynsmyndighet", "domstol", "region", "kommun", "kommunal nämnd",
    "länsstyrelse", "fackförbund", "arbetsgivarorganisation", "branschorganisation",
    "näringslivsorganisation", "civilsamhällesorganisation", "lärosäte", "forskningsinstitut",
    "kommunal intresseorganisation", "ombudsman", "företag", "intresseorganisation",
    "advokat- eller juristorganisation", "trossamfund", "patient- eller brukarorganisation",
    "miljöorganisation",
})


class AuthoredError(ValueError):
    """A row that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class AuthoredRow:
    area: str
    referral: str
    target_title: str
    target_summary: str
    respondent_kind: str
    respondent: str
    passage: str
    label: str
    note: str = ""
    #: "<part file stem>:<line>", where the row came from
    source: str = ""

    @property
    def target_text(self) -> str:
        return " ".join(f"{self.target_title}. {self.target_summary}".split())


_FIELDS = [f.name for f in fields(AuthoredRow) if f.name != "source"]


def read_part(path: Path) -> list[AuthoredRow]:
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise AuthoredError(f"{where}: not valid JSON ({err.msg})") from err
        if not isinstance(data, dict) or sorted(data) != sorted(_FIELDS):
            raise AuthoredError(f"{where}: expected exactly the fields {', '.join(_FIELDS)}")
        if data["label"] not in LABELS:
            raise AuthoredError(f"{where}: label {data['label']!r} is not one of {LABELS}")
        if data["respondent_kind"] not in RESPONDENT_KINDS:
            raise AuthoredError(f"{where}: respondent_kind {data['respondent_kind']!r} is not a known kind")
        if not str(data["passage"]).strip():
            raise AuthoredError(f"{where}: empty passage")
        rows.append(AuthoredRow(**{k: str(v) for k, v in data.items()}, source=f"{Path(path).stem}:{number}"))
    return rows


def load_authored(folder: Path) -> list[AuthoredRow]:
    """Every row of ``folder/parts/*.jsonl``, in file-name then line order (missing folder: none)."""
    parts = sorted((Path(folder) / "parts").glob("*.jsonl"))
    return [row for part in parts for row in read_part(part)]


def authored_pairs(rows: Iterable[AuthoredRow]) -> list[Pair]:
    """One labelled pair per row: the passage is the window a classifier reads."""
    return [Pair(doc=AUTHORED_DOC + row.referral, paragraph=row.source, target=row.target_title,
                 target_text=row.target_text, paragraph_text=row.passage, label=row.label)
            for row in rows]


def stratified(items: Sequence[T], n: int, label: Callable[[T], str], seed: int = 0) -> list[T]:
    """``n`` of ``items`` in their order, stratified by ``label`` (each label keeps its share),
    the same ones for the same seed; all of them where there are no more than ``n``."""
    import random

    if n >= len(items):
        return list(items)
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        by_label.setdefault(label(item), []).append(i)
    picked = {i for name in sorted(by_label)
              for i in rng.sample(by_label[name], min(round(n * len(by_label[name]) / len(items)), len(by_label[name])))}
    return [item for i, item in enumerate(items) if i in picked]


def subsample(rows: Sequence[AuthoredRow], n: int, seed: int = 0) -> list[AuthoredRow]:
    """``n`` authored rows, stratified by label."""
    return stratified(rows, n, lambda row: row.label, seed)


def within_budget(pairs: Sequence[Pair], n: int, seed: int = 0) -> list[Pair]:
    """At most ``n`` pairs (0: all) for a model too slow to learn from every one: all real
    pairs (gold, corrections) and a label-stratified sample of the authored ones."""
    if not n or len(pairs) <= n:
        return list(pairs)
    real = [p for p in pairs if not p.doc.startswith(AUTHORED_DOC)]
    authored = stratified([p for p in pairs if p.doc.startswith(AUTHORED_DOC)], max(n - len(real), 0),
                          lambda p: str(p.label), seed)
    return [*real, *authored]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def ngrams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i: i + n]) for i in range(len(words) - n + 1)}


def shared_ngrams(rows: Iterable[AuthoredRow], texts: Iterable[str], n: int = 8) -> list[tuple[str, str]]:
    """(row source, the shared words) for every row that shares an ``n``-word sequence with
    ``texts``: authored passages must not copy the responses they are tested on."""
    forbidden = set().union(*(ngrams(t, n) for t in texts))
    out = []
    for row in rows:
        common = ngrams(row.passage, n) & forbidden
        if common:
            out.append((row.source, " ".join(sorted(common)[0])))
    return out
