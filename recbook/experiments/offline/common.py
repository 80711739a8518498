"""What every part of chapter 12's experiment shares: the settings, the logs, one learning run and the true values.

Each seed ``k`` logs its own sessions (TRAIN users of seed ``k``), splits them with seed ``k`` and learns with seed
``k``: the seeds vary the logs as well as the learner.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from recbook import seeds
from recbook.agents.agent import load_agent
from recbook.agents.config import RunConfig
from recbook.config import EnvConfig
from recbook.evaluation import compare
from recbook.offline import assess, decide, learn, split_logs
from recbook.offline.policy import OfflinePolicy
from recbook.ope.logs import Logs, collect
from recbook.policies import BayesGreedy, EpsilonMixture, Random

__all__ = ["EPSILON", "N_HELD_OUT", "N_SESSIONS", "N_TEST_USERS", "PRESETS", "SEEDS", "estimate_columns",
           "leave_references", "logged", "logger", "parallel_map", "run", "setting_config", "with_truth"]

#: Logged sessions a policy learns from.
N_SESSIONS = 20_000
#: Further sessions of the same logger, held out for the policy's estimates.
N_HELD_OUT = 10_000
#: The exploration of the leave setting's logger (epsilon-greedy around BayesGreedy).
EPSILON = 0.3
#: Seeds of the logs, the split and the learner.
SEEDS: tuple[int, ...] = (0, 1, 2)
#: TEST users of every true value.
N_TEST_USERS = 20_000
#: The preset of each setting's environment.
PRESETS: dict[str, str] = {"leave": "leave", "original": "item_shared"}


def setting_config(setting: str) -> EnvConfig:
    """The environment of ``setting``: chapter 9's users who leave, or the original setting, feedback observation."""
    return RunConfig.from_yaml(PRESETS[setting]).env.replace(observation="feedback")


def logger(setting: str, config: EnvConfig, epsilon: float = EPSILON, seed: int = 0) -> Any:
    """The logging policy: epsilon-greedy BayesGreedy (leave setting) or uniform random (original setting)."""
    if setting == "original":
        return Random(config, seed=seed)
    return EpsilonMixture(BayesGreedy(config), epsilon, seed=seed)


def logged(setting: str, n_sessions: int, seed: int, epsilon: float = EPSILON) -> tuple[Logs, Logs]:
    """``(learning, held_out)`` logs: ``n_sessions + N_HELD_OUT`` TRAIN sessions of seed ``seed``, split at random."""
    config = setting_config(setting)
    logs = collect(config, logger(setting, config, epsilon, seed), n_sessions + N_HELD_OUT, seed, seeds.TRAIN)
    return split_logs(logs, n_sessions / (n_sessions + N_HELD_OUT), seed)


def run(setting: str, method: str, seed: int, n_sessions: int | None = None,
        epsilon: float = EPSILON, learner_seed: int | None = None,
        trained: OfflinePolicy | None = None, **options: Any) -> tuple[OfflinePolicy, dict[str, Any]]:
    """Learn one policy and estimate it on the held-out logs: the policy and its row (without the true value).

    The logs come from ``seed`` (``n_sessions`` sessions, default :data:`N_SESSIONS`); the learner's weights and
    minibatches from ``learner_seed`` (default ``seed``). ``trained``, if given, is that policy already learned (it
    is assessed, not learned again); ``options`` go to :func:`recbook.offline.learn` (with ``trained``, there is
    nothing to pass them to: an error).
    """
    if trained is not None and options:
        raise ValueError(f"options {sorted(options)} cannot change a trained policy; pass trained=None to learn")
    n_sessions = N_SESSIONS if n_sessions is None else n_sessions
    learning, held_out = logged(setting, n_sessions, seed, epsilon)
    learner_seed = seed if learner_seed is None else learner_seed
    policy = trained if trained is not None else learn(learning, method, seed=learner_seed, **options)
    start = time.perf_counter()
    assessment = assess(policy, held_out, seed=seed).set_index("estimator")
    row: dict[str, Any] = {"setting": setting, "method": method, "seed": seed, "n_sessions": n_sessions,
                           "epsilon": epsilon if setting == "leave" else 1.0, "n_transitions": policy.n_transitions,
                           "train_cpu_s": float(policy.history["train_time_s"].iloc[-1])}
    row.update(estimate_columns(assessment, ("dr", "pdis", "logger")))
    row["deploy"] = decide(assessment.reset_index())
    row["assess_s"] = time.perf_counter() - start
    print(setting, method, seed, n_sessions, epsilon, {k: row[k] for k in ("dr_value", "train_cpu_s")}, flush=True)
    return policy, row


def estimate_columns(assessment: pd.DataFrame, estimators: Sequence[str]) -> dict[str, float]:
    """``{e}_value``, ``{e}_ci_low`` and ``{e}_ci_high`` of each estimator ``e`` of an :func:`recbook.offline.assess`
    table indexed by ``estimator``."""
    return {f"{e}_{column}": float(assessment.loc[e, column]) for e in estimators
            for column in ("value", "ci_low", "ci_high")}


def parallel_map(function: Any, jobs: list, workers: int) -> list:
    """``[function(job) for job in jobs]``, in ``workers`` processes when more than one."""
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(function, jobs))
    return [function(job) for job in jobs]


def leave_references(config: EnvConfig, models: Path) -> tuple[dict[str, Any], list[str]]:
    """The leave setting's references (scored with its learned policies) and the ones paired differences use."""
    extra: dict[str, Any] = {
        "logger": logger("leave", config, EPSILON, seed=0),
        "bayes-greedy": "bayes-greedy",
        "bayes-greedy-quality": BayesGreedy(config, tie_break="quality"),
        "bayes-index": "bayes-index",
        **{f"dqn_seed{k}": load_agent(models / f"leave_posterior_seed{k}.zip") for k in SEEDS},
        "oracle": "oracle",
    }
    return extra, ["bayes-index", "bayes-greedy-quality", "logger", *(f"dqn_seed{k}" for k in SEEDS)]


def with_truth(rows: list[dict[str, Any]], policies: dict[str, OfflinePolicy], config: EnvConfig,
               extra: dict[str, Any], references: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every policy (and ``extra``) on the same TEST users; the runs get their true value and coverage."""
    table = compare({**policies, **extra}, config, n_users=N_TEST_USERS, seed=0, stream=seeds.TEST,
                    n_resamples=1000, references=list(references))
    runs = pd.DataFrame(rows)
    labels = list(policies)
    truth = table.loc[labels]
    runs["true_value"] = truth["expected_return"].to_numpy()
    for column in ("pct_oracle", "pct_oracle_ci_low", "pct_oracle_ci_high"):
        runs[column] = truth[column].to_numpy()
    for estimator in ("dr", "pdis"):
        runs[f"{estimator}_covers"] = (runs[f"{estimator}_ci_low"] <= runs["true_value"]) & (
            runs["true_value"] <= runs[f"{estimator}_ci_high"])
    return runs, table.rename_axis("policy").reset_index()
