"""One way to reject bad input: every public function checks its arguments with these.

Each check returns the value converted to a plain Python type (or a numpy array) and raises a ``ValueError``
whose message starts with the parameter's name, says what was expected and shows what was given, e.g.
``n_users must be an integer >= 1, got 0``. Booleans are never accepted as numbers (``True`` is an ``int`` to
Python, but ``n_users=True`` is a bug). Nothing is clipped or rounded silently.

>>> check_int(3, "n_users", low=1)
3
>>> check_probability(0.3, "leave_rate")
0.3
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "check_choice",
    "check_int",
    "check_level",
    "check_probability",
    "check_real",
    "check_reals",
]

T = TypeVar("T")


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def check_int(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python or numpy, not a bool) in ``[low, high]`` (either bound may be ``None``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer {_bounds(low, high, False, False)}".rstrip()
                         + f", got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer {_bounds(low, high, False, False)}, got {value!r}")
    return int(value)


def check_real(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (not a bool) in the interval given by ``low``/``high`` (closed unless ``*_open``)."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
    ):
        raise ValueError(f"{name} must be a finite number {_bounds(low, high, low_open, high_open)}".rstrip()
                         + f", got {value!r}")
    x = float(value)
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if too_low or too_high:
        raise ValueError(f"{name} must be {_bounds(low, high, low_open, high_open)}, got {value!r}")
    return x


def check_probability(value: Any, name: str, *, low_open: bool = False, high_open: bool = False) -> float:
    """A probability in ``[0, 1]`` (either end excluded with ``low_open`` / ``high_open``)."""
    return check_real(value, name, 0.0, 1.0, low_open=low_open, high_open=high_open)


def check_level(value: Any, name: str = "confidence_level") -> float:
    """A confidence level, strictly between 0 and 1."""
    return check_real(value, name, 0.0, 1.0, low_open=True, high_open=True)


def check_choice(value: T, name: str, choices: Iterable[T]) -> T:
    """One of ``choices`` (compared with ``==``)."""
    options = tuple(choices)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_reals(
    values: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    shape: tuple[int | None, ...] | None = None,
) -> NDArray[np.float64]:
    """An array of finite reals in the interval, optionally of a given ``shape`` (``None`` = any length there)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers, got {values!r}") from exc
    if shape is not None and (
        array.ndim != len(shape) or any(want is not None and got != want for got, want in zip(array.shape, shape))
    ):
        wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers, got {values!r}")
    bad = np.zeros(array.shape, dtype=bool)
    if low is not None:
        bad |= array <= low if low_open else array < low
    if high is not None:
        bad |= array >= high if high_open else array > high
    if bad.any():
        first = array[bad].flat[0]
        raise ValueError(
            f"every value of {name} must be {_bounds(low, high, low_open, high_open)}, got {first!r}"
        )
    return array
