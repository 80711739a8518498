"""Marginal rewards: the table every full-information plan is read from, and the count vectors of a session.

The k-th recommendation of item ``a`` earns ``p[a] m(k)`` in expectation (``m`` the decay multiplier), whatever
else the session recommends: items do not interact and only an item's own count matters. So with known
preferences the best ``s`` further recommendations are the ``s`` largest entries of the table of *next marginals*
``{p[a] m(c[a] + j), j >= 1}`` (each item's marginals fall with ``j``, so the largest entries form prefixes and are
achievable; chapter 2's exchange argument). :func:`~recbook.planning.next_marginals` builds that table,
:func:`~recbook.planning.cumulative_top` and
:func:`~recbook.planning.top_sum` read the sum of its ``s`` largest entries — for the oracle
(:func:`recbook.planning.oracle_return`),
the Bayes bounds and the look-ahead policy (:mod:`recbook.planning.bounds`).

A session's return depends only on its *count vector* (how often each item is recommended);
:func:`~recbook.planning.count_vectors` lists them all, which is how :func:`recbook.planning.brute_force_optimum` checks
the
planners by enumeration.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recbook.response import DecayModel

__all__ = ["count_vectors", "cumulative_top", "next_marginals", "top_sum"]


def next_marginals(
    values: ArrayLike, decay_model: DecayModel, horizon: int, counts: ArrayLike | None = None
) -> NDArray[np.float64]:
    """The table of next marginals ``values[a] * m(counts[a] + j)``, ``j = 1 .. horizon``, flattened per row.

    ``values`` (and ``counts``, default zeros) have shape ``(..., n)``; returns ``(..., n * horizon)``.
    """
    values = np.asarray(values, dtype=np.float64)
    if counts is None:
        multiplier = decay_model.multiplier(np.arange(1, horizon + 1))
    else:
        multiplier = decay_model.multiplier(np.asarray(counts, dtype=np.int64)[..., None] + np.arange(1, horizon + 1))
    return (values[..., None] * multiplier).reshape(*values.shape[:-1], -1)


def cumulative_top(marginals: NDArray[np.float64]) -> NDArray[np.float64]:
    """``table[..., s]`` = sum of the ``s`` largest entries of each row of ``marginals`` ``(..., m)``; ``(..., m + 1)``.

    Entries are added from the largest down, so ``table[..., s]`` is the same number for every ``s``-prefix.
    """
    ordered = -np.sort(-marginals, axis=-1)
    return np.concatenate([np.zeros((*ordered.shape[:-1], 1)), np.cumsum(ordered, axis=-1)], axis=-1)


def top_sum(marginals: NDArray[np.float64], steps: int | ArrayLike) -> NDArray[np.float64]:
    """Sum of the ``steps`` largest entries of each row of ``marginals`` ``(..., m)``; returns ``(...)``.

    ``steps`` is one int for every row (then a partial sort, ``O(m)`` per row: the oracle's whole-session sum) or
    an int array ``(...)`` of per-row counts (read from :func:`~recbook.planning.cumulative_top`); either is clipped to
    ``[0, m]``.
    The two paths add in a different order, so they agree to rounding, not bit for bit.
    """
    if isinstance(steps, (int, np.integer)):
        size = marginals.shape[-1]
        steps = min(max(int(steps), 0), size)
        if steps == 0:
            return np.zeros(marginals.shape[:-1])
        return np.partition(marginals, size - steps, axis=-1)[..., size - steps :].sum(axis=-1)
    cumulative = cumulative_top(marginals)
    steps = np.clip(np.asarray(steps, dtype=np.int64), 0, marginals.shape[-1])
    return np.take_along_axis(cumulative, steps[..., None], axis=-1)[..., 0]


def count_vectors(n_items: int, total: int) -> NDArray[np.int64]:
    """Every ``n_items``-vector of non-negative integers summing to ``total`` (stars and bars), ``(M, n_items)``
    with ``M = C(total + n_items - 1, n_items - 1)``, in lexicographic order of the bars."""
    vectors = []
    for bars in itertools.combinations(range(total + n_items - 1), n_items - 1):
        edges = (-1, *bars, total + n_items - 1)
        vectors.append([edges[i + 1] - edges[i] - 1 for i in range(n_items)])
    return np.array(vectors, dtype=np.int64).reshape(-1, n_items)
