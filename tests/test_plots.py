"""recbook.viz.compute and recbook.viz.figures: preference ranks by step, cumulative regret, sweep figures."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from recbook import EnvConfig, seeds
from recbook.evaluation import rollout, sample_users
from recbook.viz.compute import cumulative_regret, mean_band, preference_rank_by_step
from recbook.viz.figures import plot_cumulative_regret, plot_rank_heatmaps
from recbook.policies import BayesGreedy, Oracle, RoundRobin


def test_ranks_by_hand():
    preferences = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    actions = np.array([[1, 2, 0], [0, 0, 1]])
    table = preference_rank_by_step(actions, preferences)
    expected = np.array([[1.0, 0.5, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.0]])
    assert np.allclose(table, expected)


def test_oracle_starts_with_the_favourite_and_columns_sum_to_one():
    config = EnvConfig(observation="oracle")
    users = sample_users(config, 300, seed=0)
    result = rollout(Oracle(config), config, users)
    table = preference_rank_by_step(result.actions, result.preferences)
    assert table.shape == (config.n_items, config.session_length)
    assert np.allclose(table.sum(axis=0), 1.0)
    assert table[0, 0] == 1.0


def test_invalid_shapes_raise():
    with pytest.raises(ValueError, match="actions"):
        preference_rank_by_step(np.zeros((2, 3), dtype=int), np.full((3, 4), 0.25))
    with pytest.raises(ValueError, match="item indices"):
        preference_rank_by_step(np.full((1, 2), 5), np.full((1, 4), 0.25))


def test_heatmaps_one_panel_per_policy():
    config = EnvConfig(observation="feedback")
    users = sample_users(config, 50, seed=1)
    rollouts = {"round-robin": rollout(RoundRobin(config), config, users),
                "oracle": rollout(Oracle(config), config, users)}
    fig = plot_rank_heatmaps(rollouts, max_rank=5)
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert len(visible) == 2
    with pytest.raises(ValueError):
        plot_rank_heatmaps({})


def test_cumulative_regret_by_hand_and_its_end_is_the_session_regret():
    oracle = np.array([[0.5, 0.3, 0.1]])
    policy = np.array([[0.1, 0.3, 0.4]])
    assert np.allclose(cumulative_regret(policy, oracle), [[0.4, 0.4, 0.1]])
    config = EnvConfig(observation="feedback")
    users = sample_users(config, 400, seed=2)
    best = rollout(Oracle(config), config, users).engagement
    bayes = rollout(BayesGreedy(config), config, users).engagement
    curve = cumulative_regret(bayes, best)
    assert np.allclose(curve[:, -1], best.sum(axis=1) - bayes.sum(axis=1))
    assert np.all(curve[:, -1] >= -1e-12)  # nobody beats the oracle's total
    with pytest.raises(ValueError, match="shape"):
        cumulative_regret(bayes, best[:, :3])


def test_mean_band_covers_the_mean_and_narrows_with_users():
    values = seeds.generator(0, seeds.TEST, "bootstrap").normal(size=(2000, 3))
    mean, low, high = mean_band(values)
    assert np.all(low < mean) and np.all(mean < high)
    assert np.allclose(high - low, 2 * 1.96 / np.sqrt(2000), rtol=0.1)
    _, low_few, high_few = mean_band(values[:20])
    assert np.all(high_few - low_few > high - low)
    with pytest.raises(ValueError, match="confidence_level"):
        mean_band(values, confidence_level=1.5)
    with pytest.raises(ValueError, match="K >= 2"):
        mean_band(values[:1])


def test_plot_cumulative_regret_one_line_per_policy():
    curves = {"a": np.ones((5, 4)), "b": np.zeros((5, 4))}
    ax = plot_cumulative_regret(curves)
    assert [line.get_label() for line in ax.get_lines()[:2]] == ["a", "b"]
    with pytest.raises(ValueError):
        plot_cumulative_regret({})


def test_sweep_figures_label_their_axes():
    import pandas as pd

    from recbook.evaluation import performance_profile
    from recbook.viz.figures import plot_performance_profile, plot_sensitivity

    runs = pd.DataFrame({"dqn.n_steps": [1, 1, 3, 3], "dqn.learning_rate": [1e-3, 3e-4] * 2,
                         "pct_oracle": [96.0, 95.0, 94.0, 93.0]})
    ax = plot_sensitivity(runs, "dqn.n_steps", "dqn.learning_rate")
    assert ax.get_ylabel() == "dqn.n_steps" and ax.get_xlabel() == "dqn.learning_rate"
    assert sorted(t.get_text() for t in ax.texts) == ["93.0", "94.0", "95.0", "96.0"]
    ax = plot_performance_profile(performance_profile(runs, "dqn.n_steps"), "dqn.n_steps")
    assert ax.get_xlabel() and ax.get_ylabel() == "fraction of runs scoring above"
    assert len(ax.get_lines()) == 2
