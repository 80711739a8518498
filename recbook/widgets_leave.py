"""Deprecated path, kept for one release: use recbook.viz.compute.leave_rate_sweep,
recbook.viz.figures.draw_leave_rate and recbook.viz.widgets.leave_rate_explorer."""

from __future__ import annotations

from recbook.viz.compute import DEFAULT_LEAVE_RATES, LEAVE_POLICIES, leave_rate_sweep
from recbook.viz.figures import draw_leave_rate
from recbook.viz.widgets import leave_rate_explorer

__all__ = ["DEFAULT_LEAVE_RATES", "LEAVE_POLICIES", "draw_leave_rate", "leave_rate_explorer", "leave_rate_sweep"]
