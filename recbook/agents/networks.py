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

Items with a quality (``item_quality`` set; users may leave, chapter 9) add four per-item features — the quality
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

from recbook._checks import check_choice
from recbook.agents.config import FEATURE_SETS, SKIPS
from recbook.agents.features import ItemFeatures
from recbook.config import EnvConfig

__all__ = ["FEATURE_SETS", "SKIPS", "ItemFeatures", "ItemInputs", "ItemSharedQNetwork", "ItemSharedDQNPolicy"]


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
        features: the input set, one of :data:`~recbook.agents.config.FEATURE_SETS`; ``"public"``
            needs ``skip="none"``, since both skip baselines are engineered.
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
        features: str = "engineered",
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
        check_choice(features, "features", FEATURE_SETS)
        if features == "public" and skip != "none":
            raise ValueError(
                f"skip must be 'none' with features='public' (both skip baselines are engineered), got {skip!r}"
            )
        config = EnvConfig.from_dict(env_config)
        if int(action_space.n) != config.n_items:
            raise ValueError(f"action space has {action_space.n} actions but env_config has {config.n_items} items")
        self.env_config = config.to_dict()
        self.net_arch = list(net_arch) if net_arch is not None else [64, 64]
        self.activation_fn = activation_fn
        self.features_dim = features_dim
        self.skip = skip
        self.features = features
        self.item_features = ItemFeatures(config, features)
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

        They depend on the observation only (:class:`~recbook.agents.features.ItemFeatures` has no parameters), so
        the online and the target network can share them, and the replay buffer can keep them
        (:mod:`recbook.agents.replay`) instead of recomputing them every time a transition is replayed.
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
        data.update(dict(env_config=self.env_config, skip=self.skip, features=self.features))
        return data


class ItemSharedDQNPolicy(DQNPolicy):
    """SB3 DQN policy whose online and target networks are :class:`ItemSharedQNetwork`.

    Use as ``DQN(ItemSharedDQNPolicy, env, policy_kwargs={"env_config": config.to_dict()})``; save, load, the target
    network and ``predict`` work as for ``MlpPolicy``.

    Args:
        observation_space, action_space, lr_schedule: as SB3's ``DQNPolicy``.
        env_config: ``EnvConfig.to_dict()`` of the (feedback-observation) environment.
        net_arch: hidden sizes of the shared per-item scorer (default ``[64, 64]``).
        skip, features: see :class:`ItemSharedQNetwork`.
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
        features: str = "engineered",
        **kwargs: Any,
    ) -> None:
        if env_config is None:
            raise ValueError("ItemSharedDQNPolicy needs policy_kwargs={'env_config': EnvConfig(...).to_dict()}")
        # Set before DQNPolicy.__init__, which calls make_q_net().
        self.env_config = dict(env_config)
        self.skip = skip
        self.features = features
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
        return ItemSharedQNetwork(
            **net_args, env_config=self.env_config, skip=self.skip, features=self.features
        ).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(dict(env_config=self.env_config, skip=self.skip, features=self.features))
        return data
