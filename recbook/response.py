"""The response model: engagement probability with diminishing returns, and click sampling.

Recommending item ``a`` for the k-th time in a session (k counts this recommendation, so k >= 1) engages the user
with probability ``p[a] * m(k)`` where the decay multiplier ``m`` is

* ``"harmonic"`` (the original project): ``m(k) = 1 / k``;
* ``"geometric"``: ``m(k) = decay_rate ** (k - 1)`` with ``0 < decay_rate <= 1`` (``1`` means no decay).

Both multipliers are non-increasing in ``k`` with ``m(1) = 1``: the first recommendation of an item is worth its
preference, each repeat is worth less. That is what makes the greedy oracle optimal (chapter 2).

Under ``feedback="expected"`` the reward is the engagement probability itself (deterministic); under
``feedback="click"`` it is a Bernoulli click with that probability. Under ``feedback="choice"`` (slates,
:mod:`recbook.choice`) the reward is 1 when the user takes an item from the slate and 0 otherwise: the choice is the
click.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CHOICE_FEEDBACK", "DECAYS", "FEEDBACKS", "DecayModel", "engagement_probability", "sample_clicks"]

DECAYS: tuple[str, ...] = ("harmonic", "geometric")
FEEDBACKS: tuple[str, ...] = ("expected", "click")
#: The slates' third feedback (:mod:`recbook.choice`): 1 per item the user takes, whatever its engagement.
CHOICE_FEEDBACK = "choice"

Decay = Literal["harmonic", "geometric"]


@dataclass(frozen=True)
class DecayModel:
    """How much the k-th recommendation of the same item is worth, relative to the first.

    Args:
        decay: ``"harmonic"`` or ``"geometric"``.
        decay_rate: the geometric ratio, ``0 < decay_rate <= 1``; validated for both decays (unused by
            ``"harmonic"``) so a typo never hides.
    """

    decay: str = "harmonic"
    decay_rate: float = 0.8

    def __post_init__(self) -> None:
        if self.decay not in DECAYS:
            raise ValueError(f"decay must be one of {DECAYS}, got {self.decay!r}")
        rate = self.decay_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)):
            raise ValueError(f"decay_rate must be a number in (0, 1], got {rate!r}")
        if not math.isfinite(float(rate)) or not 0.0 < float(rate) <= 1.0:
            raise ValueError(f"decay_rate must be in (0, 1], got {rate!r}")
        object.__setattr__(self, "decay_rate", float(rate))

    def multiplier(self, k: ArrayLike) -> NDArray[np.float64]:
        """The decay multiplier ``m(k)`` for the k-th recommendation (``k >= 1``, any array shape)."""
        k = np.asarray(k, dtype=np.float64)
        if np.any(k < 1):
            raise ValueError("k must be >= 1 (k counts the current recommendation)")
        if self.decay == "harmonic":
            return 1.0 / k
        return self.decay_rate ** (k - 1.0)

    def exposure_table(self, max_count: int) -> NDArray[np.float64]:
        """Cumulative multipliers: ``table[c] = m(1) + ... + m(c)`` for ``c = 0..max_count`` (``table[0] = 0``).

        ``table[c]`` is the expected reward, per unit of preference, of recommending an item ``c`` times; the
        reward sum of an item divided by it estimates that item's preference.
        """
        if max_count < 0:
            raise ValueError(f"max_count must be >= 0, got {max_count}")
        table = np.zeros(max_count + 1)
        if max_count:
            table[1:] = np.cumsum(self.multiplier(np.arange(1, max_count + 1)))
        return table


def engagement_probability(preferences: ArrayLike, k: ArrayLike, decay_model: DecayModel) -> NDArray[np.float64]:
    """Engagement probability ``p * m(k)`` of a recommendation that is the k-th of its item (broadcasts)."""
    return np.asarray(preferences, dtype=np.float64) * decay_model.multiplier(k)


def sample_clicks(np_random: np.random.Generator, probability: ArrayLike) -> NDArray[np.float64]:
    """Bernoulli clicks (``0.0`` or ``1.0``) with the given probabilities, drawn from ``np_random``."""
    probability = np.asarray(probability, dtype=np.float64)
    return (np_random.random(probability.shape) < probability).astype(np.float64)
