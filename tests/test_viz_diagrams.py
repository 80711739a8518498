"""recbook.viz.diagrams: the agent–environment loop and the belief update draw what the library computes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from recbook.posterior import DirichletPosterior  # noqa: E402
from recbook.viz.diagrams import draw_agent_environment_loop, plot_belief_update  # noqa: E402


def test_loop_draws_the_exchange_with_recbook_names() -> None:
    fig, ax = plt.subplots()
    assert draw_agent_environment_loop(ax) is fig
    text = " ".join(t.get_text() for t in ax.texts)
    for word in ("agent", "environment", "action", "observation", "reward", "env.step", "predict"):
        assert word in text
    assert len(ax.patches) == 4  # two boxes, two arrows
    plt.close(fig)


def test_belief_update_draws_the_posterior_of_each_panel() -> None:
    alpha = np.array([1.0, 2.0, 0.5, 1.0])
    p = np.array([0.1, 0.5, 0.15, 0.25])
    fig = plot_belief_update(alpha, p, shown=[1, 3], level=0.8)
    axes = fig.axes
    assert len(axes) == 3
    posterior = DirichletPosterior(alpha)
    revealed = np.array([False, True, False, True])
    value = np.where(revealed, p, 0.0)
    means = axes[2].collections[1].get_offsets()[:, 1]  # the posterior-mean dots of the last panel
    np.testing.assert_allclose(means, posterior.mean(revealed, value))
    segments = axes[2].collections[0].get_segments()
    low, high = posterior.interval(revealed, value, 0.8)
    np.testing.assert_allclose([s[:, 1].min() for s in segments], low)
    np.testing.assert_allclose([s[:, 1].max() for s in segments], high)
    assert axes[0].get_ylabel().startswith("preference") and axes[0].get_xlabel() == "item"
    plt.close(fig)
    with pytest.raises(ValueError, match="shown"):
        plot_belief_update(alpha, p, shown=[4])
    with pytest.raises(ValueError, match="preferences"):
        plot_belief_update(alpha, p[:3], shown=[0])
