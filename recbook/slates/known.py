"""Random slates, and the slate rules that know ``p``: myopic and quality-aware (:mod:`recbook.slates.values`).

:class:`RandomSlates` is the floor of the table; :class:`MyopicSlates` is the best a perfect model of the
immediate choice does; :class:`QualityAwareSlates` adds the value of the user staying. The lookahead
(:class:`recbook.slates.lookahead.LookaheadSlates`) improves on the rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from recbook._checks import check_real
from recbook.config import EnvConfig
from recbook.slates.base import KnownPreferencesPolicy, SlatePolicy
from recbook.slates.values import myopic_slates, rule_slates

__all__ = ["MyopicSlates", "QualityAwareSlates", "RandomSlates"]


class RandomSlates(SlatePolicy):
    """``k`` distinct items drawn uniformly at random at every step (in random position order)."""

    name = "random-slates"
    stochastic = True

    def act(
        self, observation: NDArray[np.float64], state: Any, episode_start: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], Any]:
        keys = self.np_random.random((len(observation), self.config.n_items))
        return np.argsort(keys, axis=1)[:, : self.config.slate_size].astype(np.int64), state


class MyopicSlates(KnownPreferencesPolicy):
    """Knows ``p``; shows the slate of the largest immediate expected reward ``E[r | S]`` (exact search)."""

    name = "myopic-slates"

    def slates_for(
        self, preferences: NDArray[np.float64], counts: NDArray[np.int64], steps_remaining: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        return myopic_slates(self.config, preferences, counts, self.method)[0]


class QualityAwareSlates(KnownPreferencesPolicy):
    """Knows ``p``; the one-step rule ``argmax_S E[r | S] + kappa * (steps after this one) * (best E[r]) *
    P(stay | S)`` (:func:`recbook.slates.values.rule_slates`).

    Args:
        config: the environment.
        kappa: the weight of staying, ``>= 0`` (``0`` is myopic). Tune it on VALIDATION users
            (:func:`recbook.experiments.slates.tune_kappa`).
        seed: unused (the rule draws no coins); kept for a uniform signature.
        method: the slate search (:func:`recbook.slates.search.best_slates`).
    """

    name = "quality-aware-slates"

    def __init__(self, config: EnvConfig, kappa: float = 1.0, seed: int | None = None, method: str = "auto") -> None:
        super().__init__(config, seed=seed, method=method)
        self.kappa = check_real(kappa, "kappa", low=0.0)

    def slates_for(
        self, preferences: NDArray[np.float64], counts: NDArray[np.int64], steps_remaining: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        steps_after = np.maximum(np.asarray(steps_remaining) - 1, 0)
        return rule_slates(self.config, preferences, counts, steps_after, self.kappa, self.method)
