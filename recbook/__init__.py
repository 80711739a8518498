"""recbook: reinforcement-learning recommendation, from Dirichlet users to a DQN that beats the bandits.

Importing the package registers ``recbook/Recommendation-v0`` with Gymnasium (scalar and batched entry points).
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from recbook.config import OBSERVATIONS, EnvConfig
from recbook.env import RecommendationEnv
from recbook.response import DECAYS, FEEDBACKS, DecayModel
from recbook.vector import RecommendationVectorEnv, SB3VecEnv

__version__ = "0.1.0"

ENV_ID = "recbook/Recommendation-v0"

if ENV_ID not in registry:
    register(
        id=ENV_ID,
        entry_point="recbook.env:RecommendationEnv",
        vector_entry_point="recbook.vector:RecommendationVectorEnv",
    )

__all__ = [
    "DECAYS",
    "ENV_ID",
    "FEEDBACKS",
    "OBSERVATIONS",
    "DecayModel",
    "EnvConfig",
    "RecommendationEnv",
    "RecommendationVectorEnv",
    "SB3VecEnv",
]
