"""Policies behind one ``predict()`` protocol: the oracle, the counts-only baselines and the bandits.

Every policy here has Stable-Baselines3's ``predict(observation, state=None, episode_start=None,
deterministic=True) -> (actions, state)``, so :func:`recbook.evaluation.rollout` treats them exactly like a trained
DQN. ``predict`` takes a batch of observations of shape ``(K, d)`` and returns actions of shape ``(K,)``, or one
observation of shape ``(d,)`` and returns a 0-d array. Everything is vectorised over users with numpy.

Each policy names the observation mode it needs in its ``observation`` attribute (``"counts"``, ``"feedback"`` or
``"oracle"``); ``rollout`` builds the environment accordingly. Only :class:`Oracle` asks for ``"oracle"``, so only
it ever sees the true preferences.

All of them are *stateless*: the feedback observation already holds everything a session has revealed (counts,
preference estimates, clicks, steps remaining), so ``state`` is passed through unchanged.

Decay. Every index scores the value of an item's *next* recommendation: ``estimate * m(count + 1)``, where ``m`` is
the decay multiplier (:class:`~recbook.response.DecayModel`). Ranking raw preference estimates would keep
recommending the favourite item long after its repeats are worth less than a fresh item.

Randomness and ties. Stochastic policies (:class:`Random`, :class:`EpsilonGreedy`, :class:`ThompsonSampling`) own a
``numpy.random.Generator`` seeded by the ``seed`` argument (re-seed with :meth:`Policy.reset`). They are stochastic
by definition, so they ignore ``deterministic``. Ties between equal scores go to the lowest item index
(``tie_break="first"``, the default, fully deterministic) or to a uniformly random tied item drawn from the
policy's generator (``tie_break="random"``). With a symmetric Dirichlet prior users are exchangeable across items,
so the lowest-index rule costs nothing on average. Items with qualities (the long-term-engagement setting) are not
exchangeable — the lowest index is then a fixed item of fixed quality — so there ties go at random by default.

Users who leave (``leave_rate > 0``). :class:`Oracle` then plans with :mod:`recbook.planning` (order by reward over
leave probability, search over count vectors), :class:`MyopicOracle` knows ``p`` but maximises only the immediate
engagement, and :class:`BayesIndex` is the hand-made quality-aware rule; the bandits run unchanged.

Action probabilities. Off-policy evaluation (:mod:`recbook.ope`) needs ``pi(a | observation)``, not just a draw
from it: :meth:`Policy.action_probabilities` returns it as an array of shape ``(K, n_items)`` whose rows sum to 1.
It is exact for every policy except :class:`ThompsonSampling`, whose probabilities have no closed form and are
estimated by seeded Monte Carlo. Deterministic policies give a one-hot row, the item ``predict`` returns under
``tie_break="first"``; under ``tie_break="random"`` the mass is spread uniformly over the tied items, which is
exactly the probability with which the random tie-break picks each. :attr:`Policy.stochastic` says which policies
draw coins even without ties.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from recbook import seeds
from recbook.config import EnvConfig
from recbook.observations import FeedbackView, ObservationLayout

__all__ = [
    "POLICIES",
    "Policy",
    "Random",
    "RoundRobin",
    "ExploreOnce",
    "EpsilonGreedy",
    "UCB",
    "ThompsonSampling",
    "BayesGreedy",
    "BayesIndex",
    "BayesRollout",
    "MyopicOracle",
    "Oracle",
    "dirichlet_posterior_mean",
    "hazard_index",
    "make_policy",
    "brute_force_optimum",
    "oracle_return",
]

TIE_BREAKS: tuple[str, ...] = ("first", "random")

def _policy_generator(seed: int | None) -> np.random.Generator:
    """The policy's generator: ``seed``'s own ``"policy"`` stream (:mod:`recbook.seeds`), independent of users
    drawn with the same seed — with ``default_rng(seed)`` a Thompson sampler seeded like the users would draw the
    very Gamma variates that made them, and "guess" them. ``None`` gives fresh OS entropy."""
    if seed is None:
        return np.random.default_rng()
    return seeds.generator(seed, seeds.TEST, "policy")


class Policy:
    """Base class: validation, batching, tie-breaking and the generator; subclasses implement :meth:`act`.

    Args:
        config: the environment the policy will act in. Its ``observation`` field is ignored: the policy builds
            the layout of the mode it needs (``self.observation``), which also validates the configuration.
        seed: seed of the policy's own generator (used by stochastic policies and random tie-breaking).
        tie_break: ``"first"`` (lowest item index), ``"random"`` (uniform among tied items) or ``None`` (default):
            ``"random"`` when the items carry a quality (``config.has_quality``), else ``"first"``.
    """

    #: Short identifier used in tables and on the command line.
    name: ClassVar[str] = "policy"
    #: Observation mode the policy needs; :func:`recbook.evaluation.rollout` reads it.
    observation: ClassVar[str] = "feedback"
    #: Whether the policy draws coins apart from tie-breaking (its action is then not a function of the
    #: observation). Deterministic policies get one-hot :meth:`Policy.action_probabilities` from their scores.
    stochastic: ClassVar[bool] = False

    def __init__(self, config: EnvConfig, seed: int | None = None, tie_break: str | None = None) -> None:
        if not isinstance(config, EnvConfig):
            raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
        if tie_break is None:
            # Items with qualities are no longer exchangeable: "first" would always open with item 0 whatever
            # its quality (and with a catalogue sorted by quality, with the worst item), so ties go at random.
            tie_break = "random" if config.has_quality else "first"
        if tie_break not in TIE_BREAKS:
            raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
        self.config = config
        self.layout = ObservationLayout(config.replace(observation=self.observation))
        self.tie_break = tie_break
        self.seed = seed
        self.np_random = _policy_generator(seed)
        self._alpha = config.alpha_vector
        total = config.session_length
        # next_multiplier[c] = m(c + 1): the decay multiplier of an item's next recommendation after c of them.
        self._next_multiplier = config.decay_model.multiplier(np.arange(1, total + 2))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the policy's generator (with ``seed``, or the constructor's seed if ``None``)."""
        self.np_random = _policy_generator(self.seed if seed is None else seed)

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.int64], Any]:
        """Actions for a batch ``(K, d)`` of observations (returns ``(K,)``) or one ``(d,)`` (returns 0-d)."""
        obs = self._check_observation(observation)
        single = obs.ndim == 1
        actions = self.act(obs[None] if single else obs)
        return (actions[0] if single else actions), state

    def _check_observation(self, observation: Any) -> NDArray[np.float64]:
        obs = np.asarray(observation, dtype=np.float64)
        if obs.ndim not in (1, 2) or obs.shape[-1] != self.layout.size:
            raise ValueError(
                f"observation must have shape ({self.layout.size},) or (K, {self.layout.size}) for "
                f"{self.name} ({self.observation!r} observation), got {obs.shape}"
            )
        return obs

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        """Actions ``(K,)`` for observations ``(K, d)``; the one method subclasses implement."""
        raise NotImplementedError

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        """The index ``(K, n_items)`` whose argmax (with the policy's tie-breaking) is its greedy choice.

        Index policies implement it (for :class:`EpsilonGreedy` it is the index of the non-exploring steps);
        :meth:`Policy.action_probabilities` reads it to handle ties exactly. Policies without one raise
        ``NotImplementedError``.
        """
        raise NotImplementedError(f"{self.name} has no deterministic index")

    def action_probabilities(self, observation: Any) -> NDArray[np.float64]:
        """``pi(a | observation)`` for a batch ``(K, d)`` of observations (returns ``(K, n_items)``) or one ``(d,)``.

        Rows sum to 1. For a deterministic policy the row is one-hot on the item :meth:`predict` returns with
        ``tie_break="first"``; with ``tie_break="random"`` it is uniform over the tied items (the exact
        probabilities of the random tie-break). Stochastic policies override this with their exact
        probabilities (:class:`ThompsonSampling` with a Monte-Carlo estimate). Calling it draws no random
        numbers from the policy's generator, so it never changes what :meth:`predict` does next.
        """
        obs = self._check_observation(observation)
        single = obs.ndim == 1
        probabilities = self._probabilities(obs[None] if single else obs)
        return probabilities[0] if single else probabilities

    def _probabilities(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(K, n_items)`` probabilities for ``(K, d)`` observations; the generic version for deterministic policies."""
        if self.stochastic:
            raise NotImplementedError(f"{type(self).__name__} is stochastic and must override _probabilities")
        try:
            scores = self.scores(observation)
        except NotImplementedError:
            # A deterministic policy without an index: one-hot of its action (ties broken however act() does).
            actions = self.act(observation)
            return np.eye(self.config.n_items)[actions]
        return self._argmax_probabilities(scores)

    # -- helpers shared by the index policies ----------------------------------------------------------------
    def _tied(self, scores: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which items tie for the row maximum of ``(K, n)`` scores (the set random tie-breaking draws from)."""
        best = scores.max(axis=1, keepdims=True)
        return np.isclose(scores, best, rtol=1e-12, atol=1e-15) | (scores == best)

    def _argmax_probabilities(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Probabilities ``(K, n)`` of :meth:`_argmax`'s choice: one-hot (``"first"``) or uniform over ties."""
        if self.tie_break == "first":
            return np.eye(scores.shape[1])[np.argmax(scores, axis=1)]
        tied = self._tied(scores).astype(np.float64)
        return tied / tied.sum(axis=1, keepdims=True)

    def _argmax(self, scores: NDArray[np.float64]) -> NDArray[np.int64]:
        """Row-wise argmax of ``(K, n)`` scores with this policy's tie-breaking rule."""
        if self.tie_break == "first":
            return np.argmax(scores, axis=1).astype(np.int64)
        tied = self._tied(scores)
        keys = np.where(tied, self.np_random.random(scores.shape), -1.0)
        return np.argmax(keys, axis=1).astype(np.int64)

    def _next_value(self, view: FeedbackView, estimate: NDArray[np.float64]) -> NDArray[np.float64]:
        """``estimate * m(count + 1)``: expected reward of recommending each item once more."""
        return estimate * self._next_multiplier[view.counts]

    def _beta_posterior(self, view: FeedbackView) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per-item Beta posterior ``(a, b)`` of the preference from clicks (see :class:`BayesGreedy`).

        Prior: the Dirichlet's exact marginal ``p[a] ~ Beta(alpha[a], alpha0 - alpha[a])``. Likelihood: ``clicks``
        successes out of ``exposure(count)`` effective trials (failures clipped at 0, since with decay clicks can
        exceed exposure).
        """
        alpha0 = self._alpha.sum()
        exposure = self.layout.exposure[view.counts]
        a = self._alpha + view.clicks
        # The floor keeps b > 0 for a single-item catalogue (alpha0 == alpha), where Beta(a, 0) is undefined.
        b = np.maximum((alpha0 - self._alpha) + np.maximum(exposure - view.clicks, 0.0), 1e-12)
        return a, b

    def _posterior_mean(self, view: FeedbackView) -> NDArray[np.float64]:
        """Posterior-mean preference of every item (expected feedback: exact; clicks: Beta approximation)."""
        if self.config.feedback == "expected":
            return dirichlet_posterior_mean(view.revealed, view.value, self._alpha)
        a, b = self._beta_posterior(view)
        return a / (a + b)


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


class RoundRobin(Policy):
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

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._argmax(self.scores(observation))


class ExploreOnce(Policy):
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

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._argmax(self.scores(observation))


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
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be a number in [0, 1], got {epsilon!r}")
        self.epsilon = float(epsilon)

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        """The greedy index (the empirical next value) that the non-exploring steps maximise."""
        view = self.layout.parse(observation)
        prior_mean = self._alpha / self._alpha.sum()
        estimate = np.where(view.revealed, view.value, prior_mean)
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


class UCB(Policy):
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
        if isinstance(exploration, bool) or not isinstance(exploration, (int, float)) or not exploration >= 0:
            raise ValueError(f"exploration must be a non-negative number, got {exploration!r}")
        self.exploration = float(exploration)

    def _posterior_sd(self, view: FeedbackView) -> NDArray[np.float64]:
        if self.config.feedback == "expected":
            revealed = view.revealed
            mass = np.clip(1.0 - np.where(revealed, view.value, 0.0).sum(axis=1, keepdims=True), 0.0, 1.0)
            alpha_unseen = np.where(revealed, 0.0, self._alpha).sum(axis=1, keepdims=True)
            # Unrevealed item a: p[a] = (1 - S) * Beta(alpha[a], alpha_U - alpha[a]); guard the revealed entries.
            a = self._alpha
            b = np.maximum(alpha_unseen - a, 0.0)
            sd = mass * np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
            return np.where(revealed, 0.0, sd)
        a, b = self._beta_posterior(view)
        return np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        view = self.layout.parse(observation)
        t = (self.config.session_length - view.steps_remaining + 1).astype(np.float64)[:, None]
        bonus = self.exploration * np.sqrt(2.0 * np.log(np.maximum(t, 1.0))) * self._posterior_sd(view)
        return self._next_value(view, self._posterior_mean(view) + bonus)

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._argmax(self.scores(observation))


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
    the click settings the book measures (chapter 7), because its mean 1/2 is wildly optimistic: every unrecommended item looks better than any item that has
    been tried without a click, so it tries fresh items before repeating unclicked ones — exactly right when a
    repeat is worth only ``m(2) < 1`` of a fresh item. With the calibrated prior an unclicked item's posterior,
    ``Beta(1, n)``, is almost the prior ``Beta(1, n - 1)``, so probability matching keeps re-sampling repeats of
    items it has no evidence for, and each repeat is decayed.

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
        if prior not in ("dirichlet", "uniform"):
            raise ValueError(f"prior must be 'dirichlet' or 'uniform', got {prior!r}")
        if (
            isinstance(n_probability_samples, bool)
            or not isinstance(n_probability_samples, (int, np.integer))
            or n_probability_samples < 1
        ):
            raise ValueError(f"n_probability_samples must be a positive integer, got {n_probability_samples!r}")
        self.prior = prior
        self.n_probability_samples = int(n_probability_samples)

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
            revealed = view.revealed
            gamma = rng.standard_gamma(np.broadcast_to(self._alpha, revealed.shape))
            gamma = np.where(revealed, 0.0, gamma)
            total = gamma.sum(axis=1, keepdims=True)
            mass = np.clip(1.0 - np.where(revealed, view.value, 0.0).sum(axis=1, keepdims=True), 0.0, 1.0)
            share = np.divide(gamma, total, out=np.zeros_like(gamma), where=total > 0)
            sample = np.where(revealed, view.value, mass * share)
        else:
            if self.prior == "dirichlet":
                a, b = self._beta_posterior(view)
            else:
                exposure = self.layout.exposure[view.counts]
                a = 1.0 + view.clicks
                b = 1.0 + np.maximum(exposure - view.clicks, 0.0)
            sample = rng.beta(a, b)
        return self._next_value(view, sample)


class BayesGreedy(Policy):
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

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._argmax(self.scores(observation))


class Oracle(Policy):
    """Greedy on the true next engagement probability ``p[a] * m(count + 1)``; an upper bound, not a baseline.

    It needs the ``"oracle"`` observation (``observation = "oracle"``): the feedback observation followed by the
    true preferences ``p``. That is the only way any policy here can see ``p``, and it is explicit.

    Why greedy is optimal (for expected return, with any non-increasing decay ``m(1) >= m(2) >= ...``). The k-th
    recommendation of item ``a`` earns ``p[a] * m(k)`` no matter when it happens or what else was recommended:
    items do not interact, and only an item's own count matters. So a session in which item ``a`` is recommended
    ``c_a`` times (``sum_a c_a = T``) earns ``sum_a (p[a] m(1) + ... + p[a] m(c_a))``: the sum, over items, of the
    first ``c_a`` of that item's *marginal rewards*. Because each item's marginals are non-increasing, taking the
    first ``c_a`` of them is the same as taking any ``c_a`` of its largest ones, so the session's return is a sum
    of ``T`` marginals chosen from the table ``{p[a] m(k)}`` with each item's chosen marginals forming a prefix.
    No choice of ``T`` entries can beat the ``T`` largest entries of the whole table, and the ``T`` largest entries
    are prefix-closed (if ``p[a] m(k)`` is among them, so is ``p[a] m(k-1) >= p[a] m(k)``), so they are achievable.
    Greedy takes, at each step, the largest marginal not yet taken — the next marginal of some item — and after
    ``T`` steps has taken exactly the ``T`` largest (exchange argument: if a schedule misses one of the ``T``
    largest marginals, swapping it in for its smallest chosen marginal does not lower the return). Hence greedy
    attains the optimum; ties change which optimum, not its value. :func:`brute_force_optimum` checks this by
    enumeration.

    Users who leave (``leave_rate > 0``). Greedy is no longer optimal: each recommendation also decides whether the
    user is still there for the steps left. The oracle then follows the full-information plan of
    :mod:`recbook.planning` (the count vector found by local search, in decreasing order of reward over leave
    probability; exact order, searched count vector, checked against brute force). With ``p`` known the best policy
    is a fixed sequence (nothing else random is observed), so at each step it plays the next recommendation of
    the plan made at the session's start. The plan for a batch is memoised by the batch's preference block, so a
    rollout plans once instead of at every step; rows whose counts do not follow the plan are re-planned from
    their counts. :func:`oracle_return` is the plan's exact expected return.
    """

    name = "oracle"
    observation = "oracle"

    def __init__(self, config: EnvConfig, seed: int | None = None, tie_break: str | None = None) -> None:
        super().__init__(config, seed=seed, tie_break=tie_break)
        self._memo: tuple[bytes, NDArray[np.int64]] | None = None

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        view = self.layout.parse(observation)
        assert view.preferences is not None
        return self._next_value(view, view.preferences)

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        if self.config.leave_rate == 0:
            return self._argmax(self.scores(observation))
        return self._follow_plan(self.layout.parse(observation))

    def _probabilities(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.config.leave_rate == 0:
            return super()._probabilities(observation)
        # Following a plan: one-hot on the plan's next recommendation (ties inside the plan broken as act does).
        return np.eye(self.config.n_items)[self.act(observation)]

    def _follow_plan(self, view: FeedbackView) -> NDArray[np.int64]:
        from recbook import planning

        preferences = np.asarray(view.preferences, dtype=np.float64)
        key = preferences.tobytes()
        if self._memo is None or self._memo[0] != key:
            self._memo = (key, planning.plan(preferences, self.config)[0])
        remaining = self._memo[1] - view.counts
        k = np.maximum(view.steps_remaining, 1)
        off_plan = np.any(remaining < 0, axis=1) | (remaining.sum(axis=1) != k)
        for horizon in np.unique(k[off_plan]):
            rows = np.flatnonzero(off_plan & (k == horizon))
            remaining[rows] = planning.plan(preferences[rows], self.config, view.counts[rows], int(horizon))[0]
        # The next recommendation of the plan: the remaining unit with the largest reward / leave probability.
        reward = preferences * self._next_multiplier[view.counts]
        leave = self.config.leave_probability(np.arange(self.config.n_items))
        with np.errstate(divide="ignore"):
            index = np.where(leave > 0, reward / np.where(leave > 0, leave, 1.0), np.inf)
        return self._argmax(np.where(remaining > 0, index, -1.0))


class MyopicOracle(Policy):
    """Knows ``p`` and maximises the immediate engagement ``p[a] m(count + 1)``: the oracle's greedy rule.

    Identical to :class:`Oracle` when users never leave (where greedy is optimal); with ``leave_rate > 0`` it is the
    best *myopic* policy — what a perfect click-through-rate model that ignores quality would do.
    """

    name = "myopic-oracle"
    observation = "oracle"

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        view = self.layout.parse(observation)
        assert view.preferences is not None
        return self._next_value(view, view.preferences)

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._argmax(self.scores(observation))


class BayesIndex(Policy):
    """Quality-aware hand-made rule: Bayes-greedy's next value divided by a leave hazard.

    ``index[a] = g[a] / (l[a] + h - l[a] h)`` with ``g[a]`` Bayes-greedy's posterior-mean next value
    (:class:`BayesGreedy`), ``l[a] = leave_rate * (1 - quality[a])`` and ``h = 1 / k`` for ``k`` steps remaining.

    Why. The exchange argument (:mod:`recbook.planning`) orders a fixed set of recommendations by reward over leave
    probability, ``g / l``. Used as a rule on its own that index is wrong near the end of a session: an item of
    quality near 1 gets a near-infinite index even on the last step, where leaving costs nothing. A session that
    also ended by itself with probability ``h`` per step would order by ``g / (1 - (1 - l)(1 - h))``, the formula
    above; ``h = 1/k`` (the hazard of a session with ``k`` steps left, on average) makes the last step myopic
    (``h = 1``) and early steps close to ``g / l``. It is a heuristic: it neither plans nor learns.
    """

    name = "bayes-index"

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        view = self.layout.parse(observation)
        value = self._next_value(view, self._posterior_mean(view))
        leave = self.config.leave_probability(np.arange(self.config.n_items))
        return hazard_index(value, leave, view.steps_remaining)

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._argmax(self.scores(observation))


def dirichlet_posterior_mean(
    revealed: NDArray[np.bool_], value: NDArray[np.float64], alpha: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Posterior-mean preferences ``(..., n)`` under expected feedback: a revealed item's observed value, and for
    the others the unrevealed mass ``1 - S`` shared in proportion to ``alpha`` (Dirichlet neutrality: the
    unrevealed part is ``(1 - S) Dirichlet(alpha_U)``). ``value`` is read only where ``revealed``."""
    known = np.where(revealed, value, 0.0)
    unrevealed_mass = np.clip(1.0 - known.sum(axis=-1, keepdims=True), 0.0, 1.0)
    weight = np.where(revealed, 0.0, alpha)
    total = weight.sum(axis=-1, keepdims=True)
    share = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
    return np.where(revealed, value, unrevealed_mass * share)


def hazard_index(
    value: NDArray[np.float64], leave: NDArray[np.float64], steps_remaining: NDArray[np.int64]
) -> NDArray[np.float64]:
    """:class:`BayesIndex`'s index ``value / (l + h - l h)`` with ``h = 1 / k`` for ``k`` steps remaining.

    ``value`` and the result have shape ``(..., n)``, ``leave`` ``(n,)`` and ``steps_remaining`` ``(...,)``.
    """
    hazard = 1.0 / np.maximum(steps_remaining, 1).astype(np.float64)[..., None]
    return value / (leave + hazard - leave * hazard)


class BayesRollout(Policy):
    """A Bayesian rollout planner: it does not know ``p``, and scores every item by simulating the futures its
    posterior allows (expected feedback only).

    For each item ``a`` the score is a Monte-Carlo estimate of the expected return of recommending ``a`` now and
    following :class:`BayesIndex` afterwards, the expectation taken over the user's preferences given what has
    been observed. Each of ``n_samples`` *scenarios* draws the unrevealed preferences from their exact posterior
    (the revealed ones are known; by Dirichlet neutrality the rest is ``(1 - S) Dirichlet(alpha_U)``), then plays
    the session out: the index rule acts on its *posterior means*, which change as the scenario reveals the items
    it shows, and the scenario's rewards are weighted by the probability that the user is still there. All items
    of one user share the same scenarios (common random numbers), so their differences are less noisy than their
    values. This is one step of policy improvement over the index rule (a *rollout*,
    {cite}`tesauro1996rollout`): it values exploring an item by what exploring reveals, which no myopic index can.

    It is a planner, not a cheap rule: ``n_items * n_samples`` simulated sessions per user and step. It is not in
    :data:`POLICIES` (which every setting's tests and widgets run); build it directly. ``n_samples`` (a positive int,
    default 64) trades time for noise; its generator is the policy's, so the same seed gives the same choices.

    Args:
        config: the environment (``feedback="expected"``).
        seed: seed of the scenario draws and of the tie-breaking.
        n_samples: scenarios per user and step.
        chunk: users simulated together (memory ``~ chunk * n_items**2 * n_samples`` floats).
    """

    name = "bayes-rollout"
    stochastic = True

    def __init__(
        self, config: EnvConfig, seed: int | None = None, n_samples: int = 64, chunk: int = 64, **kwargs: Any
    ) -> None:
        super().__init__(config, seed=seed, **kwargs)
        if config.feedback != "expected":
            raise ValueError(
                "BayesRollout samples the exact Dirichlet posterior of expected feedback; "
                f"got feedback={config.feedback!r}"
            )
        for label, number in (("n_samples", n_samples), ("chunk", chunk)):
            if isinstance(number, bool) or not isinstance(number, (int, np.integer)) or number < 1:
                raise ValueError(f"{label} must be a positive int, got {number!r}")
        self.n_samples = int(n_samples)
        self.chunk = int(chunk)
        self._leave = config.leave_probability(np.arange(config.n_items))

    def scores(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        """Monte-Carlo values ``(K, n_items)`` of recommending each item now (draws from the policy's generator)."""
        view = self.layout.parse(observation)
        parts = [
            self._rollout_values(view.revealed[i : i + self.chunk], view.value[i : i + self.chunk],
                                 view.counts[i : i + self.chunk], view.steps_remaining[i : i + self.chunk])
            for i in range(0, len(view.counts), self.chunk)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.config.n_items))

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._argmax(self.scores(observation))

    def _rollout_values(
        self,
        revealed: NDArray[np.bool_],
        value: NDArray[np.float64],
        counts: NDArray[np.int64],
        steps_remaining: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        users, n = counts.shape
        samples = self.n_samples
        alpha = self._alpha
        known = np.where(revealed, value, 0.0)
        unseen_mass = np.clip(1.0 - known.sum(axis=1), 0.0, 1.0)
        # Scenarios (users, samples, n): revealed preferences as observed, the rest (1 - S) Dirichlet(alpha_U).
        draws = np.where(revealed[:, None, :], 0.0, self.np_random.gamma(np.broadcast_to(alpha, (users, samples, n))))
        total = draws.sum(axis=2, keepdims=True)
        draws = np.divide(draws, total, out=np.zeros_like(draws), where=total > 0) * unseen_mass[:, None, None]
        truth = np.where(revealed[:, None, :], known[:, None, :], draws)
        # One simulated session per (user, first item, scenario): rows of (n,) item arrays.
        shape = (users, n, samples, n)
        truth = np.broadcast_to(truth[:, None], shape).reshape(-1, n)
        shown = np.broadcast_to(revealed[:, None, None, :], shape).reshape(-1, n).copy()
        count = np.broadcast_to(counts[:, None, None, :], shape).reshape(-1, n).copy()
        left = np.broadcast_to(steps_remaining[:, None, None], (users, n, samples)).reshape(-1)
        first = np.broadcast_to(np.arange(n)[None, :, None], (users, n, samples)).reshape(-1)
        rows = np.arange(first.size)
        multiplier = self._next_multiplier  # m(c + 1) at index c
        ret = np.where(left > 0, truth[rows, first] * multiplier[count[rows, first]], 0.0)
        alive = 1.0 - self._leave[first]
        count[rows, first] += 1
        shown[rows, first] = True
        for step in range(1, int(steps_remaining.max(initial=0))):
            remaining = left - step
            active = remaining > 0
            # The index rule's posterior means in this scenario (what it has seen of it).
            mean = dirichlet_posterior_mean(shown, truth, alpha)
            index = hazard_index(mean * multiplier[count], self._leave, remaining)
            pick = index.argmax(axis=1)
            ret += np.where(active, alive * truth[rows, pick] * multiplier[count[rows, pick]], 0.0)
            alive = np.where(active, alive * (1.0 - self._leave[pick]), alive)
            count[rows, pick] += active
            shown[rows, pick] |= active
        return ret.reshape(users, n, samples).mean(axis=2)




#: Every policy class by its command-line name; :func:`make_policy` looks names up here.
POLICIES: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (
        Random,
        RoundRobin,
        ExploreOnce,
        EpsilonGreedy,
        UCB,
        ThompsonSampling,
        BayesGreedy,
        BayesIndex,
        MyopicOracle,
        Oracle,
    )
}


def make_policy(name: str, config: EnvConfig, seed: int | None = None, **kwargs: Any) -> Policy:
    """Build a policy by its table name (a key of :data:`POLICIES`, e.g. ``"bayes-greedy"``)."""
    key = name.strip().lower().replace("_", "-")
    if key not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose from {sorted(POLICIES)}")
    return POLICIES[key](config, seed=seed, **kwargs)


def _count_vectors(n_items: int, total: int) -> Iterator[tuple[int, ...]]:
    """All ``n_items``-tuples of non-negative integers summing to ``total`` (stars and bars)."""
    for bars in itertools.combinations(range(total + n_items - 1), n_items - 1):
        edges = (-1, *bars, total + n_items - 1)
        yield tuple(edges[i + 1] - edges[i] - 1 for i in range(n_items))


def brute_force_optimum(preferences: Any, config: EnvConfig) -> float:
    """Best expected return of any recommendation sequence for one user, by exhaustive enumeration.

    The return of a sequence depends only on how often each item appears (count vector ``c``), and equals
    ``sum_a p[a] * exposure(c_a)``; enumerating the ``C(T + n - 1, n - 1)`` count vectors covers all ``n^T``
    sequences. Meant for tiny instances (it refuses more than 10^6 count vectors). With ``leave_rate > 0`` each
    count vector is valued in its optimal order (:func:`recbook.planning.brute_force_plan`, up to 200 000 vectors).
    """
    if isinstance(config, EnvConfig) and config.leave_rate > 0:
        from recbook.planning import brute_force_plan

        return brute_force_plan(preferences, config)
    p = np.asarray(preferences, dtype=np.float64)
    n, total = config.n_items, config.session_length
    if p.shape != (n,):
        raise ValueError(f"preferences must have shape ({n},), got {p.shape}")
    if math.comb(total + n - 1, n - 1) > 1_000_000:
        raise ValueError(f"brute_force_optimum is for tiny instances; n_items={n}, session_length={total} is too big")
    exposure = config.decay_model.exposure_table(total)
    counts = np.array(list(_count_vectors(n, total)), dtype=np.int64)
    return float((p * exposure[counts]).sum(axis=1).max())


def oracle_return(preferences: Any, config: EnvConfig) -> NDArray[np.float64]:
    """The oracle's (optimal) expected return per user: the sum of the ``T`` largest marginals ``p[a] m(k)``.

    ``preferences`` has shape ``(K, n)`` (or ``(n,)``); returns shape ``(K,)`` (or a 0-d array). Equal to the
    return of :class:`Oracle` under expected feedback, without running a session (see its docstring).

    With ``leave_rate > 0`` it is the expected return of the planner's plan (:func:`recbook.planning.plan`), computed
    exactly for that plan: an achievable return, hence a lower bound on the optimum, exact on every instance small
    enough to check by brute force. About 1 s per 1,000 users of ``n = 10``, ``T = 20`` (numpy, one thread).
    """
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    if config.leave_rate > 0:
        from recbook.planning import plan_return

        p = np.asarray(preferences, dtype=np.float64)
        if p.ndim == 1:
            return plan_return(p[None], config)[0]
        return plan_return(p, config)
    p = np.asarray(preferences, dtype=np.float64)
    total = config.session_length
    marginals = p[..., :, None] * config.decay_model.multiplier(np.arange(1, total + 1))
    flat = marginals.reshape(*p.shape[:-1], -1)
    top = np.partition(flat, flat.shape[-1] - total, axis=-1)[..., -total:]
    return top.sum(axis=-1)
