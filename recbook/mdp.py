"""Deprecated path, kept for one release: use recbook.planning.mdp."""

from __future__ import annotations

from recbook.planning.mdp import (
    MAX_STATES,
    TIE_TOLERANCE,
    CountsMDP,
    MDPSolution,
    QLearningResult,
    closed_form_round_robin,
    greedy_actions,
    policy_evaluation,
    q_learning,
    value_iteration,
)

__all__ = [
    "MAX_STATES",
    "TIE_TOLERANCE",
    "CountsMDP",
    "MDPSolution",
    "QLearningResult",
    "closed_form_round_robin",
    "greedy_actions",
    "policy_evaluation",
    "q_learning",
    "value_iteration",
]
