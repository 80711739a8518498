"""Deprecated path, kept for one release: use recbook.experiments.ablation.

``python -m recbook.agents.ablation ...`` still runs :func:`recbook.experiments.ablation.main` (same flags, same
files).
"""

from __future__ import annotations

from recbook.experiments.ablation import (
    ARMS,
    SEEDS,
    arm_runs,
    main,
    run_ablation,
)

__all__ = [
    "ARMS",
    "SEEDS",
    "arm_runs",
    "run_ablation",
    "main",
]

if __name__ == "__main__":
    raise SystemExit(main())
