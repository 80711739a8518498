"""The user model: hidden preference vectors drawn from a Dirichlet distribution.

A user is a preference vector ``p`` over ``n_items`` items, ``p >= 0`` and ``sum(p) == 1``: ``p[a]`` is the
probability that the user engages with item ``a`` the first time it is recommended. Each session draws a new user
``p ~ Dirichlet(alpha)``. The concentration ``alpha`` controls how peaked users are: small ``alpha`` gives users
who love one or two items, large ``alpha`` gives users who like everything about equally. A per-item ``alpha``
(a sequence) makes some items popular across the whole population.

Pure functions only; randomness comes from the generator passed in (``env.np_random`` in the environment).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "AlphaLike",
    "validate_alpha",
    "sample_preferences",
    "dirichlet_mean",
    "dirichlet_variance",
    "validate_preferences",
]

#: What ``alpha`` may be: one positive number (symmetric Dirichlet) or ``n_items`` positive numbers.
AlphaLike = float | int | Sequence[float] | NDArray[np.floating]


def validate_alpha(alpha: AlphaLike, n_items: int) -> NDArray[np.float64]:
    """Return the Dirichlet concentration as a float array of shape ``(n_items,)``.

    ``alpha`` is either one positive finite number (a symmetric Dirichlet) or a sequence of ``n_items`` positive
    finite numbers. Anything else raises ``ValueError`` naming ``alpha``.
    """
    if isinstance(alpha, bool):
        raise ValueError(f"alpha must be a positive number or a sequence of n_items positive numbers, got {alpha!r}")
    try:
        values = np.asarray(alpha, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"alpha must be a positive number or a sequence of n_items positive numbers, got {alpha!r}"
        ) from exc
    if values.ndim == 0:
        values = np.full(n_items, float(values))
    elif values.ndim != 1 or values.shape[0] != n_items:
        raise ValueError(
            f"alpha must be a scalar or have length n_items={n_items}, got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"alpha must be positive and finite, got {alpha!r}")
    return values


def sample_preferences(
    np_random: np.random.Generator, alpha: NDArray[np.float64], size: int | None = None
) -> NDArray[np.float64]:
    """Draw preference vectors ``p ~ Dirichlet(alpha)``.

    Args:
        np_random: the generator every draw comes from (pass ``env.np_random``).
        alpha: concentration, shape ``(n_items,)`` (see :func:`validate_alpha`).
        size: number of users; ``None`` for one user.

    Returns:
        Shape ``(n_items,)`` if ``size`` is ``None``, else ``(size, n_items)``; each row sums to 1.
    """
    draws = np_random.dirichlet(alpha, size=size)
    # Tiny alpha can underflow every gamma draw of a row; numpy then returns the row as is. Renormalise so
    # rows sum to one exactly in float64 (a no-op for ordinary draws).
    return draws / draws.sum(axis=-1, keepdims=True)


def dirichlet_mean(alpha: NDArray[np.float64]) -> NDArray[np.float64]:
    """Theoretical mean ``alpha / alpha.sum()`` of a Dirichlet distribution."""
    return alpha / alpha.sum()


def dirichlet_variance(alpha: NDArray[np.float64]) -> NDArray[np.float64]:
    """Theoretical per-item variance ``a_i (a0 - a_i) / (a0^2 (a0 + 1))`` with ``a0 = alpha.sum()``."""
    total = alpha.sum()
    return alpha * (total - alpha) / (total**2 * (total + 1.0))


def validate_preferences(preferences: object, n_items: int, *, batch: int | None = None) -> NDArray[np.float64]:
    """Check user-supplied preference vectors (``reset(options={"preferences": ...})``).

    Shape ``(n_items,)`` (or ``(batch, n_items)`` when ``batch`` is given), non-negative, finite, each row summing
    to 1 within ``1e-6``. Raises ``ValueError`` naming ``preferences`` otherwise.
    """
    values = np.asarray(preferences, dtype=np.float64)
    expected = (n_items,) if batch is None else (batch, n_items)
    if values.shape != expected:
        raise ValueError(f"preferences must have shape {expected}, got {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("preferences must be finite and non-negative")
    if not np.allclose(values.sum(axis=-1), 1.0, atol=1e-6):
        raise ValueError("preferences must sum to 1 (each row)")
    return values.copy()
