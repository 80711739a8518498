"""Evaluation: the rollout engine, paired tables of policies on the same users, and their statistics.

:mod:`~recbook.evaluation.rollout` steps sessions (the one rollout loop, which can also log),
:mod:`~recbook.evaluation.tables` runs policies on the same users and tabulates them (``evaluate``, ``score``,
``compare``, ``vary``), and :mod:`~recbook.evaluation.stats` holds the bootstrap intervals, paired differences
and aggregates over training runs. Every name is importable from ``recbook.evaluation``.
"""

from __future__ import annotations

from recbook.evaluation.rollout import EXITS, PredictsActions, Rollout, rollout, run_sessions, sample_users
from recbook.evaluation.stats import (
    aggregate_runs,
    interquartile_mean,
    interval,
    mean_confidence_interval,
    paired_difference,
    performance_profile,
    summarize,
    verdict,
    versus,
)
from recbook.evaluation.tables import compare, evaluate, run_policy, score, vary
from recbook.metrics import METRIC_COLUMNS

__all__ = [
    "PredictsActions",
    "Rollout",
    "sample_users",
    "EXITS",
    "rollout",
    "run_sessions",
    "run_policy",
    "score",
    "METRIC_COLUMNS",
    "evaluate",
    "compare",
    "summarize",
    "paired_difference",
    "interquartile_mean",
    "aggregate_runs",
    "performance_profile",
    "mean_confidence_interval",
    "verdict",
    "interval",
    "versus",
    "vary",
]
