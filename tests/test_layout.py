"""The code's shape: backends know nothing of gradio, no import cycles, files stay small."""

from __future__ import annotations

import ast
from pathlib import Path

from playground.settings import PROJECT_DIR

PACKAGE = PROJECT_DIR / "playground"


def _module(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module this file imports, at any depth (lazy imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}


def test_gradio_is_imported_only_under_ui():
    for name, path in MODULES.items():
        if not name.startswith("playground.ui"):
            assert not any(m == "gradio" or m.startswith("gradio.") for m in _imports(path)), name


def test_no_import_cycle_between_playground_modules():
    graph = {name: {m for m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}
    # A package's __init__ is not an edge: `from playground.tokenization import load` imports `load`.
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join([*stack[stack.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_no_file_over_400_lines_in_the_tokens_code():
    for path in [*(PACKAGE / "tokenization").glob("*.py"), *(PACKAGE / "prices").glob("*.py"),
                 *(PACKAGE / "pack").glob("*.py"), PACKAGE / "cache.py", PACKAGE / "hub.py",
                 PACKAGE / "ui" / "tokens.py", PACKAGE / "ui" / "compare.py"]:
        assert len(path.read_text().splitlines()) <= 400, path
