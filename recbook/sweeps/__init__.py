"""Sweeps: train one DQN per (hyperparameter values, seed), on a local process pool or a Ray cluster.

::

    recbook sweep --config item_shared_scratch --seeds 0 1 2 \\
                  --set dqn.n_steps=1,3,10 --set dqn.learning_rate=3e-4,1e-3 \\
                  --total-timesteps 60000 --backend local --jobs 2 --output sweeps/n_steps

runs the product of the ``--set`` values and the seeds (here 3 x 2 x 3 = 18 runs). Each run trains the preset
with its overrides (:func:`recbook.agents.train.train_run`), then is scored on VALIDATION users — the same users for
every run (``eval_seed``), so runs are compared on paired users and never on the TEST users of the book's final
tables. ``DIR/results.csv`` has one row per finished run (:data:`RESULT_COLUMNS`): the overrides, the seed,
% of oracle with its 95 % CI, the paired difference in expected return from BayesGreedy with its CI, training time
and env steps per second. ``DIR/runs/<run>/`` holds its model (``model.zip``, loadable with
:func:`recbook.agents.agent.load_agent`), learning curve and ``result.json``.

A rerun with the same arguments skips finished runs, so a killed sweep resumes where it stopped; a rerun into the
same ``DIR`` with a different configuration is refused. :func:`sweep` is the same thing from Python and returns
the results as a DataFrame.

Backends
--------
``local``
    joblib worker processes (``--jobs`` of them), one torch thread each.
``ray``
    one Ray task per run (one CPU each) on the cluster at ``--address HOST:PORT``, or on a local Ray instance
    with ``--jobs`` CPUs when no address is given. Runs ship their model and curve back to the driver, which
    writes every file, so workers on other machines need recbook installed but not the output directory.
    A cluster started with ``RAY_AUTH_MODE=token ray start --head`` uses token authentication: every machine
    and the driver need ``RAY_AUTH_MODE=token`` and the cluster's token (the file ``RAY_AUTH_TOKEN_PATH``
    names, else ``~/.ray/auth_token``, or the variable ``RAY_AUTH_TOKEN``). The README shows the steps.

The numbers do not depend on the backend: a run's training and scoring are seeded by its seed and
``eval_seed`` only (torch on one thread), so both backends write identical results except the timing columns.
"""


from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recbook import seeds as seed_streams
from recbook._checks import check_choice, check_int
from recbook.sweeps.backends import run_local, run_ray
from recbook.sweeps.grid import SECTIONS, Run, expand, parse_set, run_config


__all__ = [
    "BACKENDS",
    "RESULT_COLUMNS",
    "TIMING_COLUMNS",
    "Run",
    "add_arguments",
    "execute",
    "expand",
    "main",
    "parse_set",
    "print_results",
    "run_from_arguments",
    "sweep",
]

#: Where runs execute.
BACKENDS: tuple[str, ...] = ("local", "ray")

#: Columns of ``results.csv`` after the override columns (one per ``--set`` key, named like the key).
RESULT_COLUMNS: tuple[str, ...] = (
    "run",
    "seed",
    "total_timesteps",
    "n_users",
    "eval_seed",
    "pct_oracle",
    "pct_oracle_ci_low",
    "pct_oracle_ci_high",
    "diff_bayes_greedy",
    "diff_bayes_greedy_ci_low",
    "diff_bayes_greedy_ci_high",
    "train_seconds",
    "steps_per_s",
)

#: Columns that measure time, the only ones that differ between two executions of the same sweep.
TIMING_COLUMNS: tuple[str, ...] = ("train_seconds", "steps_per_s")

def execute(
    base: dict[str, Any], run: Run, total_timesteps: int | None, n_users: int, eval_seed: int
) -> dict[str, Any]:
    """Train and score one run (what a worker does); returns its result row, model bytes and learning curve."""
    # Imported here: expanding and validating a sweep needs no torch.
    from recbook.agents.train import train_run
    from recbook.evaluation import compare

    config = run_config(base, run.overrides, run.seed, total_timesteps)
    start = time.perf_counter()
    agent = train_run(config)
    seconds = time.perf_counter() - start
    table = compare(
        {"bayes-greedy": "bayes-greedy", "dqn": agent},
        config.env,
        n_users=n_users,
        seed=eval_seed,
        stream=seed_streams.VALIDATION,
    )
    row = table.loc["dqn"]
    result = {
        **{key: value for key, value in run.overrides},
        "run": run.name,
        "seed": run.seed,
        "total_timesteps": config.training.total_timesteps,
        "n_users": n_users,
        "eval_seed": eval_seed,
        "pct_oracle": float(row["pct_oracle"]),
        "pct_oracle_ci_low": float(row["pct_oracle_ci_low"]),
        "pct_oracle_ci_high": float(row["pct_oracle_ci_high"]),
        "diff_bayes_greedy": float(row["diff"]),
        "diff_bayes_greedy_ci_low": float(row["diff_ci_low"]),
        "diff_bayes_greedy_ci_high": float(row["diff_ci_high"]),
        "train_seconds": seconds,
        "steps_per_s": config.training.total_timesteps / seconds,
    }
    with tempfile.TemporaryDirectory() as folder:
        model = agent.save(Path(folder) / "model.zip").read_bytes()
    curve = agent.learning_curve.to_csv(index=False)
    return {"result": result, "config": config.to_dict(), "model": model, "curve": curve}


def _write_run(output: Path, payload: dict[str, Any]) -> dict[str, Any]:
    result = payload["result"]
    folder = output / "runs" / result["run"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.zip").write_bytes(payload["model"])
    (folder / "learning_curve.csv").write_text(payload["curve"])
    # result.json last: its presence marks the run finished.
    (folder / "result.json").write_text(json.dumps({"result": result, "config": payload["config"]}, indent=2))
    return result


def _finished(output: Path, run: Run, expected: dict[str, Any]) -> dict[str, Any] | None:
    path = output / "runs" / run.name / "result.json"
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    if saved["config"] != expected:
        differs = [
            f"{section}.{key}"
            for section in SECTIONS
            for key in expected[section]
            if saved["config"].get(section, {}).get(key) != expected[section][key]
        ]
        raise ValueError(
            f"{path.parent} holds run {run.name} with another configuration ({', '.join(differs)} differ); "
            "use another --output or delete it"
        )
    return saved["result"]


def sweep(
    config: str | Path | Mapping[str, Any] = "item_shared_scratch",
    seeds: Sequence[int] = (0,),
    overrides: Mapping[str, Sequence[Any]] | Sequence[str] | None = None,
    total_timesteps: int | None = None,
    backend: str = "local",
    address: str | None = None,
    jobs: int | None = None,
    output: str | Path = "sweep",
    n_users: int = 2_000,
    eval_seed: int = 0,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Train and score every (overrides, seed) run; ``recbook sweep`` from Python.

    Args:
        config: preset name, YAML file or ``RunConfig``-style dict.
        seeds: training seeds.
        overrides: ``{"dqn.n_steps": [1, 3, 10]}`` or ``--set`` strings; the runs are their product x seeds.
        total_timesteps: training budget of every run (default: the preset's).
        backend: ``"local"`` (joblib processes) or ``"ray"``.
        address: ``HOST:PORT`` of a Ray cluster (``ray`` only); ``None`` starts a local Ray instance.
        jobs: runs at once (default 1 locally; with Ray, the local instance's CPUs, or every run at once on a
            cluster).
        output: directory of ``results.csv`` and ``runs/``; finished runs found there are skipped.
        n_users: VALIDATION users each run is scored on.
        eval_seed: which VALIDATION users (the same for every run: paired comparisons).
        progress: show a progress bar counting runs.
        on_result: called with each new result row as it arrives.

    Returns:
        ``results.csv`` as a DataFrame: one row per run in grid order, the override columns then
        :data:`RESULT_COLUMNS`.
    """
    check_choice(backend, "backend", BACKENDS)
    if address is not None and backend != "ray":
        raise ValueError("address is for backend='ray'")
    if jobs is not None:
        jobs = check_int(jobs, "jobs", low=1)
    n_users = check_int(n_users, "n_users", low=2)
    eval_seed = seed_streams.validate_seed(eval_seed, "eval_seed")
    runs, base = expand(config, seeds, overrides, total_timesteps)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for run in runs:
        expected = run_config(base, run.overrides, run.seed, total_timesteps).to_dict()
        found = _finished(output, run, expected)
        if found is None:
            todo.append((base, run, total_timesteps, n_users, eval_seed))
        else:
            results[run.name] = found
    keys = [key for key, _ in runs[0].overrides]

    def table() -> pd.DataFrame:
        rows = [results[run.name] for run in runs if run.name in results]
        return pd.DataFrame(rows, columns=[*keys, *RESULT_COLUMNS])

    from tqdm.auto import tqdm

    bar = tqdm(total=len(runs), initial=len(results), unit="run", desc="sweep", disable=not progress)
    try:
        stream = run_local(execute, todo, jobs or 1) if backend == "local" else run_ray(execute, todo, jobs, address)
        for payload in stream:
            result = _write_run(output, payload)
            results[result["run"]] = result
            table().to_csv(output / "results.csv", index=False)
            bar.update(1)
            if on_result is not None:
                on_result(result)
    finally:
        bar.close()
    frame = table()
    frame.to_csv(output / "results.csv", index=False)
    return frame


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``recbook sweep`` flags."""
    parser.add_argument("--config", required=True, help="preset name or YAML file")
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="training seeds, e.g. 0 1 2")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=V1,V2",
                        help="values to sweep (repeatable), e.g. dqn.n_steps=1,3,10")
    parser.add_argument("--total-timesteps", type=int, help="training budget of every run (default: the preset's)")
    parser.add_argument("--backend", choices=BACKENDS, default="local", help="local (joblib) or ray")
    parser.add_argument("--address", help="HOST:PORT of a Ray cluster (--backend ray); default: a local instance")
    parser.add_argument("--jobs", type=int, help="runs at once (default 1 locally)")
    parser.add_argument("--n-users", type=int, default=2_000, help="VALIDATION users per run (default 2000)")
    parser.add_argument("--eval-seed", type=int, default=0, help="which VALIDATION users (default 0)")
    parser.add_argument("--output", type=Path, required=True, help="directory for results.csv and runs/")


def run_from_arguments(args: argparse.Namespace) -> pd.DataFrame:
    """Run the sweep ``args`` describe (parsed by :func:`add_arguments`)."""
    return sweep(
        config=args.config,
        seeds=args.seeds,
        overrides=args.overrides,
        total_timesteps=args.total_timesteps,
        backend=args.backend,
        address=args.address,
        jobs=args.jobs,
        output=args.output,
        n_users=args.n_users,
        eval_seed=args.eval_seed,
    )


def print_results(frame: pd.DataFrame, output: Path) -> None:
    """The summary ``recbook sweep`` prints: one line per run (no bookkeeping columns), and where it wrote."""
    shown = frame.drop(columns=["run", "n_users", "eval_seed"])
    print(shown.to_string(index=False, float_format="{:.3f}".format))
    print(f"wrote {Path(output) / 'results.csv'} ({len(frame)} runs)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recbook.sweeps ...`` is ``recbook sweep ...`` (same flags, same output, errors exit with 2)."""
    parser = argparse.ArgumentParser(prog="python -m recbook.sweeps", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        frame = run_from_arguments(args)
    except (ValueError, ConnectionError, FileNotFoundError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    print_results(frame, args.output)
    return 0

