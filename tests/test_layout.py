"""The package's shape: stages import one way, down to the shared modules, with no circles."""

from __future__ import annotations

import ast
from pathlib import Path

import askdef

SRC = Path(askdef.__file__).parent
# Highest first: a module may import from its own rank or below, never from above. Modules of
# one rank but of different groups are independent siblings: neither imports the other.
RANKS: list[set[str]] = [
    {"askdef", "askdef.cli"},  # entry points
    {"askdef.serve"},
    {"askdef.api", "askdef.client"},
    {"askdef.eval"},
    {"askdef.answer", "askdef.ingest"},
    {"askdef.index"},
    {"askdef.settings", "askdef.types", "askdef.errors", "askdef.text", "askdef.safe_output"},
    {"askdef._version", "askdef._offline"},
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


GRAPH = {_module_of(p): _imports(p) for p in SRC.rglob("*.py")}


def test_every_import_points_down_or_within_its_stage() -> None:
    upward = []
    for module, imported in GRAPH.items():
        here = _group(module)
        for target in imported:
            there = _group(target)
            if there != here and (_rank(there) <= _rank(here) and module != "askdef"):
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_no_module_imports_itself_through_a_circle() -> None:
    def circle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen = set()
        while stack:
            module, path = stack.pop()
            for target in GRAPH.get(module, ()):
                if target == start:
                    return [*path, start]
                if target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
        return None

    circles = [c for m in GRAPH if (c := circle_from(m)) and m != "askdef"]
    assert circles == []


def test_the_checks_see_a_known_upward_import() -> None:
    # a stage reaching up to the entry point is what the first test must report
    assert _rank(_group("askdef.api")) < _rank(_group("askdef.answer.pipeline"))
    assert "askdef.answer.claims" in GRAPH["askdef.answer.citations"]
