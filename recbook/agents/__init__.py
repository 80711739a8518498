"""Deep Q-learning agents: the SB3 DQN wrapper, the item-shared Q-network and training callbacks.

``from recbook.agents import train, load_model, DQNConfig`` is all a chapter needs; see :mod:`recbook.agents.dqn`.
"""

from __future__ import annotations

from recbook.agents.callbacks import LearningCurveCallback
from recbook.agents.dqn import (
    CURVE_SEED,
    HELD_OUT_SEED,
    DQNAgent,
    DQNConfig,
    RecbookDQN,
    RunConfig,
    TrainingConfig,
    load_model,
    train,
    train_from_config,
)
from recbook.agents.networks import ItemSharedDQNPolicy, ItemSharedQNetwork

__all__ = [
    "CURVE_SEED",
    "HELD_OUT_SEED",
    "DQNAgent",
    "DQNConfig",
    "ItemSharedDQNPolicy",
    "ItemSharedQNetwork",
    "LearningCurveCallback",
    "RecbookDQN",
    "RunConfig",
    "TrainingConfig",
    "load_model",
    "train",
    "train_from_config",
]
