"""The chapters' figures: pure functions that draw what :mod:`recbook.viz.compute` and the evaluation return.

Each function reads only its arguments and draws on the axes or figure it is given (or a new one): which rank of
the user's preferences a policy recommends, step by step (:func:`plot_rank_heatmaps`, chapter 7), regret against the
oracle as a session goes on (:func:`plot_cumulative_regret`, chapter 4), what a training sweep found
(:func:`plot_performance_profile`, :func:`plot_sensitivity`, chapters 7 and 9) and how each policy falls short of the
planner as users leave (:func:`draw_leave_rate`, chapter 9). The explorers' panels are in :mod:`recbook.viz.panels`.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from recbook.viz.compute import mean_band, preference_rank_by_step
from recbook.viz.style import (
    PROFILE_SIZE,
    RANK_CMAP,
    RANK_HEATMAP_SIZE,
    REGRET_PALETTE,
    REGRET_SIZE,
    SENSITIVITY_CMAP,
    SENSITIVITY_SIZE,
    policy_palette,
)

__all__ = [
    "draw_leave_rate",
    "plot_cumulative_regret",
    "plot_performance_profile",
    "plot_rank_heatmaps",
    "plot_sensitivity",
]


def plot_rank_heatmaps(
    rollouts: Mapping[str, object],
    max_rank: int | None = None,
    ncols: int = 3,
    vmax: float = 1.0,
) -> Figure:
    """One heatmap per policy: preference rank (rows, 1 = favourite) by step (columns), shaded by share.

    Args:
        rollouts: ``{policy name: Rollout}`` (anything with ``actions`` and ``preferences`` attributes).
        max_rank: show only ranks ``1..max_rank`` (default: all items).
        ncols: panels per row.
        vmax: the colour scale's upper end (shares of sessions, in ``[0, 1]``).

    Returns:
        The matplotlib figure (call ``plt.show()`` in a notebook).
    """
    names = list(rollouts)
    if not names:
        raise ValueError("rollouts must name at least one policy")
    ncols = min(ncols, len(names))
    nrows = -(-len(names) // ncols)
    width, height = RANK_HEATMAP_SIZE
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, sharey=True,
                             constrained_layout=True)
    image = None
    for ax, name in zip(axes.flat, names):
        result = rollouts[name]
        table = preference_rank_by_step(result.actions, result.preferences)  # type: ignore[attr-defined]
        if max_rank is not None:
            table = table[:max_rank]
        ranks, steps = table.shape
        sns.heatmap(table, ax=ax, vmin=0.0, vmax=vmax, cmap=RANK_CMAP, cbar=False,
                    xticklabels=list(range(1, steps + 1)), yticklabels=list(range(1, ranks + 1)))
        image = ax.collections[0]
        every = max(1, steps // 5)
        ax.set_xticks(np.arange(0, steps, every) + 0.5, labels=[str(t) for t in range(1, steps + 1, every)])
        ax.tick_params(axis="both", rotation=0)
        ax.set(xlabel="recommendation step t", ylabel="preference rank of the item" if ax in axes[:, 0] else "")
        ax.text(0.98, 0.04, name, transform=ax.transAxes, ha="right", va="bottom",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="share of users")
    return fig


def plot_cumulative_regret(
    curves: Mapping[str, ArrayLike],
    ax: Axes | None = None,
    confidence_level: float = 0.95,
    palette: str = REGRET_PALETTE,
) -> Axes:
    """Mean cumulative regret by step, one line per policy with its confidence band.

    Args:
        curves: ``{policy name: cumulative regret (K, T)}`` (from :func:`~recbook.viz.compute.cumulative_regret`),
            same users.
        ax: the axes to draw on (default: a new figure).
        confidence_level: of the bands (:func:`~recbook.viz.compute.mean_band`).
        palette: a seaborn palette name.

    Returns:
        The axes; steps are numbered from 1 on the horizontal axis.
    """
    if not curves:
        raise ValueError("curves must name at least one policy")
    if ax is None:
        _, ax = plt.subplots(figsize=REGRET_SIZE)
    colours = sns.color_palette(palette, len(curves))
    for colour, (name, values) in zip(colours, curves.items()):
        mean, low, high = mean_band(values, confidence_level)
        steps = np.arange(1, mean.size + 1)
        ax.plot(steps, mean, color=colour, linewidth=2.2, label=name)
        ax.fill_between(steps, low, high, color=colour, alpha=0.25, linewidth=0)
    ax.axhline(0.0, color="0.3", linewidth=1.0)
    ax.set(xlabel="recommendation step t", ylabel="cumulative regret (engagements)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def plot_performance_profile(
    profile: pd.DataFrame, by: str, ax: Axes | None = None, xlabel: str = "% of oracle (VALIDATION users)"
) -> Axes:
    """Draw :func:`recbook.evaluation.performance_profile`: fraction of runs above each threshold, with its band."""
    if ax is None:
        _, ax = plt.subplots(figsize=PROFILE_SIZE)
    palette = sns.color_palette(n_colors=profile[by].nunique())
    for color, (name, frame) in zip(palette, profile.groupby(by, sort=False)):
        ax.plot(frame["threshold"], frame["fraction"], color=color, linewidth=2, label=str(name))
        ax.fill_between(frame["threshold"], frame["ci_low"], frame["ci_high"], color=color, alpha=0.2, linewidth=0)
    ax.set(xlabel=xlabel, ylabel="fraction of runs scoring above", ylim=(-0.02, 1.02))
    ax.legend(frameon=False, fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(palette))
    return ax


def plot_sensitivity(
    results: pd.DataFrame,
    rows: str,
    columns: str,
    value: str = "pct_oracle",
    ax: Axes | None = None,
    label: str = "% of oracle",
    digits: int = 1,
) -> Axes:
    """Heatmap of ``value`` (averaged over seeds) for every ``rows`` x ``columns`` pair of a sweep, annotated."""
    if ax is None:
        _, ax = plt.subplots(figsize=SENSITIVITY_SIZE)
    table = results.pivot_table(index=rows, columns=columns, values=value, aggfunc="mean")
    sns.heatmap(
        table,
        annot=True,
        fmt=f".{digits}f",
        cmap=SENSITIVITY_CMAP,
        cbar_kws={"label": label},
        ax=ax,
        annot_kws={"fontsize": "small"},
    )
    ax.set(ylabel=rows, xlabel=columns)
    return ax


def draw_leave_rate(fig: Figure, table: pd.DataFrame, leave_rate: float) -> None:
    """Draw one panel of the leave-rate explorer on ``fig``: bars at ``leave_rate`` (left), curves across rates.

    ``table`` is :func:`~recbook.viz.compute.leave_rate_sweep`'s output (any extra policies it holds are drawn too,
    also when they exist at some rates only). Pure: reads only its arguments.
    """
    if not {"leave_rate", "policy", "pct_oracle"} <= set(table.columns):
        raise ValueError("table must have columns leave_rate, policy and pct_oracle (see leave_rate_sweep)")
    rates = np.sort(table["leave_rate"].unique())
    if not np.any(np.isclose(rates, leave_rate)):
        raise ValueError(f"leave_rate must be one of {list(rates)}, got {leave_rate!r}")
    order = list(dict.fromkeys(table["policy"]))
    palette = policy_palette(order)
    left, right = fig.subplots(1, 2, width_ratios=(1.0, 1.3))
    now = table[np.isclose(table["leave_rate"], leave_rate)]
    present = [name for name in order if name in set(now["policy"])]  # e.g. agents trained at a few rates only
    sns.barplot(data=now, y="policy", x="pct_oracle", hue="policy", order=present, palette=palette, legend=False,
                ax=left)
    for patch, value in zip(left.patches, now.set_index("policy").loc[present, "pct_oracle"]):
        left.text(patch.get_width() + 1, patch.get_y() + patch.get_height() / 2, f"{value:.1f}", va="center")
    left.set(xlabel="% of the planner (expected return)", ylabel="", xlim=(0, 115))
    sns.lineplot(data=table, x="leave_rate", y="pct_oracle", hue="policy", hue_order=order, palette=palette,
                 marker="o", ax=right)
    right.axvline(leave_rate, color="0.3", linestyle="--", linewidth=1.2)
    right.set(xlabel="leave rate λ (leave probability of a quality-0 item)", ylabel="% of the planner",
              ylim=(min(40.0, float(table["pct_oracle"].min()) - 5), 102))
    right.legend(loc="lower left", fontsize=8, frameon=True)
