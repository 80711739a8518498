"""SlateQ against the naive slate DQN and the rules that know ``p``: models and tables of ``data/slates/``.

``python -m recbook.experiments.slateq`` (``--only tune|train|test|scale``, repeatable):

* ``tune`` — VALIDATION users only: the quality-aware rule's ``kappa`` (a grid) and the settings of SlateQ and of
  the flat DQN (``CANDIDATES``, the same number of candidates and the same budget for each), each trained with
  seed 0 and scored on ``N_VALIDATION`` users -> ``data/slates/slateq_validation.csv``;
* ``train`` — each method's best candidate on VALIDATION users (:func:`chosen_candidates`) with seeds 0, 1, 2 ->
  ``data/models/slateq_seed<s>.zip``, ``data/models/slateq_flat_dqn_seed<s>.zip`` and their times,
  ``data/slates/slateq_training.csv``;
* ``test`` — every policy (random, myopic and the quality-aware rule knowing ``p``, the Bayesian quality-aware rule of
  :mod:`recbook.slates.bayes` with the ``kappa`` :mod:`recbook.experiments.slates` chose, SlateQ and the flat DQN)
  on the same ``N_TEST`` TEST users (blocks of 2,000 users, each block with its own
  seed, the same for every policy), exits in expectation -> per-user returns ``data/slates/slateq_test_users.csv.gz``
  and the summary ``data/slates/slateq_test.csv`` (means, % of the reference, paired differences with bootstrap
  intervals from :func:`recbook.evaluation.paired_difference`); the one-step lookahead (the full-information
  reference, a lower bound on the optimum) on the first ``N_LOOKAHEAD`` of them, and every policy against it
  on those users -> ``data/slates/slateq_test_lookahead.csv``;
* ``scale`` — SlateQ at ``N = 1,000``, ``k = 10`` (uniform qualities): training time and the cost of one slate
  choice -> ``data/slates/slateq_scale.csv``.

In ``slateq_test.csv`` the reference is the best policy knowing ``p`` evaluated on all TEST users (the quality-aware
rule with ``kappa`` tuned on VALIDATION users); ``slateq_test_lookahead.csv`` measures against the lookahead, the
issue's full-information reference. Both are achievable policies, lower bounds on the optimum, so a "% of the
reference" overstates the share of the optimum by the gap between them and the optimum.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recbook import seeds
from recbook.config import EnvConfig
from recbook.evaluation import paired_difference
from recbook.evaluation.rollout import rollout, sample_users
from recbook.paths import DATA_DIR
from recbook.slates.bayes import BayesQualityAwareSlates
from recbook.slates.known import MyopicSlates, QualityAwareSlates, RandomSlates
from recbook.slates.lookahead import LookaheadSlates
from recbook.slates.slateq import SlateQConfig, load_slate_agent
from recbook.slates.slateq_train import train_slate_agent
from recbook.experiments.slates import slate_config

__all__ = ["CANDIDATES", "chosen_candidates", "SLATE_CONFIG", "SCALE_CONFIG", "evaluate_returns", "main"]

#: The issue's setting, N = 10, T = 20, Dirichlet(1), harmonic, chapter 9's qualities, slates of 3, MNL, nu = 1,
#: reward 1 per item taken, leave 0.3 (after an item) and 0.1 (after nothing).
SLATE_CONFIG = slate_config(0.3)
#: The scale run, 1,000 items with uniform qualities, slates of 10, otherwise as ``SLATE_CONFIG``.
SCALE_CONFIG = SLATE_CONFIG.replace(n_items=1000, item_quality="uniform", slate_size=10)
N_VALIDATION = 2_000
N_TEST = 20_000
#: The lookahead (the full-information reference, a lower bound on the optimum) runs on the first 2,000 TEST users.
N_LOOKAHEAD = 2_000
BLOCK = 2_000
SEEDS = (0, 1, 2)
KAPPAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
BUDGET = 100_000
#: Settings tried on VALIDATION users (seed 0), the same budget and number of candidates for each method.
CANDIDATES: dict[str, dict[str, Any]] = {
    "slateq-a": {"method": "slateq"},
    "slateq-b": {"method": "slateq", "learning_rate": 3e-4},
    "slateq-c": {"method": "slateq", "learned_exits": False},
    "flat-dqn-a": {"method": "flat-dqn", "net_arch": [256, 256]},
    "flat-dqn-b": {"method": "flat-dqn", "net_arch": [256, 256], "learning_rate": 3e-4},
    "flat-dqn-c": {"method": "flat-dqn", "net_arch": [512, 512], "target_update_interval": 1000},
}
_SLATES = DATA_DIR / "slates"
_MODELS = DATA_DIR / "models"


def evaluate_returns(policy: Any, config: EnvConfig, users: np.ndarray, seed: int, block: int = BLOCK) -> np.ndarray:
    """Each user's return ``(K,)`` with exits in expectation, in blocks of ``block`` users (block ``b`` seeded with
    ``derive_seed(seed, TEST, "clicks", b)``, the same for every policy, so returns are paired user by user)."""
    out = np.zeros(len(users))
    for number, begin in enumerate(range(0, len(users), block)):
        if hasattr(policy, "reset"):
            policy.reset()
        part = users[begin : begin + block]
        stream = seeds.derive_seed(seed, seeds.TEST, "clicks", number)
        out[begin : begin + len(part)] = rollout(policy, config, part, seed=stream, exits="expected").rewards.sum(1)
    return out


def _settings(name: str, budget: int) -> SlateQConfig:
    return SlateQConfig(**{**CANDIDATES[name], "total_timesteps": budget})


def tune(budget: int = BUDGET, n_users: int = N_VALIDATION) -> pd.DataFrame:
    """Score the rule's ``kappa`` grid and every candidate setting (seed 0) on VALIDATION users."""
    users = sample_users(SLATE_CONFIG, n_users, 0, seeds.VALIDATION)
    rows = []
    for kappa in KAPPAS:
        value = evaluate_returns(QualityAwareSlates(SLATE_CONFIG, kappa=kappa), SLATE_CONFIG, users, 1).mean()
        rows.append({"candidate": f"rule-kappa-{kappa}", "settings": json.dumps({"kappa": kappa}),
                     "validation_return": value})
        print(rows[-1], flush=True)
    for name in CANDIDATES:
        agent = train_slate_agent(SLATE_CONFIG, _settings(name, budget), seed=0, log_interval=budget)
        value = evaluate_returns(agent, SLATE_CONFIG, users, 1).mean()
        rows.append({"candidate": name, "settings": json.dumps(CANDIDATES[name]), "validation_return": value,
                     "cpu_seconds": agent.timing["cpu_seconds"], "wall_seconds": agent.timing["wall_seconds"]})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(_SLATES / "slateq_validation.csv", index=False)
    return table


def chosen_kappa() -> float:
    """The rule's ``kappa`` with the best VALIDATION return in ``slateq_validation.csv``."""
    table = pd.read_csv(_SLATES / "slateq_validation.csv")
    rules = table[table["candidate"].str.startswith("rule-")]
    return float(json.loads(rules.loc[rules["validation_return"].idxmax(), "settings"])["kappa"])


def chosen_candidates() -> dict[str, str]:
    """Each method's candidate with the best VALIDATION return in ``slateq_validation.csv`` (``method -> name``)."""
    table = pd.read_csv(_SLATES / "slateq_validation.csv")
    chosen = {}
    for method in ("slateq", "flat-dqn"):
        rows = table[table["candidate"].str.startswith(method + "-")]
        chosen[method] = str(rows.loc[rows["validation_return"].idxmax(), "candidate"])
    return chosen


def bayes_kappa() -> float:
    """The Bayesian quality-aware rule's ``kappa``, as :mod:`recbook.experiments.slates` chose it on VALIDATION
    users (``data/slates/kappa_validation.csv``, this leave rate)."""
    table = pd.read_csv(_SLATES / "kappa_validation.csv")
    row = table[(table["leave_rate"] == SLATE_CONFIG.leave_rate) & (table["policy"] == "bayes-rule")
                & table["chosen"].astype(bool)]
    return float(row["kappa"].iloc[0])


def _model_path(method: str, seed: int) -> Path:
    return _MODELS / (f"slateq_seed{seed}.zip" if method == "slateq" else f"slateq_flat_dqn_seed{seed}.zip")


def train(seeds_: Sequence[int] = SEEDS, budget: int = BUDGET) -> pd.DataFrame:
    """Train the chosen settings of both methods with each seed; save the models and the timings."""
    rows = []
    for method, name in chosen_candidates().items():
        for seed in seeds_:
            agent = train_slate_agent(SLATE_CONFIG, _settings(name, budget), seed=seed, log_interval=budget // 10)
            agent.save(_model_path(method, seed))
            rows.append({"method": method, "candidate": name, "seed": seed, **agent.timing})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(_SLATES / "slateq_training.csv", index=False)
    return table


def test(seeds_: Sequence[int] = SEEDS, n_users: int = N_TEST) -> pd.DataFrame:
    """Every policy on the same TEST users; write per-user returns and the summary table."""
    users = sample_users(SLATE_CONFIG, n_users, 0, seeds.TEST)
    kappa, kappa_bayes = chosen_kappa(), bayes_kappa()
    policies: dict[str, Any] = {
        "random": RandomSlates(SLATE_CONFIG, seed=0),
        "myopic (knows p)": MyopicSlates(SLATE_CONFIG),
        f"quality-aware rule (knows p, kappa {kappa})": QualityAwareSlates(SLATE_CONFIG, kappa=kappa),
        f"bayesian quality-aware rule (choices only, kappa {kappa_bayes})": BayesQualityAwareSlates(
            SLATE_CONFIG, kappa=kappa_bayes, n_particles=4_000, seed=0),
    }
    for seed in seeds_:
        policies[f"slateq seed {seed}"] = load_slate_agent(_model_path("slateq", seed))
        policies[f"flat dqn seed {seed}"] = load_slate_agent(_model_path("flat-dqn", seed))
    returns = {}
    for name, policy in policies.items():
        started = time.perf_counter()
        returns[name] = evaluate_returns(policy, SLATE_CONFIG, users, 0)
        print(f"{name}: {returns[name].mean():.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    wide = pd.DataFrame({"user": np.arange(n_users), **returns})
    wide.round(6).to_csv(_SLATES / "slateq_test_users.csv.gz", index=False)
    table = summary(wide)
    table.to_csv(_SLATES / "slateq_test.csv", index=False)
    started = time.perf_counter()
    lookahead = LookaheadSlates(SLATE_CONFIG, kappa=kappa, n_rollouts=8, seed=0)
    subset = wide.iloc[:N_LOOKAHEAD].copy()
    subset["lookahead (knows p)"] = evaluate_returns(lookahead, SLATE_CONFIG, users[:N_LOOKAHEAD], 0)
    print(f"lookahead: {subset['lookahead (knows p)'].mean():.4f} ({time.perf_counter() - started:.0f} s)")
    versus_lookahead(subset).to_csv(_SLATES / "slateq_test_lookahead.csv", index=False)
    return table


def versus_lookahead(subset: pd.DataFrame) -> pd.DataFrame:
    """Each policy against the lookahead on the users of ``subset`` (paired: the first block of the TEST users):
    mean return, % of the lookahead's mean, and the paired difference with its bootstrap 95 % interval."""
    long = subset.melt(id_vars="user", var_name="policy", value_name="return")
    reference = subset["lookahead (knows p)"].mean()
    rows = []
    for name in subset.columns[1:]:
        d = paired_difference(long, name, "lookahead (knows p)")
        rows.append({"policy": name, "n_users": len(subset), "return": subset[name].mean(),
                     "pct_lookahead": 100 * subset[name].mean() / reference, "minus_lookahead": d["mean_difference"],
                     "minus_lookahead_ci_low": d["ci_low"], "minus_lookahead_ci_high": d["ci_high"]})
    return pd.DataFrame(rows)


def summary(wide: pd.DataFrame) -> pd.DataFrame:
    """One row per policy of the per-user table: mean return, % of the reference (the best policy knowing ``p``),
    and paired differences (bootstrap 95 % intervals) against myopic and the reference; SlateQ's also against the flat
    DQN of the same seed and the Bayesian quality-aware rule."""
    long = wide.melt(id_vars="user", var_name="policy", value_name="return")
    knows = [c for c in wide.columns if "knows p" in c]
    reference = max(knows, key=lambda c: wide[c].mean())
    myopic = next(c for c in knows if c.startswith("myopic"))
    rows = []
    for name in wide.columns[1:]:
        row: dict[str, Any] = {"policy": name, "n_users": len(wide), "return": wide[name].mean(),
                               "pct_reference": 100 * wide[name].mean() / wide[reference].mean(),
                               "reference": reference}
        against = {"myopic": myopic, "reference": reference}
        if name.startswith("slateq seed"):
            against["flat_dqn"] = name.replace("slateq", "flat dqn")
            against.update({"bayes_rule": c for c in wide.columns if c.startswith("bayesian quality-aware")})
        for label, other in against.items():
            d = paired_difference(long, name, other)
            row[f"minus_{label}"] = d["mean_difference"]
            row[f"minus_{label}_ci_low"], row[f"minus_{label}_ci_high"] = d["ci_low"], d["ci_high"]
            row[f"pct_points_minus_{label}"] = 100 * d["mean_difference"] / wide[reference].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def scale(seed: int = 0, budget: int = 40_000, n_users: int = 1_000) -> pd.DataFrame:
    """SlateQ at ``N = 1,000``, ``k = 10``: train (one seed; smaller batches and buffer, one gradient step per
    batched step, not tuned) and time training and acting; score it and the myopic slate knowing ``p`` on
    VALIDATION users."""
    settings = SlateQConfig(total_timesteps=budget, buffer_size=5_000, batch_size=32, num_envs=32,
                            learning_starts=1_000, gradient_steps=1, target_update_interval=250)
    agent = train_slate_agent(SCALE_CONFIG, settings, seed=seed, log_interval=budget // 5)
    agent.save(_MODELS / f"slateq_n1000_seed{seed}.zip")
    users = sample_users(SCALE_CONFIG, n_users, 0, seeds.VALIDATION)
    started = time.process_time()
    value = evaluate_returns(agent, SCALE_CONFIG, users, 1, block=500).mean()
    acting = time.process_time() - started
    myopic = evaluate_returns(MyopicSlates(SCALE_CONFIG), SCALE_CONFIG, users, 1, block=500).mean()
    # The rule's kappa is the one chosen at N = 10 (not tuned at this N): a sanity reference, not a target.
    rule = evaluate_returns(QualityAwareSlates(SCALE_CONFIG, kappa=chosen_kappa()), SCALE_CONFIG, users, 1,
                            block=500).mean()
    rows = [{"n_items": SCALE_CONFIG.n_items, "slate_size": SCALE_CONFIG.slate_size, "seed": seed, **agent.timing,
             "settings": json.dumps(settings.to_dict()), "validation_users": n_users,
             "validation_return": value, "myopic_knows_p_return": myopic, "rule_knows_p_return": rule,
             "acting_cpu_seconds_per_user_step": acting / (n_users * SCALE_CONFIG.session_length)}]
    table = pd.DataFrame(rows)
    table.to_csv(_SLATES / "slateq_scale.csv", index=False)
    print(table.T, flush=True)
    return table


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("tune", "train", "test", "scale"), action="append",
                        help="run only these stages (repeatable); default: all")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--budget", type=int, default=BUDGET, help="transitions per training run")
    parser.add_argument("--n-users", type=int, default=N_TEST, help="TEST users")
    args = parser.parse_args(argv)
    stages = args.only or ["tune", "train", "test", "scale"]
    _SLATES.mkdir(parents=True, exist_ok=True)
    if "tune" in stages:
        tune(args.budget)
    if "train" in stages:
        train(args.seeds, args.budget)
    if "test" in stages:
        print(test(args.seeds, args.n_users).to_string(), flush=True)
    if "scale" in stages:
        scale()


if __name__ == "__main__":
    main()
