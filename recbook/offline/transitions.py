"""Logged sessions as transitions ``(s_t, a_t, r_t, s_{t+1}, done)``: what every offline learner reads.

A session of :class:`~recbook.ope.logs.Logs` is a row of ``T`` steps; a user who left (``leave_rate > 0``) has
action -1 after the exit. Each active step becomes one transition. ``done`` marks the session's last active step
(the user left after it, or the session reached its last step): nothing follows it, so its continuation value is 0.
Both endings are terminal for the same reason, and the observation's steps-left entry tells the two apart.

Besides the transition itself, each row keeps what the policy-gradient learners need: the logging propensity
``mu(a_t | s_t)``, the reward-to-go ``G_t = r_t + r_{t+1} + ...`` of the logged session, and the session and step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recbook.ope.logs import Logs

__all__ = ["Transitions", "transitions"]


@dataclass(frozen=True)
class Transitions:
    """The ``N`` logged transitions of some sessions, in session order (all arrays have ``N`` rows).

    Attributes:
        observations: ``s_t``, ``(N, d)`` float32 (the logs' observation mode).
        actions: ``a_t``, int64. rewards: ``r_t``. propensities: ``mu(a_t | s_t)``.
        next_observations: ``s_{t+1}`` ``(N, d)``; for a ``done`` row a copy of ``s_t`` that no learner reads.
        dones: whether ``t`` is the session's last step (the user left after it, or ``t = T - 1``).
        returns: the logged reward-to-go ``G_t``.
        sessions, steps: which session (row of the logs) and step each transition comes from.
    """

    observations: NDArray[np.float32]
    actions: NDArray[np.int64]
    rewards: NDArray[np.float64]
    next_observations: NDArray[np.float32]
    dones: NDArray[np.bool_]
    propensities: NDArray[np.float64]
    returns: NDArray[np.float64]
    sessions: NDArray[np.int64]
    steps: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.actions.shape[0])


def transitions(logs: Logs) -> Transitions:
    """Every active step of ``logs`` as a transition (see the module docstring)."""
    if not isinstance(logs, Logs):
        raise ValueError(f"logs must be recbook.ope.Logs (e.g. from ope.collect or Logs.from_frame), got "
                         f"{type(logs).__name__}")
    active = logs.active
    n, horizon = active.shape
    following = np.concatenate([active[:, 1:], np.zeros((n, 1), dtype=bool)], axis=1)
    obs = logs.observations.astype(np.float32)
    nxt = np.concatenate([obs[:, 1:], obs[:, -1:]], axis=1)
    nxt = np.where(following[..., None], nxt, obs)
    to_go = np.cumsum(logs.rewards[:, ::-1], axis=1)[:, ::-1]
    rows = active.ravel()
    sessions, steps = np.divmod(np.arange(n * horizon), horizon)
    d = obs.shape[2]
    return Transitions(
        observations=obs.reshape(-1, d)[rows],
        actions=logs.actions.ravel()[rows],
        rewards=logs.rewards.ravel()[rows],
        next_observations=nxt.reshape(-1, d)[rows],
        dones=~following.ravel()[rows],
        propensities=logs.propensities.ravel()[rows],
        returns=to_go.ravel()[rows],
        sessions=sessions[rows].astype(np.int64),
        steps=steps[rows].astype(np.int64),
    )
