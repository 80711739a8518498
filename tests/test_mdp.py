"""The counts MDP: value iteration against brute force, round robin, policy evaluation, Q-learning, bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from recbook.config import EnvConfig
from recbook.planning.mdp import (
    CountsMDP,
    closed_form_round_robin,
    greedy_actions,
    policy_evaluation,
    q_learning,
    value_iteration,
)
from recbook.policies import RoundRobin, brute_force_optimum


def brute_force_value(config: EnvConfig, gamma: float) -> float:
    """Best discounted expected return over all n^T action sequences (prior-mean preferences)."""
    mean = config.alpha_vector / config.alpha_vector.sum()
    best = -np.inf
    for sequence in itertools.product(range(config.n_items), repeat=config.session_length):
        counts = np.zeros(config.n_items, dtype=int)
        total = 0.0
        for t, a in enumerate(sequence):
            counts[a] += 1
            total += gamma**t * mean[a] * float(config.decay_model.multiplier(counts[a]))
        best = max(best, total)
    return best


@pytest.mark.parametrize(
    "config",
    [
        EnvConfig(n_items=3, session_length=4),
        EnvConfig(n_items=2, session_length=6, alpha=(1.0, 3.0)),
        EnvConfig(n_items=3, session_length=5, alpha=(0.5, 1.0, 2.0), decay="geometric", decay_rate=0.6),
    ],
)
@pytest.mark.parametrize("gamma", [1.0, 0.8])
def test_value_iteration_equals_brute_force(config: EnvConfig, gamma: float) -> None:
    mdp = CountsMDP.from_config(config)
    assert value_iteration(mdp, gamma).value == pytest.approx(brute_force_value(config, gamma), abs=1e-12)


def test_undiscounted_value_is_the_best_counts_only_plan() -> None:
    config = EnvConfig(n_items=3, session_length=6, alpha=(1.0, 2.0, 4.0), decay="geometric", decay_rate=0.5)
    mean = config.alpha_vector / config.alpha_vector.sum()
    value = value_iteration(CountsMDP.from_config(config)).value
    assert value == pytest.approx(brute_force_optimum(mean, config), abs=1e-12)


def test_state_enumeration() -> None:
    config = EnvConfig(n_items=4, session_length=5)
    mdp = CountsMDP.from_config(config)
    assert mdp.n_states == CountsMDP.count_states(4, 5) == 126
    for t, states in enumerate(mdp.states):
        assert (states.sum(axis=1) == t).all() and len(np.unique(states, axis=0)) == len(states)
    for t in range(mdp.horizon):  # next_state adds one to the chosen item
        children = mdp.states[t + 1][mdp.next_state[t]]
        assert (children - mdp.states[t][:, None, :] == np.eye(4, dtype=int)).all()
    assert mdp.state_index([1, 0, 2, 1]) == (4, int(np.flatnonzero((mdp.states[4] == [1, 0, 2, 1]).all(1))[0]))


@pytest.mark.parametrize("n_items, session_length", [(4, 8), (5, 10), (3, 7)])
def test_discounted_optimal_policy_is_round_robin(n_items: int, session_length: int) -> None:
    config = EnvConfig(n_items=n_items, session_length=session_length)
    mdp = CountsMDP.from_config(config)
    discounted = value_iteration(mdp, gamma=0.9)
    undiscounted = value_iteration(mdp)
    rr = RoundRobin(config)
    for t in range(mdp.horizon):
        actions, _ = rr.predict(mdp.states[t].astype(np.float32))
        assert (discounted.policy[t] == actions).all()  # with discounting: the unique order (lowest index first)
        rows = np.arange(len(actions))  # without: round robin's action is always among the optimal ones
        assert np.allclose(undiscounted.q_values[t][rows, actions], undiscounted.values[t])


def test_undiscounted_ties_show_order_does_not_matter() -> None:
    # With gamma = 1 and T = 2n every first recommendation is optimal: only the final counts matter.
    mdp = CountsMDP.from_config(EnvConfig(n_items=3, session_length=6))
    q0 = value_iteration(mdp).q_values[0][0]
    assert np.allclose(q0, q0.max())


@pytest.mark.parametrize(
    "config", [EnvConfig(n_items=5, session_length=10), EnvConfig(n_items=3, session_length=7),
               EnvConfig(n_items=4, session_length=6, decay="geometric", decay_rate=0.7)]
)
def test_policy_evaluation_of_round_robin_matches_closed_form(config: EnvConfig) -> None:
    mdp = CountsMDP.from_config(config)
    value = policy_evaluation(mdp, RoundRobin(config))[0][0]
    assert value == pytest.approx(closed_form_round_robin(config), abs=1e-12)
    assert value == pytest.approx(value_iteration(mdp).value, abs=1e-12)


def test_round_robin_closed_form_on_the_original_setting() -> None:
    assert closed_form_round_robin(EnvConfig()) == pytest.approx(1.5)
    assert policy_evaluation(CountsMDP.from_config(EnvConfig(n_items=5, session_length=10)),
                             RoundRobin(EnvConfig(n_items=5, session_length=10)))[0][0] == pytest.approx(1.5)


def test_policy_evaluation_of_the_uniform_random_policy() -> None:
    config = EnvConfig(n_items=3, session_length=5)
    mdp = CountsMDP.from_config(config)
    uniform = [np.full((len(s), 3), 1 / 3) for s in mdp.states[:-1]]
    exposure = config.decay_model.exposure_table(5)
    binomial = np.array([math.comb(5, k) * (1 / 3) ** k * (2 / 3) ** (5 - k) for k in range(6)])
    expected = (binomial * exposure).sum()  # n * (1/n) * E[exposure(Bin(T, 1/n))]
    assert policy_evaluation(mdp, uniform)[0][0] == pytest.approx(expected, abs=1e-12)


def test_policy_evaluation_of_the_optimal_policy_gives_the_optimal_values() -> None:
    mdp = CountsMDP.from_config(EnvConfig(n_items=3, session_length=5, alpha=(1.0, 2.0, 3.0)))
    for gamma in (1.0, 0.7):
        solution = value_iteration(mdp, gamma)
        values = policy_evaluation(mdp, list(solution.policy), gamma)
        for a, b in zip(values, solution.values):
            assert np.allclose(a, b)


def test_greedy_actions_break_near_ties_towards_the_lowest_index() -> None:
    q = np.array([[0.3, 0.3 + 1e-15, 0.1], [0.0, 0.2, 0.2]])
    assert greedy_actions(q).tolist() == [0, 1]


def test_q_learning_converges_on_a_tiny_mdp_and_is_reproducible() -> None:
    config = EnvConfig(n_items=3, session_length=4)
    result = q_learning(config, 1500, seed=3, eval_every=50)
    optimum = value_iteration(result.mdp).value
    assert result.curve["greedy_value"].iloc[-1] == pytest.approx(optimum, abs=1e-9)
    assert result.curve["start_value"].iloc[-1] == pytest.approx(optimum, abs=0.05)
    assert result.curve["start_value"].iloc[-1] == result.q_values[0][0].max()
    early = q_learning(config, 3, seed=3, eval_every=1)  # a short run: its greedy policy is not yet optimal
    assert early.curve["greedy_value"].min() < optimum - 0.05  # it did have to learn
    assert result.curve["episode"].iloc[0] == 0 and result.curve["start_value"].iloc[0] == 0.0
    assert result.curve["greedy_value"].iloc[0] < optimum - 0.05  # the all-zero table shows item 0 every time
    assert len(result.curve) == 1501 and result.curve["epsilon"].iloc[-1] == pytest.approx(0.05)
    again = q_learning(config, 1500, seed=3, eval_every=50)
    assert result.curve.equals(again.curve)
    assert all(np.array_equal(a, b) for a, b in zip(result.q_values, again.q_values))
    # Q-values of the start state approach Q* (every first item is optimal here: all near 1.1667)
    assert np.allclose(result.q_values[0][0], value_iteration(result.mdp).q_values[0][0], atol=0.05)


def test_q_learning_from_clicks_finds_the_optimum() -> None:
    config = EnvConfig(n_items=2, session_length=3, feedback="click")
    result = q_learning(config, 800, seed=0, eval_every=100)
    assert result.curve["greedy_value"].iloc[-1] == pytest.approx(value_iteration(result.mdp).value, abs=1e-9)
    assert set(np.unique(result.curve["return"].dropna())) <= {0.0, 1.0, 2.0, 3.0}


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: CountsMDP.from_config(EnvConfig()), "30,045,015 states"),
        (lambda: CountsMDP.from_config("config"), "config"),  # type: ignore[arg-type]
        (lambda: value_iteration(CountsMDP.from_config(EnvConfig(n_items=2, session_length=2)), 1.5), "gamma"),
        (lambda: q_learning(EnvConfig(n_items=2, session_length=2), 0), "n_episodes"),
        (lambda: q_learning(EnvConfig(n_items=2, session_length=2), 5, learning_rate=0), "learning_rate"),
        (lambda: q_learning(EnvConfig(n_items=2, session_length=2), 5, learning_rate_decay=2), "learning_rate_decay"),
        (lambda: q_learning(EnvConfig(n_items=2, session_length=2), 5, exploration_final_eps=-0.1),
         "exploration_final_eps"),
        (lambda: q_learning(EnvConfig(n_items=2, session_length=2), 5, seed=-1), "seed"),
        (lambda: policy_evaluation(CountsMDP.from_config(EnvConfig(n_items=2, session_length=2)), [np.zeros(3)]),
         "policy"),
        (lambda: CountsMDP.from_config(EnvConfig(n_items=2, session_length=2)).state_index([3, 0]), "counts"),
    ],
)
def test_bad_input_raises_naming_the_parameter(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()


def test_planning_modules_import_no_deep_learning_framework() -> None:
    import ast
    from pathlib import Path

    import recbook

    root = Path(recbook.__file__).parent
    for name in ("mdp.py", "bounds.py", "planning/__init__.py", "planning/leave.py", "planning/marginals.py",
                 "planning/optimum.py", "planning/bounds.py", "planning/mdp.py", "posterior.py", "__init__.py"):
        tree = ast.parse((root / name).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "torch" not in imported, name
