"""Replications of the off-policy estimators on the simulator, against the target's true value.

:func:`~recbook.ope.replicate` collects independent logs and estimates the target on each with every method;
:func:`~recbook.ope.summarize_replications` gives each method's bias, spread, RMSE and interval coverage. ``python -m
recbook.ope`` (:func:`~recbook.ope.main`) writes the chapter's precomputed ``data/ope/replications.csv``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recbook import seeds
from recbook.config import EnvConfig
from recbook.evaluation import evaluate
from recbook.ope.estimators import METHODS, estimate
from recbook.ope.logs import collect
from recbook.policies import EpsilonGreedy

__all__ = ["main", "replicate", "summarize_replications", "true_value"]


def true_value(config: EnvConfig, target: Any, n_users: int = 100_000, seed: int = 0) -> tuple[float, float]:
    """The target's true value and its Monte-Carlo standard error: its mean return on ``n_users`` fresh users.

    Runs :func:`recbook.evaluation.evaluate` (which draws TEST-stream users), so it uses the same scoring path
    as every other number in the book; the standard error is ``sd(return) / sqrt(n_users)``.
    """
    table = evaluate({"target": target}, config, n_users=n_users, seed=seed)
    values = table["return"].to_numpy(dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def replicate(
    config: EnvConfig,
    logging: Any,
    target: Any,
    truth: float,
    n_users: int,
    n_replications: int,
    methods: Sequence[str] = METHODS,
    seed: int = 0,
    stream: str = seeds.TEST,
) -> pd.DataFrame:
    """Collect ``n_replications`` independent logs and estimate the target on each with every method.

    Replication ``j`` uses ``collect(config, logging, n_users, seed=derive_seed(seed, stream, "users", j))``,
    so replications share no users. One row per (replication, method): the :class:`Estimate`'s fields plus
    ``replication``, ``truth``, ``error`` (value - truth) and ``covered``.
    """
    rows = []
    for j in range(int(n_replications)):
        logs = collect(config, logging, n_users, seeds.derive_seed(seed, stream, "users", "replication", j), stream)
        for method in methods:
            result = estimate(logs, target, method, seed=j)
            rows.append(
                {
                    "replication": j,
                    **result.to_dict(),
                    "truth": truth,
                    "error": result.value - truth,
                    "covered": result.covers(truth),
                }
            )
    return pd.DataFrame(rows)


def summarize_replications(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: ``bias`` (mean error), ``sd``, ``rmse``, ``coverage`` of the intervals, mean ``ess``."""
    grouped = table.groupby("method", sort=False)
    return pd.DataFrame(
        {
            "bias": grouped["error"].mean(),
            "sd": grouped["value"].std(ddof=1),
            "rmse": grouped["error"].apply(lambda e: float(np.sqrt(np.mean(e**2)))),
            "coverage": grouped["covered"].mean(),
            "mean_ess": grouped["ess"].mean(),
            "replications": grouped.size(),
        }
    )


# -- command line: the chapter's precomputed replications ----------------------------------------------------
def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m recbook.ope",
        description="Replicate the off-policy estimators on the simulator (the chapter's data/ope/ tables).",
    )
    parser.add_argument("--horizons", type=int, nargs="+", default=[5, 10, 20], help="session lengths T")
    parser.add_argument("--n-users", type=int, default=2000, help="sessions per replication")
    parser.add_argument("--replications", type=int, default=300, help="independent logs per horizon")
    parser.add_argument("--truth-users", type=int, default=200_000, help="users for each true value")
    parser.add_argument("--logging-epsilon", type=float, default=0.3)
    parser.add_argument("--target-epsilon", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="data/ope/replications.csv")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recbook.ope``: write one row per (horizon, replication, method) to ``--output``."""
    args = _parse(argv)
    frames = []
    for horizon in args.horizons:
        config = EnvConfig(observation="feedback", session_length=horizon)
        logging = EpsilonGreedy(config, epsilon=args.logging_epsilon)
        target = EpsilonGreedy(config, epsilon=args.target_epsilon)
        truth, truth_se = true_value(config, target, n_users=args.truth_users, seed=args.seed)
        start = time.perf_counter()
        table = replicate(config, logging, target, truth, args.n_users, args.replications, seed=args.seed)
        table.insert(0, "horizon", horizon)
        table["truth_se"] = truth_se
        frames.append(table)
        print(f"T={horizon}: truth {truth:.4f} +- {truth_se:.4f}, {time.perf_counter() - start:.0f} s")
        print(summarize_replications(table).round(4).to_string())
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames, ignore_index=True).to_csv(output, index=False, float_format="%.6g")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
