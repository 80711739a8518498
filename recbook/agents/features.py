"""The item-shared network's inputs: per-item features, a pooled context and the skip baselines, from a feedback
observation, in batched torch.

Three feature sets (``features=``), so that what an agent is *told* can be separated from what it *learns*
(chapter 9's and chapter 6's ablations):

* ``"engineered"`` (default): everything :mod:`recbook.agents.networks` describes. Per item the posterior-mean
  next reward ``g_a`` (from the Dirichlet prior), the decay multiplier, the exploit-value lookahead; with qualities
  also each item's true leave probability ``l_a = leave_rate (1 - q_a)``, ``g_a (1 - l_a)`` and bayes-index's own
  score ``g_a / (l_a + h - l_a h)``, and the largest index in the context.
* ``"posterior"``: the same without anything computed from ``leave_rate``: the posterior-mean features and the
  exploit lookahead, plus the quality ``q_a`` itself (public), but no leave probability, no survival-weighted
  reward, no index.
* ``"public"``: only what a real system logs. Per item whether it was shown, what it revealed (the feedback
  value), how often it was shown (``c_a / T``) and the catalogue's quality ``q_a``; in the context the steps left,
  the revealed mass, the fraction of items not yet shown and the largest revealed value. No prior, no decay model,
  no posterior mean, no leave probability, no index: a plain item-shared network. It has no skip baseline either
  (the network must use ``skip="none"``).

The skip baselines (``exploit`` value ``b_a`` and posterior-mean next reward ``g_a``) are returned for every set;
the network decides whether to add one (and refuses to with ``"public"``).
"""

from __future__ import annotations

import numpy as np
import torch as th
from torch import nn

from recbook._checks import check_choice
from recbook.agents.config import FEATURE_SETS
from recbook.config import EnvConfig

__all__ = ["FEATURE_SETS", "ItemFeatures", "joint_inputs"]

#: Number of per-item features and of pooled context features (see :class:`ItemFeatures`).
N_ITEM_FEATURES = 9
N_CONTEXT_FEATURES = 9
#: Extra per-item and context features when the items carry a quality (``config.has_quality``).
N_QUALITY_ITEM_FEATURES = 4
N_QUALITY_CONTEXT_FEATURES = 1
#: Per-item and context features of the ``"public"`` set (plus the quality per item when items have one).
N_PUBLIC_ITEM_FEATURES = 3
N_PUBLIC_CONTEXT_FEATURES = 4


def joint_inputs(items: th.Tensor, context: th.Tensor) -> th.Tensor:
    """What an item-shared scorer reads for each item: its features next to the pooled context, ``(B, n, F + C)``
    from ``items (B, n, F)`` and ``context (B, C)``."""
    return th.cat([items, context.unsqueeze(1).expand(-1, items.shape[1], -1)], dim=-1)


class ItemFeatures(nn.Module):
    """Parse feedback observations ``(B, 3n + 1)`` (``(B, 4n + 1)`` with qualities) into per-item features, context
    and the skip baseline.

    ``forward(obs)`` returns ``(items (B, n, F), context (B, C), exploit_baseline (B, n), next_value (B, n))`` with
    ``F = 9, C = 9`` (``F = 13, C = 10`` with qualities: :attr:`n_features`).
    It has no parameters; the decay table and prior live in buffers so the module moves with the network.
    """

    def __init__(self, config: EnvConfig, features: str = "engineered") -> None:
        super().__init__()
        check_choice(features, "features", FEATURE_SETS)
        self.features = features
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
        quality = int(self.has_quality)
        if self.features == "public":
            return N_PUBLIC_ITEM_FEATURES + quality, N_PUBLIC_CONTEXT_FEATURES
        if self.features == "posterior":
            return N_ITEM_FEATURES + quality, N_CONTEXT_FEATURES
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
        if self.features == "public":
            public_items = [revealed, value, counts.float() / total]
            if self.has_quality:
                public_items.append(self.quality.expand(batch, n))
            items = th.stack(public_items, dim=-1)
            largest = value.amax(dim=1, keepdim=True)
            context = th.cat([k.float() / total, mass, n_unrevealed / n, largest], dim=1)
            return items, context, baseline, next_value
        if self.features == "posterior":
            if self.has_quality:
                items = th.cat([items, self.quality.expand(batch, n).unsqueeze(-1)], dim=-1)
            return items, context, baseline, next_value
        if self.has_quality:
            # The qualities are public (the catalogue's); read from the buffers, identical to obs[:, 3n+1 : 4n+1].
            leave = self.leave.expand(batch, n)
            hazard = 1.0 / k.float().clamp(min=1.0)
            index = next_value / (leave + hazard - leave * hazard)
            quality_items = th.stack([self.quality.expand(batch, n), leave, next_value * (1.0 - leave), index], dim=-1)
            items = th.cat([items, quality_items], dim=-1)
            context = th.cat([context, index.amax(dim=1, keepdim=True)], dim=1)
        return items, context, baseline, next_value


