"""The environment configuration: one validated, serialisable record shared by the scalar and batched envs.

Policies, agents and saved models carry an :class:`EnvConfig` so that a model can refuse an environment it was
not trained for.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recbook import seeds
from recbook.choice import CHOICE_MODELS, choice_probabilities, choice_scores
from recbook.response import CHOICE_FEEDBACK, DECAYS, FEEDBACKS, DecayModel
from recbook.seeds import validate_seed
from recbook.users import validate_alpha

__all__ = ["EnvConfig", "OBSERVATIONS", "PARAMETERS"]

OBSERVATIONS: tuple[str, ...] = ("counts", "feedback", "oracle")


def _item_quality(
    value: object, n_items: int, catalog_seed: int
) -> tuple[NDArray[np.float64], tuple[float, ...] | str | None]:
    """``(quality array, value to store)`` for ``item_quality``; ``ValueError`` naming it otherwise."""
    if value is None:
        return np.zeros(n_items), None
    if isinstance(value, str):
        if value != "uniform":
            raise ValueError(f"item_quality must be None, 'uniform' or {n_items} numbers in [0, 1], got {value!r}")
        # The catalogue belongs to no user population: its own seed, no stream.
        quality = seeds.generator(catalog_seed, None, "catalog").random(n_items)
        return quality, "uniform"
    try:
        quality = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"item_quality must be None, 'uniform' or {n_items} numbers in [0, 1], got {value!r}") from exc
    if quality.shape != (n_items,):
        raise ValueError(f"item_quality must have length n_items={n_items}, got shape {quality.shape}")
    if not np.all(np.isfinite(quality)) or np.any(quality < 0) or np.any(quality > 1):
        raise ValueError(f"item_quality must be numbers in [0, 1], got {value!r}")
    return quality, tuple(float(q) for q in quality)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _unit_interval(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _attention(value: object, slate_size: int) -> tuple[NDArray[np.float64], float | tuple[float, ...]]:
    """``(per-position array, value to store)`` for ``attention``; ``ValueError`` naming it otherwise."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = _unit_interval("attention", value)
        return np.full(slate_size, number), number
    message = f"attention must be a number in [0, 1] or slate_size={slate_size} numbers in [0, 1], got {value!r}"
    if isinstance(value, str) or not isinstance(value, (Sequence, np.ndarray)):
        raise ValueError(message)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(message) from exc
    if array.shape != (slate_size,) or not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array > 1):
        raise ValueError(message)
    return array, tuple(float(a) for a in array)


def _param(default: Any, help: str, **extra: Any) -> Any:
    """A configuration field with the one-line ``help`` the CLI shows (``metadata``)."""
    return field(default=default, metadata={"help": help, **extra})


#: The slate fields (:mod:`recbook.choice`), left out of ``repr`` while all keep their defaults.
_SLATE_FIELDS: tuple[str, ...] = ("slate_size", "choice_model", "no_click_mass", "attention", "leave_no_click")


@dataclass(frozen=True, repr=False)
class EnvConfig:
    """Everything that defines a recommendation environment — the one place each parameter is defined.

    The scalar and batched environments take exactly these fields as keyword arguments, the CLI builds one flag
    per field (``--n-items``, ``--leave-rate``, ...) from the ``help`` in each field's metadata, and YAML files
    hold :meth:`to_dict`. A new parameter is added here and nowhere else.

    Attributes:
        n_items: number of items ``N`` (the action space is ``Discrete(n_items)``).
        session_length: number of recommendations ``T`` per session (one user per session).
        alpha: Dirichlet concentration, a positive number or a tuple of ``n_items`` positive numbers.
        decay: ``"harmonic"`` (``p/k``, the original) or ``"geometric"`` (``p * decay_rate**(k-1)``).
        decay_rate: geometric ratio in ``(0, 1]``; validated even when ``decay="harmonic"``.
        feedback: ``"expected"`` (reward = engagement probability), ``"click"`` (Bernoulli click) or, when the
            user chooses (``is_slate``), ``"choice"`` (1 when the user takes an item, 0 otherwise).
        observation: ``"counts"``, ``"feedback"`` or ``"oracle"`` (see :mod:`recbook.observations`).
        leave_rate: in ``[0, 1]``. After each recommendation of item ``a`` the user leaves the session with
            probability ``leave_rate * (1 - item_quality[a])``. ``0`` (default) is the original setting: users
            stay for all ``session_length`` steps.
        item_quality: ``None`` (default: no quality; every item counts as quality 0), a sequence of
            ``n_items`` numbers in ``[0, 1]``, or ``"uniform"`` (each item's quality drawn once from ``U(0, 1)``
            for the catalogue ``catalog_seed``). When set, the feedback and oracle observations carry it.
        catalog_seed: which ``"uniform"`` catalogue (a non-negative int); ignored unless ``item_quality="uniform"``.
        slate_size: items shown at each step, ``k`` in ``[1, n_items]``; with ``k > 1`` the action is a slate of
            ``k`` distinct items in position order (:mod:`recbook.choice`).
        choice_model: how the user picks from the slate, ``"mnl"`` or ``"cascade"`` (:mod:`recbook.choice`).
        no_click_mass: the weight ``nu >= 0`` of choosing nothing; ``0`` (default) with ``k = 1`` and ``"mnl"``
            is the original setting, where the one item shown is always consumed.
        attention: ``"cascade"`` only: the probability that each position is examined (given that the user got
            that far), one number for every position or ``slate_size`` numbers in ``[0, 1]``.
        leave_no_click: the probability that a user leaves after a step where nothing was chosen, in ``[0, 1]``.
    """

    n_items: int = _param(10, "number of items N")
    session_length: int = _param(20, "recommendations per session T")
    alpha: float | tuple[float, ...] = _param(1.0, "Dirichlet concentration: a number or N comma-separated numbers")
    decay: str = _param("harmonic", "how repeats lose value", choices=DECAYS)
    decay_rate: float = _param(0.8, "geometric ratio in (0, 1]")
    feedback: str = _param(
        "expected", "reward: the engagement probability, a 0/1 click, or 1 per item chosen",
        choices=FEEDBACKS + (CHOICE_FEEDBACK,),
    )
    observation: str = _param("counts", "what the agent sees", choices=OBSERVATIONS)
    leave_rate: float = _param(0.0, "per-step leave probability of a quality-0 item, in [0, 1]")
    item_quality: tuple[float, ...] | str | None = _param(
        None, "item qualities: N comma-separated numbers in [0, 1], or 'uniform'"
    )
    catalog_seed: int = _param(0, "seed of the 'uniform' item qualities")
    slate_size: int = _param(1, "items shown per step k (a slate of k distinct items)")
    choice_model: str = _param("mnl", "how the user picks from the slate", choices=CHOICE_MODELS)
    no_click_mass: float = _param(0.0, "weight of choosing nothing (>= 0)")
    attention: float | tuple[float, ...] = _param(1.0, "cascade: examination probability per position")
    leave_no_click: float = _param(0.0, "probability of leaving after a step with no choice, in [0, 1]")
    _alpha_vector: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    _decay_model: DecayModel = field(init=False, repr=False, compare=False)
    _quality_vector: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    _attention_vector: NDArray[np.float64] = field(init=False, repr=False, compare=False)

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
        if self.feedback not in FEEDBACKS + (CHOICE_FEEDBACK,):
            raise ValueError(f"feedback must be one of {FEEDBACKS + (CHOICE_FEEDBACK,)}, got {self.feedback!r}")
        if self.observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {OBSERVATIONS}, got {self.observation!r}")
        if self.decay not in DECAYS:
            raise ValueError(f"decay must be one of {DECAYS}, got {self.decay!r}")
        model = DecayModel(self.decay, self.decay_rate)
        object.__setattr__(self, "decay_rate", model.decay_rate)
        object.__setattr__(self, "_decay_model", model)
        rate = self.leave_rate
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"leave_rate must be a number in [0, 1], got {rate!r}")
        object.__setattr__(self, "leave_rate", float(rate))
        object.__setattr__(self, "catalog_seed", validate_seed(self.catalog_seed, "catalog_seed"))
        quality, stored = _item_quality(self.item_quality, n_items, self.catalog_seed)
        object.__setattr__(self, "item_quality", stored)
        object.__setattr__(self, "_quality_vector", quality)
        self._validate_choice(n_items)

    def _validate_choice(self, n_items: int) -> None:
        slate_size = _positive_int("slate_size", self.slate_size)
        if slate_size > n_items:
            raise ValueError(f"slate_size must be <= n_items={n_items}, got {slate_size}")
        object.__setattr__(self, "slate_size", slate_size)
        if self.choice_model not in CHOICE_MODELS:
            raise ValueError(f"choice_model must be one of {CHOICE_MODELS}, got {self.choice_model!r}")
        mass = self.no_click_mass
        if isinstance(mass, bool) or not isinstance(mass, numbers.Real) or not 0.0 <= float(mass) < np.inf:
            raise ValueError(f"no_click_mass must be a finite number >= 0, got {mass!r}")
        object.__setattr__(self, "no_click_mass", float(mass))
        attention, stored = _attention(self.attention, slate_size)
        object.__setattr__(self, "attention", stored)
        object.__setattr__(self, "_attention_vector", attention)
        object.__setattr__(self, "leave_no_click", _unit_interval("leave_no_click", self.leave_no_click))
        if self.feedback == CHOICE_FEEDBACK and not self.is_slate:
            raise ValueError(
                "feedback='choice' pays 1 per item chosen and needs a choice: slate_size > 1, "
                "choice_model='cascade' or no_click_mass > 0"
            )

    @property
    def alpha_vector(self) -> NDArray[np.float64]:
        """The concentration as an array of shape ``(n_items,)`` (a copy)."""
        return self._alpha_vector.copy()

    @property
    def quality_vector(self) -> NDArray[np.float64]:
        """Item qualities as an array of shape ``(n_items,)`` (zeros when ``item_quality`` is ``None``; a copy)."""
        return self._quality_vector.copy()

    @property
    def has_quality(self) -> bool:
        """Whether items carry a quality (and the feedback observation shows it)."""
        return self.item_quality is not None

    def leave_probability(self, items: NDArray[np.int64]) -> NDArray[np.float64]:
        """``leave_rate * (1 - quality[items])``: the probability that a user leaves after these recommendations."""
        return self.leave_rate * (1.0 - self._quality_vector[items])

    def __repr__(self) -> str:
        """The fields as keywords; the slate fields only when one differs from its default, so the original
        setting prints as it did before slates existed."""
        defaults = {f.name: f.default for f in fields(self) if f.init}
        shown = [
            name for name in PARAMETERS
            if name not in _SLATE_FIELDS or any(getattr(self, n) != defaults[n] for n in _SLATE_FIELDS)
        ]
        return f"EnvConfig({', '.join(f'{name}={getattr(self, name)!r}' for name in shown)})"

    @property
    def is_slate(self) -> bool:
        """Whether the user chooses from the slate and may decline.

        False only for one item shown, ``"mnl"`` and no no-click mass: the original setting, where every
        recommendation is consumed and no choice coin is drawn.
        """
        return not (self.slate_size == 1 and self.choice_model == "mnl" and self.no_click_mass == 0.0)

    @property
    def attention_vector(self) -> NDArray[np.float64]:
        """Each slate position's examination probability, ``(slate_size,)`` (a copy; used by ``"cascade"``)."""
        return self._attention_vector.copy()

    def choice_probabilities(
        self, preferences: NDArray[np.float64], counts: NDArray[np.int64], slates: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Probability of each slate position being chosen, and of nothing (last column): ``(..., k + 1)``.

        ``preferences`` and ``counts`` (consumptions so far) are ``(..., n_items)``; ``slates`` ``(..., k)``; the
        leading dimensions broadcast (one user against many slates, or many users against one slate).
        """
        scores = choice_scores(preferences, counts, self._decay_model)
        slates = np.asarray(slates)
        lead = np.broadcast_shapes(scores.shape[:-1], slates.shape[:-1])
        slate_scores = np.take_along_axis(
            np.broadcast_to(scores, lead + scores.shape[-1:]), np.broadcast_to(slates, lead + slates.shape[-1:]), axis=-1
        )
        return choice_probabilities(slate_scores, self.choice_model, self.no_click_mass, self._attention_vector)

    def leave_probability_after(self, chosen: NDArray[np.int64]) -> NDArray[np.float64]:
        """The probability of leaving after a step whose chosen item is ``chosen`` (``-1``: nothing chosen)."""
        chosen = np.asarray(chosen)
        taken = self.leave_probability(np.maximum(chosen, 0))
        return np.where(chosen >= 0, taken, self.leave_no_click)

    @property
    def decay_model(self) -> DecayModel:
        """The :class:`~recbook.response.DecayModel` of this configuration."""
        return self._decay_model

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (YAML/JSON friendly) of the constructor arguments."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        for key in ("alpha", "item_quality", "attention"):
            if isinstance(data[key], tuple):
                data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        unknown = set(data) - set(PARAMETERS)
        if unknown:
            raise ValueError(f"unknown environment parameter(s): {sorted(unknown)}; known: {list(PARAMETERS)}")
        kwargs = dict(data)
        for key in ("alpha", "item_quality", "attention"):
            if isinstance(kwargs.get(key), list):
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)

    def replace(self, **changes: Any) -> EnvConfig:
        """A copy with some fields changed (validated again)."""
        data = self.to_dict()
        data.update(changes)
        return EnvConfig.from_dict(data)

    def make_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``gym.make("recbook/Recommendation-v0", **kwargs)``."""
        return self.to_dict()


#: The environment's parameters in order, the fields of :class:`EnvConfig` (the envs' keyword arguments).
PARAMETERS: tuple[str, ...] = tuple(f.name for f in fields(EnvConfig) if f.init)
