"""Slates and choice: slate search, slate policies (random, myopic, quality-aware, Bayesian, lookahead) and an exact DP.

Modules, by role: :mod:`~recbook.slates.search` (the best slate for per-item values: enumeration, Dinkelbach's
exact method for MNL, a sorted DP for the cascade), :mod:`~recbook.slates.values` (immediate reward, staying and
the quality-aware one-step rule), :mod:`~recbook.slates.base` (the ``predict`` protocol returning ``(K, k)``
slates), :mod:`~recbook.slates.known` (random slates and the rules that know ``p``),
:mod:`~recbook.slates.lookahead` (one step of lookahead over rollouts of the rule),
:mod:`~recbook.slates.bayes` (a particle posterior over ``p`` from the choices, and the rules on it) and
:mod:`~recbook.slates.exact` (the optimum and any policy's exact value by DP on small instances).
:mod:`recbook.slates.calibration` (a catalogue calibrated from the Open Bandit Dataset) is imported on its own.

Every policy here has Stable-Baselines3's ``predict(observation, state=None, episode_start=None,
deterministic=True) -> (slates, state)``, so :func:`recbook.evaluation.rollout` runs it on a slate configuration
(:class:`recbook.config.EnvConfig` with ``slate_size``, ``choice_model``, ``no_click_mass``, ``leave_no_click``).
"""

from __future__ import annotations

from recbook.slates.base import KnownPreferencesPolicy, SlatePolicy
from recbook.slates.bayes import (
    BayesMyopicSlates,
    BayesQualityAwareSlates,
    BayesSlates,
    ParticlePosterior,
    ParticleState,
    effective_sample_size,
)
from recbook.slates.exact import ExactSolution, optimal_value, policy_value
from recbook.slates.known import MyopicSlates, QualityAwareSlates, RandomSlates
from recbook.slates.lookahead import LookaheadSlates
from recbook.slates.search import best_slates, candidate_slates, slate_values
from recbook.slates.values import item_rewards, myopic_slates, rule_slates, stay_probabilities

__all__ = [
    "BayesMyopicSlates",
    "BayesQualityAwareSlates",
    "BayesSlates",
    "ExactSolution",
    "KnownPreferencesPolicy",
    "LookaheadSlates",
    "MyopicSlates",
    "ParticlePosterior",
    "ParticleState",
    "QualityAwareSlates",
    "RandomSlates",
    "SlatePolicy",
    "best_slates",
    "candidate_slates",
    "effective_sample_size",
    "item_rewards",
    "myopic_slates",
    "optimal_value",
    "policy_value",
    "rule_slates",
    "slate_values",
    "stay_probabilities",
]
