"""The parts of chapter 12's experiment that diagnose and tune: ``alpha``, ``steps``, ``backups``, ``rates`` (on
VALIDATION users), ``length`` and ``tuned`` (on TEST users, after their choice is made on VALIDATION users), and
``dm`` (the original setting's estimates, on its held-out logs) and ``fqe`` (both settings' estimates with a
network model fitted on the learning logs); see :mod:`recbook.experiments.offline`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from recbook import seeds
from recbook.agents.agent import load_agent
from recbook.evaluation import compare
from recbook.experiments.offline import common
from recbook.experiments.offline.parts import VARIED_METHODS
from recbook.offline import METHODS, OfflineConfig, OfflinePolicy, assess, fit_q_evaluation

__all__ = ["ALPHAS", "BACKUP_INTERVALS", "N_VALIDATION_USERS", "RATES", "RATE_STEPS", "STEP_COUNTS", "alpha_sweep",
           "backups_sweep", "chosen_cql", "chosen_lengths", "chosen_part", "dm_check", "length_part", "rates_sweep",
           "steps_sweep", "tuned_part", "validation_row"]

#: The conservative penalties of the ``alpha`` experiment (CQL, seed 0, scored on VALIDATION users).
ALPHAS: tuple[float, ...] = (0.01, 0.03, 0.1, 1.0)
#: VALIDATION users of the ``alpha``, ``steps``, ``backups`` and ``rates`` experiments.
N_VALIDATION_USERS = 4_000
#: The shorter learning runs of the ``steps`` experiment (the ``leave`` part's policies took
#: ``OfflineConfig().gradient_steps``).
STEP_COUNTS: tuple[int, ...] = (2_500, 5_000, 10_000)
#: The ``backups`` experiment's CQL runs, ``(gradient_steps, target_update_interval)``: 20 target copies (fitted Q
#: iterations) in 10,000 steps and 10 in 20,000, the crossing of the ``steps`` experiment's 10 in 10,000 and 20 in
#: 20,000.
BACKUP_INTERVALS: tuple[tuple[int, int], ...] = ((10_000, 500), (20_000, 2_000))
#: The ``rates`` experiment's initial learning rates (CQL), each with every length of :data:`RATE_STEPS`; the
#: ``steps`` experiment holds ``OfflineConfig().learning_rate``.
RATES: tuple[float, ...] = (3e-4, 1e-4)
#: The ``rates`` experiment's learning lengths (gradient steps).
RATE_STEPS: tuple[int, ...] = (10_000, 20_000)


def validation_row(policy: OfflinePolicy, seed: int) -> dict[str, Any]:
    """``policy`` (learned from seed ``seed``'s logs) scored on :data:`N_VALIDATION_USERS` VALIDATION users of that
    seed: its percent of the planner with the interval, the last logged mean Q (Q-learners) and its learning time."""
    table = compare({"policy": policy, "oracle": "oracle"}, common.setting_config("leave"),
                    n_users=N_VALIDATION_USERS, seed=seed, stream=seeds.VALIDATION, n_resamples=1000)
    row = table.loc["policy", ["pct_oracle", "pct_oracle_ci_low", "pct_oracle_ci_high"]].to_dict()
    mean_q = policy.history["mean_q"].iloc[-1] if "mean_q" in policy.history else float("nan")
    return {**row, "mean_q_last": float(mean_q), "learn_cpu_s": float(policy.history["train_time_s"].iloc[-1])}


def alpha_sweep(seed: int = 0) -> pd.DataFrame:
    """CQL with each penalty of :data:`ALPHAS` on the leave setting's logs of ``seed``, scored on VALIDATION users
    (the choice of ``OfflineConfig.cql_alpha``; TEST users never see it)."""
    learning, _ = common.logged("leave", common.N_SESSIONS, seed)
    config = common.setting_config("leave")
    policies = {f"cql_alpha{alpha:g}": common.learn(learning, "cql", seed=seed, cql_alpha=alpha)
                for alpha in ALPHAS}
    table = compare({**policies, "bayes-index": "bayes-index", "oracle": "oracle"}, config,
                    n_users=N_VALIDATION_USERS, seed=seed, stream=seeds.VALIDATION, n_resamples=1000)
    rows = table.loc[list(policies), ["pct_oracle", "pct_oracle_ci_low", "pct_oracle_ci_high"]].reset_index(drop=True)
    rows.insert(0, "cql_alpha", ALPHAS)
    rows["mean_q_last"] = [float(p.history["mean_q"].iloc[-1]) for p in policies.values()]
    rows["bayes_index_pct_oracle"] = float(table.loc["bayes-index", "pct_oracle"])
    return rows


def _validation_job(job: tuple[str, int, dict[str, Any], str]) -> dict[str, Any]:
    """``(method, seed, options, models)``: learn with ``options`` (none: the ``leave`` part's policy, loaded from
    ``models``) and score on VALIDATION users."""
    method, seed, options, models = job
    if options:
        learning, _ = common.logged("leave", common.N_SESSIONS, seed)
        policy = common.learn(learning, method, seed=seed, **options)
    else:
        policy = load_agent(Path(models) / f"offline_leave_{method}_seed{seed}.zip")
    return {"method": method, "seed": seed, "gradient_steps": policy.settings.gradient_steps,
            **validation_row(policy, seed)}


def steps_sweep(models: Path, workers: int = 2) -> pd.DataFrame:
    """How the leave setting's REINFORCE and CQL policies depend on the length of learning: every method of
    :data:`~recbook.experiments.offline.parts.VARIED_METHODS` on the logs of every seed, with each of
    :data:`STEP_COUNTS` gradient steps and the ``leave`` part's ``OfflineConfig().gradient_steps`` (loaded from
    ``models``), scored on :data:`N_VALIDATION_USERS` VALIDATION users of the same seed. A shorter run is its own
    run (its learning rate decays over its own steps), not the long run stopped early. The ``length`` part chooses
    each method's length from it (:func:`chosen_lengths`); no TEST user takes part."""
    options = [*({"gradient_steps": n} for n in STEP_COUNTS), {}]
    jobs = [(m, k, o, str(models)) for m in VARIED_METHODS for k in common.SEEDS for o in options]
    return pd.DataFrame(common.parallel_map(_validation_job, jobs, workers))


def backups_sweep(workers: int = 2) -> pd.DataFrame:
    """Is it the number of fitted Q iterations or the number of gradient steps that makes CQL fall late? CQL on
    every seed's logs with each ``(gradient_steps, target_update_interval)`` of :data:`BACKUP_INTERVALS`, scored
    like :func:`steps_sweep` on VALIDATION users; ``backups`` is ``gradient_steps / target_update_interval``."""
    jobs = [("cql", k, {"gradient_steps": n, "target_update_interval": i}, "")
            for n, i in BACKUP_INTERVALS for k in common.SEEDS]
    rows = pd.DataFrame(common.parallel_map(_validation_job, jobs, workers))
    rows.insert(3, "target_update_interval", [job[2]["target_update_interval"] for job in jobs])
    rows.insert(4, "backups", rows["gradient_steps"] // rows["target_update_interval"])
    return rows


def rates_sweep(workers: int = 2) -> pd.DataFrame:
    """CQL on every seed's logs with each initial learning rate of :data:`RATES` and each length of
    :data:`RATE_STEPS` (the rate decays linearly to ``OfflineConfig.learning_rate_final`` over each run), scored like
    :func:`steps_sweep` on VALIDATION users."""
    jobs = [("cql", k, {"gradient_steps": n, "learning_rate": rate}, "")
            for rate in RATES for n in RATE_STEPS for k in common.SEEDS]
    rows = pd.DataFrame(common.parallel_map(_validation_job, jobs, workers))
    rows.insert(3, "learning_rate", [job[2]["learning_rate"] for job in jobs])
    return rows


def chosen_lengths(steps: pd.DataFrame) -> dict[str, int]:
    """Each method's learning length in ``steps`` (a ``steps.csv`` table, VALIDATION users): the number of gradient
    steps with the highest mean score over the log seeds. One length per method, chosen without TEST users."""
    means = steps.groupby(["method", "gradient_steps"])["pct_oracle"].mean()
    return {str(method): int(means.loc[method].idxmax()) for method in means.index.unique("method")}


def chosen_cql(steps: pd.DataFrame, rates: pd.DataFrame) -> dict[str, Any]:
    """CQL's learning length and initial learning rate: among ``steps``'s CQL rows (``OfflineConfig().learning_rate``)
    and ``rates``'s (a ``rates.csv`` table), the pair with the highest mean VALIDATION score over the log seeds."""
    base = steps[steps["method"] == "cql"].assign(learning_rate=OfflineConfig().learning_rate)
    means = pd.concat([base, rates]).groupby(["gradient_steps", "learning_rate"])["pct_oracle"].mean()
    n, rate = means.idxmax()
    return {"gradient_steps": int(n), "learning_rate": float(rate)}


def _options_job(job: tuple[str, int, dict[str, Any]]) -> tuple[OfflinePolicy, dict[str, Any]]:
    method, seed, options = job
    policy, row = common.run("leave", method, seed, **options)
    return policy, {**row, **options}


def chosen_part(chosen: dict[str, tuple[str, dict[str, Any]]], models: Path,
              workers: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Learn every method of ``chosen`` (``method -> (name, options)``, options chosen without TEST users) on every
    seed's logs with its options, assess each on the held-out logs like the ``leave`` part's policies and score all
    with its references on the same TEST users: ``(runs, table)``, the runs with a column per option. Saves
    ``models/offline_leave_{method}_{name}_seed{k}.zip``; the table labels them ``{method}_{name}_seed{k}``."""
    jobs = [(method, seed, options) for method, (_, options) in chosen.items() for seed in common.SEEDS]
    policies, rows = {}, []
    for (method, seed, _), (policy, row) in zip(jobs, common.parallel_map(_options_job, jobs, workers), strict=True):
        label = f"{method}_{chosen[method][0]}_seed{seed}"
        policies[label] = policy
        rows.append(row)
        policy.save(models / f"offline_leave_{label}.zip")
    config = common.setting_config("leave")
    extra, references = common.leave_references(config, models)
    return common.with_truth(rows, policies, config, extra, references)


def length_part(steps: pd.DataFrame, models: Path, workers: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``length`` experiment: :func:`chosen_part` of every method of
    :data:`~recbook.experiments.offline.parts.VARIED_METHODS` with the learning length :func:`chosen_lengths` picks
    from ``steps`` (VALIDATION users), named ``steps{n}``: ``(runs_length, length_table)``."""
    lengths = chosen_lengths(steps)
    return chosen_part({m: (f"steps{lengths[m]}", {"gradient_steps": lengths[m]}) for m in VARIED_METHODS}, models,
                     workers)


def tuned_part(steps: pd.DataFrame, rates: pd.DataFrame, models: Path,
               workers: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``tuned`` experiment: :func:`chosen_part` of CQL with the length and learning rate :func:`chosen_cql` picks
    from ``steps`` and ``rates`` (VALIDATION users), named ``tuned``: ``(runs_tuned, tuned_table)``."""
    return chosen_part({"cql": ("tuned", chosen_cql(steps, rates))}, models, workers)


def _dm_job(job: tuple[str, str, int, str, bool]) -> dict[str, Any]:
    setting, method, seed, models, network = job
    policy = load_agent(Path(models) / f"offline_{setting}_{method}_seed{seed}.zip")
    learning, held_out = common.logged(setting, common.N_SESSIONS, seed)
    q_function = fit_q_evaluation(learning, policy, seed=seed) if network else None
    table = assess(policy, held_out, methods=("dr", "dm"), seed=seed, q_function=q_function).set_index("estimator")
    row = {"method": method, "seed": seed, **common.estimate_columns(table, ("dr", "dm")),
           "ess": float(table.loc["dr", "ess"])}
    if q_function is not None:
        row["fqe_cpu_s"] = float(q_function.history["train_time_s"].iloc[-1])
    return row


def dm_check(models: Path, workers: int = 2, network: bool = False, setting: str = "original") -> pd.DataFrame:
    """Where a setting's DR estimates come from: every policy of the ``setting`` part (loaded from ``models``)
    estimated again on its seed's held-out logs by DR and by the direct method alone (the fitted Q evaluation model
    DR corrects), with the same seed; ``ess`` is DR's mean per-step effective sample size.

    By default the model is DR's own (linear, cross-fitted on the held-out logs), so ``dr_*`` repeat the
    ``runs_{setting}.csv``'s. With ``network`` it is the item-shared network fitted on the policy's *learning* logs
    by :func:`recbook.offline.fit_q_evaluation` (``OfflineConfig()``'s settings, seed ``seed``; its CPU time in
    ``fqe_cpu_s``): does a better model of the same kind bring the estimates to the truth?"""
    if setting not in common.PRESETS:
        raise ValueError(f"setting must be one of {sorted(common.PRESETS)}, got {setting!r}")
    jobs = [(setting, method, seed, str(models), network) for method in METHODS for seed in common.SEEDS]
    return pd.DataFrame(common.parallel_map(_dm_job, jobs, workers))
