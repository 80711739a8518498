"""Fitted Q evaluation on the item-shared network: a Q-function of a *given* policy, for the direct method and DR.

:func:`recbook.ope.estimate` fits a linear Q-function of the target by default (:mod:`recbook.ope.fqe`). Where a
linear model on hand-made features is too crude, the offline learners' network can fit the target's Q-function
instead: the loop of FQI (:mod:`recbook.offline.learners`) with the TD target

    ``r_t + gamma sum_a' pi(a' | s_{t+1}) Q_target(s_{t+1}, a')``,

the target policy's own next value instead of the max, on logged transitions only (Le et al. 2019, "Batch policy
learning under constraints"; Paine et al. 2020). Pass the result as ``q_function``::

    q = fit_q_evaluation(learning_logs, policy, seed=0)
    estimate(held_out_logs, policy, "dr", q_function=q)

Fit it on logs that the estimate does not read (the learning part of :func:`~recbook.offline.split_logs`): DR is
then unbiased whatever the model's error, because the model is fixed before the held-out sessions are drawn.

A network is not a safer model than the linear one, only a different one: in chapter 12 it was closer to the truth
for policies logged by a uniform random logger and much further (0.3 to 0.7 too high) for policies that leave a
myopic logger's path, whose next actions the logs rarely contain. Check a model against known values before
trusting the direct method it feeds.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import torch as th
from numpy.typing import NDArray

from recbook import seeds
from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.offline.config import OfflineConfig, resolve
from recbook.offline.learners import _q_learning, train_scorer
from recbook.offline.policy import ItemScorer
from recbook.offline.transitions import transitions
from recbook.ope.logs import Logs
from recbook.ope.weights import target_probabilities

__all__ = ["NetworkQFunction", "fit_q_evaluation"]


class NetworkQFunction:
    """A target policy's Q-function fitted by :func:`fit_q_evaluation`: ``q(observations (K, d), steps (K,)) -> (K,
    n_items)``, :data:`recbook.ope.fqe.QFunction`'s signature (the observation carries the steps left, so ``steps``
    is not read).

    Attributes:
        scorer: the trained :class:`~recbook.offline.policy.ItemScorer`. config: the environment of the logs.
        settings: the :class:`~recbook.offline.config.OfflineConfig` it was fitted with. history: one row per
        training checkpoint (``step``, ``loss``, ``td_loss``, ``mean_q``, ``train_time_s``).
    """

    def __init__(self, scorer: ItemScorer, config: EnvConfig, settings: OfflineConfig, history: pd.DataFrame) -> None:
        self.scorer, self.config, self.settings, self.history = scorer.eval(), config, settings, history

    def __call__(self, observations: Any, steps: Any = None) -> NDArray[np.float64]:
        obs = np.asarray(observations, dtype=np.float32)
        expected = ObservationLayout(self.config).size
        if obs.ndim != 2 or obs.shape[1] != expected:
            raise ValueError(f"observations must have shape (K, {expected}), got {obs.shape}")
        with th.no_grad():
            return self.scorer(th.as_tensor(obs)).double().numpy()


def fit_q_evaluation(logs: Logs, target: Any, config: OfflineConfig | None = None, seed: int = 0,
                     **options: Any) -> NetworkQFunction:
    """Fit ``target``'s Q-function on ``logs`` with the item-shared network (see the module docstring).

    Args:
        logs: :class:`~recbook.ope.Logs` with feedback observations; fit on sessions the estimate will not read.
        target: the policy to evaluate: anything with ``action_probabilities(observations (K, d)) -> (K, n)``.
        config: the network and optimiser (default :class:`~recbook.offline.config.OfflineConfig()`, the Q-learners'
            settings: its ``skip``, ``features``, ``net_arch``, ``gradient_steps``, rates, ``gamma`` and target
            copies); ``**options`` override its fields.
        seed: the network's initial weights and the minibatches (``name="fqe"`` of
            :func:`~recbook.offline.learners.train_scorer`).
    """
    seed = seeds.validate_seed(seed)
    settings = resolve(config, options)
    if not isinstance(logs, Logs):
        raise ValueError(f"logs must be recbook.ope.Logs, got {type(logs).__name__}")
    if logs.config.observation != "feedback":
        raise ValueError(f"logs must hold feedback observations, got observation={logs.config.observation!r}")
    if not callable(getattr(target, "action_probabilities", None)):
        raise ValueError(f"target must have action_probabilities(observations), got {type(target).__name__}")
    data = transitions(logs)
    # pi(. | s_{t+1}) of each transition, read in the target's observation mode; a terminal row's is never used.
    probabilities = target_probabilities(logs, target)
    following = probabilities[data.sessions, np.minimum(data.steps + 1, logs.horizon - 1)]
    loop = partial(_q_learning, alpha=0.0, next_probabilities=following)
    scorer, history = train_scorer(data, logs.config, "fqe", settings.skip, settings, seed, loop)
    return NetworkQFunction(scorer, logs.config, settings, history)
