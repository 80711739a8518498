"""The slate-policy protocol: Stable-Baselines3's ``predict`` returning a slate of ``k`` distinct items per user.

``predict(observation, state=None, episode_start=None, deterministic=True) -> (slates, state)``: a batch ``(K, d)``
of observations gives slates ``(K, k)`` int64 (position order); one observation ``(d,)`` gives ``(k,)``. So
:func:`recbook.evaluation.rollout` runs a slate policy like any other. Policies that know ``p`` declare
``observation = "oracle"`` and read the true preferences from the last ``n`` entries of the observation
(:mod:`recbook.observations`); the others read the feedback observation.

Randomness. A policy's coins (random slates, the lookahead's rollouts, the Bayesian policies' particles) come from
``recbook.seeds.generator(seed, TEST, "policy", <policy name>, <purpose>)``: independent of the users and clicks
drawn with the same seed, and of another policy's coins. ``seed=None`` draws fresh OS entropy; ``reset``
re-seeds.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from recbook import seeds
from recbook._checks import check_choice
from recbook.config import EnvConfig
from recbook.observations import FeedbackView, ObservationLayout
from recbook.slates.search import METHODS

__all__ = ["KnownPreferencesPolicy", "SlatePolicy"]


class SlatePolicy:
    """Base class: validation, batching and the generator; subclasses implement :meth:`act`.

    Args:
        config: the environment the policy acts in (its ``observation`` field is ignored: the policy builds the
            layout of the mode it needs, ``self.observation``).
        seed: seed of the policy's coins (``None``: fresh entropy).
        method: the slate search of :func:`recbook.slates.search.best_slates` (``"auto"``: exact for ``"mnl"`` and
            for a cascade with constant attention).
    """

    #: Short identifier used in tables.
    name: ClassVar[str] = "slate-policy"
    #: Observation mode the policy needs; :func:`recbook.evaluation.rollout` reads it.
    observation: ClassVar[str] = "feedback"
    #: Whether the policy draws coins (its slates are then not a function of the observation and state).
    stochastic: ClassVar[bool] = False

    def __init__(self, config: EnvConfig, seed: int | None = None, method: str = "auto") -> None:
        if not isinstance(config, EnvConfig):
            raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
        self.config = config
        self.layout = ObservationLayout(config.replace(observation=self.observation))
        self.method = check_choice(method, "method", METHODS)
        self.seed = seed
        self.np_random = self._generator(seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def _generator(self, seed: int | None, purpose: str = "coins") -> np.random.Generator:
        if seed is None:
            return np.random.default_rng()
        return seeds.generator(seed, seeds.TEST, "policy", self.name, purpose)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the policy's coins (with ``seed``, or the constructor's seed if ``None``)."""
        self.np_random = self._generator(self.seed if seed is None else seed)

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.int64], Any]:
        """Slates ``(K, k)`` for observations ``(K, d)`` (or ``(k,)`` for one ``(d,)``), and the next ``state``.

        ``episode_start`` (bool ``(K,)`` or ``None``) marks users whose session starts at this observation;
        policies that keep a state start it afresh there (``state=None`` starts every row). ``deterministic`` is
        accepted for SB3 compatibility; stochastic policies draw their coins either way.
        """
        obs = np.asarray(observation, dtype=np.float64)
        if obs.ndim not in (1, 2) or obs.shape[-1] != self.layout.size:
            raise ValueError(
                f"observation must have shape ({self.layout.size},) or (K, {self.layout.size}) for {self.name} "
                f"({self.observation!r} observation), got {obs.shape}"
            )
        single = obs.ndim == 1
        batch = obs[None] if single else obs
        if episode_start is None:
            starts = np.zeros(len(batch), dtype=bool)
        else:
            starts = np.asarray(episode_start, dtype=bool).reshape(-1)
            if starts.shape != (len(batch),):
                raise ValueError(f"episode_start must have shape ({len(batch)},), got {starts.shape}")
        slates, state = self.act(batch, state, starts)
        slates = np.asarray(slates, dtype=np.int64)
        return (slates[0] if single else slates), state

    def act(
        self, observation: NDArray[np.float64], state: Any, episode_start: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], Any]:
        """Slates ``(K, k)`` and the next state for observations ``(K, d)``; the one method subclasses implement."""
        raise NotImplementedError


class KnownPreferencesPolicy(SlatePolicy):
    """A policy that knows ``p`` (the ``"oracle"`` observation) and decides from ``(p, counts, steps remaining)``.

    Subclasses implement :meth:`slates_for`, which :func:`recbook.slates.exact.policy_value` can call directly.
    Stateless: ``state`` is passed through.
    """

    observation = "oracle"

    def act(
        self, observation: NDArray[np.float64], state: Any, episode_start: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], Any]:
        view: FeedbackView = self.layout.parse(observation)
        assert view.preferences is not None
        return self.slates_for(view.preferences, view.counts, view.steps_remaining), state

    def slates_for(
        self, preferences: NDArray[np.float64], counts: NDArray[np.int64], steps_remaining: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Slates ``(K, k)`` for preferences ``(K, N)``, consumption counts ``(K, N)`` and steps remaining ``(K,)``
        (this step included)."""
        raise NotImplementedError
