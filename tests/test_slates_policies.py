"""Slate search, slate policies and the exact DP (recbook.slates)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recbook.choice import choice_probabilities
from recbook.config import EnvConfig
from recbook.evaluation import rollout, sample_users
from recbook.slates import (
    BayesMyopicSlates,
    BayesQualityAwareSlates,
    LookaheadSlates,
    MyopicSlates,
    ParticlePosterior,
    QualityAwareSlates,
    RandomSlates,
    best_slates,
    optimal_value,
    policy_value,
)
from recbook.slates.search import candidate_slates
from recbook.slates.values import expected_returns
from recbook.vector import RecommendationVectorEnv

QUALITY = (0.45, 0.35, 0.55, 0.05, 0.95, 0.85, 0.25, 0.15, 0.75, 0.65)
TABLE = dict(n_items=10, session_length=20, slate_size=3, no_click_mass=1.0, feedback="choice", leave_rate=0.3,
             item_quality=QUALITY, leave_no_click=0.1, observation="feedback")
SMALL = dict(n_items=6, slate_size=3, session_length=8, no_click_mass=1.0, feedback="choice",
             item_quality=QUALITY[:6], leave_no_click=0.1)


def _expectimax(p: np.ndarray, config: EnvConfig) -> float:
    """Brute force: maximise over every slate at every node of the full history tree (no state merging)."""
    ordered = config.choice_model == "cascade"
    slates = list((itertools.permutations if ordered else itertools.combinations)(range(config.n_items),
                                                                                  config.slate_size))
    quality = config.quality_vector

    def value(counts: np.ndarray, t: int) -> float:
        if t == config.session_length:
            return 0.0
        best = -np.inf
        for slate in slates:
            chances = config.choice_probabilities(p, counts, np.array(slate))
            total = chances[-1] * (1 - config.leave_no_click) * value(counts, t + 1)
            for position, item in enumerate(slate):
                after = counts.copy()
                after[item] += 1
                reward = 1.0 if config.feedback == "choice" else p[item] / after[item]  # harmonic decay
                stay = 1 - config.leave_rate * (1 - quality[item])
                total += chances[position] * (reward + stay * value(after, t + 1))
            best = max(best, total)
        return best

    return value(np.zeros(config.n_items, dtype=np.int64), 0)


@pytest.mark.parametrize("choice_model", ["mnl", "cascade"])
@pytest.mark.parametrize("feedback", ["choice", "expected"])
def test_exact_dp_equals_brute_force_on_a_tiny_instance(choice_model: str, feedback: str) -> None:
    config = EnvConfig(n_items=4, slate_size=2, session_length=3, choice_model=choice_model, no_click_mass=1.0,
                       feedback=feedback, leave_rate=0.5, item_quality=(0.1, 0.9, 0.4, 0.6), leave_no_click=0.2,
                       attention=(1.0, 0.6) if choice_model == "cascade" else 1.0)
    p = np.random.default_rng(7).dirichlet(np.ones(4))
    solution = optimal_value(p, config)
    assert solution.value == pytest.approx(_expectimax(p, config), rel=1e-12)
    assert solution.n_states == 35  # C(3 + 4, 4)


@pytest.mark.parametrize("leave_rate", [0.3, 0.6])
def test_known_p_policies_against_the_exact_optimum(leave_rate: float) -> None:
    """N = 6, k = 3, T = 8: the lookahead (8 rollouts) within 0.5 % of the optimum for every user, never above it;
    the rule and the myopic slate below it. Measured on these users: the lookahead 0.02 to 0.35 % below the
    optimum, the rule (kappa 0.5) 0.75 to 1.18 %, the myopic slate 3.9 to 26 %."""
    config = EnvConfig(**SMALL, leave_rate=leave_rate)
    lookahead = LookaheadSlates(config, kappa=1.0, n_rollouts=8, seed=0)
    rule = QualityAwareSlates(config, kappa=0.5)
    myopic = MyopicSlates(config)
    for p in np.random.default_rng(0).dirichlet(np.ones(6), 3):
        optimum = optimal_value(p, config).value
        values = {
            policy.name: policy_value(p, config, lambda c, r, policy=policy: policy.slates_for(
                np.broadcast_to(p, c.shape), c, r))
            for policy in (lookahead, rule, myopic)
        }
        assert all(value <= optimum * (1 + 1e-12) for value in values.values())
        assert values["lookahead-slates"] >= 0.995 * optimum
        assert values["quality-aware-slates"] >= 0.95 * optimum
        assert values["myopic-slates"] < values["lookahead-slates"]


def test_myopic_knowing_p_is_the_best_immediate_slate_by_enumeration() -> None:
    config = EnvConfig(**{**TABLE, "observation": "oracle"})
    env = RecommendationVectorEnv.from_config(config, 64)
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(2)
    policy = MyopicSlates(config)
    for _ in range(4):  # also after some consumption, when the decay matters
        slates, _ = policy.predict(obs)
        chances = config.choice_probabilities(env.preferences, env.counts, slates)
        immediate = 1.0 - chances[:, -1]
        every = candidate_slates(10, 3, ordered=False)
        for user in range(64):
            scores = config.choice_probabilities(
                np.broadcast_to(env.preferences[user], (len(every), 10)),
                np.broadcast_to(env.counts[user], (len(every), 10)), every)
            assert immediate[user] == pytest.approx(np.max(1.0 - scores[:, -1]), rel=1e-6)  # float32 observation
        obs, *_ = env.step(np.argsort(rng.random((64, 10)), axis=1)[:, :3])


@pytest.mark.parametrize("choice_model, attention", [("mnl", 1.0), ("cascade", 1.0), ("cascade", 0.7)])
def test_fast_searches_equal_enumeration(choice_model: str, attention: float) -> None:
    """Dinkelbach (MNL) and the sorted DP (cascade, constant attention) are exact: the enumeration's values."""
    config = EnvConfig(n_items=8, slate_size=3, choice_model=choice_model, no_click_mass=1.5, attention=attention,
                       feedback="choice")
    rng = np.random.default_rng(3)
    scores = 8 * rng.dirichlet(np.ones(8), 500)
    values, none = rng.normal(size=(500, 8)), rng.normal(size=500)
    _, enumerated = best_slates(config, scores, values, none, method="enumerate")
    slates, fast = best_slates(config, scores, values, none, method="auto")
    np.testing.assert_allclose(fast, enumerated, rtol=1e-12, atol=1e-12)
    assert np.all(np.sort(slates, axis=1)[:, 1:] != np.sort(slates, axis=1)[:, :-1])


def test_particle_likelihood_is_the_choice_models_probability() -> None:
    for choice_model, attention in (("mnl", 1.0), ("cascade", (1.0, 0.5, 0.7))):
        config = EnvConfig(n_items=10, slate_size=3, choice_model=choice_model, attention=attention,
                           no_click_mass=1.0, feedback="choice")
        rng = np.random.default_rng(0)
        posterior = ParticlePosterior(config, 50, rng)
        slates = np.array([rng.permutation(10)[:3] for _ in range(6)])
        counts, outcome = rng.integers(0, 3, (6, 10)), rng.integers(0, 4, 6)
        got = posterior.log_likelihood(slates, counts, outcome)
        for user in range(6):
            scores = 10 * posterior.particles[:, slates[user]] / (counts[user, slates[user]] + 1)
            chances = choice_probabilities(scores, choice_model, 1.0, config.attention_vector)
            np.testing.assert_allclose(got[user], np.log(chances[:, outcome[user]]), rtol=1e-12)


def test_slate_policies_run_in_the_rollout_engine() -> None:
    config = EnvConfig(**TABLE)
    users = sample_users(config, 40, seed=0)
    for policy in (RandomSlates(config, seed=0), MyopicSlates(config), QualityAwareSlates(config, kappa=0.5),
                   BayesMyopicSlates(config, n_particles=200, seed=0),
                   BayesQualityAwareSlates(config, kappa=0.75, n_particles=200, seed=0)):
        result = rollout(policy, config, users, seed=0, exits="expected")
        assert result.actions.shape == (40, 20, 3)
        ordered = np.sort(result.actions, axis=2)
        assert np.all(ordered[..., 1:] != ordered[..., :-1])
        assert result.chosen is not None and result.rewards.sum() > 0


def test_expected_returns_have_the_mean_of_the_rewards_received() -> None:
    config = EnvConfig(**TABLE)
    users = sample_users(config, 2000, seed=0)
    result = rollout(MyopicSlates(config), config, users, seed=0, exits="expected")
    expected = expected_returns(config, result.preferences, result.actions, result.chosen)
    received = result.rewards.sum(axis=1)
    difference = received - expected
    assert abs(difference.mean()) < 4 * difference.std() / np.sqrt(len(users))
    assert expected.std() < received.std()
    # With no no-click mass every slate is taken and pays 1: nothing is random, the two agree exactly.
    certain = EnvConfig(**{**TABLE, "no_click_mass": 0.0})
    result = rollout(MyopicSlates(certain), certain, users[:50], seed=0, exits="expected")
    np.testing.assert_allclose(expected_returns(certain, result.preferences, result.actions, result.chosen),
                               result.rewards.sum(axis=1))


def test_seeds_reproduce_and_separate() -> None:
    config = EnvConfig(**TABLE)
    users = sample_users(config, 50, seed=0)

    def run(policy):
        return rollout(policy, config, users, seed=0, exits="expected").actions

    np.testing.assert_array_equal(run(RandomSlates(config, seed=3)), run(RandomSlates(config, seed=3)))
    assert not np.array_equal(run(RandomSlates(config, seed=3)), run(RandomSlates(config, seed=4)))
    bayes = [BayesQualityAwareSlates(config, kappa=0.75, n_particles=300, seed=s) for s in (1, 1, 2)]
    np.testing.assert_array_equal(bayes[0].posterior.particles, bayes[1].posterior.particles)
    assert not np.array_equal(bayes[0].posterior.particles, bayes[2].posterior.particles)
    np.testing.assert_array_equal(run(bayes[0]), run(bayes[1]))
    small = EnvConfig(**SMALL, leave_rate=0.3, observation="oracle")
    p, counts = np.full((4, 6), 1 / 6), np.zeros((4, 6), dtype=np.int64)
    steps = np.full(4, 5)
    lookahead = [LookaheadSlates(small, kappa=0.5, n_rollouts=2, seed=s) for s in (0, 0)]
    np.testing.assert_array_equal(lookahead[0].slates_for(p, counts, steps), lookahead[1].slates_for(p, counts, steps))


def test_bayesian_state_follows_episodes() -> None:
    config = EnvConfig(**TABLE)
    env = RecommendationVectorEnv.from_config(config, 5)
    obs, _ = env.reset(seed=0)
    policy = BayesMyopicSlates(config, n_particles=100, seed=0)
    slates, state = policy.predict(obs, episode_start=np.ones(5, dtype=bool))
    assert np.all(state.log_weights == 0)
    obs, *_ = env.step(slates)
    _, after = policy.predict(obs, state=state, episode_start=np.zeros(5, dtype=bool))
    # Every row advanced one step: a choice and a no-click are both evidence about p.
    assert np.all(np.any(after.log_weights != 0, axis=1))
    restarted = policy.predict(obs, state=after, episode_start=np.ones(5, dtype=bool))[1]
    assert np.all(restarted.log_weights == 0)
    chose = env.last_choice >= 0
    assert chose.any()
    # A state whose previous slates do not hold the item the user took does not belong to this observation.
    others = np.array([[i for i in range(10) if i != taken][:3] for taken in env.last_choice])
    with pytest.raises(ValueError, match="state"):
        policy.predict(obs, state=type(state)(others, state.steps_remaining, state.log_weights))


def test_errors_name_the_parameter() -> None:
    config = EnvConfig(**TABLE)
    with pytest.raises(ValueError, match="kappa"):
        QualityAwareSlates(config, kappa=-1.0)
    with pytest.raises(ValueError, match="n_rollouts"):
        LookaheadSlates(config, n_rollouts=0)
    with pytest.raises(ValueError, match="n_particles"):
        BayesMyopicSlates(config, n_particles=0)
    with pytest.raises(ValueError, match="method"):
        MyopicSlates(config, method="greedy")
    with pytest.raises(ValueError, match="config"):
        BayesMyopicSlates(EnvConfig())  # one item shown, always consumed: no choice to learn from
    with pytest.raises(ValueError, match="config"):
        MyopicSlates(TABLE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="observation"):
        MyopicSlates(config).predict(np.zeros(7))
    with pytest.raises(ValueError, match="scores"):
        best_slates(config, np.ones((2, 9)), np.ones((2, 9)), np.ones(2))
    with pytest.raises(ValueError, match="method"):
        wide = config.replace(n_items=40, item_quality=None)
        best_slates(wide, np.ones((1, 40)), np.ones((1, 40)), np.ones(1), method="enumerate")
    with pytest.raises(ValueError, match="fractional"):
        best_slates(config.replace(choice_model="cascade"), np.ones((1, 10)), np.ones((1, 10)), np.ones(1),
                    method="fractional")
    with pytest.raises(ValueError, match="n_items"):
        optimal_value(np.full(10, 0.1), config)
    with pytest.raises(ValueError, match="preferences"):
        optimal_value(np.full(5, 0.2), EnvConfig(**SMALL))
