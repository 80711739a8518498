"""What a slate is worth to a policy that knows ``p``: the immediate reward, the chance the user stays, and the
quality-aware one-step rule. Shared by the policies that know ``p``, the Bayesian ones (with an estimate in place of
``p``), the lookahead and the exact DP.

For a user with preferences ``p`` and consumption counts ``c`` (arrays ``(K, N)``):

* the reward of taking item ``i`` (:func:`item_rewards`): ``1`` under ``feedback="choice"``; under ``"expected"``
  (and ``"click"``, in expectation) the engagement ``p_i m(c_i + 1)`` of that consumption;
* the chance of staying after the step: ``1 - leave_rate (1 - q_i)`` if ``i`` was taken, ``1 - leave_no_click``
  if nothing was (:func:`stay_probabilities`);
* the immediate expected reward ``E[r | S] = sum_i P(i | S) r_i`` and ``P(stay | S) = sum_i P(i | S) (1 - l_i) +
  P(nothing | S) (1 - l_0)``, with the choice probabilities of :mod:`recbook.choice`.

The quality-aware rule (:func:`rule_slates`) maximises ``E[r | S] + B P(stay | S)`` with the *bonus*
``B = kappa * (steps after this one) * (best immediate expected reward now)``: staying is worth about the steps
left times what a step earns, scaled by ``kappa`` (tuned; it absorbs the decay of future rewards). Both terms are of
the form of :func:`recbook.slates.search.best_slates` (a value per item taken and one for nothing).

:func:`expected_returns` scores a session path with each step's reward replaced by its expectation given the
slate (a Rao-Blackwellised return: the same mean as the rewards received, less variance).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recbook._checks import check_real
from recbook.choice import choice_scores
from recbook.config import EnvConfig
from recbook.slates.search import best_slates

__all__ = [
    "expected_returns",
    "item_rewards",
    "myopic_slates",
    "rule_bonus",
    "rule_slates",
    "stay_probabilities",
]


def item_rewards(config: EnvConfig, preferences: ArrayLike, counts: ArrayLike) -> NDArray[np.float64]:
    """The expected reward of the user taking each item now, ``(..., N)`` (see the module docstring)."""
    preferences = np.asarray(preferences, dtype=np.float64)
    if config.feedback == "choice":
        return np.ones(preferences.shape)
    return preferences * config.decay_model.multiplier(np.asarray(counts) + 1)


def stay_probabilities(config: EnvConfig) -> tuple[NDArray[np.float64], float]:
    """``(1 - leave_rate (1 - q_i))`` per item ``(N,)``, and ``1 - leave_no_click`` (nothing taken)."""
    return 1.0 - config.leave_probability(np.arange(config.n_items)), 1.0 - config.leave_no_click


def myopic_slates(
    config: EnvConfig, preferences: ArrayLike, counts: ArrayLike, method: str = "auto"
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The slate of the largest immediate expected reward ``E[r | S]`` and that reward: ``((K, k), (K,))``."""
    preferences = np.asarray(preferences, dtype=np.float64)
    scores = choice_scores(preferences, counts, config.decay_model)
    rewards = item_rewards(config, preferences, counts)
    return best_slates(config, scores, rewards, np.zeros(len(preferences)), method)


def rule_bonus(
    config: EnvConfig, preferences: ArrayLike, counts: ArrayLike, steps_after: ArrayLike, kappa: float,
    method: str = "auto",
) -> NDArray[np.float64]:
    """``B = kappa * steps_after * max_S E[r | S]`` per user, ``(K,)``; ``steps_after`` ``(K,)`` are the steps left
    after this one."""
    kappa = check_real(kappa, "kappa", low=0.0)
    best = myopic_slates(config, preferences, counts, method)[1]
    return kappa * np.asarray(steps_after, dtype=np.float64) * best


def rule_slates(
    config: EnvConfig, preferences: ArrayLike, counts: ArrayLike, steps_after: ArrayLike, kappa: float,
    method: str = "auto",
) -> NDArray[np.int64]:
    """The quality-aware rule's slates ``(K, k)``: argmax of ``E[r | S] + B P(stay | S)`` (module docstring).

    ``preferences`` and ``counts`` ``(K, N)``; ``steps_after`` ``(K,)``: steps left after this one (0 on the last
    step, where the rule is myopic).
    """
    preferences = np.asarray(preferences, dtype=np.float64)
    bonus = rule_bonus(config, preferences, counts, steps_after, kappa, method)
    stay_items, stay_none = stay_probabilities(config)
    scores = choice_scores(preferences, counts, config.decay_model)
    item_values = item_rewards(config, preferences, counts) + bonus[:, None] * stay_items
    return best_slates(config, scores, item_values, bonus * stay_none, method)[0]


def expected_returns(
    config: EnvConfig, preferences: ArrayLike, slates: ArrayLike, chosen: ArrayLike
) -> NDArray[np.float64]:
    """Each session's return with step ``t``'s reward replaced by ``E[r | S_t, c_t]``, ``(K,)``.

    Args:
        config: the environment (choice model, reward, leave probabilities).
        preferences: the users, ``(K, N)``.
        slates: the slates shown, ``(K, T, k)`` (``-1`` after the session ended), as
            :attr:`recbook.evaluation.Rollout.actions` holds them.
        chosen: the item taken at each step, ``(K, T)`` (``-1``: nothing), :attr:`recbook.evaluation.Rollout.chosen`.

    Step ``t`` adds ``P(still there) * E[r | S_t, c_t]``, where ``c_t`` are the consumption counts rebuilt from
    ``chosen`` and ``P(still there)`` multiplies the stay probabilities of the choices before ``t`` (exits in
    expectation, as :func:`recbook.evaluation.rollout` with ``exits="expected"`` weighs them; ``1`` throughout when
    nobody can leave). Given everything before step ``t`` and the slate, the reward received has exactly that
    expectation, so the sum has the same mean as the rewards received, without the noise of the last coin of each
    step: paired differences between policies need several times fewer users.
    """
    p = np.asarray(preferences, dtype=np.float64)
    shown = np.asarray(slates, dtype=np.int64)
    taken = np.asarray(chosen, dtype=np.int64)
    n_users, total = taken.shape
    if p.shape != (n_users, config.n_items) or shown.shape != (n_users, total, config.slate_size):
        raise ValueError(
            f"preferences {p.shape}, slates {shown.shape} and chosen {taken.shape} must be (K, N), (K, T, k), (K, T)"
        )
    counts = np.zeros(p.shape, dtype=np.int64)
    still_there = np.ones(n_users)
    value = np.zeros(n_users)
    rows = np.arange(n_users)
    for t in range(total):
        active = shown[:, t, 0] >= 0
        slate = np.where(active[:, None], shown[:, t], np.arange(config.slate_size))
        probabilities = config.choice_probabilities(p, counts, slate)
        rewards = np.take_along_axis(item_rewards(config, p, counts), slate, axis=1)
        value += np.where(active, still_there * (probabilities[:, :-1] * rewards).sum(axis=1), 0.0)
        item = taken[:, t]
        still_there = still_there * np.where(active, 1.0 - config.leave_probability_after(item), 1.0)
        took = active & (item >= 0)
        counts[rows[took], item[took]] += 1
    return value
