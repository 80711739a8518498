"""Paired evaluation: run policies on the same users (common random numbers) with the batched simulator.

:func:`evaluate` runs every policy on the same users and the same click stream and returns a tidy table, one row
per (policy, user). :func:`summarize` turns it into a per-policy table with bootstrap confidence intervals;
:func:`paired_difference` compares two policies user by user, which is far more precise than comparing their
means; :func:`interquartile_mean` and :func:`mean_confidence_interval` aggregate results across training seeds.

Why paired: users differ far more from each other than good policies differ from each other. On the same users
the user-to-user variation cancels in each difference ``return_a(u) - return_b(u)``, so the standard error of a
paired difference is a fraction of the unpaired one (:func:`paired_difference` reports both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from recbook import seeds
from recbook.config import EnvConfig
from recbook.metrics import METRIC_COLUMNS, pct_oracle, session_metrics
from recbook.users import sample_preferences
from recbook.vector import RecommendationVectorEnv, validate_actions

__all__ = [
    "PredictsActions",
    "Rollout",
    "sample_users",
    "EXITS",
    "rollout",
    "run_policy",
    "score",
    "METRIC_COLUMNS",
    "evaluate",
    "compare",
    "summarize",
    "paired_difference",
    "interquartile_mean",
    "aggregate_runs",
    "performance_profile",
    "mean_confidence_interval",
]


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

    With ``exits="expected"`` (:func:`rollout`) nobody leaves: ``actions`` is the path of a user who stays, and
    ``rewards`` and ``engagement`` are multiplied by the probability that the user is still there at each step.
    """

    preferences: NDArray[np.float64]
    actions: NDArray[np.int64]
    rewards: NDArray[np.float64]
    engagement: NDArray[np.float64]


def sample_users(config: EnvConfig, n_users: int, seed: int, stream: str = seeds.TEST) -> NDArray[np.float64]:
    """Draw ``n_users`` preference vectors from the configuration's Dirichlet prior.

    Users come from ``seeds.generator(seed, stream, "users")``: :data:`~recbook.seeds.TEST` users (the default)
    for final tables, :data:`~recbook.seeds.VALIDATION` users for learning curves and every choice of
    hyperparameter, :data:`~recbook.seeds.TRAIN` users for training. The same ``(config.alpha, n_users, seed,
    stream)`` always gives the same users, whatever policy is evaluated.
    """
    if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)) or n_users < 1:
        raise ValueError(f"n_users must be a positive integer, got {n_users!r}")
    return sample_preferences(seeds.generator(seed, stream, "users"), config.alpha_vector, size=int(n_users))


#: How :func:`rollout` treats users who leave (``leave_rate > 0``): ``"sampled"`` draws each exit, ``"expected"``
#: keeps every user and weights each step by the probability that the user is still there.
EXITS: tuple[str, ...] = ("sampled", "expected")


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
    if exits not in EXITS:
        raise ValueError(f"exits must be one of {EXITS}, got {exits!r}")
    observation = getattr(policy, "observation", None) or config.observation
    env_config = config.replace(observation=observation) if observation != config.observation else config
    weigh = exits == "expected" and config.leave_rate > 0
    if weigh:
        # The observations do not depend on the leave rate (the qualities are shown either way).
        env_config = env_config.replace(leave_rate=0.0)
    preferences = np.asarray(preferences, dtype=np.float64)
    n_users, total = preferences.shape[0], env_config.session_length
    env = RecommendationVectorEnv.from_config(env_config, n_users)
    still_there = np.ones(n_users)
    obs, _ = env.reset(seed=seed, options={"preferences": preferences})
    actions = np.full((n_users, total), -1, dtype=np.int64)
    rewards = np.zeros((n_users, total))
    engagement = np.zeros((n_users, total))
    state = None
    episode_start = np.ones(n_users, dtype=bool)
    active = np.ones(n_users, dtype=bool)
    for t in range(total):
        action, state = policy.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        action = np.asarray(action).reshape(n_users)
        reward, probability, _ = env.advance(validate_actions(action, n_users, env_config.n_items), active)
        actions[active, t] = action[active]
        if weigh:
            reward, probability = reward * still_there, probability * still_there
            still_there = still_there * (1.0 - config.leave_probability(action))
        rewards[:, t] = reward
        engagement[:, t] = probability
        active &= ~env.done()
        if not active.any():
            break
        obs = env.observe()
        episode_start = np.zeros(n_users, dtype=bool)
    return Rollout(preferences=env.preferences.copy(), actions=actions, rewards=rewards, engagement=engagement)




def _policy_name(policy: Any, index: int) -> str:
    name = getattr(policy, "name", None)
    return str(name) if name else f"policy-{index}"


def _check_config(policy: Any, name: str, config: EnvConfig) -> None:
    """Refuse a policy or model built for another environment (the observation mode may differ)."""
    own = getattr(policy, "config", None)
    if isinstance(own, EnvConfig) and own.replace(observation=config.observation) != config:
        raise ValueError(
            f"policy {name!r} was built for {own.to_dict()}, which differs from the evaluation config "
            f"{config.to_dict()} (beyond the observation mode)"
        )


def run_policy(
    policy: PredictsActions,
    name: str,
    config: EnvConfig,
    preferences: NDArray[np.float64],
    seed: int,
    stream: str,
    deterministic: bool = True,
    exits: str = "expected",
) -> Rollout:
    """One policy named ``name`` on ``preferences`` with the clicks and policy coins of ``(seed, stream)``.

    What :func:`evaluate` and :func:`score` run for each policy: a policy with a ``reset(seed)`` method is
    re-seeded from ``(seed, stream, "policy", name)``, and the clicks come from ``(seed, stream, "clicks")``.
    Scores take exits in expectation (``exits="expected"``, see :func:`rollout`); the same mean as sampled exits,
    with none of their noise. Pass ``exits="sampled"`` to score what one simulated run of sessions collected.
    """
    if callable(getattr(policy, "reset", None)) and hasattr(policy, "np_random"):
        policy.reset(seeds.derive_seed(seed, stream, "policy", name))
    click_seed = seeds.derive_seed(seed, stream, "clicks")
    return rollout(policy, config, preferences, seed=click_seed, deterministic=deterministic, exits=exits)


def score(
    policy: PredictsActions,
    config: EnvConfig,
    n_users: int = 2000,
    seed: int = 0,
    stream: str = seeds.VALIDATION,
    deterministic: bool = True,
    exits: str = "expected",
) -> dict[str, float]:
    """One policy's headline numbers on ``n_users`` users of ``(seed, stream)``: the one scoring path.

    Returns ``mean_return`` (mean summed reward: clicks under click feedback), ``expected_return`` (mean summed
    engagement probability), ``oracle_return`` (the oracle's mean on the same users) and ``pct_oracle``
    (:func:`recbook.metrics.pct_oracle`). The users, clicks and policy coins are those :func:`evaluate` uses with
    the same arguments, so ``score`` agrees with ``summarize(evaluate(...))``. The default stream is VALIDATION:
    ``score`` is what learning curves, sweeps and hyperparameter choices call.
    """
    from recbook.policies import oracle_return

    name = _policy_name(policy, 0)
    _check_config(policy, name, config)
    preferences = sample_users(config, n_users, seed, stream)
    oracle = oracle_return(preferences, config)
    result = run_policy(policy, name, config, preferences, seed, stream, deterministic, exits)
    expected = result.engagement.sum(axis=1)
    return {
        "mean_return": float(result.rewards.sum(axis=1).mean()),
        "expected_return": float(expected.mean()),
        "oracle_return": float(oracle.mean()),
        "pct_oracle": pct_oracle(expected, oracle),
    }


def evaluate(
    policies: Mapping[str, PredictsActions] | Sequence[PredictsActions],
    config: EnvConfig,
    n_users: int = 2000,
    seed: int = 0,
    deterministic: bool = True,
    entropy_base: float | None = None,
    stream: str = seeds.TEST,
    exits: str = "expected",
) -> pd.DataFrame:
    """Evaluate policies on the same users with common random numbers; one row per (policy, user).

    Args:
        policies: a mapping ``{name: policy}`` or a sequence of policies (named by their ``name`` attribute).
            A policy is anything with SB3's ``predict``; its ``observation`` attribute picks the observation mode.
        config: the environment (its ``observation`` is used for policies that declare none, e.g. SB3 models).
        n_users: number of users (sessions) per policy.
        seed: the only source of randomness. Users are ``sample_users(config, n_users, seed, stream)``; every
            policy faces the same click stream (``seeds.derive_seed(seed, stream, "clicks")``); a policy with a
            ``reset(seed)`` method (all of :mod:`recbook.policies`) is re-seeded from ``(seed, stream, "policy",
            name)``. So the same seed gives an identical table, and differences between policies are paired.
        deterministic: passed to ``predict`` (matters for SB3 models; the baselines ignore it).
        entropy_base: ``None`` for entropy in nats, ``2`` for bits.
        stream: whose users: :data:`~recbook.seeds.TEST` (default; final results) or
            :data:`~recbook.seeds.VALIDATION` (choices).
        exits: ``"expected"`` (default) or ``"sampled"``: how users who leave are scored (see :func:`rollout`).

    Returns:
        A ``DataFrame`` with columns ``policy``, ``user`` and :data:`recbook.metrics.METRIC_COLUMNS`. ``oracle_return`` is the
        optimal *expected* return of that user (sum of the ``T`` largest marginals ``p[a] m(k)``, which the greedy
        :class:`~recbook.policies.Oracle` attains), and ``pct_oracle`` and ``regret`` compare it with the
        policy's ``expected_return`` (sum of engagement probabilities) — not with the clicks — so they are
        meaningful and low-variance under click feedback too. Under expected feedback ``return`` equals
        ``expected_return``. With users who leave and ``exits="expected"``, returns are expectations over the
        exits, and the behavioural metrics (coverage, repeats, entropy) describe the path of a user who stays.
    """
    from recbook.policies import oracle_return

    if isinstance(policies, Mapping):
        named = [(str(name), policy) for name, policy in policies.items()]
    else:
        named = [(_policy_name(policy, i), policy) for i, policy in enumerate(policies)]
    if not named:
        raise ValueError("policies must name at least one policy")
    names = [name for name, _ in named]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"policies must have distinct names; duplicated: {duplicates} (pass a mapping)")
    for name, policy in named:
        if not callable(getattr(policy, "predict", None)):
            raise ValueError(f"policies: {name!r} has no predict() method")
        _check_config(policy, name, config)
    preferences = sample_users(config, n_users, seed, stream)
    oracle = oracle_return(preferences, config)
    frames = []
    for name, policy in named:
        result = run_policy(policy, name, config, preferences, seed, stream, deterministic, exits)
        columns = session_metrics(
            result.actions, result.rewards, result.engagement, oracle, config.n_items, entropy_base=entropy_base
        )
        frame = pd.DataFrame({"policy": name, "user": np.arange(len(preferences)), **columns})
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["policy"] = pd.Categorical(table["policy"], categories=names)
    return table


def _bootstrap(
    data: tuple[NDArray[np.float64], ...],
    statistic: Callable[..., Any],
    confidence_level: float,
    n_resamples: int,
    seed: int,
    paired: bool = False,
) -> tuple[float, float]:
    """Percentile bootstrap CI with ``scipy.stats.bootstrap``, batched to bound memory."""
    n = len(data[0])
    if n < 2:
        return (float("nan"), float("nan"))
    # The percentile method: BCa's jackknife costs O(n^2) at 20,000 users, and for means of thousands of
    # sessions the two agree to the third digit.
    result = stats.bootstrap(
        data,
        statistic,
        paired=paired,
        vectorized=True,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        batch=max(1, int(4_000_000 // n)),
        method="percentile",
        rng=seeds.generator(seed, seeds.TEST, "bootstrap"),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _mean(x: NDArray[np.float64], axis: int = -1) -> NDArray[np.float64]:
    return np.mean(x, axis=axis)


def _ratio_of_means(x: NDArray[np.float64], y: NDArray[np.float64], axis: int = -1) -> NDArray[np.float64]:
    return pct_oracle(x, y, axis=axis)


def _check_level(confidence_level: float, n_resamples: int) -> None:
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")


def summarize(
    df: pd.DataFrame,
    metric: str = "return",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-policy summary of :func:`evaluate`'s table, in the table's policy order.

    Columns: ``n_users``; the mean of ``metric`` (default ``return``) with ``<metric>_ci_low`` and
    ``<metric>_ci_high`` (percentile bootstrap, ``scipy.stats.bootstrap``, seeded by ``seed``); ``pct_oracle``
    as a ratio of means, ``100 * mean(expected_return) / mean(oracle_return)``, with a paired bootstrap CI
    (users resampled together with their oracle value); then the means of ``regret``, ``engagement_rate``, ``coverage``, ``entropy``, ``gini`` and
    ``repeat_rate``. The ratio of means, not the mean of per-user ratios, is what "% of oracle" means in the book:
    total engagement over total achievable engagement.
    """
    _check_level(confidence_level, n_resamples)
    missing = {"policy", metric, "expected_return", "oracle_return"} - set(df.columns)
    if missing:
        raise ValueError(f"df lacks column(s) {sorted(missing)}; pass the table evaluate() returns")
    rows = []
    for name, group in df.groupby("policy", sort=False, observed=True):
        values = group[metric].to_numpy(dtype=np.float64)
        expected = group["expected_return"].to_numpy(dtype=np.float64)
        oracle = group["oracle_return"].to_numpy(dtype=np.float64)
        low, high = _bootstrap((values,), _mean, confidence_level, n_resamples, seed)
        pct_low, pct_high = _bootstrap((expected, oracle), _ratio_of_means, confidence_level, n_resamples, seed, True)
        row: dict[str, Any] = {
            "policy": name,
            "n_users": len(group),
            metric: values.mean(),
            f"{metric}_ci_low": low,
            f"{metric}_ci_high": high,
            "pct_oracle": pct_oracle(expected, oracle),
            "pct_oracle_ci_low": pct_low,
            "pct_oracle_ci_high": pct_high,
        }
        for column in METRIC_COLUMNS:
            if column not in row and column not in ("return", "oracle_return", "pct_oracle") and column in group:
                row[column] = group[column].mean()
        rows.append(row)
    return pd.DataFrame(rows).set_index("policy")


def paired_difference(
    df: pd.DataFrame,
    a: str,
    b: str,
    metric: str = "return",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Mean of ``metric[a] - metric[b]`` over the same users, with a bootstrap CI and both standard errors.

    Returns a dict: ``mean_difference``, ``ci_low``, ``ci_high`` (percentile bootstrap of the per-user
    differences), ``paired_se`` (``sd(differences) / sqrt(n)``), ``unpaired_se`` (``sqrt(var_a / n + var_b / n)``,
    what one would report by comparing two independent means — shown to teach how much pairing buys), ``n``.
    Both policies must have been evaluated on the same users (one :func:`evaluate` call).
    """
    _check_level(confidence_level, n_resamples)
    if metric not in df.columns:
        raise ValueError(f"metric {metric!r} is not a column of df; columns: {list(df.columns)}")
    series = {}
    for label, name in (("a", a), ("b", b)):
        group = df[df["policy"] == name]
        if group.empty:
            raise ValueError(f"{label}: no policy named {name!r} in df; policies: {list(pd.unique(df['policy']))}")
        series[label] = group.set_index("user")[metric].sort_index()
    if not series["a"].index.equals(series["b"].index):
        raise ValueError(f"a={a!r} and b={b!r} were not evaluated on the same users")
    x = series["a"].to_numpy(dtype=np.float64)
    y = series["b"].to_numpy(dtype=np.float64)
    difference = x - y
    n = len(difference)
    low, high = _bootstrap((difference,), _mean, confidence_level, n_resamples, seed)
    ddof = 1 if n > 1 else 0
    return {
        "mean_difference": float(difference.mean()),
        "ci_low": low,
        "ci_high": high,
        "paired_se": float(difference.std(ddof=ddof) / np.sqrt(n)),
        "unpaired_se": float(np.sqrt(x.var(ddof=ddof) / n + y.var(ddof=ddof) / n)),
        "n": float(n),
    }


def compare(
    policies: Sequence[Any] | Mapping[str, Any],
    config: EnvConfig,
    n_users: int = 20_000,
    seed: int = 0,
    stream: str = seeds.TEST,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
) -> pd.DataFrame:
    """Evaluate policies on the same users and tabulate them: ``recbook.compare([agent, "bayes-greedy"], config)``.

    Args:
        policies: a sequence (or ``{label: policy}`` mapping) of policy names from
            :data:`recbook.policies.POLICIES` (built with ``make_policy(name, config, seed=seed)``), policy objects
            and trained agents — anything with ``predict``. The first is the reference of the paired differences.
        config: the environment; agents trained for another environment are refused.
        n_users, seed, stream: the users (TEST by default: final comparisons; pass ``stream=seeds.VALIDATION``
            when the comparison chooses something).
        confidence_level, n_resamples: of the percentile-bootstrap intervals.

    Returns:
        One row per policy, indexed by its label: ``mean_return`` (clicks under click feedback) with
        ``mean_return_ci_low``/``_high``, ``expected_return``, ``pct_oracle`` with ``pct_oracle_ci_low``/``_high``,
        and ``diff`` — the paired mean difference of expected return from the first policy — with ``diff_ci_low``
        and ``diff_ci_high`` (zero for the first policy itself).
    """
    from recbook.policies import make_policy

    items = list(policies.items()) if isinstance(policies, Mapping) else [(None, p) for p in policies]
    if not items:
        raise ValueError("policies must name at least one policy")
    named: dict[str, Any] = {}
    for index, (label, policy) in enumerate(items):
        if isinstance(policy, str):
            policy = make_policy(policy, config, seed=seed)
        name = str(label) if label is not None else _policy_name(policy, index)
        base, suffix = name, 2
        while name in named:
            name, suffix = f"{base}-{suffix}", suffix + 1
        named[name] = policy
    table = evaluate(named, config, n_users=n_users, seed=seed, stream=stream)
    table = table.rename(columns={"return": "mean_return"})
    summary = summarize(
        table, metric="mean_return", confidence_level=confidence_level, n_resamples=n_resamples, seed=seed
    )
    reference = next(iter(named))
    rows = []
    for name in named:
        if name == reference:
            rows.append({"diff": 0.0, "diff_ci_low": 0.0, "diff_ci_high": 0.0})
            continue
        diff = paired_difference(
            table, name, reference, "expected_return", confidence_level, n_resamples, seed
        )
        rows.append({"diff": diff["mean_difference"], "diff_ci_low": diff["ci_low"], "diff_ci_high": diff["ci_high"]})
    columns = [
        "n_users",
        "mean_return",
        "mean_return_ci_low",
        "mean_return_ci_high",
        "expected_return",
        "pct_oracle",
        "pct_oracle_ci_low",
        "pct_oracle_ci_high",
    ]
    result = summary[columns].join(pd.DataFrame(rows, index=summary.index))
    result.attrs.update({"reference": reference, "stream": stream, "seed": seed, "n_users": n_users})
    return result


def interquartile_mean(values: ArrayLike) -> float:
    """Mean of the middle 50 % of ``values`` (``scipy.stats.trim_mean(values, 0.25)``): robust across seeds."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError("values must not be empty")
    return float(_iqm(array))


def _iqm(values: NDArray[np.float64], axis: int = -1) -> Any:
    return stats.trim_mean(values, 0.25, axis=axis)


def aggregate_runs(
    results: pd.DataFrame,
    by: str | Sequence[str],
    value: str = "pct_oracle",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Aggregate one score per training run (e.g. a sweep's ``results.csv``) over the runs of each configuration.

    Agarwal et al. (2021) recommend the interquartile mean over runs with a bootstrap interval over runs; with a
    single task that is the percentile bootstrap of the IQM, resampling runs. With the handful of runs RL
    experiments have, a bootstrap interval is too narrow (it cannot see beyond the values drawn), so the Student-t
    interval of the mean is reported next to it.

    Returns:
        One row per configuration (indexed by ``by``): ``n_runs``, ``iqm`` with ``iqm_ci_low``/``_high``
        (bootstrap), ``mean`` with ``mean_ci_low``/``_high`` (Student t), ``min``, ``median`` and ``max``.
    """
    _check_level(confidence_level, n_resamples)
    keys = [by] if isinstance(by, str) else list(by)
    missing = [column for column in [*keys, value] if column not in results.columns]
    if missing:
        raise ValueError(f"results has no column(s) {missing}; columns: {list(results.columns)}")
    rows = []
    for group, frame in results.groupby(keys, sort=False):
        values = frame[value].to_numpy(dtype=np.float64)
        mean, mean_low, mean_high = mean_confidence_interval(values, confidence_level)
        low, high = _bootstrap((values,), _iqm, confidence_level, n_resamples, seed)
        rows.append(
            {
                **dict(zip(keys, group if isinstance(group, tuple) else (group,))),
                "n_runs": len(values),
                "iqm": interquartile_mean(values),
                "iqm_ci_low": low,
                "iqm_ci_high": high,
                "mean": mean,
                "mean_ci_low": mean_low,
                "mean_ci_high": mean_high,
                "min": float(values.min()),
                "median": float(np.median(values)),
                "max": float(values.max()),
            }
        )
    return pd.DataFrame(rows).set_index(keys)


def performance_profile(
    results: pd.DataFrame,
    by: str,
    value: str = "pct_oracle",
    thresholds: ArrayLike | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Run-score distributions (Agarwal et al. 2021): for each threshold ``tau``, the fraction of a configuration's
    runs that score above ``tau``, with a percentile-bootstrap band over runs.

    Args:
        results: one row per run.
        by: the column naming the configuration.
        value: the score column.
        thresholds: the ``tau`` grid (default: 100 points spanning the observed scores).

    Returns:
        Tidy rows ``by``, ``threshold``, ``fraction``, ``ci_low``, ``ci_high``.
    """
    _check_level(confidence_level, n_resamples)
    if by not in results.columns or value not in results.columns:
        raise ValueError(f"results must have columns {by!r} and {value!r}; columns: {list(results.columns)}")
    scores = results[value].to_numpy(dtype=np.float64)
    grid = (
        np.linspace(scores.min() - 1e-9, scores.max(), 100)
        if thresholds is None
        else np.asarray(thresholds, dtype=np.float64)
    )
    frames = []
    for name, frame in results.groupby(by, sort=False):
        values = frame[value].to_numpy(dtype=np.float64)
        above = (values[:, None] > grid[None, :]).astype(np.float64)  # (runs, thresholds)
        rng = seeds.generator(seed, seeds.TEST, "bootstrap", "profile")
        draws = rng.integers(0, len(values), size=(n_resamples, len(values)))
        resampled = above[draws].mean(axis=1)  # (resamples, thresholds)
        tail = (1 - confidence_level) / 2
        frames.append(
            pd.DataFrame(
                {
                    by: name,
                    "threshold": grid,
                    "fraction": above.mean(axis=0),
                    "ci_low": np.quantile(resampled, tail, axis=0),
                    "ci_high": np.quantile(resampled, 1 - tail, axis=0),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def mean_confidence_interval(
    values: ArrayLike,
    confidence_level: float = 0.95,
    method: str = "t",
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(mean, low, high)`` of a few numbers, e.g. one score per training seed.

    ``method="t"`` (default) uses Student's t, the honest choice for the handful of seeds RL papers have;
    ``method="bootstrap"`` uses ``scipy.stats.bootstrap`` (percentile), which is too narrow below ~20 values.
    """
    _check_level(confidence_level, n_resamples)
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError("values must not be empty")
    mean = float(array.mean())
    if array.size < 2:
        return mean, float("nan"), float("nan")
    if method == "t":
        half = stats.t.ppf(0.5 + confidence_level / 2, array.size - 1) * stats.sem(array)
        return mean, float(mean - half), float(mean + half)
    if method == "bootstrap":
        low, high = _bootstrap((array,), _mean, confidence_level, n_resamples, seed)
        return mean, low, high
    raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
