"""An off-policy :class:`Estimate` and its intervals: normal, studentized bootstrap, and repeated cross-fitting.

``is`` and ``pdis`` are means of right-skewed weighted returns, so their intervals are studentized bootstrap
(:func:`studentized`); ``dm``/``dr`` combine their cross-fitting splits (:func:`repeated`); the others and the
bandit estimators are normal (:func:`normal`). See :mod:`recbook.ope` for why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

__all__ = ["Estimate", "normal", "repeated", "studentized"]


@dataclass(frozen=True)
class Estimate:
    """An off-policy estimate of a policy's value (mean return per session) with its 95 % interval.

    Attributes:
        method: the estimator's name.
        value: the estimate.
        ci_low, ci_high: the confidence interval (level ``confidence_level``): studentized bootstrap for
            ``is``/``pdis``, normal otherwise (see the module docstring).
        se: the standard error (for ``dm``/``dr``, including the spread over cross-fitting splits).
        ess: effective sample size of the weights the method uses (the trajectory weights for ``is``/``wis``;
            the mean over steps of the cumulative weights' ESS for ``pdis``/``wpdis``/``dr``; ``n`` for ``dm``).
        n: number of sessions (or rows, for bandit logs).
        seconds: wall-clock time of the estimate.
    """

    method: str
    value: float
    ci_low: float
    ci_high: float
    se: float
    ess: float
    n: int
    confidence_level: float = 0.95
    seconds: float = 0.0

    def covers(self, truth: float) -> bool:
        """Whether the interval contains ``truth``."""
        return bool(self.ci_low <= truth <= self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "se": self.se,
            "ess": self.ess,
            "n": self.n,
            "seconds": self.seconds,
        }


def normal(method: str, value: float, influence: NDArray[np.float64], ess: float, level: float) -> Estimate:
    """An :class:`Estimate` with the normal interval of a mean whose per-unit influence values are given."""
    n = influence.size
    se = float(influence.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    z = float(stats.norm.ppf(0.5 + level / 2))
    return Estimate(method, float(value), float(value - z * se), float(value + z * se), se, float(ess), n, level)


def studentized(
    method: str,
    contributions: NDArray[np.float64],
    ess: float,
    level: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> Estimate:
    """The mean of per-session ``contributions`` with a studentized bootstrap (bootstrap-t) interval.

    Each of ``n_resamples`` resamples of the sessions (with replacement) gives ``t* = (mean* - mean) / se*``; the
    interval is ``[mean - t*_(1 - a/2) se, mean - t*_(a/2) se]`` with ``a = 1 - level`` and ``se`` the usual
    ``sd / sqrt(n)`` (Efron & Tibshirani 1993, ch. 12). A sample that lacks its rare large weights has a low mean
    *and* a low ``se``, so ``t*`` has a long lower tail and the interval reaches further above the mean than
    below: the correction a normal interval misses for right-skewed weighted returns. ``n_resamples=0`` (or
    fewer than two sessions, or no spread) gives the normal interval.
    """
    n = contributions.size
    value = float(contributions.mean())
    if n_resamples == 0 or n < 2 or not contributions.std() > 0:
        return normal(method, value, contributions, ess, level)
    se = float(contributions.std(ddof=1) / np.sqrt(n))
    centred = contributions - value
    t_star = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // n)  # resamples per batch: bounds the index array to ~16 MB
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        sample = centred[rng.integers(0, n, size=(stop - start, n))]
        shift = sample.mean(axis=1)
        variance = np.maximum((sample**2).mean(axis=1) - shift**2, 0.0) * n / (n - 1)
        se_star = np.sqrt(variance / n)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star[start:stop] = np.where(se_star > 0, shift / se_star, np.sign(shift) * np.inf)
    alpha = 1.0 - level
    t_low, t_high = np.quantile(t_star, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return Estimate(method, value, float(value - t_high * se), float(value - t_low * se), se, float(ess), n, level)


def repeated(method: str, contributions: NDArray[np.float64], ess: float, level: float) -> Estimate:
    """Combine per-split estimates ``contributions`` ``(S, n)`` (Chernozhukov et al. 2018, mean version).

    Value: the mean over splits of the split estimates ``theta_s`` (each unbiased, so the mean is too). Variance:
    ``mean_s(se_s^2 + (theta_s - value)^2)``, each split's own standard error plus the spread that the random
    choice of folds adds. Normal interval. With one split this is :func:`normal`.
    """
    splits, n = contributions.shape
    thetas = contributions.mean(axis=1)
    value = float(thetas.mean())
    ses = contributions.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.full(splits, np.nan)
    se = float(np.sqrt(np.mean(ses**2 + (thetas - value) ** 2)))
    z = float(stats.norm.ppf(0.5 + level / 2))
    return Estimate(method, value, value - z * se, value + z * se, se, float(ess), n, level)
