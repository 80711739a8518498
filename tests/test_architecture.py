"""The house rules of the package, checked on its source.

- no module longer than 400 lines: a longer one holds several roles (issue 20);
- no import cycle between recbook's modules, late (function-level) imports included: data flows one way,
  config -> env -> policies / agents -> evaluation -> experiments -> cli;
- every module imports on its own in a fresh interpreter (an import that only works after another module has
  been imported is a hidden cycle or a missing import);
- ``import recbook`` stays light: no torch, Stable-Baselines3, pandas or scipy, and at most half a second;
- the chapters import from the current homes, not from the deprecated re-export paths.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recbook"
MAX_LINES = 400

# Modules kept for one release as thin re-exports of a new home; the chapters must not import them.
DEPRECATED = {
    "recbook.bounds": "recbook.planning.bounds",
    "recbook.mdp": "recbook.planning.mdp",
    "recbook.obd": "recbook.ope.obd",
    "recbook.agents.dqn": "recbook.agents.config, recbook.agents.train and recbook.agents.agent",
    "recbook.agents.ablation": "recbook.experiments.ablation",
    "recbook.agents.long_term": "recbook.experiments.long_term",
    "recbook.agents.regenerate": "recbook.experiments.regenerate",
    "recbook.plots": "recbook.viz.figures and recbook.viz.compute",
    "recbook.widgets": "recbook.viz.widgets and recbook.viz.playground",
    "recbook.widgets_leave": "recbook.viz.compute, recbook.viz.figures and recbook.viz.widgets",
}


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name (a package is named by its ``__init__``)."""
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imported_modules(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The recbook modules that ``name`` imports anywhere in its source (function-level imports included).

    ``from a.b import c`` counts as an import of ``a.b.c`` when that is a module, else of ``a.b``. Importing a
    submodule implicitly runs its parents' ``__init__``; those implicit edges are not counted (a package's
    ``__init__`` re-exporting its own submodules is how a package is built, not a cycle).
    """
    known = set(known)
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if _is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                if candidate in known:
                    found.add(candidate)
                elif source in known:
                    found.add(source)
    found.discard(name)
    # A package's __init__ importing its own submodules is the package's interface, not a dependency.
    if _is_package(path):
        found = {module for module in found if not module.startswith(name + ".")}
    return found


def import_graph() -> dict[str, set[str]]:
    names = module_names()
    return {name: imported_modules(name, path, names) for name, path in names.items()}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_cycle_finder_finds_cycles_and_only_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    found = cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c", "a"}})
    assert sorted(found) == [["a", "b"], ["c", "d"]]


def test_graph_reads_late_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from recbook import config\n    import recbook.env\n"
                      "from .policies import base\n")
    known = {"recbook", "recbook.config", "recbook.env", "recbook.policies", "recbook.policies.base"}
    assert imported_modules("recbook.mod", source, known) == {"recbook.config", "recbook.env",
                                                              "recbook.policies.base"}


def test_no_import_cycle() -> None:
    graph = import_graph()
    assert "recbook.cli" in graph and graph["recbook.cli"], "the graph reader found no imports"
    assert cycles(graph) == []


@pytest.mark.parametrize("name", sorted(module_names()))
def test_no_module_over_400_lines(name: str) -> None:
    lines = len(module_names()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES}): split it by role"


def _import_alone(name: str) -> tuple[str, int, str]:
    done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, cwd=ROOT)
    return name, done.returncode, done.stderr[-2000:]


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    names = [name for name in sorted(module_names()) if not name.endswith("__main__")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [result for result in pool.map(_import_alone, names) if result[1] != 0]
    assert failures == []


def test_import_recbook_is_light_and_fast() -> None:
    # CPU time, not wall time: a machine loaded by other jobs (two pytest workers, notebook kernels) slows the wall
    # clock of an import without making the import itself heavier.
    code = ("import sys, time; start = time.process_time(); import recbook; "
            "elapsed = time.process_time() - start; "
            "heavy = sorted(m for m in ('torch', 'stable_baselines3', 'pandas', 'scipy') if m in sys.modules); "
            "print(elapsed, heavy)")
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        elapsed, heavy = out.split(" ", 1)
        assert heavy.strip() == "[]", f"import recbook loads {heavy.strip()}"
        runs.append(float(elapsed))
    assert min(runs) <= 0.5, f"import recbook takes {min(runs):.2f} CPU-s (at most 0.5)"


def test_chapters_import_from_current_homes() -> None:
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
        text = "\n".join("".join(cell["source"]) for cell in cells)
        for old, new in DEPRECATED.items():
            assert f"from {old} import" not in code and f"import {old}\n" not in code, (
                f"{notebook.name} imports the deprecated {old}: use {new}")
            assert f"python -m {old} " not in text and f"python -m {old}`" not in text, (
                f"{notebook.name} tells the reader to run the deprecated {old}: use {new}")
