"""The chapters' house rules, checked on the committed notebooks (no execution)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from colab_cell import ROOT, SOURCE, TAG, chapters, first_code_cell

CHAPTERS = chapters()


def _cells(path, kind):
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == kind]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_fits_the_rendered_column(path) -> None:
    long = [line for source in _cells(path, "code") for line in source.splitlines() if len(line) > 80]
    assert not long, f"{path.name}: {len(long)} code line(s) over 80 characters, e.g. {long[0]!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_objectives_and_ends_with_a_summary(path) -> None:
    markdown = _cells(path, "markdown")
    assert markdown[0].startswith("# "), f"{path.name} must open with its title"
    assert any("Learning objectives" in text for text in markdown[:3]), f"{path.name}: no learning objectives"
    assert any(re.search(r"^## Summary", text, re.M) for text in markdown), f"{path.name}: no summary"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_first_code_cell_makes_the_chapter_run_on_colab(path) -> None:
    cell = first_code_cell(json.loads(path.read_text()))
    assert cell is not None and TAG in cell["metadata"].get("tags", [])
    assert "".join(cell["source"]) == SOURCE, f"{path.name}: run python tests/colab_cell.py"


def test_colab_cell_clones_the_repository_the_book_names() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert f'REPO = "{config["repository"]["url"]}"' in SOURCE


def test_every_chapter_is_in_the_table_of_contents() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    missing = [path.stem for path in CHAPTERS if f"book/{path.stem}" not in toc]
    assert not missing, f"chapters missing from _toc.yml: {missing}"
