"""Deprecated path, kept for one release: use recbook.viz.figures (drawing) and recbook.viz.compute (numbers)."""

from __future__ import annotations

from recbook.viz.compute import cumulative_regret, mean_band, preference_rank_by_step
from recbook.viz.figures import (
    plot_cumulative_regret,
    plot_performance_profile,
    plot_rank_heatmaps,
    plot_sensitivity,
)

__all__ = [
    "preference_rank_by_step",
    "plot_rank_heatmaps",
    "cumulative_regret",
    "mean_band",
    "plot_cumulative_regret",
    "plot_performance_profile",
    "plot_sensitivity",
]
