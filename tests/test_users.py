import numpy as np
import pytest

from recbook.users import (
    dirichlet_mean,
    dirichlet_variance,
    sample_preferences,
    validate_alpha,
    validate_preferences,
)


def test_symmetric_alpha_expands_to_vector():
    assert np.array_equal(validate_alpha(0.5, 4), np.full(4, 0.5))


@pytest.mark.parametrize("alpha", [0.0, -1.0, np.inf, np.nan, [1.0, 2.0], [1.0, 0.0, 1.0], "x", True, [[1.0, 1.0, 1.0]]])
def test_bad_alpha_names_parameter(alpha):
    with pytest.raises(ValueError, match="alpha"):
        validate_alpha(alpha, 3)


@pytest.mark.parametrize("alpha", [[1.0, 1.0, 1.0, 1.0], [0.2, 0.5, 2.0, 5.0], [10.0, 1.0, 1.0, 0.1]])
def test_dirichlet_draws_match_theory(alpha):
    """200k draws: sample means within 5 standard errors of alpha/a0, variances within 3 %."""
    alpha = np.asarray(alpha)
    draws = sample_preferences(np.random.default_rng(1234), alpha, size=200_000)
    assert draws.shape == (200_000, 4)
    np.testing.assert_allclose(draws.sum(axis=1), 1.0, atol=1e-12)
    mean, var = dirichlet_mean(alpha), dirichlet_variance(alpha)
    standard_error = np.sqrt(var / len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 5 * standard_error)
    np.testing.assert_allclose(draws.var(axis=0), var, rtol=0.03)


def test_tiny_alpha_rows_still_sum_to_one():
    draws = sample_preferences(np.random.default_rng(0), np.full(5, 1e-3), size=1000)
    assert np.all(np.isfinite(draws))
    np.testing.assert_allclose(draws.sum(axis=1), 1.0, atol=1e-12)


def test_same_seed_same_users():
    a = sample_preferences(np.random.default_rng(7), np.ones(6), size=10)
    b = sample_preferences(np.random.default_rng(7), np.ones(6), size=10)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("prefs", [[0.5, 0.5], [0.5, 0.6, -0.1], [0.2, 0.2, 0.2], [np.nan, 0.5, 0.5]])
def test_bad_preferences(prefs):
    with pytest.raises(ValueError, match="preferences"):
        validate_preferences(prefs, 3)
