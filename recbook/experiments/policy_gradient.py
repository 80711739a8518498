"""The policy-gradient chapter's precomputed results: REINFORCE on the leave setting, its sweep and its TEST table.

``python -m recbook.experiments.policy_gradient`` writes, under ``data/models/`` and ``data/pg/``:

* ``pg/sweep.csv`` (``--only sweep``) — the learning rate and batch (sessions per update) of :data:`SWEEP`, each
  trained for :data:`SWEEP_STEPS` transitions (seed 0) and scored on :data:`N_SWEEP_USERS` VALIDATION users (exits
  in expectation); :data:`CHOSEN` is its best row;
* ``models/reinforce_leave_seed{0,1,2}.zip`` (``--only train``) — REINFORCE (:mod:`recbook.agents.reinforce`)
  with :data:`CHOSEN` for :data:`BUDGET` transitions, learning curves inside;
* ``pg/test_table.csv`` (``--only table``) — REINFORCE, PPO (``ppo_leave_seed*.zip``) and the DQN
  (``leave_seed*.zip``) seeds with bayes-index, BayesGreedy and the planner on :data:`N_TEST_USERS` TEST users
  (seed 0, exits in expectation), as chapter 9's table: % of the planner with its CI, paired differences in points
  from bayes-index and BayesGreedy, and for each REINFORCE seed from the PPO of the same seed (``pct_diff_ppo``).
  About 3 CPU-minutes: re-run it whenever the PPO models change.

The environment is the preset ``leave`` (:meth:`recbook.agents.config.RunConfig.from_yaml`), the one the DQN and
PPO models of chapter 9 were trained on.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from recbook import seeds
from recbook.agents.config import RunConfig
from recbook.paths import DATA_DIR

__all__ = ["BUDGET", "CHOSEN", "N_SWEEP_USERS", "N_TEST_USERS", "SEEDS", "SWEEP", "SWEEP_STEPS", "main",
           "policy_gradient_table"]

#: TEST users of the final table.
N_TEST_USERS = 20_000
#: Training seeds.
SEEDS: tuple[int, ...] = (0, 1, 2)
#: (learning rate, sessions per update) pairs of the VALIDATION sweep.
SWEEP: tuple[tuple[float, int], ...] = ((3e-4, 32), (1e-3, 32), (3e-3, 32), (3e-4, 128), (1e-3, 128), (3e-3, 128))
#: Transitions per sweep run.
SWEEP_STEPS = 500_000
#: VALIDATION users scoring each sweep run.
N_SWEEP_USERS = 2_000
#: The sweep's best pair (``data/pg/sweep.csv``): learning rate and sessions per update, learned baseline.
CHOSEN: dict[str, Any] = {"learning_rate": 3e-4, "num_envs": 32}
#: Transitions per training seed (3.1 to 3.5 CPU-minutes each of training, learning-curve evaluations excluded).
BUDGET = 1_000_000


def _config() -> Any:
    return RunConfig.from_yaml("leave").env


def _reinforce(total_timesteps: int, **changes: Any) -> Any:
    from recbook.agents.reinforce import ReinforceConfig

    settings = {"eval_freq": 100_000, **CHOSEN, **changes}
    return replace(ReinforceConfig(), total_timesteps=total_timesteps, **settings)


def policy_gradient_table(models: Path = DATA_DIR / "models", n_users: int = N_TEST_USERS, seed: int = 0
                          ) -> pd.DataFrame:
    """REINFORCE, PPO and DQN seeds with bayes-index, BayesGreedy and the planner on the same TEST users.

    One row per policy: ``agent`` (``reinforce``/``ppo``/``dqn`` or the heuristic's name), ``seed``,
    ``pct_oracle`` with its CI, ``pct_diff_bayes-index`` and ``pct_diff_bayes-greedy`` with CIs (points of the
    planner's mean return, paired), and for REINFORCE rows ``pct_diff_ppo`` with CI: minus the PPO of the same seed.
    """
    from recbook.agents.agent import load_agent, load_ppo
    from recbook.agents.reinforce import load_reinforce
    from recbook.evaluation import compare, paired_difference

    config = _config()
    loaders = {"reinforce": ("reinforce_leave", load_reinforce), "ppo": ("ppo_leave", load_ppo),
               "dqn": ("leave", load_agent)}
    policies: dict[str, Any] = {}
    for agent, (stem, loader) in loaders.items():
        for training_seed in SEEDS:
            path = models / f"{stem}_seed{training_seed}.zip"
            if path.exists():
                policies[f"{agent}_seed{training_seed}"] = loader(path)
    heuristics = ("bayes-index", "bayes-greedy", "oracle")
    policies.update({name: name for name in heuristics})
    table, per_user = compare(policies, config, n_users=n_users, seed=seed, stream=seeds.TEST, n_resamples=1000,
                              references=["bayes-index", "bayes-greedy"], sessions=True)
    points = 100.0 / float(per_user.loc[per_user["policy"] == "oracle", "expected_return"].mean())
    columns = ["n_users", "expected_return", "pct_oracle", "pct_oracle_ci_low", "pct_oracle_ci_high"]
    columns += [f"pct_diff_{r}{s}" for r in ("bayes-index", "bayes-greedy") for s in ("", "_ci_low", "_ci_high")]
    result = table[columns].rename_axis("policy").reset_index()
    result.insert(1, "agent", [name.split("_seed")[0] for name in result["policy"]])
    result.insert(2, "seed", [int(name.split("_seed")[1]) if "_seed" in name else None for name in result["policy"]])
    for suffix in ("", "_ci_low", "_ci_high"):
        result[f"pct_diff_ppo{suffix}"] = float("nan")
    for row in result.index[result["agent"] == "reinforce"]:
        ppo = f"ppo_seed{int(result.loc[row, 'seed'])}"
        if ppo in policies:
            diff = paired_difference(per_user, result.loc[row, "policy"], ppo, "expected_return", n_resamples=1000,
                                     seed=seed)
            for suffix, key in zip(("", "_ci_low", "_ci_high"), ("mean_difference", "ci_low", "ci_high")):
                result.loc[row, f"pct_diff_ppo{suffix}"] = diff[key] * points
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recbook.experiments.policy_gradient",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, default=DATA_DIR / "models")
    parser.add_argument("--output", type=Path, default=DATA_DIR / "pg")
    parser.add_argument("--only", action="append", choices=("sweep", "train", "table"))
    args = parser.parse_args(argv)
    todo = set(args.only or ("train", "table"))
    args.output.mkdir(parents=True, exist_ok=True)
    from recbook.agents.reinforce import train_reinforce
    from recbook.evaluation import score

    config = _config()
    if "sweep" in todo:
        rows = []
        for learning_rate, num_envs in SWEEP:
            began = time.process_time()
            agent = train_reinforce(config, _reinforce(SWEEP_STEPS, learning_rate=learning_rate, num_envs=num_envs,
                                                       eval_freq=0), seed=0)
            result = score(agent, config, n_users=N_SWEEP_USERS, seed=0, stream=seeds.VALIDATION)
            rows.append({"learning_rate": learning_rate, "num_envs": num_envs, "env_steps": SWEEP_STEPS,
                         "pct_oracle": result["pct_oracle"], "cpu_s": time.process_time() - began})
            print(rows[-1], flush=True)
        pd.DataFrame(rows).to_csv(args.output / "sweep.csv", index=False)
    if "train" in todo:
        for seed in SEEDS:
            began = time.process_time()
            path = train_reinforce(config, _reinforce(BUDGET), seed=seed).save(
                args.models / f"reinforce_leave_seed{seed}.zip")
            print(f"reinforce seed {seed}: {time.process_time() - began:.0f} CPU-s -> {path}", flush=True)
    if "table" in todo:
        table = policy_gradient_table(args.models)
        table.to_csv(args.output / "test_table.csv", index=False)
        print(table.round(2).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
