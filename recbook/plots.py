"""Figures the chapters share: what a policy recommends, by the user's own ranking of the items, step by step.

A policy's actions mean little on their own (item 3 is one user's favourite and another's least liked), so
:func:`preference_rank_by_step` re-expresses each recommendation as the *rank* of the recommended item in that
user's preferences (1 = the user's favourite) and counts, for every step, how often each rank was recommended.
:func:`plot_rank_heatmaps` draws one heatmap per policy. :func:`cumulative_regret` and :func:`plot_cumulative_regret`
draw how a policy's regret against the oracle builds up over a session (chapter 4). :func:`plot_performance_profile`
and :func:`plot_sensitivity` draw what a training sweep found (chapters 7 and 8).
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
from scipy import stats
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "preference_rank_by_step",
    "plot_rank_heatmaps",
    "cumulative_regret",
    "mean_band",
    "plot_cumulative_regret",
    "plot_performance_profile",
    "plot_sensitivity",
]


def preference_rank_by_step(actions: ArrayLike, preferences: ArrayLike) -> NDArray[np.float64]:
    """Share of sessions whose recommendation at step ``t`` was the user's ``r``-th favourite item.

    Args:
        actions: recommended items, int, shape ``(K, T)`` (e.g. ``Rollout.actions``).
        preferences: the users, shape ``(K, n_items)`` (e.g. ``Rollout.preferences``).

    Returns:
        Array of shape ``(n_items, T)``; entry ``[r, t]`` is the fraction of the ``K`` sessions in which the item
        recommended at step ``t`` (0-based) had preference rank ``r + 1`` for that user (ties broken by item
        index). Each column sums to 1.
    """
    acts = np.asarray(actions)
    prefs = np.asarray(preferences, dtype=np.float64)
    if acts.ndim != 2 or prefs.ndim != 2 or acts.shape[0] != prefs.shape[0]:
        raise ValueError(
            f"actions must have shape (K, T) and preferences (K, n_items) with the same K, got {acts.shape} "
            f"and {prefs.shape}"
        )
    n_users, n_items = prefs.shape
    if np.any(acts < 0) or np.any(acts >= n_items):
        raise ValueError(f"actions must be item indices in [0, {n_items})")
    # rank[k, a] = 0 for user k's favourite item, n_items - 1 for the least liked.
    order = np.argsort(-prefs, axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(n_users)[:, None], order] = np.arange(n_items)
    recommended_rank = np.take_along_axis(rank, acts, axis=1)  # (K, T)
    table = np.zeros((n_items, acts.shape[1]))
    for t in range(acts.shape[1]):
        table[:, t] = np.bincount(recommended_rank[:, t], minlength=n_items)
    return table / n_users


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
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.3 * ncols, 3.4 * nrows), squeeze=False, sharey=True,
                             constrained_layout=True)
    image = None
    for ax, name in zip(axes.flat, names):
        result = rollouts[name]
        table = preference_rank_by_step(result.actions, result.preferences)  # type: ignore[attr-defined]
        if max_rank is not None:
            table = table[:max_rank]
        ranks, steps = table.shape
        sns.heatmap(table, ax=ax, vmin=0.0, vmax=vmax, cmap="rocket_r", cbar=False,
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


def cumulative_regret(engagement: ArrayLike, oracle_engagement: ArrayLike) -> NDArray[np.float64]:
    """Regret against the oracle accumulated up to each step, per user.

    Args:
        engagement: the policy's engagement probabilities, shape ``(K, T)`` (``Rollout.engagement``).
        oracle_engagement: the oracle's on the *same* users, shape ``(K, T)``.

    Returns:
        Shape ``(K, T)``; entry ``[k, t]`` is ``sum_{s <= t} (oracle[k, s] - policy[k, s])`` in engagements. The
        last column is the session's regret (oracle return minus the policy's expected return). Single steps can
        be negative: the oracle takes its largest marginal rewards first, so late in a session a policy that has
        found the favourite can earn more per step than the oracle does.
    """
    policy = np.asarray(engagement, dtype=np.float64)
    oracle = np.asarray(oracle_engagement, dtype=np.float64)
    if policy.ndim != 2 or policy.shape != oracle.shape:
        raise ValueError(
            f"engagement and oracle_engagement must both have shape (K, T), got {policy.shape} and {oracle.shape}"
        )
    return np.cumsum(oracle - policy, axis=1)


def mean_band(
    values: ArrayLike, confidence_level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Column means of ``values`` ``(K, T)`` with Student-t confidence limits: ``(mean, low, high)``, each ``(T,)``.

    The interval is ``mean +- t_{K-1} * sd / sqrt(K)`` per column (a band for a mean over ``K`` users).
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ValueError(f"values must have shape (K, T) with K >= 2, got {array.shape}")
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level!r}")
    mean = array.mean(axis=0)
    half = stats.t.ppf(0.5 + confidence_level / 2, array.shape[0] - 1) * stats.sem(array, axis=0)
    return mean, mean - half, mean + half


def plot_cumulative_regret(
    curves: Mapping[str, ArrayLike],
    ax: Axes | None = None,
    confidence_level: float = 0.95,
    palette: str = "tab10",
) -> Axes:
    """Mean cumulative regret by step, one line per policy with its confidence band.

    Args:
        curves: ``{policy name: cumulative regret (K, T)}`` (from :func:`cumulative_regret`), same users.
        ax: the axes to draw on (default: a new figure).
        confidence_level: of the bands (:func:`mean_band`).
        palette: a seaborn palette name.

    Returns:
        The axes; steps are numbered from 1 on the horizontal axis.
    """
    if not curves:
        raise ValueError("curves must name at least one policy")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.2))
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
        _, ax = plt.subplots(figsize=(7.5, 3.8))
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
        _, ax = plt.subplots(figsize=(5.2, 3.8))
    table = results.pivot_table(index=rows, columns=columns, values=value, aggfunc="mean")
    sns.heatmap(
        table,
        annot=True,
        fmt=f".{digits}f",
        cmap="viridis",
        cbar_kws={"label": label},
        ax=ax,
        annot_kws={"fontsize": "small"},
    )
    ax.set(ylabel=rows, xlabel=columns)
    return ax
