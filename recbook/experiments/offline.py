"""Chapter 12's precomputed results: policies learned from logs, their off-policy estimates and their true values.

``python -m recbook.experiments.offline`` writes, under ``data/offline/`` and ``data/models/``:

* ``runs_leave.csv`` and ``runs_original.csv`` — one row per learned policy: the setting (``leave`` or
  ``original``), ``method``, ``seed``, the number of logged sessions it learned from (``n_sessions``), the
  logger's ``epsilon``, the transitions, the learning CPU time; its DR and PDIS estimates with their 95 %
  intervals from :data:`N_HELD_OUT` held-out sessions of the same logger (:func:`recbook.offline.assess`), the
  logger's held-out value and the deployment decision
  (:func:`recbook.offline.decide`); and its true value on :data:`N_TEST_USERS` TEST users (exits in expectation):
  ``true_value``, ``pct_oracle`` with its interval, and whether each interval covers the true value;
* ``leave_table.csv`` — the leave setting's 20,000-session policies (every method and seed) next to the logger,
  BayesGreedy (ties at random, as the logger), BayesGreedy breaking ties toward quality, bayes-index and the online
  DQN with the same inputs (``data/models/leave_posterior_seed*.zip``), on the same TEST users, with paired
  differences (percent of the planner) from bayes-index, BayesGreedy-toward-quality and the logger, and of each
  seed from the online DQN of the same seed;
* ``original_table.csv`` — the same for the original setting (uniform random logger), against the oracle;
* ``models/offline_{setting}_{method}_seed{k}.zip`` — the 20,000-session policies (``recbook.load_agent``).

Each seed ``k`` logs its own sessions (TRAIN users of seed ``k``), splits them with seed ``k`` and learns with seed
``k``: the seeds vary the logs as well as the learner. ``--only`` (repeatable, one of :data:`PARTS`) restricts
the work; ``sessions`` and ``epsilon`` write ``runs_sessions.csv`` and ``runs_epsilon.csv`` (the runs of
:data:`VARIED_METHODS` with fewer sessions, or another epsilon, in ``runs_leave.csv``'s columns), and ``alpha``
writes ``cql_alpha.csv`` (:func:`alpha_sweep`).

``select`` is the workflow with a choice among candidates (:func:`recbook.offline.select`): on each seed's
learning logs it learns every method of :data:`SELECT_METHODS` with the learner seeds :func:`candidate_seeds`,
estimates each on :data:`N_SELECT` further sessions of the same logger with VALIDATION users (:func:`selection_logs`,
a third part of the logs) with every estimator of :data:`SELECT_ESTIMATORS`, chooses by
:data:`recbook.offline.workflow.SELECTION_ESTIMATOR`, and assesses every candidate on the held-out logs. It writes
``runs_select.csv`` (one row per candidate, ``runs_leave.csv``'s columns plus ``learner_seed`` and, for each
selection estimator ``e``, ``select_e_value``, ``select_e_ci_low``, ``select_e_ci_high`` and ``chosen_e``; ``chosen``
is the default estimator's choice), ``select_table.csv`` (the candidates next to ``leave_table.csv``'s references
on the same TEST users) and ``models/offline_leave_{method}_seed{k}_learner{j}.zip``. A candidate whose learner
seed is its log seed is the ``leave`` part's policy: it is loaded from ``--models`` when there (the same seeds give
the same policy).

``steps`` writes ``steps.csv`` (:func:`steps_sweep`): REINFORCE and CQL on every seed's logs with fewer gradient
steps, each scored on VALIDATION users next to the ``leave`` part's policy (a diagnosis of the weak seeds).
``length`` (after ``steps``) learns each method again with the length those VALIDATION users choose
(:func:`chosen_lengths`) and writes ``runs_length.csv`` and ``length_table.csv`` (:func:`length_part`).

CPU-minutes: 35 for ``leave``, 35 for ``original``, 25 for ``sessions``, 12 each for ``epsilon`` and ``alpha``, 25
for ``select`` (14 with the ``leave`` part's models), 13 for ``steps``, 10 for ``length``.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recbook import seeds
from recbook.agents.agent import load_agent
from recbook.agents.config import RunConfig
from recbook.config import EnvConfig
from recbook.evaluation import compare
from recbook.offline import METHODS, SELECTION_ESTIMATOR, OfflineConfig, assess, decide, learn, select, split_logs
from recbook.offline.policy import OfflinePolicy
from recbook.ope.logs import Logs, collect
from recbook.paths import DATA_DIR
from recbook.policies import BayesGreedy, EpsilonMixture, Random

__all__ = ["ALPHAS", "EPSILON", "EPSILONS", "N_CANDIDATE_SEEDS", "N_HELD_OUT", "N_SELECT", "N_SESSIONS",
           "N_TEST_USERS", "N_VALIDATION_USERS", "PARTS", "SEEDS", "SELECT_ESTIMATORS", "SELECT_METHODS",
           "SESSION_COUNTS", "STEP_COUNTS", "VARIED_METHODS", "alpha_sweep", "candidate_seeds", "chosen_lengths",
           "length_part", "logged", "logger", "main", "run", "select_part", "selection_logs", "setting_config",
           "steps_sweep", "with_truth"]

#: The parts of the experiment, in the order a full run does them (``--only`` picks some).
PARTS: tuple[str, ...] = ("leave", "original", "sessions", "epsilon", "alpha", "select", "steps", "length")
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
#: The smaller logs of the ``sessions`` experiment and the exploration rates of the ``epsilon`` experiment.
SESSION_COUNTS: tuple[int, ...] = (2_000, 5_000)
EPSILONS: tuple[float, ...] = (0.1, 0.5)
#: Seeds of the ``sessions`` experiment and of the ``epsilon`` experiment.
VARIED_SEEDS: tuple[int, ...] = (0, 1)
EPSILON_SEEDS: tuple[int, ...] = (0,)
#: The learners the ``sessions`` and ``epsilon`` experiments vary.
VARIED_METHODS: tuple[str, ...] = ("reinforce", "cql")
#: The conservative penalties of the ``alpha`` experiment (CQL, seed 0, scored on VALIDATION users).
ALPHAS: tuple[float, ...] = (0.01, 0.03, 0.1, 1.0)
#: VALIDATION users of the ``alpha`` and ``steps`` experiments.
N_VALIDATION_USERS = 4_000
#: The shorter learning runs of the ``steps`` experiment (the ``leave`` part's policies took
#: ``OfflineConfig().gradient_steps``).
STEP_COUNTS: tuple[int, ...] = (2_500, 5_000, 10_000)
#: Sessions of the ``select`` experiment's third part (the same logger, VALIDATION users), which chooses.
N_SELECT = 10_000
#: The learners of the ``select`` experiment's candidates (learner seeds: :func:`candidate_seeds`).
SELECT_METHODS: tuple[str, ...] = ("reinforce", "cql")
#: Learner seeds per method and log seed in the ``select`` experiment.
N_CANDIDATE_SEEDS = 2
#: The estimators every candidate is estimated with on the selection logs (the first is the one that chooses).
SELECT_ESTIMATORS: tuple[str, ...] = (SELECTION_ESTIMATOR, "dr", "pdis")
#: The preset of each setting's environment.
PRESETS = {"leave": "leave", "original": "item_shared"}


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


def selection_logs(seed: int, epsilon: float = EPSILON) -> Logs:
    """The ``select`` experiment's third part: :data:`N_SELECT` sessions of the leave setting's logger (seed
    ``seed``) with VALIDATION users, so they share no user with the learning and held-out logs."""
    config = setting_config("leave")
    return collect(config, logger("leave", config, epsilon, seed), N_SELECT, seed, seeds.VALIDATION)


def candidate_seeds(seed: int) -> tuple[int, ...]:
    """The learner seeds of log seed ``seed``'s candidates: ``seed + j * len(SEEDS)``, so the first is the ``leave``
    part's learner and no two log seeds share one."""
    return tuple(seed + j * len(SEEDS) for j in range(N_CANDIDATE_SEEDS))


def run(setting: str, method: str, seed: int, n_sessions: int = N_SESSIONS,
        epsilon: float = EPSILON, learner_seed: int | None = None,
        trained: OfflinePolicy | None = None, **options: Any) -> tuple[OfflinePolicy, dict[str, Any]]:
    """Learn one policy and estimate it on the held-out logs: the policy and its row (without the true value).

    The logs come from ``seed``; the learner's weights and minibatches from ``learner_seed`` (default ``seed``).
    ``trained``, if given, is that policy already learned (it is assessed, not learned again); ``options`` go to
    :func:`recbook.offline.learn` (with ``trained``, there is nothing to pass them to: an error).
    """
    if trained is not None and options:
        raise ValueError(f"options {sorted(options)} cannot change a trained policy; pass trained=None to learn")
    learning, held_out = logged(setting, n_sessions, seed, epsilon)
    learner_seed = seed if learner_seed is None else learner_seed
    policy = trained if trained is not None else learn(learning, method, seed=learner_seed, **options)
    start = time.perf_counter()
    assessment = assess(policy, held_out, seed=seed).set_index("estimator")
    row: dict[str, Any] = {"setting": setting, "method": method, "seed": seed, "n_sessions": n_sessions,
                           "epsilon": epsilon if setting == "leave" else 1.0, "n_transitions": policy.n_transitions,
                           "train_cpu_s": float(policy.history["train_time_s"].iloc[-1])}
    for estimator in ("dr", "pdis", "logger"):
        for column in ("value", "ci_low", "ci_high"):
            row[f"{estimator}_{column}"] = float(assessment.loc[estimator, column])
    row["deploy"] = decide(assessment.reset_index())
    row["assess_s"] = time.perf_counter() - start
    print(setting, method, seed, n_sessions, epsilon, {k: row[k] for k in ("dr_value", "train_cpu_s")}, flush=True)
    return policy, row


def _candidate(job: tuple[str, int, int, str | None]) -> tuple[OfflinePolicy, dict[str, Any]]:
    """One ``select`` candidate ``(method, seed, learner_seed, saved)``: :func:`run`, loading ``saved`` if given."""
    method, seed, learner_seed, saved = job
    trained = load_agent(saved) if saved is not None else None
    policy, row = run("leave", method, seed, N_SESSIONS, learner_seed=learner_seed, trained=trained)
    row["learner_seed"] = learner_seed
    return policy, row


def _choice(job: tuple[int, str, dict[str, OfflinePolicy]]) -> pd.DataFrame:
    """:func:`recbook.offline.select` of one seed's candidates with one estimator, on that seed's selection logs."""
    seed, estimator, candidates = job
    return select(candidates, selection_logs(seed), estimator, seed=seed).assign(estimator=estimator)


def _map(function: Any, jobs: list, workers: int) -> list:
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


def select_part(models: Path, workers: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``select`` experiment (see the module docstring): ``(runs_select, select_table)``."""
    config = setting_config("leave")
    jobs = []
    for seed in SEEDS:
        for method in SELECT_METHODS:
            for learner_seed in candidate_seeds(seed):
                saved = models / f"offline_leave_{method}_seed{seed}.zip"
                use = str(saved) if learner_seed == seed and saved.exists() else None
                jobs.append((method, seed, learner_seed, use))
    results = _map(_candidate, jobs, workers)
    rows, policies = [], {}
    for (method, seed, learner_seed, saved), (policy, row) in zip(jobs, results, strict=True):
        label = f"{method}_seed{seed}_learner{learner_seed}"
        policies[label] = policy
        rows.append(row)
        if saved is None:
            policy.save(models / f"offline_leave_{label}.zip")
    choices = [(seed, estimator, {label: policy for (label, policy), row in zip(policies.items(), rows, strict=True)
                                  if row["seed"] == seed})
               for seed in SEEDS for estimator in SELECT_ESTIMATORS]
    tables = pd.concat(_map(_choice, choices, workers)).set_index(["estimator", "candidate"])
    for label, row in zip(policies, rows, strict=True):
        for estimator in SELECT_ESTIMATORS:
            for column in ("value", "ci_low", "ci_high", "chosen"):
                name = f"chosen_{estimator}" if column == "chosen" else f"select_{estimator}_{column}"
                row[name] = tables.loc[(estimator, label), column]
        row["chosen"] = bool(row[f"chosen_{SELECTION_ESTIMATOR}"])
    extra, references = leave_references(config, models)
    return with_truth(rows, policies, config, extra, references)


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


def alpha_sweep(seed: int = 0) -> pd.DataFrame:
    """CQL with each penalty of :data:`ALPHAS` on the leave setting's logs of ``seed``, scored on VALIDATION users
    (the choice of ``OfflineConfig.cql_alpha``; TEST users never see it)."""
    learning, _ = logged("leave", N_SESSIONS, seed)
    config = setting_config("leave")
    policies = {f"cql_alpha{alpha:g}": learn(learning, "cql", seed=seed, cql_alpha=alpha) for alpha in ALPHAS}
    table = compare({**policies, "bayes-index": "bayes-index", "oracle": "oracle"}, config,
                    n_users=N_VALIDATION_USERS, seed=seed, stream=seeds.VALIDATION, n_resamples=1000)
    rows = table.loc[list(policies), ["pct_oracle", "pct_oracle_ci_low", "pct_oracle_ci_high"]].reset_index(drop=True)
    rows.insert(0, "cql_alpha", ALPHAS)
    rows["mean_q_last"] = [float(p.history["mean_q"].iloc[-1]) for p in policies.values()]
    rows["bayes_index_pct_oracle"] = float(table.loc["bayes-index", "pct_oracle"])
    return rows


def _steps_job(job: tuple[str, int, int, str]) -> dict[str, Any]:
    method, seed, steps, models = job
    if steps == OfflineConfig().gradient_steps:
        policy = load_agent(Path(models) / f"offline_leave_{method}_seed{seed}.zip")
    else:
        learning, _ = logged("leave", N_SESSIONS, seed)
        policy = learn(learning, method, seed=seed, gradient_steps=steps)
    learn_s = float(policy.history["train_time_s"].iloc[-1])
    table = compare({"policy": policy, "oracle": "oracle"}, setting_config("leave"), n_users=N_VALIDATION_USERS,
                    seed=seed, stream=seeds.VALIDATION, n_resamples=1000)
    row = table.loc["policy", ["pct_oracle", "pct_oracle_ci_low", "pct_oracle_ci_high"]]
    mean_q = policy.history["mean_q"].iloc[-1] if "mean_q" in policy.history else float("nan")
    return {"method": method, "seed": seed, "gradient_steps": steps, **row.to_dict(),
            "mean_q_last": float(mean_q), "learn_cpu_s": learn_s}


def steps_sweep(models: Path, workers: int = 2) -> pd.DataFrame:
    """How the leave setting's REINFORCE and CQL policies depend on the length of learning: every method of
    :data:`VARIED_METHODS` on the logs of every seed, with each of :data:`STEP_COUNTS` gradient steps and the
    ``leave`` part's ``OfflineConfig().gradient_steps`` (loaded from ``models``), scored on
    :data:`N_VALIDATION_USERS` VALIDATION users of the same seed. A shorter run is its own run (its learning rate
    decays over its own steps), not the long run stopped early. The ``length`` part chooses each method's length
    from it (:func:`chosen_lengths`); no TEST user takes part."""
    counts = (*STEP_COUNTS, OfflineConfig().gradient_steps)
    jobs = [(m, k, n, str(models)) for m in VARIED_METHODS for k in SEEDS for n in counts]
    return pd.DataFrame(_map(_steps_job, jobs, workers))


def chosen_lengths(steps: pd.DataFrame) -> dict[str, int]:
    """Each method's learning length in ``steps`` (a ``steps.csv`` table, VALIDATION users): the number of gradient
    steps with the highest mean score over the log seeds. One length per method, chosen without TEST users."""
    means = steps.groupby(["method", "gradient_steps"])["pct_oracle"].mean()
    return {str(method): int(means.loc[method].idxmax()) for method in means.index.unique("method")}


def _length_job(job: tuple[str, int, int]) -> tuple[OfflinePolicy, dict[str, Any]]:
    method, seed, steps = job
    policy, row = run("leave", method, seed, gradient_steps=steps)
    row["gradient_steps"] = steps
    return policy, row


def length_part(steps: pd.DataFrame, models: Path, workers: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``length`` experiment: every method of :data:`VARIED_METHODS` on every seed's logs with the learning
    length :func:`chosen_lengths` picks from ``steps`` (VALIDATION users), assessed on the held-out logs like the
    ``leave`` part's policies and scored with its references on the same TEST users: ``(runs_length,
    length_table)``. Saves ``models/offline_leave_{method}_steps{n}_seed{k}.zip``."""
    lengths = chosen_lengths(steps)
    jobs = [(method, seed, lengths[method]) for method in VARIED_METHODS for seed in SEEDS]
    policies, rows = {}, []
    for (method, seed, n), (policy, row) in zip(jobs, _map(_length_job, jobs, workers), strict=True):
        label = f"{method}_steps{n}_seed{seed}"
        policies[label] = policy
        rows.append(row)
        policy.save(models / f"offline_leave_{label}.zip")
    config = setting_config("leave")
    extra, references = leave_references(config, models)
    return with_truth(rows, policies, config, extra, references)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recbook.experiments.offline",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DATA_DIR / "offline")
    parser.add_argument("--models", type=Path, default=DATA_DIR / "models")
    parser.add_argument("--only", action="append",
                        choices=PARTS)
    parser.add_argument("--workers", type=int, default=2,
                        help="processes of the select, steps and length parts (default 2; 1 runs in this process)")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    todo = args.only or list(PARTS)
    for part in todo:
        if part == "steps":
            steps_sweep(args.models, args.workers).to_csv(args.output / "steps.csv", index=False)
            continue
        if part == "length":
            runs, table = length_part(pd.read_csv(args.output / "steps.csv"), args.models, args.workers)
            runs.to_csv(args.output / "runs_length.csv", index=False)
            table.to_csv(args.output / "length_table.csv", index=False)
            print(runs.to_string(index=False), flush=True)
            continue
        if part == "alpha":
            alpha_sweep().to_csv(args.output / "cql_alpha.csv", index=False)
            continue
        if part == "select":
            runs, table = select_part(args.models, args.workers)
            runs.to_csv(args.output / "runs_select.csv", index=False)
            table.to_csv(args.output / "select_table.csv", index=False)
            print(runs.to_string(index=False), flush=True)
            continue
        setting = "original" if part == "original" else "leave"
        config = setting_config(setting)
        rows, policies = [], {}
        if part in ("leave", "original"):
            grid = [(method, seed, N_SESSIONS, EPSILON) for method in METHODS for seed in SEEDS]
        elif part == "sessions":
            grid = [(m, s, n, EPSILON) for m in VARIED_METHODS for n in SESSION_COUNTS for s in VARIED_SEEDS]
        else:
            grid = [(m, s, N_SESSIONS, e) for m in VARIED_METHODS for e in EPSILONS for s in EPSILON_SEEDS]
        for method, seed, n_sessions, epsilon in grid:
            policy, row = run(setting, method, seed, n_sessions, epsilon)
            label = f"{method}_seed{seed}"
            if part not in ("leave", "original"):
                label = f"{method}_n{n_sessions}_e{epsilon:g}_seed{seed}"
            policies[label] = policy
            rows.append(row)
            if part in ("leave", "original"):
                policy.save(args.models / f"offline_{setting}_{label}.zip")
        extra: dict[str, Any]
        if part == "leave":
            extra, references = leave_references(config, args.models)
        elif part == "original":
            extra = {"logger": logger(setting, config, seed=0), "bayes-greedy": "bayes-greedy", "oracle": "oracle"}
            references = ["bayes-greedy", "logger"]
        else:
            extra, references = {"logger": logger(setting, config, EPSILON, seed=0)}, ["logger"]
        runs, table = with_truth(rows, policies, config, extra, references)
        name = {"leave": "runs_leave", "original": "runs_original"}.get(part, f"runs_{part}")
        runs.to_csv(args.output / f"{name}.csv", index=False)
        if part in ("leave", "original"):
            table.to_csv(args.output / f"{part}_table.csv", index=False)
        print(runs.to_string(index=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
