"""The reachable band: how the gap between the random policy and the oracle moves with the setting.

For each parameter in :data:`SWEEPS`, :func:`reachable_band` changes that one parameter of the original setting
(10 items, 20 steps, α = 1, harmonic decay, expected feedback), evaluates :data:`BAND_POLICIES` on the same users
with :func:`recbook.evaluation.evaluate` and records one row per (parameter, value, policy). The whole sweep takes
a few seconds with the batched simulator, so chapter 4 runs it live; ``python -m recbook.bands --output x.csv``
saves it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recbook.config import EnvConfig
from recbook.evaluation import evaluate
from recbook.metrics import pct_oracle
from recbook.policies import make_policy

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

def vary(
    parameter: str,
    values: Sequence[float],
    base: EnvConfig | None = None,
    policies: Sequence[str] = BAND_POLICIES,
    n_users: int = 5000,
    seed: int = 0,
) -> pd.DataFrame:
    """Evaluate ``policies`` while one ``parameter`` of ``base`` takes each of ``values``.

    Args:
        parameter: an :class:`~recbook.config.EnvConfig` field (``"n_items"``, ``"session_length"``, ``"alpha"``,
            ``"decay_rate"``, ...).
        values: the values it takes.
        base: the configuration the other parameters come from (default: the original setting, feedback
            observation).
        policies: names from :data:`recbook.policies.POLICIES`.
        n_users: users per setting; the same ``seed`` is used for every setting.
        seed: passed to :func:`~recbook.evaluation.evaluate` (users and policies' generators).

    Returns:
        One row per (value, policy): ``parameter``, ``value``, ``policy``, ``return`` (mean return per session),
        ``return_se`` (its standard error), ``oracle_return`` (mean), ``pct_oracle`` (ratio of means, in %),
        ``pct_oracle_se`` (standard error of the ratio by the delta method, paired over users).
    """
    base = base or EnvConfig(observation="feedback")
    rows = []
    for value in values:
        config = base.replace(**{parameter: value})
        named = {name: make_policy(name, config, seed=seed) for name in policies}
        table = evaluate(named, config, n_users=n_users, seed=seed)
        for name, group in table.groupby("policy", sort=False, observed=True):
            returns = group["return"].to_numpy()
            expected = group["expected_return"].to_numpy()
            oracle = group["oracle_return"].to_numpy()
            ratio = expected.mean() / oracle.mean()
            # Delta method for a ratio of paired means: se of mean(expected - ratio * oracle) / mean(oracle).
            linearised = (expected - ratio * oracle) / oracle.mean()
            rows.append(
                {
                    "parameter": parameter,
                    "value": float(value),
                    "policy": name,
                    "return": returns.mean(),
                    "return_se": returns.std(ddof=1) / np.sqrt(len(returns)),
                    "oracle_return": oracle.mean(),
                    "pct_oracle": pct_oracle(expected, oracle),
                    "pct_oracle_se": 100.0 * linearised.std(ddof=1) / np.sqrt(len(returns)),
                }
            )
    return pd.DataFrame(rows)


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
