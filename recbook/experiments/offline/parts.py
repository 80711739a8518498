"""The parts of chapter 12's experiment that learn and assess policies: ``leave``, ``original``, ``sessions``,
``epsilon`` and ``select`` (see :mod:`recbook.experiments.offline`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from recbook import seeds
from recbook.agents.agent import load_agent
from recbook.experiments.offline import common
from recbook.offline import METHODS, SELECTION_ESTIMATOR, OfflinePolicy, select
from recbook.ope.logs import Logs, collect

__all__ = ["EPSILONS", "EPSILON_SEEDS", "N_CANDIDATE_SEEDS", "N_SELECT", "SELECT_ESTIMATORS", "SELECT_METHODS",
           "SESSION_COUNTS", "VARIED_METHODS", "VARIED_SEEDS", "candidate_seeds", "learning_part", "select_part",
           "selection_logs"]

#: The smaller logs of the ``sessions`` experiment and the exploration rates of the ``epsilon`` experiment.
SESSION_COUNTS: tuple[int, ...] = (2_000, 5_000)
EPSILONS: tuple[float, ...] = (0.1, 0.5)
#: Seeds of the ``sessions`` experiment and of the ``epsilon`` experiment.
VARIED_SEEDS: tuple[int, ...] = (0, 1)
EPSILON_SEEDS: tuple[int, ...] = (0,)
#: The learners the ``sessions``, ``epsilon``, ``steps`` and ``length`` experiments vary.
VARIED_METHODS: tuple[str, ...] = ("reinforce", "cql")
#: Sessions of the ``select`` experiment's third part (the same logger, VALIDATION users), which chooses.
N_SELECT = 10_000
#: The learners of the ``select`` experiment's candidates (learner seeds: :func:`candidate_seeds`).
SELECT_METHODS: tuple[str, ...] = ("reinforce", "cql")
#: Learner seeds per method and log seed in the ``select`` experiment.
N_CANDIDATE_SEEDS = 2
#: The estimators every candidate is estimated with on the selection logs (the first is the one that chooses).
SELECT_ESTIMATORS: tuple[str, ...] = (SELECTION_ESTIMATOR, "dr", "pdis")


def learning_part(part: str, models: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The ``leave``, ``original``, ``sessions`` or ``epsilon`` part: ``(runs, table)``, the table for the first
    two only. The ``leave`` and ``original`` parts save their policies as
    ``models/offline_{setting}_{method}_seed{k}.zip``."""
    setting = "original" if part == "original" else "leave"
    config = common.setting_config(setting)
    if part in ("leave", "original"):
        grid = [(method, seed, common.N_SESSIONS, common.EPSILON) for method in METHODS for seed in common.SEEDS]
    elif part == "sessions":
        grid = [(m, s, n, common.EPSILON) for m in VARIED_METHODS for n in SESSION_COUNTS for s in VARIED_SEEDS]
    elif part == "epsilon":
        grid = [(m, s, common.N_SESSIONS, e) for m in VARIED_METHODS for e in EPSILONS for s in EPSILON_SEEDS]
    else:
        raise ValueError(f"part must be 'leave', 'original', 'sessions' or 'epsilon', got {part!r}")
    rows, policies = [], {}
    for method, seed, n_sessions, epsilon in grid:
        policy, row = common.run(setting, method, seed, n_sessions, epsilon)
        label = f"{method}_seed{seed}"
        if part not in ("leave", "original"):
            label = f"{method}_n{n_sessions}_e{epsilon:g}_seed{seed}"
        policies[label] = policy
        rows.append(row)
        if part in ("leave", "original"):
            policy.save(models / f"offline_{setting}_{label}.zip")
    extra: dict[str, Any]
    if part == "leave":
        extra, references = common.leave_references(config, models)
    elif part == "original":
        extra = {"logger": common.logger(setting, config, seed=0), "bayes-greedy": "bayes-greedy",
                 "oracle": "oracle"}
        references = ["bayes-greedy", "logger"]
    else:
        extra, references = {"logger": common.logger(setting, config, common.EPSILON, seed=0)}, ["logger"]
    runs, table = common.with_truth(rows, policies, config, extra, references)
    return runs, (table if part in ("leave", "original") else None)


def selection_logs(seed: int, epsilon: float = common.EPSILON) -> Logs:
    """The ``select`` experiment's third part: :data:`N_SELECT` sessions of the leave setting's logger (seed
    ``seed``) with VALIDATION users, so they share no user with the learning and held-out logs."""
    config = common.setting_config("leave")
    return collect(config, common.logger("leave", config, epsilon, seed), N_SELECT, seed, seeds.VALIDATION)


def candidate_seeds(seed: int) -> tuple[int, ...]:
    """The learner seeds of log seed ``seed``'s candidates: ``seed + j * len(SEEDS)``, so the first is the ``leave``
    part's learner and no two log seeds share one."""
    return tuple(seed + j * len(common.SEEDS) for j in range(N_CANDIDATE_SEEDS))


def _candidate(job: tuple[str, int, int, str | None]) -> tuple[OfflinePolicy, dict[str, Any]]:
    """One ``select`` candidate ``(method, seed, learner_seed, saved)``: ``run``, loading ``saved`` if given."""
    method, seed, learner_seed, saved = job
    trained = load_agent(saved) if saved is not None else None
    policy, row = common.run("leave", method, seed, learner_seed=learner_seed, trained=trained)
    row["learner_seed"] = learner_seed
    return policy, row


def _choice(job: tuple[int, str, dict[str, OfflinePolicy]]) -> pd.DataFrame:
    """:func:`recbook.offline.select` of one seed's candidates with one estimator, on that seed's selection logs."""
    seed, estimator, candidates = job
    return select(candidates, selection_logs(seed), estimator, seed=seed).assign(estimator=estimator)


def select_part(models: Path, workers: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``select`` experiment (see :mod:`recbook.experiments.offline`): ``(runs_select, select_table)``."""
    config = common.setting_config("leave")
    jobs = []
    for seed in common.SEEDS:
        for method in SELECT_METHODS:
            for learner_seed in candidate_seeds(seed):
                saved = models / f"offline_leave_{method}_seed{seed}.zip"
                use = str(saved) if learner_seed == seed and saved.exists() else None
                jobs.append((method, seed, learner_seed, use))
    results = common.parallel_map(_candidate, jobs, workers)
    rows, policies = [], {}
    for (method, seed, learner_seed, saved), (policy, row) in zip(jobs, results, strict=True):
        label = f"{method}_seed{seed}_learner{learner_seed}"
        policies[label] = policy
        rows.append(row)
        if saved is None:
            policy.save(models / f"offline_leave_{label}.zip")
    choices = [(seed, estimator, {label: policy for (label, policy), row in zip(policies.items(), rows, strict=True)
                                  if row["seed"] == seed})
               for seed in common.SEEDS for estimator in SELECT_ESTIMATORS]
    tables = pd.concat(common.parallel_map(_choice, choices, workers)).set_index(["estimator", "candidate"])
    for label, row in zip(policies, rows, strict=True):
        for estimator in SELECT_ESTIMATORS:
            for column in ("value", "ci_low", "ci_high", "chosen"):
                name = f"chosen_{estimator}" if column == "chosen" else f"select_{estimator}_{column}"
                row[name] = tables.loc[(estimator, label), column]
        row["chosen"] = bool(row[f"chosen_{SELECTION_ESTIMATOR}"])
    extra, references = common.leave_references(config, models)
    return common.with_truth(rows, policies, config, extra, references)
