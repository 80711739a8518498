"""Chapter 8's figures and its leave-rate explorer: how far each policy falls short of the planner as users leave.

:func:`leave_rate_sweep` scores policies (names of :data:`recbook.policies.POLICIES`, or trained agents per leave
rate) on the same users for a grid of ``leave_rate`` values; :func:`draw_leave_rate` is the pure figure function
(one panel per leave rate: % of the planner by policy, and every policy's curve across the grid with the current
rate marked); :func:`leave_rate_explorer` renders one panel per grid value and links them to a slider in the browser
(:class:`recbook.widgets.PanelExplorer`), so the static book keeps the widget working without a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from recbook import seeds
from recbook.config import EnvConfig
from recbook.evaluation import evaluate
from recbook.policies import make_policy
from recbook.widgets import MAX_PANELS, PanelExplorer, _book_style, figure_to_png

__all__ = ["DEFAULT_LEAVE_RATES", "LEAVE_POLICIES", "draw_leave_rate", "leave_rate_explorer", "leave_rate_sweep"]

#: The leave-rate grid of chapter 8's sweep; 0 is the original setting.
DEFAULT_LEAVE_RATES: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6)
#: The heuristics the sweep computes live (the oracle is the reference of every row).
LEAVE_POLICIES: tuple[str, ...] = ("random", "bayes-greedy", "thompson", "bayes-index", "myopic-oracle")


def leave_rate_sweep(
    config: EnvConfig,
    leave_rates: Sequence[float] = DEFAULT_LEAVE_RATES,
    policies: Sequence[str] = LEAVE_POLICIES,
    agents: Mapping[float, Mapping[str, Any]] | None = None,
    n_users: int = 2_000,
    seed: int = 0,
    stream: str = seeds.TEST,
) -> pd.DataFrame:
    """% of the oracle of each policy at each leave rate, on the same users (common random numbers per rate).

    Args:
        config: the environment; only ``leave_rate`` changes along the sweep (it must carry item qualities).
        leave_rates: the grid, each in ``[0, 1]``.
        policies: policy names built with ``make_policy(name, config_at_rate, seed=seed)``.
        agents: optional ``{leave_rate: {label: trained agent}}`` added at the rates they were trained for.
        n_users, seed, stream: the users of every rate.

    Returns:
        Tidy table with columns ``leave_rate``, ``policy``, ``expected_return``, ``oracle_return``, ``pct_oracle``.
    """
    if not isinstance(config, EnvConfig) or not config.has_quality:
        raise ValueError("config must be an EnvConfig with item_quality set")
    rates = [float(r) for r in leave_rates]
    if not rates or any(not 0.0 <= r <= 1.0 for r in rates):
        raise ValueError(f"leave_rates must be a non-empty sequence of numbers in [0, 1], got {leave_rates!r}")
    rows = []
    for rate in rates:
        at_rate = config.replace(leave_rate=rate)
        named: dict[str, Any] = {name: make_policy(name, at_rate, seed=seed) for name in policies}
        for label, agent in (agents or {}).get(rate, {}).items():
            named[label] = agent
        table = evaluate(named, at_rate, n_users=n_users, seed=seed, stream=stream)
        means = table.groupby("policy", observed=True)[["expected_return", "oracle_return"]].mean()
        for name in named:
            rows.append({
                "leave_rate": rate,
                "policy": name,
                "expected_return": float(means.loc[name, "expected_return"]),
                "oracle_return": float(means.loc[name, "oracle_return"]),
                "pct_oracle": 100.0 * float(means.loc[name, "expected_return"] / means.loc[name, "oracle_return"]),
            })
    return pd.DataFrame(rows)


def draw_leave_rate(fig: Figure, table: pd.DataFrame, leave_rate: float) -> None:
    """Draw one panel of the explorer on ``fig``: bars at ``leave_rate`` (left), curves across rates (right).

    ``table`` is :func:`leave_rate_sweep`'s output (any extra policies it holds are drawn too, also when they exist
    at some rates only). Pure: reads only its arguments.
    """
    if not {"leave_rate", "policy", "pct_oracle"} <= set(table.columns):
        raise ValueError("table must have columns leave_rate, policy and pct_oracle (see leave_rate_sweep)")
    rates = np.sort(table["leave_rate"].unique())
    if not np.any(np.isclose(rates, leave_rate)):
        raise ValueError(f"leave_rate must be one of {list(rates)}, got {leave_rate!r}")
    order = list(dict.fromkeys(table["policy"]))
    palette = dict(zip(order, sns.color_palette("colorblind", len(order))))
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


def leave_rate_explorer(table: pd.DataFrame, start: float | None = None, dpi: int = 80) -> PanelExplorer:
    """One precomputed panel per leave rate of ``table``, switched by a slider in the browser (no kernel)."""
    rates = [float(r) for r in np.sort(table["leave_rate"].unique())]
    if len(rates) > MAX_PANELS:
        raise ValueError(f"at most {MAX_PANELS} leave rates, got {len(rates)}")
    images = []
    with _book_style():
        for rate in rates:
            fig = Figure(figsize=(10.0, 3.6), layout="constrained")
            draw_leave_rate(fig, table, rate)
            images.append(figure_to_png(fig, dpi=dpi))
    index = 0 if start is None else int(np.argmin(np.abs(np.asarray(rates) - start)))
    return PanelExplorer([f"{r:g}" for r in rates], images, "leave rate λ", index=index, data=table)
