"""Exact dynamic programming for one user whose ``p`` is known, on small instances: the optimum of a slate session
and the exact value of any policy that decides from the consumption counts and the step.

Why the state is ``(counts, t)``. Knowing ``p``, the choice probabilities at a step depend only on the
consumption counts ``c`` (:mod:`recbook.choice`), the reward of a choice on ``c`` and the chosen item, and the
chance of leaving on the chosen item (or on nothing being chosen). So ``(c, t)`` (with the user still there) is a
sufficient statistic, and with exits taken in expectation (a user who leaves earns nothing more, so this is also
the expected return under sampled exits) the optimal value satisfies

    ``V(c, t) = max_S  sum_i P(i | S, c) [r_i(c) + (1 - l_i) V(c + e_i, t + 1)]
    + P(nothing | S, c) (1 - l_0) V(c, t + 1)``,  ``V(c, T) = 0``,

with ``r_i(c)`` the expected reward of taking ``i`` (:func:`recbook.slates.values.item_rewards`), ``l_i =
leave_rate (1 - q_i)`` and ``l_0 = leave_no_click``. At step ``t`` at most ``t`` items were consumed, so the
states are the count vectors with ``sum(c) <= t``: ``C(T + N, N)`` in all (3,003 for ``N = 6``, ``T = 8``). Every
maximisation enumerates all slates (:func:`recbook.slates.search.best_slates` with ``method="enumerate"``), so
nothing here relies on the faster searches. :func:`policy_value` runs the same recursion with the maximisation
replaced by the policy's slate: the exact expected return of any Markov policy (a policy drawing its own coins,
like the lookahead, is evaluated for the one slate it draws per state).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recbook._checks import check_reals
from recbook.choice import choice_scores
from recbook.config import EnvConfig
from recbook.slates.search import best_slates, slate_values
from recbook.slates.values import item_rewards, stay_probabilities

__all__ = ["MAX_STATES", "ExactSolution", "count_states", "optimal_value", "policy_value"]

#: The most count vectors the DP accepts (``C(T + N, N)``).
MAX_STATES = 300_000

#: ``choose(counts, steps_remaining) -> slates``: counts ``(S, N)`` int64, steps remaining ``(S,)``, slates ``(S, k)``.
Chooser = Callable[[NDArray[np.int64], NDArray[np.int64]], ArrayLike]


@dataclass(frozen=True)
class ExactSolution:
    """The DP's answer for one user.

    Attributes:
        value: the optimal expected return of the session.
        first_slate: an optimal first slate, ``(k,)``.
        n_states: how many count vectors the DP visited.
    """

    value: float
    first_slate: NDArray[np.int64]
    n_states: int


def count_states(n_items: int, horizon: int) -> NDArray[np.int64]:
    """Every count vector of ``n_items`` non-negative entries summing to at most ``horizon``, ``(C(h + N, N), N)``."""
    states = np.zeros((1, 0), dtype=np.int64)
    budget = np.array([horizon])
    for _ in range(n_items):
        repeat = budget + 1
        offsets = np.concatenate([np.arange(r) for r in repeat])
        states = np.concatenate([np.repeat(states, repeat, axis=0), offsets[:, None]], axis=1)
        budget = np.repeat(budget, repeat) - offsets
    return states


def _check(preferences: object, config: EnvConfig) -> NDArray[np.float64]:
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    p = check_reals(preferences, "preferences", low=0.0, shape=(config.n_items,))
    n_states = math.comb(config.session_length + config.n_items, config.n_items)
    if n_states > MAX_STATES:
        raise ValueError(
            f"n_items={config.n_items} and session_length={config.session_length} give {n_states} count vectors, "
            f"more than the exact DP's {MAX_STATES}; use a smaller instance"
        )
    if config.n_items * math.log2(config.session_length + 1) >= 62:
        raise ValueError(f"n_items={config.n_items} is too large for the exact DP's state keys; use a smaller instance")
    return p


def _recursion(
    p: NDArray[np.float64], config: EnvConfig, choose: Chooser | None
) -> tuple[float, NDArray[np.int64], int]:
    n, total = config.n_items, config.session_length
    states = count_states(n, total)
    sums = states.sum(axis=1)
    radix = (total + 1) ** np.arange(n, dtype=np.int64)
    keys = states @ radix
    order = np.argsort(keys)
    sorted_keys = keys[order]

    def index(vectors: NDArray[np.int64]) -> NDArray[np.int64]:
        return order[np.searchsorted(sorted_keys, vectors @ radix)]

    stay_items, stay_none = stay_probabilities(config)
    following = np.zeros(len(states))  # V(., t + 1)
    first = np.zeros(config.slate_size, dtype=np.int64)
    for t in range(total - 1, -1, -1):
        rows = np.flatnonzero(sums <= t)
        counts = states[rows]
        after = index(counts[:, None, :] + np.eye(n, dtype=np.int64)[None])  # (S, N): the state after taking i
        preferences = np.broadcast_to(p, counts.shape)
        scores = choice_scores(preferences, counts, config.decay_model)
        item_values = item_rewards(config, preferences, counts) + stay_items * following[after]
        none_value = stay_none * following[rows]
        if choose is None:
            slates, value = best_slates(config, scores, item_values, none_value, method="enumerate")
        else:
            slates = np.asarray(choose(counts, np.full(len(rows), total - t, dtype=np.int64)), dtype=np.int64)
            value = slate_values(config, scores, item_values, none_value, slates)
        current = np.zeros(len(states))
        current[rows] = value
        following = current
        if t == 0:
            first = slates[0]
    return float(following[index(np.zeros((1, n), dtype=np.int64))[0]]), first, len(states)


def optimal_value(preferences: ArrayLike, config: EnvConfig) -> ExactSolution:
    """The optimal expected return of one user's session (``preferences`` ``(N,)``) and an optimal first slate.

    Raises ``ValueError`` naming ``n_items`` and ``session_length`` when there are more than :data:`MAX_STATES`
    count vectors, and ``method`` when the slates are too many to enumerate.
    """
    p = _check(preferences, config)
    value, first, n_states = _recursion(p, config, None)
    return ExactSolution(value, first, n_states)


def policy_value(preferences: ArrayLike, config: EnvConfig, choose: Chooser) -> float:
    """The exact expected return of the policy ``choose(counts (S, N), steps_remaining (S,)) -> slates (S, k)``.

    ``choose`` is called once per step with every state of that step (consumption counts with ``sum <= t``).
    """
    p = _check(preferences, config)
    if not callable(choose):
        raise ValueError(f"choose must be callable, got {type(choose).__name__}")
    return _recursion(p, config, choose)[0]
