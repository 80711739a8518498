"""The ipywidgets experiments the chapters display: controls -> compute -> draw, and nothing else.

Two kinds of widget live here, and the chapters only call the functions that build them:

* **Panel explorers** (:func:`alpha_explorer`, :func:`decay_explorer`, :func:`leave_rate_explorer`, and
  :func:`recbook.viz.playground.playground_panels`) work in the static HTML book, where no Python kernel runs.
  Every panel is computed in advance and rendered to PNG bytes; a ``SelectionSlider`` is linked to a ``Stack`` of
  ``Image`` widgets *in the browser* with ``widgets.jslink((slider, "index"), (stack, "selected_index"))``, so
  moving the slider switches panels with no round trip to Python. The cost is that only the precomputed settings
  exist; keep the grids small (at most :data:`MAX_PANELS` panels at a modest DPI), because every panel is stored
  in the notebook.
* **The live dashboard** (:func:`recbook.viz.playground.playground`) needs a running kernel (JupyterLab): every
  control change simulates a fresh batch of users in Python and replaces the dashboard's ``Image``. (An ``Image``
  rather than ``interactive_output``'s ``Output`` widget: its initial figure is saved in the widget state like any
  panel, so the static book shows it, and re-executing the notebook gives identical cell outputs.)

The numbers come from :mod:`recbook.viz.compute` and the simulator, the drawing from :mod:`recbook.viz.panels` and
:mod:`recbook.viz.figures`. Everything is seeded: the same arguments always give the same panels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from recbook import seeds
from recbook._checks import check_int, check_real, check_reals
from recbook.config import EnvConfig
from recbook.evaluation import sample_users
from recbook.response import DecayModel
from recbook.users import sample_preferences, validate_alpha
from recbook.viz.compute import oracle_counts
from recbook.viz.figures import draw_leave_rate
from recbook.viz.panels import draw_alpha_panel, draw_decay_panel, grid_label
from recbook.viz.style import (
    ALPHA_PANEL_SIZE,
    DECAY_PANEL_SIZE,
    LEAVE_PANEL_SIZE,
    book_style,
    check_dpi,
    figure_to_png,
)

__all__ = [
    "DEFAULT_ALPHAS",
    "DEFAULT_DECAY_RATES",
    "MAX_PANELS",
    "PanelExplorer",
    "Playground",
    "alpha_explorer",
    "decay_explorer",
    "check_grid",
    "leave_rate_explorer",
    "panel_explorer",
    "playground",
    "playground_panels",
]

#: The most panels one explorer may hold (each is a PNG stored in the notebook's widget state).
MAX_PANELS = 12
#: The α grid of chapter 1's explorer, from "loves one item" (0.1) to "likes everything" (10).
DEFAULT_ALPHAS: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
#: Geometric decay rates of chapter 2's explorer; 1.0 means no decay at all.
DEFAULT_DECAY_RATES: tuple[float, ...] = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_grid(name: str, values: object, low: float, high: float, low_inclusive: bool = False) -> tuple[float, ...]:
    """A non-empty, duplicate-free sequence of at most MAX_PANELS numbers inside (low, high]."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}")
    if not 1 <= len(values) <= MAX_PANELS:
        raise ValueError(f"{name} must hold between 1 and {MAX_PANELS} values, got {len(values)}")
    if any(isinstance(value, (bool, np.bool_)) for value in values):
        raise ValueError(f"{name} must hold numbers, not booleans, got {list(values)!r}")
    grid = tuple(check_reals(values, name, low, high, low_open=not low_inclusive, shape=(None,)).tolist())
    if len(set(grid)) != len(grid):
        raise ValueError(f"{name} must not repeat values, got {list(values)!r}")
    return grid


class PanelExplorer(widgets.VBox):
    """A slider that switches precomputed image panels in the browser, with no kernel.

    Args:
        labels: one slider label per panel (unique strings, shown as the slider's readout).
        images: one PNG (bytes) per panel, in the same order.
        description: the slider's description, e.g. ``"α"``.
        index: the panel shown first.
        data: optional table of the numbers behind the panels (kept on the Python side only, for the chapter).

    Attributes:
        slider: the ``SelectionSlider`` whose ``index`` selects the panel.
        stack: the ``Stack`` of ``Image`` widgets, one per panel.
        link: the client-side ``Link`` from ``(slider, "index")`` to ``(stack, "selected_index")``.
        labels: the slider labels, a tuple of strings.
        data: the table passed as ``data`` (or ``None``).
    """

    def __init__(
        self,
        labels: Sequence[str],
        images: Sequence[bytes],
        description: str,
        index: int = 0,
        data: pd.DataFrame | None = None,
    ) -> None:
        labels = tuple(str(label) for label in labels)
        if not labels or len(labels) != len(images):
            raise ValueError(
                f"labels and images must be non-empty and of equal length, got {len(labels)} and {len(images)}"
            )
        if len(labels) > MAX_PANELS:
            raise ValueError(f"at most {MAX_PANELS} panels, got {len(labels)}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be unique, got {labels}")
        if any(not isinstance(png, bytes) or not png.startswith(_PNG_SIGNATURE) for png in images):
            raise ValueError("images must be PNG bytes")
        index = check_int(index, "index", 0, len(labels) - 1)
        self.slider = widgets.SelectionSlider(
            options=labels,
            value=labels[index],
            description=description,
            continuous_update=True,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="420px", max_width="100%"),
        )
        panels = [
            widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%", height="auto"))
            for png in images
        ]
        self.stack = widgets.Stack(panels, selected_index=index)
        # The link lives in the browser (a LinkModel in the saved widget state): the static book switches panels
        # without Python.
        self.link = widgets.jslink((self.slider, "index"), (self.stack, "selected_index"))
        self.labels = labels
        self.data = data
        super().__init__([self.slider, self.stack])

    def __repr__(self) -> str:
        return f"PanelExplorer({self.slider.description!r}, {len(self.labels)} panels: {', '.join(self.labels)})"


def panel_explorer(
    values: Sequence[float],
    draw: Callable[[Figure, float], None],
    description: str,
    figsize: tuple[float, float],
    dpi: int,
    start: float | None,
    data: pd.DataFrame | None = None,
) -> PanelExplorer:
    """Draw one figure per grid value with ``draw(fig, value)`` and wrap the PNGs in a :class:`PanelExplorer`."""
    images = []
    with book_style():
        for value in values:
            fig = Figure(figsize=figsize, layout="constrained")
            draw(fig, value)
            images.append(figure_to_png(fig, dpi=dpi))
    index = 0
    if start is not None:
        if start not in values:
            raise ValueError(f"start must be one of {list(values)}, got {start!r}")
        index = list(values).index(start)
    return PanelExplorer([grid_label(v) for v in values], images, description, index=index, data=data)


# -- chapter 1: the Dirichlet user model ----------------------------------------------------------------------------
def alpha_explorer(
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    n_items: int = 10,
    n_users: int = 6,
    seed: int = 0,
    start: float | None = None,
    dpi: int = 90,
) -> PanelExplorer:
    """Chapter 1's α experiment: sampled users for each concentration α, switched by a slider.

    Each panel shows ``n_users`` users drawn from the symmetric ``Dirichlet(α)`` over ``n_items`` items
    (:func:`~recbook.viz.panels.draw_alpha_panel`). Axes are fixed across panels so the eye can compare.

    Args:
        alphas: the α values, one panel each (positive, at most :data:`MAX_PANELS`).
        n_items: number of items (2..50).
        n_users: users per panel (1..20).
        seed: which users: every panel draws them from ``seeds.generator(seed, TEST, "users")``, so the panels
            differ only by α.
        start: the α shown first (must be in ``alphas``; ``None`` for the first).
        dpi: resolution of the PNG panels.
    """
    grid = check_grid("alphas", alphas, 0.0, 1e4)
    n_items = check_int(n_items, "n_items", 2, 50)
    n_users = check_int(n_users, "n_users", 1, 20)
    check_dpi(dpi)

    def draw(fig: Figure, alpha: float) -> None:
        rng = seeds.generator(seed, seeds.TEST, "users")
        draw_alpha_panel(fig, sample_preferences(rng, validate_alpha(alpha, n_items), size=n_users), alpha)

    return panel_explorer(grid, draw, "concentration α", figsize=ALPHA_PANEL_SIZE, dpi=dpi, start=start)


# -- chapter 2: engagement and diminishing returns ----------------------------------------------------------------
def decay_explorer(
    decay_rates: Sequence[float] = DEFAULT_DECAY_RATES,
    n_items: int = 10,
    session_length: int = 20,
    alpha: float = 1.0,
    seed: int = 0,
    start: float | None = None,
    dpi: int = 90,
) -> PanelExplorer:
    """Chapter 2's decay-rate experiment: geometric decay against the harmonic original, one panel per rate.

    Left: the decay multiplier ``m(k)``, the value of the k-th recommendation of an item relative to the first,
    for the geometric model at the panel's rate and for the harmonic model (the same in every panel). Right: how
    the oracle spreads ``session_length`` recommendations over the items of one example user (items ordered
    from the user's favourite down; the same user in every panel) under each model, with the oracle's return.

    Args:
        decay_rates: geometric rates in ``(0, 1]``, one panel each (at most :data:`MAX_PANELS`).
        n_items: number of items (2..30).
        session_length: recommendations per session (1..100).
        alpha: symmetric Dirichlet concentration of the example user (positive).
        seed: seed of the example user.
        start: the rate shown first (must be in ``decay_rates``; ``None`` for the first).
        dpi: resolution of the PNG panels.
    """
    grid = check_grid("decay_rates", decay_rates, 0.0, 1.0)
    n_items = check_int(n_items, "n_items", 2, 30)
    session_length = check_int(session_length, "session_length", 1, 100)
    check_real(alpha, "alpha")
    validate_alpha(alpha, n_items)
    check_dpi(dpi)
    k = np.arange(1, session_length + 1)
    harmonic = EnvConfig(n_items=n_items, session_length=session_length, alpha=float(alpha), decay="harmonic")
    user = -np.sort(-sample_users(harmonic, 1, seed)[0])  # item 0 is the favourite: bars read from favourite down
    harmonic_counts, harmonic_return = oracle_counts(user[None], harmonic)
    # Every panel's oracle, computed once: draw() below only reads it, so panels can be drawn in any order.
    oracle = {rate: oracle_counts(user[None], harmonic.replace(decay="geometric", decay_rate=rate)) for rate in grid}

    def draw(fig: Figure, rate: float) -> None:
        counts, total = oracle[rate]
        draw_decay_panel(
            fig,
            rate,
            multipliers={
                "harmonic": DecayModel("harmonic").multiplier(k),
                "geometric": harmonic.replace(decay="geometric", decay_rate=rate).decay_model.multiplier(k),
            },
            counts={"harmonic": harmonic_counts[0], "geometric": counts[0]},
            returns={"harmonic": harmonic_return[0], "geometric": total[0]},
        )

    data = pd.DataFrame(
        [
            {"decay_rate": rate, "distinct_items": int((counts[0] > 0).sum()), "oracle_return": float(total[0])}
            for rate, (counts, total) in oracle.items()
        ]
    )
    return panel_explorer(grid, draw, "geometric decay rate", figsize=DECAY_PANEL_SIZE, dpi=dpi, start=start,
                           data=data)


# -- chapter 9: the leave-rate sweep -------------------------------------------------------------------------------
def leave_rate_explorer(table: pd.DataFrame, start: float | None = None, dpi: int = 80) -> PanelExplorer:
    """One precomputed panel per leave rate of ``table`` (:func:`~recbook.viz.compute.leave_rate_sweep`)."""
    rates = [float(r) for r in np.sort(table["leave_rate"].unique())]
    if len(rates) > MAX_PANELS:
        raise ValueError(f"at most {MAX_PANELS} leave rates, got {len(rates)}")
    # The panel shown first is the grid's nearest rate to ``start`` (the sweep's rates are not always round).
    first = None if start is None else rates[int(np.argmin(np.abs(np.asarray(rates) - start)))]

    def draw(fig: Figure, rate: float) -> None:
        draw_leave_rate(fig, table, rate)

    return panel_explorer(rates, draw, "leave rate λ", figsize=LEAVE_PANEL_SIZE, dpi=dpi, start=first, data=table)
