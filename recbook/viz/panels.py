"""The explorers' panels: pure ``draw_*(fig, data)`` functions, one per kind of panel a slider switches.

Each reads only its arguments (numbers computed by :mod:`recbook.viz.compute` or the simulator) and draws on the
:class:`~matplotlib.figure.Figure` it is given; :mod:`recbook.viz.widgets` computes the data, calls these once per
grid value and stores the PNGs. Chapter 1: :func:`draw_alpha_panel`; chapter 2: :func:`draw_decay_panel`;
chapter 13: :func:`draw_session` (the live dashboard) and :func:`draw_playground_panel` (the static panels).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from recbook.viz.compute import SessionSummary
from recbook.viz.style import RANK_CMAP, SHARE_CMAP

__all__ = ["draw_alpha_panel", "draw_decay_panel", "draw_playground_panel", "draw_session", "grid_label"]


def grid_label(value: float) -> str:
    """How a grid value reads on a slider and in a panel: ``0.1``, ``1``, ``10``."""
    return f"{value:g}"


def draw_alpha_panel(fig: Figure, preferences: NDArray[np.float64], alpha: float) -> None:
    """Users drawn from ``Dirichlet(α)``, shape ``(n_users, n_items)``: a heatmap (left) and sorted curves (right).

    The right panel shows each user's preferences from the favourite item down, against the flat line
    ``1/n_items``; both axes are fixed so panels for different α compare by eye.
    """
    n_users, n_items = preferences.shape
    ranks = np.arange(1, n_items + 1)
    left, right = fig.subplots(1, 2, width_ratios=(1.1, 1.0))
    sns.heatmap(
        preferences,
        ax=left,
        vmin=0.0,
        vmax=1.0,
        cmap=RANK_CMAP,
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
    right.text(0.97, 0.78, f"α = {grid_label(alpha)}", transform=right.transAxes, ha="right", fontsize=13)


def draw_decay_panel(
    fig: Figure,
    rate: float,
    multipliers: Mapping[str, NDArray[np.float64]],
    counts: Mapping[str, NDArray[np.int64]],
    returns: Mapping[str, float],
) -> None:
    """Geometric decay at ``rate`` against the harmonic original, for one example user.

    Args:
        fig: the figure to draw on.
        rate: the geometric decay rate of the panel.
        multipliers: ``{"harmonic": m(k), "geometric": m(k)}``, each of shape ``(T,)`` for ``k = 1..T``.
        counts: the oracle's recommendations of each item (items from the user's favourite down), shape
            ``(n_items,)``, under each model (same keys).
        returns: the oracle's return under each model (same keys).
    """
    k = np.arange(1, len(multipliers["harmonic"]) + 1)
    session_length = len(k)
    n_items = len(counts["harmonic"])
    left, right = fig.subplots(1, 2)
    curves = pd.DataFrame(
        {
            "k": np.concatenate([k, k]),
            "multiplier": np.concatenate([multipliers["harmonic"], multipliers["geometric"]]),
            "decay": ["harmonic 1/k"] * len(k) + [f"geometric {grid_label(rate)}^(k-1)"] * len(k),
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
            "recommendations": np.concatenate([counts["harmonic"], counts["geometric"]]),
            "decay": [f"harmonic (return {returns['harmonic']:.2f})"] * n_items
            + [f"geometric {grid_label(rate)} (return {returns['geometric']:.2f})"] * n_items,
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


def draw_session(fig: Figure, summary: SessionSummary) -> None:
    """The live playground's figure: what the policy recommends over the session, and what it earns per step."""
    left, right = fig.subplots(1, 2, width_ratios=(1.25, 1.0))
    total = summary.config.session_length
    steps = np.arange(1, total + 1)
    n_items = summary.config.n_items
    sns.heatmap(
        summary.rank_share,
        ax=left,
        vmin=0.0,
        cmap=SHARE_CMAP,
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


def draw_playground_panel(
    fig: Figure,
    table: pd.DataFrame,
    summaries: Sequence[SessionSummary],
    alpha: float,
    palette: Mapping[str, object],
) -> None:
    """Every policy against the oracle at one α: % of oracle (left), mean reward per step (right).

    ``table`` holds this α's rows (columns ``policy``, ``percent_of_oracle``); ``summaries`` the same policies'
    :class:`~recbook.viz.compute.SessionSummary`, in the same order; ``palette`` a colour per policy name.
    """
    steps = np.arange(1, summaries[0].config.session_length + 1)
    left, right = fig.subplots(1, 2, width_ratios=(1.0, 1.2))
    sns.barplot(data=table, y="policy", x="percent_of_oracle", hue="policy", palette=palette, legend=False, ax=left)
    for container in left.containers:
        left.bar_label(container, fmt="%.1f", padding=3, fontsize=10)
    left.set(xlabel="percent of oracle (%)", ylabel="", xlim=(0, 115))
    left.axvline(100.0, color="0.3", linestyle="--", linewidth=1.2)
    curves = pd.DataFrame(
        {
            "t": np.tile(steps, len(summaries) + 1),
            "reward": np.concatenate([s.step_reward for s in summaries] + [summaries[0].oracle_step_reward]),
            "policy": np.repeat([s.policy for s in summaries] + ["oracle"], len(steps)),
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
    top = max(s.oracle_step_reward.max() for s in summaries)
    right.set(xlabel="recommendation step t", ylabel="mean engagement probability", ylim=(0, top * 1.1))
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.legend(title=None, fontsize=9, loc="upper right")
    right.text(0.35, 0.9, f"α = {grid_label(alpha)}", transform=right.transAxes, fontsize=13)
