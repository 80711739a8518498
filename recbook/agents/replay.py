"""A replay buffer that knows which stored observations each sample read, so the item-shared network's inputs are
computed once per stored observation instead of once per replay.

Why: a transition is replayed about ``batch_size * gradient_steps / num_envs`` times (32 with the defaults), and
the item-shared network's features (:class:`~recbook.agents.features.ItemFeatures`: a top-k over the table of
future marginals and some forty small tensor operations) depend on the observation only. SB3's buffers hand back
observations, not where they came from, so every replay recomputed them, for both networks.

:class:`RecbookReplayBuffer` draws samples exactly as SB3's :class:`~stable_baselines3.common.buffers.NStepReplayBuffer`
(the same random numbers, the same n-step returns, the same next observations; ``n_steps=1`` gives SB3's plain
``ReplayBuffer`` samples) and records the flat positions it read. :class:`ItemInputCache` keeps the scorer's
inputs of each stored observation and next observation, forgotten when the buffer overwrites the slot. An
observation's inputs come from the acting step that computed them anyway (:meth:`RecbookReplayBuffer.offer`); the
next observations' are computed in one batch when the transition is stored, and the agent's next action reuses
them (:meth:`RecbookReplayBuffer.prepared_inputs`) unless a session ended in between. Whatever is still missing
(transitions stored before the cache was attached: the warm-up before ``learning_starts``) is computed on first
use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch as th
from numpy.typing import NDArray
from stable_baselines3.common.buffers import NStepReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.vec_env import VecNormalize

from recbook.agents.networks import ItemInputs

__all__ = ["CACHE_LIMIT_BYTES", "ItemInputCache", "RecbookReplayBuffer"]

#: Largest cache :meth:`RecbookReplayBuffer.attach_cache` allocates; above it (50 items and a 300k buffer need
#: 2.3 GB) training computes the inputs per sample, as before.
CACHE_LIMIT_BYTES = 512 * 2**20


class ItemInputCache:
    """The scorer's inputs (:class:`~recbook.agents.networks.ItemInputs`) of every slot of a replay buffer.

    Two tables, for the buffer's ``observations`` and ``next_observations``, each holding per flat slot
    ``row * n_envs + env`` the items ``(n_items, F)``, the context ``(C,)`` and the skip term ``(n_items,)``, and a
    flag per slot saying whether it holds the inputs of what the buffer stores there now.

    Args:
        slots: ``buffer_size * n_envs`` of the buffer.
        n_items: items per observation.
        n_features: ``(F, C)``, per-item and context widths.
        compute: ``observations (B, obs_size) -> ItemInputs`` (the network's
            :meth:`~recbook.agents.networks.ItemSharedQNetwork.item_inputs`).
    """

    def __init__(
        self, slots: int, n_items: int, n_features: tuple[int, int], compute: Callable[[th.Tensor], ItemInputs]
    ) -> None:
        self.compute = compute
        per_item, context = n_features
        shapes = ((slots, n_items, per_item), (slots, context), (slots, n_items))
        self.tables = [[th.zeros(shape, dtype=th.float32) for shape in shapes] for _ in range(2)]
        self.valid = np.zeros((2, slots), dtype=bool)

    @staticmethod
    def nbytes(slots: int, n_items: int, n_features: tuple[int, int]) -> int:
        """Memory the two tables take, in bytes."""
        per_item, context = n_features
        return 2 * slots * (n_items * (per_item + 1) + context) * 4

    def forget(self, flat: NDArray[np.int64]) -> None:
        """The buffer overwrote the slots ``flat``: their inputs must be recomputed."""
        self.valid[:, flat] = False

    def store(self, table: int, flat: NDArray[np.int64], inputs: ItemInputs) -> None:
        """Keep ``inputs`` as those of slots ``flat`` of ``table`` (0: observations, 1: next observations)."""
        index = th.as_tensor(flat)
        for stored, value in zip(self.tables[table], inputs):
            stored[index] = value
        self.valid[table, flat] = True

    def lookup(self, flats: tuple[NDArray[np.int64], ...], observations: tuple[th.Tensor, ...]) -> list[ItemInputs]:
        """Inputs of ``observations[t]``, stored at the flat positions ``flats[t]`` of table ``t``, computing the
        missing ones (of every table) in one batch."""
        missing = [~self.valid[table, flat] for table, flat in enumerate(flats)]
        if any(m.any() for m in missing):
            slots, rows = [], []
            for table, flat in enumerate(flats):
                unique, first = np.unique(flat[missing[table]], return_index=True)
                slots.append(unique)
                rows.append(observations[table][th.as_tensor(np.flatnonzero(missing[table])[first])])
            with th.no_grad():
                fresh = self.compute(th.cat(rows))
            start = 0
            for table, unique in enumerate(slots):
                stop = start + len(unique)
                self.store(table, unique, fresh.rows(th.arange(start, stop)))
                start = stop
        return [
            ItemInputs(*(stored.index_select(0, th.as_tensor(flat)) for stored in self.tables[table]))
            for table, flat in enumerate(flats)
        ]


class RecbookReplayBuffer(NStepReplayBuffer):
    """SB3's n-step replay buffer (``n_steps=1``: one-step returns) that records where each sample came from.

    After ``sample``, ``last_positions`` holds the flat positions (``row * n_envs + env``) of the sampled
    observations and of their (n-step) next observations; ``cache`` (an :class:`ItemInputCache`), when attached,
    holds the item-shared network's inputs for those positions. Samples are identical to SB3's ``NStepReplayBuffer``
    for the same global numpy random state (tested).
    """

    def __init__(self, *args: Any, n_steps: int = 1, gamma: float = 0.99, **kwargs: Any) -> None:
        super().__init__(*args, n_steps=n_steps, gamma=gamma, **kwargs)
        self.last_positions: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
        self.cache: ItemInputCache | None = None
        self._offered: tuple[NDArray[Any], ItemInputs] | None = None
        self._prepared: tuple[NDArray[Any], ItemInputs] | None = None

    def attach_cache(
        self,
        n_items: int,
        n_features: tuple[int, int],
        compute: Callable[[th.Tensor], ItemInputs],
        limit: int = CACHE_LIMIT_BYTES,
    ) -> bool:
        """Cache the scorer's inputs if the tables fit in ``limit`` bytes; returns whether it did."""
        slots = self.buffer_size * self.n_envs
        if ItemInputCache.nbytes(slots, n_items, n_features) > limit:
            self.cache = None
            return False
        self.cache = ItemInputCache(slots, n_items, n_features, compute)
        return True

    def offer(self, observations: NDArray[Any], inputs: ItemInputs) -> None:
        """The network just computed (or :meth:`prepared_inputs` handed it) ``inputs`` of ``observations`` to act
        on them (the agent's ``predict``); the next :meth:`add` keeps them if it stores these observations."""
        self._offered = (np.array(observations, copy=True), inputs) if self.cache is not None else None

    def prepared_inputs(self, observations: NDArray[Any]) -> ItemInputs | None:
        """The inputs of ``observations`` if they are the next observations of the last :meth:`add` (no user's
        session ended in between), which :meth:`add` computed already; else ``None``."""
        prepared = self._prepared
        if prepared is None or not np.array_equal(prepared[0], observations):
            return None
        return prepared[1]

    def add(self, obs: NDArray[Any], next_obs: NDArray[Any], *args: Any, **kwargs: Any) -> None:
        position = self.pos
        super().add(obs, next_obs, *args, **kwargs)
        offered, self._offered = self._offered, None
        self._prepared = None
        if self.cache is None:
            return
        slots = position * self.n_envs + np.arange(self.n_envs)
        self.cache.forget(slots)
        if offered is not None and np.array_equal(offered[0], obs):
            self.cache.store(0, slots, offered[1])
        # The next observations' inputs, in one batch now: a TD update that samples this newest transition needs
        # them before the agent acts again, and the agent's next action reads the same inputs (prepared_inputs)
        # unless a session ended. So each stored observation's inputs are computed once.
        stored = self.next_observations[position]
        with th.no_grad():
            following = self.cache.compute(th.as_tensor(stored, dtype=th.float32))
        self.cache.store(1, slots, following)
        self._prepared = (np.array(stored, copy=True), following)

    def _get_samples(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> ReplayBufferSamples:
        # SB3's NStepReplayBuffer._get_samples, recording the positions it reads.
        env_indices = np.random.randint(0, self.n_envs, size=batch_inds.shape)
        # The slot at pos - 1 is followed by older data once the buffer wraps: treat it as truncated while sampling.
        last_valid = self.pos - 1
        saved_timeouts = self.timeouts[last_valid].copy()
        self.timeouts[last_valid] = np.logical_or(saved_timeouts, np.logical_not(self.dones[last_valid]))

        steps = np.arange(self.n_steps).reshape(1, -1)
        indices = (batch_inds[:, None] + steps) % self.buffer_size
        rewards = self._normalize_reward(self.rewards[indices, env_indices[:, None]], env)
        ended = np.logical_or(self.dones[indices, env_indices[:, None]], self.timeouts[indices, env_indices[:, None]])
        end = np.where(ended.any(axis=1), ended.argmax(axis=1), self.n_steps - 1)
        mask = steps <= end[:, None]
        discounts = self.gamma ** mask.sum(axis=1, keepdims=True).astype(np.float32)
        returns = (rewards * (self.gamma ** np.arange(self.n_steps, dtype=np.float32)).reshape(1, -1) * mask).sum(
            axis=1, keepdims=True
        )
        last = (batch_inds + end) % self.buffer_size
        next_obs = self._normalize_obs(self.next_observations[last, env_indices], env)
        final_dones = self.dones[last, env_indices][:, None].astype(np.float32) * (
            1.0 - self.timeouts[last, env_indices][:, None].astype(np.float32)
        )
        self.timeouts[last_valid] = saved_timeouts

        obs = self._normalize_obs(self.observations[batch_inds, env_indices], env)
        self.last_positions = (batch_inds * self.n_envs + env_indices, last * self.n_envs + env_indices)
        return ReplayBufferSamples(
            observations=self.to_torch(obs),  # type: ignore[arg-type]
            actions=self.to_torch(self.actions[batch_inds, env_indices]),
            next_observations=self.to_torch(next_obs),  # type: ignore[arg-type]
            dones=self.to_torch(final_dones),
            rewards=self.to_torch(returns),
            discounts=self.to_torch(discounts),
        )

    def cached_inputs(self, samples: ReplayBufferSamples) -> tuple[ItemInputs, ItemInputs] | None:
        """The scorer's inputs of the last sample's observations and next observations, or ``None`` without a
        cache."""
        if self.cache is None or self.last_positions is None:
            return None
        current, following = self.cache.lookup(self.last_positions, (samples.observations, samples.next_observations))
        return current, following

    def __getstate__(self) -> dict[str, Any]:
        # Checkpoints pickle the buffer: the cache is derived data (and holds the network's method); drop it.
        state = self.__dict__.copy()
        state["cache"] = None
        state["last_positions"] = None
        state["_offered"] = None
        state["_prepared"] = None
        return state
