"""Users who leave: the planner against brute force, plan values against the env, the new policies, bad inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recbook import planning
from recbook.planning import leave
from recbook.config import EnvConfig
from recbook.evaluation import evaluate, rollout, sample_users
from recbook.observations import ObservationLayout
from recbook.policies import POLICIES, BayesGreedy, BayesRollout, Oracle, brute_force_optimum, make_policy, oracle_return

LEAVE = EnvConfig(leave_rate=0.3, item_quality="uniform", observation="feedback")
TINY = [
    EnvConfig(n_items=3, session_length=5, leave_rate=0.6, item_quality=(0.1, 0.5, 0.95)),
    EnvConfig(n_items=4, session_length=6, leave_rate=1.0, item_quality=(0.0, 0.3, 0.7, 1.0)),
    EnvConfig(n_items=4, session_length=7, leave_rate=0.3, item_quality="uniform", catalog_seed=3),
    EnvConfig(n_items=3, session_length=6, leave_rate=0.5, item_quality="uniform", decay="geometric", alpha=0.3),
]


def _all_sequences(preferences: np.ndarray, config: EnvConfig) -> float:
    """Best expected return over all n^T sequences (no exchange argument used)."""
    sequences = np.array(list(itertools.product(range(config.n_items), repeat=config.session_length)))
    users = np.repeat(preferences[None], len(sequences), axis=0)
    return float(planning.sequence_return(users, config, sequences).max())


@pytest.mark.parametrize("config", TINY[:2])
def test_exchange_argument_matches_enumeration_of_all_sequences(config: EnvConfig) -> None:
    for p in sample_users(config, n_users=8, seed=1):
        assert brute_force_optimum(p, config) == pytest.approx(_all_sequences(p, config), rel=1e-12)


@pytest.mark.parametrize("config", TINY)
def test_planner_matches_brute_force_on_tiny_instances(config: EnvConfig) -> None:
    preferences = sample_users(config, n_users=60, seed=2)
    _, value = planning.plan(preferences, config)
    exact = np.array([planning.brute_force_optimum(p, config) for p in preferences])
    assert np.all(value <= exact + 1e-12)  # an achievable plan never beats the optimum
    np.testing.assert_allclose(value, exact, rtol=1e-10)


def test_plan_value_equals_the_value_of_its_ordered_sequence() -> None:
    preferences = sample_users(LEAVE, n_users=200, seed=3)
    counts, value = planning.plan(preferences, LEAVE)
    assert np.all(counts.sum(axis=1) == LEAVE.session_length)
    sequence = planning.ordered_sequence(preferences, LEAVE, counts)
    np.testing.assert_allclose(planning.sequence_return(preferences, LEAVE, sequence), value, rtol=1e-12)
    np.testing.assert_allclose(planning.plan_value(preferences, LEAVE, counts), value, rtol=1e-12)
    # Any other order of the same recommendations is no better (exchange argument).
    rng = np.random.default_rng(0)
    shuffled = rng.permuted(sequence, axis=1)
    assert np.all(planning.sequence_return(preferences, LEAVE, shuffled) <= value + 1e-12)


def test_planner_beats_its_starting_points_and_the_myopic_oracle() -> None:
    preferences = sample_users(LEAVE, n_users=300, seed=4)
    value = oracle_return(preferences, LEAVE)
    myopic = planning.plan_value(preferences, LEAVE, leave._starts(*leave._units(
        preferences, LEAVE, np.zeros(preferences.shape, dtype=np.int64), LEAVE.session_length), 20)[:, -1])
    assert np.all(value >= myopic - 1e-12)
    assert value.mean() > myopic.mean()


def test_without_leaving_the_planner_is_the_greedy_oracle() -> None:
    config = EnvConfig(item_quality="uniform", observation="feedback")  # leave_rate 0
    stay = config.replace(leave_rate=1e-12)
    preferences = sample_users(config, n_users=100, seed=5)
    np.testing.assert_allclose(planning.plan_return(preferences, stay), oracle_return(preferences, config), rtol=1e-9)


class _Fixed:
    """Plays a fixed sequence (one row per user)."""

    observation = "feedback"

    def __init__(self, actions: np.ndarray) -> None:
        self.actions, self.t = actions, 0

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        action = self.actions[:, min(self.t, self.actions.shape[1] - 1)]
        self.t += 1
        return action, state


def test_analytic_return_of_a_plan_equals_the_monte_carlo_mean_of_the_env() -> None:
    users = sample_users(LEAVE, n_users=3, seed=6)
    counts, value = planning.plan(users, LEAVE)
    sequence = planning.ordered_sequence(users, LEAVE, counts)
    copies = 20_000
    for i in range(3):
        result = rollout(_Fixed(np.repeat(sequence[i : i + 1], copies, axis=0)), LEAVE,
                         np.repeat(users[i : i + 1], copies, axis=0), seed=i)
        returns = result.engagement.sum(axis=1)
        standard_error = returns.std() / np.sqrt(copies)
        assert abs(returns.mean() - value[i]) < 4 * standard_error
        assert np.all(result.actions[result.actions >= 0] >= 0)


def test_oracle_policy_attains_oracle_return_in_the_env() -> None:
    preferences = sample_users(LEAVE, n_users=1_500, seed=7)
    result = rollout(Oracle(LEAVE), LEAVE, preferences, seed=1)
    returns = result.engagement.sum(axis=1)
    expected = oracle_return(preferences, LEAVE)
    assert abs(returns.mean() - expected.mean()) < 4 * (returns - expected).std() / np.sqrt(len(returns))


def test_expected_exits_give_the_analytic_return_of_a_plan_for_every_user() -> None:
    users = sample_users(LEAVE, n_users=50, seed=6)
    counts, value = planning.plan(users, LEAVE)
    sequence = planning.ordered_sequence(users, LEAVE, counts)
    result = rollout(_Fixed(sequence), LEAVE, users, seed=0, exits="expected")
    np.testing.assert_allclose(result.engagement.sum(axis=1), value, rtol=1e-12)
    assert np.all(result.actions >= 0)  # every session runs its T steps
    # the oracle's own plan, evaluated in expectation, is the planner's value exactly
    oracle = rollout(Oracle(LEAVE), LEAVE, users, seed=0, exits="expected")
    np.testing.assert_allclose(oracle.engagement.sum(axis=1), value, rtol=1e-12)


def test_expected_exits_have_the_mean_of_sampled_exits_with_less_spread() -> None:
    users = sample_users(LEAVE, n_users=4_000, seed=9)
    policy = make_policy("bayes-index", LEAVE, seed=0)
    sampled = rollout(policy, LEAVE, users, seed=1).engagement.sum(axis=1)
    policy.reset(0)
    expected = rollout(policy, LEAVE, users, seed=1, exits="expected").engagement.sum(axis=1)
    assert abs(sampled.mean() - expected.mean()) < 4 * (sampled - expected).std() / np.sqrt(len(users))
    assert expected.std() < 0.5 * sampled.std()


def test_scores_take_exits_in_expectation_by_default() -> None:
    table = evaluate({"oracle": make_policy("oracle", LEAVE)}, LEAVE, n_users=20, seed=0)
    np.testing.assert_allclose(table["expected_return"], table["oracle_return"], rtol=1e-12)
    sampled = evaluate({"oracle": make_policy("oracle", LEAVE)}, LEAVE, n_users=20, seed=0, exits="sampled")
    assert not np.allclose(sampled["expected_return"], sampled["oracle_return"])


def test_expected_exits_change_nothing_when_users_stay_and_refuse_bad_names() -> None:
    stay = LEAVE.replace(leave_rate=0.0)
    users = sample_users(stay, n_users=30, seed=3)
    runs = [rollout(make_policy("bayes-greedy", stay, seed=2), stay, users, seed=4, exits=exits)
            for exits in ("sampled", "expected")]
    np.testing.assert_array_equal(runs[0].actions, runs[1].actions)
    np.testing.assert_array_equal(runs[0].engagement, runs[1].engagement)
    with pytest.raises(ValueError, match="exits"):
        rollout(make_policy("random", LEAVE, seed=0), LEAVE, users, exits="mean")


def test_oracle_replans_rows_that_left_the_plan() -> None:
    oracle = Oracle(LEAVE)
    layout = ObservationLayout(LEAVE.replace(observation="oracle"))
    preferences = sample_users(LEAVE, n_users=5, seed=8)
    counts = np.zeros((5, LEAVE.n_items), dtype=np.int64)
    counts[:, 0] = 3  # three recommendations of item 0 the plan may not contain
    obs = layout.build(counts, preferences * LEAVE.decay_model.exposure_table(20)[counts], 3, preferences)
    actions, _ = oracle.predict(obs)
    plan_counts, _ = planning.plan(preferences, LEAVE, counts, horizon=17)
    assert np.all(plan_counts[np.arange(5), actions] > 0)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_runs_with_leaving_users(name: str) -> None:
    preferences = sample_users(LEAVE, n_users=200, seed=9)
    result = rollout(make_policy(name, LEAVE, seed=0), LEAVE, preferences, seed=0)
    returns = result.engagement.sum(axis=1)
    assert np.all(returns >= 0) and np.all(returns <= LEAVE.session_length)
    left = (result.actions == -1).any(axis=1)
    assert 0 < left.mean() < 1  # some users leave, some stay to the end
    assert make_policy(name, LEAVE).tie_break == "random"


def test_myopic_oracle_is_the_oracle_when_users_stay() -> None:
    config = EnvConfig(observation="feedback")
    preferences = sample_users(config, n_users=300, seed=10)
    a = rollout(make_policy("oracle", config), config, preferences, seed=0).actions
    b = rollout(make_policy("myopic-oracle", config), config, preferences, seed=0).actions
    np.testing.assert_array_equal(a, b)
    assert make_policy("oracle", config).tie_break == "first"  # the original setting is unchanged


def test_random_tie_breaking_spreads_the_first_recommendation() -> None:
    layout = ObservationLayout(LEAVE)
    k = 2_000
    obs = layout.build(np.zeros((k, 10), dtype=np.int64), np.zeros((k, 10)), 0, np.zeros((k, 10)))
    first = BayesGreedy(LEAVE, seed=0).predict(obs)[0]
    assert np.bincount(first, minlength=10).min() > 120  # about 200 each, not all on item 0


def test_bayes_index_is_myopic_on_the_last_step_and_prefers_quality_early() -> None:
    config = EnvConfig(n_items=2, leave_rate=1.0, item_quality=(0.0, 0.9), observation="feedback")
    layout = ObservationLayout(config)
    counts = np.array([[1, 1]])
    preferences = np.array([[0.6, 0.4]])
    exposure = config.decay_model.exposure_table(20)
    policy = make_policy("bayes-index", config)
    early = layout.build(counts, preferences * exposure[counts], 2, preferences)
    last = layout.build(counts, preferences * exposure[counts], 19, preferences)
    assert policy.predict(early)[0][0] == 1  # index 0.3 / 1 against 0.2 / 0.15: the durable item
    assert policy.predict(last)[0][0] == 0  # last step: just the larger reward 0.3 > 0.2


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="preferences"):
        planning.plan(np.ones((2, 3)), LEAVE)
    with pytest.raises(ValueError, match="preferences"):
        planning.plan(-np.ones((2, 10)), LEAVE)
    with pytest.raises(ValueError, match="horizon"):
        planning.plan(np.full((2, 10), 0.1), LEAVE, horizon=0)
    with pytest.raises(ValueError, match="counts"):
        planning.plan(np.full((2, 10), 0.1), LEAVE, counts=np.zeros((3, 10)))
    with pytest.raises(ValueError, match="config"):
        planning.plan(np.full((2, 10), 0.1), {"leave_rate": 0.3})
    with pytest.raises(ValueError, match="config"):
        oracle_return(np.full((2, 10), 0.1), {"leave_rate": 0.3})
    with pytest.raises(ValueError, match="actions"):
        planning.sequence_return(np.full((2, 10), 0.1), LEAVE, np.full((2, 5), 10))
    with pytest.raises(ValueError, match="tiny"):
        planning.brute_force_optimum(np.full(10, 0.1), LEAVE)
    with pytest.raises(ValueError, match="tie_break"):
        make_policy("bayes-index", LEAVE, tie_break="last")


def _state(config: EnvConfig, counts: np.ndarray, preferences: np.ndarray, step: int) -> np.ndarray:
    layout = ObservationLayout(config.replace(observation="feedback"))
    exposure = config.decay_model.exposure_table(config.session_length)
    return layout.build(counts, preferences * exposure[counts], step, preferences)


def test_bayes_rollout_is_exact_when_everything_is_revealed() -> None:
    """Two steps left, every item revealed: recommend a, then (if the user stays) the index rule's last step,
    which is myopic (h = 1). No scenario differs, so the Monte-Carlo value is exact."""
    config = LEAVE.replace(n_items=4, session_length=7, item_quality=(0.1, 0.4, 0.7, 0.95))
    preferences = sample_users(config, n_users=5, seed=4)
    counts = np.array([[2, 1, 1, 1], [1, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2], [1, 1, 1, 2]])
    obs = _state(config, counts, preferences, step=5)
    policy = BayesRollout(config, seed=0, n_samples=3)
    m = config.decay_model.multiplier(np.arange(1, 8))  # m[c] = m(c + 1)
    leave = config.leave_probability(np.arange(4))
    expected = np.zeros((5, 4))
    for a in range(4):
        after = counts.copy()
        after[:, a] += 1
        later = (preferences * m[after]).max(axis=1)
        expected[:, a] = preferences[:, a] * m[counts[:, a]] + (1 - leave[a]) * later
    np.testing.assert_allclose(policy.scores(obs), expected, rtol=1e-6)


def test_bayes_rollout_values_an_unrevealed_item_at_its_posterior_mean_on_the_last_step() -> None:
    config = LEAVE.replace(n_items=4, session_length=6, item_quality=(0.1, 0.4, 0.7, 0.95))
    preferences = np.array([[0.5, 0.2, 0.2, 0.1]])
    counts = np.array([[3, 2, 0, 0]])
    obs = _state(config, counts, preferences, step=5)
    scores = BayesRollout(config, seed=1, n_samples=20_000).scores(obs)[0]
    m = config.decay_model.multiplier(np.arange(1, 8))
    np.testing.assert_allclose(scores[:2], preferences[0, :2] * m[counts[0, :2]], rtol=1e-6)
    np.testing.assert_allclose(scores[2:], (1 - 0.7) / 2, rtol=0.02)  # (1 - S) alpha_a / alpha_U


def test_bayes_rollout_is_seeded_and_refuses_bad_arguments() -> None:
    obs = _state(LEAVE, np.array([[1, 0, 2, 0, 0, 1, 0, 0, 0, 1]] * 3), sample_users(LEAVE, 3, seed=5), step=5)
    first = BayesRollout(LEAVE, seed=3, n_samples=8).scores(obs)
    np.testing.assert_array_equal(first, BayesRollout(LEAVE, seed=3, n_samples=8).scores(obs))
    assert not np.array_equal(first, BayesRollout(LEAVE, seed=4, n_samples=8).scores(obs))
    with pytest.raises(ValueError, match="n_samples"):
        BayesRollout(LEAVE, n_samples=0)
    with pytest.raises(ValueError, match="chunk"):
        BayesRollout(LEAVE, chunk=2.5)
    with pytest.raises(ValueError, match="feedback"):
        BayesRollout(LEAVE.replace(feedback="click"))
