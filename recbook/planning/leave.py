"""The full-information planner for sessions that users can leave (``leave_rate > 0``).

Setting. The planner knows the user's preferences ``p`` (shape ``(n,)``), the item qualities ``q`` and the decay
``m``. The k-th recommendation of item ``a`` earns ``r = p[a] m(k)`` in expectation, and after it the user leaves with
probability ``l[a] = leave_rate * (1 - q[a])``. A session of ``T`` recommendations ``a_1 .. a_T`` therefore earns,
in expectation,

    V = sum_t r_t * prod_{s < t} (1 - l_{a_s}),

the reward of each step weighted by the probability that the user is still there. With full information nothing
random is observed except whether the user left, and after leaving nothing matters, so the best *open-loop*
sequence is the best policy: planning a sequence loses nothing.

Order (exact). Swap two neighbouring recommendations of different items ``x`` then ``y`` (rewards ``r_x``, ``r_y``,
leave probabilities ``l_x``, ``l_y``), with survival ``S`` before them. Every other term is unchanged (each item's
own count before any other step is the same, and so is the survival after the pair, ``S (1 - l_x)(1 - l_y)``),
and the pair contributes ``S (r_x + (1 - l_x) r_y)`` in one order and ``S (r_y + (1 - l_y) r_x)`` in the other.
The first is at least the second exactly when ``r_x l_y >= r_y l_x``, i.e. ``r_x / l_x >= r_y / l_y``. So for a
fixed multiset of recommendations (a *count vector* ``c``, ``sum c = T``) the best order sorts the recommendations
by the index ``r / l``, decreasing (``l = 0`` is an infinite index: a recommendation that cannot lose the user goes
first). Within one item the k-th recommendation has a smaller reward and the same ``l`` as the (k-1)-th, so the
sorted order never puts them in the wrong order: the sorted order is a valid session. That reduces planning to
choosing ``c``: :func:`plan_value` evaluates a count vector exactly.

Choosing the count vector (a search, not a proof). There are ``C(T + n - 1, n - 1)`` count vectors (10 015 005 for
``n = 10``, ``T = 20``), too many per user. :func:`plan` starts from eight candidates — the ``T`` largest units under
the index ``r / (l + mu)`` for ``mu`` in :data:`START_MU` (``mu = inf`` is the myopic choice, ``mu = 0`` the pure
index) — keeps the best and improves it by *local search*: move one recommendation from one item to another
(``n (n - 1)`` neighbours) while that raises ``V``. The result is an achievable plan, so its value is a **lower
bound** on the optimum; against exhaustive enumeration of all count vectors
(:func:`recbook.planning.brute_force_optimum`) it was exact
on every small instance tested (``tests/test_policies_leave.py``; the chapter reports the measured gap on larger ones).
Everything is vectorised over users with numpy (no numba): about 1 ms per user of ``n = 10``, ``T = 20`` on one
thread, so 20 000 users take 10 to 20 s.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from recbook._checks import check_int, check_reals
from recbook.config import EnvConfig

__all__ = [
    "START_MU",
    "plan",
    "plan_return",
    "plan_value",
    "ordered_sequence",
    "sequence_return",
]

#: Offsets ``mu`` of the starting candidates ``top-T by r / (l + mu)``; ``inf`` is the myopic choice.
START_MU: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, math.inf)
_CHUNK = 128  # users per block: 128 to 512 measured alike; larger blocks fall out of cache


def _units(
    preferences: NDArray[np.float64], config: EnvConfig, counts: NDArray[np.int64], horizon: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Rewards ``(K, n, horizon)`` of each item's next ``horizon`` recommendations and leave probabilities ``(n,)``."""
    multiplier = config.decay_model.multiplier(np.arange(1, counts.max(initial=0) + horizon + 1))
    index = counts[:, :, None] + np.arange(horizon)  # (K, n, h): 0-based position of the j-th next one
    rewards = preferences[:, :, None] * multiplier[index]
    leave = config.leave_probability(np.arange(config.n_items))
    return rewards, leave


def _index(rewards: NDArray[np.float64], leave: NDArray[np.float64], mu: float) -> NDArray[np.float64]:
    """The ordering index ``r / (l + mu)`` (``inf`` where ``l + mu == 0`` and ``r > 0``; ``r`` when ``mu = inf``)."""
    if math.isinf(mu):
        return rewards.copy()
    denominator = np.broadcast_to((leave + mu)[:, None], rewards.shape[1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        index = rewards / denominator
    return np.where(denominator > 0, index, np.where(rewards > 0, np.inf, 0.0))


class _Evaluator:
    """Exact value of count vectors for a batch of users: units in their fixed index order, masked by prefix."""

    def __init__(self, rewards: NDArray[np.float64], leave: NDArray[np.float64]) -> None:
        k, n, h = rewards.shape
        key = _index(rewards, leave, 0.0).reshape(k, n * h)
        # Stable sort, ties broken by item then position: within an item the order is then always by position.
        self.order = np.argsort(-key, axis=1, kind="stable")
        self.item = self.order // h  # (K, n*h)
        self.position = self.order % h  # 0-based: the unit is the (position+1)-th next recommendation
        self.reward = np.take_along_axis(rewards.reshape(k, n * h), self.order, axis=1)
        self.stay = 1.0 - leave[self.item]
        self.n_items, self.horizon = n, h

    def value(self, counts: NDArray[np.int64], rows: NDArray[np.int64] | None = None) -> NDArray[np.float64]:
        """``V`` of count vectors ``(K', M, n)`` for users ``rows`` (all by default); returns ``(K', M)``."""
        sel = slice(None) if rows is None else rows
        item, position = self.item[sel], self.position[sel]
        reward, stay = self.reward[sel], self.stay[sel]
        # Units that no count vector here can reach (position >= the largest count) are dropped; every item keeps
        # the same number of units, so the compressed rows keep the index order and a common length.
        reach = int(min(max(counts.max(initial=0), 1), self.horizon))
        if reach < self.horizon:
            keep = position < reach
            shape = (position.shape[0], self.n_items * reach)
            item, position = item[keep].reshape(shape), position[keep].reshape(shape)
            reward, stay = reward[keep].reshape(shape), stay[keep].reshape(shape)
        onehot = (item[:, None, :] == np.arange(self.n_items)[None, :, None]).astype(np.float64)  # (K', n, U)
        limit = np.matmul(counts.astype(np.float64), onehot)  # (K', M, U): the count of each unit's item
        chosen = position[:, None, :] < limit
        factor = np.where(chosen, stay[:, None, :], 1.0)
        survival = np.ones_like(factor)  # probability that the user is still there before each unit
        np.cumprod(factor[..., :-1], axis=2, out=survival[..., 1:])
        return (np.where(chosen, reward[:, None, :], 0.0) * survival).sum(axis=2)


def _starts(rewards: NDArray[np.float64], leave: NDArray[np.float64], horizon: int) -> NDArray[np.int64]:
    """Count vectors ``(K, len(START_MU), n)``: the ``horizon`` largest units under each index ``r / (l + mu)``."""
    k, n, h = rewards.shape
    starts = np.empty((k, len(START_MU), n), dtype=np.int64)
    for m, mu in enumerate(START_MU):
        key = _index(rewards, leave, mu).reshape(k, n * h)
        top = np.argpartition(-key, horizon - 1, axis=1)[:, :horizon] // h
        starts[:, m] = np.apply_along_axis(np.bincount, 1, top, minlength=n) if k else 0
    return starts


def _moves(n: int) -> NDArray[np.int64]:
    """All ``n (n - 1)`` moves as a ``(n (n - 1), n)`` array of count changes (-1 on one item, +1 on another)."""
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    delta = np.zeros((len(pairs), n), dtype=np.int64)
    for i, (a, b) in enumerate(pairs):
        delta[i, a], delta[i, b] = -1, 1
    return delta


def _plan_chunk(
    preferences: NDArray[np.float64], config: EnvConfig, counts: NDArray[np.int64], horizon: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    rewards, leave = _units(preferences, config, counts, horizon)
    evaluator = _Evaluator(rewards, leave)
    starts = _starts(rewards, leave, horizon)
    values = evaluator.value(starts)
    best = np.argmax(values, axis=1)
    current = starts[np.arange(len(starts)), best]  # (K, n)
    current_value = values[np.arange(len(starts)), best]
    delta = _moves(config.n_items)
    active = np.arange(len(current))
    while active.size:
        neighbours = current[active][:, None, :] + delta  # (K', M, n)
        valid = (neighbours >= 0).all(axis=2)
        neighbour_value = np.where(valid, evaluator.value(np.maximum(neighbours, 0), active), -np.inf)
        choice = np.argmax(neighbour_value, axis=1)
        gain = neighbour_value[np.arange(active.size), choice]
        improved = gain > current_value[active] * (1 + 1e-12) + 1e-15
        rows = active[improved]
        current[rows] = neighbours[improved, choice[improved]]
        current_value[rows] = gain[improved]
        active = rows
    return current, current_value


def _check(preferences: object, config: EnvConfig) -> NDArray[np.float64]:
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    return check_reals(preferences, "preferences", low=0.0, shape=(None, config.n_items))


def plan(
    preferences: object,
    config: EnvConfig,
    counts: object = None,
    horizon: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The planner's count vectors and their expected returns.

    Args:
        preferences: true preferences, shape ``(K, n)``.
        config: the environment (decay, ``leave_rate``, item qualities).
        counts: recommendations already made this session, int ``(K, n)`` (default zeros).
        horizon: recommendations left to plan (default ``session_length``), at least 1.

    Returns:
        ``(plan_counts, value)``: the chosen count vectors ``(K, n)`` (each row sums to ``horizon``) and their
        exact expected returns ``(K,)`` when followed in index order (see the module docstring).
    """
    p = _check(preferences, config)
    horizon = config.session_length if horizon is None else check_int(horizon, "horizon", low=1)
    start = np.zeros(p.shape, dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    if start.shape != p.shape or np.any(start < 0):
        raise ValueError(f"counts must be non-negative integers of shape {p.shape}, got {start.shape}")
    plan_counts = np.zeros(p.shape, dtype=np.int64)
    values = np.zeros(len(p))
    for begin in range(0, len(p), _CHUNK):
        rows = slice(begin, begin + _CHUNK)
        plan_counts[rows], values[rows] = _plan_chunk(p[rows], config, start[rows], horizon)
    return plan_counts, values


def plan_value(
    preferences: object, config: EnvConfig, plan_counts: object, counts: object = None
) -> NDArray[np.float64]:
    """Exact expected return ``(K,)`` of count vectors ``(K, n)`` (or ``(K, M, n)`` giving ``(K, M)``) in index
    order."""
    p = _check(preferences, config)
    c = np.asarray(plan_counts, dtype=np.int64)
    squeeze = c.ndim == 2
    c = c[:, None, :] if squeeze else c
    if c.shape[0] != p.shape[0] or c.shape[-1] != p.shape[1] or np.any(c < 0):
        raise ValueError(f"plan_counts must be non-negative integers of shape {p.shape}, got {c.shape}")
    start = np.zeros(p.shape, dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    horizon = int(max(c.max(initial=0), 1))
    rewards, leave = _units(p, config, start, horizon)
    value = _Evaluator(rewards, leave).value(c)
    return value[:, 0] if squeeze else value


def sequence_return(preferences: object, config: EnvConfig, actions: object) -> NDArray[np.float64]:
    """Exact expected return ``(K,)`` of fixed sequences ``actions`` ``(K, T')`` (any order, no sorting)."""
    p = _check(preferences, config)
    a = np.asarray(actions, dtype=np.int64)
    if a.ndim != 2 or a.shape[0] != p.shape[0] or np.any(a < 0) or np.any(a >= config.n_items):
        raise ValueError(f"actions must be item indices of shape ({p.shape[0]}, T), got {a.shape}")
    k = len(p)
    counts = np.zeros(p.shape, dtype=np.int64)
    survival = np.ones(k)
    total = np.zeros(k)
    rows = np.arange(k)
    for t in range(a.shape[1]):
        item = a[:, t]
        counts[rows, item] += 1
        total += survival * p[rows, item] * config.decay_model.multiplier(counts[rows, item])
        survival *= 1.0 - config.leave_probability(item)
    return total


def plan_return(preferences: object, config: EnvConfig) -> NDArray[np.float64]:
    """The planner's expected return per user ``(K,)`` for a whole session (no recommendations made yet)."""
    return plan(preferences, config)[1]


def ordered_sequence(preferences: object, config: EnvConfig, plan_counts: object) -> NDArray[np.int64]:
    """The recommendations of count vectors ``(K, n)`` in index order, ``(K, sum)`` (rows must sum alike)."""
    p = _check(preferences, config)
    c = np.asarray(plan_counts, dtype=np.int64)
    horizon = int(c.sum(axis=1).max(initial=0))
    if np.any(c.sum(axis=1) != horizon):
        raise ValueError("every row of plan_counts must have the same sum")
    rewards, leave = _units(p, config, np.zeros(p.shape, dtype=np.int64), max(horizon, 1))
    ev = _Evaluator(rewards, leave)
    chosen = ev.position < np.take_along_axis(c, ev.item, axis=1)
    return ev.item[chosen].reshape(len(p), horizon)
