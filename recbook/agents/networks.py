"""The item-shared Q-network: one small scorer, shared by every item, reads that item's features and a pooled
summary of all items, and outputs that item's Q-value.

Why it learns faster than a flat MLP
------------------------------------
A flat MLP maps the whole ``3n + 1`` observation to ``n`` Q-values. It must learn, separately for every item, that
"a revealed item with a large next value is worth recommending", and it sees item ``a``'s output trained only on
the transitions that recommended ``a``. Nothing in its architecture says that items are interchangeable.

Here the Q-value of item ``a`` is ``f(x_a, c)``: the same function ``f`` applied to item ``a``'s own features
``x_a`` and a context ``c`` pooled (sums, means, maxima, sorted prefix sums) over *all* items. That makes the
network *permutation equivariant* — relabelling the items relabels the Q-values the same way — which is the true
symmetry of the problem under a symmetric prior (DeepSets, {cite}`zaheer2017deepsets`). Three things follow:

* every transition trains the scorer for all items at once (the shared weights get a gradient from the chosen
  item, and every item's score is computed by the same weights);
* it has far fewer parameters (a few thousand, independent of ``n``), so it needs fewer samples, and the same
  network runs unchanged on 10 or 50 items;
* the features are the right inductive bias: the decision "exploit the best revealed item or try a new one"
  depends on a handful of quantities (next marginal values, unrevealed mass, steps left), which we compute exactly
  instead of asking the network to rediscover division and sorting from raw inputs.

Features (computed from the observation with batched tensor ops; ``m`` is the decay multiplier)
--------------------------------------------------------------------------------------------------
Per item ``a`` (``v`` = value slice, ``c`` = count, ``r`` = revealed flag, ``k`` = steps remaining):

* ``g_a``: the posterior-mean *next* reward: ``v_a m(c_a + 1)`` if revealed, else the Dirichlet prior-mean share of
  the unrevealed mass ``(1 - S) alpha_a / alpha_U`` (``S`` = revealed mass, ``alpha_U`` = prior weight of the
  unrevealed items);
* ``r_a``, ``v_a``, ``c_a / T``, ``m(c_a + 1)``, ``n alpha_a / alpha_0``;
* ``b_a - E_k``, ``g_a - theta_k`` and whether ``g_a`` is among the ``k`` best revealed marginals (defined below).

Items with a quality (``item_quality`` set; users may leave, chapter 8) add four per-item features — the quality
``q_a``, the leave probability ``l_a = leave_rate (1 - q_a)``, the survival-weighted reward ``g_a (1 - l_a)`` and
the hazard index ``g_a / (l_a + h - l_a h)`` with ``h = 1/k`` (:class:`recbook.policies.BayesIndex`) — and one
context feature, the largest hazard index. Without qualities nothing changes (same features, same weights).

Pooled context (the same for all items): ``S``, ``1 - S``, unrevealed fraction, ``k / T``, the largest next value
among revealed items, the mean unrevealed share, and the *exploit value* ``E_k``: the return of recommending only
revealed items from now on, which (as for the oracle, chapter 2) is the sum of the ``k`` largest entries of the
table of future marginals ``{v_a m(c_a + j)}``; ``theta_k`` is the k-th largest entry — what one exploration step
gives up.

The skip (residual) structure
-----------------------------
With ``skip="exploit"`` (default) the network outputs ``Q_a = b_a + f(x_a, c)`` where ``b_a`` is the value of
recommending ``a`` now and exploiting revealed items only afterwards: ``E_k`` if ``g_a`` is among the ``k`` best
revealed marginals, else ``g_a + E_{k-1}`` (for an unrevealed item, ``g_a`` is its prior-mean value). Under expected
feedback ``b_a`` is exact for "exploit only" continuations, so the learned part ``f`` only has to represent the
*value of information* of exploring further — small, smooth, and zero at the start (the last layer is initialised
at zero), so training starts from the greedy-with-lookahead policy ``argmax_a b_a`` and refines it. Be honest about
what that means: ``argmax_a b_a`` on its own is already a good heuristic (chapter 6 measures it); the DQN's
contribution is the learned correction, and the book reports both.
``skip="reward"`` uses ``Q_a = g_a + f`` (only the immediate reward is given) and ``skip="none"`` uses ``Q_a = f``.

Under click feedback the same formulas run on the noisy preference estimates; ``b_a`` is then only a feature-rich
starting point and ``f`` also learns how much to trust an estimate from its count.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn
from torch.nn import functional as F

from recbook.agents.config import SKIPS
from recbook.config import EnvConfig

__all__ = ["SKIPS", "ItemFeatures", "ItemInputs", "ItemSharedQNetwork", "ItemSharedDQNPolicy"]


#: Number of per-item features and of pooled context features (see :class:`ItemFeatures`).
N_ITEM_FEATURES = 9
N_CONTEXT_FEATURES = 9
#: Extra per-item and context features when the items carry a quality (``config.has_quality``).
N_QUALITY_ITEM_FEATURES = 4
N_QUALITY_CONTEXT_FEATURES = 1


class ItemFeatures(nn.Module):
    """Parse feedback observations ``(B, 3n + 1)`` (``(B, 4n + 1)`` with qualities) into per-item features, context
    and the skip baseline.

    ``forward(obs)`` returns ``(items (B, n, F), context (B, C), exploit_baseline (B, n), next_value (B, n))`` with
    ``F = 9, C = 9`` (``F = 13, C = 10`` with qualities: :attr:`n_features`).
    It has no parameters; the decay table and prior live in buffers so the module moves with the network.
    """

    def __init__(self, config: EnvConfig) -> None:
        super().__init__()
        if config.observation != "feedback":
            raise ValueError(
                f"the item-shared network reads the feedback observation; got observation={config.observation!r}"
            )
        self.n_items = config.n_items
        self.session_length = config.session_length
        total = config.session_length
        # multiplier[k] = m(k) for k = 1 .. 2T + 1 (index 0 unused): counts + j never exceeds 2T.
        table = np.zeros(2 * total + 2)
        table[1:] = config.decay_model.multiplier(np.arange(1, 2 * total + 2))
        self.register_buffer("multiplier", th.as_tensor(table, dtype=th.float32))
        alpha = config.alpha_vector
        self.register_buffer("alpha", th.as_tensor(alpha, dtype=th.float32))
        self.register_buffer("steps_ahead", th.arange(1, total + 1))
        self.click = config.feedback == "click"
        exposure = config.decay_model.exposure_table(total)
        self.register_buffer("exposure", th.as_tensor(exposure, dtype=th.float32))
        self.has_quality = config.has_quality
        if self.has_quality:
            leave = config.leave_probability(np.arange(config.n_items))
            self.register_buffer("leave", th.as_tensor(leave, dtype=th.float32))
            self.register_buffer("quality", th.as_tensor(config.quality_vector, dtype=th.float32))

    @property
    def n_features(self) -> tuple[int, int]:
        """``(per-item features, context features)``."""
        if self.has_quality:
            return N_ITEM_FEATURES + N_QUALITY_ITEM_FEATURES, N_CONTEXT_FEATURES + N_QUALITY_CONTEXT_FEATURES
        return N_ITEM_FEATURES, N_CONTEXT_FEATURES

    def forward(self, obs: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
        n, total = self.n_items, self.session_length
        batch = obs.shape[0]
        counts = th.round(obs[:, :n] * total).long().clamp(0, total)
        revealed = (obs[:, n : 2 * n] > 0.5).float()
        value = obs[:, 2 * n : 3 * n] * revealed
        steps_left = th.round(obs[:, 3 * n] * total).long().clamp(0, total)

        mass = value.sum(dim=1, keepdim=True)  # S, revealed mass
        unrevealed = 1.0 - revealed
        alpha_unrevealed = (self.alpha * unrevealed).sum(dim=1, keepdim=True)
        # Dirichlet neutrality: the unrevealed part is (1 - S) * Dirichlet(alpha_U).
        prior_share = (1.0 - mass).clamp(min=0.0) * self.alpha / alpha_unrevealed.clamp(min=1e-6)
        next_multiplier = self.multiplier[counts + 1]
        if self.click:
            # Posterior mean of every item (Beta approximation with the Dirichlet's marginal prior, as
            # recbook.policies.BayesGreedy): clicks out of exposure(count) effective trials.
            exposure = self.exposure[counts]
            clicks = value * exposure
            alpha0 = self.alpha.sum()
            estimate = (self.alpha + clicks) / (alpha0 + clicks + (exposure - clicks).clamp(min=0.0))
            pooled = th.ones_like(revealed)
            prior_share = estimate * unrevealed
        else:
            estimate = value
            pooled = revealed
        next_value = th.where(pooled > 0, estimate * next_multiplier, prior_share)

        # Future marginals of pooled items, (B, n*T); the k largest sum to the exploit value E_k.
        future = (estimate * pooled).unsqueeze(-1) * self.multiplier[counts.unsqueeze(-1) + self.steps_ahead]
        best = th.topk(future.reshape(batch, n * total), total, dim=1, sorted=True).values
        prefix = th.cat([best.new_zeros(batch, 1), best.cumsum(dim=1)], dim=1)  # prefix[j] = sum of j largest
        k = steps_left.unsqueeze(1)
        k1 = (k - 1).clamp(min=0)
        exploit_k = prefix.gather(1, k)
        exploit_k1 = prefix.gather(1, k1)
        threshold = best.gather(1, k1)  # the k-th largest marginal
        in_top = ((next_value >= threshold) & (pooled > 0) & (k > 0)).float()
        baseline = th.where(in_top > 0, exploit_k.expand(-1, n), next_value + exploit_k1)

        n_unrevealed = unrevealed.sum(dim=1, keepdim=True)
        best_revealed = th.where(pooled > 0, next_value, th.zeros_like(next_value)).amax(dim=1, keepdim=True)
        mean_share = (prior_share * unrevealed).sum(dim=1, keepdim=True) / n_unrevealed.clamp(min=1.0)
        context = th.cat(
            [
                mass,
                1.0 - mass,
                n_unrevealed / n,
                k.float() / total,
                best_revealed,
                mean_share,
                exploit_k,
                exploit_k1,
                threshold,
            ],
            dim=1,
        )
        items = th.stack(
            [
                revealed,
                value,
                counts.float() / total,
                next_multiplier,
                (self.alpha * n / self.alpha.sum()).expand(batch, n),
                next_value,
                baseline - exploit_k,
                next_value - threshold,
                in_top,
            ],
            dim=-1,
        )
        if self.has_quality:
            # The qualities are public (the catalogue's); read from the buffers, identical to obs[:, 3n+1 : 4n+1].
            leave = self.leave.expand(batch, n)
            hazard = 1.0 / k.float().clamp(min=1.0)
            index = next_value / (leave + hazard - leave * hazard)
            quality_items = th.stack([self.quality.expand(batch, n), leave, next_value * (1.0 - leave), index], dim=-1)
            items = th.cat([items, quality_items], dim=-1)
            context = th.cat([context, index.amax(dim=1, keepdim=True)], dim=1)
        return items, context, baseline, next_value


class ItemInputs(NamedTuple):
    """What the shared scorer reads: each item's features ``items (B, n, F)``, the pooled ``context (B, C)`` that
    every item's score also reads, and ``base (B, n)``, the skip term its output is added to (zeros with
    ``skip="none"``)."""

    items: th.Tensor
    context: th.Tensor
    base: th.Tensor

    def split(self, size: int) -> tuple[ItemInputs, ItemInputs]:
        """The first ``size`` rows and the rest (inputs of stacked observations and next observations)."""
        return ItemInputs(*(x[:size] for x in self)), ItemInputs(*(x[size:] for x in self))

    def rows(self, index: th.Tensor) -> ItemInputs:
        """The rows ``index`` (a 1-D integer tensor)."""
        return ItemInputs(*(x.index_select(0, index) for x in self))


class ItemSharedQNetwork(QNetwork):
    """Q-network scoring every item with one shared MLP (see the module docstring).

    Args:
        observation_space, action_space, features_extractor, features_dim, normalize_images: as SB3's
            ``QNetwork`` (the features extractor is SB3's flatten; the item features are computed here).
        env_config: ``EnvConfig.to_dict()`` of the environment (must use ``observation="feedback"``).
        net_arch: hidden layer sizes of the shared per-item scorer.
        activation_fn: activation between hidden layers.
        skip: ``"exploit"``, ``"reward"`` or ``"none"``: what the learned output is added to.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        env_config: dict[str, Any],
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        skip: str = "exploit",
    ) -> None:
        # Skip QNetwork.__init__: it would build a flat MLP we never use (and hand its weights to the optimizer).
        BasePolicy.__init__(
            self,
            observation_space,
            action_space,
            features_extractor=features_extractor,
            normalize_images=normalize_images,
        )
        if skip not in SKIPS:
            raise ValueError(f"skip must be one of {SKIPS}, got {skip!r}")
        config = EnvConfig.from_dict(env_config)
        if int(action_space.n) != config.n_items:
            raise ValueError(f"action space has {action_space.n} actions but env_config has {config.n_items} items")
        self.env_config = config.to_dict()
        self.net_arch = list(net_arch) if net_arch is not None else [64, 64]
        self.activation_fn = activation_fn
        self.features_dim = features_dim
        self.skip = skip
        self.item_features = ItemFeatures(config)
        layers: list[nn.Module] = []
        width = sum(self.item_features.n_features)
        for hidden in self.net_arch:
            layers += [nn.Linear(width, hidden), activation_fn()]
            width = hidden
        last = nn.Linear(width, 1)
        if skip != "none":
            # Start exactly at the skip baseline; the network learns a correction.
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        layers.append(last)
        self.q_net = nn.Sequential(*layers)  # the shared per-item scorer

    def item_inputs(self, obs: th.Tensor) -> ItemInputs:
        """The scorer's inputs for every item of observations ``(B, 3n + 1)``: see :class:`ItemInputs`.

        They depend on the observation only (:class:`ItemFeatures` has no parameters), so the online and the target
        network can share them, and the replay buffer can keep them (:mod:`recbook.agents.replay`) instead of
        recomputing them every time a transition is replayed.
        """
        flat = self.extract_features(obs, self.features_extractor)
        items, context, baseline, next_value = self.item_features(flat)
        if self.skip == "exploit":
            base = baseline
        elif self.skip == "reward":
            base = next_value
        else:
            base = th.zeros_like(next_value)
        return ItemInputs(items, context, base)

    def scores(self, inputs: ItemInputs, actions: th.Tensor | None = None) -> th.Tensor:
        """Q-values from :meth:`item_inputs`: ``(B, n_items)``, or ``(B, 1)`` for the items ``actions (B, 1)``.

        The scorer's first layer reads ``[x_a, c]``; its context half ``W_c c`` is the same for every item, so it is
        computed once per observation rather than once per item. With ``actions`` the scorer runs on the chosen
        item's row only — ``n_items`` times less work for the TD update, which needs ``Q(s, a)`` of the logged
        action and ``Q_target(s', a')`` of one next action.
        """
        items, context, base = inputs
        if actions is not None:
            index = actions.long().reshape(-1, 1)
            items = items.gather(1, index.unsqueeze(-1).expand(-1, 1, items.shape[-1]))
            base = base.gather(1, index)
        batch, n, n_item = items.shape
        first, *layers = self.q_net
        shared = F.linear(context, first.weight[:, n_item:], first.bias).unsqueeze(1)  # (B, 1, hidden)
        hidden = F.linear(items, first.weight[:, :n_item]).add_(shared)  # (B, n, hidden)
        for layer in layers:  # the same scorer for every item
            if isinstance(layer, nn.Linear):
                hidden = F.linear(hidden, layer.weight, layer.bias)
            elif isinstance(layer, nn.ReLU):
                hidden = hidden.relu_()  # in place: no linear's backward reads its own output
            else:
                hidden = layer(hidden)
        return base + hidden.squeeze(-1)

    def forward(self, obs: PyTorchObs) -> th.Tensor:
        """Q-values of shape ``(B, n_items)`` for observations of shape ``(B, 3n + 1)`` (``(B, 4n + 1)``)."""
        return self.scores(self.item_inputs(obs))  # type: ignore[arg-type]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(dict(env_config=self.env_config, skip=self.skip))
        return data


class ItemSharedDQNPolicy(DQNPolicy):
    """SB3 DQN policy whose online and target networks are :class:`ItemSharedQNetwork`.

    Use as ``DQN(ItemSharedDQNPolicy, env, policy_kwargs={"env_config": config.to_dict()})``; save, load, the target
    network and ``predict`` work as for ``MlpPolicy``.

    Args:
        observation_space, action_space, lr_schedule: as SB3's ``DQNPolicy``.
        env_config: ``EnvConfig.to_dict()`` of the (feedback-observation) environment.
        net_arch: hidden sizes of the shared per-item scorer (default ``[64, 64]``).
        skip: see :class:`ItemSharedQNetwork`.
        **kwargs: passed to ``DQNPolicy`` (activation, optimizer, ...).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        env_config: dict[str, Any] | None = None,
        net_arch: list[int] | None = None,
        skip: str = "exploit",
        **kwargs: Any,
    ) -> None:
        if env_config is None:
            raise ValueError("ItemSharedDQNPolicy needs policy_kwargs={'env_config': EnvConfig(...).to_dict()}")
        # Set before DQNPolicy.__init__, which calls make_q_net().
        self.env_config = dict(env_config)
        self.skip = skip
        super().__init__(observation_space, action_space, lr_schedule, net_arch=net_arch, **kwargs)

    def set_training_mode(self, mode: bool) -> None:
        # SB3 switches the mode before every batch of actions and every gradient step (train_freq=1 alternates
        # them); walking the modules costs more than the small network's forward pass. These networks have no
        # dropout or batch norm, so the mode changes no output: record it, and walk only if a module needs it.
        if any(isinstance(m, (nn.Dropout, nn.modules.batchnorm._BatchNorm)) for m in self._mode_dependent()):
            super().set_training_mode(mode)
        else:
            self.training = mode

    def _mode_dependent(self) -> list[nn.Module]:
        if not hasattr(self, "_mode_modules"):
            self._mode_modules = [
                m for m in self.modules() if isinstance(m, (nn.Dropout, nn.modules.batchnorm._BatchNorm))
            ]
        return self._mode_modules

    def make_q_net(self) -> ItemSharedQNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return ItemSharedQNetwork(**net_args, env_config=self.env_config, skip=self.skip).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(dict(env_config=self.env_config, skip=self.skip))
        return data
