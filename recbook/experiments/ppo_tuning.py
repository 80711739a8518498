"""PPO like for like with chapter 9's DQN: the same inputs, the same budget, hyperparameters chosen on VALIDATION users.

The DQN it is compared with is the ``leave`` preset (``data/models/leave_seed{0,1,2}.zip``): the engineered item
features, :data:`BUDGET` environment steps per seed, its hyperparameters chosen on VALIDATION users. PPO gets the same
features (``PPOConfig.features = "engineered"``, the same :class:`~recbook.agents.features.ItemFeatures`), the same
budget, the same TRAIN users and the same batched environment. Its five main hyperparameters (learning rate, rollout
length ``n_steps``, minibatch size, entropy coefficient, clip range) are chosen by a random search over
:data:`SPACE`: :data:`N_CANDIDATES` configurations drawn with a fixed seed, plus the defaults of
:class:`~recbook.agents.config.PPOConfig`, each trained once (seed 0) and scored on :data:`N_VALIDATION_USERS`
VALIDATION users with exits in expectation, the same users and score as the DQN's sensitivity grid
(``data/sweeps/sensitivity_leave``, 9 cells). The best configuration is then trained with :data:`SEEDS`.

What still differs, by construction: the DQN's output is added to the posterior-mean immediate reward
(``skip: reward``), so it starts as BayesGreedy; PPO's actor starts from a random initialisation (a softmax over
untrained scores). The DQN's preset was chosen among more configurations over the project's life than this search.

``python -m recbook.experiments.ppo_tuning --only sweep`` writes ``data/sweeps/ppo_leave/results.csv``;
``--only train`` trains the chosen configuration and writes ``data/models/ppo_leave_seed{0,1,2}.zip``. Then
``python -m recbook.experiments.long_term --only table`` rebuilds chapter 9's TEST table. About 3 CPU-minutes per
run: 30 minutes for the search, 9 for the seeds.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from recbook import seeds
from recbook.agents.config import PPOConfig, RunConfig
from recbook.agents.ppo import train_ppo
from recbook.evaluation import score
from recbook.paths import DATA_DIR

__all__ = [
    "BUDGET",
    "N_CANDIDATES",
    "N_VALIDATION_USERS",
    "SEEDS",
    "SPACE",
    "candidates",
    "chosen_config",
    "main",
    "sweep",
    "train_seeds",
]

#: Environment steps per run, the DQN preset's budget (``training.total_timesteps`` of ``leave``).
BUDGET: int = RunConfig.from_yaml("leave").training.total_timesteps
#: The values the random search draws from. 16 users share a rollout, so ``n_steps`` 64 is 1,024 transitions.
SPACE: dict[str, tuple[Any, ...]] = {
    "learning_rate": (1e-4, 3e-4, 1e-3),
    "n_steps": (64, 128, 256),
    "batch_size": (256, 512, 1024),
    "ent_coef": (0.0, 0.003, 0.01),
    "clip_range": (0.1, 0.2, 0.3),
}
#: Configurations drawn from :data:`SPACE`, besides the default :class:`~recbook.agents.config.PPOConfig`.
N_CANDIDATES = 8
#: VALIDATION users scoring each configuration (seed 0, as the DQN's sensitivity grid).
N_VALIDATION_USERS = 2_000
#: Training seeds of the chosen configuration.
SEEDS: tuple[int, ...] = (0, 1, 2)
#: Where the search's table lives.
SWEEP_DIR = DATA_DIR / "sweeps" / "ppo_leave"


def candidates(n: int = N_CANDIDATES, seed: int = 0) -> list[PPOConfig]:
    """The default :class:`~recbook.agents.config.PPOConfig` and ``n`` distinct draws from :data:`SPACE`."""
    rng = seeds.generator(seed, None, "training", "ppo-search")
    default = PPOConfig()
    seen = {tuple(getattr(default, key) for key in SPACE)}
    found = [default]
    while len(found) < n + 1:
        values = tuple(options[int(rng.integers(len(options)))] for options in SPACE.values())
        if values not in seen:
            seen.add(values)
            found.append(PPOConfig(**dict(zip(SPACE, values))))
    return found


def _train(ppo: PPOConfig, seed: int, eval_freq: int) -> Any:
    config = RunConfig.from_yaml("leave").env
    return train_ppo(config, ppo, total_timesteps=BUDGET, seed=seed, eval_freq=eval_freq)


def sweep(configs: list[PPOConfig] | None = None, seed: int = 0, output: Path | None = None) -> pd.DataFrame:
    """Train each configuration once and score it on VALIDATION users: one row per configuration.

    Columns: ``candidate``, the searched hyperparameters, ``expected_return`` and ``pct_oracle`` on the VALIDATION
    users (:func:`recbook.evaluation.score`, exits in expectation), ``cpu_s`` (training CPU time). With ``output``
    (a csv path) each row is written as soon as it is measured, and candidates already there are not trained again.
    """
    config = RunConfig.from_yaml("leave").env
    rows: list[dict[str, Any]] = []
    if output is not None and output.exists():
        rows = pd.read_csv(output).to_dict("records")
    done = {int(row["candidate"]) for row in rows}
    for number, ppo in enumerate(configs if configs is not None else candidates()):
        if number in done:
            continue
        began = time.process_time()
        agent = _train(ppo, seed, eval_freq=10 * BUDGET)  # no learning curve: only the end is scored
        cpu = time.process_time() - began
        result = score(agent, config, n_users=N_VALIDATION_USERS, seed=0, stream=seeds.VALIDATION)
        row = {key: getattr(ppo, key) for key in SPACE}
        row.update({k: result[k] for k in ("expected_return", "pct_oracle")})
        rows.append({"candidate": number, **row, "cpu_s": round(cpu, 1)})
        print(rows[-1], flush=True)
        if output is not None:
            pd.DataFrame(rows).to_csv(output, index=False)
    return pd.DataFrame(rows).sort_values("candidate", ignore_index=True)


def chosen_config(results: pd.DataFrame | None = None) -> PPOConfig:
    """The configuration with the best VALIDATION score (``results`` defaults to the committed search)."""
    if results is None:
        results = pd.read_csv(SWEEP_DIR / "results.csv")
    best = results.loc[results["pct_oracle"].idxmax()]
    default = PPOConfig()
    return PPOConfig(**{key: type(getattr(default, key))(best[key]) for key in SPACE})


def train_seeds(ppo: PPOConfig, models: Path, seeds_: tuple[int, ...] = SEEDS) -> None:
    """Train ``ppo`` once per seed (learning curve every 25,000 steps, as the DQN) and save the models."""
    eval_freq = RunConfig.from_yaml("leave").training.eval_freq
    for seed in seeds_:
        began = time.process_time()
        agent = _train(ppo, seed, eval_freq=eval_freq)
        agent.save(models / f"ppo_leave_seed{seed}.zip")
        print(f"ppo seed {seed}: {time.process_time() - began:.0f} CPU-s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recbook.experiments.ppo_tuning", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--only", action="append", choices=("sweep", "train"))
    parser.add_argument("--models", type=Path, default=DATA_DIR / "models")
    parser.add_argument("--output", type=Path, default=SWEEP_DIR)
    args = parser.parse_args(argv)
    todo = set(args.only or ("sweep", "train"))
    if "sweep" in todo:
        args.output.mkdir(parents=True, exist_ok=True)
        sweep(output=args.output / "results.csv").to_csv(args.output / "results.csv", index=False)
    if "train" in todo:
        ppo = chosen_config(pd.read_csv(args.output / "results.csv"))
        print("chosen:", asdict(ppo), flush=True)
        args.models.mkdir(parents=True, exist_ok=True)
        train_seeds(ppo, args.models)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
