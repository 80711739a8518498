"""Deprecated path, kept for one release: use recbook.experiments.long_term.

``python -m recbook.agents.long_term ...`` still runs :func:`recbook.experiments.long_term.main` (same flags, same
files).
"""

from __future__ import annotations

from recbook.experiments.long_term import (
    HEURISTICS,
    N_ROLLOUT_USERS,
    N_TEST_USERS,
    PPO_SEEDS,
    PPO_STEPS,
    ROLLOUT_SAMPLES,
    SWEEP_RATES,
    main,
    test_table,
)

__all__ = [
    "HEURISTICS",
    "N_ROLLOUT_USERS",
    "N_TEST_USERS",
    "PPO_SEEDS",
    "PPO_STEPS",
    "ROLLOUT_SAMPLES",
    "SWEEP_RATES",
    "main",
    "test_table",
]

if __name__ == "__main__":
    raise SystemExit(main())
