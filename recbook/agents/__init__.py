"""Deep Q-learning agents: the SB3 DQN wrapper, the item-shared Q-network and training callbacks.

``from recbook.agents import train_dqn, load_agent, DQNConfig`` is all a chapter needs; see :mod:`recbook.agents.dqn`.
"""

from __future__ import annotations

from recbook.agents.callbacks import LearningCurveCallback
from recbook.agents.dqn import (
    DQNAgent,
    DQNConfig,
    RecbookDQN,
    RunConfig,
    TrainingConfig,
    load_agent,
    load_model,
    train_dqn,
    train_run,
    train_from_config,
)
from recbook.agents.sb3 import SB3VecEnv
from recbook.agents.networks import ItemSharedDQNPolicy, ItemSharedQNetwork

__all__ = [
    "DQNAgent",
    "DQNConfig",
    "ItemSharedDQNPolicy",
    "ItemSharedQNetwork",
    "LearningCurveCallback",
    "RecbookDQN",
    "RunConfig",
    "SB3VecEnv",
    "TrainingConfig",
    "load_agent",
    "load_model",
    "train_dqn",
    "train_run",
    "train_from_config",
]
