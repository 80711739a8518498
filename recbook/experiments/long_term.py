"""Chapter 9's precomputed results: PPO models, the DQN-per-leave-rate sweep and the TEST comparison table.

``python -m recbook.experiments.long_term`` (after ``python -m recbook.experiments.regenerate --only leave_seed0``
etc. for the DQN models ``data/models/leave_seed{0,1,2}.zip``) writes, under ``data/models/`` and ``data/leave/``:

* ``ppo_leave_seed{0,1,2}.zip`` — PPO with the item-shared actor (:mod:`recbook.agents.ppo`), same setting, inputs
  and budget as the DQN, its hyperparameters those :mod:`recbook.experiments.ppo_tuning` chose on VALIDATION users
  (``--only ppo`` trains them: :func:`~recbook.experiments.ppo_tuning.train_seeds`);
* ``leave/test_table.csv`` — every trained agent and the heuristics on :data:`N_TEST_USERS` TEST users (seed 0,
  exits in expectation): expected return, % of the planner with its CI, paired differences with ``bayes-index``,
  ``bayes-greedy`` and each DQN seed (``pct_diff_dqn_seed0`` ...: PPO seed k against DQN seed k, like for like);
* ``leave/sweep_dqn.csv`` — a DQN trained at each leave rate of :data:`SWEEP_RATES` (preset ``leave`` with that
  rate and its budget; 0 is the original setting's users with the decile catalogue), scored on 5,000 TEST users;
* ``leave/rollout_table.csv`` — the Bayesian rollout planner (:class:`recbook.policies.BayesRollout`, which does
  not know ``p``) next to the DQN seeds, bayes-index and BayesGreedy on :data:`N_ROLLOUT_USERS` TEST users, in
  :func:`test_table`'s columns: how much of the gap to the full-information planner a policy without ``p`` can
  close. The planner costs about 0.1 s per user (one core), so it gets fewer users than the main table.

``--only ppo|table|sweep|rollout`` (repeatable) restricts the work.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pandas as pd

from recbook import seeds
from recbook.agents.agent import load_agent, load_ppo
from recbook.agents.config import RunConfig
from recbook.agents.train import train_dqn
from recbook.evaluation import compare
from recbook.experiments import ppo_tuning
from recbook.policies import BayesRollout
from recbook.paths import DATA_DIR

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

#: TEST users of the final table.
N_TEST_USERS = 20_000
#: Heuristics of the final table (the oracle is the reference of ``pct_oracle``).
HEURISTICS: tuple[str, ...] = ("random", "bayes-greedy", "thompson", "ucb", "bayes-index", "myopic-oracle", "oracle")
#: TEST users of the rollout-planner table, and the planner's scenarios per user and step.
N_ROLLOUT_USERS = 5_000
ROLLOUT_SAMPLES = 64
#: PPO's budget per seed in environment steps, the DQN's (:data:`recbook.experiments.ppo_tuning.BUDGET`).
PPO_STEPS = ppo_tuning.BUDGET
#: PPO training seeds (:data:`recbook.experiments.ppo_tuning.SEEDS`).
PPO_SEEDS: tuple[int, ...] = ppo_tuning.SEEDS
#: Leave rates of the DQN sweep (one seed each).
SWEEP_RATES: tuple[float, ...] = (0.0, 0.1, 0.3, 0.6)


def test_table(
    agents: dict[str, Any],
    n_users: int = N_TEST_USERS,
    seed: int = 0,
    heuristics: tuple[str, ...] = HEURISTICS,
    references: tuple[str, ...] = ("bayes-index", "bayes-greedy"),
) -> pd.DataFrame:
    """Agents and ``heuristics`` (names of :data:`~recbook.policies.registry.POLICIES`) on the same TEST users: one row
    per
    policy.

    Columns: ``expected_return``, ``pct_oracle`` with ``pct_oracle_ci_low``/``_high`` (bootstrap, ratio of means),
    and for each reference ``r`` in (``bayes-index``, ``bayes-greedy``) the paired difference of % of the planner
    ``pct_diff_r`` with ``pct_diff_r_ci_low``/``_high`` (paired bootstrap of the expected-return difference, scaled
    by 100 / the planner's mean return). ``references`` name policies of the table (agents or heuristics).

    Exits are taken in expectation (:func:`recbook.evaluation.evaluate`'s default): each user's return is its exact
    expectation over when the user leaves, so a paired difference reflects only the users, not who happened to
    leave when. On 10,000 VALIDATION users this shrinks the 95 % half-width of a DQN-minus-bayes-index difference
    from about 1.06 points (sampled exits) to about 0.05.
    """
    config = RunConfig.from_yaml("leave").env
    policies: dict[str, Any] = {**agents, **{name: name for name in heuristics}}
    table = compare(policies, config, n_users=n_users, seed=seed, stream=seeds.TEST, n_resamples=1000,
                    references=list(references))
    columns = ["n_users", "expected_return", "pct_oracle", "pct_oracle_ci_low", "pct_oracle_ci_high"]
    columns += [f"pct_diff_{r}{suffix}" for r in references for suffix in ("", "_ci_low", "_ci_high")]
    return table[columns].rename_axis("policy").reset_index()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recbook.experiments.long_term", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--models", type=Path, default=DATA_DIR / "models")
    parser.add_argument("--output", type=Path, default=DATA_DIR / "leave")
    parser.add_argument("--only", action="append", choices=("ppo", "table", "sweep", "rollout"))
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    todo = set(args.only or ("ppo", "table", "sweep", "rollout"))
    config = RunConfig.from_yaml("leave").env
    if "ppo" in todo:
        ppo_tuning.train_seeds(ppo_tuning.chosen_config(), args.models, PPO_SEEDS)
    if "sweep" in todo:
        rows = []
        for rate in SWEEP_RATES:
            agent = train_dqn(config.replace(leave_rate=rate), preset="leave", seed=0)  # the preset's budget
            result = agent.evaluate(n_users=5_000, seed=0, stream=seeds.TEST)
            rows.append({"leave_rate": rate, "policy": "dqn", **result,
                         "train_time_s": float(agent.learning_curve["train_time_s"].iloc[-1])})
            print(rate, result, flush=True)
        pd.DataFrame(rows).to_csv(args.output / "sweep_dqn.csv", index=False)
    agents: dict[str, Any] = {}
    for seed in (0, 1, 2):
        for stem, loader in ((f"leave_seed{seed}", load_agent), (f"ppo_leave_seed{seed}", load_ppo)):
            path = args.models / f"{stem}.zip"
            if path.exists():
                agents[stem.replace("leave_", "dqn_" if stem.startswith("leave") else "")] = loader(path)
    if "table" in todo:
        # PPO seed k is also paired with DQN seed k (same inputs and budget): the DQN seeds are references too.
        dqn_labels = tuple(name for name in agents if name.startswith("dqn"))
        table = test_table(agents, references=("bayes-index", "bayes-greedy", *dqn_labels))
        table.to_csv(args.output / "test_table.csv", index=False)
        print(table.to_string(index=False))
    if "rollout" in todo:
        began = time.process_time()
        planner = BayesRollout(config, seed=0, n_samples=ROLLOUT_SAMPLES)
        dqns = {name: agent for name, agent in agents.items() if name.startswith("dqn")}
        table = test_table(
            {"bayes-rollout": planner, **dqns},
            n_users=N_ROLLOUT_USERS,
            heuristics=("bayes-greedy", "bayes-index"),
            references=("bayes-index", "bayes-greedy", "bayes-rollout"),
        )
        table["cpu_seconds"] = time.process_time() - began
        table.to_csv(args.output / "rollout_table.csv", index=False)
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
