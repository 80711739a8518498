"""recbook.bands: one-parameter sweeps of the band between random and the oracle."""

import numpy as np
import pytest

from recbook import EnvConfig
from recbook.bands import BAND_POLICIES, main, reachable_band, vary


def test_sweep_has_one_row_per_value_and_policy_and_oracle_is_100_percent():
    table = vary("n_items", [2, 5], n_users=200, seed=0)
    assert len(table) == 2 * len(BAND_POLICIES)
    assert set(table["policy"]) == set(BAND_POLICIES)
    oracle = table[table["policy"] == "oracle"]
    assert np.allclose(oracle["pct_oracle"], 100.0)
    assert (table["pct_oracle"] <= 100.0 + 1e-9).all()


def test_round_robin_earns_exactly_one_and_a_half_on_the_original_setting():
    table = vary("alpha", [1.0], n_users=300, seed=1)
    round_robin = table[table["policy"] == "round-robin"].iloc[0]
    assert round_robin["return"] == pytest.approx(1.5)
    assert round_robin["return_se"] == pytest.approx(0.0, abs=1e-12)


def test_sweep_is_reproducible_and_respects_the_base_config():
    base = EnvConfig(decay="geometric", decay_rate=0.5, observation="feedback")
    first = vary("session_length", [3], base=base, policies=("random", "oracle"), n_users=100, seed=3)
    second = vary("session_length", [3], base=base, policies=("random", "oracle"), n_users=100, seed=3)
    assert first.equals(second)


def test_reachable_band_concatenates_sweeps_and_main_writes_csv(tmp_path):
    table = reachable_band({"n_items": [3], "session_length": [2]}, n_users=50)
    assert set(table["parameter"]) == {"n_items", "session_length"}
    output = tmp_path / "band.csv"
    assert main(["--n-users", "20", "--output", str(output)]) == 0
    assert output.exists()
