"""Bayesian slate policies: a posterior over ``p`` from the user's choices, and the myopic or quality-aware rule on it.

The posterior (:class:`ParticlePosterior`). Under a choice model nothing reveals ``p`` directly: each step shows a
slate ``S_t`` and observes which item the user took (or nothing), with probability ``P(o_t | S_t, c_t, p)`` from
:mod:`recbook.choice` (``c_t`` the consumption counts then). The posterior is

    ``pi(p | history) ∝ Dirichlet(p; alpha) * prod_t P(o_t | S_t, c_t, p)``,

which has no closed form. It is approximated by self-normalised importance sampling with the prior as proposal:
``n_particles`` draws ``p^(m) ~ Dirichlet(alpha)`` made once per policy (the same particles for every user), and
per user the log-weights ``sum_t log P(o_t | S_t, c_t, p^(m))``, updated by one term per step. Posterior
expectations are weighted means over the particles. The approximation degrades as the likelihood concentrates:
its *effective sample size* ``(sum w)^2 / sum w^2`` (:func:`effective_sample_size`) says how many independent
posterior draws the weighted particles are worth; :attr:`BayesSlates.diagnostics` records the mean ESS of every
step. The posterior uses the choices only: under ``feedback="choice"`` the reward is the choice itself, so nothing is
lost; under ``"expected"`` or ``"click"`` feedback what the rewards reveal is ignored.

The policies plug the posterior-mean preferences into the myopic (:class:`BayesMyopicSlates`) or quality-aware
(:class:`BayesQualityAwareSlates`) rule of :mod:`recbook.slates.values` (certainty equivalence: the slate that would
be best if ``p`` were its posterior mean; not the slate of the best posterior-expected value, whose ratio of sums
would need every slate scored under every particle).

State. The likelihood needs each step's slate and counts, which the observation does not hold (it holds the counts
now, how often each item was shown and the item taken at the previous step). So the policy keeps a
:class:`ParticleState` — the previous slates, the steps remaining then and the log-weights — that ``predict``
returns and takes back (Stable-Baselines3's recurrent-policy convention). ``episode_start`` or ``state=None`` starts
a row afresh. A row whose step count did not advance (a session that ended and is frozen) is not updated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recbook._checks import check_int, check_real
from recbook.config import EnvConfig
from recbook.slates.base import SlatePolicy
from recbook.slates.values import myopic_slates, rule_slates

_CELLS = 4_000_000  # users x particles x (k + 1) per block of the likelihood (bounds memory to tens of MB)

__all__ = [
    "BayesMyopicSlates",
    "BayesQualityAwareSlates",
    "BayesSlates",
    "ParticlePosterior",
    "ParticleState",
    "effective_sample_size",
]


def _relative_weights(log_weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """``exp(log w - max log w)`` per row: weights scaled so the largest is 1."""
    return np.exp(log_weights - log_weights.max(axis=-1, keepdims=True))


def effective_sample_size(log_weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(sum w)^2 / sum w^2`` per row of log-weights ``(..., M)``: between 1 and ``M``."""
    w = _relative_weights(log_weights)
    return w.sum(axis=-1) ** 2 / np.einsum("...m,...m->...", w, w)


class ParticlePosterior:
    """Importance sampling of ``p`` given choices, with ``n_particles`` prior draws shared by all users.

    Args:
        config: the environment (prior ``alpha``, decay, choice model, no-click mass, attention).
        n_particles: ``M >= 1`` prior draws.
        rng: the generator the particles are drawn from.
    """

    def __init__(self, config: EnvConfig, n_particles: int, rng: np.random.Generator) -> None:
        self.config = config
        self.n_particles = check_int(n_particles, "n_particles", low=1)
        #: The prior draws ``(M, N)``.
        self.particles: NDArray[np.float64] = rng.dirichlet(config.alpha_vector, self.n_particles)
        # Scores are linear in p: N p_i m(c_i + 1), so N p^(m) is computed once, item-major for gathering slates.
        self._scaled_by_item = np.ascontiguousarray(config.n_items * self.particles.T)  # (N, M)

    def log_likelihood(
        self, slates: NDArray[np.int64], counts: NDArray[np.int64], outcome: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """``log P(o | S, c, p^(m))`` ``(K, M)`` for slates ``(K, k)``, counts then ``(K, N)`` and the chosen
        position ``(K,)`` (``k`` for nothing); the probabilities of :func:`recbook.choice.choice_probabilities`."""
        k = slates.shape[1]
        multiplier = self.config.decay_model.multiplier(np.take_along_axis(counts, slates, axis=1) + 1)  # (K, k)
        out = np.zeros((len(slates), self.n_particles))
        block = max(1, _CELLS // (self.n_particles * (k + 1)))
        for begin in range(0, len(slates), block):
            rows = slice(begin, begin + block)
            scores = self._scaled_by_item[slates[rows]] * multiplier[rows, :, None]  # (K', k, M)
            with np.errstate(divide="ignore"):
                out[rows] = np.log(self._probability_of(scores, outcome[rows]))
        return out

    def _probability_of(self, scores: NDArray[np.float64], outcome: NDArray[np.int64]) -> NDArray[np.float64]:
        """The probability ``(K', M)`` of each row's outcome (position, or ``k`` for nothing) from scores
        ``(K', k, M)``, with :func:`recbook.choice.choice_probabilities`'s conventions for the degenerate cases."""
        k = scores.shape[1]
        nu = self.config.no_click_mass
        rows = np.arange(len(outcome))
        picked = np.take_along_axis(scores, np.minimum(outcome, k - 1)[:, None, None], axis=1)[:, 0]  # (K', M)
        nothing = (outcome == k)[:, None]
        if self.config.choice_model == "mnl":
            total = scores.sum(axis=1) + nu
            numerator = np.where(nothing, nu, picked)
            empty = np.where(nothing, 0.0, 1.0 / k)
            return np.where(total > 0, numerator / np.where(total > 0, total, 1.0), empty)
        attention = self.config.attention_vector
        denominator = scores + nu
        take = attention[:, None] * np.divide(scores, denominator, out=np.ones_like(scores), where=denominator > 0)
        before = np.cumprod(np.concatenate([np.ones_like(take[:, :1]), 1.0 - take], axis=1), axis=1)  # (K', k+1, M)
        reach = before[rows, outcome]
        return np.where(nothing, reach, reach * take[rows, np.minimum(outcome, k - 1)])

    def mean(self, log_weights: NDArray[np.float64]) -> NDArray[np.float64]:
        """Posterior-mean preferences ``(K, N)`` from log-weights ``(K, M)``."""
        return self.mean_of(_relative_weights(log_weights))

    def mean_of(self, weights: NDArray[np.float64]) -> NDArray[np.float64]:
        """Posterior-mean preferences ``(K, N)`` from unnormalised weights ``(K, M)``."""
        return (weights @ self.particles) / weights.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class ParticleState:
    """What a Bayesian slate policy carries between steps (one row per user).

    Attributes:
        slates: the slates shown at the previous step, ``(K, k)`` (``-1``: none yet).
        steps_remaining: the steps remaining at that step, ``(K,)``.
        log_weights: the particles' log-weights, ``(K, M)``.
    """

    slates: NDArray[np.int64]
    steps_remaining: NDArray[np.int64]
    log_weights: NDArray[np.float64]


class BayesSlates(SlatePolicy):
    """Base of the Bayesian slate policies: the particle posterior and its state (module docstring).

    Args:
        config: the environment; it must be a slate configuration (``config.is_slate``), whose feedback
            observation carries the previous choice.
        n_particles: prior draws of the importance sampler (default 4,000).
        seed: seeds the particles (``recbook.seeds`` ``"policy"`` stream).
        method: the slate search.
    """

    name = "bayes-slates"

    def __init__(
        self, config: EnvConfig, n_particles: int = 4000, seed: int | None = None, method: str = "auto"
    ) -> None:
        if isinstance(config, EnvConfig) and not config.is_slate:
            raise ValueError(
                "config must be a slate configuration (config.is_slate): the posterior learns from choices"
            )
        super().__init__(config, seed=seed, method=method)
        self.posterior = ParticlePosterior(config, n_particles, self._generator(seed, "particles"))
        #: Mean effective sample size of the posterior at every ``predict`` call (after its update).
        self.diagnostics: list[float] = []

    def reset(self, seed: int | None = None) -> None:
        """Re-seed and redraw the particles (with ``seed``, or the constructor's seed if ``None``)."""
        super().reset(seed)
        chosen = self.seed if seed is None else seed
        rng = self._generator(chosen, "particles")
        self.posterior = ParticlePosterior(self.config, self.posterior.n_particles, rng)
        self.diagnostics = []

    def _update(self, view: Any, state: ParticleState | None, starts: NDArray[np.bool_]) -> NDArray[np.float64]:
        n_users, k = len(view.counts), self.config.slate_size
        if state is None:
            return np.zeros((n_users, self.posterior.n_particles))
        if not isinstance(state, ParticleState) or state.log_weights.shape != (n_users, self.posterior.n_particles):
            raise ValueError(f"state must be the ParticleState this policy returned for {n_users} users")
        log_weights = state.log_weights.copy()
        log_weights[starts] = 0.0
        advanced = ~starts & (state.slates[:, 0] >= 0) & (view.steps_remaining == state.steps_remaining - 1)
        rows = np.flatnonzero(advanced)
        if rows.size:
            taken = view.last_choice[rows]
            slates = state.slates[rows]
            match = slates == taken[:, None]
            if np.any((taken >= 0) & ~match.any(axis=1)):
                raise ValueError("state does not match the observation: the item taken was not in the previous slate")
            outcome = np.where(taken >= 0, match.argmax(axis=1), k)
            before = view.counts[rows].copy()
            chose = np.flatnonzero(taken >= 0)
            before[chose, taken[chose]] -= 1
            log_weights[rows] += self.posterior.log_likelihood(slates, before, outcome)
        return log_weights

    def act(
        self, observation: NDArray[np.float64], state: Any, episode_start: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], Any]:
        view = self.layout.parse(observation)
        log_weights = self._update(view, state, episode_start)
        weights = _relative_weights(log_weights)
        ess = weights.sum(axis=1) ** 2 / np.einsum("km,km->k", weights, weights)
        self.diagnostics.append(float(ess.mean()))
        estimate = self.posterior.mean_of(weights)
        slates = self._decide(estimate, view.counts, view.steps_remaining)
        return slates, ParticleState(slates, view.steps_remaining.copy(), log_weights)

    def _decide(
        self, estimate: NDArray[np.float64], counts: NDArray[np.int64], steps_remaining: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        raise NotImplementedError


class BayesMyopicSlates(BayesSlates):
    """The myopic slate for the posterior-mean preferences (choices only; module docstring)."""

    name = "bayes-myopic-slates"

    def _decide(
        self, estimate: NDArray[np.float64], counts: NDArray[np.int64], steps_remaining: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        return myopic_slates(self.config, estimate, counts, self.method)[0]


class BayesQualityAwareSlates(BayesSlates):
    """The quality-aware rule for the posterior-mean preferences, with weight ``kappa`` (tuned on VALIDATION users)."""

    name = "bayes-quality-aware-slates"

    def __init__(
        self,
        config: EnvConfig,
        kappa: float = 1.0,
        n_particles: int = 4000,
        seed: int | None = None,
        method: str = "auto",
    ) -> None:
        super().__init__(config, n_particles=n_particles, seed=seed, method=method)
        self.kappa = check_real(kappa, "kappa", low=0.0)

    def _decide(
        self, estimate: NDArray[np.float64], counts: NDArray[np.int64], steps_remaining: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        steps_after = np.maximum(steps_remaining - 1, 0)
        return rule_slates(self.config, estimate, counts, steps_after, self.kappa, self.method)
