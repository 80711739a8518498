"""The Open Bandit Dataset sample: loading, the BTS action distribution, and agreement with obp 0.4.1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recbook.obd import bandit_estimates, bts_action_distribution, click_model, load_bts_prior, load_obd
from recbook.paths import data_path


def test_load_obd() -> None:
    random, bts = load_obd("random"), load_obd("bts")
    assert random.shape == (10_000, 4) and bts.shape == (10_000, 4)
    assert random["item_id"].nunique() == 80 and set(random["position"]) == {0, 1, 2}
    assert np.allclose(random["propensity_score"], 1 / 80)
    assert random["click"].mean() == pytest.approx(0.0038)
    assert bts["click"].mean() == pytest.approx(0.0042)
    with pytest.raises(ValueError, match="policy"):
        load_obd("greedy")


def test_bts_action_distribution() -> None:
    alpha, beta = load_bts_prior()
    assert alpha.shape == beta.shape == (80,)
    distribution = bts_action_distribution(alpha, beta, n_samples=20_000, seed=0)
    assert distribution.shape == (80, 3)
    np.testing.assert_allclose(distribution.sum(axis=0), 1.0)
    np.testing.assert_array_equal(distribution, bts_action_distribution(alpha, beta, n_samples=20_000, seed=0))
    # Two items, one almost surely better: it is shown first.
    two = bts_action_distribution(np.array([900.0, 1.0]), np.array([100.0, 999.0]), n_positions=2, n_samples=100)
    np.testing.assert_allclose(two, [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="n_positions"):
        bts_action_distribution(alpha, beta, n_positions=81)


def test_click_model_shrinks_to_position_rate() -> None:
    q = click_model(np.array([0, 0, 1]), np.array([0, 0, 0]), np.array([1.0, 0.0, 0.0]), 3, 1, prior_strength=1.0)
    rate = 1 / 3
    np.testing.assert_allclose(q[:, 0], [(1 + rate) / 3, rate / 2, rate])


def test_bandit_estimates_reproduce_obp() -> None:
    """recbook's IPW, SNIPW, DM, DR and Switch-DR equal obp 0.4.1's on the same inputs (obp_comparison.csv)."""
    distribution = bts_action_distribution(*load_bts_prior(), n_samples=100_000, seed=0)
    estimates = bandit_estimates(load_obd("random"), distribution, seed=0)
    reference = pd.read_csv(data_path("obd", "obp_comparison.csv")).set_index("method")["obp_value"]
    for method, value in reference.items():
        assert estimates[method].value == pytest.approx(value, rel=1e-9), method
    ipw = estimates["ipw"]
    # The figure: 0.0047 (obp's bootstrap interval 0.0015-0.0096) against BTS's own 0.0042.
    assert ipw.ci_low < 0.0042 < ipw.ci_high
