"""A referral's targets (proposals, assessments, sections) from its registry YAML."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..records import Target

#: forslag (proposal), bedomning (assessment), avsnitt (a section responses comment on),
#: helhet (the report as a whole: at most one per registry)
TARGET_KINDS = frozenset({"forslag", "bedomning", "avsnitt", "helhet"})


class RegistryError(ValueError):
    """A registry file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Referral:
    id: str
    title: str
    targets: tuple[Target, ...]

    def get(self, target_id: str) -> Target | None:
        return next((t for t in self.targets if t.id == target_id), None)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(t.id for t in self.targets)

    def positions(self) -> tuple[Target, ...]:
        """Proposals and assessments: the targets a blanket clause covers (not plain sections,
        not the report as a whole)."""
        return tuple(t for t in self.targets if t.kind in ("forslag", "bedomning"))


def load_referral(path: Path) -> Referral:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise RegistryError(f"{path}: cannot read the registry ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise RegistryError(f"{path}: expected a mapping with a 'targets' list")
    targets, seen = [], set()
    for n, item in enumerate(data["targets"], 1):
        where = f"{path}: target {n}"
        if not isinstance(item, dict) or "id" not in item or "title" not in item:
            raise RegistryError(f"{where}: needs at least 'id' and 'title'")
        target_id = str(item["id"])
        if target_id in seen:
            raise RegistryError(f"{where}: duplicate id {target_id!r}")
        kind = item.get("kind", "forslag")
        if kind not in TARGET_KINDS:
            raise RegistryError(f"{where} ({target_id}): kind {kind!r} is not one of {sorted(TARGET_KINDS)}")
        if kind == "helhet" and any(t.kind == "helhet" for t in targets):
            raise RegistryError(f"{where} ({target_id}): a second 'helhet' target; the report has one whole")
        seen.add(target_id)
        targets.append(Target(
            id=target_id, kind=kind, title=str(item["title"]).strip(),
            summary=" ".join(str(item.get("summary", "")).split()),
            aliases=tuple(str(a) for a in item.get("aliases", []) or []),
            alt_titles=tuple(str(a) for a in item.get("alt_titles", []) or []),
        ))
    referral = data.get("referral") or {}
    return Referral(id=str(referral.get("id", path.stem)), title=str(referral.get("title", "")),
                    targets=tuple(targets))
