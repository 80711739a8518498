"""Chapter 13's playground: the live dashboard (:func:`playground`) and its static twin (:func:`playground_panels`).

Wiring only: the controls choose a setting, :func:`recbook.viz.compute.simulate_session` runs a policy and the
oracle on the same users, and :func:`recbook.viz.panels.draw_session` (live) or
:func:`recbook.viz.panels.draw_playground_panel` (static) draw the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd
from matplotlib.figure import Figure

from recbook._checks import check_int
from recbook.config import EnvConfig
from recbook.policies import POLICIES
from recbook.response import DECAYS, FEEDBACKS
from recbook.viz.compute import simulate_session
from recbook.viz.panels import draw_playground_panel, draw_session
from recbook.viz.style import (
    PLAYGROUND_PANEL_SIZE,
    SESSION_PANEL_SIZE,
    book_style,
    check_dpi,
    figure_to_png,
    policy_palette,
)
from recbook.viz.widgets import PanelExplorer, check_grid, panel_explorer

__all__ = ["PLAYGROUND_POLICIES", "Playground", "playground", "playground_panels"]

#: Policies the playground offers (names of :data:`~recbook.policies.registry.POLICIES`); the oracle is always the
#: reference.
PLAYGROUND_POLICIES: tuple[str, ...] = (
    "random",
    "round-robin",
    "explore-once",
    "epsilon-greedy",
    "ucb",
    "thompson",
    "bayes-greedy",
)


def _check_policies(policies: Sequence[str]) -> None:
    if isinstance(policies, str) or not policies or any(p not in POLICIES or p == "oracle" for p in policies):
        raise ValueError(f"policies must be names from {sorted(set(POLICIES) - {'oracle'})}, got {policies!r}")


def _check_config(config: EnvConfig | None) -> EnvConfig:
    config = EnvConfig() if config is None else config
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig or None, got {type(config).__name__}")
    return config


class Playground(widgets.VBox):
    """The live dashboard: controls on top, the simulated result below (needs a running kernel to update).

    Attributes:
        controls: the control widgets by name (``policy``, ``feedback``, ``decay``, ``alpha``, ``decay_rate``,
            ``n_items``, ``session_length``).
        image: the ``Image`` widget holding the current figure (PNG); every control change redraws it.
        n_users: users simulated per update.
    """

    def __init__(
        self,
        controls: dict[str, widgets.Widget],
        render: Callable[[dict[str, Any]], bytes],
        n_users: int,
    ) -> None:
        self.controls = controls
        self.n_users = n_users
        self._render = render
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self.refresh()
        for control in controls.values():
            control.observe(self.refresh, names="value")
        row1 = widgets.HBox([controls["policy"], controls["feedback"], controls["decay"]])
        row2 = widgets.HBox([controls["alpha"], controls["decay_rate"]])
        row3 = widgets.HBox([controls["n_items"], controls["session_length"]])
        super().__init__([row1, row2, row3, self.image])

    def refresh(self, change: Any = None) -> None:
        """Simulate the current setting and show it (called on every control change)."""
        self.image.value = self._render({name: control.value for name, control in self.controls.items()})

    def __repr__(self) -> str:
        return f"Playground({', '.join(self.controls)}; {self.n_users} users per update)"


def playground(
    config: EnvConfig | None = None,
    policy: str = "bayes-greedy",
    policies: Sequence[str] = PLAYGROUND_POLICIES,
    n_users: int = 300,
    seed: int = 0,
    dpi: int = 80,
) -> Playground:
    """Chapter 13's live dashboard for JupyterLab: move a control, a new batch of users is simulated.

    Controls: the policy, the feedback (expected engagement or clicks), the decay model, α (log scale), the
    geometric decay rate, ``n_items`` and ``session_length``. Sliders update when released, so the kernel is not
    flooded. Each update runs the policy and the oracle on the same ``n_users`` users
    (:func:`~recbook.viz.compute.simulate_session`) and shows the return, the percent of oracle, a heatmap of which
    preference rank the
    policy recommends at each step, and the mean reward per step against the oracle's.

    In the static book the dashboard shows the figure of its initial setting only (no Python runs there to
    simulate a new one); use :func:`playground_panels` there.

    Args:
        config: the initial setting (default ``EnvConfig()``, the original: 10 items, 20 steps, α = 1, harmonic).
            Its α must be symmetric (one number).
        policy: the policy selected first (one of ``policies``).
        policies: the policies offered (names from :data:`~recbook.policies.registry.POLICIES`, not the oracle).
        n_users: users simulated per update (1..5000; a few hundred keeps it responsive).
        seed: seed of the users and of the policies' generators.
        dpi: resolution of the figure.
    """
    config = _check_config(config)
    if not isinstance(config.alpha, float):
        raise ValueError("config.alpha must be one number (a symmetric Dirichlet) for the playground")
    _check_policies(policies)
    if policy not in policies:
        raise ValueError(f"policy must be one of policies={list(policies)}, got {policy!r}")
    n_users = check_int(n_users, "n_users", 1, 5000)
    dpi = check_dpi(dpi)
    if not 0.1 <= config.alpha <= 10.0:
        raise ValueError(f"config.alpha must be in [0.1, 10] for the playground's slider, got {config.alpha}")
    if config.n_items > 30 or config.session_length > 60:
        raise ValueError("the playground's sliders allow n_items <= 30 and session_length <= 60")
    sliders = {"continuous_update": False, "style": {"description_width": "initial"}}
    controls: dict[str, widgets.Widget] = {
        "policy": widgets.Dropdown(options=list(policies), value=policy, description="policy"),
        "feedback": widgets.Dropdown(options=list(FEEDBACKS), value=config.feedback, description="feedback"),
        "decay": widgets.Dropdown(options=list(DECAYS), value=config.decay, description="decay"),
        "alpha": widgets.FloatLogSlider(
            value=config.alpha, base=10, min=-1, max=1, step=0.1, description="concentration α", **sliders
        ),
        "decay_rate": widgets.FloatSlider(
            value=config.decay_rate, min=0.1, max=1.0, step=0.05, description="decay rate (geometric)", **sliders
        ),
        "n_items": widgets.IntSlider(value=config.n_items, min=2, max=30, description="items N", **sliders),
        "session_length": widgets.IntSlider(
            value=config.session_length, min=1, max=60, description="session length T", **sliders
        ),
    }

    def render(values: dict[str, Any]) -> bytes:
        values = dict(values)
        chosen = values.pop("policy")
        summary = simulate_session(chosen, config.replace(**values), n_users=n_users, seed=seed)
        with book_style():
            fig = Figure(figsize=SESSION_PANEL_SIZE, layout="constrained")
            draw_session(fig, summary)
            return figure_to_png(fig, dpi=dpi)

    return Playground(controls, render, n_users)


def playground_panels(
    alphas: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0),
    policies: Sequence[str] = ("random", "round-robin", "explore-once", "thompson", "bayes-greedy"),
    config: EnvConfig | None = None,
    n_users: int = 500,
    seed: int = 0,
    start: float | None = None,
    dpi: int = 80,
) -> PanelExplorer:
    """Chapter 13's static playground: every policy against the oracle, one panel per α, switched in the browser.

    Each panel shows, for the α of the slider, the percent of oracle of each policy (left) and the mean reward
    per step of each policy and of the oracle (right), all on the same ``n_users`` users. The numbers behind the
    panels are in the explorer's ``data`` attribute: a DataFrame with columns ``alpha``, ``policy``,
    ``mean_return``, ``oracle_return``, ``percent_of_oracle``.

    Args:
        alphas: symmetric concentrations, one panel each (positive, at most :data:`~recbook.viz.widgets.MAX_PANELS`).
        policies: policy names from :data:`~recbook.policies.registry.POLICIES` (not the oracle, which is the
            reference).
        config: everything else about the environment (default ``EnvConfig()``); its α is replaced.
        n_users: users per setting (1..20000).
        seed: seed of the users and the policies.
        start: the α shown first (must be in ``alphas``; ``None`` for the first).
        dpi: resolution of the panels.
    """
    grid = check_grid("alphas", alphas, 0.0, 1e4)
    config = _check_config(config)
    _check_policies(policies)
    n_users = check_int(n_users, "n_users", 1, 20_000)
    summaries = {
        alpha: [simulate_session(p, config.replace(alpha=alpha), n_users=n_users, seed=seed) for p in policies]
        for alpha in grid
    }
    data = pd.DataFrame(
        [
            {
                "alpha": alpha,
                "policy": s.policy,
                "mean_return": s.mean_return,
                "oracle_return": s.oracle_return,
                "percent_of_oracle": s.percent_of_oracle,
            }
            for alpha, rows in summaries.items()
            for s in rows
        ]
    )
    palette = policy_palette(policies)

    def draw(fig: Figure, alpha: float) -> None:
        draw_playground_panel(fig, data[data["alpha"] == alpha], summaries[alpha], alpha, palette)

    return panel_explorer(grid, draw, "concentration α", figsize=PLAYGROUND_PANEL_SIZE, dpi=dpi, start=start,
                          data=data)
