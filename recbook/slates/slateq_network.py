"""SlateQ's networks: an item-shared scorer with a choice head and a long-term-value head, and the flat slate DQN.

Inputs (:class:`SlateItemInputs`). SlateQ reads the feedback observation of a slate configuration
(:mod:`recbook.observations`) and gives one small MLP, shared by every item, that item's slices of it:

* ``counts[i] / T`` (consumptions), ``revealed[i]``, ``value[i] / v_max``, ``quality[i]`` (0 without qualities),
  ``shown[i] / T`` (slates the item was in), the last-choice flag (1 if the user took ``i`` at the previous step);
* two numbers computed from those slices: the consumption rate ``counts[i] / shown[i]`` (0 if never shown) and the
  decay multiplier ``m(counts[i] + 1)`` of the item's next consumption (the choice score's known functional form,
  ``s_i = N p_i m(c_i + 1)``, :mod:`recbook.choice`);
* the shared steps remaining ``(T - t) / T``;

and a pooled context, the same for every item: the means over items of the counts, shown, rate and quality slices,
the fraction of items revealed, the consumptions so far over the slates shown so far (the user's click rate), the
steps remaining and whether the previous step had a choice. No preference, prior, leave rate or leave probability
is given.

Heads (:class:`SlateQNetwork`), each ``base + MLP([x_i, c])``:

* ``logits (B, N)``: the choice model's log-scores, ``P(i | s, S) = exp(l_i) / (sum_{j in S} exp(l_j) + nu)``,
  trained by the MNL likelihood of the observed choices (:func:`mnl_log_likelihood`);
* ``q (B, N)``: ``Q(s, i)``, the long-term value of the user taking item ``i`` now (this step's reward included);
* ``q_none (B,)``: the value of the user taking nothing, from an MLP on the context alone;
* (:meth:`SlateQNetwork.leave_logits`) the log-odds of the user leaving after taking each item ``(B, N)`` and after
  taking nothing ``(B,)``, trained by the Bernoulli likelihood of the observed exits: the exit model is learned from
  data like the choice model (neither ``leave_rate`` nor ``leave_no_click`` is given).

Both values are the MLP's output times the steps remaining (this one included), ``T * obs[3N]``: a session with
``k`` steps left pays at most ``k`` under ``feedback="choice"``, so the MLP learns a per-step rate.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch as th
from torch import nn

from recbook.config import EnvConfig
from recbook.observations import ObservationLayout

__all__ = ["FlatSlateQNetwork", "SlateItemFeatures", "SlateItemInputs", "SlateQNetwork", "mnl_log_likelihood"]

#: Per-item and context features of :class:`SlateItemFeatures`.
N_ITEM_FEATURES = 9
N_CONTEXT_FEATURES = 9


class SlateItemInputs(NamedTuple):
    """Each item's features ``items (B, N, F)``, the pooled ``context (B, C)`` and the steps remaining
    ``steps (B,)`` (a count: ``T`` at the start of a session)."""

    items: th.Tensor
    context: th.Tensor
    steps: th.Tensor


def _mlp(width: int, net_arch: tuple[int, ...], zero_last: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for hidden in net_arch:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    last = nn.Linear(width, 1)
    if zero_last:
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class SlateItemFeatures(nn.Module):
    """Parse feedback observations ``(B, d)`` of a slate configuration into :class:`SlateItemInputs` (no
    parameters; the decay table lives in a buffer)."""

    def __init__(self, config: EnvConfig) -> None:
        super().__init__()
        if config.observation != "feedback":
            raise ValueError(f"SlateQ reads the feedback observation; got observation={config.observation!r}")
        if not config.is_slate:
            raise ValueError("SlateQ needs a configuration where the user chooses (config.is_slate): slate_size > 1, "
                             "a cascade or a no-click mass")
        layout = ObservationLayout(config)
        n, total = config.n_items, config.session_length
        self.n_items, self.session_length = n, total
        self.value_high = float(layout.value_high)
        self.has_quality = config.has_quality
        self.shown_start = 3 * n + 1 + (n if config.has_quality else 0)
        self.size = layout.size
        table = config.decay_model.multiplier(np.arange(1, total + 2))  # m(c + 1) for c = 0 .. T
        self.register_buffer("next_multiplier", th.as_tensor(table, dtype=th.float32))

    def forward(self, obs: th.Tensor) -> SlateItemInputs:
        n, total, start = self.n_items, self.session_length, self.shown_start
        counts = obs[:, :n]
        revealed = obs[:, n : 2 * n]
        value = obs[:, 2 * n : 3 * n] / self.value_high
        steps = obs[:, 3 * n]
        quality = obs[:, 3 * n + 1 : 4 * n + 1] if self.has_quality else th.zeros_like(counts)
        shown = obs[:, start : start + n]
        last = obs[:, start + n : start + 2 * n]
        rate = th.where(shown > 0, counts / shown.clamp(min=1e-6), th.zeros_like(counts))
        index = th.round(counts * total).long().clamp(0, total)
        multiplier = self.next_multiplier[index]
        batch = obs.shape[0]
        items = th.stack(
            [counts, revealed, value, quality, shown, last, rate, multiplier, steps.unsqueeze(1).expand(batch, n)],
            dim=-1,
        )
        consumed = counts.sum(dim=1)
        # Slates shown so far: the slate size times the steps made (shown sums k per step).
        slates = shown.sum(dim=1)
        context = th.stack(
            [
                counts.mean(dim=1),
                shown.mean(dim=1),
                rate.mean(dim=1),
                quality.mean(dim=1),
                revealed.mean(dim=1),
                th.where(slates > 0, consumed / slates.clamp(min=1e-6), th.zeros_like(consumed)),
                steps,
                last.sum(dim=1),
                consumed,
            ],
            dim=1,
        )
        return SlateItemInputs(items, context, th.round(steps * total))


class SlateQNetwork(nn.Module):
    """The item-shared SlateQ network (module docstring): ``forward(obs) -> (logits (B, N), q (B, N), q_none (B,))``.

    Args:
        config: the environment (feedback observation, ``config.is_slate``).
        net_arch: hidden sizes of each head's MLP (the choice, value and no-click heads have their own weights).
    """

    def __init__(self, config: EnvConfig, net_arch: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        self.features = SlateItemFeatures(config)
        width = N_ITEM_FEATURES + N_CONTEXT_FEATURES
        self.choice_head = _mlp(width, net_arch)
        self.value_head = _mlp(width, net_arch)
        self.none_head = _mlp(N_CONTEXT_FEATURES, net_arch)
        self.leave_head = _mlp(width, net_arch)
        self.none_leave_head = _mlp(N_CONTEXT_FEATURES, net_arch)

    def heads(self, inputs: SlateItemInputs) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """``(logits, q, q_none)`` from :meth:`SlateItemFeatures.forward`'s inputs."""
        items, context, steps = inputs
        joint = th.cat([items, context.unsqueeze(1).expand(-1, items.shape[1], -1)], dim=-1)
        logits = self.choice_head(joint).squeeze(-1)
        q = self.value_head(joint).squeeze(-1) * steps.unsqueeze(1)
        q_none = self.none_head(context).squeeze(-1) * steps
        return logits, q, q_none

    def forward(self, obs: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        return self.heads(self.features(obs))

    def leave_logits(self, obs: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """Log-odds of leaving after taking each item ``(B, N)`` and after taking nothing ``(B,)``."""
        items, context, _ = self.features(obs)
        joint = th.cat([items, context.unsqueeze(1).expand(-1, items.shape[1], -1)], dim=-1)
        return self.leave_head(joint).squeeze(-1), self.none_leave_head(context).squeeze(-1)


def mnl_log_likelihood(logits: th.Tensor, slates: th.Tensor, positions: th.Tensor, no_click_mass: float) -> th.Tensor:
    """Log-probability ``(B,)`` of each observed choice under the MNL of log-scores ``logits (B, N)``.

    ``slates (B, k)`` are the items shown, ``positions (B,)`` the position taken (``-1``: nothing). With
    ``nu = no_click_mass``: ``log P(i | S) = l_i - log(sum_{j in S} exp(l_j) + nu)``, ``log P(nothing | S) =
    log nu - log(...)`` (``-inf`` when ``nu = 0``).
    """
    shown = logits.gather(1, slates)  # (B, k)
    if no_click_mass > 0:
        none = th.full_like(shown[:, :1], float(np.log(no_click_mass)))
    else:
        none = th.full_like(shown[:, :1], -float("inf"))
    everything = th.cat([shown, none], dim=1)
    normaliser = th.logsumexp(everything, dim=1)
    index = th.where(positions >= 0, positions, th.full_like(positions, shown.shape[1]))
    return everything.gather(1, index.unsqueeze(1)).squeeze(1) - normaliser


class FlatSlateQNetwork(nn.Module):
    """The naive slate DQN's network: an MLP from the whole observation ``(B, d)`` to one Q-value per candidate slate
    ``(B, M)`` (``M = C(N, k)``): it knows nothing of items, choices or their symmetry."""

    def __init__(self, obs_size: int, n_slates: int, net_arch: tuple[int, ...] = (256, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_size
        for hidden in net_arch:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, n_slates))

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.net(obs)
