"""Slate search: the slate that maximises the expected value of what the user does with it, for many users at once.

Every slate policy of :mod:`recbook.slates` (myopic, quality-aware, lookahead, Bayesian) and the exact DP of
:mod:`recbook.slates.exact` solve one problem per user: each item ``i`` is worth ``v_i`` if the user takes it and
"nothing" is worth ``v_0``; find the slate ``S`` of ``k`` distinct items (positions in order) maximising

    ``V(S) = sum_{j} P(S_j | S) v_{S_j} + P(nothing | S) v_0``,

with the choice probabilities of :mod:`recbook.choice` (scores ``s_i = N p_i m(c_i + 1)``). The myopic slate has
``v_i`` = the reward of taking ``i`` and ``v_0 = 0``; a one-step rule adds a continuation value to both.

Methods (``method=``):

* ``"enumerate"`` — exact: every candidate is scored. Under ``"mnl"`` positions do not matter, so the candidates
  are the ``C(N, k)`` combinations (in increasing item order); under ``"cascade"`` they are the ``N! / (N - k)!``
  ordered slates (order matters there). Refused (``ValueError`` naming ``method``) above
  :data:`MAX_ENUMERATE` candidates.
* ``"fractional"`` — ``"mnl"`` only, **exact** for any ``N``. ``V(S) = (sum_{S} s_i v_i + nu v_0) / (sum_{S} s_i +
  nu)`` is a ratio of sums, so Dinkelbach's method applies: for a trial value ``lam`` the slate maximising
  ``sum_S s_i (v_i - lam) + nu (v_0 - lam)`` is the top ``k`` of ``s_i (v_i - lam)``; setting ``lam`` to that
  slate's value and repeating increases ``lam`` strictly until no slate beats it, which then is the optimum (a
  finite number of iterations; a handful in practice). Cost ``O(N)`` per iteration and user instead of ``C(N, k)``.
* ``"sorted"`` — ``"cascade"`` only. Swapping neighbouring items ``x`` before ``y`` changes ``V`` by
  ``a^2 t_x t_y (v_x - v_y)`` when both positions have the same attention ``a`` (``t = s / (s + nu)``), whatever
  follows, so with a constant attention the best order of a given set is by decreasing ``v``, and a DP over the items
  in that order (take or skip each, ``O(N k)``) finds the best set: **exact with a constant attention**. With
  position-dependent attention the best order may differ: the DP's slate is then improved by local search (swap
  two positions, or replace one item by an item not shown, while that raises ``V``), which ends at a local
  optimum: an approximation, a lower bound on the best value.
* ``"auto"`` (default) — ``"fractional"`` for ``"mnl"``; ``"sorted"`` for ``"cascade"`` with a constant attention;
  otherwise ``"enumerate"`` when there are at most :data:`MAX_ENUMERATE` ordered candidates, else ``"sorted"``.

Arrays: ``scores``, ``item_values`` ``(K, N)`` and ``none_value`` ``(K,)``, for ``K`` users; ties go to the first
candidate found (enumeration: the first in candidate order). Returned slates are ``(K, k)`` int64.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recbook._checks import check_choice
from recbook.choice import choice_probabilities
from recbook.config import EnvConfig

__all__ = ["MAX_ENUMERATE", "METHODS", "best_slates", "candidate_slates", "n_candidates", "slate_values"]

#: Search methods of :func:`best_slates`.
METHODS: tuple[str, ...] = ("auto", "enumerate", "fractional", "sorted")
#: The largest number of candidate slates ``"enumerate"`` scores (``"auto"`` enumerates up to it).
MAX_ENUMERATE = 5040
_CELLS = 2_000_000  # users x candidates x k per block of the enumeration (bounds memory to tens of MB)
_MAX_ITERATIONS = 100


def n_candidates(n_items: int, slate_size: int, ordered: bool) -> int:
    """``C(N, k)`` unordered or ``N! / (N - k)!`` ordered slates."""
    return math.perm(n_items, slate_size) if ordered else math.comb(n_items, slate_size)


def candidate_slates(n_items: int, slate_size: int, ordered: bool) -> NDArray[np.int64]:
    """Every slate, ``(M, k)`` int64: combinations in lexicographic order, or all ordered slates (``ordered``)."""
    maker = itertools.permutations if ordered else itertools.combinations
    return np.array(list(maker(range(n_items), slate_size)), dtype=np.int64).reshape(-1, slate_size)


def _check(
    config: EnvConfig, scores: ArrayLike, item_values: ArrayLike, none_value: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != config.n_items:
        raise ValueError(f"scores must have shape (K, {config.n_items}), got {s.shape}")
    v = np.asarray(item_values, dtype=np.float64)
    if v.shape != s.shape:
        raise ValueError(f"item_values must have the shape of scores {s.shape}, got {v.shape}")
    v0 = np.asarray(none_value, dtype=np.float64)
    if v0.shape != s.shape[:1]:
        raise ValueError(f"none_value must have shape ({s.shape[0]},), got {v0.shape}")
    return s, v, v0


def _value(config: EnvConfig, slate_scores, slate_item_values, none_value) -> NDArray[np.float64]:
    """``V`` from gathered ``(..., k)`` scores and values and ``(...,)`` no-click values."""
    probabilities = choice_probabilities(
        slate_scores, config.choice_model, config.no_click_mass, config.attention_vector
    )
    return (probabilities[..., :-1] * slate_item_values).sum(axis=-1) + probabilities[..., -1] * none_value


def slate_values(
    config: EnvConfig, scores: ArrayLike, item_values: ArrayLike, none_value: ArrayLike, slates: ArrayLike
) -> NDArray[np.float64]:
    """``V(S)`` of each user's slate: ``slates`` ``(K, k)`` gives ``(K,)``; ``(K, M, k)`` gives ``(K, M)``."""
    s, v, v0 = _check(config, scores, item_values, none_value)
    chosen = np.asarray(slates, dtype=np.int64)
    if chosen.ndim not in (2, 3) or chosen.shape[0] != s.shape[0] or chosen.shape[-1] != config.slate_size:
        raise ValueError(f"slates must have shape ({s.shape[0]}, [M,] {config.slate_size}), got {chosen.shape}")
    flat = chosen.reshape(s.shape[0], -1)
    gathered_s = np.take_along_axis(s, flat, axis=1).reshape(chosen.shape)
    gathered_v = np.take_along_axis(v, flat, axis=1).reshape(chosen.shape)
    return _value(config, gathered_s, gathered_v, v0.reshape((-1,) + (1,) * (chosen.ndim - 2)))


def _constant_attention(config: EnvConfig) -> bool:
    attention = config.attention_vector
    return bool(np.all(attention == attention[0]))


def _resolve(config: EnvConfig, method: str) -> str:
    check_choice(method, "method", METHODS)
    mnl = config.choice_model == "mnl"
    if method == "auto":
        if mnl:
            return "fractional"
        if _constant_attention(config) or n_candidates(config.n_items, config.slate_size, True) > MAX_ENUMERATE:
            return "sorted"
        return "enumerate"
    if method == "fractional" and not mnl:
        raise ValueError("method='fractional' needs choice_model='mnl' (the cascade's value is not a ratio of sums)")
    if method == "sorted" and mnl:
        raise ValueError("method='sorted' needs choice_model='cascade' (use 'fractional' for 'mnl')")
    if method == "enumerate":
        count = n_candidates(config.n_items, config.slate_size, not mnl)
        if count > MAX_ENUMERATE:
            raise ValueError(
                f"method='enumerate' would score {count} candidate slates (more than {MAX_ENUMERATE}); "
                "use method='auto'"
            )
    return method


def best_slates(
    config: EnvConfig,
    scores: ArrayLike,
    item_values: ArrayLike,
    none_value: ArrayLike,
    method: str = "auto",
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The slate maximising ``V(S)`` for each user and its value: ``((K, k) int64, (K,))``.

    Args:
        config: the environment (``n_items``, ``slate_size``, ``choice_model``, ``no_click_mass``, ``attention``).
        scores: every item's choice score ``s_i`` (:func:`recbook.choice.choice_scores`), ``(K, N)``, ``>= 0``.
        item_values: the value ``v_i`` of the user taking item ``i``, ``(K, N)``.
        none_value: the value ``v_0`` of the user taking nothing, ``(K,)``.
        method: ``"auto"``, ``"enumerate"``, ``"fractional"`` or ``"sorted"`` (module docstring: which are exact).
    """
    s, v, v0 = _check(config, scores, item_values, none_value)
    method = _resolve(config, method)
    if method == "fractional":
        return _fractional(s, v, v0, config.slate_size, config.no_click_mass)
    if method == "sorted":
        slates = _sorted(s, v, v0, config)
        if not _constant_attention(config):
            slates = _local_search(config, s, v, v0, slates)
    else:
        return _enumerate(config, s, v, v0)
    return slates, slate_values(config, s, v, v0, slates)


def _enumerate(
    config: EnvConfig, s: NDArray[np.float64], v: NDArray[np.float64], v0: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    candidates = candidate_slates(config.n_items, config.slate_size, config.choice_model == "cascade")
    n_users = s.shape[0]
    best = np.zeros(n_users, dtype=np.int64)
    values = np.zeros(n_users)
    block = max(1, _CELLS // candidates.size)
    for begin in range(0, n_users, block):
        rows = slice(begin, begin + block)
        value = _value(config, s[rows][:, candidates], v[rows][:, candidates], v0[rows, None])  # (K', M)
        best[rows] = np.argmax(value, axis=1)
        values[rows] = value[np.arange(value.shape[0]), best[rows]]
    return candidates[best], values


def _ratio(numerator, denominator, fallback) -> NDArray[np.float64]:
    return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), fallback)


def _fractional(
    s: NDArray[np.float64], v: NDArray[np.float64], v0: NDArray[np.float64], k: int, nu: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Dinkelbach's iteration for MNL (exact; see the module docstring): slates ordered by decreasing ``v``, values."""
    n_users, n_items = s.shape
    weighted = s * v

    def top(key: NDArray[np.float64]) -> NDArray[np.int64]:
        if k == n_items:
            return np.broadcast_to(np.arange(n_items), (n_users, k)).copy()
        return np.argpartition(-key, k - 1, axis=1)[:, :k]

    def value(slate: NDArray[np.int64]) -> NDArray[np.float64]:
        numerator = np.take_along_axis(weighted, slate, axis=1).sum(axis=1) + nu * v0
        denominator = np.take_along_axis(s, slate, axis=1).sum(axis=1) + nu
        # With nu = 0 and all scores 0 the user takes a slate item uniformly (recbook.choice): the mean value.
        return _ratio(numerator, denominator, np.take_along_axis(v, slate, axis=1).mean(axis=1))

    slate = top(weighted)
    lam = value(slate)
    for _ in range(_MAX_ITERATIONS):
        candidate = top(weighted - s * lam[:, None])
        new = value(candidate)
        improved = new > lam + 1e-12 * np.maximum(1.0, np.abs(lam))
        if not improved.any():
            break
        slate[improved], lam[improved] = candidate[improved], new[improved]
    order = np.argsort(-np.take_along_axis(v, slate, axis=1), axis=1, kind="stable")
    return np.take_along_axis(slate, order, axis=1).astype(np.int64), lam


def _sorted(
    s: NDArray[np.float64], v: NDArray[np.float64], v0: NDArray[np.float64], config: EnvConfig
) -> NDArray[np.int64]:
    """The best cascade slate in decreasing-``v`` order: take-or-skip DP over the sorted items, ``(K, k)``."""
    n_users, n_items = s.shape
    k, nu = config.slate_size, config.no_click_mass
    attention = config.attention_vector
    order = np.argsort(-v, axis=1, kind="stable")
    rows = np.arange(n_users)
    denominator = s + nu
    take_probability = np.divide(s, denominator, out=np.ones_like(s), where=denominator > 0)
    t_sorted = np.take_along_axis(take_probability, order, axis=1)
    v_sorted = np.take_along_axis(v, order, axis=1)
    # best[m] = the best value of m more items chosen from the sorted items i.. (placed at positions k-m..k-1).
    best = np.zeros((n_users, k + 1))
    best[:, 0] = v0
    took = np.zeros((n_items, n_users, k + 1), dtype=bool)
    for i in range(n_items - 1, -1, -1):
        left = n_items - i  # items i .. N-1
        new = best.copy()
        for m in range(1, min(k, left) + 1):
            examine = attention[k - m] * t_sorted[:, i]
            take = examine * v_sorted[:, i] + (1.0 - examine) * best[:, m - 1]
            if left - 1 >= m:  # skipping item i leaves enough items for m positions
                took[i, :, m] = take > best[:, m]
                new[:, m] = np.maximum(take, best[:, m])
            else:
                took[i, :, m] = True
                new[:, m] = take
        best = new
    slates = np.zeros((n_users, k), dtype=np.int64)
    remaining = np.full(n_users, k)
    for i in range(n_items):
        chosen = (remaining > 0) & took[i, rows, remaining]
        position = k - remaining[chosen]
        slates[rows[chosen], position] = order[chosen, i]
        remaining[chosen] -= 1
    return slates


def _local_search(
    config: EnvConfig, s: NDArray[np.float64], v: NDArray[np.float64], v0: NDArray[np.float64],
    slates: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Best-improvement local search from ``slates`` ``(K, k)``: swap two positions or put an unshown item at one."""
    n_users, k = slates.shape
    n_items = s.shape[1]
    current = slates.copy()
    value = slate_values(config, s, v, v0, current)
    active = np.arange(n_users)
    swaps = [(a, b) for a in range(k) for b in range(a + 1, k)]
    while active.size:
        base = current[active]
        neighbours = []
        for a, b in swaps:
            swapped = base.copy()
            swapped[:, [a, b]] = swapped[:, [b, a]]
            neighbours.append(swapped)
        for position in range(k):
            for item in range(n_items):
                replaced = base.copy()
                replaced[:, position] = item
                neighbours.append(replaced)
        stacked = np.stack(neighbours, axis=1)  # (K', M, k)
        ordered = np.sort(stacked, axis=2)
        valid = np.all(ordered[:, :, 1:] != ordered[:, :, :-1], axis=2)
        candidate = np.where(valid, slate_values(config, s[active], v[active], v0[active], stacked), -np.inf)
        choice = np.argmax(candidate, axis=1)
        gain = candidate[np.arange(active.size), choice]
        improved = gain > value[active] + 1e-12 * np.maximum(1.0, np.abs(value[active]))
        rows = active[improved]
        current[rows] = stacked[improved, choice[improved]]
        value[rows] = gain[improved]
        active = rows
    return current
