"""The first code cell of every chapter: makes the chapter run where recbook is not installed (Google Colab).

One definition, inserted into every chapter by ``python tests/colab_cell.py`` and checked by
``tests/test_book_style.py``. The cell is tagged ``remove-cell`` (not shown in the rendered book) and does nothing
where ``recbook`` is importable, which is everywhere but a fresh Colab runtime.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAG = "remove-cell"
SOURCE = '''\
# On Google Colab (or any Python without recbook): fetch the book's
# repository and install its package, keeping the runtime's own torch.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("recbook") is None:
    import tomllib

    REPO = "https://github.com/recbook/recbook"
    subprocess.run(["git", "clone", "-q", "--depth", "1", REPO, "recbook-book"],
                   check=True)
    with open("recbook-book/pyproject.toml", "rb") as file:
        project = tomllib.load(file)["project"]
    needs = [d for d in project["dependencies"] if not d.startswith("torch")]
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, *needs, "myst-nb"], check=True)
    subprocess.run([*pip, "--no-deps", "--ignore-requires-python", "-e",
                    "recbook-book"], check=True)
    sys.path.insert(0, "recbook-book")
'''


def chapters() -> list[Path]:
    return sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def first_code_cell(notebook: dict) -> dict | None:
    return next((cell for cell in notebook["cells"] if cell["cell_type"] == "code"), None)


def install(path: Path) -> bool:
    """Insert (or refresh) the cell as the chapter's first code cell; return whether the file changed."""
    notebook = json.loads(path.read_text())
    cell = first_code_cell(notebook)
    if cell is not None and TAG in cell.get("metadata", {}).get("tags", []):
        if "".join(cell["source"]) == SOURCE:
            return False
        cell["source"] = SOURCE.splitlines(keepends=True)
    else:
        index = next(i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code")
        notebook["cells"].insert(index, {
            "cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8],
            "metadata": {"tags": [TAG]}, "outputs": [], "source": SOURCE.splitlines(keepends=True),
        })
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return True


if __name__ == "__main__":
    changed = [path.name for path in chapters() if install(path)]
    print("updated:", changed or "nothing", file=sys.stderr)
