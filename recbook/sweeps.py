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
import os
import re
import socket
import sys
import tempfile
import time
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from itertools import product
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from recbook import seeds as seed_streams
from recbook.agents.config import DQNConfig, RunConfig, TrainingConfig
from recbook.config import EnvConfig

__all__ = ["BACKENDS", "RESULT_COLUMNS", "Run", "expand", "parse_set", "sweep", "main"]

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

_SECTIONS = ("env", "dqn", "training")
#: Set with their own arguments, not with ``--set``.
_RESERVED = {"training.seed": "--seeds", "training.total_timesteps": "--total-timesteps"}


@dataclass(frozen=True)
class Run:
    """One training run of a sweep: ``overrides`` (``(("dqn.n_steps", 3), ...)``, in ``--set`` order) and a seed."""

    overrides: tuple[tuple[str, Any], ...]
    seed: int

    @property
    def name(self) -> str:
        """Directory name, e.g. ``dqn.n_steps=3_dqn.learning_rate=0.001_seed=0``."""
        parts = [f"{key}={_format(value)}" for key, value in self.overrides] + [f"seed={self.seed}"]
        return re.sub(r"[^A-Za-z0-9_.=+-]", "-", "_".join(parts))


def _format(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(_format(v) for v in value)
    return str(value)


def _split_values(text: str) -> list[str]:
    """Split ``"1,3,[64,64]"`` at the commas outside brackets."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[(":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts]


def _field_types() -> dict[str, dict[str, Any]]:
    return {
        section: {f.name: typing.get_type_hints(cls)[f.name] for f in fields(cls)}
        for section, cls in zip(_SECTIONS, (EnvConfig, DQNConfig, TrainingConfig))
    }


def _coerce(key: str, value: Any, kind: Any) -> Any:
    """``value`` as a ``kind`` field, or ``ValueError`` naming ``key``; composite types are left to the config's
    own validation."""
    wrong = ValueError(f"--set {key}: {value!r} is not a valid {getattr(kind, '__name__', kind)}")
    if kind is bool:
        if not isinstance(value, bool):
            raise wrong
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
    elif kind is float:
        if isinstance(value, str):  # YAML 1.1 reads 3e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise wrong from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
        return float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise wrong
    elif typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise wrong
        return [_coerce(key, v, item) for v in value]
    return value


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``"dqn.n_steps=1,3,10"`` -> ``("dqn.n_steps", [1, 3, 10])``, each value checked against the field's type.

    Values are read as YAML scalars (``3e-4`` is a float, ``true`` a bool, ``[64,64]`` a list). Raises
    ``ValueError`` naming the key for an unknown section or field, a reserved key (``training.seed``,
    ``training.total_timesteps``) or a value of the wrong type.
    """
    if "=" not in text:
        raise ValueError(f"--set {text!r}: expected SECTION.FIELD=VALUE[,VALUE...], e.g. dqn.n_steps=1,3,10")
    key, _, raw = text.partition("=")
    key = key.strip()
    section, _, name = key.partition(".")
    types = _field_types()
    if section not in types or not name:
        raise ValueError(f"--set {key}: the key must be SECTION.FIELD with SECTION one of {list(_SECTIONS)}")
    if name not in types[section]:
        raise ValueError(f"--set {key}: {section} has no field {name!r}; fields: {sorted(types[section])}")
    if key in _RESERVED:
        raise ValueError(f"--set {key}: use {_RESERVED[key]} instead")
    tokens = _split_values(raw)
    if not raw.strip() or any(token == "" for token in tokens):
        raise ValueError(f"--set {key}: empty value in {raw!r}")
    values = []
    for token in tokens:
        try:
            value = yaml.safe_load(token)
        except yaml.YAMLError as exc:
            raise ValueError(f"--set {key}: cannot read {token!r}: {exc}") from exc
        values.append(_coerce(key, value, types[section][name]))
    return key, values


def _apply(base: dict[str, Any], overrides: Iterable[tuple[str, Any]], seed: int, total: int | None) -> Any:
    data = {section: dict(base.get(section) or {}) for section in _SECTIONS}
    for key, value in overrides:
        section, _, name = key.partition(".")
        data[section][name] = value
    data["training"]["seed"] = int(seed)
    if total is not None:
        data["training"]["total_timesteps"] = int(total)
    return RunConfig.from_dict(data)


def expand(
    config: str | Path | Mapping[str, Any],
    seeds: Sequence[int],
    overrides: Mapping[str, Sequence[Any]] | Sequence[str] | None = None,
    total_timesteps: int | None = None,
) -> tuple[list[Run], dict[str, Any]]:
    """All runs of a sweep and the base configuration (``RunConfig.to_dict()``), validated before anything runs.

    Args:
        config: a preset name, a YAML file, or a ``RunConfig``-style dict.
        seeds: training seeds (distinct non-negative ints).
        overrides: ``{"dqn.n_steps": [1, 3, 10]}`` or ``["dqn.n_steps=1,3,10", ...]`` (``--set`` strings).
        total_timesteps: overrides the preset's training budget.

    Raises:
        ValueError: naming the offending key or value; every combination is built into a ``RunConfig`` here, so
            a value the environment or the DQN refuses fails before the first run starts.
    """
    base = RunConfig.from_dict(dict(config)) if isinstance(config, Mapping) else RunConfig.from_yaml(config)
    if isinstance(overrides, Mapping):
        grid = []
        for key, values in overrides.items():
            text = ",".join(yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()
                            for v in values)
            grid.append(parse_set(f"{key}={text}"))
    else:
        grid = [parse_set(text) for text in (overrides or [])]
    keys = [key for key, _ in grid]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise ValueError(f"--set: key(s) given more than once: {duplicated}")
    seeds = [seed_streams.validate_seed(s, "seeds") for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one; got {list(seeds)}")
    if total_timesteps is not None and (isinstance(total_timesteps, bool) or int(total_timesteps) < 1):
        raise ValueError(f"total_timesteps must be a positive int, got {total_timesteps!r}")
    runs = []
    for values in product(*(values for _, values in grid)):
        overrides_ = tuple(zip(keys, values))
        for seed in seeds:
            run = Run(overrides_, seed)
            try:
                _apply(base.to_dict(), overrides_, seed, total_timesteps)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"--set: run {run.name} is not a valid configuration: {exc}") from exc
            runs.append(run)
    return runs, base.to_dict()


def execute(
    base: dict[str, Any], run: Run, total_timesteps: int | None, n_users: int, eval_seed: int
) -> dict[str, Any]:
    """Train and score one run (what a worker does); returns its result row, model bytes and learning curve."""
    # Imported here: expanding and validating a sweep needs no torch.
    from recbook.agents.train import train_run
    from recbook.evaluation import compare

    config = _apply(base, run.overrides, run.seed, total_timesteps)
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
            for section in _SECTIONS
            for key in expected[section]
            if saved["config"].get(section, {}).get(key) != expected[section][key]
        ]
        raise ValueError(
            f"{path.parent} holds run {run.name} with another configuration ({', '.join(differs)} differ); "
            "use another --output or delete it"
        )
    return saved["result"]


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast (within ``timeout`` seconds) when nothing listens at ``HOST:PORT``."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--address must be HOST:PORT (e.g. 10.0.0.5:6379), got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ConnectionError(
            f"--address {address}: no Ray cluster reachable within {timeout:.0f} s ({exc}). Start one with "
            "'ray start --head --port PORT' on the head machine, or drop --address for a local Ray instance."
        ) from exc


def _local(tasks: list[tuple[Any, ...]], jobs: int) -> Iterator[dict[str, Any]]:
    from joblib import Parallel, delayed

    if jobs == 1:
        for task in tasks:
            yield execute(*task)
        return
    parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(execute)(*task) for task in tasks)


def _ray(tasks: list[tuple[Any, ...]], jobs: int | None, address: str | None) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError as exc:
        raise ImportError("backend 'ray' needs Ray: pip install -e '.[ray]'") from exc
    started = not ray.is_initialized()
    if started:
        if address is not None:
            _check_reachable(address)
            try:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            except (ConnectionError, ray.exceptions.AuthenticationError) as exc:
                # Without RAY_AUTH_MODE=token the driver sends no token and the cluster refuses it; with the
                # mode but no token Ray stops before connecting; with another token the cluster refuses it.
                hint = (
                    "a cluster with token authentication wants RAY_AUTH_MODE=token and its token: copy the head's "
                    "token file here and set RAY_AUTH_TOKEN_PATH to it (or put it in ~/.ray/auth_token)"
                    if os.environ.get("RAY_AUTH_MODE") != "token"
                    else "is the token (RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token or RAY_AUTH_TOKEN) the cluster's?"
                )
                raise ConnectionError(f"--address {address}: Ray refused the connection ({exc}); {hint}") from exc
        else:
            # address="local": a new instance even if a cluster runs on this machine (plain init would join it).
            ray.init(address="local", num_cpus=jobs or os.cpu_count(), include_dashboard=False,
                     logging_level="ERROR", log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(execute)
        limit = jobs or len(tasks)
        waiting = list(tasks)
        running: list[Any] = []
        while waiting or running:
            while waiting and len(running) < limit:
                running.append(remote.remote(*waiting.pop(0)))
            done, running = ray.wait(running, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()


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
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if address is not None and backend != "ray":
        raise ValueError("address is for backend='ray'")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    if isinstance(n_users, bool) or not isinstance(n_users, int) or n_users < 2:
        raise ValueError(f"n_users must be an int >= 2, got {n_users!r}")
    eval_seed = seed_streams.validate_seed(eval_seed, "eval_seed")
    runs, base = expand(config, seeds, overrides, total_timesteps)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for run in runs:
        expected = _apply(base, run.overrides, run.seed, total_timesteps).to_dict()
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
        stream = _local(todo, jobs or 1) if backend == "local" else _ray(todo, jobs, address)
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


if __name__ == "__main__":
    sys.exit(main())
