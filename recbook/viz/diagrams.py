"""Two explanatory pictures: the agent–environment loop (chapter 3) and a belief update (chapter 4).

:func:`draw_agent_environment_loop` draws what one ``env.step`` exchanges, with recbook's names, so the reader can
match every arrow to a line of code. :func:`plot_belief_update` draws the exact posterior of
:class:`~recbook.posterior.DirichletPosterior` (mean and credible interval of every item) before and after a few
recommendations, next to the user's hidden preferences. Both only draw; the numbers come from the library.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from numpy.typing import ArrayLike

from recbook._checks import check_level
from recbook.posterior import DirichletPosterior

__all__ = ["draw_agent_environment_loop", "plot_belief_update"]


def _box(ax: Axes, x: float, y: float, title: str, body: str, colour: str) -> None:
    ax.add_patch(FancyBboxPatch((x - 2.9, y - 0.75), 5.8, 1.5, boxstyle="round,pad=0.1", facecolor=colour,
                                edgecolor="black", linewidth=1.5))
    ax.text(x, y + 0.38, title, ha="center", va="center", fontsize=12, fontweight="bold")
    ax.text(x, y - 0.22, body, ha="center", va="center", fontsize=9, linespacing=1.4)


def draw_agent_environment_loop(ax: Axes | None = None) -> Figure:
    """The loop of one session: the agent sends an action, the environment returns observation and reward.

    The agent (any policy or trained agent: ``predict(observation)``) sits on top, the environment
    (``RecommendationEnv``: hidden preferences ``p``, counts, decay) below; the right arrow is the action, the
    left arrow what ``env.step(action)`` returns. Returns the figure of ``ax`` (a new one if ``None``).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9.5, 4.4))
    ax.set(xlim=(-6.6, 6.6), ylim=(-3.1, 3.1))
    ax.axis("off")
    _box(ax, 0, 2.0, "agent", "a policy or a trained DQN\naction, _ = agent.predict(observation)", "#dbe9f6")
    _box(ax, 0, -2.0, "environment", "RecommendationEnv: user with hidden preferences p,\n"
         "counts shown so far, decay m(k)", "#fde2c8")
    style = dict(arrowstyle="-|>", mutation_scale=22, linewidth=2, color="black")
    ax.add_patch(FancyArrowPatch((3.15, 2.0), (3.15, -2.0), connectionstyle="arc3,rad=-0.45", **style))
    ax.add_patch(FancyArrowPatch((-3.15, -2.0), (-3.15, 2.0), connectionstyle="arc3,rad=-0.45", **style))
    ax.text(5.45, 0.0, "action $a_t$\nthe item to\nrecommend\n\nenv.step(a_t)", ha="center", va="center",
            fontsize=10)
    ax.text(-5.45, 0.0, "observation $s_{t+1}$\n(counts or feedback)\n\nreward $r_t$\n"
            "= engagement\n$p[a_t]\\,m(k)$ or a click", ha="center", va="center", fontsize=10)
    ax.text(0, 0.0, "one step per recommendation;\nterminated after session_length steps", ha="center",
            va="center", fontsize=9, style="italic", color="0.3")
    return ax.figure


def plot_belief_update(
    alpha: ArrayLike,
    preferences: ArrayLike,
    shown: Sequence[int],
    level: float = 0.9,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """The posterior of one user's preferences before and after each of ``shown``'s first looks.

    Panel ``k`` (``k = 0 .. len(shown)``) shows, for every item, the posterior mean (dot) and the equal-tailed
    ``level`` credible interval (bar) of :class:`~recbook.posterior.DirichletPosterior` after the items
    ``shown[:k]`` were recommended once (under expected feedback a look reveals an item's preference exactly), and
    the user's true preference (cross). ``axes``: one per panel (new ones if ``None``). Returns the figure.
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    preferences = np.asarray(preferences, dtype=np.float64)
    level = check_level(level, "level")
    n = alpha.size
    if preferences.shape != (n,):
        raise ValueError(f"preferences must have shape ({n},) like alpha, got {preferences.shape}")
    if any(not 0 <= int(a) < n for a in shown):
        raise ValueError(f"shown must hold item indices in [0, {n}), got {list(shown)}")
    if axes is None:
        _, axes = plt.subplots(1, len(shown) + 1, figsize=(3.2 * (len(shown) + 1), 3.4), sharey=True,
                               layout="constrained")
    axes = list(np.atleast_1d(axes))
    if len(axes) != len(shown) + 1:
        raise ValueError(f"axes must hold {len(shown) + 1} panels, got {len(axes)}")
    posterior = DirichletPosterior(alpha)
    items = np.arange(n)
    for k, ax in enumerate(axes):
        revealed = np.isin(items, np.asarray(shown[:k], dtype=np.int64))
        value = np.where(revealed, preferences, 0.0)
        mean = posterior.mean(revealed, value)
        low, high = posterior.interval(revealed, value, level)
        colour = np.where(revealed, "tab:green", "tab:blue")
        ax.vlines(items, low, high, colors=colour, linewidth=4, alpha=0.45)
        ax.scatter(items, mean, c=colour, s=28, zorder=3, label="posterior mean")
        ax.scatter(items, preferences, marker="x", color="black", s=30, zorder=4, label="true preference")
        looked = ", ".join(str(int(a)) for a in shown[:k])
        ax.set_title("prior" if k == 0 else f"after looks at {looked}", fontsize=10)
        ax.set_xticks(items)
        ax.set_xlabel("item")
    axes[0].set_ylabel(f"preference p (mean, {100 * level:g} % interval)")
    axes[0].legend(fontsize="small", loc="upper left")
    return axes[0].figure
