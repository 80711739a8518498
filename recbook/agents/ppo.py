"""Stable-Baselines3's PPO on the recommendation simulator: an alternative to the DQN, small and on purpose plain.

Two policies:

* ``"item_shared"`` (default) — the actor scores every item with one shared MLP over the item features of
  :class:`recbook.agents.features.ItemFeatures` (the DQN's features, quality included; ``PPOConfig.features``
  picks the set, as ``dqn.features`` does for the DQN); the scores are the logits of
  the categorical policy, so the policy is permutation equivariant like the DQN. The critic is an MLP on the pooled
  context plus the mean of the per-item features. Nothing else differs from SB3's ``ActorCriticPolicy``.
* ``"mlp"`` — SB3's flat ``MlpPolicy`` on the raw feedback observation.

Training uses the same batched environment (:class:`recbook.agents.sb3.SB3VecEnv`: a transition ends when the
sampled user leaves), the same TRAIN users and the same learning curve on VALIDATION users as the DQN.
Its hyperparameters are :class:`recbook.agents.config.PPOConfig`; the trained model is a
:class:`recbook.agents.agent.PPOAgent`, saved and loaded like the DQN's (``recbook.load_agent`` reads either).
``PPOConfig``, ``PPOAgent`` and ``load_ppo`` are re-exported here, their old home.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from recbook import seeds
from recbook._checks import check_int
from recbook.agents.agent import PPOAgent, load_ppo
from recbook.agents.callbacks import LEARNING_CURVE_COLUMNS, LearningCurveCallback
from recbook.agents.config import PPOConfig
from recbook.agents.features import ItemFeatures, joint_inputs
from recbook.agents.sb3 import SB3VecEnv
from recbook.config import EnvConfig

__all__ = ["PPOAgent", "PPOConfig", "ItemSharedActorCriticPolicy", "load_ppo", "train_ppo"]


class _ItemSharedExtractor(nn.Module):
    """SB3's ``mlp_extractor`` slot: per-item logits for the actor, a pooled latent for the critic."""

    def __init__(self, config: EnvConfig, net_arch: list[int], features: str = "engineered") -> None:
        super().__init__()
        self.item_features = ItemFeatures(config, features)
        n_item, n_context = self.item_features.n_features
        self.latent_dim_pi = config.n_items
        self.latent_dim_vf = net_arch[-1]

        def mlp(width: int, out: int | None) -> nn.Sequential:
            layers: list[nn.Module] = []
            for hidden in net_arch:
                layers += [nn.Linear(width, hidden), nn.Tanh()]
                width = hidden
            if out is not None:
                layers.append(nn.Linear(width, out))
            return nn.Sequential(*layers)

        self.scorer = mlp(n_item + n_context, 1)
        self.critic = mlp(n_item + n_context, None)

    def _joint(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        items, context, _, _ = self.item_features(features)
        return joint_inputs(items, context), th.cat([items.mean(1), context], 1)

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        joint, _ = self._joint(features)
        return self.scorer(joint).squeeze(-1)

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        _, pooled = self._joint(features)
        return self.critic(pooled)

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        joint, pooled = self._joint(features)
        return self.scorer(joint).squeeze(-1), self.critic(pooled)


class ItemSharedActorCriticPolicy(ActorCriticPolicy):
    """Actor-critic whose logits are one shared scorer applied to every item (see the module docstring).

    Use ``PPO(ItemSharedActorCriticPolicy, env, policy_kwargs={"env_config": config.to_dict()})``.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Any,
        env_config: dict[str, Any] | None = None,
        net_arch: list[int] | None = None,
        features: str = "engineered",
        **kwargs: Any,
    ) -> None:
        if env_config is None:
            raise ValueError("ItemSharedActorCriticPolicy needs policy_kwargs={'env_config': config.to_dict()}")
        self.env_config = dict(env_config)
        self.item_arch = list(net_arch) if net_arch is not None else [64, 64]
        self.features = features
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = _ItemSharedExtractor(EnvConfig.from_dict(self.env_config), self.item_arch, self.features)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        # The per-item scores are the logits: no dense layer mixing items after them.
        self.action_net = nn.Identity()
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(dict(env_config=self.env_config, net_arch=self.item_arch, features=self.features))
        return data


def train_ppo(
    config: EnvConfig,
    ppo: PPOConfig | None = None,
    total_timesteps: int = 200_000,
    seed: int = 0,
    num_envs: int = 16,
    eval_users: int = 2_000,
    eval_freq: int = 20_000,
    n_threads: int = 1,
) -> PPOAgent:
    """Train PPO on ``config`` (feedback observation) from TRAIN users; learning curve on VALIDATION users.

    Args:
        config: the environment; must use ``observation="feedback"``.
        ppo: hyperparameters (default :class:`~recbook.agents.config.PPOConfig`).
        total_timesteps: environment steps (transitions summed over users).
        seed: seeds the training users, torch and the policy's sampling.
        num_envs: users stepped together.
        eval_users, eval_freq: learning-curve users per point and env steps between points.
        n_threads: torch threads.
    """
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    if config.observation != "feedback":
        raise ValueError(f"train_ppo reads the feedback observation; got observation={config.observation!r}")
    total_timesteps = check_int(total_timesteps, "total_timesteps", low=1)
    ppo = ppo if ppo is not None else PPOConfig()
    th.set_num_threads(n_threads)
    env = SB3VecEnv(config, num_envs, seed=seed)
    kwargs = {k: v for k, v in asdict(ppo).items() if k not in ("policy", "net_arch", "features")}
    if ppo.policy == "item_shared":
        policy: Any = ItemSharedActorCriticPolicy
        policy_kwargs: dict[str, Any] = {
            "env_config": config.to_dict(),
            "net_arch": ppo.net_arch,
            "features": ppo.features,
        }
    else:
        policy, policy_kwargs = "MlpPolicy", {"net_arch": ppo.net_arch}
    model = PPO(
        policy,
        env,
        policy_kwargs=policy_kwargs,
        seed=seeds.derive_seed(seed, seeds.TRAIN, "training", "ppo"),
        device="cpu",
        verbose=0,
        **kwargs,
    )
    # The learning curve's VALIDATION users are those of seed 0 for every training seed (the DQN's use its training
    # seed); kept, since the committed PPO curves were measured so.
    curve = LearningCurveCallback(config, eval_users, eval_freq, seed=0)
    model.learn(total_timesteps=total_timesteps, callback=curve)
    table = curve.learning_curve
    return PPOAgent(model, config, ppo, seed, table if len(table) else pd.DataFrame(columns=LEARNING_CURVE_COLUMNS))
