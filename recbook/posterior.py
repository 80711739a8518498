"""The one posterior over a user's preferences: what every policy, bound and planner believes about ``p``.

Expected feedback (exact). The prior is ``p ~ Dirichlet(alpha)``; one recommendation of item ``a`` reveals
``p[a]``. Given the revealed items (their values sum to ``S``), the Dirichlet's *neutrality* says that the
unrevealed part is ``(1 - S) * Dirichlet(alpha_U)``, where ``alpha_U`` are the concentrations of the unrevealed
items. So an unrevealed item's preference is ``(1 - S) * Beta(alpha[a], alpha_U - alpha[a])``: its mean is
``(1 - S) alpha[a] / alpha_U`` and a posterior draw is ``(1 - S)`` times normalised Gamma variates.
:class:`DirichletPosterior` holds these formulas once; :mod:`recbook.agents.networks` computes the same mean in torch
(``tests/test_posterior.py`` checks that they agree).

Click feedback (approximate). The exact posterior under decay has no closed form, so each item gets an
independent Beta from *exposure-weighted pseudo-trials* (:func:`click_posterior`): ``clicks`` successes out of
``exposure(count)`` effective trials, with the Dirichlet's exact marginal ``Beta(alpha[a], alpha0 - alpha[a])`` as
prior. :func:`beta_mean` and :func:`beta_sd` are its moments.

Arrays. Every function takes per-item arrays of shape ``(..., n)`` (any leading batch axes) and returns the same.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recbook._checks import check_level
from recbook.users import dirichlet_mean, dirichlet_variance

__all__ = ["DirichletPosterior", "beta_mean", "beta_sd", "click_posterior", "dirichlet_posterior_mean"]


class DirichletPosterior:
    """The exact posterior of a ``Dirichlet(alpha)`` preference vector after some items were revealed.

    Args:
        alpha: the prior concentrations, shape ``(n,)``, all positive.

    The ``revealed`` mask and the observed ``value`` (read only where ``revealed``) of each method have shape
    ``(..., n)``. ``value`` is the revealed preference itself, as the expected-feedback observation carries it.
    """

    def __init__(self, alpha: ArrayLike) -> None:
        self.alpha = np.asarray(alpha, dtype=np.float64)
        if self.alpha.ndim != 1 or not np.all(self.alpha > 0):
            raise ValueError(f"alpha must be a 1-d array of positive numbers, got {alpha!r}")

    def __repr__(self) -> str:
        return f"DirichletPosterior(alpha={self.alpha.tolist()})"

    @property
    def prior_mean(self) -> NDArray[np.float64]:
        """``alpha / alpha0``: every item's expected preference before anything is revealed, ``(n,)``."""
        return dirichlet_mean(self.alpha)

    @property
    def prior_sd(self) -> NDArray[np.float64]:
        """Every item's prior standard deviation, ``(n,)``: the spread of the Dirichlet's marginal
        ``Beta(alpha[a], alpha0 - alpha[a])``."""
        return np.sqrt(dirichlet_variance(self.alpha))

    def unrevealed_mass(self, revealed: NDArray[np.bool_], value: ArrayLike) -> NDArray[np.float64]:
        """``1 - S`` of shape ``(...,)``: the preference mass the unrevealed items share, clipped to ``[0, 1]``."""
        known = np.where(revealed, value, 0.0)
        return np.clip(1.0 - known.sum(axis=-1), 0.0, 1.0)

    def mean(self, revealed: NDArray[np.bool_], value: ArrayLike) -> NDArray[np.float64]:
        """Posterior-mean preferences ``(..., n)``: a revealed item's value, else ``(1 - S) alpha[a] / alpha_U``."""
        known = np.where(revealed, value, 0.0)
        unrevealed_mass = np.clip(1.0 - known.sum(axis=-1, keepdims=True), 0.0, 1.0)
        weight = np.where(revealed, 0.0, self.alpha)
        total = weight.sum(axis=-1, keepdims=True)
        # Nothing unrevealed (total == 0): no share to give, and no division by zero.
        share = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
        return np.where(revealed, value, unrevealed_mass * share)

    def sd(self, revealed: NDArray[np.bool_], value: ArrayLike) -> NDArray[np.float64]:
        """Posterior standard deviations ``(..., n)``: 0 for a revealed item (known exactly), else the spread of
        ``(1 - S) * Beta(alpha[a], alpha_U - alpha[a])``."""
        mass = np.clip(1.0 - np.where(revealed, value, 0.0).sum(axis=-1, keepdims=True), 0.0, 1.0)
        alpha_unseen = np.where(revealed, 0.0, self.alpha).sum(axis=-1, keepdims=True)
        a = self.alpha
        # Revealed entries may give alpha_U - alpha[a] < 0; they are replaced by 0 below, the floor keeps sqrt real.
        b = np.maximum(alpha_unseen - a, 0.0)
        sd = mass * beta_sd(a, b)
        return np.where(revealed, 0.0, sd)

    def interval(
        self, revealed: NDArray[np.bool_], value: ArrayLike, level: float = 0.9
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Equal-tailed credible interval ``(low, high)``, each ``(..., n)``, of every item's preference.

        An unrevealed item's preference is ``(1 - S) * Beta(alpha[a], alpha_U - alpha[a])``, so its bounds are
        ``(1 - S)`` times that Beta's ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles (exact, no sampling).
        A revealed item is known: both bounds are its value. The last unrevealed item is determined too
        (``alpha_U = alpha[a]``): both bounds are ``1 - S``.
        """
        from scipy import stats  # late: ``import recbook`` stays light

        level = check_level(level, "level")
        revealed = np.asarray(revealed, dtype=bool)
        mass = self.unrevealed_mass(revealed, value)[..., None]
        alpha_unseen = np.where(revealed, 0.0, self.alpha).sum(axis=-1, keepdims=True)
        b = np.maximum(alpha_unseen - self.alpha, 0.0)
        tails = np.array([(1.0 - level) / 2, (1.0 + level) / 2])
        # Beta(a, 0) is a point mass at 1: where b == 0, scipy would return NaN, the bound is mass * 1.
        bounds = [np.where(b > 0, stats.beta.ppf(q, self.alpha, np.where(b > 0, b, 1.0)), 1.0) for q in tails]
        known = np.asarray(value, dtype=np.float64)
        low, high = (np.where(revealed, known, mass * bound) for bound in bounds)
        return low, high

    def sample_unrevealed(
        self, rng: np.random.Generator, revealed: NDArray[np.bool_], value: ArrayLike, n_samples: int | None = None
    ) -> NDArray[np.float64]:
        """One posterior draw of the unrevealed preferences, 0 at the revealed items.

        Shape ``(..., n)``, or ``(..., n_samples, n)`` with ``n_samples`` draws per row. The draw is
        ``(1 - S) * G / sum(G)`` with ``G[a] ~ Gamma(alpha[a])`` drawn for *every* item (so the generator advances
        by the same amount whatever was revealed) and zeroed at the revealed ones; the Gamma variates are drawn in
        C order of the output shape.
        """
        revealed = np.asarray(revealed, dtype=bool)
        mass = self.unrevealed_mass(revealed, value)
        if n_samples is not None:
            revealed = revealed[..., None, :]
            mass = mass[..., None]
            shape = (*revealed.shape[:-2], n_samples, self.alpha.size)
        else:
            shape = revealed.shape
        gamma = np.where(revealed, 0.0, rng.standard_gamma(np.broadcast_to(self.alpha, shape)))
        total = gamma.sum(axis=-1, keepdims=True)
        # Everything revealed (total == 0): the unrevealed part is empty, not 0 / 0.
        share = np.divide(gamma, total, out=np.zeros_like(gamma), where=total > 0)
        return mass[..., None] * share

    def sample(
        self, rng: np.random.Generator, revealed: NDArray[np.bool_], value: ArrayLike, n_samples: int | None = None
    ) -> NDArray[np.float64]:
        """One posterior draw of the whole preference vector: revealed values as observed, the rest drawn by
        :meth:`sample_unrevealed` (same shapes, same draws)."""
        draws = self.sample_unrevealed(rng, revealed, value, n_samples)
        revealed = np.asarray(revealed, dtype=bool)
        value = np.asarray(value, dtype=np.float64)
        if n_samples is not None:
            revealed, value = revealed[..., None, :], value[..., None, :]
        return np.where(revealed, value, draws)


def dirichlet_posterior_mean(
    revealed: NDArray[np.bool_], value: NDArray[np.float64], alpha: NDArray[np.float64]
) -> NDArray[np.float64]:
    """:meth:`~recbook.posterior.DirichletPosterior.mean` as a function (kept for its callers: ``recbook.policies``
    exported it)."""
    return DirichletPosterior(alpha).mean(revealed, value)


def click_posterior(
    alpha: NDArray[np.float64], clicks: NDArray[np.float64], exposure: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-item Beta posterior ``(a, b)`` of the preference from clicks (approximate; see the module docstring).

    Prior ``Beta(alpha[a], alpha0 - alpha[a])``; likelihood ``clicks`` successes out of ``exposure`` effective
    trials, failures clipped at 0 (with decay clicks can exceed exposure).
    """
    alpha0 = alpha.sum()
    a = alpha + clicks
    # The floor keeps b > 0 for a single-item catalogue (alpha0 == alpha), where Beta(a, 0) is undefined.
    b = np.maximum((alpha0 - alpha) + np.maximum(exposure - clicks, 0.0), 1e-12)
    return a, b


def beta_mean(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean ``a / (a + b)`` of ``Beta(a, b)``."""
    return a / (a + b)


def beta_sd(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standard deviation ``sqrt(a b / ((a + b)^2 (a + b + 1)))`` of ``Beta(a, b)``."""
    return np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
