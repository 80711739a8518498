"""Quality-aware Bayesian policies for users who may leave: the hand-made :class:`BayesIndex` and the planner
:class:`BayesRollout` that improves on it by simulating the futures the posterior allows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from recbook._checks import check_int
from recbook.config import EnvConfig
from recbook.policies.base import IndexPolicy

__all__ = ["BayesIndex", "BayesRollout", "hazard_index"]


class BayesIndex(IndexPolicy):
    """Quality-aware hand-made rule: Bayes-greedy's next value divided by a leave hazard.

    ``index[a] = g[a] / (l[a] + h - l[a] h)`` with ``g[a]`` Bayes-greedy's posterior-mean next value
    (:class:`BayesGreedy`), ``l[a] = leave_rate * (1 - quality[a])`` and ``h = 1 / k`` for ``k`` steps remaining.

    Why. The exchange argument (:mod:`recbook.planning`) orders a fixed set of recommendations by reward over leave
    probability, ``g / l``. Used as a rule on its own that index is wrong near the end of a session: an item of
    quality near 1 gets a near-infinite index even on the last step, where leaving costs nothing. A session that
    also ended by itself with probability ``h`` per step would order by ``g / (1 - (1 - l)(1 - h))``, the formula
    above; ``h = 1/k`` (the hazard of a session with ``k`` steps left, on average) makes the last step myopic
    (``h = 1``) and early steps close to ``g / l``. It is a heuristic: it neither plans nor learns.
    """

    name = "bayes-index"

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        view = self.layout.parse(observation)
        value = self._next_value(view, self._posterior_mean(view))
        leave = self.config.leave_probability(np.arange(self.config.n_items))
        return hazard_index(value, leave, view.steps_remaining)


def hazard_index(
    value: NDArray[np.float64], leave: NDArray[np.float64], steps_remaining: NDArray[np.int64]
) -> NDArray[np.float64]:
    """:class:`BayesIndex`'s index ``value / (l + h - l h)`` with ``h = 1 / k`` for ``k`` steps remaining.

    ``value`` and the result have shape ``(..., n)``, ``leave`` ``(n,)`` and ``steps_remaining`` ``(...,)``.
    """
    hazard = 1.0 / np.maximum(steps_remaining, 1).astype(np.float64)[..., None]
    return value / (leave + hazard - leave * hazard)


class BayesRollout(IndexPolicy):
    """A Bayesian rollout planner: it does not know ``p``, and scores every item by simulating the futures its
    posterior allows (expected feedback only).

    For each item ``a`` the score is a Monte-Carlo estimate of the expected return of recommending ``a`` now and
    following :class:`BayesIndex` afterwards, the expectation taken over the user's preferences given what has
    been observed. Each of ``n_samples`` *scenarios* draws the unrevealed preferences from their exact posterior
    (the revealed ones are known; by Dirichlet neutrality the rest is ``(1 - S) Dirichlet(alpha_U)``), then plays
    the session out: the index rule acts on its *posterior means*, which change as the scenario reveals the items
    it shows, and the scenario's rewards are weighted by the probability that the user is still there. All items
    of one user share the same scenarios (common random numbers), so their differences are less noisy than their
    values. This is one step of policy improvement over the index rule (a *rollout*,
    {cite}`tesauro1996rollout`): it values exploring an item by what exploring reveals, which no myopic index can.

    It is a planner, not a cheap rule: ``n_items * n_samples`` simulated sessions per user and step. It is not in
    :data:`~recbook.policies.registry.POLICIES` (which every setting's tests and widgets run); build it directly.
    ``n_samples`` (a positive int,
    default 64) trades time for noise; its generator is the policy's, so the same seed gives the same choices.

    Args:
        config: the environment (``feedback="expected"``).
        seed: seed of the scenario draws and of the tie-breaking.
        n_samples: scenarios per user and step.
        chunk: users simulated together (memory ``~ chunk * n_items**2 * n_samples`` floats).
    """

    name = "bayes-rollout"
    stochastic = True

    def __init__(
        self, config: EnvConfig, seed: int | None = None, n_samples: int = 64, chunk: int = 64, **kwargs: Any
    ) -> None:
        super().__init__(config, seed=seed, **kwargs)
        if config.feedback != "expected":
            raise ValueError(
                "BayesRollout samples the exact Dirichlet posterior of expected feedback; "
                f"got feedback={config.feedback!r}"
            )
        self.n_samples = check_int(n_samples, "n_samples", low=1)
        self.chunk = check_int(chunk, "chunk", low=1)
        self._leave = config.leave_probability(np.arange(config.n_items))

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        """Monte-Carlo values ``(K, n_items)`` of recommending each item now (draws from the policy's generator)."""
        view = self.layout.parse(observation)
        parts = [
            self._rollout_values(view.revealed[i : i + self.chunk], view.value[i : i + self.chunk],
                                 view.counts[i : i + self.chunk], view.steps_remaining[i : i + self.chunk])
            for i in range(0, len(view.counts), self.chunk)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.config.n_items))

    def _rollout_values(
        self,
        revealed: NDArray[np.bool_],
        value: NDArray[np.float64],
        counts: NDArray[np.int64],
        steps_remaining: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        users, n = counts.shape
        samples = self.n_samples
        # Scenarios (users, samples, n): revealed preferences as observed, the rest (1 - S) Dirichlet(alpha_U).
        truth = self.posterior.sample(self.np_random, revealed, value, samples)
        # One simulated session per (user, first item, scenario): rows of (n,) item arrays.
        shape = (users, n, samples, n)
        truth = np.broadcast_to(truth[:, None], shape).reshape(-1, n)
        shown = np.broadcast_to(revealed[:, None, None, :], shape).reshape(-1, n).copy()
        count = np.broadcast_to(counts[:, None, None, :], shape).reshape(-1, n).copy()
        left = np.broadcast_to(steps_remaining[:, None, None], (users, n, samples)).reshape(-1)
        first = np.broadcast_to(np.arange(n)[None, :, None], (users, n, samples)).reshape(-1)
        rows = np.arange(first.size)
        multiplier = self._next_multiplier  # m(c + 1) at index c
        ret = np.where(left > 0, truth[rows, first] * multiplier[count[rows, first]], 0.0)
        alive = 1.0 - self._leave[first]
        count[rows, first] += 1
        shown[rows, first] = True
        for step in range(1, int(steps_remaining.max(initial=0))):
            remaining = left - step
            active = remaining > 0
            # The index rule's posterior means in this scenario (what it has seen of it).
            mean = self.posterior.mean(shown, truth)
            index = hazard_index(mean * multiplier[count], self._leave, remaining)
            pick = index.argmax(axis=1)
            ret += np.where(active, alive * truth[rows, pick] * multiplier[count[rows, pick]], 0.0)
            alive = np.where(active, alive * (1.0 - self._leave[pick]), alive)
            count[rows, pick] += active
            shown[rows, pick] |= active
        return ret.reshape(users, n, samples).mean(axis=2)
