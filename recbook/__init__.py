"""recbook: reinforcement-learning recommendation, from Dirichlet users to a DQN that beats the bandits.

The quickstart surface::

    import recbook
    config = recbook.EnvConfig(observation="feedback")
    agent = recbook.train_dqn(config, preset="item_shared_scratch", total_timesteps=150_000, seed=0)
    table = recbook.compare([agent, "bayes-greedy", "random"], config, n_users=20_000)
    agent.save("model.zip"); agent = recbook.load_agent("model.zip")

Importing the package registers ``recbook/Recommendation-v0`` with Gymnasium (scalar and batched entry points)
and stays light: it loads neither torch nor Stable-Baselines3 (nor pandas and scipy). ``train_dqn``,
``load_agent`` and ``SB3VecEnv`` import them on first use, ``compare``, ``evaluate``, ``score`` and
``summarize`` import the evaluation module.
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

from recbook import seeds
from recbook.config import OBSERVATIONS, PARAMETERS, EnvConfig
from recbook.env import RecommendationEnv
from recbook.policies import make_policy
from recbook.response import DECAYS, FEEDBACKS, DecayModel
from recbook.vector import RecommendationVectorEnv

__version__ = "0.2.0"

ENV_ID = "recbook/Recommendation-v0"

if ENV_ID not in registry:
    register(
        id=ENV_ID,
        entry_point="recbook.env:RecommendationEnv",
        vector_entry_point="recbook.vector:RecommendationVectorEnv",
    )

#: Names served lazily (torch, Stable-Baselines3, pandas, scipy), and the module each lives in.
_LAZY = {
    "compare": "recbook.evaluation",
    "evaluate": "recbook.evaluation",
    "score": "recbook.evaluation",
    "summarize": "recbook.evaluation",
    "train_dqn": "recbook.agents.train",
    "load_agent": "recbook.agents.agent",
    "DQNConfig": "recbook.agents.config",
    "TrainingConfig": "recbook.agents.config",
    "SB3VecEnv": "recbook.agents.sb3",
    "sweep": "recbook.sweeps",
}


#: Subpackages that load torch, served on first use as ``recbook.offline``.
_LAZY_MODULES = ("offline",)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"recbook.{name}")
    raise AttributeError(f"module 'recbook' has no attribute {name!r}")


__all__ = [
    "DECAYS",
    "ENV_ID",
    "FEEDBACKS",
    "OBSERVATIONS",
    "PARAMETERS",
    "DQNConfig",
    "DecayModel",
    "EnvConfig",
    "RecommendationEnv",
    "RecommendationVectorEnv",
    "SB3VecEnv",
    "TrainingConfig",
    "compare",
    "evaluate",
    "load_agent",
    "make_policy",
    "score",
    "seeds",
    "summarize",
    "sweep",
    "train_dqn",
]
