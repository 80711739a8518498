"""Single-step (bandit) off-policy estimators for logs without sessions: IPW, SNIPW, DM, DR and Switch-DR.

Each row is one decision with its logged reward, the logging propensity and the target's probability of the
same action; the estimators are those of Open Bandit Pipeline (Saito et al. 2020), with normal intervals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recbook._checks import check_level
from recbook.ope.estimators import with_seconds
from recbook.ope.intervals import Estimate, normal
from recbook.ope.logs import check_propensities
from recbook.ope.weights import effective_sample_size

__all__ = [
    "BANDIT_ESTIMATORS",
    "BANDIT_METHODS",
    "IPW",
    "SNIPW",
    "BanditDM",
    "BanditDR",
    "BanditEstimator",
    "SwitchDR",
    "estimate_bandit",
]

@dataclass(frozen=True)
class BanditRows:
    """What every bandit estimator reads: rewards ``r``, weights ``w = pi / mu``, their effective sample size,
    the interval's level, the reward model's ``q_target``/``q_logged`` (``None`` if not given) and Switch-DR's
    threshold."""

    r: NDArray[np.float64]
    w: NDArray[np.float64]
    ess: float
    level: float
    q_target: NDArray[np.float64] | None
    q_logged: NDArray[np.float64] | None
    switch_threshold: float


class BanditEstimator:
    """One single-step estimator: a name and ``estimate(rows) -> Estimate`` (normal interval)."""

    name: ClassVar[str]

    def estimate(self, x: BanditRows) -> Estimate:
        raise NotImplementedError


class IPW(BanditEstimator):
    """Inverse propensity weighting, ``mean(w r)``."""

    name = "ipw"

    def estimate(self, x: BanditRows) -> Estimate:
        return normal(self.name, float((x.w * x.r).mean()), x.w * x.r, x.ess, x.level)


class SNIPW(BanditEstimator):
    """Self-normalised IPW, ``sum(w r) / sum(w)``; delta-method interval."""

    name = "snipw"

    def estimate(self, x: BanditRows) -> Estimate:
        w, r = x.w, x.r
        if w.sum() == 0:
            raise ValueError("every weight is 0: the target never takes the logged actions (no overlap)")
        value = float((w * r).sum() / w.sum())
        return normal(self.name, value, w * (r - value) / w.mean(), x.ess, x.level)


class BanditDM(BanditEstimator):
    """The direct method, ``mean(q_target)``."""

    name = "dm"

    def estimate(self, x: BanditRows) -> Estimate:
        assert x.q_target is not None
        return normal(self.name, float(x.q_target.mean()), x.q_target, float(x.r.size), x.level)


class BanditDR(BanditEstimator):
    """Doubly robust (Dudík et al. 2011), ``mean(q_target + w (r - q_logged))``."""

    name = "dr"

    def weights(self, x: BanditRows) -> NDArray[np.float64]:
        return x.w

    def estimate(self, x: BanditRows) -> Estimate:
        assert x.q_target is not None and x.q_logged is not None
        contributions = x.q_target + self.weights(x) * (x.r - x.q_logged)
        return normal(self.name, float(contributions.mean()), contributions, x.ess, x.level)


class SwitchDR(BanditDR):
    """DR's correction only where ``w <= switch_threshold`` (Wang et al. 2017, as in obp)."""

    name = "switch-dr"

    def weights(self, x: BanditRows) -> NDArray[np.float64]:
        return x.w * (x.w <= x.switch_threshold)


#: The estimators of :func:`estimate_bandit` by method name.
BANDIT_ESTIMATORS: dict[str, BanditEstimator] = {
    e.name: e for e in (IPW(), SNIPW(), BanditDM(), BanditDR(), SwitchDR())
}
#: Single-step estimators of :func:`estimate_bandit`.
BANDIT_METHODS: tuple[str, ...] = tuple(BANDIT_ESTIMATORS)


def estimate_bandit(
    rewards: ArrayLike,
    propensities: ArrayLike,
    target_propensities: ArrayLike,
    method: str = "ipw",
    *,
    q_logged: ArrayLike | None = None,
    q_target: ArrayLike | None = None,
    switch_threshold: float = 10.0,
    confidence_level: float = 0.95,
) -> Estimate:
    """Single-step off-policy estimate of the target's mean reward from bandit logs (one decision per row).

    Args:
        rewards: observed rewards ``r_i``, shape ``(n,)``.
        propensities: the logging policy's ``mu(a_i | x_i)`` of each logged action, ``(n,)``, in ``(0, 1]``.
        target_propensities: the target's ``pi(a_i | x_i)`` of the same actions, ``(n,)``, in ``[0, 1]``.
        method: one of :data:`~recbook.ope.bandit.BANDIT_METHODS`:
            ``ipw`` ``mean(w r)`` with ``w = pi / mu`` (inverse propensity weighting);
            ``snipw`` ``sum(w r) / sum(w)`` (self-normalised);
            ``dm`` ``mean(q_target)`` (the direct method);
            ``dr`` ``mean(q_target + w (r - q_logged))`` (doubly robust, Dudík et al. 2011);
            ``switch-dr`` DR's correction only where ``w <= switch_threshold`` (Wang et al. 2017, as in obp).
        q_logged: a reward model's prediction ``q_hat(x_i, a_i)`` for the logged actions, ``(n,)`` (dm/dr/switch).
        q_target: ``sum_a pi(a | x_i) q_hat(x_i, a)``, the model's expected reward under the target, ``(n,)``.
        switch_threshold: Switch-DR's weight threshold ``tau``.
        confidence_level: of the normal interval (delta method for ``snipw``).
    """
    if method not in BANDIT_METHODS:
        raise ValueError(f"method must be one of {BANDIT_METHODS}, got {method!r}")
    level = check_level(confidence_level)
    r = np.asarray(rewards, dtype=np.float64).ravel()
    mu = np.asarray(propensities, dtype=np.float64).ravel()
    pi = np.asarray(target_propensities, dtype=np.float64).ravel()
    if not (r.shape == mu.shape == pi.shape) or r.size == 0:
        raise ValueError(
            f"rewards, propensities and target_propensities must be non-empty and of one length, got "
            f"{r.shape}, {mu.shape}, {pi.shape}"
        )
    check_propensities(mu)
    if np.any(~np.isfinite(pi) | (pi < 0) | (pi > 1)):
        raise ValueError("target_propensities must be probabilities in [0, 1]")
    qt = ql = None
    if method in ("dm", "dr", "switch-dr"):
        if q_target is None or (method != "dm" and q_logged is None):
            raise ValueError(f"method {method!r} needs q_target" + ("" if method == "dm" else " and q_logged"))
        qt = np.asarray(q_target, dtype=np.float64).ravel()
        if qt.shape != r.shape:
            raise ValueError(f"q_target must have shape {r.shape}, got {qt.shape}")
        if method != "dm":
            ql = np.asarray(q_logged, dtype=np.float64).ravel()
            if ql.shape != r.shape:
                raise ValueError(f"q_logged must have shape {r.shape}, got {ql.shape}")
    if method == "switch-dr" and not switch_threshold > 0:
        raise ValueError(f"switch_threshold must be positive, got {switch_threshold!r}")
    start = time.perf_counter()
    w = pi / mu
    rows = BanditRows(r, w, effective_sample_size(w), level, qt, ql, float(switch_threshold))
    result = BANDIT_ESTIMATORS[method].estimate(rows)
    return with_seconds(result, time.perf_counter() - start)
