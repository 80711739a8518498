"""recbook.sweeps: seeds x hyperparameters on joblib or Ray, resumable, identical numbers on every backend."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import recbook
from recbook import sweeps
from recbook.sweeps import RESULT_COLUMNS, TIMING_COLUMNS, expand, parse_set, sweep

# A few hundred gradient steps: enough to exercise training, scoring and the files, in seconds.
TINY = {"dqn.learning_starts": [200], "dqn.n_steps": [1, 3]}
BUDGET = 640


def _tiny(output, seeds=(0,), **kwargs):
    return sweep("item_shared_scratch", seeds=seeds, overrides=TINY, total_timesteps=BUDGET, output=output,
                 n_users=60, progress=False, **kwargs)


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=list(TIMING_COLUMNS)).reset_index(drop=True)


def test_parse_set_reads_typed_values():
    assert parse_set("dqn.n_steps=1,3,10") == ("dqn.n_steps", [1, 3, 10])
    assert parse_set("dqn.learning_rate=3e-4,1e-3") == ("dqn.learning_rate", [3e-4, 1e-3])
    assert parse_set("dqn.learning_rate=1") == ("dqn.learning_rate", [1.0])
    assert parse_set("dqn.net_arch=[64,64],[32]") == ("dqn.net_arch", [[64, 64], [32]])
    assert parse_set("dqn.double_q=true,false") == ("dqn.double_q", [True, False])
    assert parse_set("env.leave_rate=0,0.3") == ("env.leave_rate", [0.0, 0.3])


@pytest.mark.parametrize(
    "text, named",
    [
        ("dqn.n_stepz=1", "dqn.n_stepz"),
        ("model.n_steps=1", "model.n_steps"),
        ("dqn.n_steps=abc", "dqn.n_steps"),
        ("dqn.n_steps=1.5", "dqn.n_steps"),
        ("dqn.n_steps=true", "dqn.n_steps"),
        ("dqn.learning_rate=fast", "dqn.learning_rate"),
        ("dqn.double_q=1", "dqn.double_q"),
        ("dqn.n_steps=", "dqn.n_steps"),
        ("dqn.n_steps=1,,3", "dqn.n_steps"),
        ("training.seed=1", "--seeds"),
        ("dqn.n_steps", "SECTION.FIELD=VALUE"),
    ],
)
def test_bad_set_is_refused_naming_it(text, named):
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        parse_set(text)


def test_every_combination_is_validated_before_any_run(tmp_path):
    with pytest.raises(ValueError, match="n_items"):
        sweep("item_shared_scratch", seeds=[0], overrides={"env.n_items": [5, 0]}, output=tmp_path, progress=False)
    assert not (tmp_path / "runs").exists()
    with pytest.raises(ValueError, match="more than once"):
        expand("item_shared_scratch", [0], ["dqn.n_steps=1", "dqn.n_steps=3"])
    with pytest.raises(ValueError, match="seeds"):
        expand("item_shared_scratch", [0, 0])
    with pytest.raises(ValueError, match="backend"):
        sweep(seeds=[0], backend="dask", output=tmp_path)
    with pytest.raises(ValueError, match="address"):
        sweep(seeds=[0], address="127.0.0.1:6379", output=tmp_path)


def test_runs_are_the_product_of_values_and_seeds():
    runs, base = expand("item_shared_scratch", [0, 1], ["dqn.n_steps=1,3", "dqn.learning_rate=3e-4,1e-3"])
    assert len(runs) == 8
    assert runs[0].name == "dqn.n_steps=1_dqn.learning_rate=0.0003_seed=0"
    assert len({run.name for run in runs}) == 8
    assert base["dqn"]["skip"] == "none"


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    output = tmp_path_factory.mktemp("sweep")
    return output, _tiny(output, seeds=(0, 1))


def test_sweep_writes_results_models_and_curves(local_sweep):
    output, frame = local_sweep
    assert list(frame.columns) == [*TINY, *RESULT_COLUMNS]
    assert len(frame) == 4
    assert frame["dqn.n_steps"].tolist() == [1, 1, 3, 3] and frame["seed"].tolist() == [0, 1, 0, 1]
    on_disk = pd.read_csv(output / "results.csv")
    pd.testing.assert_frame_equal(on_disk, frame, check_dtype=False)
    assert (frame["pct_oracle_ci_low"] <= frame["pct_oracle"]).all()
    assert (frame["pct_oracle"] <= frame["pct_oracle_ci_high"]).all()
    assert (frame["total_timesteps"] == BUDGET).all() and (frame["steps_per_s"] > 0).all()
    run = output / "runs" / frame["run"].iloc[2]
    agent = recbook.load_agent(run / "model.zip")
    assert agent.dqn_config.n_steps == 3 and agent.dqn_config.learning_starts == 200 and agent.seed == 0
    assert agent.total_timesteps == BUDGET
    assert len(pd.read_csv(run / "learning_curve.csv")) >= 1
    assert json.loads((run / "result.json").read_text())["config"]["dqn"]["n_steps"] == 3


def test_rerun_skips_finished_runs_and_resumes_the_rest(local_sweep, tmp_path, monkeypatch):
    output, frame = local_sweep
    copy = tmp_path / "copy"
    shutil.copytree(output, copy)
    calls = []
    real = sweeps.execute

    def counting(*args):
        calls.append(args[1].name)
        return real(*args)

    monkeypatch.setattr(sweeps, "execute", counting)
    again = _tiny(copy, seeds=(0, 1))
    assert calls == []
    pd.testing.assert_frame_equal(again, frame)
    killed = frame["run"].iloc[3]
    (copy / "runs" / killed / "result.json").unlink()  # as if killed before the run finished
    resumed = _tiny(copy, seeds=(0, 1))
    assert calls == [killed]
    pd.testing.assert_frame_equal(_numbers(resumed), _numbers(frame))


def test_rerun_with_another_configuration_is_refused(local_sweep, tmp_path):
    output, _ = local_sweep
    copy = tmp_path / "copy"
    shutil.copytree(output, copy)
    with pytest.raises(ValueError, match="training.total_timesteps"):
        sweep("item_shared_scratch", seeds=[0], overrides=TINY, total_timesteps=BUDGET + 16, output=copy,
              n_users=60, progress=False)


def test_two_local_jobs_give_identical_numbers(local_sweep, tmp_path):
    _, frame = local_sweep
    parallel = _tiny(tmp_path, seeds=(0, 1), jobs=2)
    pd.testing.assert_frame_equal(_numbers(parallel), _numbers(frame))


def test_cli_sweep_and_its_errors(tmp_path):
    command = [sys.executable, "-m", "recbook", "sweep", "--config", "item_shared_scratch", "--seeds", "0"]
    bad = subprocess.run([*command, "--set", "dqn.n_stepz=1", "--output", str(tmp_path)], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "dqn.n_stepz" in bad.stderr
    wrong_type = subprocess.run([*command, "--set", "dqn.batch_size=big", "--output", str(tmp_path)],
                                capture_output=True, text=True)
    assert wrong_type.returncode == 2 and "dqn.batch_size" in wrong_type.stderr
    ok = subprocess.run(
        [*command, "--set", "dqn.learning_starts=200", "--total-timesteps", str(BUDGET), "--n-users", "60",
         "--output", str(tmp_path / "cli")],
        capture_output=True, text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert len(pd.read_csv(tmp_path / "cli" / "results.csv")) == 1


needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="the Ray backend needs the ray extra: pip install -e '.[ray]'"
)


@needs_ray
def test_unreachable_address_fails_within_30_seconds(tmp_path):
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="no Ray cluster reachable"):
        _tiny(tmp_path, backend="ray", address="127.0.0.1:9")
    assert time.perf_counter() - start < 30


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A single-node Ray cluster started the way the README says, with token authentication on, stopped afterwards.

    The token is generated here into a temporary file that ``RAY_AUTH_TOKEN_PATH`` names for ``ray start`` and for
    the driver, and ``HOME`` is an empty temporary folder: the test never reads or writes the user's ``~/.ray/``,
    so it passes on a new machine and cannot pass thanks to a token an earlier run left there. The node listens on
    127.0.0.2, a loopback address Ray does not rewrite to the machine's network address, so every packet stays on
    this machine. Yields the address and the environment a driver with the token needs.
    """
    ray_bin = Path(sys.executable).with_name("ray")
    folder = tmp_path_factory.mktemp("ray")
    home = folder / "home"
    home.mkdir()
    token = folder / "auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    host, port = "127.0.0.2", 6391
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    env.update(HOME=str(home), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    started = subprocess.run(
        [str(ray_bin), "start", "--head", f"--node-ip-address={host}", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats"],
        capture_output=True, text=True, env=env, timeout=180,
    )
    assert started.returncode == 0, started.stderr + started.stdout
    try:
        yield f"{host}:{port}", env
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], capture_output=True, env=env, timeout=120)
    assert not (home / ".ray" / "auth_token").exists()  # nothing fell back to the default token file


@needs_ray
def test_ray_cluster_gives_the_local_numbers(local_sweep, ray_cluster, tmp_path):
    """The README's multi-machine command on a one-machine cluster: same numbers as the local backend."""
    _, frame = local_sweep
    address, env = ray_cluster
    command = [sys.executable, "-m", "recbook", "sweep", "--config", "item_shared_scratch", "--seeds", "0", "1",
               "--set", "dqn.learning_starts=200", "--set", "dqn.n_steps=1,3", "--total-timesteps", str(BUDGET),
               "--n-users", "60", "--backend", "ray", "--address", address, "--output", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    on_ray = pd.read_csv(tmp_path / "results.csv")
    pd.testing.assert_frame_equal(_numbers(on_ray), _numbers(frame), check_dtype=False)
    assert (tmp_path / "runs" / frame["run"].iloc[0] / "model.zip").is_file()  # written by the driver


@needs_ray
def test_a_driver_without_the_token_is_refused(ray_cluster, tmp_path):
    """What the README says a driver without the cluster's token sees: a refusal that says what is missing."""
    address, env = ray_cluster
    command = [sys.executable, "-m", "recbook", "sweep", "--config", "item_shared_scratch", "--seeds", "0",
               "--total-timesteps", str(BUDGET), "--n-users", "60", "--backend", "ray", "--address", address,
               "--output", str(tmp_path)]
    no_token = {key: value for key, value in env.items() if key != "RAY_AUTH_TOKEN_PATH"}
    refused = subprocess.run(command, capture_output=True, text=True, env=no_token, timeout=300)
    assert refused.returncode != 0
    assert "no authentication token" in refused.stderr and "RAY_AUTH_TOKEN_PATH" in refused.stderr
    assert not (tmp_path / "results.csv").exists()
