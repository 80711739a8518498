"""Deprecated path, kept for one release: use recbook.experiments.regenerate.

``python -m recbook.agents.regenerate ...`` still runs :func:`recbook.experiments.regenerate.main` (same flags, same
files).
"""

from __future__ import annotations

from recbook.experiments.regenerate import (
    MODELS,
    N_STEPS_CHOICES,
    choose_n_steps,
    held_out_table,
    main,
)

__all__ = [
    "MODELS",
    "N_STEPS_CHOICES",
    "choose_n_steps",
    "held_out_table",
    "main",
]

if __name__ == "__main__":
    raise SystemExit(main())
