"""Where the book's precomputed artifacts live (``data/`` at the repository root)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR", "data_path"]

#: The repository's ``data/`` folder (override with the ``RECBOOK_DATA`` environment variable).
DATA_DIR = Path(os.environ.get("RECBOOK_DATA", Path(__file__).resolve().parents[1] / "data"))


def data_path(*parts: str) -> Path:
    """Path of an artifact under :data:`DATA_DIR`; raises ``FileNotFoundError`` saying how to regenerate it."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; data/README.md lists the command that regenerates each artifact"
        )
    return path
