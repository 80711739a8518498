"""The reachable band: how the gap between the random policy and the oracle moves with the setting.

For each parameter in :data:`SWEEPS`, :func:`reachable_band` changes that one parameter of the original setting
(10 items, 20 steps, α = 1, harmonic decay, expected feedback), evaluates :data:`BAND_POLICIES` on the same users
with :func:`recbook.evaluation.evaluate` and records one row per (parameter, value, policy). The whole sweep takes
a few seconds with the batched simulator, so chapter 4 runs it live; ``python -m recbook.bands --output x.csv``
saves it. The sweep itself, :func:`vary`, lives in :mod:`recbook.evaluation.tables` and is re-exported here.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from recbook.config import EnvConfig
from recbook.evaluation import vary

__all__ = ["SWEEPS", "BAND_POLICIES", "vary", "reachable_band", "main"]

#: The parameters swept and their values; every other parameter keeps its original value.
SWEEPS: dict[str, tuple[float, ...]] = {
    "n_items": (2, 3, 5, 10, 20, 50, 100),
    "session_length": (1, 2, 5, 10, 20, 50, 100),
    "alpha": (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0),
}

#: The floor (random), the best counts-only policy (round robin), the best feedback baseline we know
#: (BayesGreedy) and the ceiling (oracle).
BAND_POLICIES: tuple[str, ...] = ("random", "round-robin", "bayes-greedy", "oracle")


def reachable_band(
    sweeps: Mapping[str, Sequence[float]] | None = None,
    base: EnvConfig | None = None,
    policies: Sequence[str] = BAND_POLICIES,
    n_users: int = 5000,
    seed: int = 0,
) -> pd.DataFrame:
    """All sweeps of :data:`SWEEPS` (or ``sweeps``) in one tidy table (see :func:`vary` for the columns)."""
    sweeps = SWEEPS if sweeps is None else sweeps
    frames = [vary(p, v, base=base, policies=policies, n_users=n_users, seed=seed) for p, v in sweeps.items()]
    return pd.concat(frames, ignore_index=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recbook.bands", description=__doc__.splitlines()[0])
    parser.add_argument("--n-users", type=int, default=5000, help="users per setting (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = reachable_band(n_users=args.n_users, seed=args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.output, index=False, float_format="%.6g")
    print(f"wrote {len(table)} rows to {args.output} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
