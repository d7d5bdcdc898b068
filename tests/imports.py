"""The package's import graph, read from the source (nothing is imported): which modules each
module imports, and all a module runs. The dvc deps test and the import-circle test use it."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipeline"
#: the dispatcher every command passes through (argument parsing only) and the package's
#: version string: a change to either changes no stage's output
NOT_STAGE_CODE = {PACKAGE / "cli.py", PACKAGE / "__init__.py"}


def module_file(dotted: str) -> Path | None:
    parts = dotted.split(".")
    if parts[0] != "pipeline":
        return None
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _name(file: Path) -> str:
    parts = file.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _ancestors(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imported(file: Path, module_level: bool = False) -> set[Path]:
    """The package's modules this file imports, with the packages they sit in: anywhere in it
    (function-local imports run when the stage runs), or only what runs when the module is
    imported, leaving out the packages the module itself sits in (being imported already, they
    are no circle unless a name is taken from one)."""
    own = _name(file)
    package = own if file.name == "__init__.py" else own.rsplit(".", 1)[0]
    skip = set(_ancestors(own)) | {own} if module_level else set()
    modules: set[str] = set()
    tree = ast.parse(file.read_text(encoding="utf-8"))
    for node in (tree.body if module_level else ast.walk(tree)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules |= {*_ancestors(alias.name), alias.name} - skip
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            submodules = {f"{module}.{a.name}" for a in node.names if module_file(f"{module}.{a.name}")}
            names_from_module = len(submodules) < len(node.names)
            modules |= submodules | ({module} if names_from_module else set())
            modules |= set(_ancestors(module)) - skip
            if module not in skip:
                modules.add(module)
    return {path for m in modules if (path := module_file(m)) is not None and path != file}


def closure(start: Path) -> set[Path]:
    seen, todo = set(), [start]
    while todo:
        file = todo.pop()
        if file not in seen:
            seen.add(file)
            todo += imported(file) - seen
    return seen - NOT_STAGE_CODE
