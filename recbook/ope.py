"""Off-policy evaluation: logs with propensities, and estimators of a new policy's value from an old policy's logs.

A *logging* policy ``mu`` ran and left logs: for every session and step the observation ``s_t``, the recommended
item ``a_t``, the reward ``r_t`` and the *propensity* ``mu(a_t | s_t)``. The question is what return a *target*
policy ``pi`` would get. Every estimator here reweights the logged rewards by the importance ratios
``rho_t = pi(a_t | s_t) / mu(a_t | s_t)`` and/or models the rewards:

* ``is``: ``w_{T-1} G`` (trajectory-wise importance sampling; ``G`` = the session's return); unbiased;
* ``wis``: ``sum_i w_{i,T-1} G_i / sum_i w_{i,T-1}`` (weighted, self-normalised); biased, consistent;
* ``pdis``: ``sum_t w_t r_t`` (per-decision: a reward depends only on the actions up to it); unbiased;
* ``wpdis``: ``sum_t (sum_i w_{it} r_{it} / sum_i w_{it})``; biased, consistent;
* ``dm``: ``V_hat(s_0)`` from a Q-function fitted to the logs (the direct method, fitted Q evaluation); biased by
  the model's errors;
* ``dr``: ``sum_t [w_t (r_t - Q_hat(s_t, a_t)) + w_{t-1} V_hat(s_t)]`` with ``V_hat(s) = sum_a pi(a | s)
  Q_hat(s, a)`` (sequential doubly robust, Jiang & Li 2016); unbiased.

Here ``w_t = rho_0 ... rho_t`` (``w_{-1} = 1``) and every estimate is a mean over sessions ``i``.

``dr`` is unbiased whatever ``Q_hat`` is, as long as ``Q_hat`` is not fitted on the sessions it corrects: it is
*cross-fitted* (``folds=2``: ``Q_hat`` is fitted on one half of the sessions and used on the other, and back).
With an exact ``Q_hat`` its corrections ``r_t + V_hat(s_{t+1}) - Q_hat(s_t, a_t)`` have mean zero and it keeps
DM's low variance; with a poor one it falls back towards PDIS. The cross-fitting is *repeated* over ``splits=5``
independent random assignments of the sessions to folds (Chernozhukov et al. 2018, "double/debiased machine
learning", mean version): the estimate is the mean of the ``splits`` estimates ``theta_s`` (each unbiased, so
their mean is too) and its variance ``mean_s(se_s^2 + (theta_s - theta)^2)`` adds the spread that the random
choice of folds causes to each split's own standard error, so the estimate no longer hangs on one random split.
``dm`` uses the same models.

Intervals (95 % by default). ``is`` and ``pdis`` are means of per-session weighted returns whose weights are
products of ratios: right-skewed, with rare large values (heavy-tailed at long horizons). A logged sample that
happens to contain few of the large weights gives a low estimate *and* a low standard error, so a normal
interval ``value +- z * se`` misses the truth from below more often than from above. Their intervals are
therefore *studentized bootstrap* (bootstrap-t) intervals over sessions (``n_resamples=2000``; Efron &
Tibshirani 1993, ch. 12): the quantiles of ``t* = (mean* - mean) / se*`` over resamples replace ``+- z``,
giving an interval that reaches further above the estimate than below. The reported ``se`` is the usual
``sd / sqrt(n)``. ``dr`` and ``dm`` have normal intervals with the repeated-cross-fitting variance above;
``wis`` and ``wpdis`` normal intervals with delta-method standard errors. DM's interval only reflects the spread
of ``V_hat(s_0)`` over sessions and splits, not the error of the fitted model, so it is too narrow when the model
is biased; the chapter measures how often each interval covers the truth.

The *effective sample size* (Kish) of weights ``w`` is ``(sum w)^2 / sum w^2``: how many on-policy sessions the
weighted logs are worth. Single-step (bandit) estimators for logs without sessions — IPW, SNIPW, DM, DR and
Switch-DR — are in :func:`estimate_bandit`.

Seeds: :func:`collect` draws users, clicks and the logging policy's coins from ``recbook.seeds`` streams
``(seed, stream, "users" | "clicks" | "policy")``, so the same call gives the same logs; :func:`estimate` draws
its folds and bootstrap resamples from ``(seed, TEST, "bootstrap", "ope-folds" | "ope-is" | "ope-pdis")``, so the
same call gives the same estimate and interval.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from recbook import seeds
from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.users import sample_preferences
from recbook.vector import RecommendationVectorEnv

__all__ = [
    "BANDIT_METHODS",
    "LOG_COLUMNS",
    "METHODS",
    "UNBIASED",
    "Estimate",
    "Logs",
    "collect",
    "effective_sample_size",
    "estimate",
    "estimate_bandit",
    "fit_q_function",
    "importance_weights",
    "overlap",
    "replicate",
    "true_value",
]

#: Sequential estimators of :func:`estimate`, in the order the book tabulates them.
METHODS: tuple[str, ...] = ("is", "wis", "pdis", "wpdis", "dm", "dr")
#: The sequential estimators that are unbiased (given exact propensities and, for DR, a cross-fitted Q).
UNBIASED: tuple[str, ...] = ("is", "pdis", "dr")
#: Single-step estimators of :func:`estimate_bandit`.
BANDIT_METHODS: tuple[str, ...] = ("ipw", "snipw", "dm", "dr", "switch-dr")
#: Columns of :meth:`Logs.to_frame` besides the observation columns ``obs_0, obs_1, ...``.
LOG_COLUMNS: tuple[str, ...] = ("user", "step", "action", "reward", "engagement", "propensity", "done")

#: A Q-function: ``q(observations (K, d), steps (K,)) -> (K, n_items)`` expected return-to-go of each item.
QFunction = Callable[[NDArray[np.float64], NDArray[np.int64]], NDArray[np.float64]]


@dataclass(frozen=True)
class Logs:
    """What a logging policy did in ``n`` sessions of ``T`` steps.

    Attributes:
        config: the environment; ``config.observation`` is the mode the observations were logged in.
        observations: what the logging policy saw before each step, shape ``(n, T, d)``.
        actions: recommended items, int, ``(n, T)``.
        rewards: observed rewards (clicks under click feedback), ``(n, T)``.
        engagement: engagement probabilities of the recommendations, ``(n, T)`` (NaN when unknown, e.g. logs
            loaded from a frame without that column; no estimator reads it).
        propensities: the logging policy's probability of each logged action, ``(n, T)``, in ``(0, 1]``.
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
        if np.any((self.actions < 0) | (self.actions >= self.config.n_items)):
            raise ValueError(f"actions must be item indices in [0, {self.config.n_items})")
        if not np.all(np.isfinite(self.rewards)):
            raise ValueError("rewards must be finite")
        _check_propensities(self.propensities)

    @property
    def n_sessions(self) -> int:
        return int(self.actions.shape[0])

    @property
    def horizon(self) -> int:
        """Steps per session ``T``."""
        return int(self.actions.shape[1])

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
        """A tidy table, one row per (session, step): :data:`LOG_COLUMNS` then ``obs_0 .. obs_{d-1}``."""
        n, horizon, d = self.observations.shape
        frame = pd.DataFrame(
            {
                "user": np.repeat(self.users, horizon),
                "step": np.tile(np.arange(horizon), n),
                "action": self.actions.ravel(),
                "reward": self.rewards.ravel(),
                "engagement": self.engagement.ravel(),
                "propensity": self.propensities.ravel(),
                "done": np.tile(np.arange(horizon) == horizon - 1, n),
            }
        )
        observations = pd.DataFrame(self.observations.reshape(n * horizon, d), columns=[f"obs_{j}" for j in range(d)])
        return pd.concat([frame, observations], axis=1)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, config: EnvConfig, policy: str = "logging") -> Logs:
        """Logs from a table shaped like :meth:`to_frame`'s (e.g. a user's own logs), checking every column.

        Required: ``user``, ``step``, ``action``, ``reward``, ``propensity`` and ``obs_0 .. obs_{d-1}`` with ``d``
        the observation size of ``config``; ``engagement`` and ``done`` are optional. Every user needs the steps
        ``0 .. T-1`` exactly once, with the same ``T`` for all users. Raises ``ValueError`` naming the problem.
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
        _check_propensities(frame["propensity"].to_numpy(dtype=np.float64))
        table = frame.sort_values(["user", "step"], kind="stable")
        sizes = table.groupby("user", sort=False).size()
        horizon = int(sizes.iloc[0])
        if (sizes != horizon).any():
            raise ValueError(f"every user needs the same number of steps; found {sorted(set(sizes.tolist()))}")
        n = len(sizes)
        steps = table["step"].to_numpy().reshape(n, horizon)
        if not (steps == np.arange(horizon)).all():
            raise ValueError(f"every user needs the steps 0..{horizon - 1} exactly once")
        engagement = table["engagement"].to_numpy(np.float64) if "engagement" in table else np.full(n * horizon, np.nan)
        return cls(
            config=config,
            observations=table[obs_columns].to_numpy(np.float64).reshape(n, horizon, size),
            actions=table["action"].to_numpy(np.int64).reshape(n, horizon),
            rewards=table["reward"].to_numpy(np.float64).reshape(n, horizon),
            engagement=engagement.reshape(n, horizon),
            propensities=table["propensity"].to_numpy(np.float64).reshape(n, horizon),
            users=sizes.index.to_numpy().astype(np.int64),
            policy=policy,
        )


def _check_propensities(propensities: NDArray[np.float64]) -> None:
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
    feedback can be evaluated on logs of a counts-only logging policy.
    """
    if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)) or n_users < 1:
        raise ValueError(f"n_users must be a positive integer, got {n_users!r}")
    if not callable(getattr(policy, "action_probabilities", None)):
        raise ValueError(f"policy {policy!r} has no action_probabilities(); the logs need its propensities")
    seed = seeds.validate_seed(seed)
    wanted = getattr(policy, "observation", None) or config.observation
    observation = max(wanted, config.observation, key=_RICHNESS.__getitem__)
    env_config = config.replace(observation=observation)
    name = str(getattr(policy, "name", "logging"))
    n = int(n_users)
    preferences = sample_preferences(seeds.generator(seed, stream, "users"), config.alpha_vector, size=n)
    if callable(getattr(policy, "reset", None)):
        policy.reset(seeds.derive_seed(seed, stream, "policy", name))
    env = RecommendationVectorEnv.from_config(env_config, n)
    obs, _ = env.reset(seed=seeds.derive_seed(seed, stream, "clicks"), options={"preferences": preferences})
    horizon = config.session_length
    layout = ObservationLayout(env_config)
    observations = np.zeros((n, horizon, layout.size))
    actions = np.zeros((n, horizon), dtype=np.int64)
    rewards = np.zeros((n, horizon))
    engagement = np.zeros((n, horizon))
    propensities = np.zeros((n, horizon))
    rows = np.arange(n)
    for t in range(horizon):
        seen = _convert(np.asarray(obs, dtype=np.float64), env_config, wanted)
        probabilities = np.asarray(policy.action_probabilities(seen), dtype=np.float64)
        action, _ = policy.predict(seen, deterministic=False)
        action = np.asarray(action, dtype=np.int64).reshape(n)
        observations[:, t] = obs
        actions[:, t] = action
        propensities[:, t] = probabilities[rows, action]
        obs, reward, _, _, info = env.step(action)
        rewards[:, t] = reward
        engagement[:, t] = info["engagement_probability"]
    return Logs(env_config, observations, actions, rewards, engagement, propensities, rows.astype(np.int64), name)


# -- importance weights and overlap ----------------------------------------------------------------------------
_RICHNESS = {"counts": 0, "feedback": 1, "oracle": 2}


def _convert(observations: NDArray[np.float64], config: EnvConfig, wanted: str) -> NDArray[np.float64]:
    """Observations logged in ``config.observation`` mode, seen in mode ``wanted`` (any leading shape).

    Each mode contains the poorer ones: feedback and oracle observations start with ``counts / T``, and the
    oracle observation starts with the feedback one.
    """
    have = config.observation
    if wanted == have:
        return observations
    if wanted == "counts":
        return np.rint(observations[..., : config.n_items] * config.session_length)
    if wanted == "feedback" and have == "oracle":
        return observations[..., : 3 * config.n_items + 1]
    raise ValueError(f"the policy reads {wanted!r} observations, which {have!r} logs do not contain")


def _target_view(logs: Logs, target: Any) -> NDArray[np.float64]:
    """The logged observations ``(n, T, d')`` in the observation mode the target policy reads."""
    wanted = getattr(target, "observation", None) or logs.config.observation
    return _convert(logs.observations, logs.config, wanted)


def target_probabilities(logs: Logs, target: Any) -> NDArray[np.float64]:
    """``pi(a | s_t)`` of the target for every logged observation and item, shape ``(n, T, n_items)``."""
    if not callable(getattr(target, "action_probabilities", None)):
        raise ValueError(f"target {target!r} has no action_probabilities()")
    view = _target_view(logs, target)
    n, horizon, d = view.shape
    probabilities = np.asarray(target.action_probabilities(view.reshape(n * horizon, d)), dtype=np.float64)
    if probabilities.shape != (n * horizon, logs.config.n_items):
        raise ValueError(f"target.action_probabilities returned shape {probabilities.shape}")
    return probabilities.reshape(n, horizon, logs.config.n_items)


def importance_weights(
    logs: Logs, target: Any, probabilities: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Per-step ratios ``rho_t = pi(a_t | s_t) / mu(a_t | s_t)``, shape ``(n, T)``.

    The cumulative weights are ``np.cumprod(rho, axis=1)``; the trajectory weight is its last column.
    """
    if probabilities is None:
        probabilities = target_probabilities(logs, target)
    logged = np.take_along_axis(probabilities, logs.actions[..., None], axis=2)[..., 0]
    return logged / logs.propensities


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of non-negative weights (0 if all are 0)."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative")
    total = float((w**2).sum())
    return float(w.sum() ** 2 / total) if total > 0 else 0.0


def overlap(logs: Logs, target: Any) -> pd.DataFrame:
    """Overlap diagnostics per step: how well the logs cover what the target would do.

    One row per step ``t`` with the cumulative weights ``w_t = rho_0 ... rho_t``: ``ess`` (Kish) and
    ``ess_fraction`` (``ess / n``), ``mean_weight`` (1 in expectation when the target's support is covered),
    ``max_weight``, the weights' ``q50``, ``q99``, and ``zero_fraction`` (sessions the target would never have
    produced up to ``t``). The last row is the trajectory weight that IS and WIS use.
    """
    cumulative = np.cumprod(importance_weights(logs, target), axis=1)
    rows = []
    for t in range(logs.horizon):
        w = cumulative[:, t]
        ess = effective_sample_size(w)
        rows.append(
            {
                "step": t,
                "ess": ess,
                "ess_fraction": ess / logs.n_sessions,
                "mean_weight": float(w.mean()),
                "max_weight": float(w.max()),
                "q50": float(np.quantile(w, 0.5)),
                "q99": float(np.quantile(w, 0.99)),
                "zero_fraction": float((w == 0).mean()),
            }
        )
    return pd.DataFrame(rows).set_index("step")


# -- the direct method: fitted Q evaluation ------------------------------------------------------------------
def _features(config: EnvConfig, observations: NDArray[np.float64]) -> NDArray[np.float64]:
    """Item-shared features ``(K, n_items, f)`` of recommending each item in each observation ``(K, d)``.

    Feedback observations: 1, the posterior-mean value of the item's next recommendation (Bayes-greedy's index:
    its expected immediate reward), whether it is revealed, its decay multiplier ``m(count + 1)``, its count,
    whether it is the best index, the best index, the number of revealed items and the plan value
    (``_plan_value``) of the remaining steps. Counts observations: 1,
    ``m(count + 1)``, the count and whether it is the least recommended item.
    """
    from recbook.policies import BayesGreedy

    n_items, horizon = config.n_items, config.session_length
    k = observations.shape[0]
    if config.observation == "counts":
        counts = np.rint(observations)
        multiplier = config.decay_model.multiplier(counts + 1)
        least = (counts == counts.min(axis=1, keepdims=True)).astype(np.float64)
        return np.stack([np.ones((k, n_items)), multiplier, counts / horizon, least], axis=2)
    layout = ObservationLayout(config)
    view = layout.parse(observations[..., : 3 * n_items + 1] if config.observation == "oracle" else observations)
    index = BayesGreedy(config.replace(observation="feedback")).scores(observations[..., : 3 * n_items + 1])
    best = index.max(axis=1, keepdims=True)
    columns: list[NDArray[np.float64]] = [
        np.ones((k, n_items)),
        index,
        view.revealed.astype(np.float64),
        config.decay_model.multiplier(view.counts + 1),
        view.counts / horizon,
        (index >= best - 1e-12).astype(np.float64),
        np.broadcast_to(best, (k, n_items)),
        np.broadcast_to(view.revealed.mean(axis=1, keepdims=True), (k, n_items)),
        np.broadcast_to(
            _plan_value(
                config, view.counts, index / config.decay_model.multiplier(view.counts + 1), view.steps_remaining
            )[:, None],
            (k, n_items),
        ),
    ]
    features = np.empty((k, n_items, len(columns)))
    for j, column in enumerate(columns):
        features[:, :, j] = column
    return features


def _plan_value(
    config: EnvConfig, counts: NDArray[np.int64], estimate: NDArray[np.float64], steps_remaining: NDArray[np.int64]
) -> NDArray[np.float64]:
    """What the rest of the session would earn if the preference estimates were true, ``(K,)``.

    The sum of the ``steps_remaining`` largest next marginals ``estimate[a] m(counts[a] + j)`` (the oracle's plan
    of chapter 2 applied to the estimates): a state feature that tracks the continuation value of good policies.
    """
    # Greedy on the estimated marginals takes the largest ones (chapter 2's exchange argument), one step at a time.
    counts = counts.copy()
    rows = np.arange(counts.shape[0])
    total = np.zeros(counts.shape[0])
    for j in range(int(steps_remaining.max(initial=0))):
        marginal = estimate * config.decay_model.multiplier(counts + 1)
        best = np.argmax(marginal, axis=1)
        active = steps_remaining > j
        total += np.where(active, marginal[rows, best], 0.0)
        counts[rows, best] += active
    return total


def _backward_fqe(
    logs: Logs,
    probabilities: NDArray[np.float64],
    train_masks: Sequence[NDArray[np.bool_]],
    ridge: float,
    assignments: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.float64] | None]:
    """Fitted Q evaluation of several models at once, one backward pass over the steps.

    Model ``k`` is fitted on the sessions of ``train_masks[k]``. Returns the coefficients ``(K, T, f)`` and, if
    ``assignments`` (``(S, n)``: for each of ``S`` splits, the model index of each session) is given,
    ``Q_hat(s_t, a_t)`` of the logged actions and ``V_hat(s_t)``, both ``(S, n, T)``, of each session under its
    model in each split (else ``None, None``). Each step's features are computed once for all sessions and models.
    """
    n, horizon = logs.n_sessions, logs.horizon
    rows = np.arange(n)
    n_models = len(train_masks)
    coefficients: NDArray[np.float64] | None = None
    next_value = np.zeros((n_models, n))
    q_logged = v_out = None
    # For each model, the (split, sessions) it predicts for.
    uses: list[list[tuple[int, NDArray[np.bool_]]]] = [[] for _ in range(n_models)]
    if assignments is not None:
        q_logged = np.zeros((assignments.shape[0], n, horizon))
        v_out = np.zeros((assignments.shape[0], n, horizon))
        for split, assignment in enumerate(assignments):
            for k in np.unique(assignment):
                uses[int(k)].append((split, assignment == k))
    for t in range(horizon - 1, -1, -1):
        features = _features(logs.config, logs.observations[:, t])  # (n, n_items, f)
        if coefficients is None:
            coefficients = np.zeros((n_models, horizon, features.shape[2]))
        x_logged = features[rows, logs.actions[:, t]]
        for k, mask in enumerate(train_masks):
            x = x_logged[mask]
            y = logs.rewards[mask, t] + next_value[k, mask]
            gram = x.T @ x + ridge * max(int(mask.sum()), 1) * np.eye(x.shape[1])
            coefficients[k, t] = np.linalg.solve(gram, x.T @ y)
            q_all = features @ coefficients[k, t]
            next_value[k] = (probabilities[:, t] * q_all).sum(axis=1)
            if q_logged is not None and v_out is not None:
                for split, chosen in uses[k]:
                    q_logged[split, chosen, t] = q_all[chosen, logs.actions[chosen, t]]
                    v_out[split, chosen, t] = next_value[k, chosen]
    assert coefficients is not None
    return coefficients, q_logged, v_out


def fit_q_function(
    logs: Logs,
    target: Any,
    probabilities: NDArray[np.float64] | None = None,
    ridge: float = 1e-3,
) -> QFunction:
    """Fitted Q evaluation: a linear Q-function of the target, one regression per step, backwards from ``T-1``.

    At step ``t`` the regression target is ``r_t + V_hat_{t+1}(s_{t+1})`` with ``V_hat_{t+1}(s) = sum_a pi(a|s)
    Q_hat_{t+1}(s, a)`` (0 after the last step), regressed on item-shared features of ``(s_t, a_t)``
    (``_features``) by ridge least squares (penalty ``ridge`` times the number of sessions; the intercept is
    penalised too, which is harmless at this size). Returns ``q(observations (K, d), steps (K,)) -> (K, n_items)``.
    """
    if probabilities is None:
        probabilities = target_probabilities(logs, target)
    coefficients, _, _ = _backward_fqe(logs, probabilities, [np.ones(logs.n_sessions, dtype=bool)], ridge)
    config = logs.config

    def q_function(observations: NDArray[np.float64], steps: NDArray[np.int64]) -> NDArray[np.float64]:
        obs = np.asarray(observations, dtype=np.float64)
        step = np.asarray(steps, dtype=np.int64)
        return np.einsum("knf,kf->kn", _features(config, obs), coefficients[0, step])

    return q_function


def _q_values(logs: Logs, q_function: QFunction) -> NDArray[np.float64]:
    """``Q_hat(s_t, a)`` for every logged observation and item, ``(n, T, n_items)``."""
    n, horizon, d = logs.observations.shape
    steps = np.tile(np.arange(horizon), n)
    q = np.asarray(q_function(logs.observations.reshape(n * horizon, d), steps), dtype=np.float64)
    if q.shape != (n * horizon, logs.config.n_items):
        raise ValueError(f"q_function returned shape {q.shape}, expected ({n * horizon}, {logs.config.n_items})")
    return q.reshape(n, horizon, logs.config.n_items)


# -- estimates -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """An off-policy estimate of a policy's value (mean return per session) with its 95 % interval.

    Attributes:
        method: the estimator's name.
        value: the estimate.
        ci_low, ci_high: the confidence interval (level ``confidence_level``): studentized bootstrap for
            ``is``/``pdis``, normal otherwise (see the module docstring).
        se: the standard error (for ``dm``/``dr``, including the spread over cross-fitting splits).
        ess: effective sample size of the weights the method uses (the trajectory weights for ``is``/``wis``;
            the mean over steps of the cumulative weights' ESS for ``pdis``/``wpdis``/``dr``; ``n`` for ``dm``).
        n: number of sessions (or rows, for bandit logs).
        seconds: wall-clock time of the estimate.
    """

    method: str
    value: float
    ci_low: float
    ci_high: float
    se: float
    ess: float
    n: int
    confidence_level: float = 0.95
    seconds: float = 0.0

    def covers(self, truth: float) -> bool:
        """Whether the interval contains ``truth``."""
        return bool(self.ci_low <= truth <= self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "se": self.se,
            "ess": self.ess,
            "n": self.n,
            "seconds": self.seconds,
        }


def _normal(method: str, value: float, influence: NDArray[np.float64], ess: float, level: float) -> Estimate:
    """An :class:`Estimate` with the normal interval of a mean whose per-unit influence values are given."""
    n = influence.size
    se = float(influence.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    z = float(stats.norm.ppf(0.5 + level / 2))
    return Estimate(method, float(value), float(value - z * se), float(value + z * se), se, float(ess), n, level)


def _check_level(confidence_level: float) -> float:
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level!r}")
    return float(confidence_level)


def _studentized(
    method: str,
    contributions: NDArray[np.float64],
    ess: float,
    level: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> Estimate:
    """The mean of per-session ``contributions`` with a studentized bootstrap (bootstrap-t) interval.

    Each of ``n_resamples`` resamples of the sessions (with replacement) gives ``t* = (mean* - mean) / se*``; the
    interval is ``[mean - t*_(1 - a/2) se, mean - t*_(a/2) se]`` with ``a = 1 - level`` and ``se`` the usual
    ``sd / sqrt(n)`` (Efron & Tibshirani 1993, ch. 12). A sample that lacks its rare large weights has a low mean
    *and* a low ``se``, so ``t*`` has a long lower tail and the interval reaches further above the mean than
    below: the correction a normal interval misses for right-skewed weighted returns. ``n_resamples=0`` (or
    fewer than two sessions, or no spread) gives the normal interval.
    """
    n = contributions.size
    value = float(contributions.mean())
    if n_resamples == 0 or n < 2 or not contributions.std() > 0:
        return _normal(method, value, contributions, ess, level)
    se = float(contributions.std(ddof=1) / np.sqrt(n))
    centred = contributions - value
    t_star = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // n)  # resamples per batch: bounds the index array to ~16 MB
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        sample = centred[rng.integers(0, n, size=(stop - start, n))]
        shift = sample.mean(axis=1)
        variance = np.maximum((sample**2).mean(axis=1) - shift**2, 0.0) * n / (n - 1)
        se_star = np.sqrt(variance / n)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star[start:stop] = np.where(se_star > 0, shift / se_star, np.sign(shift) * np.inf)
    alpha = 1.0 - level
    t_low, t_high = np.quantile(t_star, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return Estimate(method, value, float(value - t_high * se), float(value - t_low * se), se, float(ess), n, level)


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _cross_fit(
    logs: Logs, probabilities: NDArray[np.float64], folds: int, splits: int, seed: int, ridge: float = 1e-3
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Repeated cross-fitting: ``Q_hat(s_t, a_t)`` and ``V_hat(s_t)``, both ``(splits, n, T)``.

    Each split assigns the sessions to ``folds`` random folds (split 0 is the assignment of a single
    cross-fitting); each session's values come from the model fitted on the other folds of that split.
    ``folds=1`` fits one model on all logs (then there is a single split).
    """
    folds = _check_count(folds, "folds", 1)
    splits = _check_count(splits, "splits", 1)
    n = logs.n_sessions
    if folds == 1:
        masks = [np.ones(n, dtype=bool)]
        assignments = np.zeros((1, n), dtype=np.int64)
    else:
        if n < 2 * folds:
            raise ValueError(f"folds={folds} needs at least {2 * folds} sessions, got {n}")
        rng = seeds.generator(seed, seeds.TEST, "bootstrap", "ope-folds")
        folds_of = np.stack([rng.permutation(n) % folds for _ in range(splits)])
        masks = [folds_of[split] != fold for split in range(splits) for fold in range(folds)]
        assignments = folds_of + folds * np.arange(splits)[:, None]  # model index = split * folds + fold
    _, q_logged, v = _backward_fqe(logs, probabilities, masks, ridge, assignments=assignments)
    assert q_logged is not None and v is not None
    return q_logged, v


def _repeated(method: str, contributions: NDArray[np.float64], ess: float, level: float) -> Estimate:
    """Combine per-split estimates ``contributions`` ``(S, n)`` (Chernozhukov et al. 2018, mean version).

    Value: the mean over splits of the split estimates ``theta_s`` (each unbiased, so the mean is too). Variance:
    ``mean_s(se_s^2 + (theta_s - value)^2)``, each split's own standard error plus the spread that the random
    choice of folds adds. Normal interval. With one split this is :func:`_normal`.
    """
    splits, n = contributions.shape
    thetas = contributions.mean(axis=1)
    value = float(thetas.mean())
    ses = contributions.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.full(splits, np.nan)
    se = float(np.sqrt(np.mean(ses**2 + (thetas - value) ** 2)))
    z = float(stats.norm.ppf(0.5 + level / 2))
    return Estimate(method, value, value - z * se, value + z * se, se, float(ess), n, level)


def estimate(
    logs: Logs,
    target: Any,
    method: str = "dr",
    *,
    q_function: QFunction | None = None,
    folds: int = 2,
    splits: int = 5,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Estimate the target's value (mean undiscounted return per session) from ``logs``.

    Args:
        logs: logs with the logging policy's propensities (:func:`collect` or :meth:`Logs.from_frame`).
        target: the policy to evaluate; anything with ``action_probabilities(observations (K, d)) -> (K, n)``.
        method: one of :data:`METHODS` (see the module docstring).
        q_function: for ``dm``/``dr``, a given Q-function ``q(observations, steps) -> (K, n_items)`` instead of
            fitting one (:func:`fit_q_function`); with it ``dr`` is not cross-fitted.
        folds: cross-fitting folds of ``dr`` (and of ``dm``, so both use the same models); 1 fits on all logs.
        splits: repeated cross-fitting of ``dr``/``dm``: the number of independent random fold assignments whose
            estimates are averaged (their spread enters the standard error); 1 cross-fits once.
        n_resamples: studentized-bootstrap resamples of the intervals of ``is`` and ``pdis``; 0 gives their
            normal interval.
        confidence_level: of the interval (default 0.95).
        seed: assigns sessions to folds and draws the bootstrap resamples (``seeds`` stream TEST, purpose
            ``"bootstrap"``).

    Returns:
        an :class:`Estimate`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(logs, Logs):
        raise ValueError(f"logs must be Logs (collect() or Logs.from_frame()), got {type(logs).__name__}")
    level = _check_level(confidence_level)
    n_resamples = _check_count(n_resamples, "n_resamples", 0)
    start = time.perf_counter()
    probabilities = target_probabilities(logs, target)
    rho = importance_weights(logs, target, probabilities)
    w = np.cumprod(rho, axis=1)
    n = logs.n_sessions
    r = logs.rewards
    per_step_ess = float(np.mean([effective_sample_size(w[:, t]) for t in range(logs.horizon)]))
    if method in ("is", "pdis"):
        rng = seeds.generator(seed, seeds.TEST, "bootstrap", "ope-" + method)
        if method == "is":
            contributions = w[:, -1] * r.sum(axis=1)
            ess = effective_sample_size(w[:, -1])
        else:
            contributions = (w * r).sum(axis=1)
            ess = per_step_ess
        result = _studentized(method, contributions, ess, level, n_resamples, rng)
    elif method == "wis":
        weight = w[:, -1]
        if weight.sum() == 0:
            raise ValueError("every trajectory weight is 0: the target never takes the logged actions (no overlap)")
        g = r.sum(axis=1)
        value = float((weight * g).sum() / weight.sum())
        influence = weight * (g - value) / weight.mean()
        result = _normal(method, value, influence, effective_sample_size(weight), level)
    elif method == "wpdis":
        mean_w = w.mean(axis=0)
        if np.any(mean_w == 0):
            raise ValueError("at some step every cumulative weight is 0: no overlap with the target")
        v_t = (w * r).sum(axis=0) / w.sum(axis=0)
        influence = (w * (r - v_t) / mean_w).sum(axis=1)
        result = _normal(method, float(v_t.sum()), influence, per_step_ess, level)
    else:
        if q_function is not None:
            q = _q_values(logs, q_function)
            q_logged = np.take_along_axis(q, logs.actions[..., None], axis=2)[None, ..., 0]
            v = (probabilities * q).sum(axis=2)[None]  # V_hat(s_t), (1, n, T)
        else:
            q_logged, v = _cross_fit(logs, probabilities, folds, splits, seed)
        if method == "dm":
            result = _repeated(method, v[:, :, 0], float(n), level)
        else:
            w_before = np.concatenate([np.ones((n, 1)), w[:, :-1]], axis=1)
            contributions = (w * (r - q_logged) + w_before * v).sum(axis=2)  # (splits, n)
            result = _repeated(method, contributions, per_step_ess, level)
    return _with_seconds(result, time.perf_counter() - start)


def _with_seconds(result: Estimate, seconds: float) -> Estimate:
    return Estimate(**{**result.__dict__, "seconds": float(seconds)})


# -- single-step (bandit) estimators -------------------------------------------------------------------------
def estimate_bandit(
    rewards: ArrayLike,
    propensities: ArrayLike,
    target_propensities: ArrayLike,
    method: str = "ipw",
    *,
    q_logged: ArrayLike | None = None,
    q_target: ArrayLike | None = None,
    switch_threshold: float = 10.0,
    confidence_level: float = 0.95,
) -> Estimate:
    """Single-step off-policy estimate of the target's mean reward from bandit logs (one decision per row).

    Args:
        rewards: observed rewards ``r_i``, shape ``(n,)``.
        propensities: the logging policy's ``mu(a_i | x_i)`` of each logged action, ``(n,)``, in ``(0, 1]``.
        target_propensities: the target's ``pi(a_i | x_i)`` of the same actions, ``(n,)``, in ``[0, 1]``.
        method: one of :data:`BANDIT_METHODS`:
            ``ipw`` ``mean(w r)`` with ``w = pi / mu`` (inverse propensity weighting);
            ``snipw`` ``sum(w r) / sum(w)`` (self-normalised);
            ``dm`` ``mean(q_target)`` (the direct method);
            ``dr`` ``mean(q_target + w (r - q_logged))`` (doubly robust, Dudík et al. 2011);
            ``switch-dr`` DR's correction only where ``w <= switch_threshold`` (Wang et al. 2017, as in obp).
        q_logged: a reward model's prediction ``q_hat(x_i, a_i)`` for the logged actions, ``(n,)`` (dm/dr/switch).
        q_target: ``sum_a pi(a | x_i) q_hat(x_i, a)``, the model's expected reward under the target, ``(n,)``.
        switch_threshold: Switch-DR's weight threshold ``tau``.
        confidence_level: of the normal interval (delta method for ``snipw``).
    """
    if method not in BANDIT_METHODS:
        raise ValueError(f"method must be one of {BANDIT_METHODS}, got {method!r}")
    level = _check_level(confidence_level)
    r = np.asarray(rewards, dtype=np.float64).ravel()
    mu = np.asarray(propensities, dtype=np.float64).ravel()
    pi = np.asarray(target_propensities, dtype=np.float64).ravel()
    if not (r.shape == mu.shape == pi.shape) or r.size == 0:
        raise ValueError(
            f"rewards, propensities and target_propensities must be non-empty and of one length, got "
            f"{r.shape}, {mu.shape}, {pi.shape}"
        )
    _check_propensities(mu)
    if np.any(~np.isfinite(pi) | (pi < 0) | (pi > 1)):
        raise ValueError("target_propensities must be probabilities in [0, 1]")
    start = time.perf_counter()
    w = pi / mu
    ess = effective_sample_size(w)
    if method == "ipw":
        result = _normal(method, float((w * r).mean()), w * r, ess, level)
    elif method == "snipw":
        if w.sum() == 0:
            raise ValueError("every weight is 0: the target never takes the logged actions (no overlap)")
        value = float((w * r).sum() / w.sum())
        result = _normal(method, value, w * (r - value) / w.mean(), ess, level)
    else:
        if q_target is None or (method != "dm" and q_logged is None):
            raise ValueError(f"method {method!r} needs q_target" + ("" if method == "dm" else " and q_logged"))
        qt = np.asarray(q_target, dtype=np.float64).ravel()
        if qt.shape != r.shape:
            raise ValueError(f"q_target must have shape {r.shape}, got {qt.shape}")
        if method == "dm":
            result = _normal(method, float(qt.mean()), qt, float(r.size), level)
        else:
            ql = np.asarray(q_logged, dtype=np.float64).ravel()
            if ql.shape != r.shape:
                raise ValueError(f"q_logged must have shape {r.shape}, got {ql.shape}")
            if method == "switch-dr":
                if not switch_threshold > 0:
                    raise ValueError(f"switch_threshold must be positive, got {switch_threshold!r}")
                w = w * (w <= switch_threshold)
            contributions = qt + w * (r - ql)
            result = _normal(method, float(contributions.mean()), contributions, ess, level)
    return _with_seconds(result, time.perf_counter() - start)


# -- ground truth and replications ---------------------------------------------------------------------------
def true_value(config: EnvConfig, target: Any, n_users: int = 100_000, seed: int = 0) -> tuple[float, float]:
    """The target's true value and its Monte-Carlo standard error: its mean return on ``n_users`` fresh users.

    Runs :func:`recbook.evaluation.evaluate` (which draws TEST-stream users), so it uses the same scoring path
    as every other number in the book; the standard error is ``sd(return) / sqrt(n_users)``.
    """
    from recbook.evaluation import evaluate

    table = evaluate({"target": target}, config, n_users=n_users, seed=seed)
    values = table["return"].to_numpy(dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def replicate(
    config: EnvConfig,
    logging: Any,
    target: Any,
    truth: float,
    n_users: int,
    n_replications: int,
    methods: Sequence[str] = METHODS,
    seed: int = 0,
    stream: str = seeds.TEST,
) -> pd.DataFrame:
    """Collect ``n_replications`` independent logs and estimate the target on each with every method.

    Replication ``j`` uses ``collect(config, logging, n_users, seed=derive_seed(seed, stream, "users", j))``,
    so replications share no users. One row per (replication, method): the :class:`Estimate`'s fields plus
    ``replication``, ``truth``, ``error`` (value - truth) and ``covered``.
    """
    rows = []
    for j in range(int(n_replications)):
        logs = collect(config, logging, n_users, seeds.derive_seed(seed, stream, "users", "replication", j), stream)
        for method in methods:
            result = estimate(logs, target, method, seed=j)
            rows.append(
                {
                    "replication": j,
                    **result.to_dict(),
                    "truth": truth,
                    "error": result.value - truth,
                    "covered": result.covers(truth),
                }
            )
    return pd.DataFrame(rows)


def summarize_replications(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: ``bias`` (mean error), ``sd``, ``rmse``, ``coverage`` of the intervals, mean ``ess``."""
    grouped = table.groupby("method", sort=False)
    return pd.DataFrame(
        {
            "bias": grouped["error"].mean(),
            "sd": grouped["value"].std(ddof=1),
            "rmse": grouped["error"].apply(lambda e: float(np.sqrt(np.mean(e**2)))),
            "coverage": grouped["covered"].mean(),
            "mean_ess": grouped["ess"].mean(),
            "replications": grouped.size(),
        }
    )


__all__ += ["summarize_replications", "target_probabilities"]


# -- command line: the chapter's precomputed replications ----------------------------------------------------
def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m recbook.ope",
        description="Replicate the off-policy estimators on the simulator (the chapter's data/ope/ tables).",
    )
    parser.add_argument("--horizons", type=int, nargs="+", default=[5, 10, 20], help="session lengths T")
    parser.add_argument("--n-users", type=int, default=2000, help="sessions per replication")
    parser.add_argument("--replications", type=int, default=300, help="independent logs per horizon")
    parser.add_argument("--truth-users", type=int, default=200_000, help="users for each true value")
    parser.add_argument("--logging-epsilon", type=float, default=0.3)
    parser.add_argument("--target-epsilon", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="data/ope/replications.csv")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recbook.ope``: write one row per (horizon, replication, method) to ``--output``."""
    from pathlib import Path

    from recbook.policies import EpsilonGreedy

    args = _parse(argv)
    frames = []
    for horizon in args.horizons:
        config = EnvConfig(observation="feedback", session_length=horizon)
        logging = EpsilonGreedy(config, epsilon=args.logging_epsilon)
        target = EpsilonGreedy(config, epsilon=args.target_epsilon)
        truth, truth_se = true_value(config, target, n_users=args.truth_users, seed=args.seed)
        start = time.perf_counter()
        table = replicate(config, logging, target, truth, args.n_users, args.replications, seed=args.seed)
        table.insert(0, "horizon", horizon)
        table["truth_se"] = truth_se
        frames.append(table)
        print(f"T={horizon}: truth {truth:.4f} +- {truth_se:.4f}, {time.perf_counter() - start:.0f} s")
        print(summarize_replications(table).round(4).to_string())
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames, ignore_index=True).to_csv(output, index=False, float_format="%.6g")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
