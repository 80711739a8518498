"""Importance weights of a target policy on logs, and how well the logs overlap with it.

``rho_t = pi(a_t | s_t) / mu(a_t | s_t)`` compares the target's probability of each logged action with the
logging policy's; the cumulative weights ``w_t = rho_0 ... rho_t`` reweight the logged sessions into the target's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from recbook.ope.logs import Logs, convert_observations

__all__ = ["effective_sample_size", "importance_weights", "overlap", "target_probabilities"]


def _target_view(logs: Logs, target: Any) -> NDArray[np.float64]:
    """The logged observations ``(n, T, d')`` in the observation mode the target policy reads."""
    wanted = getattr(target, "observation", None) or logs.config.observation
    return convert_observations(logs.observations, logs.config, wanted)


def target_probabilities(logs: Logs, target: Any) -> NDArray[np.float64]:
    """``pi(a | s_t)`` of the target for every logged observation and item, shape ``(n, T, n_items)``."""
    if not callable(getattr(target, "action_probabilities", None)):
        raise ValueError(f"target {target!r} has no action_probabilities()")
    view = _target_view(logs, target)
    n, horizon, d = view.shape
    probabilities = np.asarray(target.action_probabilities(view.reshape(n * horizon, d)), dtype=np.float64)
    if probabilities.shape != (n * horizon, logs.config.n_items):
        raise ValueError(f"target.action_probabilities returned shape {probabilities.shape}")
    return probabilities.reshape(n, horizon, logs.config.n_items)


def importance_weights(
    logs: Logs, target: Any, probabilities: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Per-step ratios ``rho_t = pi(a_t | s_t) / mu(a_t | s_t)``, shape ``(n, T)``.

    The cumulative weights are ``np.cumprod(rho, axis=1)``; the trajectory weight is its last column. After a
    user left (action -1) the ratio is 1.
    """
    if probabilities is None:
        probabilities = target_probabilities(logs, target)
    logged = np.take_along_axis(probabilities, logs.actions[..., None], axis=2)[..., 0]
    ratios = logged / logs.propensities
    # After an exit (action -1) there is no decision: the ratio is 1 and the weight carries on unchanged.
    return ratios if logs.active.all() else np.where(logs.active, ratios, 1.0)


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of non-negative weights (0 if all are 0)."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative")
    total = float((w**2).sum())
    return float(w.sum() ** 2 / total) if total > 0 else 0.0


def overlap(logs: Logs, target: Any) -> pd.DataFrame:
    """Overlap diagnostics per step: how well the logs cover what the target would do.

    One row per step ``t`` with the cumulative weights ``w_t = rho_0 ... rho_t``: ``ess`` (Kish) and
    ``ess_fraction`` (``ess / n``), ``mean_weight`` (1 in expectation when the target's support is covered),
    ``max_weight``, the weights' ``q50``, ``q99``, and ``zero_fraction`` (sessions the target would never have
    produced up to ``t``). The last row is the trajectory weight that IS and WIS use.
    """
    cumulative = np.cumprod(importance_weights(logs, target), axis=1)
    rows = []
    for t in range(logs.horizon):
        w = cumulative[:, t]
        ess = effective_sample_size(w)
        rows.append(
            {
                "step": t,
                "ess": ess,
                "ess_fraction": ess / logs.n_sessions,
                "mean_weight": float(w.mean()),
                "max_weight": float(w.max()),
                "q50": float(np.quantile(w, 0.5)),
                "q99": float(np.quantile(w, 0.99)),
                "zero_fraction": float((w == 0).mean()),
            }
        )
    return pd.DataFrame(rows).set_index("step")

