"""recbook.viz: the old paths re-export the new homes, the sweep agrees with bands.vary, panels are pure draws."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from recbook import EnvConfig
from recbook.bands import vary
from recbook.evaluation import sample_users
from recbook.policies import oracle_return
from recbook.viz import compute, figures, panels, playground, style, widgets
from recbook.viz.compute import leave_rate_sweep, oracle_counts, simulate_session

OLD_PATHS = {
    "recbook.plots": (compute, figures),
    "recbook.widgets": (compute, playground, style, widgets),
    "recbook.widgets_leave": (compute, figures, widgets),
}


@pytest.mark.parametrize("old", sorted(OLD_PATHS))
def test_old_paths_are_thin_re_exports_of_the_new_homes(old: str) -> None:
    module = importlib.import_module(old)
    assert "Deprecated path, kept for one release: use recbook.viz" in (module.__doc__ or "")
    homes = OLD_PATHS[old]
    for name in module.__all__:
        obj = getattr(module, name)
        assert any(getattr(home, name, None) is obj for home in homes), f"{old}.{name} is not a re-export"


def test_leave_rate_sweep_is_vary_over_leave_rate_to_the_bit() -> None:
    """The same users, policies and % of oracle as bands.vary: the one sweep, with extra columns."""
    config = EnvConfig(item_quality="uniform", observation="feedback", n_items=5, session_length=8)
    rates, names = (0.0, 0.4), ("random", "bayes-index")
    ours = leave_rate_sweep(config, leave_rates=rates, policies=names, n_users=120, seed=3)
    theirs = vary("leave_rate", rates, base=config, policies=names, n_users=120, seed=3)
    assert list(ours["policy"]) == list(theirs["policy"])
    np.testing.assert_array_equal(ours["leave_rate"].to_numpy(), theirs["value"].to_numpy())
    np.testing.assert_array_equal(ours["pct_oracle"].to_numpy(), theirs["pct_oracle"].to_numpy())
    np.testing.assert_array_equal(ours["oracle_return"].to_numpy(), theirs["oracle_return"].to_numpy())


def test_simulate_session_agrees_with_oracle_return() -> None:
    """The oracle is rolled out (the figure needs its steps); its total is oracle_return's up to rounding."""
    config = EnvConfig(n_items=4, session_length=6)
    summary = simulate_session("random", config, n_users=30, seed=2)
    assert summary.percent_of_oracle == pytest.approx(100 * summary.mean_return / summary.oracle_return)
    assert summary.oracle_step_reward.sum() == pytest.approx(summary.oracle_return)
    closed_form = oracle_return(sample_users(config, 30, 2), config).mean()
    assert summary.oracle_return == pytest.approx(closed_form, rel=1e-12, abs=0)


def test_panels_draw_only_on_the_figure_they_are_given() -> None:
    with style.book_style():
        fig = Figure()
        preferences = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
        panels.draw_alpha_panel(fig, preferences, 0.5)
        assert len(fig.axes) == 3  # two panels and the heatmap's colour bar
        config = EnvConfig(n_items=3, session_length=4)
        user = np.array([[0.6, 0.3, 0.1]])
        counts, total = oracle_counts(user, config)
        assert counts.shape == (1, 3) and counts.sum() == 4 and total.shape == (1,)
        fig = Figure()
        k = np.arange(1, 5)
        panels.draw_decay_panel(
            fig,
            0.5,
            multipliers={"harmonic": 1.0 / k, "geometric": 0.5 ** (k - 1.0)},
            counts={"harmonic": counts[0], "geometric": counts[0]},
            returns={"harmonic": float(total[0]), "geometric": float(total[0])},
        )
        assert len(fig.axes) == 2
        summary = simulate_session("round-robin", config, n_users=10)
        fig = Figure()
        panels.draw_session(fig, summary)
        assert len(fig.axes) == 3
        fig = Figure()
        table = pd.DataFrame([{"policy": "round-robin", "percent_of_oracle": summary.percent_of_oracle}])
        panels.draw_playground_panel(fig, table, [summary], 1.0, style.policy_palette(["round-robin"]))
        assert len(fig.axes) == 2
        assert style.figure_to_png(fig, dpi=30).startswith(b"\x89PNG")


def test_style_gives_each_policy_one_colour_and_checks_dpi() -> None:
    palette = style.policy_palette(["a", "b", "c"])
    assert list(palette) == ["a", "b", "c"] and len(set(palette.values())) == 3
    assert style.policy_palette(["a", "b", "c"]) == palette
    with pytest.raises(ValueError, match="dpi"):
        style.check_dpi(10)
    with pytest.raises(ValueError, match="dpi"):
        style.check_dpi(True)


def test_grid_check_refuses_what_a_slider_cannot_show() -> None:
    assert widgets.check_grid("alphas", (0.5, 1), 0.0, 10.0) == (0.5, 1.0)
    for bad in ((), (1.0, 1.0), (0.0,), (True,), "1", (float("nan"),)):
        with pytest.raises(ValueError, match="alphas"):
            widgets.check_grid("alphas", bad, 0.0, 10.0)
