"""Bounds on the best value without seeing preferences: brute force on tiny instances, ordering, exact cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recbook.config import EnvConfig
from recbook.evaluation import rollout, sample_users
from recbook.planning.bounds import LookaheadPolicy, exploit_value, reveal_order_bound
from recbook.policies import BayesGreedy, ExploreOnce, RoundRobin, oracle_return


def brute_force_reveal_order(p: np.ndarray, config: EnvConfig) -> float:
    """Best return over count vectors whose used items are a prefix 0..J-1 (each used at least once)."""
    n, total = config.n_items, config.session_length
    exposure = config.decay_model.exposure_table(total)
    best = -np.inf
    for counts in itertools.product(range(total + 1), repeat=n):
        if sum(counts) != total:
            continue
        used = [c > 0 for c in counts]
        prefix = sum(used)
        if any(used[prefix:]) or not all(used[:prefix]):
            continue
        best = max(best, float((p * exposure[list(counts)]).sum()))
    return best


@pytest.mark.parametrize(
    "config",
    [
        EnvConfig(n_items=3, session_length=4, observation="feedback"),
        EnvConfig(n_items=4, session_length=3, alpha=0.3, observation="feedback"),
        EnvConfig(n_items=3, session_length=6, decay="geometric", decay_rate=0.5, observation="feedback"),
    ],
)
def test_reveal_order_bound_equals_brute_force(config: EnvConfig) -> None:
    users = sample_users(config, n_users=40, seed=11)
    bound = reveal_order_bound(users, config)
    assert bound.shape == (40,)
    expected = np.array([brute_force_reveal_order(p, config) for p in users])
    assert np.allclose(bound, expected, atol=1e-12)
    assert reveal_order_bound(users[0], config) == pytest.approx(expected[0])


def test_exploit_value_is_the_best_use_of_known_items() -> None:
    config = EnvConfig(n_items=2, session_length=4)
    # values 0.6 and 0.4, counts 1 and 0, 3 steps: marginals 0.6/2, 0.6/3, 0.4, 0.4/2 -> 0.4 + 0.3 + 0.2
    assert exploit_value([[0.6, 0.4]], [[1, 0]], [3], config)[0] == pytest.approx(0.9)


def test_bound_sits_between_any_index_order_policy_and_the_oracle() -> None:
    config = EnvConfig(observation="feedback")
    users = sample_users(config, n_users=300, seed=5)
    bound = reveal_order_bound(users, config)
    assert np.all(bound <= oracle_return(users, config) + 1e-12)
    # These policies reveal items in index order, so each session is one of the prophet's options.
    for policy in (BayesGreedy(config), ExploreOnce(config), RoundRobin(config), LookaheadPolicy(config, seed=0)):
        achieved = rollout(policy, config, users).engagement.sum(axis=1)
        assert np.all(achieved <= bound + 1e-12), policy.name


def test_two_items_are_solved_exactly() -> None:
    # With two items one look reveals both preferences, so the look-ahead policy is Bayes-optimal and the bound
    # is attained on every user.
    config = EnvConfig(n_items=2, session_length=7, alpha=0.5, observation="feedback")
    users = sample_users(config, n_users=200, seed=2)
    achieved = rollout(LookaheadPolicy(config, seed=0), config, users).engagement.sum(axis=1)
    assert np.allclose(achieved, reveal_order_bound(users, config), atol=1e-12)


def test_lookahead_beats_bayes_greedy_on_average_and_is_reproducible() -> None:
    config = EnvConfig(n_items=5, session_length=10, alpha=0.3, observation="feedback")
    users = sample_users(config, n_users=1500, seed=9)
    lookahead = rollout(LookaheadPolicy(config, seed=1), config, users)
    again = rollout(LookaheadPolicy(config, seed=1), config, users)
    assert np.array_equal(lookahead.actions, again.actions)
    greedy = rollout(BayesGreedy(config), config, users).engagement.sum(axis=1)
    difference = lookahead.engagement.sum(axis=1) - greedy
    assert difference.mean() > 2 * difference.std() / np.sqrt(len(difference))


def test_reveal_values_shape_and_infeasible_entries() -> None:
    config = EnvConfig(n_items=3, session_length=2, observation="feedback")
    policy = LookaheadPolicy(config, max_reveals=None, seed=0)
    start = np.zeros((1, 10), dtype=np.float32)
    start[0, -1] = 1.0
    values = policy.reveal_values(start)
    assert values.shape == (1, 4)
    assert values[0, 0] == -np.inf and values[0, 3] == -np.inf  # nothing to exploit; only 2 steps for 3 reveals
    assert np.isfinite(values[0, 1:3]).all()


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: reveal_order_bound(np.full(3, 1 / 3), EnvConfig(n_items=3, feedback="click")), "feedback"),
        (lambda: reveal_order_bound(np.full(3, 1 / 3), EnvConfig(n_items=3, alpha=(1.0, 2.0, 1.0))), "alpha"),
        (lambda: reveal_order_bound(np.full(4, 1 / 4), EnvConfig(n_items=3)), "preferences"),
        (lambda: LookaheadPolicy(EnvConfig(), max_reveals=0), "max_reveals"),
        (lambda: LookaheadPolicy(EnvConfig(), n_samples=0), "n_samples"),
    ],
)
def test_bad_input_raises_naming_the_parameter(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()
