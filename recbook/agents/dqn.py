"""Stable-Baselines3 DQN on the recommendation simulator — the old single module, now split by role.

This module re-exports, for code written against it, every public name it used to define; ``from
recbook.agents.dqn import X`` keeps working. The homes:

* :mod:`recbook.agents.config` — :class:`DQNConfig`, :class:`TrainingConfig`, :class:`RunConfig`, the presets
  (:data:`CONFIG_DIR`) and the one preset resolver :func:`resolve_config`;
* :mod:`recbook.agents.recbook_dqn` — :class:`RecbookDQN`, the algorithm (SB3's DQN with Double DQN targets and
  per-user exploration);
* :mod:`recbook.agents.agent` — :class:`DQNAgent` (a trained model: predict, evaluate, save, load), the loaders
  :func:`load_agent` / :func:`load_model` (DQN or PPO, as the file's metadata says) and :func:`read_metadata`;
* :mod:`recbook.agents.train` — :func:`train_dqn`, :func:`train_run`, :func:`train_from_config`, resuming.
"""

from __future__ import annotations

from recbook.agents.agent import DQNAgent, config_mismatch, load_agent, load_model, read_metadata
from recbook.agents.config import CONFIG_DIR, DQNConfig, RunConfig, TrainingConfig, resolve_config
from recbook.agents.recbook_dqn import RecbookDQN
from recbook.agents.train import resume_run, train_dqn, train_from_config, train_run

__all__ = [
    "CONFIG_DIR",
    "DQNAgent",
    "DQNConfig",
    "RecbookDQN",
    "RunConfig",
    "TrainingConfig",
    "config_mismatch",
    "load_agent",
    "load_model",
    "read_metadata",
    "resolve_config",
    "resume_run",
    "train_dqn",
    "train_run",
    "train_from_config",
]
