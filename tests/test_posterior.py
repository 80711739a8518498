"""recbook.posterior: the one Dirichlet posterior (mean, sd, draws) and its agreement with the torch features."""

from __future__ import annotations

import numpy as np
import pytest

from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.posterior import DirichletPosterior, beta_mean, beta_sd, click_posterior, dirichlet_posterior_mean

ALPHA = np.array([0.5, 1.0, 2.0, 0.3, 1.5])


def _state(seed: int, users: int = 400, alpha: np.ndarray = ALPHA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(p, revealed, value)``: users from the prior, a random subset of their items revealed."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(alpha, size=users)
    revealed = rng.random(p.shape) < 0.4
    return p, revealed, np.where(revealed, p, rng.random(p.shape))  # unrevealed values are noise: never read


def test_mean_and_sd_match_monte_carlo_of_the_conditional_prior() -> None:
    """Given the revealed items, the rest is (1 - S) Dirichlet(alpha_U): check mean and sd against direct draws."""
    posterior = DirichletPosterior(ALPHA)
    revealed = np.array([True, False, False, True, False])
    value = np.array([0.2, 0.0, 0.0, 0.1, 0.0])
    rng = np.random.default_rng(1)
    draws = posterior.sample(rng, revealed, value, n_samples=200_000)
    assert draws.shape == (200_000, 5)
    np.testing.assert_array_equal(draws[:, revealed], np.broadcast_to(value[revealed], (200_000, 2)))
    np.testing.assert_allclose(draws.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(draws.mean(axis=0), posterior.mean(revealed, value), atol=2e-3)
    np.testing.assert_allclose(draws.std(axis=0), posterior.sd(revealed, value), atol=2e-3)
    # The formulas: (1 - S) alpha[a] / alpha_U, and 0 spread for known items.
    mass, alpha_u = 0.7, ALPHA[~revealed].sum()
    np.testing.assert_allclose(posterior.mean(revealed, value)[~revealed], mass * ALPHA[~revealed] / alpha_u)
    assert np.all(posterior.sd(revealed, value)[revealed] == 0.0)


def test_nothing_revealed_gives_the_prior() -> None:
    posterior = DirichletPosterior(ALPHA)
    none = np.zeros(5, dtype=bool)
    np.testing.assert_allclose(posterior.mean(none, np.zeros(5)), ALPHA / ALPHA.sum())
    np.testing.assert_allclose(posterior.prior_mean, ALPHA / ALPHA.sum())
    a0 = ALPHA.sum()
    np.testing.assert_allclose(posterior.sd(none, np.zeros(5)), beta_sd(ALPHA, a0 - ALPHA))
    np.testing.assert_allclose(posterior.prior_sd, posterior.sd(none, np.zeros(5)), rtol=1e-12)


def test_everything_revealed_needs_no_division() -> None:
    posterior = DirichletPosterior(ALPHA)
    every = np.ones((3, 5), dtype=bool)
    value = np.random.default_rng(0).dirichlet(ALPHA, size=3)
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(posterior.mean(every, value), value)
        np.testing.assert_array_equal(posterior.sd(every, value), 0.0)
        np.testing.assert_array_equal(posterior.sample(np.random.default_rng(0), every, value), value)
        np.testing.assert_array_equal(posterior.sample_unrevealed(np.random.default_rng(0), every, value, 4), 0.0)


def test_revealed_mass_above_one_is_clipped() -> None:
    """Rounding in float32 observations can make S exceed 1 by a hair: the unrevealed items then get 0, not < 0."""
    posterior = DirichletPosterior(ALPHA)
    revealed = np.array([True, True, False, False, False])
    value = np.array([0.6, 0.5, 0.0, 0.0, 0.0])
    assert posterior.unrevealed_mass(revealed, value) == 0.0
    assert np.all(posterior.mean(revealed, value)[~revealed] == 0.0)
    assert np.all(posterior.sample(np.random.default_rng(0), revealed, value)[~revealed] == 0.0)


def test_draws_do_not_depend_on_what_was_revealed() -> None:
    """Every item's Gamma variate is drawn, revealed or not, so the generator advances alike (common random numbers)."""
    posterior = DirichletPosterior(ALPHA)
    _, revealed, value = _state(0, users=10)
    first, second = np.random.default_rng(3), np.random.default_rng(3)
    posterior.sample(first, revealed, value, n_samples=7)
    posterior.sample(second, np.zeros_like(revealed), value, n_samples=7)
    assert first.random() == second.random()


def test_batched_mean_matches_row_by_row_and_the_function() -> None:
    posterior = DirichletPosterior(ALPHA)
    _, revealed, value = _state(2, users=50)
    batch = posterior.mean(revealed, value)
    rows = np.stack([posterior.mean(r, v) for r, v in zip(revealed, value)])
    np.testing.assert_array_equal(batch, rows)
    np.testing.assert_array_equal(dirichlet_posterior_mean(revealed, value, ALPHA), batch)
    np.testing.assert_allclose(batch.sum(axis=1)[revealed.sum(axis=1) < 5], 1.0, rtol=1e-12)


def test_click_posterior_is_the_beta_update() -> None:
    alpha = np.full(4, 0.5)
    a, b = click_posterior(alpha, np.array([0.0, 1.0, 3.0, 0.0]), np.array([0.0, 2.0, 2.5, 4.0]))
    np.testing.assert_allclose(a, [0.5, 1.5, 3.5, 0.5])
    np.testing.assert_allclose(b, [1.5, 2.5, 1.5, 5.5])  # failures clipped at 0 where clicks exceed exposure
    np.testing.assert_allclose(beta_mean(a, b), a / (a + b))
    x = np.random.default_rng(0).beta(a, b, size=(200_000, 4))
    np.testing.assert_allclose(x.std(axis=0), beta_sd(a, b), atol=2e-3)


def test_bad_alpha_is_rejected() -> None:
    with pytest.raises(ValueError, match="alpha"):
        DirichletPosterior([1.0, 0.0])
    with pytest.raises(ValueError, match="alpha"):
        DirichletPosterior([[1.0]])


@pytest.mark.parametrize("alpha", [1.0, (0.5, 1.0, 2.0, 0.3, 1.5, 0.8)])
def test_torch_item_features_compute_the_same_posterior_mean(alpha: float | tuple[float, ...]) -> None:
    """recbook.agents.networks computes the posterior mean in torch; it must be this module's, on random states."""
    th = pytest.importorskip("torch")
    from recbook.agents.networks import ItemFeatures

    config = EnvConfig(n_items=6, session_length=9, alpha=alpha, observation="feedback")
    layout = ObservationLayout(config)
    posterior = DirichletPosterior(config.alpha_vector)
    rng = np.random.default_rng(7)
    p = rng.dirichlet(config.alpha_vector, size=300)
    # Random states: each user has made `step` recommendations; a recommended item is revealed (expected feedback).
    step = rng.integers(0, config.session_length + 1, size=300)
    counts = np.zeros(p.shape, dtype=np.int64)
    for user, steps in enumerate(step):
        np.add.at(counts[user], rng.integers(0, config.n_items, size=steps), 1)
    exposure = config.decay_model.exposure_table(config.session_length)
    obs = layout.build(counts, p * exposure[counts], step, p)
    view = layout.parse(obs)
    with th.no_grad():
        _, _, _, next_value = ItemFeatures(config)(th.as_tensor(obs))
    # The feature is the posterior-mean next reward: mean * m(count + 1) (m(1) = 1 for the unrevealed items).
    mean = posterior.mean(view.revealed, view.value) * config.decay_model.multiplier(view.counts + 1)
    np.testing.assert_allclose(next_value.numpy(), mean, rtol=1e-5, atol=1e-6)


def test_interval_holds_the_level_of_posterior_draws() -> None:
    """The exact Beta bounds leave (1 - level) / 2 of direct posterior draws on each side, per item."""
    posterior = DirichletPosterior(ALPHA)
    revealed = np.array([True, False, False, True, False])
    value = np.array([0.2, 0.0, 0.0, 0.1, 0.0])
    low, high = posterior.interval(revealed, value, level=0.8)
    draws = posterior.sample(np.random.default_rng(2), revealed, value, n_samples=200_000)
    unseen = ~revealed
    np.testing.assert_allclose((draws[:, unseen] < low[unseen]).mean(axis=0), 0.1, atol=3e-3)
    np.testing.assert_allclose((draws[:, unseen] > high[unseen]).mean(axis=0), 0.1, atol=3e-3)
    np.testing.assert_array_equal(low[revealed], value[revealed])
    np.testing.assert_array_equal(high[revealed], value[revealed])
    assert np.all(low[unseen] < posterior.mean(revealed, value)[unseen])


def test_interval_is_batched_and_handles_the_last_unrevealed_item() -> None:
    posterior = DirichletPosterior(ALPHA)
    _, revealed, value = _state(3, users=50)
    low, high = posterior.interval(revealed, value)
    for row in range(50):
        row_low, row_high = posterior.interval(revealed[row], value[row])
        np.testing.assert_allclose(low[row], row_low)
        np.testing.assert_allclose(high[row], row_high)
    # One item left: it holds exactly the unrevealed mass.
    last = np.array([True, True, True, True, False])
    known = np.array([0.1, 0.2, 0.3, 0.1, 0.0])
    low, high = posterior.interval(last, known)
    assert low[4] == pytest.approx(0.3) and high[4] == pytest.approx(0.3)
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high))
    with pytest.raises(ValueError, match="level"):
        posterior.interval(last, known, level=1.0)
