"""The book's look in one place: the seaborn style of every panel, the colour maps and palettes, the figure sizes.

Figures built here stay comparable across chapters because they share these names: a policy has the same colour in
every panel of an explorer (:func:`policy_palette`), shares of users are always shaded with :data:`SHARE_CMAP`, and
:func:`book_style` applies the chapters' theme to panels whatever the caller's global theme is.
:func:`figure_to_png` renders a figure to bytes that depend only on the drawing, so re-executing a chapter gives
identical panels.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import seaborn as sns
from matplotlib.figure import Figure

from recbook._checks import check_int

__all__ = [
    "ALPHA_PANEL_SIZE",
    "DECAY_PANEL_SIZE",
    "LEAVE_PANEL_SIZE",
    "PLAYGROUND_PANEL_SIZE",
    "POLICY_PALETTE",
    "PROFILE_SIZE",
    "RANK_HEATMAP_SIZE",
    "RANK_CMAP",
    "REGRET_PALETTE",
    "REGRET_SIZE",
    "SENSITIVITY_CMAP",
    "SENSITIVITY_SIZE",
    "SESSION_PANEL_SIZE",
    "SHARE_CMAP",
    "book_style",
    "check_dpi",
    "figure_to_png",
    "policy_palette",
]

#: Colour map of the preference heatmaps (users x items and ranks x steps); dark means a large share or preference.
RANK_CMAP = "rocket_r"
#: Colour map of the live playground's "share of users" heatmap.
SHARE_CMAP = "mako_r"
#: Colour map of a sweep's sensitivity heatmap.
SENSITIVITY_CMAP = "viridis"
#: Palette that gives every policy of a panel its own colour, readable by colour-blind readers.
POLICY_PALETTE = "colorblind"
#: Default palette of the cumulative-regret lines (chapter 4).
REGRET_PALETTE = "tab10"

#: Figure sizes in inches, as (width, height), one per kind of figure, so every panel of a slider has the same frame.
ALPHA_PANEL_SIZE: tuple[float, float] = (10.0, 3.6)
DECAY_PANEL_SIZE: tuple[float, float] = (10.5, 3.8)
SESSION_PANEL_SIZE: tuple[float, float] = (10.5, 3.8)
PLAYGROUND_PANEL_SIZE: tuple[float, float] = (11.0, 3.8)
LEAVE_PANEL_SIZE: tuple[float, float] = (10.0, 3.6)
REGRET_SIZE: tuple[float, float] = (8, 4.2)
#: One policy's panel of the rank heatmaps; the figure is this times (columns, rows).
RANK_HEATMAP_SIZE: tuple[float, float] = (4.3, 3.4)
PROFILE_SIZE: tuple[float, float] = (7.5, 3.8)
SENSITIVITY_SIZE: tuple[float, float] = (5.2, 3.8)


@contextmanager
def book_style() -> Iterator[None]:
    """The chapters' seaborn look, applied to panels whatever the caller's global theme is."""
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook"):
        yield


def policy_palette(names: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per policy name, in order, from :data:`POLICY_PALETTE` (the same policy, the same colour)."""
    return dict(zip(names, sns.color_palette(POLICY_PALETTE, len(names))))


def check_dpi(dpi: object) -> int:
    """A PNG resolution the book can store: an integer in ``[30, 300]``."""
    return check_int(dpi, "dpi", 30, 300)


def figure_to_png(fig: Figure, dpi: int = 90) -> bytes:
    """Render a matplotlib figure to PNG bytes in memory.

    ``metadata={"Software": None}`` drops matplotlib's version stamp, so the bytes depend only on the drawing.
    The figure is not shown: panels are built with :class:`matplotlib.figure.Figure` (not ``pyplot``), which the
    notebook's inline backend never displays on its own.
    """
    check_dpi(dpi)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
