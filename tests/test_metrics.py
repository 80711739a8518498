"""Metrics on hand-computed sessions."""

from __future__ import annotations

import numpy as np
import pytest

from recbook import metrics

# Two sessions over 3 items, T = 4.
ACTIONS = np.array([[0, 1, 2, 0], [1, 1, 1, 1]])


def test_recommendation_counts() -> None:
    assert metrics.recommendation_counts(ACTIONS, 3).tolist() == [[2, 1, 1], [0, 4, 0]]


def test_coverage_and_repeat_rate() -> None:
    np.testing.assert_allclose(metrics.coverage(ACTIONS, 3), [1.0, 1 / 3])
    np.testing.assert_allclose(metrics.coverage(ACTIONS, 6), [0.5, 1 / 6])
    # Session 0: only the second 0 repeats (1 of 4); session 1: three of four repeat.
    np.testing.assert_allclose(metrics.repeat_rate(ACTIONS, 3), [0.25, 0.75])


def test_entropy_nats_and_bits() -> None:
    expected = -(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25))  # 1.0397 nats = 1.5 bits
    np.testing.assert_allclose(metrics.entropy(ACTIONS, 3), [expected, 0.0])
    np.testing.assert_allclose(metrics.entropy(ACTIONS, 3, base=2), [1.5, 0.0])
    uniform = np.array([[0, 1, 2, 3]])
    np.testing.assert_allclose(metrics.entropy(uniform, 4), [np.log(4)])


def test_gini() -> None:
    np.testing.assert_allclose(metrics.gini(np.array([[5, 5, 5, 5], [0, 0, 0, 8]])), [0.0, 0.75])
    # [2, 1, 1]: sum_ij |xi - xj| = 4, mean 4/3, n = 3 -> 4 / (2 * 9 * 4/3) = 1/6.
    np.testing.assert_allclose(metrics.gini(np.array([[2, 1, 1]])), [1 / 6])
    assert metrics.gini(np.array([[1, 3, 0, 2]]))[0] == pytest.approx(
        np.abs(np.subtract.outer([1, 3, 0, 2], [1, 3, 0, 2])).sum() / (2 * 16 * 1.5)
    )


def test_returns_regret_and_rates() -> None:
    rewards = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    engagement = np.array([[0.5, 0.2, 0.25, 0.05], [0.4, 0.2, 0.1, 0.1]])
    oracle = np.array([1.5, 0.8])
    np.testing.assert_allclose(metrics.session_return(rewards), [2.0, 1.0])
    np.testing.assert_allclose(metrics.session_return(engagement), [1.0, 0.8])
    np.testing.assert_allclose(metrics.percent_of_oracle([1.0, 0.8], oracle), [200 / 3, 100.0])
    np.testing.assert_allclose(metrics.regret([1.0, 0.8], oracle), [0.5, 0.0])
    np.testing.assert_allclose(metrics.engagement_rate(engagement), [0.25, 0.2])
    np.testing.assert_allclose(metrics.engagement_rate(rewards), [0.5, 0.25])
    table = metrics.session_metrics(ACTIONS, rewards, engagement, oracle, 3)
    assert set(table) >= {"return", "expected_return", "pct_oracle", "regret", "coverage", "entropy", "gini"}
    assert all(v.shape == (2,) for v in table.values())


def test_invalid_inputs_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="actions"):
        metrics.coverage(np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="actions"):
        metrics.coverage(np.array([[0, 3]]), 3)
    with pytest.raises(ValueError, match="actions"):
        metrics.coverage(np.array([[0.0, 1.0]]), 3)
    with pytest.raises(ValueError, match="n_items"):
        metrics.coverage(ACTIONS, 0)
    with pytest.raises(ValueError, match="counts"):
        metrics.gini(np.array([[1, -1]]))
    with pytest.raises(ValueError, match="oracle_return"):
        metrics.percent_of_oracle([1.0], [0.0])
    with pytest.raises(ValueError, match="base"):
        metrics.entropy(ACTIONS, 3, base=1)
