"""The rollout engine: every user's session stepped together in the batched simulator, optionally logged.

:func:`~recbook.evaluation.run_sessions` is the one loop that steps sessions: :func:`~recbook.evaluation.rollout`
(scoring, with exits sampled or taken in
expectation) and :func:`recbook.ope.collect` (logging, with observations and propensities recorded) both run it,
so a scored session and a logged session end the same way — when the user leaves, the row stops (action ``-1``,
zero reward) instead of a new user continuing in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from recbook import seeds
from recbook._checks import check_choice, check_int
from recbook.config import EnvConfig
from recbook.users import sample_preferences
from recbook.vector import RecommendationVectorEnv, validate_actions

__all__ = ["EXITS", "PredictsActions", "Rollout", "rollout", "run_sessions", "sample_users"]


class PredictsActions(Protocol):
    """Anything with Stable-Baselines3's ``predict`` signature can be evaluated (policies, SB3 models)."""

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[Any, Any]: ...


@dataclass(frozen=True)
class Rollout:
    """What happened in ``K`` sessions, one per user.

    Attributes:
        preferences: the users, shape ``(K, n_items)``.
        actions: recommended items, int, shape ``(K, T)``; ``-1`` after a user left the session.
        rewards: rewards received (clicks under click feedback), shape ``(K, T)``.
        engagement: engagement probabilities of the recommendations, shape ``(K, T)``.
        observations: with ``record=True`` (:func:`~recbook.evaluation.run_sessions`), what the environment showed
            before each step,
            ``(K, T, d)`` float64 (after an exit: the last state, frozen); else ``None``.
        propensities: with ``record=True``, the policy's probability of each recommended item ``(K, T)`` (1
            after an exit) if the policy has ``action_probabilities``; else ``None``.
        chosen: slate configurations (``config.is_slate``): the item each user took at each step, ``(K, T)``
            (``-1``: nothing chosen, or after an exit); else ``None``. ``actions`` is then ``(K, T, slate_size)``.

    With ``exits="expected"`` (:func:`~recbook.evaluation.rollout`) nobody leaves: ``actions`` is the path of a user who
    stays, and
    ``rewards`` and ``engagement`` are multiplied by the probability that the user is still there at each step.
    """

    preferences: NDArray[np.float64]
    actions: NDArray[np.int64]
    rewards: NDArray[np.float64]
    engagement: NDArray[np.float64]
    observations: NDArray[np.float64] | None = None
    propensities: NDArray[np.float64] | None = None
    chosen: NDArray[np.int64] | None = None

    @property
    def active(self) -> NDArray[np.bool_]:
        """Whether the user was still in the session at each step, ``(K, T)``."""
        return (self.actions if self.actions.ndim == 2 else self.actions[..., 0]) >= 0


def sample_users(config: EnvConfig, n_users: int, seed: int, stream: str = seeds.TEST) -> NDArray[np.float64]:
    """Draw ``n_users`` preference vectors from the configuration's Dirichlet prior.

    Users come from ``seeds.generator(seed, stream, "users")``: :data:`~recbook.seeds.TEST` users (the default)
    for final tables, :data:`~recbook.seeds.VALIDATION` users for learning curves and every choice of
    hyperparameter, :data:`~recbook.seeds.TRAIN` users for training. The same ``(config.alpha, n_users, seed,
    stream)`` always gives the same users, whatever policy is evaluated.
    """
    n_users = check_int(n_users, "n_users", 1)
    return sample_preferences(seeds.generator(seed, stream, "users"), config.alpha_vector, size=n_users)


#: How :func:`~recbook.evaluation.rollout` treats users who leave (``leave_rate > 0``): ``"sampled"`` draws each exit,
#: ``"expected"``
#: keeps every user and weights each step by the probability that the user is still there.
EXITS: tuple[str, ...] = ("sampled", "expected")


def run_sessions(
    policy: PredictsActions,
    env_config: EnvConfig,
    preferences: NDArray[np.float64],
    seed: int,
    deterministic: bool = True,
    exits: str = "sampled",
    *,
    record: bool = False,
    view: Callable[[NDArray[Any]], NDArray[Any]] | None = None,
) -> Rollout:
    """THE rollout loop: one session per row of ``preferences`` in an environment of ``env_config``.

    Args:
        policy: anything with SB3's ``predict``; with ``record=True`` its ``action_probabilities`` (if any) are
            recorded as propensities (called before ``predict`` on the same observations).
        env_config: the environment, in the observation mode the environment builds (and records).
        preferences: the users ``(K, n_items)``.
        seed: seeds the click (and exit) draws.
        deterministic: passed to ``predict``.
        exits: ``"sampled"`` (a user who leaves gets no more recommendations) or ``"expected"`` (see
            :func:`~recbook.evaluation.rollout`).
        record: also record the observations (float64) and propensities of each step.
        view: what the policy sees of the environment's observation (e.g. a poorer observation mode); default
            the observation itself.
    """
    check_choice(exits, "exits", EXITS)
    weigh = exits == "expected" and (env_config.leave_rate > 0 or env_config.leave_no_click > 0)
    leave_probability = env_config.leave_probability_after
    if weigh:
        # The observations do not depend on the leave rates (the qualities are shown either way).
        env_config = env_config.replace(leave_rate=0.0, leave_no_click=0.0)
    preferences = np.asarray(preferences, dtype=np.float64)
    n_users, total = preferences.shape[0], env_config.session_length
    env = RecommendationVectorEnv.from_config(env_config, n_users)
    still_there = np.ones(n_users)
    obs, _ = env.reset(seed=seed, options={"preferences": preferences})
    slate_size, slates = env_config.slate_size, env_config.is_slate
    actions = np.full((n_users, total) + ((slate_size,) if slate_size > 1 else ()), -1, dtype=np.int64)
    chosen = np.full((n_users, total), -1, dtype=np.int64) if slates else None
    rewards = np.zeros((n_users, total))
    engagement = np.zeros((n_users, total))
    # A slate's propensity is not one item's probability: slate policies record none.
    probabilities_of = getattr(policy, "action_probabilities", None) if record and slate_size == 1 else None
    observations = np.zeros((n_users, total, np.shape(obs)[1])) if record else None
    propensities = np.ones((n_users, total)) if callable(probabilities_of) else None
    rows = np.arange(n_users)
    state = None
    episode_start = np.ones(n_users, dtype=bool)
    active = np.ones(n_users, dtype=bool)
    for t in range(total):
        seen = obs if view is None else view(obs)
        if propensities is not None:
            assert callable(probabilities_of)
            probabilities = np.asarray(probabilities_of(seen), dtype=np.float64)
        action, state = policy.predict(seen, state=state, episode_start=episode_start, deterministic=deterministic)
        action = np.asarray(action).reshape(actions.shape[:1] + actions.shape[2:])
        checked = validate_actions(action, n_users, env_config.n_items, slate_size)
        reward, probability, _ = env.advance(checked, active)
        actions[active, t] = action[active]
        if chosen is not None:
            chosen[active, t] = env.last_choice[active]
        if observations is not None:
            observations[:, t] = obs
        if propensities is not None:
            propensities[active, t] = probabilities[rows[active], action[active]]
        if weigh:
            reward, probability = reward * still_there, probability * still_there
            taken = env.last_choice if slates else action
            still_there = still_there * (1.0 - leave_probability(taken))
        rewards[:, t] = reward
        engagement[:, t] = probability
        active &= ~env.done()
        if not active.any():
            if observations is not None:
                observations[:, t + 1 :] = env.observe()[:, None]
            break
        obs = env.observe()
        episode_start = np.zeros(n_users, dtype=bool)
    return Rollout(env.preferences.copy(), actions, rewards, engagement, observations, propensities, chosen)


def rollout(
    policy: PredictsActions,
    config: EnvConfig,
    preferences: NDArray[np.float64],
    seed: int = 0,
    deterministic: bool = True,
    exits: str = "sampled",
) -> Rollout:
    """Run one session per row of ``preferences`` with ``policy``, all users stepped together.

    With ``exits="sampled"`` (default) a user who leaves (``leave_rate > 0``) gets no more recommendations: the
    rest of the row holds action ``-1`` and zero reward and engagement.

    With ``exits="expected"`` no exit is drawn. A policy sees nothing of an exit but the session's end, so what it
    recommends while the user stays does not depend on the exit coins: every session runs all ``T`` steps, and
    step ``t``'s reward and engagement are multiplied by the probability that the user is still there,
    ``prod_{s<t} (1 - leave_probability(a_s))``. Summed over the steps that is the return's expectation over the
    exits, given the clicks and the policy's coins: the same mean as sampled exits, without the exits' coin flips
    (a Rao-Blackwellised estimate). Under expected feedback with a deterministic policy the return is then exact
    for each user, and paired differences between policies are no longer blurred by different exit draws.
    ``actions`` then describe the path of a user who stays. Identical to ``"sampled"`` when ``leave_rate`` is 0.

    The environment uses the observation mode the policy declares in its ``observation`` attribute (e.g. the
    oracle needs ``"oracle"``), falling back to ``config.observation``. ``seed`` seeds the click draws, so two
    policies evaluated with the same ``preferences`` and ``seed`` face the same users and the same random stream.
    """
    check_choice(exits, "exits", EXITS)
    observation = getattr(policy, "observation", None) or config.observation
    env_config = config.replace(observation=observation) if observation != config.observation else config
    return run_sessions(policy, env_config, preferences, seed, deterministic, exits)
