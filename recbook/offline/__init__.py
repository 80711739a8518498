"""Learning a policy from logs: behaviour cloning, off-policy REINFORCE, fitted Q iteration and CQL.

Chapter 11 evaluates a new policy from an old policy's logs; this package *learns* one from them, without ever
acting in the simulator — as a production recommender must, since it cannot try hundreds of thousands of actions on
its users. One entry point::

    policy = recbook.offline.learn(logs, "cql", seed=0)

returns an :class:`~recbook.offline.policy.OfflinePolicy` with ``predict`` and ``action_probabilities``, so
:func:`recbook.evaluation.compare` scores it in the simulator and :func:`recbook.ope.estimate` estimates it from
logs; ``policy.save(path)`` and ``recbook.load_agent(path)`` round-trip it. The deployment workflow (split, learn,
choose among candidates, estimate, decide) is :mod:`~recbook.offline.workflow`; the learners are in
:mod:`~recbook.offline.learners`, their
hyperparameters in :class:`~recbook.offline.config.OfflineConfig`, the network in :mod:`~recbook.offline.policy`,
the logged transitions in :mod:`~recbook.offline.transitions`, a network Q-function of a given policy
for the direct method and DR in :mod:`~recbook.offline.fqe`, and a contextual policy learned from the Open Bandit
Dataset's real logs in :mod:`~recbook.offline.contextual`.

Every learner reads the logs' feedback observations through the item-shared network of the book's DQN, PPO and
REINFORCE (:class:`recbook.agents.features.ItemFeatures`), with the ``"posterior"`` features by default: nothing
in the inputs is computed from ``leave_rate``, so what a learner knows about users who leave comes from the exits
in the logs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from recbook import seeds
from recbook._checks import check_choice
from recbook.config import EnvConfig
from recbook.offline.config import METHODS, OfflineConfig, resolve
from recbook.offline.fqe import NetworkQFunction, fit_q_evaluation
from recbook.offline.learners import fit
from recbook.offline.policy import ItemScorer, OfflinePolicy, load_offline
from recbook.offline.transitions import Transitions, transitions
from recbook.offline.workflow import DECISION_ESTIMATOR, SELECTION_ESTIMATOR, assess, decide, select, split_logs
from recbook.ope.logs import Logs

__all__ = [
    "DECISION_ESTIMATOR",
    "METHODS",
    "SELECTION_ESTIMATOR",
    "ItemScorer",
    "NetworkQFunction",
    "OfflineConfig",
    "OfflinePolicy",
    "Transitions",
    "assess",
    "decide",
    "fit_q_evaluation",
    "learn",
    "load_offline",
    "select",
    "split_logs",
    "transitions",
]


def learn(
    logs: Logs | pd.DataFrame,
    method: str,
    config: OfflineConfig | None = None,
    seed: int = 0,
    env_config: EnvConfig | None = None,
    **options: Any,
) -> OfflinePolicy:
    """Learn a policy from logged sessions only.

    Args:
        logs: :class:`~recbook.ope.Logs` (from :func:`recbook.ope.collect`), or a user's own table in
            :meth:`~recbook.ope.Logs.to_frame`'s columns (then ``env_config`` is required).
        method: ``"bc"``, ``"reinforce"``, ``"fqi"`` or ``"cql"`` (:mod:`recbook.offline.learners`).
        config: the hyperparameters (default :class:`OfflineConfig()`); ``**options`` override its fields, e.g.
            ``learn(logs, "cql", cql_alpha=0.5)``.
        seed: the network's initial weights and the minibatches.
        env_config: the environment of a DataFrame's logs (ignored for ``Logs``, which carry theirs).

    The logs must hold feedback observations (what the item-shared network reads); a ``ValueError`` names any
    problem.
    """
    check_choice(method, "method", METHODS)
    seed = seeds.validate_seed(seed)
    settings = resolve(config, options)
    if isinstance(logs, pd.DataFrame):
        if env_config is None:
            raise ValueError("env_config is required when logs is a DataFrame (its environment and observation)")
        logs = Logs.from_frame(logs, env_config)
    if not isinstance(logs, Logs):
        raise ValueError(f"logs must be recbook.ope.Logs or a DataFrame, got {type(logs).__name__}")
    if logs.config.observation != "feedback":
        raise ValueError(f"logs must hold feedback observations, got observation={logs.config.observation!r}")
    return fit(transitions(logs), logs.config, method, settings, seed)
