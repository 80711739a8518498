"""The chapters' widgets: built quickly on small grids, linked client-side, panels are real PNGs, bad input refused."""

from __future__ import annotations

import ipywidgets as widgets
from ipywidgets.widgets.widget_link import Link
import numpy as np
import pytest
from matplotlib.figure import Figure

from recbook.config import EnvConfig
from recbook.viz.compute import simulate_session
from recbook.viz.playground import Playground, playground, playground_panels
from recbook.viz.style import figure_to_png
from recbook.viz.widgets import MAX_PANELS, PanelExplorer, alpha_explorer, decay_explorer

PNG = b"\x89PNG\r\n\x1a\n"


def assert_panel_explorer(explorer: PanelExplorer, n_panels: int) -> None:
    assert isinstance(explorer, widgets.VBox)
    assert explorer.children == (explorer.slider, explorer.stack)
    assert isinstance(explorer.slider, widgets.SelectionSlider)
    assert isinstance(explorer.stack, widgets.Stack)
    # One panel per slider option, each a non-empty PNG image.
    assert len(explorer.slider.options) == len(explorer.stack.children) == len(explorer.labels) == n_panels
    for image in explorer.stack.children:
        assert isinstance(image, widgets.Image)
        assert image.format == "png"
        assert len(image.value) > 1000 and bytes(image.value).startswith(PNG)
    # The slider drives the stack in the browser: a jslink, i.e. a Link widget from slider.index to
    # stack.selected_index.
    link = explorer.link
    assert isinstance(link, Link)
    assert link.source == (explorer.slider, "index")
    assert link.target == (explorer.stack, "selected_index")
    assert explorer.stack.selected_index == explorer.slider.index


def test_figure_to_png_is_deterministic() -> None:
    def draw() -> bytes:
        fig = Figure(figsize=(2, 2))
        fig.subplots().plot([0, 1], [1, 0])
        return figure_to_png(fig, dpi=40)

    first = draw()
    assert first.startswith(PNG)
    assert first == draw()


def test_alpha_explorer() -> None:
    explorer = alpha_explorer(alphas=(0.1, 1.0, 10.0), n_items=5, n_users=3, start=1.0, dpi=40)
    assert_panel_explorer(explorer, 3)
    assert explorer.labels == ("0.1", "1", "10")
    assert explorer.slider.index == 1
    assert "3 panels" in repr(explorer)


def test_alpha_explorer_is_seeded() -> None:
    first = alpha_explorer(alphas=(0.5,), n_items=4, n_users=2, seed=3, dpi=40)
    second = alpha_explorer(alphas=(0.5,), n_items=4, n_users=2, seed=3, dpi=40)
    assert bytes(first.stack.children[0].value) == bytes(second.stack.children[0].value)


def test_decay_explorer() -> None:
    explorer = decay_explorer(decay_rates=(0.5, 1.0), n_items=4, session_length=6, start=None, dpi=40)
    assert_panel_explorer(explorer, 2)
    assert explorer.slider.index == 0
    # Without decay (rate 1) the oracle recommends the favourite item every time.
    data = explorer.data.set_index("decay_rate")
    assert data.loc[1.0, "distinct_items"] == 1
    assert data.loc[0.5, "distinct_items"] >= 1


def test_playground_panels() -> None:
    config = EnvConfig(n_items=4, session_length=6)
    explorer = playground_panels(
        alphas=(0.5, 2.0), policies=("random", "bayes-greedy"), config=config, n_users=20, start=2.0, dpi=40
    )
    assert_panel_explorer(explorer, 2)
    assert explorer.slider.index == 1
    assert len(explorer.data) == 4
    assert set(explorer.data["policy"]) == {"random", "bayes-greedy"}
    assert (explorer.data["percent_of_oracle"] <= 100.0 + 1e-9).all()


def test_simulate_session_against_the_oracle() -> None:
    config = EnvConfig(n_items=4, session_length=6)
    summary = simulate_session("round-robin", config, n_users=50, seed=1)
    assert 0.0 < summary.percent_of_oracle <= 100.0
    assert summary.rank_share.shape == (4, 6)
    np.testing.assert_allclose(summary.rank_share.sum(axis=0), 1.0)
    np.testing.assert_allclose(summary.step_reward.sum(), summary.mean_return)


def test_playground_builds_its_controls() -> None:
    dashboard = playground(config=EnvConfig(n_items=4, session_length=6), n_users=10)
    assert isinstance(dashboard, Playground)
    assert set(dashboard.controls) == {
        "policy",
        "feedback",
        "decay",
        "alpha",
        "decay_rate",
        "n_items",
        "session_length",
    }
    assert dashboard.children[-1] is dashboard.image
    first = bytes(dashboard.image.value)
    assert first.startswith(PNG)
    # Live: moving a control re-simulates and redraws.
    dashboard.controls["policy"].value = "random"
    assert bytes(dashboard.image.value).startswith(PNG) and bytes(dashboard.image.value) != first


@pytest.mark.parametrize(
    ("build", "parameter"),
    [
        (lambda: alpha_explorer(alphas=()), "alphas"),
        (lambda: alpha_explorer(alphas=(1.0, -1.0)), "alphas"),
        (lambda: alpha_explorer(alphas=(1.0, 1.0)), "alphas"),
        (lambda: alpha_explorer(alphas=tuple(np.linspace(0.1, 5, MAX_PANELS + 1))), "alphas"),
        (lambda: alpha_explorer(alphas="1.0"), "alphas"),
        (lambda: alpha_explorer(n_items=1), "n_items"),
        (lambda: alpha_explorer(n_users=0), "n_users"),
        (lambda: alpha_explorer(alphas=(1.0,), start=2.0), "start"),
        (lambda: alpha_explorer(alphas=(1.0,), dpi=5), "dpi"),
        (lambda: decay_explorer(decay_rates=(0.0,)), "decay_rates"),
        (lambda: decay_explorer(decay_rates=(1.5,)), "decay_rates"),
        (lambda: decay_explorer(session_length=0), "session_length"),
        (lambda: decay_explorer(alpha=-1.0), "alpha"),
        (lambda: playground(policy="oracle"), "policy"),
        (lambda: playground(policies=("nope",)), "policies"),
        (lambda: playground(n_users=0), "n_users"),
        (lambda: playground(config="original"), "config"),
        (lambda: playground_panels(policies=("oracle",)), "policies"),
        (lambda: playground_panels(alphas=(0.0,)), "alphas"),
        (lambda: simulate_session("nope", EnvConfig()), "policy"),
        (lambda: PanelExplorer(["a"], [b"not a png"], "x"), "images"),
        (lambda: PanelExplorer(["a", "a"], [PNG, PNG], "x"), "labels"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(build, parameter: str) -> None:
    with pytest.raises(ValueError, match=parameter):
        build()


def test_simulate_session_keeps_the_policy_blind_to_the_users() -> None:
    # Regression: seeding Thompson sampling with the users' seed made its first posterior sample equal to the user
    # (both draw Gamma variates with the prior's shapes), so it "found" the favourite of picky users at once.
    # With 30 items, 5 steps and α = 0.1, a policy that cannot see the user is far below the oracle.
    config = EnvConfig(n_items=30, session_length=5, alpha=0.1)
    summary = simulate_session("thompson", config, n_users=400, seed=0)
    assert summary.percent_of_oracle < 40.0
