"""The credit ablation of chapters 6 and 9: how much of a DQN's score is learned, and how much its inputs hand it.

The item-shared DQN reads engineered inputs (:mod:`recbook.agents.features`): the Dirichlet posterior mean, a
lookahead and, with qualities, each item's true leave probability and bayes-index's own score; its output is added
to a hand-built baseline (``skip``). This experiment trains the same network on input sets that are told less
(:data:`SETTINGS`):

* chapter 9 (``leave``): ``engineered`` (the preset, ``data/models/leave_seed*.zip``); ``posterior`` (the
  posterior-mean inputs and the quality ``q_a``, nothing computed from ``leave_rate``: no leave probability, no
  index); ``public`` (only what a real system logs: shown or not, the value revealed, the count, ``q_a``, steps
  left; no skip baseline: a plain item-shared network);
* chapter 6 (``original``): ``engineered`` (the ``item_shared`` preset with its exploit baseline), ``scratch`` (the
  same inputs, no baseline) and ``public``.

Each arm's budget was chosen on VALIDATION users (a ``recbook sweep``, ``data/sweeps/credit_*``); every arm is
trained with seeds 0, 1, 2 and scored on :data:`N_TEST_USERS` TEST users (exits in expectation) next to the
heuristics and each arm's *untrained* network (the same network and seed before any learning):
``trained - untrained`` is what the DQN learned, ``untrained - bayes-greedy`` what its inputs and baseline give.

``python -m recbook.experiments.credit --setting leave --only train`` trains the missing models (about 3
CPU-minutes per 300k steps of ``leave``); ``--only table`` writes ``data/credit/leave.csv``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from recbook import seeds
from recbook.agents.agent import load_agent
from recbook.agents.config import RunConfig
from recbook.agents.train import train_run
from recbook.evaluation import compare, paired_difference
from recbook.paths import DATA_DIR

__all__ = ["HEURISTICS", "N_TEST_USERS", "SEEDS", "SETTINGS", "Arm", "arm_run", "credit_table", "main", "model_path"]


@dataclass(frozen=True)
class Arm:
    """One input set: the preset it starts from, the DQN fields it changes, its budget and its model files."""

    preset: str
    dqn: dict[str, str]
    budget: int
    stem: str


#: Each setting's arms. Budgets were chosen on VALIDATION users (``data/sweeps/credit_*``; the presets' own
#: budgets for the engineered arms). Chapter 9 (``leave``): the preset's inputs, the posterior-mean inputs without
#: anything computed from ``leave_rate``, and public inputs only. Chapter 6 (``original``, no qualities, so no
#: leave features): the item-shared preset with its exploit baseline, the same inputs from scratch, public inputs.
SETTINGS: dict[str, dict[str, Arm]] = {
    "leave": {
        "engineered": Arm("leave", {}, 300_000, "leave"),
        "posterior": Arm("leave", {"features": "posterior"}, 300_000, "leave_posterior"),
        "public": Arm("leave", {"features": "public", "skip": "none"}, 1_200_000, "leave_public"),
    },
    "original": {
        "engineered": Arm("item_shared", {}, 150_000, "item_shared"),
        "scratch": Arm("item_shared_scratch", {}, 150_000, "item_shared_scratch"),
        "public": Arm("item_shared_scratch", {"features": "public"}, 1_200_000, "item_shared_public"),
    },
}
#: Training seeds of every arm.
SEEDS: tuple[int, ...] = (0, 1, 2)
#: TEST users of each table.
N_TEST_USERS = 20_000
#: Heuristics scored on the same users, per setting; the first is the reference of ``pct_diff``.
HEURISTICS: dict[str, tuple[str, ...]] = {"leave": ("bayes-index", "bayes-greedy"), "original": ("bayes-greedy",)}


def _arm(setting: str, arm: str) -> Arm:
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {tuple(SETTINGS)}, got {setting!r}")
    if arm not in SETTINGS[setting]:
        raise ValueError(f"arm must be one of {tuple(SETTINGS[setting])}, got {arm!r}")
    return SETTINGS[setting][arm]


def arm_run(setting: str, arm: str, seed: int) -> RunConfig:
    """The arm's preset with its inputs, budget and the training ``seed``."""
    spec = _arm(setting, arm)
    run = RunConfig.from_yaml(spec.preset)
    training = replace(run.training, seed=seed, total_timesteps=spec.budget)
    return RunConfig(run.env, replace(run.dqn, **spec.dqn), training)


def model_path(setting: str, arm: str, seed: int, models: Path = DATA_DIR / "models") -> Path:
    """Where an arm's model lives (the engineered arms are the presets' own models)."""
    return models / f"{_arm(setting, arm).stem}_seed{seed}.zip"


def credit_table(
    setting: str, models: Path = DATA_DIR / "models", n_users: int = N_TEST_USERS, seed: int = 0
) -> pd.DataFrame:
    """Every arm and seed, trained and untrained, with the heuristics, on the same TEST users (exits expected).

    One row per trained agent: ``arm``, ``seed``, ``env_steps``, ``pct_oracle`` (with CI), the paired difference in
    points of the reference's (the oracle's or planner's) mean return from the setting's first heuristic
    (``pct_diff``, CI), from its own untrained network (``pct_learned``, CI: what training added), and the untrained
    network's ``untrained_pct_oracle`` with its difference from BayesGreedy (``untrained_vs_bayes_greedy``, CI: what
    the inputs and the skip give before any learning). Then one row per heuristic.
    """
    reference = HEURISTICS[setting][0]
    agents: dict[str, Any] = {}
    for arm in SETTINGS[setting]:
        for training_seed in SEEDS:
            agents[f"{arm}_seed{training_seed}"] = load_agent(model_path(setting, arm, training_seed, models))
            untrained = train_run(arm_run(setting, arm, training_seed), total_timesteps=0)
            agents[f"{arm}_seed{training_seed}_untrained"] = untrained
    policies = {**agents, **{name: name for name in HEURISTICS[setting]}}
    config = next(iter(agents.values())).config
    table, per_user = compare(policies, config, n_users=n_users, seed=seed, stream=seeds.TEST, n_resamples=1000,
                              references=[reference], sessions=True)
    # Points of the oracle's mean return, as compare's pct_diff columns (the oracle's value is the same per user).
    points = 100.0 / float(per_user.loc[per_user["policy"] == reference, "oracle_return"].mean())

    def versus(a: str, b: str) -> list[float]:
        diff = paired_difference(per_user, a, b, "expected_return", n_resamples=1000, seed=seed)
        return [diff[key] * points for key in ("mean_difference", "ci_low", "ci_high")]

    shown = ["pct_oracle", "pct_oracle_ci_low", "pct_oracle_ci_high"]
    diffs = [f"pct_diff_{reference}", f"pct_diff_{reference}_ci_low", f"pct_diff_{reference}_ci_high"]
    suffixes = ("", "_ci_low", "_ci_high")
    rows = []
    for arm in SETTINGS[setting]:
        for training_seed in SEEDS:
            name = f"{arm}_seed{training_seed}"
            untrained = f"{name}_untrained"
            row: dict[str, Any] = {"arm": arm, "seed": training_seed, "env_steps": _arm(setting, arm).budget,
                                   "n_users": n_users}
            row.update({column: float(table.loc[name, column]) for column in shown})
            row.update({f"pct_diff{suffix}": float(table.loc[name, column]) for suffix, column in zip(suffixes, diffs)})
            row.update({f"pct_learned{suffix}": value for suffix, value in zip(suffixes, versus(name, untrained))})
            row["untrained_pct_oracle"] = float(table.loc[untrained, "pct_oracle"])
            given = versus(untrained, "bayes-greedy")
            row.update({f"untrained_vs_bayes_greedy{suffix}": value for suffix, value in zip(suffixes, given)})
            rows.append(row)
    for name in HEURISTICS[setting]:
        row = {"arm": name, "n_users": n_users, **{column: float(table.loc[name, column]) for column in shown}}
        if name != reference:
            row.update({f"pct_diff{s}": float(table.loc[name, c]) for s, c in zip(suffixes, diffs)})
        rows.append(row)
    result = pd.DataFrame(rows)
    result.attrs["reference"] = reference
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recbook.experiments.credit", description=__doc__.split("\n")[0])
    parser.add_argument("--setting", choices=tuple(SETTINGS), required=True)
    parser.add_argument("--models", type=Path, default=DATA_DIR / "models")
    parser.add_argument("--output", type=Path, default=DATA_DIR / "credit")
    parser.add_argument("--only", action="append", choices=("train", "table"))
    args = parser.parse_args(argv)
    todo = set(args.only or ("train", "table"))
    if "train" in todo:
        for arm in SETTINGS[args.setting]:
            for seed in SEEDS:
                path = model_path(args.setting, arm, seed, args.models)
                if path.exists():
                    continue
                began = time.process_time()
                train_run(arm_run(args.setting, arm, seed)).save(path)
                print(f"{arm} seed {seed}: {time.process_time() - began:.0f} CPU-s -> {path}", flush=True)
    if "table" in todo:
        args.output.mkdir(parents=True, exist_ok=True)
        table = credit_table(args.setting, args.models)
        table.to_csv(args.output / f"{args.setting}.csv", index=False)
        print(table.round(2).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
