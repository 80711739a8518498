"""The numpy-batched twin of :class:`~recbook.env.RecommendationEnv`.

:class:`RecommendationVectorEnv` steps ``K`` users with array operations (no Python loop over users). It is what
``gym.make_vec("recbook/Recommendation-v0", num_envs=K, vectorization_mode="vector_entry_point", ...)`` returns.
It follows Gymnasium 1.x's next-step autoreset: the step after a user's session terminates starts a new session
for that user, ignores its action and returns reward 0.

Its public pieces — :meth:`~RecommendationVectorEnv.start_sessions`, :meth:`~RecommendationVectorEnv.advance`
and :meth:`~RecommendationVectorEnv.observe` — let other stepping conventions reuse the simulator without
re-implementing it: :class:`recbook.agents.sb3.SB3VecEnv` (Stable-Baselines3's same-step reset) is built on them.
This module imports no deep-learning library.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from recbook.choice import sample_choices, validate_slates
from recbook.config import EnvConfig
from recbook.env import action_space
from recbook.observations import ObservationLayout
from recbook.response import engagement_probability, sample_clicks
from recbook.users import sample_preferences, validate_preferences

__all__ = ["RecommendationVectorEnv", "validate_actions"]


def validate_actions(actions: object, num_envs: int, n_items: int, slate_size: int = 1) -> NDArray[np.int64]:
    """Return ``actions`` as an int array of shape ``(num_envs,)`` (``(num_envs, slate_size)`` for slates of
    ``slate_size > 1``) or raise ``ValueError`` naming ``actions``."""
    if slate_size > 1:
        try:
            return validate_slates(actions, num_envs, slate_size, n_items)
        except ValueError as exc:
            raise ValueError(str(exc).replace("action ", "actions ", 1)) from exc
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

    ``info`` holds ``"engagement_probability"`` (shape ``(num_envs,)``, 0 for users being autoreset), ``"left"``
    (bool, users who left the session this step), ``"choice"`` (the slate position each user took, ``-1`` for
    none) and their masks ``"_engagement_probability"``, ``"_left"``, ``"_choice"``. ``item_quality`` is the
    ``(n_items,)`` quality array. With slates (``slate_size > 1``) the actions are ``(num_envs, slate_size)``;
    ``shown`` ``(num_envs, n_items)`` counts each item's slates and ``last_choice`` ``(num_envs,)`` holds the item
    each user took at the last step (``-1``: nothing).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, **parameters: Any) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if render_mode is not None:
            raise ValueError(f"render_mode must be None for the batched environment, got {render_mode!r}")
        self.config = EnvConfig(**parameters)
        self.num_envs = int(num_envs)
        self.render_mode = None
        self.layout = ObservationLayout(self.config)
        self.item_quality: NDArray[np.float64] = self.config.quality_vector
        self.single_action_space = action_space(self.config)
        self.single_observation_space = self.layout.space()
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        k, n = self.num_envs, self.config.n_items
        self.preferences: NDArray[np.float64] = np.full((k, n), 1.0 / n)
        self.counts: NDArray[np.int64] = np.zeros((k, n), dtype=np.int64)
        self.reward_sums: NDArray[np.float64] = np.zeros((k, n))
        self.shown: NDArray[np.int64] = np.zeros((k, n), dtype=np.int64)
        self.last_choice: NDArray[np.int64] = np.full(k, -1, dtype=np.int64)
        self.step_count: NDArray[np.int64] = np.zeros(k, dtype=np.int64)
        self.left: NDArray[np.bool_] = np.zeros(k, dtype=bool)
        self._rows = np.arange(k)
        self._autoreset = np.zeros(k, dtype=bool)
        self._ready = False

    @classmethod
    def from_config(cls, config: EnvConfig, num_envs: int) -> RecommendationVectorEnv:
        """Build ``num_envs`` sessions of the environment described by ``config``."""
        return cls(num_envs=num_envs, **config.make_kwargs())

    # -- the simulator's pieces, public so that other stepping conventions reuse them -------------------------
    @property
    def ready(self) -> bool:
        """Whether :meth:`reset` has been called (stepping before it raises ``ResetNeeded``)."""
        return self._ready

    def start_sessions(self, mask: NDArray[np.bool_], preferences: NDArray[np.float64] | None = None) -> None:
        """Start a new session for the users where ``mask`` (bool, ``(num_envs,)``) is true.

        ``preferences`` (``(mask.sum(), n_items)``, already validated) fixes those users; otherwise they are drawn
        from the prior with ``self.np_random``. Counts, reward sums, step counts and ``left`` are zeroed.
        """
        count = int(mask.sum())
        if count == 0:
            return
        if preferences is None:
            preferences = sample_preferences(self.np_random, self.config.alpha_vector, size=count)
        self.preferences[mask] = preferences
        self.counts[mask] = 0
        self.reward_sums[mask] = 0.0
        self.shown[mask] = 0
        self.last_choice[mask] = -1
        self.step_count[mask] = 0
        self.left[mask] = False

    def advance(
        self, actions: NDArray[np.int64], active: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """Recommend ``actions`` (``(num_envs,)`` items, or ``(num_envs, k)`` slates) to the ``active`` users
        (``(num_envs,)`` bool); no autoreset.

        Returns ``(rewards, engagement probabilities, left)``, each ``(num_envs,)`` and zero/false for inactive
        users; ``self.last_choice`` then holds the item each user took (``-1``: nothing, or inactive). Choices
        (slate configurations only), clicks, then exits (only when ``leave_rate`` or ``leave_no_click`` is
        positive) are drawn from ``self.np_random``. A session is over when ``step_count == session_length`` or
        ``left`` (see :meth:`done`).
        """
        config = self.config
        rows = self._rows[active]
        slates = np.asarray(actions).reshape(self.num_envs, config.slate_size)[active]
        items = slates[:, 0]
        if config.is_slate:
            self.shown[rows[:, None], slates] += 1
            chances = config.choice_probabilities(self.preferences[rows], self.counts[rows], slates)
            position = sample_choices(self.np_random, chances)
            items = np.where(position >= 0, slates[np.arange(rows.size), np.maximum(position, 0)], -1)
        taken = items >= 0
        taken_rows, taken_items = rows[taken], items[taken]
        self.counts[taken_rows, taken_items] += 1
        probability = np.zeros(self.num_envs)
        probability[taken_rows] = engagement_probability(
            self.preferences[taken_rows, taken_items], self.counts[taken_rows, taken_items], config.decay_model
        )
        if config.feedback == "expected":
            rewards = probability.copy()
        elif config.feedback == "click":
            rewards = np.zeros(self.num_envs)
            rewards[taken_rows] = sample_clicks(self.np_random, probability[taken_rows])
        else:
            rewards = np.zeros(self.num_envs)
            rewards[taken_rows] = 1.0
        self.reward_sums[taken_rows, taken_items] += rewards[taken_rows]
        self.last_choice[:] = -1
        self.last_choice[rows] = items
        self.step_count[active] += 1
        left = np.zeros(self.num_envs, dtype=bool)
        if config.leave_rate > 0 or config.leave_no_click > 0:
            left[active] = self.np_random.random(rows.size) < config.leave_probability_after(items)
        self.left |= left
        return rewards, probability, left

    def _positions(self, actions: NDArray[np.int64], active: NDArray[np.bool_]) -> NDArray[np.int64]:
        """The slate position of each user's last choice (``-1``: nothing, or not stepped)."""
        slates = actions.reshape(self.num_envs, self.config.slate_size)
        hit = (slates == self.last_choice[:, None]) & (self.last_choice[:, None] >= 0) & active[:, None]
        return np.where(hit.any(axis=1), hit.argmax(axis=1), -1).astype(np.int64)

    def done(self) -> NDArray[np.bool_]:
        """Users whose session is over (all ``session_length`` steps made, or the user left), ``(num_envs,)``."""
        return (self.step_count >= self.config.session_length) | self.left

    def observe(self) -> NDArray[np.float32]:
        """The current observations, ``(num_envs, obs_size)`` float32."""
        return self.layout.build(
            self.counts, self.reward_sums, self.step_count, self.preferences, self.shown, self.last_choice
        )

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
        self.start_sessions(mask, preferences)
        self._autoreset[mask] = False
        self._ready = True
        return self.observe(), {}

    def step(
        self, actions: object
    ) -> tuple[NDArray[np.float32], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        if not self._ready:
            raise gym.error.ResetNeeded("call reset() before step()")
        actions = validate_actions(actions, self.num_envs, self.config.n_items, self.config.slate_size)
        restarting = self._autoreset.copy()
        self.start_sessions(restarting)
        rewards, probability, left = self.advance(actions, ~restarting)
        terminated = self.done() & ~restarting
        self._autoreset = terminated.copy()
        info = {
            "engagement_probability": probability,
            "_engagement_probability": ~restarting,
            "left": left,
            "_left": ~restarting,
            "choice": self._positions(actions, ~restarting),
            "_choice": ~restarting,
        }
        truncated = np.zeros(self.num_envs, dtype=bool)
        return self.observe(), rewards, terminated, truncated, info
