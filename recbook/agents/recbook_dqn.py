"""The DQN algorithm recbook trains: Stable-Baselines3's ``DQN`` with Double DQN targets, per-user epsilon-greedy
exploration, a choice of loss, and a fast TD update for the item-shared network.

:class:`RecbookDQN` is only the algorithm; the agent that wraps a trained model (predict, evaluate, save, load) is
:class:`recbook.agents.agent.DQNAgent`, and a training run is :func:`recbook.agents.train.train_dqn`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from numpy.typing import NDArray
from stable_baselines3 import DQN
from torch.nn import functional as F

from recbook.agents.networks import ItemSharedQNetwork
from recbook.agents.replay import RecbookReplayBuffer

__all__ = ["RecbookDQN"]


class RecbookDQN(DQN):
    """SB3's DQN with two switches SB3 lacks: Double DQN targets and per-user epsilon-greedy exploration.

    Args:
        double_q: use the online network to choose the next action and the target network to value it.
        per_user_exploration: draw the epsilon coin per user rather than once for the whole batch.
        loss: ``"huber"`` or ``"mse"``.
        *args: as :class:`stable_baselines3.DQN`.
        **kwargs: as :class:`stable_baselines3.DQN`.
    """

    def __init__(
        self,
        *args: Any,
        double_q: bool = False,
        per_user_exploration: bool = False,
        loss: str = "huber",
        **kwargs: Any,
    ) -> None:
        self.double_q = double_q
        self.per_user_exploration = per_user_exploration
        self.loss = loss
        super().__init__(*args, **kwargs)

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[NDArray[Any], Any]:
        if deterministic or not self.per_user_exploration:
            return super().predict(observation, state, episode_start, deterministic)
        batch = np.asarray(observation)
        if self.shared_features and isinstance(self.q_net, ItemSharedQNetwork) and batch.ndim == 2:
            # Training's acting step: the greedy action from the item inputs, which the replay buffer keeps for
            # the TD updates (see recbook.agents.replay), without SB3's per-call wrapping.
            buffer = self.replay_buffer if isinstance(self.replay_buffer, RecbookReplayBuffer) else None
            with th.no_grad():
                inputs = buffer.prepared_inputs(batch) if buffer is not None else None
                if inputs is None:
                    inputs = self.q_net.item_inputs(th.as_tensor(batch, dtype=th.float32))
                action = self.q_net.scores(inputs).argmax(dim=1).numpy()
            if buffer is not None:
                buffer.offer(batch, inputs)
        else:
            action, state = self.policy.predict(observation, state, episode_start, deterministic=True)
            action = np.asarray(action)
        if action.ndim == 1:
            explore = np.random.rand(action.shape[0]) < self.exploration_rate
            if explore.any():
                action = action.copy()
                action[explore] = np.random.randint(int(self.action_space.n), size=int(explore.sum()))
        elif np.random.rand() < self.exploration_rate:
            action = np.array(self.action_space.sample())
        return action, state

    #: Compute the item-shared network's features once per sampled batch and score only the items the TD update
    #: needs (see ``_item_shared_q``). ``False`` runs SB3's generic path — three full network calls per
    #: gradient step — which ``python -m recbook.bench train`` uses as its reference.
    shared_features: bool = True
    _cache_tried: Any = None

    def _generic_q(self, replay_data: Any) -> tuple[th.Tensor, th.Tensor]:
        """``(Q(s, a), Q_target(s', a'))`` by calling each network on whole observations (any policy)."""
        with th.no_grad():
            next_q_target = self.q_net_target(replay_data.next_observations)
            if self.double_q:
                next_actions = self.q_net(replay_data.next_observations).argmax(dim=1, keepdim=True)
                next_q = next_q_target.gather(1, next_actions)
            else:
                next_q = next_q_target.max(dim=1, keepdim=True).values
        current_q = self.q_net(replay_data.observations).gather(1, replay_data.actions.long())
        return current_q, next_q

    def _item_shared_q(self, replay_data: Any) -> tuple[th.Tensor, th.Tensor]:
        """:meth:`_generic_q` for :class:`~recbook.agents.networks.ItemSharedQNetwork`, the same values with less
        work: the features of observations and next observations computed once — read from the replay buffer's
        cache (:mod:`recbook.agents.replay`) or in one call — and shared by both networks; the online scorer on
        every next item only to choose ``a'`` (Double DQN), and on one row per transition for ``Q(s, a)`` and
        ``Q_target(s', a')``."""
        buffer = self.replay_buffer
        cached = buffer.cached_inputs(replay_data) if isinstance(buffer, RecbookReplayBuffer) else None
        with th.no_grad():
            if cached is None:
                stacked = th.cat([replay_data.observations, replay_data.next_observations])
                current, following = self.q_net.item_inputs(stacked).split(replay_data.observations.shape[0])
            else:
                current, following = cached
            if self.double_q:
                next_actions = self.q_net.scores(following).argmax(dim=1, keepdim=True)
                next_q = self.q_net_target.scores(following, next_actions)
            else:
                next_q = self.q_net_target.scores(following).max(dim=1, keepdim=True).values
        current_q = self.q_net.scores(current, replay_data.actions)
        return current_q, next_q

    def _attach_cache(self) -> None:
        """Give a :class:`~recbook.agents.replay.RecbookReplayBuffer` the item-shared network's input cache (once;
        again after a resumed run loads its buffer, whose pickle drops the cache)."""
        buffer = self.replay_buffer
        if isinstance(buffer, RecbookReplayBuffer) and buffer.cache is None and buffer is not self._cache_tried:
            self._cache_tried = buffer
            item_features = self.q_net.item_features
            buffer.attach_cache(item_features.n_items, item_features.n_features, self.q_net.item_inputs)

    def _excluded_save_params(self) -> list[str]:
        # The cache bookkeeping points at the replay buffer and the policy: never pickle it into a model file.
        return [*super()._excluded_save_params(), "_cache_tried", "_online"]

    def _online_parameters(self) -> list[th.nn.Parameter]:
        # What SB3 clips: the policy's parameters with a gradient, i.e. the online network's (the target network's
        # never get one). Listed once rather than by walking the modules at every gradient step.
        if getattr(self, "_online", None) is None or self._online[0] is not self.policy:
            self._online = (self.policy, [p for p in self.policy.parameters() if p.requires_grad])
        return self._online[1]

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        # SB3's DQN.train with the Double-DQN target and a choice of loss.
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        fast = self.shared_features and isinstance(self.q_net, ItemSharedQNetwork)
        if fast:
            self._attach_cache()
        losses = []
        for _ in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
            current_q, next_q = self._item_shared_q(replay_data) if fast else self._generic_q(replay_data)
            target_q = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q
            if self.loss == "mse":
                loss = F.mse_loss(current_q, target_q)
            else:
                loss = F.smooth_l1_loss(current_q, target_q)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self._online_parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)))
