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


class _Loader(yaml.SafeLoader):
    """safe_load with three refusals: aliases (a 496-byte "billion laughs" file built a
    722M-character title), a key given twice in one mapping (a second ``targets:`` silently
    replaced the first list), and YAML floats (``4.10`` read as 4.1: an id is the text as
    written; no registry field is a float)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"alias *{event.anchor}: aliases are not allowed in a "
                                                          "registry; write the value out", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice in one mapping",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _names(item: dict, field: str, where: str) -> tuple[str, ...]:
    """A list of non-empty phrases: a string would be read letter by letter, and an empty
    phrase is in every paragraph."""
    value = item.get(field) or []
    if not isinstance(value, list):
        raise RegistryError(f"{where}: '{field}' must be a list of phrases, not {type(value).__name__} {value!r}")
    names = tuple(str(name).strip() for name in value if not isinstance(name, (dict, list)))
    if len(names) < len(value) or not all(names):
        raise RegistryError(f"{where}: '{field}' holds an empty or non-text entry")
    return names


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

    def proposals_and_assessments(self) -> tuple[Target, ...]:
        """Proposals and assessments: the targets a blanket clause covers (not plain sections,
        not the report as a whole)."""
        return tuple(t for t in self.targets if t.kind in ("forslag", "bedomning"))


def load_referral(path: Path) -> Referral:
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise RegistryError(f"{path}: cannot read the registry ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise RegistryError(f"{path}: expected a mapping with a 'targets' list")
    targets, seen = [], set()
    for n, item in enumerate(data["targets"], 1):
        where = f"{path}: target {n}"
        if not isinstance(item, dict) or "id" not in item or "title" not in item:
            raise RegistryError(f"{where}: needs at least 'id' and 'title'")
        target_id = str(item["id"]).strip()
        if not target_id or isinstance(item["id"], (dict, list)):
            raise RegistryError(f"{where}: id {item['id']!r} is not a section number or name")
        where = f"{where} ({target_id})"
        title = item["title"]
        if isinstance(title, (dict, list)) or not str(title or "").strip():
            raise RegistryError(f"{where}: empty title; every target needs its heading")
        if target_id in seen:
            raise RegistryError(f"{where}: duplicate id {target_id!r}")
        kind = item.get("kind", "forslag")
        if kind not in TARGET_KINDS:
            raise RegistryError(f"{where}: kind {kind!r} is not one of {sorted(TARGET_KINDS)}")
        if kind == "helhet" and any(t.kind == "helhet" for t in targets):
            raise RegistryError(f"{where}: a second 'helhet' target; the report has one whole")
        seen.add(target_id)
        targets.append(Target(
            id=target_id, kind=kind, title=str(title).strip(),
            summary=" ".join(str(item.get("summary", "")).split()),
            aliases=_names(item, "aliases", where), alt_titles=_names(item, "alt_titles", where),
        ))
    referral = data.get("referral") or {}
    return Referral(id=str(referral.get("id", path.stem)), title=str(referral.get("title", "")),
                    targets=tuple(targets))
