"""The choice model: which item of a slate the user takes, if any.

A slate is an ordered list of ``k`` distinct items (position 0 first). The user takes at most one of them. Each
item carries a *score*, its attractiveness for this user now,

    ``s_i = N * p_i * m(c_i + 1)``,

the preference ``p_i`` with the diminishing return ``m`` of the item's next consumption (``c_i`` consumptions so
far, :mod:`recbook.response`). The factor ``N`` (the number of items) makes the average user's score 1, so a
no-click mass ``nu = 1`` weighs like one average item.

``"mnl"`` — proportional (multinomial-logit with log-scores) choice, as in RecSim's ``MultinomialProportionalChoiceModel``:

    ``P(i | S) = s_i / (sum_{j in S} s_j + nu)``,  ``P(nothing | S) = nu / (sum_{j in S} s_j + nu)``.

``"cascade"`` — the user scans the positions in order, as in RecSim's cascade models: position ``j`` is examined with
probability ``attention[j]`` (given that the user got that far), an examined item is taken with probability
``s_i / (s_i + nu)``, and the first item taken ends the scan:

    ``P(position j) = prod_{l<j} (1 - attention[l] * s_l / (s_l + nu)) * attention[j] * s_j / (s_j + nu)``.

Degenerate cases are defined, not divided by zero: with ``nu = 0`` a user whose scores on the slate are all 0 takes
a slate item uniformly at random under ``"mnl"`` and the first examined item under ``"cascade"`` (``nu = 0``
means the user never declines). With ``k = 1``, ``"mnl"`` and ``nu = 0`` the user takes the one item shown: the
original setting, where every recommendation is consumed.

Pure functions that broadcast over leading (user) dimensions; randomness comes from the generator passed in.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recbook.response import DecayModel

__all__ = [
    "CHOICE_MODELS",
    "choice_probabilities",
    "choice_scores",
    "sample_choices",
    "validate_slates",
]

CHOICE_MODELS: tuple[str, ...] = ("mnl", "cascade")


def choice_scores(
    preferences: ArrayLike, counts: ArrayLike, decay_model: DecayModel
) -> NDArray[np.float64]:
    """Every item's score ``N * p_i * m(c_i + 1)``, shape ``(..., N)``.

    ``preferences`` and ``counts`` (consumptions so far) have shape ``(..., N)``.
    """
    preferences = np.asarray(preferences, dtype=np.float64)
    counts = np.asarray(counts)
    n_items = preferences.shape[-1]
    return n_items * preferences * decay_model.multiplier(counts + 1)


def choice_probabilities(
    slate_scores: ArrayLike,
    choice_model: str = "mnl",
    no_click_mass: float = 0.0,
    attention: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Probability of each position and of no choice, shape ``(..., k + 1)`` (the last column is "nothing").

    Args:
        slate_scores: the scores of the slate's items in position order, ``(..., k)`` (:func:`choice_scores`).
        choice_model: ``"mnl"`` or ``"cascade"``.
        no_click_mass: ``nu >= 0``.
        attention: ``"cascade"`` only: each position's examination probability, ``(k,)`` in ``[0, 1]``;
            ``None`` examines every position.
    """
    scores = np.asarray(slate_scores, dtype=np.float64)
    k = scores.shape[-1]
    out = np.zeros(scores.shape[:-1] + (k + 1,))
    if choice_model == "mnl":
        total = scores.sum(axis=-1, keepdims=True) + no_click_mass
        empty = total[..., 0] <= 0.0
        safe = np.where(total > 0.0, total, 1.0)
        out[..., :k] = np.where(empty[..., None], 1.0 / k, scores / safe)
        out[..., k] = np.where(empty, 0.0, no_click_mass / safe[..., 0])
        return out
    if choice_model != "cascade":
        raise ValueError(f"choice_model must be one of {CHOICE_MODELS}, got {choice_model!r}")
    look = np.ones(k) if attention is None else np.asarray(attention, dtype=np.float64)
    if look.shape != (k,):
        raise ValueError(f"attention must have one entry per slate position ({k}), got shape {look.shape}")
    denominator = scores + no_click_mass
    take = np.divide(scores, denominator, out=np.ones_like(scores), where=denominator > 0.0)
    take = look * take
    reach = np.cumprod(np.concatenate([np.ones(scores.shape[:-1] + (1,)), 1.0 - take], axis=-1), axis=-1)
    out[..., :k] = reach[..., :k] * take
    out[..., k] = reach[..., k]
    return out


def sample_choices(np_random: np.random.Generator, probabilities: ArrayLike) -> NDArray[np.int64]:
    """Draw a chosen position per row of ``probabilities`` ``(..., k + 1)``: ``0..k-1``, or ``-1`` for nothing.

    One uniform draw per row (inverse CDF), from ``np_random``.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    k = probabilities.shape[-1] - 1
    cumulative = np.cumsum(probabilities, axis=-1)
    draws = np_random.random(probabilities.shape[:-1] + (1,))
    # Rounding may leave the last cumulative a hair under 1; a draw above it is "nothing" as well.
    position = np.minimum((draws >= cumulative).sum(axis=-1), k)
    return np.where(position == k, -1, position).astype(np.int64)


def validate_slates(slates: object, num_envs: int | None, slate_size: int, n_items: int) -> NDArray[np.int64]:
    """Return ``slates`` as an int array ``(num_envs, slate_size)`` (``(slate_size,)`` when ``num_envs`` is None).

    Raises ``ValueError`` naming ``action`` for a wrong shape, a non-integer dtype, an item outside
    ``[0, n_items)`` or an item repeated within a slate.
    """
    array = np.asarray(slates)
    shape = (slate_size,) if num_envs is None else (num_envs, slate_size)
    if array.shape != shape:
        raise ValueError(f"action must be a slate of shape {shape} (slate_size={slate_size}), got {array.shape}")
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"action must hold integer item indices, got dtype {array.dtype}")
    if np.any(array < 0) or np.any(array >= n_items):
        raise ValueError(f"action must hold items in [0, {n_items}), got {array.tolist()}")
    ordered = np.sort(array.reshape(-1, slate_size), axis=-1)
    if slate_size > 1 and np.any(ordered[:, 1:] == ordered[:, :-1]):
        raise ValueError(f"action must hold {slate_size} distinct items per slate (slate_size), got {array.tolist()}")
    return array.astype(np.int64)
