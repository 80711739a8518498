"""The original failure taken apart: which change moves a DQN recommender from below random to near the oracle.

``python -m recbook.experiments.ablation`` trains every arm of :data:`ARMS` with each of :data:`SEEDS` (one after
another, one thread) and writes ``data/models/ablation.csv``: one row per (arm, seed) with
the expected return and % of oracle on 20,000 TEST users. Chapter 6 reads the file.

The arms change one thing at a time, starting from the original project's run (counts observation, SB3's default
DQN, 10k steps, one user at a time):

* ``defaults`` — the original run;
* ``target fix`` — the same with ``target_update_interval=500`` (the only change), so the target network moves;
* ``tuned, counts`` — this book's tuned hyperparameters on a flat MLP, still on the counts observation, 30k steps;
* ``tuned, feedback`` — the same on the feedback observation (the ``feedback_mlp`` preset at 30k steps).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from recbook.agents.config import RunConfig
from recbook.agents.train import train_dqn
from recbook.evaluation import score
from recbook.paths import DATA_DIR
from recbook.seeds import TEST

__all__ = ["ARMS", "SEEDS", "arm_runs", "run_ablation", "main"]

#: The training seeds of every arm.
SEEDS: tuple[int, ...] = (0, 1, 2)
#: The arms, in the order the chapter shows them.
ARMS: tuple[str, ...] = ("defaults", "target fix", "tuned, counts", "tuned, feedback")
N_USERS = 20_000
#: Env steps of the tuned arms: three times the original budget, a fifth of the ``feedback_mlp`` preset's.
TUNED_STEPS = 30_000


def arm_runs() -> dict[str, RunConfig]:
    """The run configuration of every arm (see the module docstring)."""
    original = RunConfig.from_yaml("original")
    preset = RunConfig.from_yaml("feedback_mlp")
    tuned = RunConfig(preset.env, preset.dqn, replace(preset.training, total_timesteps=TUNED_STEPS))
    return {
        "defaults": original,
        "target fix": RunConfig(original.env, replace(original.dqn, target_update_interval=500), original.training),
        "tuned, counts": RunConfig(original.env, tuned.dqn, tuned.training),
        "tuned, feedback": tuned,
    }


def run_ablation(
    seeds: tuple[int, ...] = SEEDS, n_users: int = N_USERS, arms: tuple[str, ...] = ARMS
) -> pd.DataFrame:
    """Train every arm with every seed; score each on ``n_users`` TEST users (seed 0)."""
    rows = []
    for arm, run in arm_runs().items():
        if arm not in arms:
            continue
        for seed in seeds:
            began = time.perf_counter()
            agent = train_dqn(run.env, dqn=run.dqn, training=replace(run.training, seed=seed, eval_freq=0))
            result = score(agent, run.env, n_users, seed=0, stream=TEST)
            rows.append(
                {
                    "arm": arm,
                    "seed": seed,
                    "observation": run.env.observation,
                    "total_timesteps": run.training.total_timesteps,
                    "expected_return": result["expected_return"],
                    "pct_oracle": result["pct_oracle"],
                    "train_time_s": time.perf_counter() - began,
                }
            )
            print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recbook.experiments.ablation", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--output", type=Path, default=DATA_DIR / "models" / "ablation.csv")
    args = parser.parse_args(argv)
    table = run_ablation()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.output, index=False, float_format="%.6g")
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
