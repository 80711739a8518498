"""recbook.plots: preference ranks of recommendations by step."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from recbook import EnvConfig
from recbook.evaluation import rollout, sample_users
from recbook.plots import plot_rank_heatmaps, preference_rank_by_step
from recbook.policies import Oracle, RoundRobin


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
