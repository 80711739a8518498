"""The numbers behind the figures: pure functions that turn rollouts and settings into the tables the panels draw.

Nothing here draws. :func:`preference_rank_by_step` re-expresses recommendations as the user's own preference rank,
:func:`cumulative_regret` and :func:`mean_band` give chapter 4's regret curves, :func:`oracle_counts` how the oracle
spreads a session over the items (chapter 2), :func:`simulate_session` a policy against the oracle on the same users
(chapter 13) and :func:`leave_rate_sweep` the % of oracle of each policy along a grid of leave rates (chapter 9).
They live here until the library modules that own these ideas (``recbook.metrics``, ``recbook.evaluation``) take
them; their numbers are the ones the chapters print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from recbook import seeds
from recbook._checks import check_choice, check_int, check_level, check_reals
from recbook.config import EnvConfig
from recbook.evaluation import rollout, run_policy, sample_users, vary
from recbook.metrics import pct_oracle, recommendation_counts, session_return
from recbook.policies import POLICIES, Oracle, make_policy

__all__ = [
    "DEFAULT_LEAVE_RATES",
    "LEAVE_POLICIES",
    "SessionSummary",
    "cumulative_regret",
    "leave_rate_sweep",
    "mean_band",
    "oracle_counts",
    "preference_rank_by_step",
    "simulate_session",
]

#: The leave-rate grid of chapter 9's sweep; 0 is the original setting.
DEFAULT_LEAVE_RATES: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6)
#: The heuristics the sweep computes live (the oracle is the reference of every row).
LEAVE_POLICIES: tuple[str, ...] = ("random", "bayes-greedy", "thompson", "bayes-index", "myopic-oracle")


def preference_rank_by_step(actions: ArrayLike, preferences: ArrayLike) -> NDArray[np.float64]:
    """Share of sessions whose recommendation at step ``t`` was the user's ``r``-th favourite item.

    Args:
        actions: recommended items, int, shape ``(K, T)`` (e.g. ``Rollout.actions``).
        preferences: the users, shape ``(K, n_items)`` (e.g. ``Rollout.preferences``).

    Returns:
        Array of shape ``(n_items, T)``; entry ``[r, t]`` is the fraction of the ``K`` sessions in which the item
        recommended at step ``t`` (0-based) had preference rank ``r + 1`` for that user (ties broken by item
        index). Each column sums to 1.
    """
    acts = np.asarray(actions)
    prefs = np.asarray(preferences, dtype=np.float64)
    if acts.ndim != 2 or prefs.ndim != 2 or acts.shape[0] != prefs.shape[0]:
        raise ValueError(
            f"actions must have shape (K, T) and preferences (K, n_items) with the same K, got {acts.shape} "
            f"and {prefs.shape}"
        )
    n_users, n_items = prefs.shape
    if np.any(acts < 0) or np.any(acts >= n_items):
        raise ValueError(f"actions must be item indices in [0, {n_items})")
    # rank[k, a] = 0 for user k's favourite item, n_items - 1 for the least liked.
    order = np.argsort(-prefs, axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(n_users)[:, None], order] = np.arange(n_items)
    recommended_rank = np.take_along_axis(rank, acts, axis=1)  # (K, T)
    table = np.zeros((n_items, acts.shape[1]))
    for t in range(acts.shape[1]):
        table[:, t] = np.bincount(recommended_rank[:, t], minlength=n_items)
    return table / n_users


def cumulative_regret(engagement: ArrayLike, oracle_engagement: ArrayLike) -> NDArray[np.float64]:
    """Regret against the oracle accumulated up to each step, per user.

    Args:
        engagement: the policy's engagement probabilities, shape ``(K, T)`` (``Rollout.engagement``).
        oracle_engagement: the oracle's on the *same* users, shape ``(K, T)``.

    Returns:
        Shape ``(K, T)``; entry ``[k, t]`` is ``sum_{s <= t} (oracle[k, s] - policy[k, s])`` in engagements. The
        last column is the session's regret (oracle return minus the policy's expected return). Single steps can
        be negative: the oracle takes its largest marginal rewards first, so late in a session a policy that has
        found the favourite can earn more per step than the oracle does.
    """
    policy = np.asarray(engagement, dtype=np.float64)
    oracle = np.asarray(oracle_engagement, dtype=np.float64)
    if policy.ndim != 2 or policy.shape != oracle.shape:
        raise ValueError(
            f"engagement and oracle_engagement must both have shape (K, T), got {policy.shape} and {oracle.shape}"
        )
    return np.cumsum(oracle - policy, axis=1)


def mean_band(
    values: ArrayLike, confidence_level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Column means of ``values`` ``(K, T)`` with Student-t confidence limits: ``(mean, low, high)``, each ``(T,)``.

    The interval is ``mean +- t_{K-1} * sd / sqrt(K)`` per column (a band for a mean over ``K`` users).
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ValueError(f"values must have shape (K, T) with K >= 2, got {array.shape}")
    check_level(confidence_level)
    mean = array.mean(axis=0)
    half = stats.t.ppf(0.5 + confidence_level / 2, array.shape[0] - 1) * stats.sem(array, axis=0)
    return mean, mean - half, mean + half


def oracle_counts(
    preferences: NDArray[np.float64], config: EnvConfig
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """How often the oracle recommends each item to each user, and its return: shapes ``(K, n)`` and ``(K,)``.

    A rollout rather than :func:`recbook.planning.oracle_return`: the counts need the oracle's actions, and the
    return summed along the same rollout is the one chapter 2 prints.
    """
    result = rollout(Oracle(config), config, preferences)
    return recommendation_counts(result.actions, config.n_items), session_return(result.engagement)


@dataclass(frozen=True)
class SessionSummary:
    """What a policy did for a batch of users, next to the oracle on the same users.

    Attributes:
        policy: the policy's name.
        config: the environment.
        mean_return: the policy's mean return per session.
        oracle_return: the oracle's mean return on the same users.
        percent_of_oracle: ``100 * mean_return / oracle_return``.
        step_reward: the policy's mean reward at each step, shape ``(T,)``.
        oracle_step_reward: the oracle's mean reward at each step, shape ``(T,)``.
        rank_share: share of users whose step-``t`` recommendation was their rank-``r`` item (``r = 0`` is the
            favourite), shape ``(n_items, T)``; each column sums to 1.
    """

    policy: str
    config: EnvConfig
    mean_return: float
    oracle_return: float
    percent_of_oracle: float
    step_reward: NDArray[np.float64]
    oracle_step_reward: NDArray[np.float64]
    rank_share: NDArray[np.float64]


def simulate_session(policy: str, config: EnvConfig, n_users: int = 300, seed: int = 0) -> SessionSummary:
    """Run ``policy`` and the oracle on the same ``n_users`` users (common random numbers) and summarise.

    The users, clicks and policy coins are those of ``evaluate({policy: ...}, config, n_users, seed)``
    (:mod:`recbook.seeds` streams), so the summary is reproducible and agrees with the chapters' tables; the policy's
    random draws are independent of the users'.

    The oracle is rolled out rather than valued with :func:`recbook.planning.oracle_return`: the figure needs its
    reward at every step (``oracle_step_reward``), and the closed form sums the same marginals in another order, so
    its totals differ from the rollout's in the last bits (up to ``3e-15`` per user), which would change the
    printed returns of chapter 13.
    """
    check_choice(policy, "policy", sorted(set(POLICIES) - {"oracle"}))
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    n_users = check_int(n_users, "n_users", 1, 100_000)
    users = sample_users(config, n_users, seed)
    result = run_policy(make_policy(policy, config), policy, config, users, seed, seeds.TEST)
    best = run_policy(Oracle(config), "oracle", config, users, seed, seeds.TEST)
    # Rank the expected engagement, not the clicks: the oracle is the best policy in expectation.
    expected, oracle = session_return(result.engagement), session_return(best.engagement)
    rank_share = preference_rank_by_step(result.actions, users)
    return SessionSummary(
        policy=policy,
        config=config,
        mean_return=float(expected.mean()),
        oracle_return=float(oracle.mean()),
        percent_of_oracle=pct_oracle(expected, oracle),
        step_reward=result.engagement.mean(axis=0),
        oracle_step_reward=best.engagement.mean(axis=0),
        rank_share=rank_share,
    )


def leave_rate_sweep(
    config: EnvConfig,
    leave_rates: Sequence[float] = DEFAULT_LEAVE_RATES,
    policies: Sequence[str] = LEAVE_POLICIES,
    agents: Mapping[float, Mapping[str, Any]] | None = None,
    n_users: int = 2_000,
    seed: int = 0,
    stream: str = seeds.TEST,
) -> pd.DataFrame:
    """% of the oracle of each policy at each leave rate, on the same users (common random numbers per rate).

    :func:`recbook.evaluation.vary` over ``leave_rate`` (the one sweep), in the columns chapter 9 concatenates with
    the DQN's sweep.

    Args:
        config: the environment; only ``leave_rate`` changes along the sweep (it must carry item qualities).
        leave_rates: the grid, each in ``[0, 1]``.
        policies: policy names built with ``make_policy(name, config_at_rate, seed=seed)``.
        agents: optional ``{leave_rate: {label: trained agent}}`` added at the rates they were trained for.
        n_users, seed, stream: the users of every rate.

    Returns:
        Tidy table with columns ``leave_rate``, ``policy``, ``expected_return``, ``oracle_return``, ``pct_oracle``
        (means over the users; ``pct_oracle`` is the ratio of the means, in %).
    """
    if not isinstance(config, EnvConfig) or not config.has_quality:
        raise ValueError("config must be an EnvConfig with item_quality set")
    rates = check_reals(leave_rates, "leave_rates", 0.0, 1.0, shape=(None,)).tolist()
    if not rates:
        raise ValueError(f"leave_rates must be a non-empty sequence of numbers in [0, 1], got {leave_rates!r}")
    table = vary("leave_rate", rates, base=config, policies=policies, n_users=n_users, seed=seed, agents=agents,
                 stream=stream)
    columns = ["leave_rate", "policy", "expected_return", "oracle_return", "pct_oracle"]
    return table.rename(columns={"value": "leave_rate"})[columns].reset_index(drop=True)
