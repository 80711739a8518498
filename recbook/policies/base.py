"""The policy protocol: :class:`Policy` (validation, batching, tie-breaking, the generator, action probabilities)
and :class:`IndexPolicy`, the base of every policy that recommends the argmax of an index.

The protocol itself (observation modes, randomness, ties, action probabilities) is described in
:mod:`recbook.policies`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from recbook import seeds
from recbook._checks import check_choice
from recbook.config import EnvConfig
from recbook.observations import FeedbackView, ObservationLayout
from recbook.posterior import DirichletPosterior, beta_mean, click_posterior

__all__ = ["TIE_BREAKS", "IndexPolicy", "Policy"]

TIE_BREAKS: tuple[str, ...] = ("first", "random", "quality")


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
        tie_break: ``"first"`` (lowest item index), ``"random"`` (uniform among tied items), ``"quality"`` (the
            tied item of highest quality, then the lowest index; needs ``config.has_quality``) or ``None``
            (default): ``"random"`` when the items carry a quality (``config.has_quality``), else ``"first"``.
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
        check_choice(tie_break, "tie_break", TIE_BREAKS)
        if tie_break == "quality" and not config.has_quality:
            raise ValueError("tie_break='quality' needs items with a quality (config.item_quality)")
        self.config = config
        self.layout = ObservationLayout(config.replace(observation=self.observation))
        self.tie_break = tie_break
        self.seed = seed
        self.np_random = _policy_generator(seed)
        self._alpha = config.alpha_vector
        #: The exact posterior of expected feedback (:mod:`recbook.posterior`), shared by every index and planner.
        self.posterior = DirichletPosterior(self._alpha)
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

        Index policies implement it (for :class:`~recbook.policies.EpsilonGreedy` it is the index of the non-exploring
        steps);
        :meth:`Policy.action_probabilities` reads it to handle ties exactly. Policies without one raise
        ``NotImplementedError``.
        """
        raise NotImplementedError(f"{self.name} has no deterministic index")

    def action_probabilities(self, observation: Any) -> NDArray[np.float64]:
        """``pi(a | observation)`` for a batch ``(K, d)`` of observations (returns ``(K, n_items)``) or one ``(d,)``.

        Rows sum to 1. For a deterministic policy the row is one-hot on the item :meth:`predict` returns with
        ``tie_break="first"``; with ``tie_break="random"`` it is uniform over the tied items (the exact
        probabilities of the random tie-break). Stochastic policies override this with their exact
        probabilities (:class:`~recbook.policies.ThompsonSampling` with a Monte-Carlo estimate). Calling it draws no
        random
        numbers from the policy's generator, so it never changes what :meth:`predict` does next.
        """
        obs = self._check_observation(observation)
        single = obs.ndim == 1
        probabilities = self._probabilities(obs[None] if single else obs)
        return probabilities[0] if single else probabilities

    def _probabilities(self, observation: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(K, n_items)`` probabilities for ``(K, d)`` observations; the generic version for deterministic
        policies."""
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
        if self.tie_break != "random":
            return np.eye(scores.shape[1])[self._argmax(scores)]
        tied = self._tied(scores).astype(np.float64)
        return tied / tied.sum(axis=1, keepdims=True)

    def _argmax(self, scores: NDArray[np.float64]) -> NDArray[np.int64]:
        """Row-wise argmax of ``(K, n)`` scores with this policy's tie-breaking rule."""
        if self.tie_break == "first":
            return np.argmax(scores, axis=1).astype(np.int64)
        tied = self._tied(scores)
        if self.tie_break == "quality":
            return np.argmax(np.where(tied, self.config.quality_vector, -np.inf), axis=1).astype(np.int64)
        keys = np.where(tied, self.np_random.random(scores.shape), -1.0)
        return np.argmax(keys, axis=1).astype(np.int64)

    def _next_value(self, view: FeedbackView, estimate: NDArray[np.float64]) -> NDArray[np.float64]:
        """``estimate * m(count + 1)``: expected reward of recommending each item once more."""
        return estimate * self._next_multiplier[view.counts]

    def _beta_posterior(self, view: FeedbackView) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per-item Beta posterior ``(a, b)`` of the preference from clicks
        (:func:`recbook.posterior.click_posterior`)."""
        return click_posterior(self._alpha, view.clicks, self.layout.exposure[view.counts])

    def _posterior_mean(self, view: FeedbackView) -> NDArray[np.float64]:
        """Posterior-mean preference of every item (expected feedback: exact; clicks: Beta approximation)."""
        if self.config.feedback == "expected":
            return self.posterior.mean(view.revealed, view.value)
        return beta_mean(*self._beta_posterior(view))


class IndexPolicy(Policy):
    """A deterministic index policy: it recommends the argmax of :meth:`Policy.scores` (with its tie-breaking).

    Subclasses implement ``scores`` only; the one ``act`` lives here.
    """

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._argmax(self.scores(observation))
