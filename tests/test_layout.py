"""The package's shape: stages import one way, down to the shared modules, with no circles."""

from __future__ import annotations

import ast
from pathlib import Path

import askdef

SRC = Path(askdef.__file__).parent
# Highest first: a module may import its own group and the groups ranked below it. Groups of
# one rank are independent siblings: neither imports the other.
RANKS: list[set[str]] = [
    {"askdef", "askdef.cli"},  # entry points
    {"askdef.serve"},
    {"askdef.api", "askdef.client"},
    {"askdef.eval"},
    {"askdef.answer", "askdef.ingest"},
    {"askdef.index"},
    {"askdef.settings", "askdef.types", "askdef.text", "askdef.safe_output"},
    {"askdef.errors", "askdef._version", "askdef._offline"},  # errors: every layer raises them
]


def _module_of(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every askdef module ``path`` imports: at the top, inside functions, for type checking."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("askdef"):
            for alias in node.names:  # `from askdef.answer import local_llm` names a module
                child = f"{node.module}.{alias.name}"
                found.add(child if _exists(child) else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("askdef")}
    return found


def _exists(module: str) -> bool:
    path = SRC.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _group(module: str) -> str:
    """The rank entry ``module`` belongs to (``askdef.answer.claims`` → ``askdef.answer``)."""
    groups = [g for rank in RANKS for g in rank if module == g or module.startswith(g + ".")]
    assert groups, f"{module} is in no rank of RANKS: place it"
    return max(groups, key=len)


def _rank(group: str) -> int:
    return next(i for i, rank in enumerate(RANKS) if group in rank)


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Each import of ``graph`` from a module to a group ranked as high or higher, but its own."""
    found = []
    for module, imported in graph.items():
        here = _group(module)
        for target in sorted(imported):
            there = _group(target)
            if there != here and _rank(there) <= _rank(here):
                found.append(f"{module} imports {target}")
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """For each module that imports itself through others, one such path."""
    found = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            module, path = stack.pop()
            if start in graph.get(module, set()):
                found.append([*path, start])
                break
            for target in graph.get(module, set()) - seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return found


GRAPH = {_module_of(p): _imports(p) for p in SRC.rglob("*.py")}


def test_every_import_points_down_or_within_its_stage() -> None:
    assert upward(GRAPH) == []


def test_no_module_imports_itself_through_a_circle() -> None:
    assert circles(GRAPH) == []


def test_the_checks_report_an_upward_import_and_a_circle() -> None:
    made_up = {
        "askdef.index.store": {"askdef.index.chroma_server", "askdef.answer.claims"},
        "askdef.index.chroma_server": {"askdef.index.store"},
        "askdef.answer.claims": {"askdef.text"},
    }
    assert upward(made_up) == ["askdef.index.store imports askdef.answer.claims"]
    assert circles(made_up) == [
        ["askdef.index.store", "askdef.index.chroma_server", "askdef.index.store"],
        ["askdef.index.chroma_server", "askdef.index.store", "askdef.index.chroma_server"],
    ]
