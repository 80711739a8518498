import numpy as np
import pytest

from recbook.response import DecayModel, engagement_probability, sample_clicks


def test_harmonic_by_hand():
    model = DecayModel("harmonic")
    np.testing.assert_allclose(model.multiplier([1, 2, 3, 4]), [1.0, 0.5, 1 / 3, 0.25])
    assert engagement_probability(0.3, 3, model) == pytest.approx(0.1)


def test_geometric_by_hand():
    model = DecayModel("geometric", 0.8)
    np.testing.assert_allclose(model.multiplier([1, 2, 3]), [1.0, 0.8, 0.64])
    assert engagement_probability(0.5, 3, model) == pytest.approx(0.32)
    assert np.all(DecayModel("geometric", 1.0).multiplier(np.arange(1, 10)) == 1.0)


def test_exposure_table():
    np.testing.assert_allclose(DecayModel("harmonic").exposure_table(3), [0.0, 1.0, 1.5, 1.5 + 1 / 3])
    np.testing.assert_allclose(DecayModel("geometric", 0.5).exposure_table(3), [0.0, 1.0, 1.5, 1.75])


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.01, np.nan, np.inf, "0.5", True])
def test_bad_decay_rate(rate):
    with pytest.raises(ValueError, match="decay_rate"):
        DecayModel("geometric", rate)


def test_bad_decay_and_k():
    with pytest.raises(ValueError, match="decay"):
        DecayModel("linear")
    with pytest.raises(ValueError, match="k must be"):
        DecayModel().multiplier(0)


def test_click_rate_matches_probability():
    clicks = sample_clicks(np.random.default_rng(0), np.full(100_000, 0.3))
    assert set(np.unique(clicks)) <= {0.0, 1.0}
    # binomial standard error is 0.00145; allow 5 of them
    assert abs(clicks.mean() - 0.3) < 0.0073
