"""The counts-only baselines and the bandits: policies that do not see the preferences and learn them (or not)
within a session. :class:`Random` and :class:`RoundRobin` read only counts; the others read feedback and, where they
are Bayesian, the one posterior of :mod:`recbook.posterior`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recbook import seeds
from recbook._checks import check_choice, check_int, check_probability, check_real
from recbook.config import EnvConfig
from recbook.observations import FeedbackView
from recbook.policies.base import IndexPolicy, Policy
from recbook.posterior import beta_sd

__all__ = ["UCB", "BayesGreedy", "EpsilonGreedy", "ExploreOnce", "Random", "RoundRobin", "ThompsonSampling"]


class Random(Policy):
    """Recommend a uniformly random item at every step (ignores the observation).

    The floor every other policy must clear (chapter 4 measures it).
    """

    name = "random"
    observation = "counts"
    stochastic = True

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self.np_random.integers(0, self.config.n_items, size=observation.shape[0]).astype(np.int64)

    def _probabilities(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        n = self.config.n_items
        return np.full((observation.shape[0], n), 1.0 / n)


class RoundRobin(IndexPolicy):
    """Recommend the least-recommended item so far (lowest index first): ``0, 1, ..., n-1, 0, 1, ...``.

    Works on the ``"counts"`` observation, which is the same for every user; no policy that sees only counts can
    adapt to the user, and spreading recommendations as evenly as possible maximises the expected return over the
    prior (each item's expected preference is the same under a symmetric prior and repeats only lose value).
    It is the best counts-only policy: 1.500 on the original setting.
    """

    name = "round-robin"
    observation = "counts"

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        return -np.rint(observation)


class ExploreOnce(IndexPolicy):
    """Recommend each unseen item once, then be greedy on the revealed value of the next recommendation.

    While any item is unrevealed it picks one (lowest index under ``tie_break="first"``); afterwards it picks the
    item maximising ``value * m(count + 1)``. Under expected feedback one recommendation reveals ``p[a]`` exactly,
    so after ``n`` steps this policy knows the user; the price is spending ``n`` steps on every item, liked or not.
    """

    name = "explore-once"

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        view = self.layout.parse(observation)
        greedy = self._next_value(view, view.value)
        # Unrevealed items outrank every revealed one.
        return np.where(view.revealed, greedy, np.inf)


class EpsilonGreedy(Policy):
    """With probability ``epsilon`` a random item, otherwise the item with the best empirical next value.

    The greedy score is ``value * m(count + 1)`` with the empirical estimate ``value`` (clicks / exposure) for
    revealed items and the prior mean ``alpha[a] / alpha0`` for unrevealed ones — the classic, non-Bayesian
    estimate; the prior mean keeps it from locking onto the first item tried.

    Its action probabilities are ``epsilon / n + (1 - epsilon) * greedy`` with ``greedy`` one-hot on the greedy
    item (uniform over tied items under ``tie_break="random"``): an exploring step may also pick the greedy item.

    Args:
        epsilon: exploration probability in ``[0, 1]`` (default 0.1).
    """

    name = "epsilon-greedy"
    stochastic = True

    def __init__(
        self, config: EnvConfig, epsilon: float = 0.1, seed: int | None = None, tie_break: str | None = None
    ) -> None:
        super().__init__(config, seed=seed, tie_break=tie_break)
        self.epsilon = check_probability(epsilon, "epsilon")

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        """The greedy index (the empirical next value) that the non-exploring steps maximise."""
        view = self.layout.parse(observation)
        estimate = np.where(view.revealed, view.value, self.posterior.prior_mean)
        return self._next_value(view, estimate)

    def _probabilities(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        greedy = self._argmax_probabilities(self.scores(observation))
        return self.epsilon / self.config.n_items + (1.0 - self.epsilon) * greedy

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        greedy = self._argmax(self.scores(observation))
        k = observation.shape[0]
        explore = self.np_random.random(k) < self.epsilon
        random_items = self.np_random.integers(0, self.config.n_items, size=k)
        return np.where(explore, random_items, greedy).astype(np.int64)


class UCB(IndexPolicy):
    """Optimism: the item with the highest upper confidence bound on the value of its next recommendation.

    ``index[a] = m(count[a] + 1) * (mean[a] + exploration * sqrt(2 ln t) * sd[a])`` with ``t`` the step number
    (1-based) and ``mean``, ``sd`` the posterior mean and standard deviation of ``p[a]`` (the estimator of
    :class:`BayesGreedy`).

    Why this bonus: UCB1's ``sqrt(2 ln t / n)`` is the Hoeffding radius of a mean of ``n`` rewards with range 1.
    Preferences here are of order ``1/n_items``, so a range-1 bonus swamps every estimate and UCB1 degenerates into
    round robin. The Bernoulli standard error is ``sqrt(mu (1 - mu) / n)``; replacing UCB1's range by it (as in
    UCB1-Tuned / UCB1-Normal) gives ``sqrt(2 ln t) * sd`` where ``sd`` is the posterior standard deviation, which also
    counts the Dirichlet prior as ``alpha0`` pseudo-trials. Under expected feedback a revealed item is known
    exactly (``sd = 0``) and unrevealed items carry the spread of ``(1 - S) * Beta(alpha[a], alpha_U - alpha[a])``.

    Args:
        exploration: multiplier of the bonus (default 1.0; 0 gives :class:`BayesGreedy`).
    """

    name = "ucb"

    def __init__(
        self, config: EnvConfig, exploration: float = 1.0, seed: int | None = None, tie_break: str | None = None
    ) -> None:
        super().__init__(config, seed=seed, tie_break=tie_break)
        self.exploration = check_real(exploration, "exploration", low=0.0)

    def _posterior_sd(self, view: FeedbackView) -> NDArray[np.float64]:
        if self.config.feedback == "expected":
            return self.posterior.sd(view.revealed, view.value)
        return beta_sd(*self._beta_posterior(view))

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        view = self.layout.parse(observation)
        t = (self.config.session_length - view.steps_remaining + 1).astype(np.float64)[:, None]
        bonus = self.exploration * np.sqrt(2.0 * np.log(np.maximum(t, 1.0))) * self._posterior_sd(view)
        return self._next_value(view, self._posterior_mean(view) + bonus)


class ThompsonSampling(Policy):
    """Sample a preference vector from the posterior, recommend the item whose next recommendation is best.

    Expected feedback: the posterior is exact and cheap — revealed preferences are known, and the unrevealed
    ones are ``(1 - S) * Dirichlet(alpha_U)`` (the Dirichlet's neutrality: given the revealed items, the rest
    share the remaining mass ``1 - S`` as a Dirichlet of their own concentrations).

    Click feedback: the exact posterior under decay has no closed form, so each item gets an independent Beta
    posterior from *exposure-weighted pseudo-trials*: ``clicks`` successes out of ``exposure(count) = m(1) + ...
    + m(count)`` effective trials. Without decay this is the exact Bernoulli–Beta update; with decay the
    likelihood ``prod_k (p m_k)^y_k (1 - p m_k)^(1 - y_k)`` is, for small ``p``, about ``p^clicks exp(-p *
    exposure)``, which the pseudo-trial Beta matches to first order. Failures are clipped at 0.

    Prior (click feedback). ``prior="uniform"`` (default) is ``Beta(1, 1)``; ``prior="dirichlet"`` is the
    Dirichlet's exact marginal ``Beta(alpha[a], alpha0 - alpha[a])`` (mean ``1/n`` under a symmetric prior), the
    calibrated choice that :class:`BayesGreedy` and :class:`UCB` use. The uniform prior does at least as well in
    the click settings the book measures (chapter 7), because its mean 1/2 is wildly optimistic: every unrecommended
    item looks better than any item that has been tried without a click, so it tries fresh items before repeating
    unclicked ones — exactly right when a repeat is worth only ``m(2) < 1`` of a fresh item. With the calibrated
    prior an unclicked item's posterior, ``Beta(1, n)``, is almost the prior ``Beta(1, n - 1)``, so probability
    matching keeps re-sampling repeats of items it has no evidence for, and each repeat is decayed.

    Action probabilities have no closed form (the probability that an item's sampled next value is the largest),
    so :meth:`Policy.action_probabilities` estimates them by Monte Carlo: ``n_probability_samples`` posterior draws per
    observation from a generator seeded by ``(seed, TEST, "policy", "thompson-probabilities")`` (independent of
    the policy's own coins), so the same batch of observations always gets the same estimate (a different batch
    draws differently). Items with a small true
    probability may get an estimate of 0; importance weights built on these estimates carry Monte-Carlo error.

    Args:
        prior: ``"uniform"`` or ``"dirichlet"`` (click feedback only; expected feedback always uses the exact
            posterior).
        n_probability_samples: posterior draws per observation in :meth:`Policy.action_probabilities` (default 1000).
    """

    name = "thompson"
    stochastic = True

    def __init__(
        self,
        config: EnvConfig,
        prior: str = "uniform",
        seed: int | None = None,
        tie_break: str | None = None,
        n_probability_samples: int = 1000,
    ) -> None:
        super().__init__(config, seed=seed, tie_break=tie_break)
        self.prior = check_choice(prior, "prior", ("dirichlet", "uniform"))
        self.n_probability_samples = check_int(n_probability_samples, "n_probability_samples", low=1)

    def _probabilities(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        rng = seeds.generator(self.seed or 0, seeds.TEST, "policy", "thompson-probabilities")
        k, n = observation.shape[0], self.config.n_items
        counts = np.zeros((k, n))
        rows = np.arange(k)
        for _ in range(self.n_probability_samples):
            # Ties between sampled values have probability 0, so the lowest-index argmax is exact here.
            counts[rows, np.argmax(self._sampled_next_value(observation, rng), axis=1)] += 1.0
        return counts / self.n_probability_samples

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._argmax(self._sampled_next_value(observation, self.np_random))

    def _sampled_next_value(self, observation: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.float64]:
        """One posterior draw of every item's next value, ``(K, n)``, with generator ``rng``."""
        view = self.layout.parse(observation)
        if self.config.feedback == "expected":
            sample = self.posterior.sample(rng, view.revealed, view.value)
        else:
            if self.prior == "dirichlet":
                a, b = self._beta_posterior(view)
            else:
                exposure = self.layout.exposure[view.counts]
                a = 1.0 + view.clicks
                b = 1.0 + np.maximum(exposure - view.clicks, 0.0)
            sample = rng.beta(a, b)
        return self._next_value(view, sample)


class BayesGreedy(IndexPolicy):
    """Greedy on the posterior-mean value of each item's next recommendation, using the Dirichlet prior.

    Expected feedback (exact): a revealed item's next value is ``p[a] * m(count + 1)``. An unrevealed item's
    expected preference is the unrevealed mass ``1 - S`` (``S`` = sum of revealed preferences) shared among the
    unrevealed items in proportion to their ``alpha``: ``(1 - S) * alpha[a] / alpha_U`` (by the Dirichlet's
    neutrality the unrevealed part is ``(1 - S) * Dirichlet(alpha_U)``). Its next value is that times ``m(1) = 1``.
    This is the heuristic of the original project (chapter 4 measures it against the oracle).

    Click feedback (approximate): the posterior mean ``(alpha[a] + clicks) / (alpha0 + exposure)`` of an
    independent Beta per item, with the Dirichlet's marginal prior ``Beta(alpha[a], alpha0 - alpha[a])`` and
    ``exposure(count)`` effective trials (see :class:`ThompsonSampling`). It ignores the sum-to-one coupling
    between items, which under clicks carries little information.

    Greedy on the posterior mean is myopic: it never explores for information's sake; under expected feedback
    that costs almost nothing, because one recommendation reveals an item completely.
    """

    name = "bayes-greedy"

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        view = self.layout.parse(observation)
        return self._next_value(view, self._posterior_mean(view))
