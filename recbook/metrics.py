"""Per-session metrics: pure numpy functions of the arrays a :class:`~recbook.evaluation.Rollout` holds.

Every function takes arrays whose rows are sessions — ``actions`` of shape ``(K, T)`` (item indices), ``rewards``
and ``engagement`` of shape ``(K, T)`` — and returns one number per session, shape ``(K,)``. Aggregation over users
(means, confidence intervals, paired differences) lives in :mod:`recbook.evaluation`.

=================  =====================================================================================
metric             per session
=================  =====================================================================================
return             sum of rewards (clicks under click feedback)
expected return    sum of engagement probabilities (the return's expectation given the actions)
% of oracle        ``100 * expected_return / oracle_return``
regret             ``oracle_return - expected_return``
engagement rate    mean engagement probability per recommendation (pass ``rewards`` for the click rate)
coverage           distinct items recommended / ``n_items``
entropy            Shannon entropy of the recommendation distribution ``counts / T``, in nats by default
gini               Gini coefficient of the per-item counts: 0 = perfectly even, ``(n - 1) / n`` = one item only
repeat rate        fraction of the ``T`` recommendations that repeat an item already recommended this session
=================  =====================================================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recbook._checks import check_int, check_real

__all__ = [
    "recommendation_counts",
    "session_return",
    "percent_of_oracle",
    "pct_oracle",
    "regret",
    "engagement_rate",
    "coverage",
    "entropy",
    "gini",
    "repeat_rate",
    "session_metrics",
    "METRIC_COLUMNS",
]


def _sessions(array: ArrayLike, name: str) -> NDArray[Any]:
    values = np.asarray(array)
    if values.ndim != 2 or values.shape[1] == 0:
        raise ValueError(
            f"{name} must have shape (n_sessions, session_length) with session_length >= 1, got {values.shape}"
        )
    return values


def _actions(actions: ArrayLike, n_items: int) -> NDArray[np.int64]:
    values = _sessions(actions, "actions")
    check_int(n_items, "n_items", low=1)
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"actions must be integer item indices, got dtype {values.dtype}")
    if values.size and (values.min() < -1 or values.max() >= n_items):
        raise ValueError(f"actions must be in [0, {n_items}) (or -1: no recommendation, the user had left)")
    return values.astype(np.int64)


def recommendation_counts(actions: ArrayLike, n_items: int) -> NDArray[np.int64]:
    """How often each item was recommended in each session: shape ``(K, n_items)``.

    Rows sum to the number of recommendations made (``T``, less the steps after a user left: action ``-1``).
    """
    acts = _actions(actions, n_items)
    k = acts.shape[0]
    flat = (acts + n_items * np.arange(k)[:, None])[acts >= 0]
    return np.bincount(flat, minlength=k * n_items).reshape(k, n_items)


def session_return(rewards: ArrayLike) -> NDArray[np.float64]:
    """Sum over the session, shape ``(K,)``; pass ``engagement`` for the expected return."""
    return _sessions(rewards, "rewards").astype(np.float64).sum(axis=1)


def percent_of_oracle(expected_return: ArrayLike, oracle_return: ArrayLike) -> NDArray[np.float64]:
    """``100 * expected_return / oracle_return`` per session (the oracle's return is positive for every user)."""
    oracle = np.asarray(oracle_return, dtype=np.float64)
    if np.any(oracle <= 0):
        raise ValueError("oracle_return must be positive")
    return 100.0 * np.asarray(expected_return, dtype=np.float64) / oracle


def pct_oracle(expected_return: ArrayLike, oracle_return: ArrayLike, axis: int = -1) -> Any:
    """What the book calls "% of oracle": ``100 * mean(expected_return) / mean(oracle_return)`` along ``axis``.

    A ratio of means, not the mean of per-session ratios: total engagement over total achievable engagement, so
    a user with little to gain does not weigh as much as one with a lot. Every table, learning curve, sweep and
    widget computes it here. Returns a float for 1-d input (an array for batched bootstrap resamples).
    """
    expected = np.asarray(expected_return, dtype=np.float64)
    oracle = np.asarray(oracle_return, dtype=np.float64)
    if expected.shape != oracle.shape:
        raise ValueError(
            f"expected_return and oracle_return must have the same shape, got {expected.shape} and {oracle.shape}"
        )
    denominator = oracle.mean(axis=axis)
    if np.any(denominator <= 0):
        raise ValueError("oracle_return must have a positive mean")
    value = 100.0 * expected.mean(axis=axis) / denominator
    return float(value) if np.ndim(value) == 0 else value


def regret(expected_return: ArrayLike, oracle_return: ArrayLike) -> NDArray[np.float64]:
    """``oracle_return - expected_return`` per session (non-negative up to rounding)."""
    return np.asarray(oracle_return, dtype=np.float64) - np.asarray(expected_return, dtype=np.float64)


def engagement_rate(engagement: ArrayLike) -> NDArray[np.float64]:
    """Mean per recommendation: of engagement probabilities, or of clicks (the click rate) if given ``rewards``."""
    return _sessions(engagement, "engagement").astype(np.float64).mean(axis=1)


def coverage(actions: ArrayLike, n_items: int) -> NDArray[np.float64]:
    """Fraction of the catalogue recommended at least once in the session, in ``[1/n, min(T, n)/n]``."""
    return (recommendation_counts(actions, n_items) > 0).sum(axis=1) / n_items


def entropy(actions: ArrayLike, n_items: int, base: float | None = None) -> NDArray[np.float64]:
    """Shannon entropy of ``counts / T`` per session; nats by default, ``base=2`` for bits.

    0 when one item fills the session; ``log(min(T, n))`` at most (every recommendation a different item).
    """
    counts = recommendation_counts(actions, n_items).astype(np.float64)
    share = counts / counts.sum(axis=1, keepdims=True)
    terms = np.where(share > 0, -share * np.log(np.where(share > 0, share, 1.0)), 0.0)
    value = terms.sum(axis=1)
    if base is not None:
        if check_real(base, "base", low=0.0, low_open=True) == 1:
            raise ValueError(f"base must be positive and not 1, got {base!r}")
        value = value / np.log(base)
    return value


def gini(counts: ArrayLike) -> NDArray[np.float64]:
    """Gini coefficient of each row of non-negative ``counts`` (shape ``(K, n)``).

    ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))``: 0 when every item is recommended equally often,
    ``(n - 1) / n`` when a single item takes every recommendation. Items never recommended count as zeros, so
    it measures concentration over the whole catalogue.
    """
    values = _sessions(counts, "counts").astype(np.float64)
    if np.any(values < 0):
        raise ValueError("counts must be non-negative")
    n = values.shape[1]
    ordered = np.sort(values, axis=1)
    # With x sorted ascending, sum_ij |x_i - x_j| = 2 sum_i (2i - n - 1) x_i  (i = 1..n).
    weights = 2.0 * np.arange(1, n + 1) - n - 1.0
    total = values.sum(axis=1)
    return np.divide(
        (weights * ordered).sum(axis=1), n * total, out=np.zeros(values.shape[0]), where=total > 0
    )


def repeat_rate(actions: ArrayLike, n_items: int) -> NDArray[np.float64]:
    """Fraction of recommendations whose item was already recommended earlier in the session.

    ``(made - distinct) / made`` with ``made`` the recommendations made (``T`` unless the user left).
    """
    acts = _actions(actions, n_items)
    counts = recommendation_counts(acts, n_items)
    made = np.maximum(counts.sum(axis=1), 1)
    return (made - (counts > 0).sum(axis=1)) / made


#: The per-session metrics, by name, in the order of :func:`session_metrics` and of ``evaluate``'s columns.
METRIC_COLUMNS: tuple[str, ...] = (
    "return",
    "expected_return",
    "oracle_return",
    "pct_oracle",
    "regret",
    "engagement_rate",
    "coverage",
    "entropy",
    "gini",
    "repeat_rate",
)


def session_metrics(
    actions: ArrayLike,
    rewards: ArrayLike,
    engagement: ArrayLike,
    oracle_return: ArrayLike,
    n_items: int,
    entropy_base: float | None = None,
) -> dict[str, NDArray[np.float64]]:
    """All per-session metrics as a dict of ``(K,)`` arrays (keys are the columns of ``evaluate``'s table).

    ``engagement_rate`` is the mean engagement probability; under click feedback ``return / T`` is the click rate.
    """
    expected = session_return(engagement)
    counts = recommendation_counts(actions, n_items)
    metrics = {
        "return": session_return(rewards),
        "expected_return": expected,
        "oracle_return": np.asarray(oracle_return, dtype=np.float64),
        "pct_oracle": percent_of_oracle(expected, oracle_return),
        "regret": regret(expected, oracle_return),
        "engagement_rate": engagement_rate(engagement),
        "coverage": (counts > 0).sum(axis=1) / n_items,
        "entropy": entropy(actions, n_items, base=entropy_base),
        "gini": gini(counts),
        "repeat_rate": repeat_rate(actions, n_items),
    }
    return {name: metrics[name] for name in METRIC_COLUMNS}
