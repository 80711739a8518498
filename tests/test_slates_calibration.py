"""The catalogue calibrated from the Open Bandit Dataset's uniform-random logs (recbook.slates.calibration)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recbook import seeds
from recbook.ope.obd import load_obd
from recbook.paths import data_path
from recbook.slates.calibration import (
    calibrate,
    calibrate_obd,
    cascade_attention,
    check_calibration,
    clopper_pearson,
    count_tables,
    fit_pbm,
    simulate_uniform_slates,
    take_probability,
)


@pytest.fixture(scope="module")
def catalogue():
    return calibrate_obd()


def pbm_logs(attractiveness, effect, n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Rows of a uniform logger (item and position uniform) under the PBM ``P(click) = effect[j] * a[i]``."""
    rng = seeds.generator(seed, seeds.TEST, "clicks", "test-pbm")
    items = rng.integers(len(attractiveness), size=n_rows)
    positions = rng.integers(len(effect), size=n_rows)
    clicks = rng.random(n_rows) < np.asarray(effect)[positions] * np.asarray(attractiveness)[items]
    return pd.DataFrame({"item_id": items, "position": positions, "click": clicks.astype(int)})


def test_clopper_pearson_known_values_and_errors() -> None:
    low, high = clopper_pearson([0, 5, 10], [125, 10, 10])
    np.testing.assert_allclose(low[0], 0.0)
    np.testing.assert_allclose(high[0], 1 - 0.025 ** (1 / 125))  # the zero-click upper bound in closed form
    np.testing.assert_allclose([low[1], high[1]], [0.187086, 0.812914], atol=1e-6)
    np.testing.assert_allclose(high[2], 1.0)
    for kwargs, name in [({"clicks": [3], "trials": [2]}, "clicks"), ({"clicks": [1], "trials": [0]}, "trials"),
                         ({"clicks": [1], "trials": [2], "confidence_level": 1.0}, "confidence_level")]:
        with pytest.raises(ValueError, match=name):
            clopper_pearson(**kwargs)


def test_pbm_fit_recovers_a_known_model() -> None:
    attractiveness = np.linspace(0.05, 0.4, 12)
    effect = np.array([1.0, 0.6, 0.3])
    shown, clicked = count_tables(pbm_logs(attractiveness, effect, 150_000), 12, 3)
    fit = fit_pbm(shown, clicked)
    # Standard errors from the Fisher information of these rates are about 1.5 % (positions) and 3 % (items).
    np.testing.assert_allclose(fit.position_effect, effect, rtol=0.05)
    np.testing.assert_allclose(fit.attractiveness, attractiveness, rtol=0.1)
    # The Bernoulli likelihood is at its maximum: moving an effect (the items refitted) lowers it.
    for position, shift in [(1, 1.01), (2, 0.99)]:
        moved = fit_pbm(shown, clicked, {position: fit.position_effect[position] * shift})
        assert moved.log_likelihood < fit.log_likelihood


def test_synthetic_calibration_intervals_cover_the_truth() -> None:
    effect = np.array([1.0, 0.7, 0.45])
    attractiveness = seeds.generator(1, seeds.TEST, "catalog", "test-pbm").gamma(4.0, 0.05 / 4.0, size=40)
    result = calibrate(pbm_logs(attractiveness, effect, 100_000, seed=1), 40, 3)
    assert np.all(result.position_effect_low <= effect) and np.all(effect <= result.position_effect_high)
    assert np.all(result.position_effect_high[1:] - result.position_effect_low[1:] < 0.25)
    assert result.item_spread_low <= 0.5 <= result.item_spread_high  # the gamma law's cv is 1 / sqrt(4)
    assert result.item_spread == pytest.approx(0.5, abs=0.15)


def test_obd_estimates_hold_their_intervals(catalogue) -> None:
    c = catalogue
    assert (c.n_rows, c.n_clicks) == (10_000, 38)
    assert c.clicks.sum() == 38 and c.impressions.sum() == 10_000
    assert np.all(c.item_rate_low <= c.item_rate) and np.all(c.item_rate <= c.item_rate_high)
    assert np.all(c.position_rate_low <= c.position_rate) and np.all(c.position_rate <= c.position_rate_high)
    assert c.position_effect[0] == 1.0 and c.position_effect_low[0] == c.position_effect_high[0] == 1.0
    assert np.all(c.position_effect_low <= c.position_effect) and np.all(c.position_effect <= c.position_effect_high)
    assert c.item_spread_low <= c.item_spread <= c.item_spread_high
    assert np.all(c.attention_low <= c.attention) and np.all(c.attention <= c.attention_high)
    assert np.all((0 < c.attention) & (c.attention <= 1)) and c.attention.max() == pytest.approx(1.0)
    assert c.alpha.shape == (80,) and np.all(c.alpha > 0) and c.alpha.sum() == pytest.approx(80.0)
    # Triple-goal: alpha follows the order of the shrunken rates.
    assert np.all(np.diff(c.alpha[np.argsort(c.shrunk_rate, kind="stable")]) >= 0)


def test_take_probability_matches_monte_carlo() -> None:
    alpha = np.array([0.3, 1.0, 2.5, 0.2])
    p = seeds.generator(0, seeds.TEST, "users", "test-take").dirichlet(alpha, size=200_000)
    for nu in (0.1, 1.0, 50.0):
        draws = 4 * p / (4 * p + nu)
        error = draws.std(axis=0) / np.sqrt(len(draws))
        assert np.all(np.abs(take_probability(alpha, nu) - draws.mean(axis=0)) < 4 * error)
    np.testing.assert_array_equal(take_probability(alpha, 0.0), 1.0)


@pytest.mark.parametrize("effect", [[1.0, 0.6, 0.3], [1.0, 1.3, 0.8], [0.5, 1.0], [1.0, 0.0, 2.0]])
@pytest.mark.parametrize("take", [0.004, 0.4, 1.0])
def test_cascade_attention_reproduces_relative_effects(effect, take) -> None:
    attention = cascade_attention(effect, take)
    reach = np.concatenate([[1.0], np.cumprod(1 - attention * take)[:-1]])
    rates = attention * take * reach
    np.testing.assert_allclose(rates / rates.max(), np.array(effect) / max(effect), atol=1e-9)
    assert attention.max() == pytest.approx(1.0, abs=1e-9) and np.all(attention >= 0)


def test_calibrated_env_reproduces_the_logs(catalogue) -> None:
    table = check_calibration(catalogue, n_users=100_000, seed=0)
    assert table["inside"].all(), table
    # Tighter than the logs' intervals: the position effects within the Monte-Carlo error of 100,000 users
    # (about 0.5 % per ratio), also at the book's click level (nu = 1), where the attentions differ.
    for nu in (None, 1.0):
        table = check_calibration(catalogue, no_click_mass=nu, n_users=100_000, seed=0).set_index("quantity")
        for j in (2, 3):
            row = table.loc[f"position effect {j} / 1"]
            assert row["simulated"] == pytest.approx(row["real"], rel=0.02)


def test_env_config(catalogue) -> None:
    config = catalogue.env_config(leave_rate=0.3, item_quality="uniform", leave_no_click=0.1)
    assert (config.n_items, config.slate_size, config.choice_model) == (80, 3, "cascade")
    assert config.no_click_mass == catalogue.no_click_mass and config.leave_rate == 0.3
    np.testing.assert_allclose(config.alpha_vector, catalogue.alpha)
    np.testing.assert_allclose(config.attention_vector, catalogue.attention)
    book = catalogue.env_config(slate_size=2, no_click_mass=1.0)
    np.testing.assert_allclose(book.attention_vector, catalogue.attention_for(1.0, 2))
    assert catalogue.env_config(slate_size=5, attention=0.8).attention_vector.tolist() == [0.8] * 5
    for kwargs, name in [({"slate_size": 4}, "slate_size"), ({"no_click_mass": -1.0}, "no_click_mass")]:
        with pytest.raises(ValueError, match=name):
            catalogue.env_config(**kwargs)


def test_options_and_errors_name_parameters(catalogue) -> None:
    logs = load_obd("random")
    flat = calibrate(logs, 80, 3, item_spread=0.0, concentration=160.0)
    np.testing.assert_allclose(flat.alpha, 2.0)
    np.testing.assert_allclose(flat.position_effect, catalogue.position_effect)
    for kwargs, name in [({"confidence_level": 1.5}, "confidence_level"), ({"concentration": 0.0}, "concentration"),
                         ({"item_spread": -0.1}, "item_spread"), ({"n_items": 79}, "logs"),
                         ({"logs": logs.drop(columns="click")}, "logs"), ({"n_positions": 0}, "n_positions")]:
        with pytest.raises(ValueError, match=name):
            calibrate(**{"logs": logs, "n_items": 80, "n_positions": 3, **kwargs})
    with pytest.raises(ValueError, match="logs"):
        calibrate(logs.assign(click=0), 80, 3)
    with pytest.raises(ValueError, match="logs have more clicks"):  # no no-click mass can produce 90 % clicks
        calibrate(pbm_logs(np.full(5, 0.9), [1.0, 1.0, 1.0], 5_000), 5, 3)
    with pytest.raises(ValueError, match="take"):
        cascade_attention([1.0, 0.5], 1.5)
    with pytest.raises(ValueError, match="position_effect"):
        cascade_attention([1.0, -0.5], 0.1)
    with pytest.raises(ValueError, match="n_users"):
        simulate_uniform_slates(catalogue.env_config(), 0)


def test_deterministic(catalogue) -> None:
    again = calibrate_obd()
    for name in ("alpha", "attention", "position_effect_low", "position_effect_high", "shrunk_rate"):
        np.testing.assert_array_equal(getattr(again, name), getattr(catalogue, name))
    assert again.no_click_mass == catalogue.no_click_mass
    config = catalogue.env_config()
    pd.testing.assert_frame_equal(simulate_uniform_slates(config, 2_000, seed=3),
                                  simulate_uniform_slates(config, 2_000, seed=3))
    assert not simulate_uniform_slates(config, 2_000, seed=4).equals(simulate_uniform_slates(config, 2_000, seed=3))


def test_committed_table_is_current(catalogue) -> None:
    committed = pd.read_csv(data_path("slates", "obd_catalogue.csv"))
    current = catalogue.to_frame()
    assert list(committed.columns) == ["item", "clicks", "impressions", "rate", "low", "high", "alpha"]
    pd.testing.assert_frame_equal(committed, current, check_exact=False, rtol=1e-5, atol=1e-9)
