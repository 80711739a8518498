"""Logs of a logging policy with its propensities: the :class:`Logs` table and :func:`collect`, which records them.

:func:`collect` runs the logging policy with :func:`recbook.evaluation.run_sessions`, the rollout engine every
evaluation uses, so a logged session ends when its user leaves (``leave_rate > 0``) exactly as a scored one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from recbook import seeds
from recbook.config import EnvConfig
from recbook._checks import check_int
from recbook.evaluation.rollout import run_sessions, sample_users
from recbook.observations import ObservationLayout

__all__ = ["LOG_COLUMNS", "Logs", "check_propensities", "collect", "convert_observations"]

#: Columns of :meth:`Logs.to_frame` besides the observation columns ``obs_0, obs_1, ...``.
LOG_COLUMNS: tuple[str, ...] = ("user", "step", "action", "reward", "engagement", "propensity", "done")


@dataclass(frozen=True)
class Logs:
    """What a logging policy did in ``n`` sessions of ``T`` steps.

    Attributes:
        config: the environment; ``config.observation`` is the mode the observations were logged in.
        observations: what the logging policy saw before each step, shape ``(n, T, d)``.
        actions: recommended items, int, ``(n, T)``; ``-1`` after the user left the session (``leave_rate > 0``),
            where the reward is 0 and the propensity 1: the steps after an exit weigh 1 and add nothing.
        rewards: observed rewards (clicks under click feedback), ``(n, T)``.
        engagement: engagement probabilities of the recommendations, ``(n, T)`` (NaN when unknown, e.g. logs
            loaded from a frame without that column; no estimator reads it).
        propensities: the logging policy's probability of each logged action, ``(n, T)``, in ``(0, 1]``;
            the observations after an exit are the last state, frozen, and no estimator uses them.
        users: an id per session, ``(n,)``.
        policy: the logging policy's name.
    """

    config: EnvConfig
    observations: NDArray[np.float64]
    actions: NDArray[np.int64]
    rewards: NDArray[np.float64]
    engagement: NDArray[np.float64]
    propensities: NDArray[np.float64]
    users: NDArray[np.int64]
    policy: str = "logging"

    def __post_init__(self) -> None:
        layout = ObservationLayout(self.config)
        obs = np.asarray(self.observations, dtype=np.float64)
        if obs.ndim != 3 or obs.shape[2] != layout.size:
            raise ValueError(
                f"observations must have shape (n, T, {layout.size}) for a {self.config.observation!r} "
                f"observation, got {obs.shape}"
            )
        n, horizon = obs.shape[:2]
        object.__setattr__(self, "observations", obs)
        for name in ("actions", "rewards", "engagement", "propensities"):
            array = np.asarray(getattr(self, name), dtype=np.int64 if name == "actions" else np.float64)
            if array.shape != (n, horizon):
                raise ValueError(f"{name} must have shape ({n}, {horizon}) like the observations, got {array.shape}")
            object.__setattr__(self, name, array)
        users = np.asarray(self.users, dtype=np.int64)
        if users.shape != (n,):
            raise ValueError(f"users must have shape ({n},), got {users.shape}")
        object.__setattr__(self, "users", users)
        if np.any((self.actions < -1) | (self.actions >= self.config.n_items)):
            raise ValueError(f"actions must be item indices in [0, {self.config.n_items}) (or -1 after an exit)")
        active = self.actions >= 0
        if np.any(active[:, 1:] & ~active[:, :-1]):
            raise ValueError("actions: a session cannot go on after its user left (-1 must end the row)")
        if np.any(self.rewards[~active] != 0) or np.any(self.propensities[~active] != 1):
            raise ValueError("after a user left (action -1) the reward must be 0 and the propensity 1")
        if not np.all(np.isfinite(self.rewards)):
            raise ValueError("rewards must be finite")
        check_propensities(self.propensities)

    @property
    def n_sessions(self) -> int:
        return int(self.actions.shape[0])

    @property
    def horizon(self) -> int:
        """Steps per session ``T``."""
        return int(self.actions.shape[1])

    @property
    def active(self) -> NDArray[np.bool_]:
        """Whether the user was still in the session at each step, ``(n, T)`` (all true without exits)."""
        return self.actions >= 0

    @property
    def returns(self) -> NDArray[np.float64]:
        """The logged return of each session, ``(n,)``: the on-policy estimate of the logging policy's value."""
        return self.rewards.sum(axis=1)

    def subset(self, sessions: ArrayLike) -> Logs:
        """The logs of some sessions (an index array or a boolean mask over sessions)."""
        index = np.asarray(sessions)
        return Logs(
            config=self.config,
            observations=self.observations[index],
            actions=self.actions[index],
            rewards=self.rewards[index],
            engagement=self.engagement[index],
            propensities=self.propensities[index],
            users=self.users[index],
            policy=self.policy,
        )

    def to_frame(self) -> pd.DataFrame:
        """A tidy table, one row per (session, step) the user was there: :data:`~recbook.ope.logs.LOG_COLUMNS` then
        ``obs_0 ..
        obs_{d-1}``; ``done`` marks each session's last step."""
        n, horizon, d = self.observations.shape
        active = self.active
        last = active & np.concatenate([~active[:, 1:], np.ones((n, 1), dtype=bool)], axis=1)
        frame = pd.DataFrame(
            {
                "user": np.repeat(self.users, horizon),
                "step": np.tile(np.arange(horizon), n),
                "action": self.actions.ravel(),
                "reward": self.rewards.ravel(),
                "engagement": self.engagement.ravel(),
                "propensity": self.propensities.ravel(),
                "done": last.ravel(),
            }
        )
        observations = pd.DataFrame(self.observations.reshape(n * horizon, d), columns=[f"obs_{j}" for j in range(d)])
        table = pd.concat([frame, observations], axis=1)
        return table if active.all() else table[active.ravel()].reset_index(drop=True)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, config: EnvConfig, policy: str = "logging") -> Logs:
        """Logs from a table shaped like :meth:`to_frame`'s (e.g. a user's own logs), checking every column.

        Required: ``user``, ``step``, ``action``, ``reward``, ``propensity`` and ``obs_0 .. obs_{d-1}`` with ``d``
        the observation size of ``config``; ``engagement`` and ``done`` are optional. Every user needs the steps
        ``0 .. T-1`` exactly once, with the same ``T`` for all users, unless users leave (``config.leave_rate >
        0``): then ``T`` is ``config.session_length`` and a user's session may end early (steps ``0 .. t``); it
        is padded after its exit (action -1).
        Raises ``ValueError`` naming the problem.
        """
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        size = ObservationLayout(config).size
        obs_columns = [f"obs_{j}" for j in range(size)]
        required = ["user", "step", "action", "reward", "propensity", *obs_columns]
        missing = [c for c in required if c not in frame.columns]
        if missing:
            shown = missing if len(missing) <= 6 else [*missing[:6], "..."]
            raise ValueError(
                f"frame lacks column(s) {shown}; logs need {list(LOG_COLUMNS[:4])} + ['propensity'] and "
                f"obs_0..obs_{size - 1} for a {config.observation!r} observation of {config.n_items} items"
            )
        if frame[required].isna().any().any():
            bad = [c for c in required if frame[c].isna().any()]
            raise ValueError(f"frame has missing values in column(s) {bad}")
        check_propensities(frame["propensity"].to_numpy(dtype=np.float64))
        table = frame.sort_values(["user", "step"], kind="stable")
        sizes = table.groupby("user", sort=False).size()
        # With exits the data cannot tell T (every user may have left early): the config's session length is T.
        horizon = int(sizes.iloc[0]) if config.leave_rate == 0 else config.session_length
        if config.leave_rate > 0 and sizes.max() > horizon:
            raise ValueError(f"a user has {int(sizes.max())} steps, more than session_length={horizon}")
        if config.leave_rate == 0 and (sizes != horizon).any():
            raise ValueError(f"every user needs the same number of steps; found {sorted(set(sizes.tolist()))}")
        n = len(sizes)
        # Row i's logged steps fill the first sizes[i] cells; the rest (after an exit) are padded.
        there = np.arange(horizon) < sizes.to_numpy()[:, None]
        steps = np.full((n, horizon), -1)
        steps[there] = table["step"].to_numpy()
        if not (steps[there] == np.broadcast_to(np.arange(horizon), (n, horizon))[there]).all():
            raise ValueError(f"every user needs the steps 0..{horizon - 1} exactly once")
        engagement = table["engagement"].to_numpy(np.float64) if "engagement" in table else np.full(len(table), np.nan)

        def padded(values: NDArray[Any], fill: float) -> NDArray[Any]:
            out = np.full((n, horizon), fill, dtype=values.dtype)
            out[there] = values
            return out

        observations = np.zeros((n, horizon, size))
        observations[there] = table[obs_columns].to_numpy(np.float64)
        last = sizes.to_numpy() - 1
        observations[~there] = np.repeat(observations[np.arange(n), last], horizon - sizes.to_numpy(), axis=0)
        return cls(
            config=config,
            observations=observations,
            actions=padded(table["action"].to_numpy(np.int64), -1),
            rewards=padded(table["reward"].to_numpy(np.float64), 0.0),
            engagement=padded(engagement, 0.0),
            propensities=padded(table["propensity"].to_numpy(np.float64), 1.0),
            users=sizes.index.to_numpy().astype(np.int64),
            policy=policy,
        )


def check_propensities(propensities: NDArray[np.float64]) -> None:
    """Raise ``ValueError`` naming the problem unless every propensity is a probability in ``(0, 1]``."""
    p = np.asarray(propensities, dtype=np.float64)
    if not np.all(np.isfinite(p)):
        raise ValueError("propensities must be finite; found NaN or infinity")
    if np.any(p == 0):
        raise ValueError(
            f"{int((p == 0).sum())} logged action(s) have propensity 0: the logging policy could not have taken "
            "them, so the logs or their propensities are wrong (importance weights would be infinite)"
        )
    if np.any((p < 0) | (p > 1)):
        raise ValueError(
            f"propensities must be probabilities in (0, 1]; found values in [{p.min():.4g}, {p.max():.4g}]"
        )


def collect(
    config: EnvConfig,
    policy: Any,
    n_users: int,
    seed: int,
    stream: str = seeds.TEST,
) -> Logs:
    """Run ``policy`` (the logging policy) for one session on each of ``n_users`` users and log everything.

    Users come from ``seeds.generator(seed, stream, "users")``, clicks from ``(seed, stream, "clicks")``, and the
    policy is re-seeded with ``(seed, stream, "policy", policy.name)`` (if it has ``reset``). The policy needs
    ``action_probabilities``. The logs hold ``config.observation`` observations, or the policy's own mode (its
    ``observation`` attribute) if that is richer (counts < feedback < oracle), so that a target that reads
    feedback can be evaluated on logs of a counts-only logging policy. A user who leaves (``leave_rate > 0``)
    ends the session's row: the rest holds action -1, reward 0 and propensity 1 (see :class:`Logs`).
    """
    n = check_int(n_users, "n_users", 1)
    if not callable(getattr(policy, "action_probabilities", None)):
        raise ValueError(f"policy {policy!r} has no action_probabilities(); the logs need its propensities")
    seed = seeds.validate_seed(seed)
    wanted = getattr(policy, "observation", None) or config.observation
    observation = max(wanted, config.observation, key=_RICHNESS.__getitem__)
    env_config = config.replace(observation=observation)
    name = str(getattr(policy, "name", "logging"))
    preferences = sample_users(config, n, seed, stream)
    if callable(getattr(policy, "reset", None)):
        policy.reset(seeds.derive_seed(seed, stream, "policy", name))
    played = run_sessions(
        policy,
        env_config,
        preferences,
        seeds.derive_seed(seed, stream, "clicks"),
        deterministic=False,
        record=True,
        view=lambda obs: convert_observations(np.asarray(obs, dtype=np.float64), env_config, wanted),
    )
    assert played.observations is not None and played.propensities is not None
    return Logs(
        env_config,
        played.observations,
        played.actions,
        played.rewards,
        played.engagement,
        played.propensities,
        np.arange(n, dtype=np.int64),
        name,
    )


_RICHNESS = {"counts": 0, "feedback": 1, "oracle": 2}


def convert_observations(observations: NDArray[np.float64], config: EnvConfig, wanted: str) -> NDArray[np.float64]:
    """Observations logged in ``config.observation`` mode, seen in mode ``wanted`` (any leading shape).

    Each mode contains the poorer ones: feedback and oracle observations start with ``counts / T``, and the
    oracle observation starts with the feedback one (with the item qualities, when the config has them).
    """
    have = config.observation
    if wanted == have:
        return observations
    if wanted == "counts":
        return np.rint(observations[..., : config.n_items] * config.session_length)
    if wanted == "feedback" and have == "oracle":
        return observations[..., : ObservationLayout(config.replace(observation="feedback")).size]
    raise ValueError(f"the policy reads {wanted!r} observations, which {have!r} logs do not contain")
