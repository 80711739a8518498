"""The leave MDP: its values against the simulator and the planner, value iteration against policy iteration and
brute force, the stopping rule, Monte Carlo / TD(0) / SARSA / Q-learning, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from recbook import EnvConfig, RecommendationEnv, seeds
from recbook.planning.leave import plan, sequence_return
from recbook.planning.sampled import epsilon_greedy, mc_evaluate, q_learning, sarsa, td0_evaluate
from recbook.planning.tabular import (
    LeaveMDP,
    myopic_policy,
    policy_evaluation,
    policy_iteration,
    q_from_values,
    value_iteration,
)

CONFIG = EnvConfig(n_items=3, session_length=4, leave_rate=0.6, item_quality=(0.1, 0.5, 0.9))
PREFERENCES = (0.54, 0.27, 0.19)


@pytest.fixture(scope="module")
def mdp() -> LeaveMDP:
    return LeaveMDP.from_config(CONFIG, PREFERENCES)


def brute_force(mdp: LeaveMDP) -> float:
    """Best expected return over every deterministic policy (one action per decision state), by enumeration."""
    best = -np.inf
    for actions in itertools.product(range(mdp.n_items), repeat=mdp.end):
        best = max(best, float(policy_evaluation(mdp, np.array(actions))[0]))
    return best


def test_shapes_and_transitions(mdp: LeaveMDP) -> None:
    assert mdp.n_states == 20 + 1  # count vectors summing to 0..3, plus the end state
    transitions = mdp.transitions
    assert transitions.shape == (21, 3, 21)
    np.testing.assert_allclose(transitions.sum(axis=2), 1.0)
    assert transitions[mdp.end, :, mdp.end].min() == 1.0
    np.testing.assert_allclose(mdp.stay, 1 - 0.6 * (1 - np.array([0.1, 0.5, 0.9])))
    np.testing.assert_allclose(mdp.rewards[0], PREFERENCES)
    assert mdp.modulus() == pytest.approx(0.94)


def test_policy_values_match_the_planner_and_fixed_sequences(mdp: LeaveMDP) -> None:
    # The optimal value equals the full-information planner's (exact on small instances) ...
    _, planned = plan(np.array([PREFERENCES]), CONFIG)
    assert value_iteration(mdp).value == pytest.approx(float(planned[0]), abs=1e-12)
    # ... and an open-loop sequence, written as a policy, has the value planning/leave.py computes for it.
    sequence = [2, 1, 0, 0]
    policy, state = np.zeros(mdp.n_states, dtype=np.int64), 0
    for action in sequence:
        policy[state] = action
        state = int(mdp.next_state[state, action])
    expected = sequence_return(np.array([PREFERENCES]), CONFIG, np.array([sequence]))[0]
    assert policy_evaluation(mdp, policy)[0] == pytest.approx(expected, abs=1e-12)


def test_policy_value_matches_the_environment_by_monte_carlo(mdp: LeaveMDP) -> None:
    policy = myopic_policy(mdp)
    env = RecommendationEnv.from_config(CONFIG)
    env.reset(seed=seeds.derive_seed(0, seeds.TEST, "exits"))
    returns = []
    for _ in range(20_000):
        obs, _ = env.reset(options={"preferences": PREFERENCES})
        total, done = 0.0, False
        while not done:
            obs_action = int(policy[mdp.state_index(obs)])
            obs, reward, done, _, _ = env.step(obs_action)
            total += reward
        returns.append(total)
    exact = policy_evaluation(mdp, policy)[0]
    assert abs(np.mean(returns) - exact) < 4 * np.std(returns) / np.sqrt(len(returns))


def test_value_iteration_policy_iteration_and_brute_force_agree(mdp: LeaveMDP) -> None:
    vi = value_iteration(mdp, tol=1e-12)
    pi = policy_iteration(mdp)
    assert np.abs(vi.values - pi.values[-1]).max() < 1e-10
    np.testing.assert_allclose(policy_evaluation(mdp, pi.policy), vi.values, atol=1e-12)
    assert np.all(np.diff(pi.start_values) > -1e-12)  # policy improvement: never worse
    assert pi.start_values[0] == pytest.approx(policy_evaluation(mdp, myopic_policy(mdp))[0])
    assert pi.start_values[-1] > pi.start_values[0] + 0.05  # myopic play is not optimal here


def test_policy_iteration_equals_brute_force_on_a_tiny_instance() -> None:
    config = EnvConfig(n_items=2, session_length=4, leave_rate=0.8, item_quality=(0.0, 0.8))
    tiny = LeaveMDP.from_config(config, (0.7, 0.3))
    assert tiny.end == 10  # 2^10 deterministic policies
    result = policy_iteration(tiny)
    assert result.start_values[-1] == pytest.approx(brute_force(tiny), abs=1e-12)
    assert len(result.policies) > 1  # myopic play was improved on


@pytest.mark.parametrize("gamma", [1.0, 0.7])
def test_stopping_rule_guarantees_the_tolerance(mdp: LeaveMDP, gamma: float) -> None:
    exact = policy_iteration(mdp, gamma).values[-1]
    for tol in (1e-2, 1e-4, 1e-8):
        solution = value_iteration(mdp, gamma, tol=tol)
        assert np.abs(solution.values - exact).max() <= tol
        assert solution.bound <= tol
        beta = mdp.modulus(gamma)
        assert all(later <= beta * earlier + 1e-15 for earlier, later in zip(solution.deltas, solution.deltas[1:]))
    # One backup of V* gives V* back (the Bellman optimality equation).
    np.testing.assert_allclose(q_from_values(mdp, exact, gamma).max(axis=1), exact, atol=1e-12)


def test_monte_carlo_and_td0_converge_to_the_exact_value(mdp: LeaveMDP) -> None:
    policy = myopic_policy(mdp)
    exact = policy_evaluation(mdp, policy)
    mc = mc_evaluate(mdp, policy, 20_000, eval_every=1_000, seed=1)
    td = td0_evaluate(mdp, policy, 20_000, eval_every=1_000, seed=1)
    assert mc.values[0] == pytest.approx(exact[0], abs=0.01)
    assert td.values[0] == pytest.approx(exact[0], abs=0.01)
    visited = mc.visits > 1_000
    assert np.abs(mc.values - exact)[visited].max() < 0.03
    assert list(mc.curve["episode"]) == list(range(1_000, 20_001, 1_000))


def test_sarsa_and_q_learning_learn_from_a_poor_start(mdp: LeaveMDP) -> None:
    optimum = value_iteration(mdp).value
    for learner in (sarsa, q_learning):
        result = learner(mdp, 6_000, epsilon=0.3, initial_scale=0.5, eval_every=100, seed=3)
        curve = result.curve
        assert curve["episode"].iloc[0] == 0 and curve["episode"].iloc[-1] == 6_000
        assert curve["greedy_value"].iloc[-10:].mean() > optimum - 0.02
        assert curve["greedy_value"].max() <= optimum + 1e-12
        assert curve["optimal"].iloc[-10:].any()
    # Same seed, same run.
    again = q_learning(mdp, 200, seed=5).q_values
    np.testing.assert_array_equal(again, q_learning(mdp, 200, seed=5).q_values)


def test_epsilon_greedy_is_a_distribution() -> None:
    probabilities = epsilon_greedy(np.array([[0.0, 1.0, 0.5]]), 0.3)
    np.testing.assert_allclose(probabilities, [[0.1, 0.8, 0.1]])


def test_bad_input_names_the_parameter(mdp: LeaveMDP) -> None:
    with pytest.raises(ValueError, match="preferences"):
        LeaveMDP.from_config(CONFIG, (0.5, 0.5))
    with pytest.raises(ValueError, match="config"):
        LeaveMDP.from_config("leave", PREFERENCES)
    with pytest.raises(ValueError, match="max_states"):
        LeaveMDP.from_config(CONFIG, PREFERENCES, max_states=5)
    with pytest.raises(ValueError, match="tol"):
        value_iteration(mdp, tol=0.0)
    with pytest.raises(ValueError, match="gamma"):
        value_iteration(mdp, gamma=1.5)
    with pytest.raises(ValueError, match="policy"):
        policy_evaluation(mdp, np.array([5] * mdp.n_states))
    with pytest.raises(ValueError, match="initial"):
        policy_iteration(mdp, initial=np.full(mdp.n_states, 0.5))
    with pytest.raises(ValueError, match="n_episodes"):
        td0_evaluate(mdp, myopic_policy(mdp), 0)
    with pytest.raises(ValueError, match="epsilon"):
        sarsa(mdp, 10, epsilon=2.0)
    with pytest.raises(ValueError, match="counts"):
        mdp.state_index([4, 0, 0])


def test_the_mdp_module_serves_both_mdps(mdp: LeaveMDP) -> None:
    from recbook import mdp as public

    assert public.value_iteration(mdp, tol=1e-12).value == pytest.approx(value_iteration(mdp).value)
    assert public.policy_evaluation(mdp, myopic_policy(mdp))[0] == pytest.approx(
        policy_iteration(mdp).start_values[0])
    assert callable(public.sarsa) and callable(public.td0_evaluate) and callable(public.policy_iteration)


def test_the_mdp_modules_q_learning_runs_on_the_leave_mdp(mdp: LeaveMDP) -> None:
    """``recbook.mdp.q_learning`` next to ``recbook.mdp.sarsa``: given the leave MDP it is the sampled Q-learning."""
    from recbook import mdp as public

    ours = public.q_learning(mdp, 300, epsilon=0.3, initial_scale=0.5, eval_every=50, seed=4)
    theirs = q_learning(mdp, 300, epsilon=0.3, initial_scale=0.5, eval_every=50, seed=4)
    np.testing.assert_array_equal(ours.q_values, theirs.q_values)
    pd.testing.assert_frame_equal(ours.curve, theirs.curve)
    with pytest.raises(ValueError, match="epsilon"):
        public.q_learning(CONFIG.replace(leave_rate=0.0, item_quality=None), 10, epsilon=0.3)
