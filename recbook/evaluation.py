"""Paired evaluation: run policies on the same users (common random numbers) with the batched simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from recbook.config import EnvConfig
from recbook.users import sample_preferences
from recbook.vector import RecommendationVectorEnv

__all__ = ["PredictsActions", "Rollout", "sample_users", "rollout"]


class PredictsActions(Protocol):
    """Anything with Stable-Baselines3's ``predict`` signature can be evaluated (policies, SB3 models)."""

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[Any, Any]: ...


@dataclass(frozen=True)
class Rollout:
    """What happened in ``K`` sessions, one per user.

    Attributes:
        preferences: the users, shape ``(K, n_items)``.
        actions: recommended items, int, shape ``(K, T)``.
        rewards: rewards received (clicks under click feedback), shape ``(K, T)``.
        engagement: engagement probabilities of the recommendations, shape ``(K, T)``.
    """

    preferences: NDArray[np.float64]
    actions: NDArray[np.int64]
    rewards: NDArray[np.float64]
    engagement: NDArray[np.float64]


def sample_users(config: EnvConfig, n_users: int, seed: int) -> NDArray[np.float64]:
    """Draw ``n_users`` preference vectors from the configuration's Dirichlet prior with a dedicated seed.

    The same ``(config.alpha, n_users, seed)`` always gives the same users, whatever policy is evaluated.
    """
    if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)) or n_users < 1:
        raise ValueError(f"n_users must be a positive integer, got {n_users!r}")
    return sample_preferences(np.random.default_rng(seed), config.alpha_vector, size=int(n_users))


def rollout(
    policy: PredictsActions,
    config: EnvConfig,
    preferences: NDArray[np.float64],
    seed: int = 0,
    deterministic: bool = True,
) -> Rollout:
    """Run one session per row of ``preferences`` with ``policy``, all users stepped together.

    The environment uses the observation mode the policy declares in its ``observation`` attribute (e.g. the
    oracle needs ``"oracle"``), falling back to ``config.observation``. ``seed`` seeds the click draws, so two
    policies evaluated with the same ``preferences`` and ``seed`` face the same users and the same random stream.
    """
    observation = getattr(policy, "observation", None) or config.observation
    env_config = config.replace(observation=observation) if observation != config.observation else config
    preferences = np.asarray(preferences, dtype=np.float64)
    n_users, total = preferences.shape[0], env_config.session_length
    env = RecommendationVectorEnv.from_config(env_config, n_users)
    obs, _ = env.reset(seed=seed, options={"preferences": preferences})
    actions = np.zeros((n_users, total), dtype=np.int64)
    rewards = np.zeros((n_users, total))
    engagement = np.zeros((n_users, total))
    state = None
    episode_start = np.ones(n_users, dtype=bool)
    for t in range(total):
        action, state = policy.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        action = np.asarray(action).reshape(n_users)
        obs, reward, _, _, info = env.step(action)
        actions[:, t] = action
        rewards[:, t] = reward
        engagement[:, t] = info["engagement_probability"]
        episode_start = np.zeros(n_users, dtype=bool)
    return Rollout(preferences=env.preferences.copy(), actions=actions, rewards=rewards, engagement=engagement)
