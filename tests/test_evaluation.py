"""Paired evaluation: reproducibility, CRN, summaries and confidence intervals."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from recbook.config import EnvConfig
from recbook.evaluation import (
    METRIC_COLUMNS,
    evaluate,
    interquartile_mean,
    mean_confidence_interval,
    paired_difference,
    summarize,
)
from recbook.policies import POLICIES, make_policy

CONFIG = EnvConfig(observation="feedback")
CLICK = EnvConfig(n_items=8, session_length=10, decay="geometric", feedback="click", observation="feedback")


@pytest.mark.parametrize("config", [CONFIG, CLICK], ids=["expected", "click"])
def test_same_seed_same_table(config: EnvConfig) -> None:
    def run(seed: int) -> pd.DataFrame:
        return evaluate([make_policy(n, config, seed=123) for n in POLICIES], config, n_users=300, seed=seed)

    first = run(4)
    assert list(first.columns) == ["policy", "user", *METRIC_COLUMNS]
    assert len(first) == 300 * len(POLICIES)
    pd.testing.assert_frame_equal(first, run(4))
    assert not first["return"].equals(run(5)["return"])


def test_common_random_numbers() -> None:
    table = evaluate([make_policy(n, CLICK) for n in ("random", "bayes-greedy")], CLICK, n_users=200, seed=1)
    by_policy = {name: group.reset_index(drop=True) for name, group in table.groupby("policy", observed=True)}
    # Same users: same oracle value per user for every policy.
    np.testing.assert_array_equal(by_policy["random"]["oracle_return"], by_policy["bayes-greedy"]["oracle_return"])
    # Policies re-seeded from (seed, name): adding a policy does not change another's rows.
    alone = evaluate([make_policy("random", CLICK, seed=99)], CLICK, n_users=200, seed=1)
    np.testing.assert_array_equal(alone["return"], by_policy["random"]["return"])


def test_metrics_are_consistent() -> None:
    table = evaluate([make_policy(n, CONFIG) for n in ("random", "oracle")], CONFIG, n_users=500, seed=0)
    np.testing.assert_allclose(table["return"], table["expected_return"])  # expected feedback
    oracle_rows = table[table["policy"] == "oracle"]
    np.testing.assert_allclose(oracle_rows["regret"], 0.0, atol=1e-5)
    assert (table["regret"] > -1e-5).all() and (table["pct_oracle"] <= 100 + 1e-4).all()


def test_summarize_and_paired_difference() -> None:
    names = ["random", "explore-once", "bayes-greedy"]
    table = evaluate([make_policy(n, CONFIG) for n in names], CONFIG, n_users=1000, seed=0)
    summary = summarize(table, n_resamples=500)
    assert list(summary.index) == names
    for name in names:
        row = summary.loc[name]
        assert row["return_ci_low"] < row["return"] < row["return_ci_high"]
        assert row["pct_oracle_ci_low"] < row["pct_oracle"] < row["pct_oracle_ci_high"]
    pd.testing.assert_frame_equal(summary, summarize(table, n_resamples=500))
    diff = paired_difference(table, "bayes-greedy", "explore-once", n_resamples=500)
    assert diff["ci_low"] < diff["mean_difference"] < diff["ci_high"]
    assert diff["paired_se"] < diff["unpaired_se"] / 3  # pairing removes the user-to-user variance
    assert diff["ci_low"] > 0
    with pytest.raises(ValueError, match="b: no policy"):
        paired_difference(table, "random", "ucb")
    with pytest.raises(ValueError, match="metric"):
        paired_difference(table, "random", "oracle", metric="clicks")
    with pytest.raises(ValueError, match="confidence_level"):
        summarize(table, confidence_level=95)


def test_across_seeds() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 100.0, 5.0, 6.0, 7.0]
    assert interquartile_mean(values) == pytest.approx(np.mean([3.0, 4.0, 5.0, 6.0]))
    mean, low, high = mean_confidence_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and (low, high) == pytest.approx((2 - 4.303 / np.sqrt(3), 2 + 4.303 / np.sqrt(3)), rel=1e-3)
    mean, low, high = mean_confidence_interval(np.arange(30.0), method="bootstrap")
    assert low < mean < high
    with pytest.raises(ValueError, match="method"):
        mean_confidence_interval([1.0, 2.0], method="z")
    with pytest.raises(ValueError, match="values"):
        interquartile_mean([])


def test_invalid_evaluate_arguments() -> None:
    with pytest.raises(ValueError, match="n_users"):
        evaluate([make_policy("random", CONFIG)], CONFIG, n_users=0)
    with pytest.raises(ValueError, match="policies"):
        evaluate([], CONFIG)
    with pytest.raises(ValueError, match="distinct names"):
        evaluate([make_policy("random", CONFIG), make_policy("random", CONFIG)], CONFIG)
    with pytest.raises(ValueError, match="built for"):
        evaluate([make_policy("random", EnvConfig(n_items=5))], CONFIG)


def test_baseline_on_10000_users_is_fast() -> None:
    policy = make_policy("bayes-greedy", CONFIG)
    evaluate([policy], CONFIG, n_users=100, seed=0)  # warm up imports
    start = time.perf_counter()
    evaluate([policy], CONFIG, n_users=10_000, seed=0)
    assert time.perf_counter() - start < 2.0  # about 0.3 s on an idle 2-core machine


def test_rollout_stops_recommending_to_users_who_left() -> None:
    from recbook.evaluation import rollout, sample_users
    from recbook.policies import make_policy

    config = EnvConfig(observation="feedback", leave_rate=0.5, item_quality="uniform")
    users = sample_users(config, 300, seed=0)
    result = rollout(make_policy("random", config, seed=0), config, users, seed=1)
    made = (result.actions >= 0).sum(axis=1)
    assert made.min() >= 1 and made.mean() < config.session_length / 2
    for row, steps in zip(result.actions, made):
        assert (row[:steps] >= 0).all() and (row[steps:] == -1).all()  # no recommendation after leaving
    assert (result.engagement[result.actions == -1] == 0).all()


def test_aggregate_runs_and_performance_profile():
    from recbook.evaluation import aggregate_runs, performance_profile

    runs = pd.DataFrame(
        {"config": ["a"] * 5 + ["b"] * 4, "pct_oracle": [90.0, 91, 92, 93, 50, 95, 96, 97, 98]}
    )
    table = aggregate_runs(runs, "config")
    assert table.loc["a", "n_runs"] == 5 and table.loc["b", "n_runs"] == 4
    assert table.loc["a", "iqm"] == pytest.approx(91.0)  # the outlier 50 is trimmed
    assert table.loc["a", "iqm"] > table.loc["a", "mean"]
    assert table.loc["a", "iqm_ci_low"] <= table.loc["a", "iqm"] <= table.loc["a", "iqm_ci_high"]
    assert table.loc["b", "mean_ci_low"] < 96.5 < table.loc["b", "mean_ci_high"]
    assert aggregate_runs(runs, "config").equals(table)  # seeded
    with pytest.raises(ValueError, match="score"):
        aggregate_runs(runs, "config", value="score")
    profile = performance_profile(runs, "config", thresholds=[0, 60, 94, 100])
    a = profile[profile["config"] == "a"]["fraction"].tolist()
    b = profile[profile["config"] == "b"]["fraction"].tolist()
    assert a == [1.0, 0.8, 0.0, 0.0] and b == [1.0, 1.0, 1.0, 0.0]
    assert (profile["ci_low"] <= profile["fraction"]).all() and (profile["fraction"] <= profile["ci_high"]).all()


LEAVE = EnvConfig(n_items=6, session_length=8, observation="feedback", leave_rate=0.3, item_quality="uniform")


def test_compare_without_references_keeps_its_columns() -> None:
    from recbook.evaluation import compare

    table = compare(["bayes-greedy", "random"], CONFIG, n_users=200, n_resamples=100)
    assert list(table.columns[-3:]) == ["diff", "diff_ci_low", "diff_ci_high"]
    assert table.loc["bayes-greedy", "diff"] == 0.0 and table.attrs["reference"] == "bayes-greedy"


def test_compare_with_references_is_paired_difference_per_reference() -> None:
    """One call gives, for each reference, the paired difference of expected return and the same in % of the
    oracle's mean return; a reference not among the policies is added; its own row is NaN."""
    from recbook.evaluation import compare

    table = compare(
        {"bg": "bayes-greedy", "rnd": "random"}, LEAVE, n_users=300, n_resamples=200, references=["bg", "ucb"]
    )
    assert list(table.index) == ["bg", "rnd", "ucb"]
    policies = {"bg": make_policy("bayes-greedy", LEAVE, seed=0), "rnd": make_policy("random", LEAVE, seed=0),
                "ucb": make_policy("ucb", LEAVE, seed=0)}
    per_user = evaluate(policies, LEAVE, n_users=300, seed=0)
    oracle_mean = float(per_user.loc[per_user["policy"] == "bg", "oracle_return"].mean())
    for name, reference in [("rnd", "bg"), ("bg", "ucb"), ("rnd", "ucb")]:
        d = paired_difference(per_user, name, reference, "expected_return", n_resamples=200)
        assert table.loc[name, f"diff_{reference}"] == d["mean_difference"]
        assert table.loc[name, f"diff_{reference}_ci_low"] == d["ci_low"]
        assert table.loc[name, f"diff_{reference}_paired_se"] == d["paired_se"]
        assert table.loc[name, f"pct_diff_{reference}_ci_high"] == d["ci_high"] * (100.0 / oracle_mean)
    assert np.isnan(table.loc["bg", "diff_bg"]) and np.isnan(table.loc["ucb", "pct_diff_ucb"])


def test_vary_adds_agents_at_their_value_and_reads_the_stream() -> None:
    from recbook import seeds
    from recbook.evaluation import vary

    agent = make_policy("thompson", LEAVE.replace(leave_rate=0.5), seed=0)
    table = vary("leave_rate", [0.0, 0.5], base=LEAVE, policies=("random", "oracle"), n_users=100,
                 agents={0.5: {"ts": agent}}, stream=seeds.VALIDATION)
    assert list(table["policy"]) == ["random", "oracle", "random", "oracle", "ts"]
    assert np.allclose(table.loc[table["policy"] == "oracle", "pct_oracle"], 100.0)
    assert (table["expected_return"] <= table["oracle_return"] + 1e-12).all()


def test_verdict_interval_and_versus() -> None:
    from recbook.evaluation import interval, verdict, versus

    assert verdict({"ci_low": 0.1, "ci_high": 0.2}) == "better than"
    assert verdict(pd.Series({"ci_low": -0.2, "ci_high": -0.1})) == "worse than"
    assert verdict({"ci_low": 0.0, "ci_high": 0.1}) == "statistically indistinguishable from"
    assert interval([0.5, -0.01], [0.25, -0.02], [0.75, 0.0]) == [
        "+0.5000 [+0.2500, +0.7500]",
        "-0.0100 [-0.0200, +0.0000]",
    ]
    table = evaluate([make_policy(n, CONFIG, seed=0) for n in ("bayes-greedy", "random")], CONFIG, n_users=200)
    text, d = versus(table, "bayes-greedy", "random", "expected_return", n_resamples=300)
    assert d == paired_difference(table, "bayes-greedy", "random", "expected_return", n_resamples=300)
    assert text == interval([d["mean_difference"]], [d["ci_low"]], [d["ci_high"]])[0]


def test_run_sessions_records_what_the_policy_saw_and_its_propensities() -> None:
    """The one rollout engine also logs: observations before each step and the probability of each action."""
    from recbook.evaluation import rollout, run_sessions, sample_users

    policy = make_policy("epsilon-greedy", LEAVE, seed=4)
    users = sample_users(LEAVE, 50, seed=1)
    recorded = run_sessions(policy, LEAVE, users, seed=9, deterministic=False, record=True)
    policy.reset(4)
    plain = rollout(policy, LEAVE, users, seed=9, deterministic=False)
    np.testing.assert_array_equal(recorded.actions, plain.actions)
    np.testing.assert_array_equal(recorded.rewards, plain.rewards)
    assert recorded.observations is not None and recorded.propensities is not None
    assert recorded.observations.shape == (50, 8, plain_size(LEAVE))
    active = recorded.active
    assert (recorded.propensities[active] > 0).all() and (recorded.propensities[~active] == 1).all()
    assert plain.observations is None and plain.propensities is None


def plain_size(config: EnvConfig) -> int:
    from recbook.observations import ObservationLayout

    return ObservationLayout(config).size


def test_compare_can_add_behaviour_and_return_the_sessions() -> None:
    """What the CLI prints and saves: the behavioural means and evaluate()'s per-user table, from one call."""
    from recbook.evaluation import compare

    table, sessions = compare(
        ["bayes-greedy", "random"], CONFIG, n_users=150, n_resamples=100, references=["random"],
        behaviour=True, sessions=True,
    )
    assert {"coverage", "entropy", "gini", "repeat_rate"} <= set(table.columns)
    expected = evaluate([make_policy(n, CONFIG, seed=0) for n in ("bayes-greedy", "random")], CONFIG, n_users=150)
    pd.testing.assert_frame_equal(sessions, expected)
    assert table.loc["bayes-greedy", ["diff_random_paired_se", "diff_random_unpaired_se"]].gt(0).all()
