"""The agents' side of the package imports one way: config -> agents -> sweeps / experiments -> cli.

Checked on the source (every import, function-level ones included), so a cycle cannot hide behind a late import;
and in a fresh interpreter, that reading presets, the command line and the sweep grid load neither torch nor
Stable-Baselines3.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "recbook"

#: Each layer and the layers it must not import (the ones above it).
ABOVE = {
    "recbook.agents": ("recbook.sweeps", "recbook.experiments", "recbook.cli"),
    "recbook.sweeps": ("recbook.experiments", "recbook.cli"),
    "recbook.experiments": ("recbook.cli",),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _deprecated(path: Path) -> bool:
    """The thin re-export modules left at old paths (they point up, to the new home, on purpose)."""
    return (ast.get_docstring(ast.parse(path.read_text())) or "").startswith("Deprecated path")


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_no_layer_imports_a_layer_above_it(layer: str) -> None:
    folder = PACKAGE / layer.split(".")[1]
    offending = []
    for path in sorted(folder.rglob("*.py")):
        if _deprecated(path):
            continue
        for name in _imports(path):
            if name.startswith(ABOVE[layer]):
                offending.append(f"{_module_name(path)} imports {name}")
    assert offending == []


def test_presets_cli_and_sweep_grid_load_no_torch() -> None:
    code = (
        "import sys, recbook.agents.config, recbook.cli, recbook.sweeps; "
        "recbook.agents.config.RunConfig.from_yaml('item_shared'); "
        "print(sorted(m for m in ('torch', 'stable_baselines3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", ["regenerate", "ablation", "long_term"])
def test_old_experiment_paths_still_work(name: str) -> None:
    """``python -m recbook.agents.<name>`` (data/README.md's older commands) runs the script at its new home."""
    import importlib

    old, new = importlib.import_module(f"recbook.agents.{name}"), importlib.import_module(f"recbook.experiments.{name}")
    assert all(getattr(old, public) is getattr(new, public) for public in new.__all__)
    shown = subprocess.run(
        [sys.executable, "-m", f"recbook.agents.{name}", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert f"python -m recbook.experiments.{name}" in shown
