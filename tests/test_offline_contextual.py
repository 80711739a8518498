"""A contextual policy learned from bandit logs: synthetic logs with a known best item, and the OBD workflow table."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recbook import seeds
from recbook.obd import load_obd
from recbook.ope.obd import CAMPAIGNS, COLUMNS, FEATURE_CODES_FILE, POLICIES, USER_FEATURES, extract
from recbook.offline.contextual import (
    encode_contexts,
    estimate_policy,
    fit_click_model,
    fit_ips_policy,
    obd_feature_sizes,
    obd_policy_table,
    split_rows,
)

N_ITEMS, N_CATEGORIES, N_POSITIONS = 6, 3, 2
FEATURES = ("segment",)


def click_probabilities(segment: np.ndarray, position: np.ndarray) -> np.ndarray:
    """The synthetic truth, ``(n_rows, N_ITEMS)``: item ``segment + 1`` is clicked most; position 1 halves clicks."""
    p = np.full((segment.size, N_ITEMS), 0.03)
    p[np.arange(segment.size), segment + 1] = 0.3
    return p * np.where(position == 1, 0.5, 1.0)[:, None]


def synthetic_logs(n_rows: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Logs of a uniform random logger over ``N_ITEMS`` items, one categorical user feature and two positions."""
    rng = seeds.generator(seed, seeds.TEST, "clicks", "contextual-test")
    segment = rng.integers(N_CATEGORIES, size=n_rows)
    position = rng.integers(N_POSITIONS, size=n_rows)
    item = rng.integers(N_ITEMS, size=n_rows)
    click = rng.random(n_rows) < click_probabilities(segment, position)[np.arange(n_rows), item]
    return pd.DataFrame({"item_id": item, "position": position, "click": click.astype(int),
                         "propensity_score": 1.0 / N_ITEMS, "segment": segment})


def every_context() -> pd.DataFrame:
    segment, position = np.meshgrid(np.arange(N_CATEGORIES), np.arange(N_POSITIONS), indexing="ij")
    return pd.DataFrame({"segment": segment.ravel(), "position": position.ravel()})


def test_learners_find_the_best_item_of_each_context() -> None:
    logs = synthetic_logs()
    contexts = every_context()
    best = contexts["segment"].to_numpy() + 1
    model = fit_click_model(logs, N_ITEMS, (N_CATEGORIES,), N_POSITIONS, features=FEATURES)
    greedy = model.policy(greedy=True).action_probabilities(contexts)
    np.testing.assert_array_equal(greedy.argmax(axis=1), best)
    np.testing.assert_allclose(greedy.max(axis=1), 1.0)
    ips = fit_ips_policy(logs, N_ITEMS, (N_CATEGORIES,), N_POSITIONS, features=FEATURES)
    probabilities = ips.action_probabilities(contexts)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), best)
    assert probabilities[np.arange(len(best)), best].min() > 0.5  # well above the logger's 1/6


def test_held_out_estimates_cover_the_learned_policys_true_value() -> None:
    learning, held_out = split_rows(synthetic_logs(8000), 0.5, seed=0)
    model = fit_click_model(learning, N_ITEMS, (N_CATEGORIES,), N_POSITIONS, features=FEATURES)
    policy = fit_ips_policy(learning, N_ITEMS, (N_CATEGORIES,), N_POSITIONS, features=FEATURES)
    truth_per_row = click_probabilities(held_out["segment"].to_numpy(), held_out["position"].to_numpy())
    truth = float((policy.action_probabilities(held_out) * truth_per_row).sum(axis=1).mean())
    estimates = estimate_policy(policy, held_out, model)
    assert set(estimates) == {"ipw", "snipw", "dr"}
    for method, result in estimates.items():
        assert result.covers(truth), (method, result, truth)
    assert estimates["dr"].ci_low > held_out["click"].mean()  # the learned policy beats the random logger


def test_policies_on_obd_rows_are_distributions() -> None:
    logs = load_obd("random", user_features=True)
    assert logs.shape == (10_000, 8)
    sizes = obd_feature_sizes()
    assert len(sizes) == 4 and all(s >= 2 for s in sizes)
    contexts = encode_contexts(logs, sizes, 3)
    assert contexts.shape == (10_000, sum(sizes) + 4)
    np.testing.assert_allclose(contexts.sum(axis=1), 6.0)  # one code per feature, the position, the constant
    rows = logs.iloc[:500]
    model = fit_click_model(logs.iloc[:2000], 80, sizes)
    ips = fit_ips_policy(logs.iloc[:2000], 80, sizes, steps=20)
    for policy in (model.policy(greedy=True), model.policy(greedy=False), ips):
        probabilities = policy.action_probabilities(rows)
        assert probabilities.shape == (500, 80)
        assert np.all(probabilities >= 0)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert model.predict(rows).shape == (500, 80)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return obd_policy_table(seed=0)


def test_obd_policy_table(table: pd.DataFrame) -> None:
    assert list(table.columns) == ["policy", "estimator", "value", "ci_low", "ci_high", "ess", "n"]
    learned = table[table["estimator"] != "logged"]
    assert set(learned["policy"]) == {"dm-greedy", "dm-softmax", "ips-softmax"}
    assert set(learned["estimator"]) == {"ipw", "snipw", "dr"}
    assert np.all(table["ci_low"] <= table["value"]) and np.all(table["value"] <= table["ci_high"])
    logged = table[table["estimator"] == "logged"].set_index("policy")
    assert logged.loc["bts (logged)", "value"] == pytest.approx(load_obd("bts")["click"].mean())
    _, held_out = split_rows(load_obd("random", user_features=True), 0.5, seed=0)
    assert logged.loc["random (held-out)", "value"] == pytest.approx(held_out["click"].mean())
    assert (learned["n"] == len(held_out)).all()


def test_same_seed_same_table(table: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(obd_policy_table(seed=0), table)
    first, _ = split_rows(load_obd("random", user_features=True), 0.5, seed=0)
    other, _ = split_rows(load_obd("random", user_features=True), 0.5, seed=1)
    assert not first.equals(other)


def test_bad_input_names_the_parameter() -> None:
    logs = synthetic_logs(600)
    kwargs = {"n_items": N_ITEMS, "n_categories": (N_CATEGORIES,), "n_positions": N_POSITIONS, "features": FEATURES}
    with pytest.raises(ValueError, match="cap"):
        fit_ips_policy(logs, cap=0.0, **kwargs)
    with pytest.raises(ValueError, match="steps"):
        fit_ips_policy(logs, steps=0, **kwargs)
    with pytest.raises(ValueError, match="l2_item"):
        fit_click_model(logs, l2_item=-1.0, **kwargs)
    with pytest.raises(ValueError, match="n_items"):
        fit_click_model(logs, **{**kwargs, "n_items": 0})
    with pytest.raises(ValueError, match="item_id"):
        fit_click_model(logs, **{**kwargs, "n_items": 3})  # logged items go up to 5
    with pytest.raises(ValueError, match="frame"):
        encode_contexts(logs.assign(segment=logs["segment"] + 5), (N_CATEGORIES,), N_POSITIONS, FEATURES)
    with pytest.raises(ValueError, match="temperature"):
        fit_click_model(logs, **kwargs).policy(greedy=False, temperature=0.0)
    with pytest.raises(ValueError, match="held_out_fraction"):
        split_rows(logs, 1.0)
    with pytest.raises(ValueError, match="seed"):
        obd_policy_table(seed=-1)
    with pytest.raises(ValueError, match="user_features"):
        load_obd("random", user_features="yes")  # type: ignore[arg-type]


def test_extraction_codes_user_features_alike_in_every_file(tmp_path: Path) -> None:
    """``recbook.ope.obd.extract`` on a fake wheel: each hash gets its sorted rank, the same in both policies' files."""
    wheel = tmp_path / "obp-0.4.1-py3-none-any.whl"
    hashes = {"random": ["f0", "a0"], "bts": ["c0", "a0"]}
    with zipfile.ZipFile(wheel, "w") as archive:
        for policy in POLICIES:
            for campaign in CAMPAIGNS:
                values = hashes[policy] + (["e0"] if campaign == "men" else [])  # a value only another campaign has
                raw = pd.DataFrame({"timestamp": "t", "item_id": 0, "position": 1, "click": 0,
                                    "propensity_score": 0.5, **{f: values for f in USER_FEATURES},
                                    "user-item_affinity_0": 0.0}, index=range(len(values)))
                archive.writestr(f"obp/dataset/obd/{policy}/{campaign}/{campaign}.csv", raw.to_csv())
        archive.writestr("obp/policy/conf/prior_bts.yaml", "all: {alpha: [1], beta: [1]}\n")
        archive.writestr("obp-0.4.1.dist-info/LICENSE", "licence\n")
    extract(wheel, tmp_path / "out")
    codes = {"a0": 0, "c0": 1, "e0": 2, "f0": 3}
    for policy in POLICIES:
        frame = pd.read_csv(tmp_path / "out" / policy / "all" / "all.csv")
        assert list(frame.columns) == [*COLUMNS, *USER_FEATURES]
        assert frame["user_feature_2"].tolist() == [codes[h] for h in hashes[policy]]
    table = pd.read_csv(tmp_path / "out" / FEATURE_CODES_FILE)
    assert table[table["feature"] == "user_feature_0"].set_index("hash")["code"].to_dict() == codes
