"""Chapter 7's precomputed click sessions: the stored DQN rows join a live evaluation as a joint one would."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recbook.evaluation import evaluate
from recbook.experiments import click
from recbook.policies import make_policy


def test_stored_rows_joined_equal_a_joint_evaluation(tmp_path: Path) -> None:
    path = tmp_path / "sessions.csv.gz"
    assert click.main(["--users", "60", "--output", str(path)]) == 0
    heuristics = {name: make_policy(name, click.CLICK_CONFIG, seed=0) for name in ("random", "bayes-greedy")}
    live = evaluate(heuristics, click.CLICK_CONFIG, n_users=60, seed=0)
    joint = evaluate({**heuristics, **click.agents()}, click.CLICK_CONFIG, n_users=60, seed=0)
    pd.testing.assert_frame_equal(click.with_agents(live, path), joint)


def test_the_committed_sessions_cover_the_chapters_users() -> None:
    stored = pd.read_csv(click.SESSIONS)
    assert sorted(stored["policy"].unique()) == sorted(click.AGENTS)
    assert stored.groupby("policy")["user"].nunique().eq(click.N_USERS).all()


def test_a_mismatch_of_users_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.csv.gz"
    click.main(["--users", "20", "--output", str(path)])
    live = evaluate({"random": make_policy("random", click.CLICK_CONFIG)}, click.CLICK_CONFIG, n_users=30, seed=0)
    with pytest.raises(ValueError, match="users"):
        click.with_agents(live, path)
