"""The environment configuration: one validated, serialisable record shared by the scalar and batched envs.

Policies, agents and saved models carry an :class:`EnvConfig` so that a model can refuse an environment it was
not trained for.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recbook.response import DECAYS, FEEDBACKS, DecayModel
from recbook.users import validate_alpha

__all__ = ["EnvConfig", "OBSERVATIONS"]

OBSERVATIONS: tuple[str, ...] = ("counts", "feedback", "oracle")


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


@dataclass(frozen=True)
class EnvConfig:
    """Everything that defines a recommendation environment.

    Attributes:
        n_items: number of items ``N`` (the action space is ``Discrete(n_items)``).
        session_length: number of recommendations ``T`` per session (one user per session).
        alpha: Dirichlet concentration, a positive number or a tuple of ``n_items`` positive numbers.
        decay: ``"harmonic"`` (``p/k``, the original) or ``"geometric"`` (``p * decay_rate**(k-1)``).
        decay_rate: geometric ratio in ``(0, 1]``; validated even when ``decay="harmonic"``.
        feedback: ``"expected"`` (reward = engagement probability) or ``"click"`` (Bernoulli click).
        observation: ``"counts"``, ``"feedback"`` or ``"oracle"`` (see :mod:`recbook.observations`).
    """

    n_items: int = 10
    session_length: int = 20
    alpha: float | tuple[float, ...] = 1.0
    decay: str = "harmonic"
    decay_rate: float = 0.8
    feedback: str = "expected"
    observation: str = "counts"
    _alpha_vector: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    _decay_model: DecayModel = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n_items = _positive_int("n_items", self.n_items)
        object.__setattr__(self, "n_items", n_items)
        object.__setattr__(self, "session_length", _positive_int("session_length", self.session_length))
        alpha_vector = validate_alpha(self.alpha, n_items)
        if isinstance(self.alpha, (Sequence, np.ndarray)) and not isinstance(self.alpha, str):
            object.__setattr__(self, "alpha", tuple(float(a) for a in alpha_vector))
        else:
            object.__setattr__(self, "alpha", float(self.alpha))  # type: ignore[arg-type]
        object.__setattr__(self, "_alpha_vector", alpha_vector)
        if self.feedback not in FEEDBACKS:
            raise ValueError(f"feedback must be one of {FEEDBACKS}, got {self.feedback!r}")
        if self.observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {OBSERVATIONS}, got {self.observation!r}")
        if self.decay not in DECAYS:
            raise ValueError(f"decay must be one of {DECAYS}, got {self.decay!r}")
        model = DecayModel(self.decay, self.decay_rate)
        object.__setattr__(self, "decay_rate", model.decay_rate)
        object.__setattr__(self, "_decay_model", model)

    @property
    def alpha_vector(self) -> NDArray[np.float64]:
        """The concentration as an array of shape ``(n_items,)`` (a copy)."""
        return self._alpha_vector.copy()

    @property
    def decay_model(self) -> DecayModel:
        """The :class:`~recbook.response.DecayModel` of this configuration."""
        return self._decay_model

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (YAML/JSON friendly) of the constructor arguments."""
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        if isinstance(data["alpha"], tuple):
            data["alpha"] = list(data["alpha"])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        allowed = {"n_items", "session_length", "alpha", "decay", "decay_rate", "feedback", "observation"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown environment parameter(s): {sorted(unknown)}")
        kwargs = dict(data)
        if isinstance(kwargs.get("alpha"), list):
            kwargs["alpha"] = tuple(kwargs["alpha"])
        return cls(**kwargs)

    def replace(self, **changes: Any) -> EnvConfig:
        """A copy with some fields changed (validated again)."""
        data = self.to_dict()
        data.update(changes)
        return EnvConfig.from_dict(data)

    def make_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``gym.make("recbook/Recommendation-v0", **kwargs)``."""
        return self.to_dict()
