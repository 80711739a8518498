"""The ipywidgets experiments the chapters display.

Two kinds of widget live here, and the chapters only call the functions that build them:

* **Panel explorers** (:func:`alpha_explorer`, :func:`decay_explorer`, :func:`playground_panels`) work in the static
  HTML book, where no Python kernel runs. Every panel is computed in advance and rendered to PNG bytes; a
  ``SelectionSlider`` is linked to a ``Stack`` of ``Image`` widgets *in the browser* with
  ``widgets.jslink((slider, "index"), (stack, "selected_index"))``, so moving the slider switches panels with no
  round trip to Python. The cost is that only the precomputed settings exist; keep the grids small (at most
  :data:`MAX_PANELS` panels at a modest DPI), because every panel is stored in the notebook.
* **The live dashboard** (:func:`playground`) needs a running kernel (JupyterLab): every control change
  simulates a fresh batch of users in Python and replaces the dashboard's ``Image``. (An ``Image`` rather than
  ``interactive_output``'s ``Output`` widget: its initial figure is saved in the widget state like any panel, so the
  static book shows it, and re-executing the notebook gives identical cell outputs.)

Everything is seeded: the same arguments always give the same panels.
"""

from __future__ import annotations

import io
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from recbook.config import EnvConfig
from recbook import seeds
from recbook.evaluation import rollout, run_policy, sample_users
from recbook.metrics import pct_oracle, recommendation_counts, session_return
from recbook.plots import preference_rank_by_step
from recbook.response import DECAYS, FEEDBACKS, DecayModel
from recbook.users import sample_preferences, validate_alpha

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

#: The most panels one explorer may hold (each is a PNG stored in the notebook's widget state).
MAX_PANELS = 12
#: The α grid of chapter 1's explorer, from "loves one item" (0.1) to "likes everything" (10).
DEFAULT_ALPHAS: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
#: Geometric decay rates of chapter 2's explorer; 1.0 means no decay at all.
DEFAULT_DECAY_RATES: tuple[float, ...] = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: Policies the playground offers (names of :data:`recbook.policies.POLICIES`); the oracle is always the reference.
PLAYGROUND_POLICIES: tuple[str, ...] = (
    "random",
    "round-robin",
    "explore-once",
    "epsilon-greedy",
    "ucb",
    "thompson",
    "bayes-greedy",
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- shared helpers ------------------------------------------------------------------------------------------------
@contextmanager
def _book_style() -> Iterator[None]:
    """The chapters' seaborn look, applied to panels whatever the caller's global theme is."""
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook"):
        yield


def figure_to_png(fig: Figure, dpi: int = 90) -> bytes:
    """Render a matplotlib figure to PNG bytes in memory.

    ``metadata={"Software": None}`` drops matplotlib's version stamp, so the bytes depend only on the drawing.
    The figure is not shown: panels are built with :class:`matplotlib.figure.Figure` (not ``pyplot``), which the
    notebook's inline backend never displays on its own.
    """
    _check_dpi(dpi)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def _check_dpi(dpi: object) -> int:
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Integral) or not 30 <= dpi <= 300:
        raise ValueError(f"dpi must be an integer in [30, 300], got {dpi!r}")
    return int(dpi)


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return int(value)


def _check_grid(name: str, values: object, low: float, high: float, low_inclusive: bool = False) -> tuple[float, ...]:
    """A non-empty, duplicate-free sequence of at most MAX_PANELS numbers inside (low, high]."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}")
    if not 1 <= len(values) <= MAX_PANELS:
        raise ValueError(f"{name} must hold between 1 and {MAX_PANELS} values, got {len(values)}")
    grid = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"{name} must hold finite numbers, got {value!r}")
        inside = (value >= low if low_inclusive else value > low) and value <= high
        if not inside:
            opening = "[" if low_inclusive else "("
            raise ValueError(f"every value of {name} must be in {opening}{low}, {high}], got {value}")
        grid.append(float(value))
    if len(set(grid)) != len(grid):
        raise ValueError(f"{name} must not repeat values, got {list(values)!r}")
    return tuple(grid)


def _label(value: float) -> str:
    """Slider label of a grid value: ``0.1``, ``1``, ``10``."""
    return f"{value:g}"


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
        index = _check_int("index", index, 0, len(labels) - 1)
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


def _panel_explorer(
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
    with _book_style():
        for value in values:
            fig = Figure(figsize=figsize, layout="constrained")
            draw(fig, value)
            images.append(figure_to_png(fig, dpi=dpi))
    index = 0
    if start is not None:
        if start not in values:
            raise ValueError(f"start must be one of {list(values)}, got {start!r}")
        index = values.index(start)
    return PanelExplorer([_label(v) for v in values], images, description, index=index, data=data)


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

    Each panel shows ``n_users`` users drawn from the symmetric ``Dirichlet(α)`` over ``n_items`` items: on the
    left as a heatmap (user × item, colour = preference), on the right each user's preferences sorted from the
    favourite item down, against the flat line ``1/n_items``. Axes are fixed across panels so the eye can compare.

    Args:
        alphas: the α values, one panel each (positive, at most :data:`MAX_PANELS`).
        n_items: number of items (2..50).
        n_users: users per panel (1..20).
        seed: which users: every panel draws them from ``seeds.generator(seed, TEST, "users")``, so the panels
            differ only by α.
        start: the α shown first (must be in ``alphas``; ``None`` for the first).
        dpi: resolution of the PNG panels.
    """
    grid = _check_grid("alphas", alphas, 0.0, 1e4)
    n_items = _check_int("n_items", n_items, 2, 50)
    n_users = _check_int("n_users", n_users, 1, 20)
    _check_dpi(dpi)
    ranks = np.arange(1, n_items + 1)

    def draw(fig: Figure, alpha: float) -> None:
        rng = seeds.generator(seed, seeds.TEST, "users")
        preferences = sample_preferences(rng, validate_alpha(alpha, n_items), size=n_users)
        left, right = fig.subplots(1, 2, width_ratios=(1.1, 1.0))
        sns.heatmap(
            preferences,
            ax=left,
            vmin=0.0,
            vmax=1.0,
            cmap="rocket_r",
            linewidths=0.5,
            xticklabels=list(range(n_items)),
            yticklabels=[str(u + 1) for u in range(n_users)],
            cbar_kws={"label": "preference p[a]"},
        )
        left.set(xlabel="item a", ylabel="user")
        left.tick_params(axis="y", rotation=0)
        ordered = -np.sort(-preferences, axis=1)
        tidy = pd.DataFrame(
            {
                "rank": np.tile(ranks, n_users),
                "preference": ordered.ravel(),
                "user": np.repeat(np.arange(n_users), n_items),
            }
        )
        sns.lineplot(
            data=tidy,
            x="rank",
            y="preference",
            hue="user",
            palette="crest",
            marker="o",
            linewidth=1.8,
            legend=False,
            ax=right,
        )
        right.axhline(1.0 / n_items, color="0.3", linestyle="--", linewidth=1.2, label=f"flat user, 1/{n_items}")
        right.set(xlabel="item rank for this user (1 = favourite)", ylabel="preference p", ylim=(0.0, 1.0))
        right.set_xticks(ranks)
        right.legend(loc="upper right", frameon=True)
        right.text(0.97, 0.78, f"α = {_label(alpha)}", transform=right.transAxes, ha="right", fontsize=13)

    return _panel_explorer(grid, draw, "concentration α", figsize=(10.0, 3.6), dpi=dpi, start=start)


# -- chapter 2: engagement and diminishing returns ----------------------------------------------------------------
def _oracle_counts(
    preferences: NDArray[np.float64], config: EnvConfig
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """How often the oracle recommends each item to each user, and its return: shapes ``(K, n)`` and ``(K,)``."""
    from recbook.policies import Oracle  # policies depend on the simulator only; import late to keep this light

    result = rollout(Oracle(config), config, preferences)
    return recommendation_counts(result.actions, config.n_items), session_return(result.engagement)


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
    grid = _check_grid("decay_rates", decay_rates, 0.0, 1.0)
    n_items = _check_int("n_items", n_items, 2, 30)
    session_length = _check_int("session_length", session_length, 1, 100)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")
    validate_alpha(alpha, n_items)
    _check_dpi(dpi)
    k = np.arange(1, session_length + 1)
    harmonic = EnvConfig(n_items=n_items, session_length=session_length, alpha=float(alpha), decay="harmonic")
    user = -np.sort(-sample_users(harmonic, 1, seed)[0])  # item 0 is the favourite: bars read from favourite down
    harmonic_counts, harmonic_return = _oracle_counts(user[None], harmonic)
    # Every panel's oracle, computed once: draw() below only reads it, so panels can be drawn in any order.
    oracle = {rate: _oracle_counts(user[None], harmonic.replace(decay="geometric", decay_rate=rate)) for rate in grid}

    def draw(fig: Figure, rate: float) -> None:
        geometric = harmonic.replace(decay="geometric", decay_rate=rate)
        counts, total = oracle[rate]
        left, right = fig.subplots(1, 2)
        curves = pd.DataFrame(
            {
                "k": np.concatenate([k, k]),
                "multiplier": np.concatenate(
                    [DecayModel("harmonic").multiplier(k), geometric.decay_model.multiplier(k)]
                ),
                "decay": ["harmonic 1/k"] * len(k) + [f"geometric {_label(rate)}^(k-1)"] * len(k),
            }
        )
        sns.lineplot(
            data=curves, x="k", y="multiplier", hue="decay", palette=["0.45", "C1"], marker="o", linewidth=2, ax=left
        )
        left.set(
            xlabel="k-th recommendation of the same item", ylabel="value relative to the first, m(k)", ylim=(0, 1.05)
        )
        left.xaxis.set_major_locator(MaxNLocator(integer=True))
        left.legend(title=None, loc="upper right")
        bars = pd.DataFrame(
            {
                "item": np.concatenate([np.arange(1, n_items + 1)] * 2),
                "recommendations": np.concatenate([harmonic_counts[0], counts[0]]),
                "decay": [f"harmonic (return {harmonic_return[0]:.2f})"] * n_items
                + [f"geometric {_label(rate)} (return {total[0]:.2f})"] * n_items,
            }
        )
        sns.barplot(data=bars, x="item", y="recommendations", hue="decay", palette=["0.6", "C1"], ax=right)
        right.set(
            xlabel="item, by the example user's preference (1 = favourite)",
            ylabel="oracle's recommendations per session",
            ylim=(0, session_length + 0.5),
        )
        right.yaxis.set_major_locator(MaxNLocator(integer=True))
        right.legend(title=None, loc="upper right")

    data = pd.DataFrame(
        [
            {"decay_rate": rate, "distinct_items": int((counts[0] > 0).sum()), "oracle_return": float(total[0])}
            for rate, (counts, total) in oracle.items()
        ]
    )
    return _panel_explorer(grid, draw, "geometric decay rate", figsize=(10.5, 3.8), dpi=dpi, start=start, data=data)


# -- chapter 10: the playground ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionSummary:
    """What a policy did for a batch of users, next to the oracle on the same users.

    Attributes:
        policy: the policy's name.
        config: the environment.
        mean_return: the policy's mean return per session.
        oracle_return: the oracle's mean return on the same users.
        percent_of_oracle: ``100 * mean_return / oracle_return``.
        step_reward: the policy's mean reward at each step, shape ``(T,)``.
        oracle_step_reward: the oracle's mean reward at each step, shape ``(T,)``.
        rank_share: share of users whose step-``t`` recommendation was their rank-``r`` item (``r = 0`` is the
            favourite), shape ``(n_items, T)``; each column sums to 1.
    """

    policy: str
    config: EnvConfig
    mean_return: float
    oracle_return: float
    percent_of_oracle: float
    step_reward: NDArray[np.float64]
    oracle_step_reward: NDArray[np.float64]
    rank_share: NDArray[np.float64]


def simulate_session(policy: str, config: EnvConfig, n_users: int = 300, seed: int = 0) -> SessionSummary:
    """Run ``policy`` and the oracle on the same ``n_users`` users (common random numbers) and summarise.

    The users, clicks and policy coins are those of ``evaluate({policy: ...}, config, n_users, seed)``
    (:mod:`recbook.seeds` streams), so the summary is reproducible and agrees with the chapters' tables; the policy's
    random draws are independent of the users'.
    """
    from recbook.policies import POLICIES, Oracle, make_policy

    if policy not in POLICIES or policy == "oracle":
        raise ValueError(f"policy must be one of {sorted(set(POLICIES) - {'oracle'})}, got {policy!r}")
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    n_users = _check_int("n_users", n_users, 1, 100_000)
    users = sample_users(config, n_users, seed)
    result = run_policy(make_policy(policy, config), policy, config, users, seed, seeds.TEST)
    best = run_policy(Oracle(config), "oracle", config, users, seed, seeds.TEST)
    # Rank the expected engagement, not the clicks: the oracle is the best policy in expectation.
    expected, oracle = session_return(result.engagement), session_return(best.engagement)
    rank_share = preference_rank_by_step(result.actions, users)
    return SessionSummary(
        policy=policy,
        config=config,
        mean_return=float(expected.mean()),
        oracle_return=float(oracle.mean()),
        percent_of_oracle=pct_oracle(expected, oracle),
        step_reward=result.engagement.mean(axis=0),
        oracle_step_reward=best.engagement.mean(axis=0),
        rank_share=rank_share,
    )


def _draw_session(fig: Figure, summary: SessionSummary) -> None:
    """The live playground's figure: what the policy recommends over the session, and what it earns per step."""
    left, right = fig.subplots(1, 2, width_ratios=(1.25, 1.0))
    total = summary.config.session_length
    steps = np.arange(1, total + 1)
    n_items = summary.config.n_items
    sns.heatmap(
        summary.rank_share,
        ax=left,
        vmin=0.0,
        cmap="mako_r",
        xticklabels=[str(t) if t == 1 or t % 5 == 0 else "" for t in steps],
        yticklabels=[str(r) if r == 1 or r % 5 == 0 or n_items <= 12 else "" for r in range(1, n_items + 1)],
        cbar_kws={"label": "share of users"},
    )
    left.set(xlabel="recommendation step t", ylabel="item's rank for the user (1 = favourite)")
    left.tick_params(axis="x", rotation=0)
    left.tick_params(axis="y", rotation=0)
    curves = pd.DataFrame(
        {
            "t": np.concatenate([steps, steps]),
            "reward": np.concatenate([summary.oracle_step_reward, summary.step_reward]),
            "who": ["oracle"] * total + [summary.policy] * total,
        }
    )
    sns.lineplot(data=curves, x="t", y="reward", hue="who", style="who", palette=["0.3", "C0"], linewidth=2, ax=right)
    right.set(xlabel="recommendation step t", ylabel="mean engagement probability", ylim=(0, None))
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.legend(title=None, loc="upper right")
    right.text(
        0.3,
        0.6,
        f"{summary.policy}: {summary.mean_return:.3f} per session\n"
        f"oracle: {summary.oracle_return:.3f}  ({summary.percent_of_oracle:.1f} % of oracle)",
        transform=right.transAxes,
        fontsize=10,
        va="bottom",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
    )


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
    """Chapter 10's live dashboard for JupyterLab: move a control, a new batch of users is simulated.

    Controls: the policy, the feedback (expected engagement or clicks), the decay model, α (log scale), the
    geometric decay rate, ``n_items`` and ``session_length``. Sliders update when released, so the kernel is not
    flooded. Each update runs the policy and the oracle on the same ``n_users`` users
    (:func:`simulate_session`) and shows the return, the percent of oracle, a heatmap of which preference rank the
    policy recommends at each step, and the mean reward per step against the oracle's.

    In the static book the dashboard shows the figure of its initial setting only (no Python runs there to
    simulate a new one); use :func:`playground_panels` there.

    Args:
        config: the initial setting (default ``EnvConfig()``, the original: 10 items, 20 steps, α = 1, harmonic).
            Its α must be symmetric (one number).
        policy: the policy selected first (one of ``policies``).
        policies: the policies offered (names from :data:`recbook.policies.POLICIES`, not the oracle).
        n_users: users simulated per update (1..5000; a few hundred keeps it responsive).
        seed: seed of the users and of the policies' generators.
        dpi: resolution of the figure.
    """
    from recbook.policies import POLICIES

    config = EnvConfig() if config is None else config
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig or None, got {type(config).__name__}")
    if not isinstance(config.alpha, float):
        raise ValueError("config.alpha must be one number (a symmetric Dirichlet) for the playground")
    if isinstance(policies, str) or not policies or any(p not in POLICIES or p == "oracle" for p in policies):
        raise ValueError(f"policies must be names from {sorted(set(POLICIES) - {'oracle'})}, got {policies!r}")
    if policy not in policies:
        raise ValueError(f"policy must be one of policies={list(policies)}, got {policy!r}")
    n_users = _check_int("n_users", n_users, 1, 5000)
    dpi = _check_dpi(dpi)
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
        with _book_style():
            fig = Figure(figsize=(10.5, 3.8), layout="constrained")
            _draw_session(fig, summary)
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
    """Chapter 10's static playground: every policy against the oracle, one panel per α, switched in the browser.

    Each panel shows, for the α of the slider, the percent of oracle of each policy (left) and the mean reward
    per step of each policy and of the oracle (right), all on the same ``n_users`` users. The numbers behind the
    panels are in the explorer's ``data`` attribute: a DataFrame with columns ``alpha``, ``policy``,
    ``mean_return``, ``oracle_return``, ``percent_of_oracle``.

    Args:
        alphas: symmetric concentrations, one panel each (positive, at most :data:`MAX_PANELS`).
        policies: policy names from :data:`recbook.policies.POLICIES` (not the oracle, which is the reference).
        config: everything else about the environment (default ``EnvConfig()``); its α is replaced.
        n_users: users per setting (1..20000).
        seed: seed of the users and the policies.
        start: the α shown first (must be in ``alphas``; ``None`` for the first).
        dpi: resolution of the panels.
    """
    from recbook.policies import POLICIES

    grid = _check_grid("alphas", alphas, 0.0, 1e4)
    config = EnvConfig() if config is None else config
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig or None, got {type(config).__name__}")
    if isinstance(policies, str) or not policies or any(p not in POLICIES or p == "oracle" for p in policies):
        raise ValueError(f"policies must be names from {sorted(set(POLICIES) - {'oracle'})}, got {policies!r}")
    n_users = _check_int("n_users", n_users, 1, 20_000)
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
    palette = dict(zip(policies, sns.color_palette("colorblind", len(policies))))
    steps = np.arange(1, config.session_length + 1)

    def draw(fig: Figure, alpha: float) -> None:
        rows = summaries[alpha]
        left, right = fig.subplots(1, 2, width_ratios=(1.0, 1.2))
        table = data[data["alpha"] == alpha]
        sns.barplot(
            data=table, y="policy", x="percent_of_oracle", hue="policy", palette=palette, legend=False, ax=left
        )
        for container in left.containers:
            left.bar_label(container, fmt="%.1f", padding=3, fontsize=10)
        left.set(xlabel="percent of oracle (%)", ylabel="", xlim=(0, 115))
        left.axvline(100.0, color="0.3", linestyle="--", linewidth=1.2)
        curves = pd.DataFrame(
            {
                "t": np.tile(steps, len(rows) + 1),
                "reward": np.concatenate([s.step_reward for s in rows] + [rows[0].oracle_step_reward]),
                "policy": np.repeat([s.policy for s in rows] + ["oracle"], len(steps)),
            }
        )
        sns.lineplot(
            data=curves,
            x="t",
            y="reward",
            hue="policy",
            palette={**palette, "oracle": "0.2"},
            linewidth=1.8,
            ax=right,
        )
        top = max(s.oracle_step_reward.max() for s in rows)
        right.set(xlabel="recommendation step t", ylabel="mean engagement probability", ylim=(0, top * 1.1))
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        right.legend(title=None, fontsize=9, loc="upper right")
        right.text(0.35, 0.9, f"α = {_label(alpha)}", transform=right.transAxes, fontsize=13)

    return _panel_explorer(grid, draw, "concentration α", figsize=(11.0, 3.8), dpi=dpi, start=start, data=data)
