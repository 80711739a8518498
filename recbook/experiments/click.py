"""Chapter 7's click setting: the two DQNs' sessions on the chapter's 10,000 TEST users, precomputed.

Scoring the two item-shared DQNs of the click setting (50 items, sessions of 50) on 10,000 users takes about three
CPU-minutes, well over the minute a notebook cell may take, while the heuristics take a few seconds. So the
chapter evaluates the heuristics live and reads the DQNs' per-session rows from ``data/click/sessions.csv.gz``,
written by ``python -m recbook.experiments.click``. :func:`recbook.evaluation.evaluate` scores each policy on
the same users and random streams whichever policies it is given with, so the rows are exactly those a joint
``evaluate`` of every policy would produce; :func:`with_agents` puts them together (``tests/test_click.py``
checks both on a few hundred users).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from recbook.agents.agent import load_agent
from recbook.config import EnvConfig
from recbook.evaluation import evaluate
from recbook.paths import DATA_DIR

__all__ = ["AGENTS", "CLICK_CONFIG", "N_USERS", "SESSIONS", "agents", "main", "sessions", "with_agents"]

#: The click setting of chapter 7, with many items, long sessions and one 0/1 click per step.
CLICK_CONFIG = EnvConfig(
    n_items=50, session_length=50, decay="geometric", decay_rate=0.8, feedback="click", observation="feedback"
)
#: The chapter's labels of the two DQNs and their model files (``data/models/<stem>.zip``).
AGENTS: dict[str, str] = {"dqn-engagement": "click_seed0", "dqn-clicks": "click_observed_seed0"}
#: TEST users of the chapter's click comparison (seed 0).
N_USERS = 10_000
#: Where the precomputed sessions live.
SESSIONS = DATA_DIR / "click" / "sessions.csv.gz"


def agents(models: Path = DATA_DIR / "models") -> dict[str, Any]:
    """The two DQNs, loaded for :data:`CLICK_CONFIG`, under the chapter's labels."""
    return {label: load_agent(models / f"{stem}.zip", config=CLICK_CONFIG) for label, stem in AGENTS.items()}


def sessions(n_users: int = N_USERS, models: Path = DATA_DIR / "models") -> pd.DataFrame:
    """Evaluate the two DQNs on ``n_users`` TEST users (seed 0): :func:`recbook.evaluation.evaluate`'s rows."""
    return evaluate(agents(models), CLICK_CONFIG, n_users=n_users, seed=0)


def with_agents(results: pd.DataFrame, path: Path = SESSIONS) -> pd.DataFrame:
    """``results`` (an ``evaluate`` table of other policies on the same users) followed by the stored DQN rows.

    The ``policy`` column stays categorical, its categories in the order of the rows, as ``evaluate`` returns it.
    """
    stored = pd.read_csv(path)
    if set(stored["user"]) != set(results["user"]):
        raise ValueError(f"results cover {results['user'].nunique()} users, {path} covers {stored['user'].nunique()}")
    order = [*results["policy"].cat.categories, *AGENTS]
    joined = pd.concat([results.astype({"policy": str}), stored.astype({"policy": str})], ignore_index=True)
    joined["policy"] = pd.Categorical(joined["policy"], categories=order)
    return joined


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recbook.experiments.click", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=SESSIONS)
    parser.add_argument("--users", type=int, default=N_USERS)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sessions(args.users).to_csv(args.output, index=False)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
