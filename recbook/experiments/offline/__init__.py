"""Chapter 12's precomputed results: policies learned from logs, their off-policy estimates and their true values.

``python -m recbook.experiments.offline`` writes, under ``data/offline/`` and ``data/models/``:

* ``runs_leave.csv`` and ``runs_original.csv`` — one row per learned policy: the setting (``leave`` or
  ``original``), ``method``, ``seed``, the number of logged sessions it learned from (``n_sessions``), the
  logger's ``epsilon``, the transitions, the learning CPU time; its DR and PDIS estimates with their 95 %
  intervals from :data:`~recbook.experiments.offline.common.N_HELD_OUT` held-out sessions of the same logger
  (:func:`recbook.offline.assess`), the logger's held-out value and the deployment decision
  (:func:`recbook.offline.decide`); and its true value on
  :data:`~recbook.experiments.offline.common.N_TEST_USERS` TEST users (exits in expectation): ``true_value``,
  ``pct_oracle`` with its interval, and whether each interval covers the true value;
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
:data:`~recbook.experiments.offline.parts.VARIED_METHODS` with fewer sessions, or another epsilon, in
``runs_leave.csv``'s columns), and ``alpha`` writes ``cql_alpha.csv``
(:func:`~recbook.experiments.offline.diagnosis.alpha_sweep`). ``dm`` (after ``original``) writes
``original_dm.csv`` (:func:`~recbook.experiments.offline.diagnosis.dm_check`): the original setting's policies
estimated again on their held-out logs by DR and by the direct method alone; ``fqe`` (after ``leave`` and
``original``) writes ``leave_fqe.csv`` and ``original_fqe.csv``, the same for both settings' policies with the model
fitted on the learning logs by the item-shared network (:func:`recbook.offline.fit_q_evaluation`) instead of DR's
linear model.

The modules: :mod:`~recbook.experiments.offline.common` (settings, logs, one learning run, true values),
:mod:`~recbook.experiments.offline.parts` (the parts that learn and assess) and
:mod:`~recbook.experiments.offline.diagnosis` (the parts that diagnose and tune on VALIDATION users).

``select`` is the workflow with a choice among candidates (:func:`recbook.offline.select`): on each seed's
learning logs it learns every method of :data:`~recbook.experiments.offline.parts.SELECT_METHODS` with the learner
seeds :func:`~recbook.experiments.offline.parts.candidate_seeds`, estimates each on
:data:`~recbook.experiments.offline.parts.N_SELECT` further sessions of the same logger with VALIDATION users
(:func:`~recbook.experiments.offline.parts.selection_logs`, a third part of the logs) with every estimator of
:data:`~recbook.experiments.offline.parts.SELECT_ESTIMATORS`, chooses by
:data:`recbook.offline.workflow.SELECTION_ESTIMATOR`, and assesses every candidate on the held-out logs. It writes
``runs_select.csv`` (one row per candidate, ``runs_leave.csv``'s columns plus ``learner_seed`` and, for each
selection estimator ``e``, ``select_e_value``, ``select_e_ci_low``, ``select_e_ci_high`` and ``chosen_e``; ``chosen``
is the default estimator's choice), ``select_table.csv`` (the candidates next to ``leave_table.csv``'s references
on the same TEST users) and ``models/offline_leave_{method}_seed{k}_learner{j}.zip``. A candidate whose learner
seed is its log seed is the ``leave`` part's policy: it is loaded from ``--models`` when there (the same seeds give
the same policy).

``steps`` writes ``steps.csv`` (:func:`~recbook.experiments.offline.diagnosis.steps_sweep`): REINFORCE and CQL on
every seed's logs with fewer gradient steps, each scored on VALIDATION users next to the ``leave`` part's policy (a
diagnosis of the weak seeds). ``backups`` writes ``backups.csv``
(:func:`~recbook.experiments.offline.diagnosis.backups_sweep`): CQL with the number of fitted Q iterations and the
number of gradient steps varied apart, on the same VALIDATION users. ``length`` (after ``steps``) learns each
method again with the length those VALIDATION users choose
(:func:`~recbook.experiments.offline.diagnosis.chosen_lengths`) and writes ``runs_length.csv`` and
``length_table.csv`` (:func:`~recbook.experiments.offline.diagnosis.length_part`). ``rates`` writes ``rates.csv``
(:func:`~recbook.experiments.offline.diagnosis.rates_sweep`): CQL with smaller learning rates at two lengths, on
the same VALIDATION users; ``tuned`` (after ``steps`` and ``rates``) learns CQL again with the length and rate
those users choose (:func:`~recbook.experiments.offline.diagnosis.chosen_cql`) and writes ``runs_tuned.csv`` and
``tuned_table.csv`` (:func:`~recbook.experiments.offline.diagnosis.tuned_part`).

CPU-minutes: 35 for ``leave``, 35 for ``original``, 2 for ``dm``, 33 for ``fqe``, 25 for ``sessions``, 12 each
for ``epsilon`` and ``alpha``, 25 for ``select`` (14 with the ``leave`` part's models), 13 for ``steps``, 9 for
``backups``, 10 for ``length``, 18 for ``rates``, 6 for ``tuned``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from recbook.experiments.offline import common, diagnosis, parts
from recbook.paths import DATA_DIR

__all__ = ["PARTS", "main"]

#: The parts of the experiment, in the order a full run does them (``--only`` picks some).
PARTS: tuple[str, ...] = ("leave", "original", "dm", "fqe", "sessions", "epsilon", "alpha", "select", "steps",
                          "backups", "length", "rates", "tuned")


def _save(runs: pd.DataFrame, table: pd.DataFrame | None, output: Path, runs_name: str, table_name: str) -> None:
    runs.to_csv(output / f"{runs_name}.csv", index=False)
    if table is not None:
        table.to_csv(output / f"{table_name}.csv", index=False)
    print(runs.to_string(index=False), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recbook.experiments.offline",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DATA_DIR / "offline")
    parser.add_argument("--models", type=Path, default=DATA_DIR / "models")
    parser.add_argument("--only", action="append", choices=PARTS)
    parser.add_argument("--workers", type=int, default=2,
                        help="processes of the dm, fqe, select, steps, backups, length, rates and tuned parts "
                             "(default 2; 1 runs in this process)")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    for part in args.only or list(PARTS):
        if part == "steps":
            diagnosis.steps_sweep(args.models, args.workers).to_csv(args.output / "steps.csv", index=False)
        elif part == "backups":
            diagnosis.backups_sweep(args.workers).to_csv(args.output / "backups.csv", index=False)
        elif part == "rates":
            diagnosis.rates_sweep(args.workers).to_csv(args.output / "rates.csv", index=False)
        elif part == "tuned":
            runs, table = diagnosis.tuned_part(pd.read_csv(args.output / "steps.csv"),
                                               pd.read_csv(args.output / "rates.csv"), args.models, args.workers)
            _save(runs, table, args.output, "runs_tuned", "tuned_table")
        elif part == "dm":
            diagnosis.dm_check(args.models, args.workers).to_csv(args.output / "original_dm.csv", index=False)
        elif part == "fqe":
            for setting in common.PRESETS:
                diagnosis.dm_check(args.models, args.workers, network=True, setting=setting).to_csv(
                    args.output / f"{setting}_fqe.csv", index=False)
        elif part == "alpha":
            diagnosis.alpha_sweep().to_csv(args.output / "cql_alpha.csv", index=False)
        elif part == "length":
            runs, table = diagnosis.length_part(pd.read_csv(args.output / "steps.csv"), args.models, args.workers)
            _save(runs, table, args.output, "runs_length", "length_table")
        elif part == "select":
            runs, table = parts.select_part(args.models, args.workers)
            _save(runs, table, args.output, "runs_select", "select_table")
        else:
            runs, maybe_table = parts.learning_part(part, args.models)
            _save(runs, maybe_table, args.output, f"runs_{part}", f"{part}_table")
    return 0
