"""Deep RL agents on the simulator: configuration, the SB3 DQN and PPO, training, and the trained agents.

``from recbook.agents import train_dqn, load_agent, DQNConfig`` is all a chapter needs. The modules, by role:
:mod:`~recbook.agents.config` (hyperparameters, presets), :mod:`~recbook.agents.networks` (the item-shared
networks), :mod:`~recbook.agents.recbook_dqn` (the DQN algorithm), :mod:`~recbook.agents.agent` (a trained agent:
predict, evaluate, save, load), :mod:`~recbook.agents.train` (training runs), :mod:`~recbook.agents.ppo` (PPO),
:mod:`~recbook.agents.reinforce` (REINFORCE from scratch).

The names below are served on first use, so that ``recbook.agents.config`` (and the command line reading a preset)
does not load torch and Stable-Baselines3.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Each public name and the module it lives in.
_LAZY = {
    "DQNAgent": "recbook.agents.agent",
    "PPOAgent": "recbook.agents.agent",
    "load_agent": "recbook.agents.agent",
    "load_model": "recbook.agents.agent",
    "DQNConfig": "recbook.agents.config",
    "PPOConfig": "recbook.agents.config",
    "RunConfig": "recbook.agents.config",
    "TrainingConfig": "recbook.agents.config",
    "ItemSharedDQNPolicy": "recbook.agents.networks",
    "ItemSharedQNetwork": "recbook.agents.networks",
    "LearningCurveCallback": "recbook.agents.callbacks",
    "RecbookDQN": "recbook.agents.recbook_dqn",
    "ReinforceAgent": "recbook.agents.reinforce",
    "ReinforceConfig": "recbook.agents.reinforce",
    "load_reinforce": "recbook.agents.reinforce",
    "train_reinforce": "recbook.agents.reinforce",
    "SB3VecEnv": "recbook.agents.sb3",
    "train_dqn": "recbook.agents.train",
    "train_from_config": "recbook.agents.train",
    "train_run": "recbook.agents.train",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'recbook.agents' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "DQNAgent",
    "DQNConfig",
    "ItemSharedDQNPolicy",
    "ItemSharedQNetwork",
    "LearningCurveCallback",
    "PPOAgent",
    "RecbookDQN",
    "ReinforceAgent",
    "ReinforceConfig",
    "RunConfig",
    "SB3VecEnv",
    "TrainingConfig",
    "load_agent",
    "load_model",
    "load_reinforce",
    "train_dqn",
    "train_reinforce",
    "train_run",
    "train_from_config",
]
