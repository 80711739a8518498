"""The sequential off-policy estimators, a small class each on a shared base (as Open Bandit Pipeline has them).

Every estimator reads the same :class:`Weighted` logs (the target's probabilities and the cumulative importance
weights) and returns an :class:`~recbook.ope.intervals.Estimate`; :func:`estimate` is the one entry point,
``estimate(logs, target, method)``. The formulas and why each interval is what it is are in :mod:`recbook.ope`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from recbook import seeds
from recbook._checks import check_int, check_level
from recbook.ope.fqe import QFunction, cross_fit, q_values
from recbook.ope.intervals import Estimate, normal, repeated, studentized
from recbook.ope.logs import Logs
from recbook.ope.weights import effective_sample_size, importance_weights, target_probabilities

__all__ = [
    "DM", "DR", "ESTIMATORS", "IS", "METHODS", "PDIS", "UNBIASED", "WIS", "WPDIS",
    "Estimator", "ModelBasedEstimator", "Weighted", "estimate",
]


@dataclass(frozen=True)
class Weighted:
    """What every estimator reads: the logs, the target's ``pi(a | s_t)`` ``(n, T, n_items)``, the cumulative
    weights ``w_t`` ``(n, T)``, their mean per-step effective sample size, and the options of :func:`estimate`."""

    logs: Logs
    probabilities: NDArray[np.float64]
    w: NDArray[np.float64]
    per_step_ess: float
    level: float
    n_resamples: int
    seed: int
    q_function: QFunction | None
    folds: int
    splits: int


class Estimator:
    """One sequential estimator: a name, whether it is unbiased, and ``estimate(weighted) -> Estimate``."""

    name: ClassVar[str]
    #: Unbiased given exact propensities (and, for DR, a cross-fitted Q).
    unbiased: ClassVar[bool] = False

    def estimate(self, x: Weighted) -> Estimate:
        raise NotImplementedError


class IS(Estimator):
    """Trajectory-wise importance sampling, ``w_{T-1} G``; studentized-bootstrap interval."""

    name = "is"
    unbiased = True

    def estimate(self, x: Weighted) -> Estimate:
        rng = seeds.generator(x.seed, seeds.TEST, "bootstrap", "ope-" + self.name)
        contributions = x.w[:, -1] * x.logs.rewards.sum(axis=1)
        ess = effective_sample_size(x.w[:, -1])
        return studentized(self.name, contributions, ess, x.level, x.n_resamples, rng)


class PDIS(Estimator):
    """Per-decision importance sampling, ``sum_t w_t r_t``; studentized-bootstrap interval."""

    name = "pdis"
    unbiased = True

    def estimate(self, x: Weighted) -> Estimate:
        rng = seeds.generator(x.seed, seeds.TEST, "bootstrap", "ope-" + self.name)
        contributions = (x.w * x.logs.rewards).sum(axis=1)
        return studentized(self.name, contributions, x.per_step_ess, x.level, x.n_resamples, rng)


class WIS(Estimator):
    """Weighted (self-normalised) importance sampling; delta-method normal interval."""

    name = "wis"

    def estimate(self, x: Weighted) -> Estimate:
        weight = x.w[:, -1]
        if weight.sum() == 0:
            raise ValueError("every trajectory weight is 0: the target never takes the logged actions (no overlap)")
        g = x.logs.rewards.sum(axis=1)
        value = float((weight * g).sum() / weight.sum())
        influence = weight * (g - value) / weight.mean()
        return normal(self.name, value, influence, effective_sample_size(weight), x.level)


class WPDIS(Estimator):
    """Weighted per-decision importance sampling; delta-method normal interval."""

    name = "wpdis"

    def estimate(self, x: Weighted) -> Estimate:
        w, r = x.w, x.logs.rewards
        mean_w = w.mean(axis=0)
        if np.any(mean_w == 0):
            raise ValueError("at some step every cumulative weight is 0: no overlap with the target")
        v_t = (w * r).sum(axis=0) / w.sum(axis=0)
        influence = (w * (r - v_t) / mean_w).sum(axis=1)
        return normal(self.name, float(v_t.sum()), influence, x.per_step_ess, x.level)


class ModelBasedEstimator(Estimator):
    """Estimators that read a Q-function: the given one, or fitted Q evaluation with repeated cross-fitting."""

    def models(self, x: Weighted) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``Q_hat(s_t, a_t)`` and ``V_hat(s_t)``, both ``(splits, n, T)`` (one split with a given Q)."""
        if x.q_function is None:
            return cross_fit(x.logs, x.probabilities, x.folds, x.splits, x.seed)
        q = q_values(x.logs, x.q_function)
        q_logged = np.take_along_axis(q, x.logs.actions[..., None], axis=2)[None, ..., 0]
        return q_logged, (x.probabilities * q).sum(axis=2)[None]


class DM(ModelBasedEstimator):
    """The direct method, ``V_hat(s_0)``; normal interval over sessions and splits (blind to model bias)."""

    name = "dm"

    def estimate(self, x: Weighted) -> Estimate:
        _, v = self.models(x)
        return repeated(self.name, v[:, :, 0], float(x.logs.n_sessions), x.level)


class DR(ModelBasedEstimator):
    """Sequential doubly robust (Jiang & Li 2016), cross-fitted; normal interval with the splits' spread."""

    name = "dr"
    unbiased = True

    def estimate(self, x: Weighted) -> Estimate:
        q_logged, v = self.models(x)
        w = x.w
        w_before = np.concatenate([np.ones((x.logs.n_sessions, 1)), w[:, :-1]], axis=1)
        contributions = (w * (x.logs.rewards - q_logged) + w_before * v).sum(axis=2)  # (splits, n)
        return repeated(self.name, contributions, x.per_step_ess, x.level)


#: The estimators of :func:`estimate` by method name, in the order the book tabulates them.
ESTIMATORS: dict[str, Estimator] = {e.name: e for e in (IS(), WIS(), PDIS(), WPDIS(), DM(), DR())}
#: Sequential estimators of :func:`estimate`, in the order the book tabulates them.
METHODS: tuple[str, ...] = tuple(ESTIMATORS)
#: The sequential estimators that are unbiased (given exact propensities and, for DR, a cross-fitted Q).
UNBIASED: tuple[str, ...] = tuple(name for name, e in ESTIMATORS.items() if e.unbiased)


def estimate(
    logs: Logs,
    target: Any,
    method: str = "dr",
    *,
    q_function: QFunction | None = None,
    folds: int = 2,
    splits: int = 5,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Estimate the target's value (mean undiscounted return per session) from ``logs``.

    Args:
        logs: logs with the logging policy's propensities (:func:`~recbook.ope.collect` or
            :meth:`~recbook.ope.Logs.from_frame`).
        target: the policy to evaluate; anything with ``action_probabilities(observations (K, d)) -> (K, n)``.
        method: one of :data:`~recbook.ope.estimators.METHODS` (see :mod:`recbook.ope`).
        q_function: for ``dm``/``dr``, a given Q-function ``q(observations, steps) -> (K, n_items)`` instead of
            fitting one (:func:`~recbook.ope.fit_q_function`); with it ``dr`` is not cross-fitted, so fit it on
            other logs (e.g. :func:`recbook.offline.fit_q_evaluation` on the learning part) to keep ``dr``
            unbiased.
        folds: cross-fitting folds of ``dr`` (and of ``dm``, so both use the same models); 1 fits on all logs.
        splits: repeated cross-fitting of ``dr``/``dm``: the number of independent random fold assignments whose
            estimates are averaged (their spread enters the standard error); 1 cross-fits once.
        n_resamples: studentized-bootstrap resamples of the intervals of ``is`` and ``pdis``; 0 gives their
            normal interval.
        confidence_level: of the interval (default 0.95).
        seed: assigns sessions to folds and draws the bootstrap resamples (``seeds`` stream TEST, purpose
            ``"bootstrap"``).

    Returns:
        an :class:`~recbook.ope.Estimate`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(logs, Logs):
        raise ValueError(f"logs must be Logs (collect() or Logs.from_frame()), got {type(logs).__name__}")
    level = check_level(confidence_level)
    n_resamples = check_int(n_resamples, "n_resamples", 0)
    start = time.perf_counter()
    probabilities = target_probabilities(logs, target)
    w = np.cumprod(importance_weights(logs, target, probabilities), axis=1)
    per_step_ess = float(np.mean([effective_sample_size(w[:, t]) for t in range(logs.horizon)]))
    weighted = Weighted(logs, probabilities, w, per_step_ess, level, n_resamples, seed, q_function, folds, splits)
    return with_seconds(ESTIMATORS[method].estimate(weighted), time.perf_counter() - start)


def with_seconds(result: Estimate, seconds: float) -> Estimate:
    """``result`` with its wall-clock time."""
    return Estimate(**{**result.__dict__, "seconds": float(seconds)})
