"""Policies behind one ``predict()`` protocol: the oracle, the counts-only baselines and the bandits.

Modules, by role: :mod:`~recbook.policies.base` (the :class:`Policy` protocol and :class:`IndexPolicy`, the argmax of
an index), :mod:`~recbook.policies.bandits` (the counts-only baselines and the bandits),
:mod:`~recbook.policies.oracle` (the policies that see ``p``), :mod:`~recbook.policies.index` (:class:`BayesIndex`,
:class:`BayesRollout`) and :mod:`~recbook.policies.registry` (:data:`~recbook.policies.registry.POLICIES`,
:func:`make_policy`). Every Bayesian
policy reads the one posterior of :mod:`recbook.posterior`; :func:`oracle_return` and :func:`brute_force_optimum`
live in :mod:`recbook.planning.optimum` and are re-exported here.

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

from recbook.planning.optimum import brute_force_optimum, oracle_return
from recbook.policies.bandits import UCB, BayesGreedy, EpsilonGreedy, ExploreOnce, Random, RoundRobin, ThompsonSampling
from recbook.policies.base import TIE_BREAKS, IndexPolicy, Policy
from recbook.policies.index import BayesIndex, BayesRollout, hazard_index
from recbook.policies.mixture import EpsilonMixture
from recbook.policies.oracle import FullInformationPolicy, MyopicOracle, Oracle
from recbook.policies.registry import POLICIES, make_policy
from recbook.posterior import dirichlet_posterior_mean

__all__ = [
    "EpsilonMixture",
    "POLICIES",
    "Policy",
    "IndexPolicy",
    "FullInformationPolicy",
    "TIE_BREAKS",
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
