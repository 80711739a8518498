"""Deprecated path, kept for one release: use recbook.viz.widgets, recbook.viz.playground and recbook.viz.compute."""

from __future__ import annotations

from recbook.viz.compute import SessionSummary, simulate_session
from recbook.viz.playground import PLAYGROUND_POLICIES, Playground, playground, playground_panels
from recbook.viz.style import figure_to_png
from recbook.viz.widgets import (
    DEFAULT_ALPHAS,
    DEFAULT_DECAY_RATES,
    MAX_PANELS,
    PanelExplorer,
    alpha_explorer,
    decay_explorer,
)

__all__ = [
    "DEFAULT_ALPHAS",
    "DEFAULT_DECAY_RATES",
    "MAX_PANELS",
    "PLAYGROUND_POLICIES",
    "PanelExplorer",
    "Playground",
    "SessionSummary",
    "alpha_explorer",
    "decay_explorer",
    "figure_to_png",
    "playground",
    "playground_panels",
    "simulate_session",
]
