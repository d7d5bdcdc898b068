"""No import circles: a module whose import needs itself half-imported works only in the import
order someone happened to use, and breaks the first time a caller imports it first."""
from __future__ import annotations

from pathlib import Path

from .imports import PACKAGE, imported


def module_graph() -> dict[Path, set[Path]]:
    return {file: imported(file, module_level=True) for file in sorted(PACKAGE.rglob("*.py"))}


def circles(graph: dict[Path, set[Path]]) -> list[list[Path]]:
    found, state = [], {}

    def visit(file, path):
        state[file] = "open"
        for dependency in sorted(graph.get(file, ())):
            if state.get(dependency) == "open":
                found.append(path[path.index(dependency):] + [dependency])
            elif dependency not in state:
                visit(dependency, path + [dependency])
        state[file] = "done"

    for file in graph:
        if file not in state:
            visit(file, [file])
    return found


def test_no_module_imports_itself_round_a_circle():
    named = [" → ".join(str(f.relative_to(PACKAGE)) for f in circle) for circle in circles(module_graph())]
    assert not named, "import circles:\n" + "\n".join(named)


def test_a_circle_is_found():
    graph = module_graph()
    rules, records = PACKAGE / "link" / "rules.py", PACKAGE / "records.py"
    assert records in graph[rules]  # what the real module imports
    graph[records] = graph[records] | {rules}
    assert [records, rules, records] in circles(graph) or [rules, records, rules] in circles(graph)


def test_names_taken_from_a_package_count_but_being_inside_it_does_not():
    # link/whole.py sits inside pipeline.link (whose __init__ imports whole) and takes its names
    # from link/rules.py: no circle; windows.py imports the linker only inside a function
    whole = imported(PACKAGE / "link" / "whole.py", module_level=True)
    assert PACKAGE / "link" / "rules.py" in whole and PACKAGE / "link" / "__init__.py" not in whole
    assert PACKAGE / "link" / "rules.py" not in imported(PACKAGE / "stance" / "windows.py", module_level=True)
    assert PACKAGE / "link" / "rules.py" in imported(PACKAGE / "stance" / "windows.py")
