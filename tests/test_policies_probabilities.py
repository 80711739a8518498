"""Action probabilities: valid distributions, consistent with predict(), exact for the stochastic policies."""

from __future__ import annotations

import numpy as np
import pytest

from recbook.config import EnvConfig
from recbook.evaluation import rollout, sample_users
from recbook.observations import ObservationLayout
from recbook.vector import RecommendationVectorEnv
from recbook.policies import POLICIES, BayesGreedy, EpsilonGreedy, Random, RoundRobin, ThompsonSampling, make_policy

ORIGINAL = EnvConfig(observation="feedback")
CLICK = EnvConfig(n_items=6, session_length=8, feedback="click", observation="feedback")


def _observations(policy, config: EnvConfig, k: int, seed: int = 0) -> np.ndarray:
    """Observations of ``k`` users part-way through a session, in the policy's observation mode."""
    rng = np.random.default_rng(seed)
    layout = ObservationLayout(config.replace(observation=policy.observation))
    step = config.session_length // 2
    counts = rng.multinomial(step, np.full(config.n_items, 1 / config.n_items), size=k)
    preferences = sample_users(config, k, seed)
    exposure = config.decay_model.exposure_table(config.session_length)
    reward_sums = preferences * exposure[counts]
    if config.feedback == "click":
        reward_sums = np.minimum(np.floor(reward_sums * 3), counts).astype(float)
    return layout.build(counts, reward_sums, step, preferences)


@pytest.mark.parametrize("config", [ORIGINAL, CLICK], ids=["original", "click"])
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_rows_are_distributions_batched_and_single(name: str, config: EnvConfig) -> None:
    kwargs = {"n_probability_samples": 200} if name == "thompson" else {}
    policy = make_policy(name, config, seed=0, **kwargs)
    obs = _observations(policy, config, k=9)
    probabilities = policy.action_probabilities(obs)
    assert probabilities.shape == (9, config.n_items)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    # Thompson's Monte-Carlo estimate depends on the batch it is drawn with; the others are exact.
    atol = 0.15 if name == "thompson" else 1e-12
    np.testing.assert_allclose(policy.action_probabilities(obs[4]), probabilities[4], atol=atol)
    with pytest.raises(ValueError, match="observation"):
        policy.action_probabilities(np.zeros((2, policy.layout.size + 1)))


@pytest.mark.parametrize("name", [n for n, cls in POLICIES.items() if not cls.stochastic])
def test_deterministic_argmax_equals_predict(name: str) -> None:
    policy = make_policy(name, ORIGINAL, seed=0)
    obs = _observations(policy, ORIGINAL, k=50)
    probabilities = policy.action_probabilities(obs)
    assert set(np.unique(probabilities)) <= {0.0, 1.0}
    actions, _ = policy.predict(obs)
    np.testing.assert_array_equal(np.argmax(probabilities, axis=1), actions)


def test_deterministic_policies_along_real_sessions() -> None:
    """On every observation of real sessions, the probability of the logged action is 1."""
    for policy in (BayesGreedy(ORIGINAL), RoundRobin(ORIGINAL)):
        config = ORIGINAL.replace(observation=policy.observation)
        env = RecommendationVectorEnv.from_config(config, 20)
        obs, _ = env.reset(seed=1, options={"preferences": sample_users(ORIGINAL, 20, 1)})
        for _ in range(ORIGINAL.session_length):
            actions, _ = policy.predict(obs)
            assert np.all(policy.action_probabilities(obs)[np.arange(20), actions] == 1.0)
            obs, *_ = env.step(actions)


def test_random_tie_break_spreads_over_ties() -> None:
    policy = RoundRobin(ORIGINAL, tie_break="random", seed=0)
    start = np.zeros((1, ORIGINAL.n_items))
    np.testing.assert_allclose(policy.action_probabilities(start), 0.1)
    counts = np.array([[1, 1, 0, 0, 1, 1, 1, 1, 1, 1]], dtype=float)
    np.testing.assert_allclose(policy.action_probabilities(counts)[0], [0, 0, 0.5, 0.5, 0, 0, 0, 0, 0, 0])
    picks = np.array([policy.predict(counts[0])[0] for _ in range(400)])
    assert set(picks) == {2, 3} and 150 < (picks == 2).sum() < 250


def test_random_is_uniform() -> None:
    policy = Random(ORIGINAL)
    np.testing.assert_allclose(policy.action_probabilities(np.zeros((3, ORIGINAL.n_items))), 0.1)


@pytest.mark.parametrize("tie_break", ["first", "random"])
def test_epsilon_greedy_empirical_frequencies_match(tie_break: str) -> None:
    epsilon = 0.3
    policy = EpsilonGreedy(ORIGINAL, epsilon=epsilon, seed=3, tie_break=tie_break)
    obs = _observations(policy, ORIGINAL, k=4)
    probabilities = policy.action_probabilities(obs)
    assert probabilities.max() <= 1 - epsilon + epsilon / ORIGINAL.n_items + 1e-12
    n = 20_000
    actions, _ = policy.predict(np.repeat(obs, n, axis=0))
    frequencies = np.stack([np.bincount(row, minlength=ORIGINAL.n_items) / n for row in actions.reshape(4, n)])
    # Binomial standard error <= 0.0036; 5 sigma.
    np.testing.assert_allclose(frequencies, probabilities, atol=0.018)


def test_epsilon_greedy_formula() -> None:
    policy = EpsilonGreedy(ORIGINAL, epsilon=0.3)
    start = policy.action_probabilities(np.zeros(3 * ORIGINAL.n_items + 1))
    expected = np.full(ORIGINAL.n_items, 0.03)
    expected[0] += 0.7  # all items tie at the start; "first" picks item 0
    np.testing.assert_allclose(start, expected)
    assert EpsilonGreedy(ORIGINAL, epsilon=0.0).action_probabilities(np.zeros((1, 31))).max() == 1.0


def test_probabilities_draw_no_coins() -> None:
    a, b = EpsilonGreedy(ORIGINAL, seed=5), EpsilonGreedy(ORIGINAL, seed=5)
    obs = _observations(a, ORIGINAL, k=30)
    a.action_probabilities(obs)
    np.testing.assert_array_equal(a.predict(obs)[0], b.predict(obs)[0])


def test_thompson_monte_carlo_matches_frequencies_and_is_seeded() -> None:
    policy = ThompsonSampling(ORIGINAL, seed=2, n_probability_samples=4000)
    obs = _observations(policy, ORIGINAL, k=3)
    probabilities = policy.action_probabilities(obs)
    np.testing.assert_array_equal(probabilities, policy.action_probabilities(obs))
    n = 4000
    actions, _ = policy.predict(np.repeat(obs, n, axis=0))
    frequencies = np.stack([np.bincount(row, minlength=ORIGINAL.n_items) / n for row in actions.reshape(3, n)])
    np.testing.assert_allclose(frequencies, probabilities, atol=0.05)
    with pytest.raises(ValueError, match="n_probability_samples"):
        ThompsonSampling(ORIGINAL, n_probability_samples=0)


def test_rollout_unchanged_by_refactor() -> None:
    """BayesGreedy's published value on the original setting (1.795) still holds on 2,000 users."""
    preferences = sample_users(ORIGINAL, 2000, 0)
    result = rollout(BayesGreedy(ORIGINAL), ORIGINAL, preferences, seed=0)
    assert 1.75 < result.rewards.sum(axis=1).mean() < 1.84
