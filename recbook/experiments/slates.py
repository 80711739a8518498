"""Issue 23's table reproduced by the library: the long-term gap with slates, as % of the full-information reference.

``python -m recbook.experiments.slates`` writes, under ``data/slates/``:

* ``kappa_validation.csv`` — the quality-aware rule's weight ``kappa`` on ``KAPPA_GRID``, knowing ``p`` and
  Bayesian, at each leave rate, on ``N_VALIDATION_USERS`` VALIDATION users (seed 0): mean return and which
  ``kappa`` was chosen (the largest mean; the first of equals);
* ``table.csv`` — every policy of :func:`policies` at each leave rate of ``LEAVE_RATES`` on
  ``N_TEST_USERS`` TEST users (seed 0, paired: the same users and click streams for every policy), the lookahead
  on the first ``N_LOOKAHEAD_USERS`` of them (it costs about 50 ms per user);
* ``particles_validation.csv`` (``--only particles``) — is the posterior approximation what holds the Bayesian
  policies back? Both at ``PARTICLE_COUNTS`` importance-sampling particles, on ``N_PARTICLE_USERS``
  VALIDATION users at leave rates 0 and 0.3, with the mean effective sample size of the last step's posterior and
  the paired difference from the default ``N_PARTICLES``.

``--only tune|table|particles`` (repeatable) restricts the work; ``table`` reads ``kappa_validation.csv``.

The setting (:func:`slate_config`): chapter 9's catalogue (the ``leave`` preset: ``N = 10``, ``T = 20``,
Dirichlet(1), harmonic decay, the decile qualities), slates of ``k = 3`` from all ``C(10, 3) = 120``, MNL choice
with ``no_click_mass = 1``, reward 1 per item chosen (``feedback="choice"``), ``leave_no_click = 0.1`` and
``leave_rate`` 0, 0.3 or 0.6; exits in expectation (choices sampled), each step's reward taken in expectation
given its slate (:func:`recbook.slates.values.expected_returns`; ``mean_received_return`` is the mean of the
rewards actually received, for comparison).

The reference. The *full-information reference* of a leave rate is the best of the policies that know ``p``
(myopic, quality-aware rule, lookahead) by mean return: an achievable policy, so a **lower bound** on the optimum
(:mod:`recbook.slates.exact` measures the gap on small instances). Every row is ``100 * mean(policy) /
mean(reference)`` (:func:`recbook.metrics.pct_oracle`). The lookahead runs on a subset, so its mean over all TEST
users is the ratio estimate ``mean_all(rule) * mean_sub(lookahead) / mean_sub(rule)`` (paired on the subset);
when it is the reference the other rows are divided by that estimate. Intervals: 95 % percentile bootstrap over
users (1,000 resamples), every mean of a resample recomputed, the subset resampled with the users it belongs to.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recbook import seeds
from recbook.agents.config import RunConfig
from recbook.config import EnvConfig
from recbook.evaluation.rollout import rollout, sample_users
from recbook.metrics import pct_oracle
from recbook.paths import DATA_DIR
from recbook.slates import (
    BayesMyopicSlates,
    BayesQualityAwareSlates,
    LookaheadSlates,
    MyopicSlates,
    QualityAwareSlates,
    RandomSlates,
)
from recbook.slates.values import expected_returns

__all__ = [
    "BLOCK",
    "KAPPA_GRID",
    "LEAVE_RATES",
    "N_LOOKAHEAD_USERS",
    "N_PARTICLES",
    "N_PARTICLE_USERS",
    "PARTICLE_COUNTS",
    "N_ROLLOUTS",
    "N_TEST_USERS",
    "N_VALIDATION_USERS",
    "KNOWN_P",
    "main",
    "particle_check",
    "policies",
    "returns",
    "slate_config",
    "table",
    "tune_kappa",
]

LEAVE_RATES: tuple[float, ...] = (0.0, 0.3, 0.6)
#: The rule's weight of staying, tried on VALIDATION users.
KAPPA_GRID: tuple[float, ...] = (0.25, 0.375, 0.5, 0.625, 0.75, 1.0, 1.5, 2.0)
N_TEST_USERS = 20_000
N_LOOKAHEAD_USERS = 2_000
N_VALIDATION_USERS = 2_000
#: Importance-sampling particles of the Bayesian policies, and rollouts per next state of the lookahead.
N_PARTICLES = 4_000
N_ROLLOUTS = 8
#: The particle counts of ``particles_validation.csv`` and its VALIDATION users.
PARTICLE_COUNTS: tuple[int, ...] = (400, 4_000, 40_000)
N_PARTICLE_USERS = 1_000
#: Users per rollout call (the Bayesian policies hold ``users x particles`` log-weights).
BLOCK = 2_500
#: The policies that know ``p``, candidates for the reference.
KNOWN_P: tuple[str, ...] = ("myopic", "rule", "lookahead")
LABELS = {
    "random": "random slates",
    "myopic": "myopic, knows p (best immediate slate)",
    "rule": "quality-aware one-step rule, knows p (kappa tuned)",
    "bayes-myopic": "Bayesian myopic (particle posterior from the choices)",
    "bayes-rule": "Bayesian quality-aware rule (kappa tuned)",
    "lookahead": "one-step lookahead over rollouts of the rule, knows p (a lower bound on the optimum)",
}


def slate_config(leave_rate: float) -> EnvConfig:
    """The table's environment at ``leave_rate`` (module docstring)."""
    base = RunConfig.from_yaml("leave").env
    return base.replace(
        slate_size=3, choice_model="mnl", no_click_mass=1.0, feedback="choice", leave_rate=leave_rate,
        leave_no_click=0.1, observation="feedback",
    )


def policies(config: EnvConfig, kappa_rule: float, kappa_bayes: float, seed: int = 0) -> dict[str, Any]:
    """The table's policies by short name (``LABELS``), seeded with ``seed``."""
    return {
        "random": RandomSlates(config, seed=seed),
        "myopic": MyopicSlates(config),
        "rule": QualityAwareSlates(config, kappa=kappa_rule),
        "bayes-myopic": BayesMyopicSlates(config, n_particles=N_PARTICLES, seed=seed),
        "bayes-rule": BayesQualityAwareSlates(config, kappa=kappa_bayes, n_particles=N_PARTICLES, seed=seed),
        "lookahead": LookaheadSlates(config, kappa=kappa_rule, n_rollouts=N_ROLLOUTS, seed=seed),
    }


def returns(
    policy: Any, config: EnvConfig, preferences: np.ndarray, seed: int, stream: str
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's expected-reward return and received return, ``(K,)`` each, in blocks of ``BLOCK`` users.

    Exits in expectation (:func:`recbook.evaluation.rollout`); the first array replaces each step's reward by its
    expectation given the slate (:func:`recbook.slates.values.expected_returns`: the same mean, about half the
    standard deviation of a paired difference). Block ``b`` draws its choices from ``seeds.derive_seed(seed,
    stream, "clicks", b)``: every policy evaluated on the same users faces the same uniforms (paired).
    """
    expected, received = np.zeros(len(preferences)), np.zeros(len(preferences))
    for b, begin in enumerate(range(0, len(preferences), BLOCK)):
        rows = slice(begin, begin + BLOCK)
        click_seed = seeds.derive_seed(seed, stream, "clicks", b)
        result = rollout(policy, config, preferences[rows], seed=click_seed, exits="expected")
        assert result.chosen is not None
        expected[rows] = expected_returns(config, result.preferences, result.actions, result.chosen)
        received[rows] = result.rewards.sum(axis=1)
    return expected, received


def tune_kappa(
    leave_rate: float, n_users: int = N_VALIDATION_USERS, seed: int = 0, grid: tuple[float, ...] = KAPPA_GRID
) -> pd.DataFrame:
    """``kappa`` of the rule knowing ``p`` and of the Bayesian rule on VALIDATION users: one row per (policy,
    kappa) with ``mean_return`` and ``chosen``."""
    config = slate_config(leave_rate)
    users = sample_users(config, n_users, seed, seeds.VALIDATION)
    makers: dict[str, Callable[[float], Any]] = {
        "rule": lambda kappa: QualityAwareSlates(config, kappa=kappa),
        "bayes-rule": lambda kappa: BayesQualityAwareSlates(config, kappa=kappa, n_particles=N_PARTICLES, seed=seed),
    }
    rows = []
    for name, make in makers.items():
        for kappa in grid:
            mean = returns(make(kappa), config, users, seed, seeds.VALIDATION)[0].mean()
            rows.append({"leave_rate": leave_rate, "policy": name, "kappa": kappa, "n_users": n_users,
                         "mean_return": mean})
    frame = pd.DataFrame(rows)
    best = frame.loc[frame.groupby("policy", sort=False)["mean_return"].idxmax()]
    frame["chosen"] = frame.index.isin(best.index)
    return frame


def particle_check(
    n_users: int = N_PARTICLE_USERS, seed: int = 0, counts: tuple[int, ...] = PARTICLE_COUNTS,
    kappa: dict[float, float] | None = None,
) -> pd.DataFrame:
    """The Bayesian policies with ``counts`` particles on VALIDATION users (leave rates 0 and 0.3): one row per
    (leave rate, policy, particles) with the mean return, the last step's mean ESS and the paired difference (with
    its standard error) from ``N_PARTICLES`` particles. ``kappa`` maps a leave rate to the Bayesian rule's
    weight (default 0.75)."""
    rows = []
    for rate in (0.0, 0.3):
        config = slate_config(rate)
        users = sample_users(config, n_users, seed, seeds.VALIDATION)
        weight = (kappa or {}).get(rate, 0.75)
        makers: dict[str, Callable[[int], Any]] = {
            "bayes-myopic": lambda m: BayesMyopicSlates(config, n_particles=m, seed=seed),
            "bayes-rule": lambda m: BayesQualityAwareSlates(config, kappa=weight, n_particles=m, seed=seed),
        }
        for name, make in makers.items():
            values = {}
            for m in sorted(set(counts) | {N_PARTICLES}):
                policy = make(m)
                start = time.process_time()
                values[m] = returns(policy, config, users, seed, seeds.VALIDATION)[0]
                last = policy.diagnostics[config.session_length - 1 :: config.session_length]
                rows.append({"leave_rate": rate, "policy": name, "kappa": weight if name == "bayes-rule" else np.nan,
                             "n_particles": m, "n_users": n_users, "mean_return": float(values[m].mean()),
                             "final_ess": float(np.mean(last)), "cpu_seconds": time.process_time() - start})
            for row in rows:
                if row["leave_rate"] == rate and row["policy"] == name:
                    difference = values[row["n_particles"]] - values[N_PARTICLES]
                    row["diff_vs_default"] = float(difference.mean())
                    row["diff_se"] = float(difference.std(ddof=1) / np.sqrt(n_users))
    return pd.DataFrame(rows)


def _bootstrap_weights(n_users: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Multinomial resampling counts ``(B, n_users)``: user ``u`` drawn ``w[b, u]`` times in resample ``b``."""
    return rng.multinomial(n_users, np.full(n_users, 1.0 / n_users), size=n_resamples).astype(np.float64)


def _means(values: dict[str, np.ndarray], subset: int, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every policy's all-user mean under ``weights`` ``(B, n)`` (lookahead: the ratio estimate; module doc)."""
    means = {name: weights @ v / weights.sum(axis=1) for name, v in values.items() if name != "lookahead"}
    if "lookahead" in values:
        w = weights[:, :subset]
        ratio = (w @ values["lookahead"]) / (w @ values["rule"][:subset])
        means["lookahead"] = means["rule"] * ratio
    return means


def table(
    results: dict[float, dict[str, np.ndarray]], subset: int, n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """% of the reference with bootstrap intervals from per-user returns ``results[leave_rate][policy]``."""
    rows = []
    for leave_rate, values in results.items():
        n_users = max(len(v) for v in values.values())
        point = _means(values, subset, np.ones((1, n_users)))
        reference = max((name for name in KNOWN_P if name in point), key=lambda name: float(point[name][0]))
        rng = seeds.generator(seed, seeds.TEST, "bootstrap", "slates", int(round(100 * leave_rate)))
        resampled: dict[str, list[np.ndarray]] = {name: [] for name in point}
        for begin in range(0, n_resamples, 100):
            weights = _bootstrap_weights(n_users, min(100, n_resamples - begin), rng)
            means = _means(values, subset, weights)
            for name in point:
                resampled[name].append(100.0 * means[name] / means[reference])
        for name, mean in point.items():
            pct = np.concatenate(resampled[name])
            rows.append({
                "leave_rate": leave_rate, "policy": name, "label": LABELS[name], "n_users": len(values[name]),
                "mean_return": float(values[name].mean()),
                "pct_reference": float(pct_oracle(mean, point[reference])),
                "pct_ci_low": float(np.percentile(pct, 2.5)), "pct_ci_high": float(np.percentile(pct, 97.5)),
                "reference": reference,
            })
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recbook.experiments.slates", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DATA_DIR / "slates")
    parser.add_argument("--n-users", type=int, default=N_TEST_USERS)
    parser.add_argument("--n-lookahead-users", type=int, default=N_LOOKAHEAD_USERS)
    parser.add_argument("--n-validation-users", type=int, default=N_VALIDATION_USERS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", action="append", choices=("tune", "table", "particles"))
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    todo = set(args.only or ("tune", "table", "particles"))
    began = time.perf_counter()
    if "tune" in todo:
        tuned = pd.concat([tune_kappa(rate, args.n_validation_users, args.seed) for rate in LEAVE_RATES])
        tuned.to_csv(args.output / "kappa_validation.csv", index=False)
        print(tuned[tuned["chosen"]].to_string(index=False), f"\n{time.perf_counter() - began:.0f} s", flush=True)
    tuned = pd.read_csv(args.output / "kappa_validation.csv")
    chosen = tuned[tuned["chosen"]].set_index(["leave_rate", "policy"])["kappa"]
    if "table" in todo:
        _table(args, chosen)
        print(f"total {time.perf_counter() - began:.0f} s", flush=True)
    if "particles" in todo:
        kappa = {rate: float(chosen[(rate, "bayes-rule")]) for rate in (0.0, 0.3)}
        check = particle_check(seed=args.seed, kappa=kappa)
        check.to_csv(args.output / "particles_validation.csv", index=False, float_format="%.6g")
        print(check.to_string(index=False), f"\ntotal {time.perf_counter() - began:.0f} s", flush=True)
    return 0


def _table(args: argparse.Namespace, chosen: pd.Series) -> None:
    """Run every policy on the TEST users and write ``table.csv`` (module docstring)."""
    results: dict[float, dict[str, np.ndarray]] = {}
    extra: list[dict[str, Any]] = []
    for rate in LEAVE_RATES:
        config = slate_config(rate)
        users = sample_users(config, args.n_users, args.seed, seeds.TEST)
        made = policies(config, chosen[(rate, "rule")], chosen[(rate, "bayes-rule")], args.seed)
        results[rate] = {}
        for name, policy in made.items():
            start = time.process_time()
            rows = users[: args.n_lookahead_users] if name == "lookahead" else users
            results[rate][name], received = returns(policy, config, rows, args.seed, seeds.TEST)
            diagnostics = getattr(policy, "diagnostics", None)
            extra.append({
                "leave_rate": rate, "policy": name,
                "kappa": getattr(policy, "kappa", np.nan),
                "n_particles": getattr(getattr(policy, "posterior", None), "n_particles", np.nan),
                "n_rollouts": getattr(policy, "n_rollouts", np.nan),
                # The ESS of the last step's posterior, averaged over the blocks (20 predict calls per block).
                "final_ess": float(np.mean(diagnostics[config.session_length - 1 :: config.session_length]))
                if diagnostics else np.nan,
                "mean_received_return": float(received.mean()),
                "cpu_seconds": time.process_time() - start,
            })
            print(rate, name, results[rate][name].mean(), f"{extra[-1]['cpu_seconds']:.0f} s", flush=True)
    frame = table(results, args.n_lookahead_users, seed=args.seed)
    frame = frame.merge(pd.DataFrame(extra), on=["leave_rate", "policy"])
    frame["note"] = np.where(
        frame["policy"] == "lookahead",
        f"first {args.n_lookahead_users} TEST users; all-user mean by the ratio estimate against the rule",
        "",
    )
    frame.to_csv(args.output / "table.csv", index=False, float_format="%.6g")
    wide = frame.pivot(index="policy", columns="leave_rate", values="pct_reference").loc[list(LABELS)]
    print(wide.round(1).to_string(), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
