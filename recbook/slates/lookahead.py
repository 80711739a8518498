"""One-step lookahead over the quality-aware rule, knowing ``p``: a rollout policy and a lower bound on the optimum.

At each step the policy scores every slate ``S`` by

    ``Q(S) = sum_i P(i | S) [r_i + (1 - l_i) W_i] + P(nothing | S) (1 - l_0) W_0``,

where ``W_i`` (``W_0``) estimates the return of following the quality-aware rule
(:func:`recbook.slates.values.rule_slates`) from the state after the user took ``i`` (took nothing). Whatever the
slate, the next state is one of only ``N + 1`` (one more consumption of some item, or none), so ``W`` needs
``N + 1`` estimates per user, not one per slate; ``Q`` then has the form of :func:`recbook.slates.search.best_slates`
and the best slate is found exactly. Each ``W`` is the mean of ``n_rollouts`` simulated continuations: the rule's
slate, a sampled choice, the expected reward of the step and the stay probability of the sampled choice (exits
taken in expectation). The ``N + 1`` branches share their uniforms (common random numbers), so the differences
between the ``W`` that decide the slate are less noisy than the ``W`` themselves.

Rollout improvement (Bertsekas): with exact ``W`` the lookahead is at least as good as the rule. With estimated
``W`` that holds up to the Monte-Carlo noise. Whatever the noise, it is an achievable policy: its expected return is
a lower bound on the optimum (:mod:`recbook.slates.exact` computes both on small instances).

Cost: about ``(N + 1) * n_rollouts * (steps left)`` rule decisions per user and step; users are processed in blocks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recbook._checks import check_int, check_real
from recbook.choice import choice_scores
from recbook.config import EnvConfig
from recbook.slates.base import KnownPreferencesPolicy
from recbook.slates.search import best_slates
from recbook.slates.values import item_rewards, rule_slates, stay_probabilities

__all__ = ["LookaheadSlates", "rule_continuation"]

_ROWS = 32_768  # simulated rows per block (users x branches x rollouts)


def rule_continuation(
    config: EnvConfig,
    preferences: NDArray[np.float64],
    counts: NDArray[np.int64],
    horizon: int,
    kappa: float,
    uniforms: NDArray[np.float64],
    method: str = "auto",
) -> NDArray[np.float64]:
    """The return ``(R,)`` of following the rule for ``horizon`` steps from each row's counts (exits in expectation).

    ``preferences`` and ``counts`` are ``(R, N)``; ``uniforms`` ``(R, horizon)`` drive the sampled choices (inverse
    CDF over the slate's positions, then nothing). Each step adds the rule slate's expected reward times the
    probability that the user is still there, then multiplies that probability by the stay probability of the
    sampled choice.
    """
    counts = counts.copy()
    stay_items, stay_none = stay_probabilities(config)
    n_rows, k = len(counts), config.slate_size
    rows = np.arange(n_rows)
    still_there = np.ones(n_rows)
    total = np.zeros(n_rows)
    for step in range(horizon):
        steps_after = np.full(n_rows, horizon - step - 1)
        slates = rule_slates(config, preferences, counts, steps_after, kappa, method)
        probabilities = config.choice_probabilities(preferences, counts, slates)
        rewards = np.take_along_axis(item_rewards(config, preferences, counts), slates, axis=1)
        total += still_there * (probabilities[:, :k] * rewards).sum(axis=1)
        position = np.minimum((uniforms[:, step, None] >= np.cumsum(probabilities, axis=1)).sum(axis=1), k)
        taken = position < k
        item = slates[rows, np.minimum(position, k - 1)]
        still_there *= np.where(taken, stay_items[item], stay_none)
        counts[rows[taken], item[taken]] += 1
    return total


class LookaheadSlates(KnownPreferencesPolicy):
    """Knows ``p``; one step of exact lookahead over ``n_rollouts`` rollouts of the quality-aware rule (module doc).

    Args:
        config: the environment.
        kappa: the rule's weight of staying (the value tuned for :class:`~recbook.slates.known.QualityAwareSlates`).
        n_rollouts: simulated continuations per user, step and next state (``>= 1``).
        seed: seeds the simulated choices (``recbook.seeds`` ``"policy"`` stream).
        method: the slate search.
    """

    name = "lookahead-slates"
    stochastic = True

    def __init__(
        self,
        config: EnvConfig,
        kappa: float = 1.0,
        n_rollouts: int = 8,
        seed: int | None = None,
        method: str = "auto",
    ) -> None:
        super().__init__(config, seed=seed, method=method)
        self.kappa = check_real(kappa, "kappa", low=0.0)
        self.n_rollouts = check_int(n_rollouts, "n_rollouts", low=1)

    def slates_for(
        self, preferences: NDArray[np.float64], counts: NDArray[np.int64], steps_remaining: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        preferences = np.asarray(preferences, dtype=np.float64)
        counts = np.asarray(counts, dtype=np.int64)
        horizon = np.maximum(np.asarray(steps_remaining, dtype=np.int64) - 1, 0)
        n_users, n = counts.shape
        continuation = np.zeros((n_users, n + 1))  # W_i, then W_0
        block = max(1, _ROWS // ((n + 1) * self.n_rollouts))
        for h in np.unique(horizon[horizon > 0]):
            users = np.flatnonzero(horizon == h)
            for begin in range(0, users.size, block):
                chunk = users[begin : begin + block]
                continuation[chunk] = self._continuation(preferences[chunk], counts[chunk], int(h))
        stay_items, stay_none = stay_probabilities(self.config)
        scores = choice_scores(preferences, counts, self.config.decay_model)
        item_values = item_rewards(self.config, preferences, counts) + stay_items * continuation[:, :n]
        return best_slates(self.config, scores, item_values, stay_none * continuation[:, n], self.method)[0]

    def _continuation(
        self, preferences: NDArray[np.float64], counts: NDArray[np.int64], horizon: int
    ) -> NDArray[np.float64]:
        """``W`` ``(K', N + 1)`` for a block of users with ``horizon`` steps after this one."""
        n_users, n = counts.shape
        branches = counts[:, None, :] + np.vstack([np.eye(n, dtype=np.int64), np.zeros((1, n), dtype=np.int64)])
        shape = (n_users, n + 1, self.n_rollouts)
        start = np.broadcast_to(branches[:, :, None, :], shape + (n,)).reshape(-1, n)
        p = np.broadcast_to(preferences[:, None, None, :], shape + (n,)).reshape(-1, n)
        # Common random numbers: every branch of a user sees the same uniforms.
        uniforms = self.np_random.random((n_users, 1, self.n_rollouts, horizon))
        uniforms = np.broadcast_to(uniforms, shape + (horizon,)).reshape(-1, horizon)
        value = rule_continuation(self.config, p, start, horizon, self.kappa, uniforms, self.method)
        return value.reshape(shape).mean(axis=2)
