"""Tests for recbook.seeds: named streams, split by purpose, reproducible and independent."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from recbook import seeds
from recbook.config import EnvConfig
from recbook.evaluation import compare, sample_users


def test_same_arguments_same_draws() -> None:
    a = seeds.generator(3, seeds.VALIDATION, "clicks").random(5)
    b = seeds.generator(3, seeds.VALIDATION, "clicks").random(5)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "other",
    [(4, seeds.VALIDATION, "clicks"), (3, seeds.TEST, "clicks"), (3, seeds.VALIDATION, "users"),
     (3, seeds.VALIDATION, "clicks", "thompson")],
)
def test_every_component_changes_the_stream(other) -> None:
    base = seeds.generator(3, seeds.VALIDATION, "clicks").random(5)
    assert not np.allclose(base, seeds.generator(*other).random(5))


def test_train_validation_and_test_users_differ() -> None:
    config = EnvConfig()
    users = {stream: sample_users(config, 50, seed=0, stream=stream) for stream in seeds.STREAMS}
    assert not np.allclose(users[seeds.TRAIN], users[seeds.VALIDATION])
    assert not np.allclose(users[seeds.VALIDATION], users[seeds.TEST])
    np.testing.assert_array_equal(users[seeds.TEST], sample_users(config, 50, seed=0))  # TEST is the default


def test_string_keys_are_stable_across_processes() -> None:
    code = "from recbook import seeds; print(seeds.derive_seed(1, 'test', 'policy', 'ucb'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == seeds.derive_seed(1, seeds.TEST, "policy", "ucb")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"stream": "holdout"}, "stream"),
     ({"purpose": "noise"}, "purpose")],
)
def test_bad_arguments_name_the_parameter(kwargs, match) -> None:
    arguments = {"seed": 0, "stream": seeds.TEST, "purpose": "users", **kwargs}
    with pytest.raises(ValueError, match=match):
        seeds.generator(arguments["seed"], arguments["stream"], arguments["purpose"])


def test_compare_is_reproducible_and_paired_on_the_first_policy() -> None:
    config = EnvConfig(observation="feedback", feedback="click")
    first = compare(["bayes-greedy", "thompson", "random"], config, n_users=500, seed=2, n_resamples=200)
    second = compare(["bayes-greedy", "thompson", "random"], config, n_users=500, seed=2, n_resamples=200)
    assert first.equals(second)
    assert list(first.index) == ["bayes-greedy", "thompson", "random"]
    assert first.loc["bayes-greedy", "diff"] == 0.0
    assert first.loc["random", "diff_ci_high"] < 0 < first.loc["random", "pct_oracle"]
    assert first.attrs["stream"] == seeds.TEST


def test_import_loads_no_deep_learning_library() -> None:
    code = "import sys, recbook; print(sorted(m for m in ('torch', 'stable_baselines3') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
