"""The code's shape: backends know nothing of gradio, no import cycles, files stay small."""

from __future__ import annotations

import ast
import re
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


def test_no_file_over_400_lines():
    for path in [*MODULES.values(), PROJECT_DIR / "app.py"]:
        assert len(path.read_text().splitlines()) <= 400, path


def test_app_names_each_tabs_backend_and_its_ui_module_uses_it():
    """A newcomer reading app.py reaches any tab's backend in one hop."""
    import app

    assert [t.title for t in app.TABS][:2] == ["Tokens", "Compare tokenizers"] and len(app.TABS) == 8
    for tab in app.TABS:
        assert tab.ui.startswith("playground.ui.") and tab.ui in MODULES, tab
        assert tab.backend in MODULES and not tab.backend.startswith("playground.ui"), tab
        # The ui module imports the backend itself, or a module inside the backend package.
        used = _imports(MODULES[tab.ui]) | {m for sub in _submodules(tab.ui) for m in _imports(MODULES[sub])}
        assert any(m == tab.backend or m.startswith(tab.backend + ".") for m in used), tab


def _submodules(name: str) -> list[str]:
    return [m for m in MODULES if m.startswith(name + ".")]


def _layout_paths() -> set[str]:
    """Every path the README's Layout block names, folders followed by indentation (two spaces a level)."""
    block = (PROJECT_DIR / "README.md").read_text().split("### Layout", 1)[1].split("```", 2)[1]
    listed: set[str] = set()
    folders: list[str] = []
    for line in block.splitlines():
        if not line.strip():
            continue
        folders = folders[:(len(line) - len(line.lstrip(" "))) // 2]
        names = re.split(r"[ ,]+", re.split(r"\s{2,}", line.strip(), maxsplit=1)[0])
        listed |= {"/".join([*folders, n]).rstrip("/") for n in names if n}
        if len(names) == 1 and names[0].endswith("/"):
            folders.append(names[0].rstrip("/"))
    return listed


def test_readme_layout_lists_every_module():
    modules = {str(p.relative_to(PROJECT_DIR)) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    assert not modules - _layout_paths(), "missing from README's Layout: " + ", ".join(sorted(modules - _layout_paths()))
