"""The best expected return with the preferences known: computed (:func:`~recbook.planning.oracle_return`) and checked
by
enumeration (:func:`~recbook.planning.brute_force_optimum`).

Users who stay (``leave_rate = 0``): the optimum is the sum of the ``T`` largest marginals ``p[a] m(k)``
(:mod:`recbook.planning.marginals`), which the greedy :class:`recbook.policies.Oracle` attains. Users who may leave:
the planner's plan (:func:`recbook.planning.plan`), an achievable return, exact on every instance small enough to
enumerate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recbook.config import EnvConfig
from recbook.planning.leave import plan_return, plan_value
from recbook.planning.marginals import count_vectors, next_marginals, top_sum

__all__ = ["brute_force_optimum", "brute_force_plan", "oracle_return"]

#: Most count vectors :func:`~recbook.planning.brute_force_optimum` enumerates; users who leave need an ordered
#: evaluation per vector,
#: which costs far more memory than the exposure sum, hence the smaller limit.
MAX_COUNT_VECTORS: int = 1_000_000
MAX_COUNT_VECTORS_LEAVE: int = 200_000


def _check_config(config: Any) -> EnvConfig:
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    return config


def oracle_return(preferences: Any, config: EnvConfig) -> NDArray[np.float64]:
    """The oracle's (optimal) expected return per user: the sum of the ``T`` largest marginals ``p[a] m(k)``.

    ``preferences`` has shape ``(K, n)`` (or ``(n,)``); returns shape ``(K,)`` (or a 0-d array). Equal to the
    return of :class:`recbook.policies.Oracle` under expected feedback, without running a session.

    With ``leave_rate > 0`` it is the expected return of the planner's plan (:func:`recbook.planning.plan`), computed
    exactly for that plan: an achievable return, hence a lower bound on the optimum, exact on every instance small
    enough to check by brute force. About 1 s per 1,000 users of ``n = 10``, ``T = 20`` (numpy, one thread).
    """
    _check_config(config)
    p = np.asarray(preferences, dtype=np.float64)
    if config.leave_rate > 0:
        if p.ndim == 1:
            return plan_return(p[None], config)[0]
        return plan_return(p, config)
    total = config.session_length
    return top_sum(next_marginals(p, config.decay_model, total), total)


def brute_force_optimum(preferences: Any, config: EnvConfig) -> float:
    """Best expected return of any recommendation sequence for one user ``(n,)``, by exhaustive enumeration.

    The return of a sequence depends only on its count vector ``c`` and, for users who stay, equals
    ``sum_a p[a] * exposure(c_a)``; enumerating the ``C(T + n - 1, n - 1)`` count vectors covers all ``n^T``
    sequences. With ``leave_rate > 0`` each count vector is valued in its optimal order
    (:func:`recbook.planning.plan_value`; exact by the exchange argument). For tiny instances only: it refuses more
    than ``MAX_COUNT_VECTORS`` count vectors (``MAX_COUNT_VECTORS_LEAVE`` with ``leave_rate > 0``).
    """
    _check_config(config)
    p = np.asarray(preferences, dtype=np.float64)
    n, total = config.n_items, config.session_length
    if p.shape != (n,):
        raise ValueError(f"preferences must have shape ({n},), got {p.shape}")
    leave = config.leave_rate > 0
    if math.comb(total + n - 1, n - 1) > (MAX_COUNT_VECTORS_LEAVE if leave else MAX_COUNT_VECTORS):
        raise ValueError(f"brute_force_optimum is for tiny instances; n_items={n}, session_length={total} is too big")
    counts = count_vectors(n, total)
    if leave:
        return float(plan_value(p[None], config, counts[None]).max())
    exposure = config.decay_model.exposure_table(total)
    return float((p * exposure[counts]).sum(axis=1).max())


def brute_force_plan(preferences: Any, config: EnvConfig) -> float:
    """Deprecated name, kept for one release: use :func:`~recbook.planning.brute_force_optimum` (the same
    enumeration)."""
    return brute_force_optimum(preferences, config)
