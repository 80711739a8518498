"""The command line: smoke runs in-process, one real ``python -m recbook`` subprocess, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from recbook.cli import load_env_config, main, preset_names
from recbook.config import EnvConfig
from recbook.policies import BayesGreedy

SMALL = ["--n-items", "5", "--session-length", "6", "--n-users", "200"]


def test_python_dash_m_evaluate(tmp_path: Path) -> None:
    out = tmp_path / "table.csv"
    result = subprocess.run(
        [sys.executable, "-m", "recbook", "evaluate", "random", "bayes-greedy", *SMALL, "--seed", "3"]
        + ["--csv", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "bayes-greedy" in result.stdout and "% oracle" in result.stdout
    table = pd.read_csv(out)
    assert len(table) == 400 and set(table["policy"]) == {"random", "bayes-greedy"}


def test_compare_prints_paired_differences(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "random", "ucb", "oracle", "--reference", "random", *SMALL, "--feedback", "click"]) == 0
    out = capsys.readouterr().out
    assert "paired differences" in out and "unpaired SE" in out
    assert "ucb" in out.split("paired differences")[1]


def test_config_file_and_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "env.yaml"
    config = EnvConfig(n_items=4, session_length=5, decay="geometric", decay_rate=0.5, observation="feedback")
    path.write_text(yaml.safe_dump({"env": config.to_dict(), "dqn": {"whatever": 1}}))
    assert load_env_config(str(path)) == config
    assert load_env_config(str(path), n_items=6, alpha=None).n_items == 6
    assert main(["evaluate", "round-robin", "--config", str(path), "--n-users", "50"]) == 0
    assert "N=4, T=5" in capsys.readouterr().out


@pytest.mark.skipif(not preset_names(), reason="no presets in recbook/configs yet")
def test_builtin_preset() -> None:
    assert isinstance(load_env_config(preset_names()[0]), EnvConfig)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evaluate", "greedy"], "unknown policy 'greedy'"),
        (["evaluate", "random", "--n-items", "0"], "n_items"),
        (["evaluate", "random", "--decay-rate", "2"], "decay_rate"),
        (["evaluate", "random", "--n-users", "0"], "n_users"),
        (["evaluate", "random", "--config", "no-such-preset"], "--config"),
        (["compare", "random", "--reference", "ucb", *SMALL], "--reference"),
        (["compare", "random", "--model", "missing.zip", *SMALL], "--model"),
    ],
)
def test_errors_name_the_parameter(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_config_contents(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"env": {"n_items": 5, "n_itmes": 3}}))
    with pytest.raises(ValueError, match="n_itmes"):
        load_env_config(str(path))


def test_train_and_model_dispatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``train`` and ``--model`` call recbook.agents (replaced by fakes here: the real ones train for minutes)."""
    agents = pytest.importorskip("recbook.agents")
    calls = []

    def fake_train(config_path, output=None, total_timesteps=None, seed=None):
        calls.append((Path(config_path), output, total_timesteps, seed))
        return tmp_path / "model.zip"

    def fake_load(path, config=None):
        model = BayesGreedy(config)
        return model

    monkeypatch.setattr(agents, "train_from_config", fake_train, raising=False)
    monkeypatch.setattr(agents, "load_model", fake_load, raising=False)
    config_file = tmp_path / "run.yaml"
    config_file.write_text(yaml.safe_dump({"env": EnvConfig().to_dict()}))
    assert main(["train", "--config", str(config_file), "--total-timesteps", "100", "--seed", "1"]) == 0
    assert calls == [(config_file, None, 100, 1)]
    assert "model.zip" in capsys.readouterr().out
    model_file = tmp_path / "dqn-small.zip"
    model_file.write_text("not a real model")
    assert main(["compare", "bayes-greedy", "--model", str(model_file), *SMALL]) == 0
    out = capsys.readouterr().out
    assert "dqn-small" in out and "+0.0000" in out  # the fake model is BayesGreedy itself


def test_every_env_parameter_is_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """The flags come from EnvConfig's fields: a new parameter needs no CLI change."""
    from recbook.cli import build_parser
    from recbook.config import PARAMETERS

    help_text = build_parser().parse_known_args(["evaluate", "random"])[0]
    for name in PARAMETERS:
        assert hasattr(help_text, name), name
    assert main(["evaluate", "random", "--n-users", "50", "--leave-rate", "0.3", "--item-quality", "uniform",
                 "--catalog-seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "leave_rate=0.3, item_quality=uniform" in out


def test_bad_leave_rate_names_the_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "random", "--leave-rate", "2"])
    assert "leave_rate" in capsys.readouterr().err
