"""An epsilon-soft version of any policy: the logging policies of chapter 12 ("From logs to a policy").

A production logger is usually a greedy rule with some exploration mixed in, so that its logs hold every item at
every state with a known, non-zero probability. :class:`EpsilonMixture` turns any policy ``mu`` into
``(1 - epsilon) mu + epsilon * uniform``: with probability ``epsilon`` a uniformly random item, otherwise ``mu``'s
action. Its propensities are exact: ``epsilon / n + (1 - epsilon) mu(a | s)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from recbook._checks import check_probability
from recbook.policies.base import Policy, _policy_generator

__all__ = ["EpsilonMixture"]


class EpsilonMixture:
    """``(1 - epsilon) * policy + epsilon * uniform`` over items, with exact action probabilities.

    Args:
        policy: any :class:`~recbook.policies.base.Policy` (its ``action_probabilities`` must be exact, which holds
            for every deterministic index policy, with its tie-breaking).
        epsilon: the exploration probability in ``[0, 1]``.
        seed: seeds the exploration coins; the wrapped policy keeps its own generator (re-seeded by :meth:`reset`
            with a seed derived from this one).

    >>> from recbook import EnvConfig
    >>> from recbook.policies import BayesGreedy
    >>> logger = EpsilonMixture(BayesGreedy(EnvConfig(n_items=4)), epsilon=0.2)
    >>> logger.action_probabilities(np.r_[np.zeros(8), 0.0, 0.0, 0.0, 0.0, 1.0]).round(2).tolist()
    [0.85, 0.05, 0.05, 0.05]
    """

    stochastic = True

    def __init__(self, policy: Policy, epsilon: float, seed: int | None = None) -> None:
        if not isinstance(policy, Policy):
            raise ValueError(f"policy must be a recbook Policy, got {type(policy).__name__}")
        self.policy = policy
        self.epsilon = check_probability(epsilon, "epsilon")
        self.config = policy.config
        self.observation = policy.observation
        self.seed = seed
        self.np_random = _policy_generator(seed)

    @property
    def name(self) -> str:
        """``"<policy>-eps<epsilon>"``, e.g. ``"bayes-greedy-eps0.3"``."""
        return f"{self.policy.name}-eps{self.epsilon:g}"

    def __repr__(self) -> str:
        return f"EpsilonMixture({self.policy!r}, epsilon={self.epsilon:g})"

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the exploration coins and the wrapped policy (with a seed drawn from the same generator)."""
        self.np_random = _policy_generator(self.seed if seed is None else seed)
        self.policy.reset(int(self.np_random.integers(2**31)))

    def action_probabilities(self, observation: Any) -> NDArray[np.float64]:
        """``epsilon / n + (1 - epsilon) * policy(a | s)``, ``(K, n)`` for ``(K, d)`` observations."""
        base = self.policy.action_probabilities(observation)
        return self.epsilon / self.config.n_items + (1.0 - self.epsilon) * base

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[NDArray[np.int64], Any]:
        """The wrapped policy's action, replaced by a uniform item with probability ``epsilon`` (always stochastic:
        a logging policy ignores ``deterministic``)."""
        actions, _ = self.policy.predict(observation, deterministic=deterministic)
        actions = np.atleast_1d(actions)
        explore = self.np_random.random(actions.shape[0]) < self.epsilon
        uniform = self.np_random.integers(0, self.config.n_items, size=actions.shape[0])
        out = np.where(explore, uniform, actions).astype(np.int64)
        return (out[0] if np.ndim(observation) == 1 else out), state
