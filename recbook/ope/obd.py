"""The Open Bandit Dataset sample (ZOZOTOWN, Saito et al. 2020): real logs with their logging propensities.

ZOZOTOWN, a fashion e-commerce site, showed three items (positions 1-3 of a banner) out of 80 to each visitor,
chosen either uniformly at random (``policy="random"``) or by Bernoulli Thompson sampling (``policy="bts"``), and
logged the clicks together with the logging policy's probability of each shown item at its position and four
categorical user features. The obp 0.4.1 wheel ships a 10,000-row sample of each; ``data/obd/`` holds the columns
the book uses (see ``data/obd/README.md``
for the licence, the attribution and the command that regenerates them: ``python -m recbook.obd``; only the
``"all"`` campaign is committed, ``--campaigns men women`` adds the others). obp's own loader is not used: it fails
on pandas >= 2.

Off-policy evaluation on these logs is single-step (one decision per row): each row's position is part of the
context and the action is the item, so a policy is a distribution over items *per position*, an array of shape
``(n_items, n_positions)`` whose columns sum to 1.

The user features are hashed in the raw files (32-character strings); the extraction replaces each hash by a small
integer code, the rank of the hash among all the hashes that column takes in every file of the wheel (both
policies, every campaign), so a code means the same user feature value in every committed file. The codes and
their hashes are in ``data/obd/user_features.csv``.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from numpy.typing import NDArray

from recbook import seeds
from recbook.ope.bandit import BANDIT_METHODS, estimate_bandit
from recbook.ope.intervals import Estimate
from recbook.paths import data_path

__all__ = [
    "CAMPAIGNS",
    "COLUMNS",
    "FEATURE_CODES_FILE",
    "POLICIES",
    "USER_FEATURES",
    "bandit_estimates",
    "bts_action_distribution",
    "click_model",
    "load_bts_prior",
    "load_obd",
]

POLICIES: tuple[str, ...] = ("random", "bts")
CAMPAIGNS: tuple[str, ...] = ("all", "men", "women")
#: The logged columns kept from the raw CSVs, which :func:`load_obd` always returns.
COLUMNS: tuple[str, ...] = ("item_id", "position", "click", "propensity_score")
#: The categorical user features kept as well, as integer codes; user-item affinities and timestamps are dropped.
USER_FEATURES: tuple[str, ...] = ("user_feature_0", "user_feature_1", "user_feature_2", "user_feature_3")
#: The file, under ``data/obd/``, that maps each user feature's codes to the raw hashes.
FEATURE_CODES_FILE = "user_features.csv"
#: The obp release whose wheel ships the sample.
OBP_VERSION = "0.4.1"


def load_obd(policy: str = "random", campaign: str = "all", user_features: bool = False) -> pd.DataFrame:
    """The logged rows (in time order) of one policy and campaign: ``item_id``, ``position``, ``click``,
    ``propensity_score``, and with ``user_features=True`` also ``user_feature_0`` ... ``user_feature_3``.

    ``position`` is 0-based here (0, 1, 2; the raw files count from 1), ``click`` is 0/1 and ``propensity_score``
    is the logging policy's probability of showing ``item_id`` at ``position``. The user features are integer
    codes from 0 (see the module docstring): categories, not quantities.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if campaign not in CAMPAIGNS:
        raise ValueError(f"campaign must be one of {CAMPAIGNS}, got {campaign!r}")
    if not isinstance(user_features, (bool, np.bool_)):
        raise ValueError(f"user_features must be True or False, got {user_features!r}")
    frame = pd.read_csv(data_path("obd", policy, campaign, f"{campaign}.csv"))
    wanted = COLUMNS + USER_FEATURES if user_features else COLUMNS
    missing = set(wanted) - set(frame.columns)
    if missing:
        raise ValueError(f"data/obd/{policy}/{campaign}/{campaign}.csv lacks column(s) {sorted(missing)}")
    frame = frame[list(wanted)].copy()
    frame["position"] = frame["position"] - 1
    return frame


def load_bts_prior(campaign: str = "all") -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The Beta prior ``(alpha, beta)`` (each ``(n_items,)``) of ZOZOTOWN's Thompson sampler (obp's ``prior_bts.yaml``).

    obp documents them as the hyperparameters the production sampler used at the start of data collection.
    """
    if campaign not in CAMPAIGNS:
        raise ValueError(f"campaign must be one of {CAMPAIGNS}, got {campaign!r}")
    prior = yaml.safe_load(data_path("obd", "prior_bts.yaml").read_text())[campaign]
    return np.asarray(prior["alpha"], dtype=np.float64), np.asarray(prior["beta"], dtype=np.float64)


def bts_action_distribution(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    n_positions: int = 3,
    n_samples: int = 100_000,
    seed: int = 0,
) -> NDArray[np.float64]:
    """Probability that Bernoulli Thompson sampling shows each item at each position, ``(n_items, n_positions)``.

    One draw samples ``theta[a] ~ Beta(alpha[a], beta[a])`` for every item and shows the items with the largest
    samples, the largest at position 0 (obp's ``BernoulliTS.select_action``). The probabilities are the
    frequencies over ``n_samples`` draws (as obp's ``compute_batch_action_dist``) from the generator
    ``seeds.generator(seed, TEST, "policy", "bts")``; their Monte-Carlo standard error is at most
    ``0.5 / sqrt(n_samples)``.
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if alpha.ndim != 1 or alpha.shape != beta.shape or np.any(alpha <= 0) or np.any(beta <= 0):
        raise ValueError("alpha and beta must be positive arrays of one shape (n_items,)")
    n_items = alpha.size
    if not 1 <= n_positions <= n_items:
        raise ValueError(f"n_positions must be in [1, {n_items}], got {n_positions!r}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be positive, got {n_samples!r}")
    rng = seeds.generator(seed, seeds.TEST, "policy", "bts")
    counts = np.zeros((n_items, n_positions))
    done = 0
    while done < n_samples:
        size = min(10_000, n_samples - done)
        theta = rng.beta(alpha, beta, size=(size, n_items))
        top = np.argpartition(-theta, n_positions - 1, axis=1)[:, :n_positions]  # the largest, unordered
        order = np.argsort(-np.take_along_axis(theta, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        for position in range(n_positions):
            counts[:, position] += np.bincount(top[:, position], minlength=n_items)
        done += size
    return counts / n_samples


def click_model(
    items: NDArray[np.int64],
    positions: NDArray[np.int64],
    clicks: NDArray[np.float64],
    n_items: int,
    n_positions: int = 3,
    prior_strength: float = 100.0,
) -> NDArray[np.float64]:
    """A reward model ``q_hat[a, k]``: click rate of item ``a`` at position ``k``, shrunk towards the position's.

    ``q_hat[a, k] = (clicks[a, k] + m * rate[k]) / (shown[a, k] + m)`` with ``m = prior_strength`` pseudo-rows of
    the position's overall click rate ``rate[k]``: with about 40 rows and a fraction of a click per cell, raw
    per-cell rates would be mostly 0.
    """
    items = np.asarray(items, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    clicks = np.asarray(clicks, dtype=np.float64)
    shown = np.zeros((n_items, n_positions))
    clicked = np.zeros((n_items, n_positions))
    np.add.at(shown, (items, positions), 1.0)
    np.add.at(clicked, (items, positions), clicks)
    rate = clicked.sum(axis=0) / np.maximum(shown.sum(axis=0), 1.0)
    return (clicked + prior_strength * rate) / (shown + prior_strength)


def bandit_estimates(
    logs: pd.DataFrame,
    action_distribution: NDArray[np.float64],
    methods: Sequence[str] = BANDIT_METHODS,
    switch_threshold: float = 10.0,
    prior_strength: float = 100.0,
    folds: int = 2,
    seed: int = 0,
) -> dict[str, Estimate]:
    """Estimate a policy's click rate from OBD logs (a :func:`load_obd` frame) with each single-step method.

    ``action_distribution[a, k]`` is the target's probability of item ``a`` at position ``k``. DM, DR and
    Switch-DR use :func:`click_model`, cross-fitted over ``folds`` random folds of the rows (seeded by
    ``(seed, TEST, "bootstrap", "obd-folds")``) so that DR's correction is not fitted on the rows it corrects.
    """
    items = logs["item_id"].to_numpy(np.int64)
    positions = logs["position"].to_numpy(np.int64)
    clicks = logs["click"].to_numpy(np.float64)
    n_items, n_positions = action_distribution.shape
    target = action_distribution[items, positions]
    q_logged = np.zeros(len(logs))
    q_target = np.zeros(len(logs))
    fold = seeds.generator(seed, seeds.TEST, "bootstrap", "obd-folds").permutation(len(logs)) % folds
    for k in range(folds):
        held = fold == k
        train = ~held if folds > 1 else held
        q_hat = click_model(items[train], positions[train], clicks[train], n_items, n_positions, prior_strength)
        q_logged[held] = q_hat[items[held], positions[held]]
        q_target[held] = (action_distribution * q_hat).sum(axis=0)[positions[held]]
    propensities = logs["propensity_score"].to_numpy(np.float64)
    return {
        method: estimate_bandit(
            clicks,
            propensities,
            target,
            method,
            q_logged=q_logged,
            q_target=q_target,
            switch_threshold=switch_threshold,
        )
        for method in methods
    }


# -- regeneration --------------------------------------------------------------------------------------------
def _raw_csv(archive: zipfile.ZipFile, policy: str, campaign: str, columns: Sequence[str]) -> pd.DataFrame:
    """Some columns of one raw CSV of the wheel."""
    raw = archive.read(f"obp/dataset/obd/{policy}/{campaign}/{campaign}.csv")
    # Hashes are read as text: a hex string of digits and one 'e' would otherwise become a float.
    return pd.read_csv(io.BytesIO(raw), usecols=list(columns), dtype={feature: str for feature in USER_FEATURES})


def feature_codes(archive: zipfile.ZipFile) -> pd.DataFrame:
    """The code of every user feature hash: ``feature``, ``code``, ``hash``, one row per value.

    A column's codes are the ranks ``0, 1, ...`` of its distinct hashes in sorted order, taken over every file of
    the wheel (both policies, every campaign), so they do not depend on which campaigns are extracted.
    """
    values: dict[str, set[str]] = {feature: set() for feature in USER_FEATURES}
    for policy in POLICIES:
        for campaign in CAMPAIGNS:
            frame = _raw_csv(archive, policy, campaign, USER_FEATURES)
            for feature in USER_FEATURES:
                values[feature].update(frame[feature].astype(str))
    rows = [(feature, code, value) for feature in USER_FEATURES for code, value in enumerate(sorted(values[feature]))]
    return pd.DataFrame(rows, columns=["feature", "code", "hash"])


def extract(wheel: Path, output: Path, campaigns: Sequence[str] = ("all",)) -> list[Path]:
    """Write the book's columns of the OBD sample, the user feature codes, the BTS prior and the licence from obp's
    wheel to ``output``."""
    written = []
    with zipfile.ZipFile(wheel) as archive:
        codes = feature_codes(archive)
        output.mkdir(parents=True, exist_ok=True)
        codes.to_csv(output / FEATURE_CODES_FILE, index=False)
        written.append(output / FEATURE_CODES_FILE)
        for policy in POLICIES:
            for campaign in campaigns:
                frame = _raw_csv(archive, policy, campaign, COLUMNS + USER_FEATURES)
                for feature, table in codes.groupby("feature"):
                    frame[feature] = frame[feature].astype(str).map(dict(zip(table["hash"], table["code"])))
                target = output / policy / campaign / f"{campaign}.csv"
                target.parent.mkdir(parents=True, exist_ok=True)
                frame[list(COLUMNS + USER_FEATURES)].to_csv(target, index=False)
                written.append(target)
        for member, name in (
            ("obp/policy/conf/prior_bts.yaml", "prior_bts.yaml"),
            (f"obp-{OBP_VERSION}.dist-info/LICENSE", "LICENSE"),
        ):
            (output / name).write_bytes(archive.read(member))
            written.append(output / name)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recbook.obd [--wheel obp-0.4.1-py3-none-any.whl] [--output data/obd]``."""
    parser = argparse.ArgumentParser(prog="python -m recbook.obd", description=extract.__doc__)
    parser.add_argument("--wheel", type=Path, help=f"obp {OBP_VERSION} wheel (downloaded with pip if omitted)")
    parser.add_argument("--output", type=Path, default=Path("data/obd"))
    parser.add_argument("--campaigns", nargs="+", choices=CAMPAIGNS, default=["all"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        wheel = args.wheel
        if wheel is None:
            command = [sys.executable, "-m", "pip", "download", f"obp=={OBP_VERSION}", "--no-deps", "-d", folder]
            subprocess.run(command, check=True)
            wheel = next(Path(folder).glob("obp-*.whl"))
        for path in extract(wheel, args.output, args.campaigns):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
