"""The numpy-batched twin of :class:`~recbook.env.RecommendationEnv` and its Stable-Baselines3 adapter.

:class:`RecommendationVectorEnv` steps ``K`` users with array operations (no Python loop over users). It is what
``gym.make_vec("recbook/Recommendation-v0", num_envs=K, vectorization_mode="vector_entry_point", ...)`` returns.
It follows Gymnasium 1.x's next-step autoreset: the step after a user's session terminates starts a new session
for that user, ignores its action and returns reward 0.

:class:`SB3VecEnv` presents the same simulator as a Stable-Baselines3 ``VecEnv`` (same-step reset, the last
observation in ``info["terminal_observation"]``), so SB3 algorithms can train on thousands of users per call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.response import engagement_probability, sample_clicks
from recbook.users import AlphaLike, sample_preferences, validate_preferences

__all__ = ["REWARDS", "RecommendationVectorEnv", "SB3VecEnv", "validate_actions"]

#: What :class:`SB3VecEnv` can return as the reward: the environment's own, or the engagement probability.
REWARDS: tuple[str, ...] = ("observed", "engagement")


def validate_actions(actions: object, num_envs: int, n_items: int) -> NDArray[np.int64]:
    """Return ``actions`` as an int array of shape ``(num_envs,)`` or raise ``ValueError`` naming ``actions``."""
    array = np.asarray(actions)
    if array.shape != (num_envs,):
        raise ValueError(f"actions must have shape ({num_envs},), got {array.shape}")
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"actions must be integer item indices, got dtype {array.dtype}")
    if np.any(array < 0) or np.any(array >= n_items):
        raise ValueError(f"actions must be in [0, {n_items}), got {array.tolist()}")
    return array.astype(np.int64)


class RecommendationVectorEnv(VectorEnv):
    """``num_envs`` independent recommendation sessions stepped together with numpy.

    Same arguments and semantics per user as :class:`~recbook.env.RecommendationEnv`, plus ``num_envs``.
    ``preferences`` and ``counts`` are ``(num_envs, n_items)`` arrays. All users draw from one generator,
    ``self.np_random`` (seeded by ``reset(seed=...)``). ``reset(options={"preferences": P})`` with ``P`` of shape
    ``(num_envs, n_items)`` fixes the users (common random numbers for paired evaluation); ``options`` may also
    hold Gymnasium's ``"reset_mask"`` (a bool array) to reset some users only.

    ``info`` holds ``"engagement_probability"`` (shape ``(num_envs,)``, 0 for users being autoreset) and its mask
    ``"_engagement_probability"``.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int = 1,
        n_items: int = 10,
        session_length: int = 20,
        alpha: AlphaLike = 1.0,
        decay: str = "harmonic",
        decay_rate: float = 0.8,
        feedback: str = "expected",
        observation: str = "counts",
        render_mode: str | None = None,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if render_mode is not None:
            raise ValueError(f"render_mode must be None for the batched environment, got {render_mode!r}")
        self.config = EnvConfig(
            n_items=n_items,
            session_length=session_length,
            alpha=alpha,  # type: ignore[arg-type]
            decay=decay,
            decay_rate=decay_rate,
            feedback=feedback,
            observation=observation,
        )
        self.num_envs = int(num_envs)
        self.render_mode = None
        self.layout = ObservationLayout(self.config)
        self.single_action_space = spaces.Discrete(self.config.n_items)
        self.single_observation_space = self.layout.space()
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        k, n = self.num_envs, self.config.n_items
        self.preferences: NDArray[np.float64] = np.full((k, n), 1.0 / n)
        self.counts: NDArray[np.int64] = np.zeros((k, n), dtype=np.int64)
        self.reward_sums: NDArray[np.float64] = np.zeros((k, n))
        self.step_count: NDArray[np.int64] = np.zeros(k, dtype=np.int64)
        self._rows = np.arange(k)
        self._autoreset = np.zeros(k, dtype=bool)
        self._ready = False

    @classmethod
    def from_config(cls, config: EnvConfig, num_envs: int) -> RecommendationVectorEnv:
        """Build ``num_envs`` sessions of the environment described by ``config``."""
        return cls(num_envs=num_envs, **config.make_kwargs())

    # -- state transitions shared with the SB3 adapter ------------------------------------------------------
    def _start_sessions(self, mask: NDArray[np.bool_], preferences: NDArray[np.float64] | None = None) -> None:
        count = int(mask.sum())
        if count == 0:
            return
        if preferences is None:
            preferences = sample_preferences(self.np_random, self.config.alpha_vector, size=count)
        self.preferences[mask] = preferences
        self.counts[mask] = 0
        self.reward_sums[mask] = 0.0
        self.step_count[mask] = 0

    def _advance(self, actions: NDArray[np.int64], active: NDArray[np.bool_]) -> tuple[NDArray, NDArray]:
        """Recommend ``actions`` to the ``active`` users; return (rewards, engagement probabilities)."""
        rows = self._rows[active]
        items = actions[active]
        self.counts[rows, items] += 1
        probability = np.zeros(self.num_envs)
        probability[active] = engagement_probability(
            self.preferences[rows, items], self.counts[rows, items], self.config.decay_model
        )
        if self.config.feedback == "expected":
            rewards = probability.copy()
        else:
            rewards = np.zeros(self.num_envs)
            rewards[active] = sample_clicks(self.np_random, probability[active])
        self.reward_sums[rows, items] += rewards[active]
        self.step_count[active] += 1
        return rewards, probability

    def _observe(self) -> NDArray[np.float32]:
        return self.layout.build(self.counts, self.reward_sums, self.step_count, self.preferences)

    # -- Gymnasium VectorEnv API ----------------------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start new sessions. ``seed`` seeds the single generator all users share (an int, or a list whose
        first entry is used — one generator keeps the batch reproducible as a whole)."""
        if isinstance(seed, list):
            seed = seed[0] if seed else None
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(seed)
        options = dict(options or {})
        mask = np.asarray(options.pop("reset_mask", np.ones(self.num_envs, dtype=bool)))
        preferences = options.pop("preferences", None)
        if options:
            raise ValueError(f"unknown reset option(s): {sorted(options)}; accepted: 'preferences', 'reset_mask'")
        if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
            raise ValueError(f"reset_mask must be a bool array of shape ({self.num_envs},)")
        if preferences is not None:
            preferences = validate_preferences(preferences, self.config.n_items, batch=self.num_envs)[mask]
        self._start_sessions(mask, preferences)
        self._autoreset[mask] = False
        self._ready = True
        return self._observe(), {}

    def step(
        self, actions: object
    ) -> tuple[NDArray[np.float32], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        if not self._ready:
            raise gym.error.ResetNeeded("call reset() before step()")
        actions = validate_actions(actions, self.num_envs, self.config.n_items)
        restarting = self._autoreset.copy()
        self._start_sessions(restarting)
        rewards, probability = self._advance(actions, ~restarting)
        terminated = (self.step_count >= self.config.session_length) & ~restarting
        self._autoreset = terminated.copy()
        info = {"engagement_probability": probability, "_engagement_probability": ~restarting}
        truncated = np.zeros(self.num_envs, dtype=bool)
        return self._observe(), rewards, terminated, truncated, info


class SB3VecEnv(VecEnv):
    """A Stable-Baselines3 ``VecEnv`` over :class:`RecommendationVectorEnv` (same-step reset).

    When a session ends, the returned observation is already the next user's first one; the last observation
    of the ended session is in ``infos[i]["terminal_observation"]`` as SB3 expects.

    Args:
        config: the environment configuration.
        num_envs: number of users stepped together.
        seed: seed of the generator all users share (also settable later with ``seed()``).
        reward: what ``step`` returns as the reward: ``"observed"`` (default), the environment's reward (a 0/1
            click under ``feedback="click"``), or ``"engagement"``, the engagement probability of the
            recommendation. Observations are the same either way; why training on the second is sound is in
            :attr:`recbook.agents.dqn.DQNConfig.train_reward`.
    """

    def __init__(self, config: EnvConfig, num_envs: int, seed: int | None = None, reward: str = "observed") -> None:
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        self.venv = RecommendationVectorEnv.from_config(config, num_envs)
        self.config = config
        self.reward = reward
        super().__init__(num_envs, self.venv.single_observation_space, self.venv.single_action_space)
        self._actions: NDArray[np.int64] | None = None
        self._pending_seed = seed

    def reset(self) -> NDArray[np.float32]:
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else self._pending_seed
        self._pending_seed = None
        obs, _ = self.venv.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_async() must be called before step_wait()")
        if not self.venv._ready:
            raise gym.error.ResetNeeded("call reset() before step()")
        venv = self.venv
        actions = validate_actions(self._actions, self.num_envs, venv.config.n_items)
        self._actions = None
        rewards, probability = venv._advance(actions, np.ones(self.num_envs, dtype=bool))
        done = venv.step_count >= venv.config.session_length
        obs = venv._observe()
        infos: list[dict[str, Any]] = [{"engagement_probability": float(p)} for p in probability]
        if done.any():
            for i in np.flatnonzero(done):
                infos[i]["terminal_observation"] = obs[i].copy()
                infos[i]["TimeLimit.truncated"] = False
            venv._start_sessions(done)
            obs = venv._observe()
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

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any) -> list[Any]:
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
