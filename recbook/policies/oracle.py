"""The policies that see the true preferences (the ``"oracle"`` observation): upper bounds, not baselines.

Both score items by the true next engagement ``p[a] m(count + 1)`` (:class:`FullInformationPolicy`);
:class:`MyopicOracle` always takes its argmax, :class:`Oracle` does so while users stay and follows the planner of
:mod:`recbook.planning` when they may leave.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recbook.config import EnvConfig
from recbook.observations import FeedbackView
from recbook.planning.leave import plan
from recbook.policies.base import IndexPolicy

__all__ = ["FullInformationPolicy", "MyopicOracle", "Oracle"]


class FullInformationPolicy(IndexPolicy):
    """Scores items by their true next engagement ``p[a] m(count + 1)``, read from the ``"oracle"`` observation."""

    observation = "oracle"

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        view = self.layout.parse(observation)
        assert view.preferences is not None
        return self._next_value(view, view.preferences)


class Oracle(FullInformationPolicy):
    """Greedy on the true next engagement probability ``p[a] * m(count + 1)``; an upper bound, not a baseline.

    It needs the ``"oracle"`` observation (``observation = "oracle"``): the feedback observation followed by the
    true preferences ``p``. That is the only way any policy here can see ``p``, and it is explicit.

    Why greedy is optimal (for expected return, with any non-increasing decay ``m(1) >= m(2) >= ...``). The k-th
    recommendation of item ``a`` earns ``p[a] * m(k)`` no matter when it happens or what else was recommended:
    items do not interact, and only an item's own count matters. So a session in which item ``a`` is recommended
    ``c_a`` times (``sum_a c_a = T``) earns ``sum_a (p[a] m(1) + ... + p[a] m(c_a))``: the sum, over items, of the
    first ``c_a`` of that item's *marginal rewards*. Because each item's marginals are non-increasing, taking the
    first ``c_a`` of them is the same as taking any ``c_a`` of its largest ones, so the session's return is a sum
    of ``T`` marginals chosen from the table ``{p[a] m(k)}`` with each item's chosen marginals forming a prefix.
    No choice of ``T`` entries can beat the ``T`` largest entries of the whole table, and the ``T`` largest entries
    are prefix-closed (if ``p[a] m(k)`` is among them, so is ``p[a] m(k-1) >= p[a] m(k)``), so they are achievable.
    Greedy takes, at each step, the largest marginal not yet taken — the next marginal of some item — and after
    ``T`` steps has taken exactly the ``T`` largest (exchange argument: if a schedule misses one of the ``T``
    largest marginals, swapping it in for its smallest chosen marginal does not lower the return). Hence greedy
    attains the optimum; ties change which optimum, not its value. :func:`brute_force_optimum` checks this by
    enumeration.

    Users who leave (``leave_rate > 0``). Greedy is no longer optimal: each recommendation also decides whether the
    user is still there for the steps left. The oracle then follows the full-information plan of
    :mod:`recbook.planning` (the count vector found by local search, in decreasing order of reward over leave
    probability; exact order, searched count vector, checked against brute force). With ``p`` known the best policy
    is a fixed sequence (nothing else random is observed), so at each step it plays the next recommendation of
    the plan made at the session's start. The plan for a batch is memoised by the batch's preference block, so a
    rollout plans once instead of at every step; rows whose counts do not follow the plan are re-planned from
    their counts. :func:`oracle_return` is the plan's exact expected return.
    """

    name = "oracle"

    def __init__(self, config: EnvConfig, seed: int | None = None, tie_break: str | None = None) -> None:
        super().__init__(config, seed=seed, tie_break=tie_break)
        self._memo: tuple[bytes, NDArray[np.int64]] | None = None

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        if self.config.leave_rate == 0:
            return super().act(observation)
        return self._follow_plan(self.layout.parse(observation))

    def _probabilities(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.config.leave_rate == 0:
            return super()._probabilities(observation)
        # Following a plan: one-hot on the plan's next recommendation (ties inside the plan broken as act does).
        return np.eye(self.config.n_items)[self.act(observation)]

    def _follow_plan(self, view: FeedbackView) -> NDArray[np.int64]:
        preferences = np.asarray(view.preferences, dtype=np.float64)
        key = preferences.tobytes()
        if self._memo is None or self._memo[0] != key:
            self._memo = (key, plan(preferences, self.config)[0])
        remaining = self._memo[1] - view.counts
        k = np.maximum(view.steps_remaining, 1)
        off_plan = np.any(remaining < 0, axis=1) | (remaining.sum(axis=1) != k)
        for horizon in np.unique(k[off_plan]):
            rows = np.flatnonzero(off_plan & (k == horizon))
            remaining[rows] = plan(preferences[rows], self.config, view.counts[rows], int(horizon))[0]
        # The next recommendation of the plan: the remaining unit with the largest reward / leave probability.
        reward = preferences * self._next_multiplier[view.counts]
        leave = self.config.leave_probability(np.arange(self.config.n_items))
        with np.errstate(divide="ignore"):
            index = np.where(leave > 0, reward / np.where(leave > 0, leave, 1.0), np.inf)
        return self._argmax(np.where(remaining > 0, index, -1.0))


class MyopicOracle(FullInformationPolicy):
    """Knows ``p`` and maximises the immediate engagement ``p[a] m(count + 1)``: the oracle's greedy rule.

    Identical to :class:`Oracle` when users never leave (where greedy is optimal); with ``leave_rate > 0`` it is the
    best *myopic* policy — what a perfect click-through-rate model that ignores quality would do.
    """

    name = "myopic-oracle"
