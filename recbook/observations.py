"""What the agent sees: the three observation modes, their layout, and how they are built.

One implementation serves the scalar env (arrays of shape ``(n,)``) and the batched env (shape ``(K, n)``):
every function here broadcasts over leading dimensions.

``"counts"`` — the original project's observation, shape ``(n,)``: how many times each item has been recommended
this session (raw counts, ``0..T``). It is the same for every user, so no agent can personalise from it.

``"feedback"`` — everything the agent has seen this session, shape ``(3n + 1,)``, all scaled to small ranges:

=============  ===============  =========================================================  ====  ===========
slice          name             meaning                                                    min   max
=============  ===============  =========================================================  ====  ===========
``[0, n)``     counts           ``counts[a] / T``                                          0     1
``[n, 2n)``    revealed         ``1`` if item ``a`` has been recommended this session      0     1
``[2n, 3n)``   value            ``reward_sum[a] / exposure(counts[a])``, 0 if unrevealed   0     ``v_max``
``3n``         steps remaining  ``(T - t) / T``                                            0     1
=============  ===============  =========================================================  ====  ===========

``exposure(c) = m(1) + ... + m(c)`` is the summed decay multiplier of ``c`` recommendations
(:meth:`recbook.response.DecayModel.exposure_table`), so ``value`` is the unbiased estimate of the item's
preference: under ``feedback="expected"`` one recommendation reveals ``p[a]`` exactly and ``v_max = 1``; under
``feedback="click"`` it is clicks over exposure and ``v_max = T / exposure(T)``. The click count is recoverable as
``value * exposure(counts)``.

When the items carry a quality (``item_quality`` set, the long-term-engagement setting), the feedback
observation gains ``n`` more entries, ``[3n + 1, 4n + 1)``: each item's quality in ``[0, 1]``, public knowledge
like the catalogue itself. Shape ``(4n + 1,)``.

When the user chooses from a slate (``config.is_slate``: slates of ``k > 1`` items, a cascade, or a no-click
mass; :mod:`recbook.choice`), ``counts`` count *consumptions* (items the user took), and the feedback observation
gains ``2n`` more entries after the qualities (if any): ``shown[a] / T``, how many slates item ``a`` has been in,
and a one-hot of the item taken at the previous step (all zeros at the start and after a step with no choice). With
them a policy can follow every choice the user made: it knows its own slates.

``"oracle"`` — the feedback observation followed by the true preferences ``p`` (``n`` more entries in [0, 1]),
shape ``(4n + 1,)`` (``(5n + 1,)`` with qualities). An upper bound for learning, never a fair comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from recbook.config import EnvConfig

__all__ = ["ObservationLayout", "FeedbackView"]


@dataclass(frozen=True)
class FeedbackView:
    """A parsed feedback/oracle observation (arrays with the observation's leading batch shape).

    Attributes:
        counts: times each item was recommended, int, shape ``(..., n)``.
        revealed: whether each item has been recommended, bool, ``(..., n)``.
        value: preference estimate of each revealed item (0 where unrevealed), ``(..., n)``.
        clicks: summed rewards of each item (``value * exposure(counts)``), ``(..., n)``.
        steps_remaining: recommendations left in the session, int, ``(...,)``.
        preferences: the true preferences (oracle observation only), else ``None``.
        quality: item qualities ``(..., n)`` when the configuration has them, else ``None``.
        shown: slate configurations only: how many slates each item has been in, int ``(..., n)``; else ``None``.
        last_choice: slate configurations only: the item taken at the previous step, int ``(...,)``, ``-1`` at
            the start and after a step with no choice; else ``None``.
    """

    counts: NDArray[np.int64]
    revealed: NDArray[np.bool_]
    value: NDArray[np.float64]
    clicks: NDArray[np.float64]
    steps_remaining: NDArray[np.int64]
    preferences: NDArray[np.float64] | None
    quality: NDArray[np.float64] | None = None
    shown: NDArray[np.int64] | None = None
    last_choice: NDArray[np.int64] | None = None


@dataclass(frozen=True)
class ObservationLayout:
    """Layout, space and construction of the observation for one :class:`~recbook.config.EnvConfig`."""

    config: EnvConfig
    exposure: NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "exposure", self.config.decay_model.exposure_table(self.config.session_length))

    @property
    def n_items(self) -> int:
        return self.config.n_items

    @property
    def size(self) -> int:
        """Length of the observation vector."""
        n = self.config.n_items
        if self.config.observation == "counts":
            return n
        feedback = 3 * n + 1 + (n if self.config.has_quality else 0) + (2 * n if self.config.is_slate else 0)
        return feedback + (n if self.config.observation == "oracle" else 0)

    @property
    def value_high(self) -> float:
        """Upper bound of the ``value`` slice: 1 for expected feedback, ``T / exposure(T)`` for clicks."""
        if self.config.feedback == "expected":
            return 1.0
        total = self.config.session_length
        return float(total / self.exposure[total])

    def space(self) -> spaces.Box:
        """The single-user observation space (float32 ``Box``)."""
        n, total = self.config.n_items, self.config.session_length
        if self.config.observation == "counts":
            return spaces.Box(0.0, float(total), shape=(n,), dtype=np.float32)
        high = np.ones(self.size, dtype=np.float32)
        high[2 * n : 3 * n] = self.value_high
        return spaces.Box(np.zeros(self.size, dtype=np.float32), high, dtype=np.float32)

    def build(
        self,
        counts: NDArray[np.int64],
        reward_sums: NDArray[np.float64],
        step: NDArray[np.int64] | int,
        preferences: NDArray[np.float64],
        shown: NDArray[np.int64] | None = None,
        last_choice: NDArray[np.int64] | None = None,
    ) -> NDArray[np.float32]:
        """Build observations from session state (shapes ``(..., n)``; ``step`` is ``(...)`` or an int).

        ``preferences`` is read only for the oracle observation; ``shown`` (``(..., n)``) and ``last_choice``
        (``(...)``, ``-1`` for none) only for slate configurations, where they are required.
        """
        if self.config.observation == "counts":
            return counts.astype(np.float32)
        total = float(self.config.session_length)
        exposure = self.exposure[counts]
        value = np.divide(reward_sums, exposure, out=np.zeros_like(reward_sums), where=counts > 0)
        remaining = (total - np.asarray(step, dtype=np.float64)) / total
        parts = [
            counts / total,
            (counts > 0).astype(np.float64),
            value,
            np.broadcast_to(remaining, counts.shape[:-1])[..., None],
        ]
        if self.config.has_quality:
            parts.append(np.broadcast_to(self.config.quality_vector, counts.shape))
        if self.config.is_slate:
            if shown is None or last_choice is None:
                raise ValueError("shown and last_choice are required for a slate configuration (config.is_slate)")
            choice = np.asarray(last_choice)
            parts.append(shown / total)
            parts.append((np.arange(counts.shape[-1]) == choice[..., None]).astype(np.float64))
        if self.config.observation == "oracle":
            parts.append(preferences)
        return np.concatenate(parts, axis=-1).astype(np.float32)

    def parse(self, observation: NDArray[np.floating]) -> FeedbackView:
        """Split a feedback or oracle observation (any leading batch shape) into named arrays."""
        if self.config.observation == "counts":
            raise ValueError("observation='counts' carries no feedback; parse needs 'feedback' or 'oracle'")
        obs = np.asarray(observation, dtype=np.float64)
        if obs.shape[-1] != self.size:
            raise ValueError(f"observation must have last dimension {self.size}, got shape {obs.shape}")
        n, total = self.config.n_items, self.config.session_length
        counts = np.rint(obs[..., :n] * total).astype(np.int64)
        value = obs[..., 2 * n : 3 * n]
        quality_end = 3 * n + 1 + (n if self.config.has_quality else 0)
        end = quality_end + (2 * n if self.config.is_slate else 0)
        shown = last_choice = None
        if self.config.is_slate:
            shown = np.rint(obs[..., quality_end : quality_end + n] * total).astype(np.int64)
            one_hot = obs[..., quality_end + n : end]
            last_choice = np.where(one_hot.max(axis=-1) > 0.5, one_hot.argmax(axis=-1), -1).astype(np.int64)
        return FeedbackView(
            counts=counts,
            revealed=obs[..., n : 2 * n] > 0.5,
            value=value,
            clicks=value * self.exposure[counts],
            steps_remaining=np.rint(obs[..., 3 * n] * total).astype(np.int64),
            preferences=obs[..., end:] if self.config.observation == "oracle" else None,
            quality=obs[..., 3 * n + 1 : quality_end] if self.config.has_quality else None,
            shown=shown,
            last_choice=last_choice,
        )
