"""Every policy by its command-line name: :data:`~recbook.policies.registry.POLICIES` and :func:`make_policy`."""

from __future__ import annotations

from typing import Any

from recbook.config import EnvConfig
from recbook.policies.bandits import UCB, BayesGreedy, EpsilonGreedy, ExploreOnce, Random, RoundRobin, ThompsonSampling
from recbook.policies.base import Policy
from recbook.policies.index import BayesIndex
from recbook.policies.oracle import MyopicOracle, Oracle

__all__ = ["POLICIES", "make_policy"]


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
    """Build a policy by its table name (a key of :data:`~recbook.policies.registry.POLICIES`, e.g.
    ``"bayes-greedy"``)."""
    key = name.strip().lower().replace("_", "-")
    if key not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose from {sorted(POLICIES)}")
    return POLICIES[key](config, seed=seed, **kwargs)
