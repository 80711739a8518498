"""Stable-Baselines3's view of the simulator: a ``VecEnv`` over :class:`recbook.vector.RecommendationVectorEnv`.

SB3 resets a finished environment in the same step and hands back the last observation in
``info["terminal_observation"]``; Gymnasium's vector API resets on the next step. :class:`SB3VecEnv` follows SB3's
convention using the batched env's public pieces, so SB3 algorithms train on many users per call. Training users
come from the TRAIN stream of :mod:`recbook.seeds`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from recbook import seeds
from recbook._checks import check_choice
from recbook.agents.config import REWARDS
from recbook.config import EnvConfig
from recbook.vector import RecommendationVectorEnv, validate_actions

__all__ = ["REWARDS", "SB3VecEnv"]


class SB3VecEnv(VecEnv):
    """A Stable-Baselines3 ``VecEnv`` over :class:`recbook.vector.RecommendationVectorEnv` (same-step reset).

    When a session ends, the returned observation is already the next user's first one; the last observation
    of the ended session is in ``infos[i]["terminal_observation"]`` as SB3 expects.

    Args:
        config: the environment configuration.
        num_envs: number of users stepped together.
        seed: seed of the training users (also settable later with ``seed()``, as SB3 does): the generator all
            users, clicks and exits share is seeded with ``seeds.derive_seed(seed, TRAIN, "users")``.
        reward: what ``step`` returns as the reward: ``"observed"`` (default), the environment's reward (a 0/1
            click under ``feedback="click"``), or ``"engagement"``, the engagement probability of the
            recommendation. Observations are the same either way; why training on the second is sound is in
            :attr:`recbook.agents.config.DQNConfig.train_reward`.
    """

    def __init__(self, config: EnvConfig, num_envs: int, seed: int | None = None, reward: str = "observed") -> None:
        check_choice(reward, "reward", REWARDS)
        self.venv = RecommendationVectorEnv.from_config(config, num_envs)
        self.config = config
        self.reward = reward
        super().__init__(num_envs, self.venv.single_observation_space, self.venv.single_action_space)
        self._actions: NDArray[np.int64] | None = None
        self._pending_seed = seed

    def reset(self) -> NDArray[np.float32]:
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else self._pending_seed
        self._pending_seed = None
        env_seed = None if seed is None else seeds.derive_seed(seed, seeds.TRAIN, "users")
        obs, _ = self.venv.reset(seed=env_seed)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_async() must be called before step_wait()")
        if not self.venv.ready:
            raise gym.error.ResetNeeded("call reset() before step()")
        venv = self.venv
        actions = validate_actions(self._actions, self.num_envs, venv.config.n_items)
        self._actions = None
        rewards, probability, _ = venv.advance(actions, np.ones(self.num_envs, dtype=bool))
        done = venv.done()
        obs = venv.observe()
        infos: list[dict[str, Any]] = [{"engagement_probability": float(p)} for p in probability]
        if done.any():
            for i in np.flatnonzero(done):
                infos[i]["terminal_observation"] = obs[i].copy()
                infos[i]["TimeLimit.truncated"] = False
            venv.start_sessions(done)
            obs = venv.observe()
        if self.reward == "engagement":
            rewards = probability
        return obs, rewards.astype(np.float32), done.copy(), infos

    def close(self) -> None:
        self.venv.close()

    def seed(self, seed: int | None = None) -> Sequence[None | int]:  # type: ignore[override]
        self._pending_seed = seed
        return [seed] * self.num_envs

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def _get_indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices
