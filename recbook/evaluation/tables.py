"""Paired evaluation tables: run policies on the same users (common random numbers) and tabulate them.

:func:`~recbook.evaluation.evaluate` runs every policy on the same users and the same click stream and returns a tidy
table, one row per
(policy, user); :func:`~recbook.evaluation.summarize` turns it into a per-policy table with bootstrap
confidence intervals; :func:`~recbook.evaluation.compare` does both and adds paired differences from reference policies;
:func:`~recbook.evaluation.score`
is the one scoring path of learning curves and sweeps; :func:`~recbook.evaluation.vary` evaluates policies while one
parameter of the
setting moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recbook import seeds
from recbook.config import EnvConfig
from recbook.evaluation.rollout import PredictsActions, Rollout, rollout, sample_users
from recbook.evaluation.stats import paired_difference, summarize
from recbook.metrics import pct_oracle, session_metrics
from recbook.planning import oracle_return
from recbook.policies import make_policy

__all__ = ["compare", "evaluate", "run_policy", "score", "vary"]


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

    What :func:`~recbook.evaluation.evaluate` and :func:`~recbook.evaluation.score` run for each policy: a policy with a
    ``reset(seed)`` method is
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
    (:func:`recbook.metrics.pct_oracle`). The users, clicks and policy coins are those
    :func:`~recbook.evaluation.evaluate` uses with
    the same arguments, so ``score`` agrees with ``summarize(evaluate(...))``. The default stream is VALIDATION:
    ``score`` is what learning curves, sweeps and hyperparameter choices call.
    """
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
        A ``DataFrame`` with columns ``policy``, ``user`` and :data:`recbook.metrics.METRIC_COLUMNS`.
        ``oracle_return`` is the optimal *expected* return of that user (sum of the ``T`` largest marginals ``p[a]
        m(k)``, which the greedy :class:`~recbook.policies.Oracle` attains), and ``pct_oracle`` and ``regret``
        compare it with the policy's ``expected_return`` (sum of engagement probabilities) — not with the clicks —
        so they are meaningful and low-variance under click feedback too. Under expected feedback ``return`` equals
        ``expected_return``. With users who leave and ``exits="expected"``, returns are expectations over the exits,
        and the behavioural metrics (coverage, repeats, entropy) describe the path of a user who stays.
    """
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


def _label_policies(
    policies: Sequence[Any] | Mapping[str, Any], config: EnvConfig, seed: int, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """``{label: policy}``: names built with ``make_policy``, labels made distinct, ``extra`` names appended."""
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
    for name in extra:
        if name not in named:
            named[name] = make_policy(name, config, seed=seed)
    return named


def compare(
    policies: Sequence[Any] | Mapping[str, Any],
    config: EnvConfig,
    n_users: int = 20_000,
    seed: int = 0,
    stream: str = seeds.TEST,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    references: Sequence[str] | None = None,
    behaviour: bool = False,
    sessions: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate policies on the same users and tabulate them: ``recbook.compare([agent, "bayes-greedy"], config)``.

    Args:
        policies: a sequence (or ``{label: policy}`` mapping) of policy names from
            :data:`~recbook.policies.registry.POLICIES` (built with ``make_policy(name, config, seed=seed)``), policy
            objects
            and trained agents — anything with ``predict``. Without ``references`` the first is the reference of
            the paired differences.
        config: the environment; agents trained for another environment are refused.
        n_users, seed, stream: the users (TEST by default: final comparisons; pass ``stream=seeds.VALIDATION``
            when the comparison chooses something).
        confidence_level, n_resamples: of the percentile-bootstrap intervals.
        references: labels of policies to difference against: labels of ``policies``, or policy names that are
            then added to the comparison (built with ``make_policy``). Several references give several sets of
            columns, so one call makes a table with differences from, say, both BayesGreedy and the planner.

    Returns:
        One row per policy, indexed by its label: ``n_users``, ``mean_return`` (clicks under click feedback) with
        ``mean_return_ci_low``/``_high``, ``expected_return``, ``pct_oracle`` with ``pct_oracle_ci_low``/``_high``.
        Without ``references``: ``diff`` — the paired mean difference of expected return from the first policy —
        with ``diff_ci_low`` and ``diff_ci_high`` (zero for the first policy itself). With ``references``, for each
        reference ``r``: ``diff_r`` with ``diff_r_ci_low``/``_high`` (paired bootstrap of the expected-return
        difference), ``diff_r_paired_se`` and ``diff_r_unpaired_se`` (:func:`paired_difference`'s standard errors)
        and the same in percent of the oracle's mean return, ``pct_diff_r`` with ``pct_diff_r_ci_low``/``_high``;
        NaN in the reference's own row. ``behaviour=True`` adds the means of ``regret``, ``engagement_rate``,
        ``coverage``, ``entropy``, ``gini`` and ``repeat_rate``. ``sessions=True`` returns ``(table, per_user)``
        with :func:`~recbook.evaluation.evaluate`'s one row per (policy, user) as the second item (e.g. to save it).
    """
    named = _label_policies(policies, config, seed, () if references is None else [str(r) for r in references])
    table = evaluate(named, config, n_users=n_users, seed=seed, stream=stream)
    per_user = table
    table = table.rename(columns={"return": "mean_return"})
    summary = summarize(
        table, metric="mean_return", confidence_level=confidence_level, n_resamples=n_resamples, seed=seed
    )
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
    if references is None:
        reference = next(iter(named))
        rows = []
        for name in named:
            if name == reference:
                rows.append({"diff": 0.0, "diff_ci_low": 0.0, "diff_ci_high": 0.0})
                continue
            diff = paired_difference(table, name, reference, "expected_return", confidence_level, n_resamples, seed)
            rows.append(
                {"diff": diff["mean_difference"], "diff_ci_low": diff["ci_low"], "diff_ci_high": diff["ci_high"]}
            )
        differences = pd.DataFrame(rows)
        attrs: dict[str, Any] = {"reference": reference}
    else:
        differences = _differences(table, named, [str(r) for r in references], confidence_level, n_resamples, seed)
        attrs = {"references": [str(r) for r in references]}
    if behaviour:
        behavioural = ("regret", "engagement_rate", "coverage", "entropy", "gini", "repeat_rate")
        columns += [column for column in behavioural if column in summary]
    result = summary[columns].join(differences.set_axis(summary.index))
    result.attrs.update({**attrs, "stream": stream, "seed": seed, "n_users": n_users})
    return (result, per_user) if sessions else result


def _differences(
    table: pd.DataFrame,
    named: Mapping[str, Any],
    references: Sequence[str],
    confidence_level: float,
    n_resamples: int,
    seed: int,
) -> pd.DataFrame:
    """Per policy and reference ``r``: ``diff_r`` (paired, expected return) and ``pct_diff_r``, with intervals."""
    # The planner's value of each user, the same in every policy's rows: read it from the first policy's.
    oracle_mean = float(table.loc[table["policy"] == next(iter(named)), "oracle_return"].mean())
    scale = 100.0 / oracle_mean
    rows = []
    for name in named:
        row: dict[str, float] = {}
        for reference in references:
            keys = ("mean_difference", "ci_low", "ci_high", "paired_se", "unpaired_se")
            if name == reference:
                values = [float("nan")] * len(keys)
            else:
                diff = paired_difference(table, name, reference, "expected_return", confidence_level, n_resamples, seed)
                values = [diff[key] for key in keys]
            for suffix, value in zip(("", "_ci_low", "_ci_high", "_paired_se", "_unpaired_se"), values):
                row[f"diff_{reference}{suffix}"] = value
            for suffix, value in zip(("", "_ci_low", "_ci_high"), values):
                row[f"pct_diff_{reference}{suffix}"] = value * scale
        rows.append(row)
    return pd.DataFrame(rows, index=list(named))


def vary(
    parameter: str,
    values: Sequence[float],
    base: EnvConfig | None = None,
    policies: Sequence[str] = ("random", "round-robin", "bayes-greedy", "oracle"),
    n_users: int = 5000,
    seed: int = 0,
    *,
    agents: Mapping[float, Mapping[str, Any]] | None = None,
    stream: str = seeds.TEST,
) -> pd.DataFrame:
    """Evaluate ``policies`` while one ``parameter`` of ``base`` takes each of ``values``.

    Args:
        parameter: an :class:`~recbook.config.EnvConfig` field (``"n_items"``, ``"session_length"``, ``"alpha"``,
            ``"decay_rate"``, ``"leave_rate"``, ...).
        values: the values it takes.
        base: the configuration the other parameters come from (default: the original setting, feedback
            observation).
        policies: names from :data:`~recbook.policies.registry.POLICIES`, built for each setting.
        n_users: users per setting; the same ``seed`` is used for every setting (common random numbers).
        seed: passed to :func:`~recbook.evaluation.evaluate` (users and policies' generators).
        agents: optional ``{value: {label: trained agent}}``, added at the values they were trained for.
        stream: whose users (:data:`~recbook.seeds.TEST` by default).

    Returns:
        One row per (value, policy): ``parameter``, ``value``, ``policy``, ``return`` (mean return per session),
        ``return_se`` (its standard error), ``expected_return`` (mean), ``oracle_return`` (mean), ``pct_oracle``
        (ratio of means, in %), ``pct_oracle_se`` (standard error of the ratio by the delta method, paired over
        users).
    """
    base = base or EnvConfig(observation="feedback")
    rows = []
    for value in values:
        config = base.replace(**{parameter: value})
        named: dict[str, Any] = {name: make_policy(name, config, seed=seed) for name in policies}
        named.update((agents or {}).get(value, {}))
        table = evaluate(named, config, n_users=n_users, seed=seed, stream=stream)
        for name, group in table.groupby("policy", sort=False, observed=True):
            returns = group["return"].to_numpy()
            expected = group["expected_return"].to_numpy()
            oracle = group["oracle_return"].to_numpy()
            ratio = expected.mean() / oracle.mean()
            # Delta method for a ratio of paired means: se of mean(expected - ratio * oracle) / mean(oracle).
            linearised = (expected - ratio * oracle) / oracle.mean()
            rows.append(
                {
                    "parameter": parameter,
                    "value": float(value),
                    "policy": name,
                    "return": returns.mean(),
                    "return_se": returns.std(ddof=1) / np.sqrt(len(returns)),
                    "expected_return": expected.mean(),
                    "oracle_return": oracle.mean(),
                    "pct_oracle": pct_oracle(expected, oracle),
                    "pct_oracle_se": 100.0 * linearised.std(ddof=1) / np.sqrt(len(returns)),
                }
            )
    return pd.DataFrame(rows)
