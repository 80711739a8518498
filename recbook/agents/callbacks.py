"""Training callbacks: a tidy learning curve on fixed held-out users, and resumable checkpoints."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from recbook import seeds
from recbook.config import EnvConfig
from recbook.evaluation import score

__all__ = ["LEARNING_CURVE_COLUMNS", "GreedyPredictor", "LearningCurveCallback", "CheckpointCallback"]

#: Columns of the learning curve, in order.
LEARNING_CURVE_COLUMNS = [
    "env_steps",
    "mean_return",
    "mean_engagement",
    "pct_oracle",
    "exploration_rate",
    "learning_rate",
    "wall_time_s",
    "train_time_s",
    "steps_per_s",
]


class GreedyPredictor:
    """Deterministic ``predict`` view of an SB3 model, declaring the observation mode it was trained on.

    SB3's ``DQN.predict`` defaults to ``deterministic=False`` (epsilon-greedy); evaluation always wants the greedy
    action, so this wrapper ignores the flag.
    """

    def __init__(self, model: BaseAlgorithm, observation: str) -> None:
        self.model = model
        self.observation = observation

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[NDArray[np.int64], Any]:
        action, _ = self.model.predict(observation, deterministic=True)
        return np.asarray(action), None


class LearningCurveCallback(BaseCallback):
    """Evaluate the greedy policy every ``eval_freq`` environment steps on fixed VALIDATION users; keep a table.

    Each point is :func:`recbook.evaluation.score` of the greedy policy on ``n_users`` users of ``(seed,
    VALIDATION)`` — the same users, clicks and score as ``evaluate(..., stream=VALIDATION)``. Each row:
    ``env_steps``; ``mean_return`` (mean summed reward, clicks under click feedback); ``mean_engagement`` (mean
    summed engagement probability, i.e. expected return — noise-free); ``pct_oracle``; the current
    ``exploration_rate`` and ``learning_rate``; ``wall_time_s`` since training started; ``train_time_s``, the same
    minus time spent in these evaluations; and ``steps_per_s`` = env steps / ``train_time_s`` since the previous row
    (training throughput, evaluation excluded). Rows are also written to the SB3 logger (TensorBoard) under
    ``eval/`` and ``time/``.

    Args:
        config: the environment configuration the model is trained on.
        n_users: VALIDATION users per point.
        eval_freq: evaluate every this many environment steps (summed over parallel users).
        seed: which VALIDATION users (and clicks).
        observation: observation mode the model reads (defaults to ``config.observation``).
        previous: rows from an earlier run being resumed (kept at the top of the table).
    """

    def __init__(
        self,
        config: EnvConfig,
        n_users: int,
        eval_freq: int,
        seed: int = 0,
        observation: str | None = None,
        previous: pd.DataFrame | None = None,
    ) -> None:
        super().__init__(verbose=0)
        if eval_freq < 1:
            raise ValueError(f"eval_freq must be >= 1, got {eval_freq}")
        self.config = config
        self.n_users = int(n_users)
        self.eval_freq = int(eval_freq)
        self.seed = seed
        self.observation = observation or config.observation
        self.rows: list[dict[str, float]] = [] if previous is None else previous.to_dict("records")
        self._offset_wall = float(self.rows[-1]["wall_time_s"]) if self.rows else 0.0
        self._offset_train = float(self.rows[-1]["train_time_s"]) if self.rows else 0.0
        self._next_eval = 0
        self._eval_time = 0.0
        self._start = 0.0
        self._last_steps = 0
        self._last_train_time = 0.0

    @property
    def learning_curve(self) -> pd.DataFrame:
        """The rows so far as a DataFrame with :data:`LEARNING_CURVE_COLUMNS`."""
        return pd.DataFrame(self.rows, columns=LEARNING_CURVE_COLUMNS)

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()
        self._eval_time = 0.0
        steps = self.num_timesteps
        self._last_steps = steps
        self._last_train_time = 0.0
        self._next_eval = (steps // self.eval_freq) * self.eval_freq
        if not self.rows or self.rows[-1]["env_steps"] < steps:
            self._evaluate()
        self._next_eval += self.eval_freq

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next_eval:
            self._evaluate()
            while self._next_eval <= self.num_timesteps:
                self._next_eval += self.eval_freq
        return True

    def _on_training_end(self) -> None:
        if not self.rows or self.rows[-1]["env_steps"] < self.num_timesteps:
            self._evaluate()

    def _evaluate(self) -> None:
        began = time.perf_counter()
        wall = began - self._start
        train_time = wall - self._eval_time
        greedy = GreedyPredictor(self.model, self.observation)
        result = score(greedy, self.config, self.n_users, self.seed, seeds.VALIDATION)
        self._eval_time += time.perf_counter() - began
        steps = int(self.num_timesteps)
        elapsed = train_time - self._last_train_time
        rate = (steps - self._last_steps) / elapsed if elapsed > 0 and steps > self._last_steps else float("nan")
        self._last_steps, self._last_train_time = steps, train_time
        optimizer = getattr(self.model.policy, "optimizer", None)
        row = {
            "env_steps": steps,
            "mean_return": result["mean_return"],
            "mean_engagement": result["expected_return"],
            "pct_oracle": result["pct_oracle"],
            "exploration_rate": float(getattr(self.model, "exploration_rate", float("nan"))),
            "learning_rate": float(optimizer.param_groups[0]["lr"]) if optimizer is not None else float("nan"),
            "wall_time_s": self._offset_wall + wall,
            "train_time_s": self._offset_train + train_time,
            "steps_per_s": rate,
        }
        self.rows.append(row)
        self.logger.record("eval/mean_return", row["mean_return"])
        self.logger.record("eval/pct_oracle", row["pct_oracle"])
        if np.isfinite(rate):
            self.logger.record("time/env_steps_per_s", rate)


class CheckpointCallback(BaseCallback):
    """Save a resumable checkpoint every ``save_freq`` environment steps.

    Each checkpoint is ``{directory}/step_{n}.zip`` written by ``save`` (the model with its recbook metadata and
    learning curve so far) plus ``step_{n}_replay_buffer.pkl`` (SB3's replay buffer, which a resumed run needs to
    continue exactly as DQN would have; it is large and never belongs in ``data/``).

    Args:
        save: ``save(path)`` writes the model with its metadata (the agent's own ``save``).
        directory: where checkpoints go (created).
        save_freq: environment steps between checkpoints.
    """

    def __init__(self, save: Callable[[Path], Path], directory: str | Path, save_freq: int) -> None:
        super().__init__(verbose=0)
        if save_freq < 1:
            raise ValueError(f"save_freq must be >= 1, got {save_freq}")
        self.save = save
        self.directory = Path(directory)
        self.save_freq = int(save_freq)
        self._next = 0

    def _on_training_start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._next = (self.num_timesteps // self.save_freq + 1) * self.save_freq

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._checkpoint()
            while self._next <= self.num_timesteps:
                self._next += self.save_freq
        return True

    def _checkpoint(self) -> None:
        path = self.directory / f"step_{self.num_timesteps}.zip"
        self.save(path)
        self.model.save_replay_buffer(self.directory / f"step_{self.num_timesteps}_replay_buffer.pkl")


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint zip with the most environment steps in ``directory`` (``None`` if there is none)."""
    found = sorted(Path(directory).glob("step_*.zip"), key=lambda p: int(p.stem.split("_")[1]))
    return found[-1] if found else None
