"""Policies: valid actions, the oracle's optimality, and the published numbers on the original setting."""

from __future__ import annotations

import numpy as np
import pytest

from recbook import seeds

from recbook.config import EnvConfig
from recbook.evaluation import evaluate, paired_difference, rollout, sample_users
from recbook.observations import ObservationLayout
from recbook.policies import (
    POLICIES,
    BayesGreedy,
    EpsilonGreedy,
    ExploreOnce,
    Oracle,
    RoundRobin,
    ThompsonSampling,
    UCB,
    brute_force_optimum,
    make_policy,
    oracle_return,
)

ORIGINAL = EnvConfig(observation="feedback")
CLICK = EnvConfig(
    n_items=50, session_length=50, decay="geometric", decay_rate=0.8, feedback="click", observation="feedback"
)


def _observations(policy, config: EnvConfig, k: int, seed: int = 0) -> np.ndarray:
    """Observations of ``k`` users part-way through a session, in the policy's observation mode."""
    rng = np.random.default_rng(seed)
    layout = ObservationLayout(config.replace(observation=policy.observation))
    counts = rng.multinomial(config.session_length // 2, np.full(config.n_items, 1 / config.n_items), size=k)
    preferences = sample_users(config, k, seed)
    exposure = config.decay_model.exposure_table(config.session_length)
    reward_sums = preferences * exposure[counts]
    if config.feedback == "click":
        reward_sums = np.minimum(np.floor(reward_sums * 3), counts).astype(float)
    return layout.build(counts, reward_sums, config.session_length // 2, preferences)


@pytest.mark.parametrize("config", [ORIGINAL, CLICK], ids=["original", "click"])
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_valid_actions_batched_and_single(name: str, config: EnvConfig) -> None:
    policy = make_policy(name, config, seed=0)
    obs = _observations(policy, config, k=7)
    actions, state = policy.predict(obs)
    assert state is None
    assert actions.shape == (7,) and np.issubdtype(actions.dtype, np.integer)
    assert np.all((actions >= 0) & (actions < config.n_items))
    single, _ = policy.predict(obs[3])
    assert np.shape(single) == () and 0 <= int(single) < config.n_items
    with pytest.raises(ValueError, match="observation"):
        policy.predict(np.zeros((2, policy.layout.size + 1)))


@pytest.mark.parametrize("name", ["round-robin", "explore-once", "ucb", "bayes-greedy", "oracle"])
def test_deterministic_policies_agree_single_and_batched(name: str) -> None:
    policy = make_policy(name, ORIGINAL, seed=0)
    obs = _observations(policy, ORIGINAL, k=5, seed=1)
    batched, _ = policy.predict(obs)
    assert [int(policy.predict(row)[0]) for row in obs] == batched.tolist()


def test_round_robin_is_round_robin() -> None:
    config = EnvConfig(n_items=4, session_length=10)
    result = rollout(RoundRobin(config), config, sample_users(config, 3, 0))
    assert result.actions.tolist() == [[0, 1, 2, 3, 0, 1, 2, 3, 0, 1]] * 3


def test_explore_once_tries_every_item_first() -> None:
    result = rollout(ExploreOnce(ORIGINAL), ORIGINAL, sample_users(ORIGINAL, 50, 0))
    first = np.sort(result.actions[:, : ORIGINAL.n_items], axis=1)
    assert (first == np.arange(ORIGINAL.n_items)).all()


def test_oracle_needs_the_oracle_observation() -> None:
    assert Oracle.observation == "oracle"
    # Only the two oracles (the planner and its myopic counterpart, chapter 9) ever see the preferences.
    assert {name for name, cls in POLICIES.items() if cls.observation == "oracle"} == {"oracle", "myopic-oracle"}


@pytest.mark.parametrize(
    "config",
    [
        EnvConfig(n_items=2, session_length=5, decay="harmonic"),
        EnvConfig(n_items=3, session_length=5, decay="harmonic"),
        EnvConfig(n_items=3, session_length=4, decay="geometric", decay_rate=0.5),
        EnvConfig(n_items=3, session_length=5, decay="geometric", decay_rate=0.9),
        EnvConfig(n_items=2, session_length=3, decay="geometric", decay_rate=1.0),
    ],
    ids=lambda c: f"{c.decay}-{c.decay_rate}-n{c.n_items}-T{c.session_length}",
)
def test_oracle_equals_brute_force(config: EnvConfig) -> None:
    users = sample_users(config, 40, seed=3)
    result = rollout(Oracle(config), config, users)
    optimum = np.array([brute_force_optimum(p, config) for p in users])
    np.testing.assert_allclose(result.rewards.sum(axis=1), optimum, rtol=1e-6)  # float32 observations
    np.testing.assert_allclose(oracle_return(users, config), optimum, rtol=1e-12)
    # A non-greedy schedule must be able to fall short (the check is not vacuous).
    round_robin = rollout(RoundRobin(config), config, users).rewards.sum(axis=1)
    assert np.all(round_robin <= optimum + 1e-9) and np.any(round_robin < optimum - 1e-6)


def test_brute_force_enumerates_all_sequences() -> None:
    config = EnvConfig(n_items=3, session_length=4, decay="geometric", decay_rate=0.6)
    p = np.array([0.5, 0.3, 0.2])
    model = config.decay_model
    best = 0.0
    for sequence in np.ndindex(*(3,) * 4):
        counts = np.zeros(3, dtype=int)
        total = 0.0
        for item in sequence:
            counts[item] += 1
            total += p[item] * float(model.multiplier(counts[item]))
        best = max(best, total)
    assert brute_force_optimum(p, config) == pytest.approx(best)


def test_invalid_arguments_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="epsilon"):
        EpsilonGreedy(ORIGINAL, epsilon=1.5)
    with pytest.raises(ValueError, match="exploration"):
        UCB(ORIGINAL, exploration=-1.0)
    with pytest.raises(ValueError, match="prior"):
        ThompsonSampling(ORIGINAL, prior="flat")
    with pytest.raises(ValueError, match="tie_break"):
        BayesGreedy(ORIGINAL, tie_break="last")
    with pytest.raises(ValueError, match="config"):
        BayesGreedy({"n_items": 10})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown policy"):
        make_policy("greedy", ORIGINAL)
    with pytest.raises(ValueError, match="preferences"):
        brute_force_optimum([0.5, 0.5], EnvConfig(n_items=3, session_length=2))


def test_random_tie_break_is_seeded_and_spreads() -> None:
    obs = np.zeros((2000, ORIGINAL.n_items), dtype=np.float32)
    policy = RoundRobin(ORIGINAL, seed=5, tie_break="random")
    first, _ = policy.predict(obs)
    assert len(np.unique(first)) == ORIGINAL.n_items
    policy.reset()
    np.testing.assert_array_equal(policy.predict(obs)[0], first)


def test_original_setting_matches_published_numbers() -> None:
    """Original project (20k users): oracle 1.862, BayesGreedy 96.4 %, explore-once 1.784, RR 1.500, random 1.336."""
    names = ["random", "round-robin", "explore-once", "bayes-greedy", "oracle"]
    table = evaluate([make_policy(n, ORIGINAL, seed=0) for n in names], ORIGINAL, n_users=5000, seed=2024)
    means = table.groupby("policy", observed=True)[["return", "expected_return", "oracle_return"]].mean()
    assert means.loc["oracle", "return"] == pytest.approx(1.862, abs=0.02)
    assert means.loc["oracle", "return"] == pytest.approx(means.loc["oracle", "oracle_return"], rel=1e-6)
    pct = 100 * means["expected_return"] / means["oracle_return"]
    assert pct["bayes-greedy"] == pytest.approx(96.4, abs=0.3)
    assert means.loc["explore-once", "return"] == pytest.approx(1.784, abs=0.015)
    assert means.loc["round-robin", "return"] == pytest.approx(1.500, abs=1e-6)
    assert means.loc["random", "return"] == pytest.approx(1.336, abs=0.02)
    assert paired_difference(table, "bayes-greedy", "explore-once")["ci_low"] > 0


@pytest.mark.parametrize("name", ["epsilon-greedy", "ucb", "thompson", "bayes-greedy"])
def test_bandits_beat_random_on_clicks(name: str) -> None:
    policies = {"random": make_policy("random", CLICK), name: make_policy(name, CLICK)}
    table = evaluate(policies, CLICK, n_users=2000, seed=11)
    diff = paired_difference(table, name, "random", metric="expected_return", n_resamples=1000)
    assert diff["ci_low"] > 0, diff


def test_policy_stream_is_independent_of_users_with_the_same_seed():
    """Regression: with ``default_rng(seed)`` a Thompson sampler seeded like ``sample_users`` drew the very Gamma
    variates that made the users, so its first posterior sample was the user."""
    from recbook.evaluation import sample_users
    from recbook.policies import ThompsonSampling

    config = EnvConfig(n_items=50, observation="feedback")
    users = sample_users(config, 3, seed=7)
    gamma = ThompsonSampling(config, seed=7).np_random.standard_gamma(np.ones((3, 50)))
    replay = seeds.generator(7, seeds.TEST, "users").standard_gamma(np.ones((3, 50)))
    np.testing.assert_allclose(replay / replay.sum(axis=1, keepdims=True), users)  # the trap is real
    assert not np.allclose(gamma / gamma.sum(axis=1, keepdims=True), users)
