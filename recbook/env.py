"""The Gymnasium environment: one user per session, composed from the user and response models."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from recbook.choice import sample_choices, validate_slates
from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.response import engagement_probability, sample_clicks
from recbook.users import sample_preferences, validate_preferences

__all__ = ["RecommendationEnv", "SlateSpace", "action_space", "validate_action"]


class SlateSpace(spaces.MultiDiscrete):
    """``MultiDiscrete([n_items] * k)`` restricted to slates of ``k`` *distinct* items: ``sample`` draws one
    uniformly (from the space's own generator) and ``contains`` rejects a slate that repeats an item."""

    def __init__(self, n_items: int, slate_size: int, seed: int | np.random.Generator | None = None) -> None:
        super().__init__([n_items] * slate_size, seed=seed)
        self.n_items, self.slate_size = n_items, slate_size

    def sample(self, mask: Any = None, probability: Any = None) -> NDArray[np.int64]:
        """A uniformly random slate of ``slate_size`` distinct items, ``(slate_size,)`` int64."""
        if mask is not None or probability is not None:
            raise ValueError("mask and probability are not supported by SlateSpace.sample")
        # A uniformly random slate: the first k items of a random permutation.
        return self.np_random.permutation(self.n_items)[: self.slate_size].astype(np.int64)

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a slate of ``slate_size`` distinct items in ``[0, n_items)``."""
        return bool(super().contains(x)) and len(set(np.asarray(x).tolist())) == self.slate_size

    def __repr__(self) -> str:
        return f"SlateSpace(n_items={self.n_items}, slate_size={self.slate_size})"


def action_space(config: EnvConfig) -> spaces.Space[Any]:
    """``Discrete(n_items)`` for one item per step, :class:`SlateSpace` (a ``MultiDiscrete`` of distinct items)
    for slates of ``k > 1``."""
    if config.slate_size == 1:
        return spaces.Discrete(config.n_items)
    return SlateSpace(config.n_items, config.slate_size)


def validate_action(action: object, n_items: int) -> int:
    """Return ``action`` as an int item index, or raise ``ValueError`` naming ``action``."""
    if isinstance(action, np.ndarray) and action.shape == ():
        action = action.item()
    if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
        raise ValueError(f"action must be an integer item index in [0, {n_items}), got {action!r}")
    if not 0 <= int(action) < n_items:
        raise ValueError(f"action must be in [0, {n_items}), got {action}")
    return int(action)


class RecommendationEnv(gym.Env[NDArray[np.float32], np.int64]):
    """Recommend one of ``n_items`` items to a user, ``session_length`` times; repeats pay less.

    ## Description
    Each episode is a session with one new user whose hidden preference vector ``p`` (non-negative, sums to 1)
    is drawn from ``Dirichlet(alpha)``. At every step the agent recommends an item; recommending item ``a`` for
    the k-th time this session engages the user with probability ``p[a] * m(k)``, where ``m(k) = 1/k``
    (``decay="harmonic"``, the original project) or ``decay_rate ** (k-1)`` (``decay="geometric"``).

    With slates (``slate_size`` k > 1, a ``"cascade"`` or a ``no_click_mass``; ``config.is_slate``) the agent
    shows k distinct items and the user takes at most one of them, by the choice model of :mod:`recbook.choice`
    (item ``i`` scores ``N * p[i] * m(c_i + 1)``, ``c_i`` its consumptions so far). Reward, diminishing returns
    and leaving then act on the item taken; ``counts`` count consumptions.

    ## Action Space
    ``Discrete(n_items)``: the item to recommend. With ``slate_size = k > 1``: ``MultiDiscrete([n_items] * k)``,
    a slate of k distinct items in position order (a repeated or out-of-range item raises ``ValueError``).

    ## Observation Space
    ``observation="counts"`` (default, the original): ``Box(0, T, (n,), float32)``, the raw count vector.
    ``observation="feedback"``: ``Box(0, high, (3n+1,), float32)``:

    ============  ===========================================================  ===  =========
    index         meaning                                                      min  max
    ============  ===========================================================  ===  =========
    0 .. n-1      times item a was recommended / T                             0    1
    n .. 2n-1     1 if item a was recommended this session                     0    1
    2n .. 3n-1    preference estimate reward_sum / exposure (0 if unseen)      0    1 (click: T/exposure(T))
    3n            steps remaining / T                                          0    1
    ============  ===========================================================  ===  =========

    Items with a quality add ``n`` entries (the qualities); slate configurations add ``2n`` more: each item's
    number of slates so far / T, and a one-hot of the item taken at the previous step.
    ``observation="oracle"``: the feedback vector followed by the true ``p`` (``4n+1`` entries). Details in
    :mod:`recbook.observations`. The hidden preferences appear in no other mode, ``render`` included.

    ## Rewards
    ``feedback="expected"``: the engagement probability ``p[a] * m(k)`` (deterministic).
    ``feedback="click"``: ``1.0`` with that probability, else ``0.0``, drawn from ``env.np_random``.
    ``feedback="choice"`` (slates only): ``1.0`` when the user takes an item, ``0.0`` when nothing is taken.
    With slates the reward is that of the item taken, and ``0.0`` when nothing is taken.
    ``info["engagement_probability"]`` always holds the probability (0 when nothing is taken).

    ## Starting State
    Counts and observed rewards are zero; ``p`` is a fresh Dirichlet draw, or ``options={"preferences": p}``.

    ## Episode End
    ``terminated=True`` on the step that makes ``session_length`` recommendations, or when the user leaves:
    with ``leave_rate > 0``, after each recommendation of item ``a`` (and its reward) the user leaves with
    probability ``leave_rate * (1 - item_quality[a])``, drawn from ``env.np_random``; ``info["left"]`` is then
    ``True``. With slates ``a`` is the item taken, and after a step where nothing is taken the user leaves with
    probability ``leave_no_click``. ``truncated`` is always ``False``. Stepping again needs a ``reset``.

    ## Arguments
    The fields of :class:`recbook.config.EnvConfig`, as keywords (``n_items=10, session_length=20, alpha=1.0,
    decay="harmonic", decay_rate=0.8, feedback="expected", observation="counts", leave_rate=0.0,
    item_quality=None, catalog_seed=0, slate_size=1, choice_model="mnl", no_click_mass=0.0, attention=1.0,
    leave_no_click=0.0``), and ``render_mode=None`` (``"ansi"`` renders a text summary). Invalid
    values raise ``ValueError`` naming the parameter. ``env.unwrapped.item_quality`` is the ``(n_items,)``
    quality array (zeros when the items have none).

    ## Version History

    * v0: initial release.
    * v0, recbook 0.2: users who leave (``leave_rate``, ``item_quality``); the defaults keep the original setting.
    * v0, recbook 0.3: slates and a user who chooses (``slate_size``, ``choice_model``, ``no_click_mass``,
      ``attention``, ``leave_no_click``, ``feedback="choice"``); the defaults keep the original setting bit for
      bit.

    ## Example
    >>> import gymnasium as gym, recbook
    >>> env = gym.make("recbook/Recommendation-v0", observation="feedback")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(3)
    >>> round(reward, 4) == round(float(env.unwrapped.preferences[3]), 4)
    True
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, **parameters: Any) -> None:
        self.config = EnvConfig(**parameters)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.layout = ObservationLayout(self.config)
        self.item_quality: NDArray[np.float64] = self.config.quality_vector
        self.action_space = action_space(self.config)
        self.observation_space = self.layout.space()
        n = self.config.n_items
        self.preferences: NDArray[np.float64] = np.full(n, 1.0 / n)
        self.counts: NDArray[np.int64] = np.zeros(n, dtype=np.int64)
        self.reward_sums: NDArray[np.float64] = np.zeros(n)
        self.shown: NDArray[np.int64] = np.zeros(n, dtype=np.int64)
        self.last_choice = -1
        self.step_count = 0
        self._ready = False

    @classmethod
    def from_config(cls, config: EnvConfig, render_mode: str | None = None) -> RecommendationEnv:
        """Build the environment described by ``config``."""
        return cls(**config.make_kwargs(), render_mode=render_mode)

    def _observation(self) -> NDArray[np.float32]:
        return self.layout.build(
            self.counts, self.reward_sums, self.step_count, self.preferences, self.shown, np.int64(self.last_choice)
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start a session with a new user. ``options={"preferences": p}`` fixes the user instead of drawing."""
        super().reset(seed=seed)
        options = dict(options or {})
        preferences = options.pop("preferences", None)
        if options:
            raise ValueError(f"unknown reset option(s): {sorted(options)}; only 'preferences' is accepted")
        if preferences is None:
            self.preferences = sample_preferences(self.np_random, self.config.alpha_vector)
        else:
            self.preferences = validate_preferences(preferences, self.config.n_items)
        self.counts = np.zeros(self.config.n_items, dtype=np.int64)
        self.reward_sums = np.zeros(self.config.n_items)
        self.shown = np.zeros(self.config.n_items, dtype=np.int64)
        self.last_choice = -1
        self.step_count = 0
        self._ready = True
        return self._observation(), {}

    def step(self, action: object) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Recommend item ``action`` to the current user.

        Returns ``(observation, reward, terminated, truncated, info)``: ``reward`` is the engagement probability
        (expected feedback) or a 0/1 click; ``terminated`` is ``True`` on the ``session_length``-th step;
        or when the user leaves; ``truncated`` is always ``False``; ``info`` holds ``engagement_probability``, the
        ``item`` consumed (``-1``: nothing taken from a slate), how many times it has now been consumed
        (``repeat``), whether the user ``left`` and the slate position chosen (``choice``, ``-1`` for none).
        Raises ``ValueError`` for an action outside ``[0, n_items)`` (or a slate with a repeated item) and
        ``gymnasium.error.ResetNeeded`` before ``reset`` or after the session ended.
        """
        if not self._ready:
            if self.step_count > 0:
                raise gym.error.ResetNeeded("the session has ended (terminated=True); call reset() before step()")
            raise gym.error.ResetNeeded("call reset() before step()")
        config = self.config
        if config.slate_size == 1:
            slate = np.array([validate_action(action, config.n_items)])
        else:
            slate = validate_slates(action, None, config.slate_size, config.n_items)
        position = 0
        if config.is_slate:
            self.shown[slate] += 1
            chances = config.choice_probabilities(self.preferences, self.counts, slate)
            position = int(sample_choices(self.np_random, chances))
        item = int(slate[position]) if position >= 0 else -1
        probability, reward = 0.0, 0.0
        if item >= 0:
            self.counts[item] += 1
            probability = float(engagement_probability(self.preferences[item], self.counts[item], config.decay_model))
            if config.feedback == "expected":
                reward = probability
            elif config.feedback == "click":
                reward = float(sample_clicks(self.np_random, probability))
            else:
                reward = 1.0
            self.reward_sums[item] += reward
        self.last_choice = item
        self.step_count += 1
        left = False
        if config.leave_rate > 0 or config.leave_no_click > 0:
            left = bool(self.np_random.random() < config.leave_probability_after(np.array([item]))[0])
        terminated = left or self.step_count >= config.session_length
        if terminated:
            self._ready = False
        info = {
            "engagement_probability": probability,
            "item": item,
            "repeat": int(self.counts[item]) if item >= 0 else 0,
            "left": left,
            "choice": position,
        }
        return self._observation(), reward, terminated, False, info

    def render(self) -> str | None:
        """Text summary of the session so far (``render_mode="ansi"``); no hidden state unless oracle mode."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='ansi' to gym.make")
            return None
        lines = [f"step {self.step_count}/{self.config.session_length}"]
        lines.append("counts      " + " ".join(f"{c:5d}" for c in self.counts))
        lines.append("reward sum  " + " ".join(f"{r:5.2f}" for r in self.reward_sums))
        if self.config.observation == "oracle":
            lines.append("preferences " + " ".join(f"{p:5.2f}" for p in self.preferences))
        return "\n".join(lines)
