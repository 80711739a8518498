"""Rebuild the trained models under ``data/models/`` and their held-out results table.

``python -m recbook.experiments.regenerate`` trains, one after the other on one thread:

* ``original_seed0.zip`` — the original project's DQN (counts observation, SB3 defaults, 10k steps);
* ``feedback_mlp_seed0.zip`` — flat MLP on the feedback observation;
* ``item_shared_scratch_seed{0,1,2}.zip`` — the item-shared network without its built-in lookahead baseline
  (``skip: none``), three training seeds;
* ``item_shared_seed{0,1,2}.zip`` — the item-shared network, three training seeds;
* ``click_seed0.zip`` — the item-shared network (from scratch) in the click setting, trained on engagement
  probabilities;
* ``click_observed_seed0.zip`` — the same, trained on the observed 0/1 clicks;
* ``leave_seed{0,1,2}.zip`` — users who leave (chapter 9): the item-shared network with quality features, three
  training seeds (chapter 9's other results: ``python -m recbook.experiments.long_term``);

each with ``<name>_learning_curve.csv``, then writes ``held_out.csv``: every model and the baselines it is
compared with on 2,000 TEST users (seed 0). ``--only item_shared`` (repeatable)
restricts the models; ``--skip-training`` only rebuilds the table from the saved models.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from recbook.agents.agent import load_model
from recbook.agents.config import RunConfig
from recbook.agents.train import train_from_config
from recbook.evaluation import compare
from recbook.paths import DATA_DIR
from recbook.sweeps import sweep

__all__ = ["MODELS", "N_STEPS_CHOICES", "choose_n_steps", "held_out_table", "main"]

#: (file stem, preset, seed) of every committed model.
MODELS: list[tuple[str, str, int]] = [
    ("original_seed0", "original", 0),
    ("feedback_mlp_seed0", "feedback_mlp", 0),
    ("item_shared_scratch_seed0", "item_shared_scratch", 0),
    ("item_shared_scratch_seed1", "item_shared_scratch", 1),
    ("item_shared_scratch_seed2", "item_shared_scratch", 2),
    ("item_shared_seed0", "item_shared", 0),
    ("item_shared_seed1", "item_shared", 1),
    ("item_shared_seed2", "item_shared", 2),
    ("click_seed0", "click", 0),
    ("click_observed_seed0", "click_observed", 0),
    ("leave_seed0", "leave", 0),
    ("leave_seed1", "leave", 1),
    ("leave_seed2", "leave", 2),
]
N_USERS = 2_000
#: The n-step lengths compared for the ``item_shared_scratch`` preset, on VALIDATION users.
N_STEPS_CHOICES: tuple[int, ...] = (1, 3, 10)


def choose_n_steps(preset: str = "item_shared_scratch", choices: tuple[int, ...] = N_STEPS_CHOICES,
                   seeds_: tuple[int, ...] = (0,), n_users: int = N_USERS,
                   output: Path | None = None) -> pd.DataFrame:
    """Train ``preset`` with each ``n_steps`` in ``choices`` and score it on VALIDATION users (never TEST users).

    A one-axis :func:`recbook.sweeps.sweep` (its runs go to ``output``, default a temporary folder). One row per
    (n_steps, seed): ``pct_oracle`` with its CI on ``n_users`` VALIDATION users (``eval_seed`` 0), the paired
    difference from BayesGreedy and the training time. The preset's ``n_steps`` is the best row.
    """
    with tempfile.TemporaryDirectory() as folder:
        table = sweep(preset, seeds=seeds_, overrides={"dqn.n_steps": list(choices)}, n_users=n_users,
                      output=output or folder, jobs=1)
    return table.rename(columns={"dqn.n_steps": "n_steps"}).assign(preset=preset)


def held_out_table(directory: Path, stems: list[str] | None = None) -> pd.DataFrame:
    """One row per saved model: its held-out % of oracle and paired difference with the best baseline.

    The baseline is Bayes-greedy (the best bandit-style policy in both settings; the click row also names the
    runner-up). Users: ``sample_users(config, 2000, seed=0)`` (TEST), the same for every policy (common random
    numbers via :func:`recbook.evaluation.evaluate`).
    """
    rows = []
    for stem, preset, seed in MODELS:
        path = directory / f"{stem}.zip"
        if (stems and stem not in stems) or not path.exists():
            continue
        agent = load_model(path)
        config = agent.config
        baseline_names = ["bayes-greedy", "random", "round-robin", "ucb", "thompson"]
        summary = compare({"dqn": agent, **{name: name for name in baseline_names}}, config, n_users=N_USERS, seed=0,
                          references=["bayes-greedy"])
        curve = agent.learning_curve
        train_rows = curve.iloc[1:]
        rows.append(
            {
                "model": stem,
                "preset": preset,
                "seed": seed,
                "observation": agent.observation,
                "policy": agent.dqn_config.policy,
                "env_steps": agent.total_timesteps,
                "train_time_s": float(curve["train_time_s"].iloc[-1]) if len(curve) else float("nan"),
                "steps_per_s": (
                    float(agent.total_timesteps / curve["train_time_s"].iloc[-1]) if len(curve) else float("nan")
                ),
                "dqn_return": float(summary.loc["dqn", "expected_return"]),
                "dqn_pct_oracle": float(summary.loc["dqn", "pct_oracle"]),
                "bayes_greedy_pct_oracle": float(summary.loc["bayes-greedy", "pct_oracle"]),
                "random_pct_oracle": float(summary.loc["random", "pct_oracle"]),
                "best_baseline": max(baseline_names, key=lambda name: summary.loc[name, "expected_return"]),
                "best_baseline_pct_oracle": float(summary.loc[baseline_names, "pct_oracle"].max()),
                "diff_vs_bayes_greedy": float(summary.loc["dqn", "diff_bayes-greedy"]),
                "diff_ci_low": float(summary.loc["dqn", "diff_bayes-greedy_ci_low"]),
                "diff_ci_high": float(summary.loc["dqn", "diff_bayes-greedy_ci_high"]),
                "curve_points": len(train_rows),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recbook.experiments.regenerate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--output", type=Path, default=DATA_DIR / "models", help="directory (default data/models)")
    parser.add_argument("--only", action="append", help="model stem to (re)build, e.g. item_shared_seed0")
    parser.add_argument("--skip-training", action="store_true", help="only rebuild held_out.csv")
    parser.add_argument(
        "--choose-n-steps",
        action="store_true",
        help="only redo the VALIDATION choice of item_shared_scratch's n_steps (n_steps_validation.csv)",
    )
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    if args.choose_n_steps:
        table = choose_n_steps()
        table.to_csv(args.output / "n_steps_validation.csv", index=False)
        print(table.to_string(index=False))
        return 0
    for stem, preset, seed in MODELS:
        if args.skip_training or (args.only and stem not in args.only):
            continue
        began = time.perf_counter()
        RunConfig.from_yaml(preset)  # fail early on a broken preset
        path = train_from_config(preset, output=args.output / f"{stem}.zip", seed=seed)
        print(f"{path}: {time.perf_counter() - began:.0f} s")
    table = held_out_table(args.output)
    table.to_csv(args.output / "held_out.csv", index=False)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
