"""Deprecated path, kept for one release: use recbook.planning.mdp."""

from __future__ import annotations

from recbook.planning.mdp import (
    MAX_STATES,
    TIE_TOLERANCE,
    CountsMDP,
    LeaveMDP,
    MDPSolution,
    QLearningResult,
    closed_form_round_robin,
    greedy_actions,
    mc_evaluate,
    policy_evaluation,
    policy_iteration,
    q_learning,
    sarsa,
    td0_evaluate,
    value_iteration,
)

__all__ = [
    "MAX_STATES",
    "TIE_TOLERANCE",
    "CountsMDP",
    "LeaveMDP",
    "MDPSolution",
    "QLearningResult",
    "closed_form_round_robin",
    "greedy_actions",
    "mc_evaluate",
    "policy_evaluation",
    "policy_iteration",
    "q_learning",
    "sarsa",
    "td0_evaluate",
    "value_iteration",
]
