"""Learning the leave MDP from sampled sessions: Monte Carlo and TD(0) evaluation of a fixed policy, and SARSA
against Q-learning.

The learners see only sampled transitions ``(s, a, r, s')`` of sessions with the MDP's user, drawn with the
semantics of :class:`recbook.env.RecommendationEnv` (reward, then the user leaves with probability ``l[a]``); they
never read the transition probabilities. Every function takes a ``seed``; exits (and clicks under
``feedback="click"``) come from the TRAIN stream's ``"exits"`` purpose, the policy's coins and the initial table
from ``"policy"`` and ``"training"``.

Step sizes: the ``k``-th update of a state (or state-action pair) uses ``learning_rate / k**learning_rate_decay``;
``learning_rate_decay = 1`` with ``learning_rate = 1`` is the sample mean, values in ``(0.5, 1]`` satisfy the
Robbins–Monro conditions under which TD(0), SARSA and Q-learning converge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recbook import seeds
from recbook._checks import check_int, check_probability, check_real
from recbook.planning.tabular import (
    LeaveMDP,
    _policy_matrix,
    greedy_actions,
    policy_evaluation,
    value_iteration,
)

__all__ = ["ControlResult", "EvaluationResult", "epsilon_greedy", "mc_evaluate", "q_learning", "sarsa",
           "td0_evaluate"]


class _Sessions:
    """Sessions of the MDP's user drawn step by step: the environment's rewards and exits, without its overhead.

    A step pays ``r(s, a)`` (a 0/1 click with that probability under ``feedback="click"``) and then the user leaves
    with probability ``l[a]``: the semantics of :class:`recbook.env.RecommendationEnv`, which
    ``tests/test_planning_tabular.py`` checks by Monte Carlo, at a few microseconds a step instead of tens.
    """

    def __init__(self, mdp: LeaveMDP, seed: int) -> None:
        self.mdp = mdp
        self.clicks = mdp.config.feedback == "click"
        self.exits = seeds.generator(seed, seeds.TRAIN, "exits")

    def step(self, state: int, action: int) -> tuple[float, int]:
        """``(reward, next state)``; the next state is ``mdp.end`` if the session is over."""
        mdp = self.mdp
        reward = float(mdp.rewards[state, action])
        if self.clicks:
            reward = float(self.exits.random() < reward)
        following = int(mdp.next_state[state, action])
        if following != mdp.end and self.exits.random() >= mdp.stay[action]:
            following = mdp.end
        return reward, following


def _check_common(n_episodes: int, gamma: float, learning_rate: float, learning_rate_decay: float,
                  eval_every: int, seed: int) -> tuple[float, int]:
    check_int(n_episodes, "n_episodes", low=1)
    check_int(eval_every, "eval_every", low=1)
    check_real(learning_rate, "learning_rate", low=0.0, low_open=True)
    check_probability(learning_rate_decay, "learning_rate_decay")
    return check_probability(gamma, "gamma"), seeds.validate_seed(seed)


def epsilon_greedy(q: NDArray[np.float64], epsilon: float) -> NDArray[np.float64]:
    """The epsilon-greedy policy of a table ``q`` ``(S, n)`` as probabilities ``(S, n)`` (greedy ties: lowest index)."""
    epsilon = check_probability(epsilon, "epsilon")
    n = q.shape[1]
    return np.full(q.shape, epsilon / n) + (1.0 - epsilon) * np.eye(n)[greedy_actions(q)]


@dataclass(frozen=True)
class EvaluationResult:
    """What :func:`mc_evaluate` and :func:`td0_evaluate` return.

    Attributes:
        values: the estimate of ``V^pi`` of every state, shape ``(S + 1,)`` (0 where never visited).
        visits: how many times each state was visited, shape ``(S + 1,)``.
        curve: ``episode`` and ``start_value`` (the estimate of ``V^pi(s_0)``) every ``eval_every`` episodes.
    """

    values: NDArray[np.float64]
    visits: NDArray[np.int64]
    curve: pd.DataFrame


def _evaluate(mdp: LeaveMDP, policy: object, n_episodes: int, method: str, gamma: float, learning_rate: float,
              learning_rate_decay: float, eval_every: int, seed: int) -> EvaluationResult:
    gamma, seed = _check_common(n_episodes, gamma, learning_rate, learning_rate_decay, eval_every, seed)
    pi = _policy_matrix(mdp, policy)
    sessions, coins = _Sessions(mdp, seed), seeds.generator(seed, seeds.TRAIN, "policy")
    cumulative = np.cumsum(pi, axis=1)
    values, visits = np.zeros(mdp.n_states), np.zeros(mdp.n_states, dtype=np.int64)
    rows = []
    for episode in range(1, n_episodes + 1):
        state, path = 0, []
        while state != mdp.end:
            action = min(int(np.searchsorted(cumulative[state], coins.random(), side="right")), mdp.n_items - 1)
            reward, following = sessions.step(state, action)
            if method == "td0":  # bootstrap: move towards r + gamma V(s') now
                visits[state] += 1
                step = learning_rate / visits[state] ** learning_rate_decay
                values[state] += step * (reward + gamma * values[following] - values[state])
            path.append((state, reward))
            state = following
        if method == "mc":  # wait for the return G_t, then move each visited state towards it
            ret = 0.0
            for state, reward in reversed(path):
                ret = reward + gamma * ret
                visits[state] += 1
                values[state] += learning_rate / visits[state] ** learning_rate_decay * (ret - values[state])
        if episode % eval_every == 0 or episode == n_episodes:
            rows.append({"episode": episode, "start_value": float(values[0])})
    return EvaluationResult(values, visits, pd.DataFrame(rows))


def mc_evaluate(mdp: LeaveMDP, policy: object, n_episodes: int, *, gamma: float = 1.0, learning_rate: float = 1.0,
                learning_rate_decay: float = 1.0, eval_every: int = 10, seed: int = 0) -> EvaluationResult:
    """Monte Carlo evaluation: move ``V(s)`` towards the sampled return that followed each visit of ``s``.

    The defaults (``learning_rate = learning_rate_decay = 1``) make ``V(s)`` the sample mean of those returns, an
    unbiased estimate of ``V^pi(s)``. ``policy`` as in :func:`recbook.planning.tabular.policy_evaluation`.
    """
    return _evaluate(mdp, policy, n_episodes, "mc", gamma, learning_rate, learning_rate_decay, eval_every, seed)


def td0_evaluate(mdp: LeaveMDP, policy: object, n_episodes: int, *, gamma: float = 1.0, learning_rate: float = 1.0,
                 learning_rate_decay: float = 0.7, eval_every: int = 10, seed: int = 0) -> EvaluationResult:
    """TD(0) evaluation: after each step move ``V(s)`` towards ``r + gamma V(s')`` (``V(end) = 0``).

    The target uses the current estimate of the next state (bootstrapping) instead of the whole return, so it is
    available at once and varies less, but it is biased while ``V(s')`` is wrong.
    """
    return _evaluate(mdp, policy, n_episodes, "td0", gamma, learning_rate, learning_rate_decay, eval_every, seed)


@dataclass(frozen=True)
class ControlResult:
    """What :func:`sarsa` and :func:`q_learning` return.

    Attributes:
        q_values: the learned table, shape ``(S + 1, n)`` (the end state's row stays 0).
        policy: its greedy policy, shape ``(S + 1,)``.
        curve: one row per evaluation (before learning, then every ``eval_every`` episodes): ``episode``,
            ``start_q`` (``max_a Q(s_0, a)``), ``greedy_value`` (the exact value of the greedy policy, by
            :func:`recbook.planning.tabular.policy_evaluation`) and ``optimal`` (whether it equals ``V*(s_0)``
            within ``1e-9``).
    """

    q_values: NDArray[np.float64]
    policy: NDArray[np.int64]
    curve: pd.DataFrame


def _control(mdp: LeaveMDP, n_episodes: int, rule: str, gamma: float, epsilon: float, initial_scale: float,
             learning_rate: float, learning_rate_decay: float, eval_every: int, seed: int) -> ControlResult:
    gamma, seed = _check_common(n_episodes, gamma, learning_rate, learning_rate_decay, eval_every, seed)
    epsilon = check_probability(epsilon, "epsilon")
    check_real(initial_scale, "initial_scale", low=0.0)
    optimum = value_iteration(mdp, gamma).value
    sessions, coins = _Sessions(mdp, seed), seeds.generator(seed, seeds.TRAIN, "policy")
    q = seeds.generator(seed, seeds.TRAIN, "training").uniform(0.0, initial_scale, (mdp.n_states, mdp.n_items))
    q[mdp.end] = 0.0
    visits = np.zeros(q.shape, dtype=np.int64)

    def act(state: int) -> int:
        if coins.random() < epsilon:
            return int(coins.integers(mdp.n_items))
        return int(np.argmax(q[state]))  # the random initial table makes exact ties unlikely

    def record(episode: int) -> dict[str, float]:
        value = float(policy_evaluation(mdp, greedy_actions(q), gamma)[0])
        return {"episode": episode, "start_q": float(q[0].max()), "greedy_value": value,
                "optimal": value >= optimum - 1e-9}

    rows = [record(0)]
    for episode in range(1, n_episodes + 1):
        state = 0
        action = act(state)
        while state != mdp.end:
            reward, following = sessions.step(state, action)
            following_action = act(following) if following != mdp.end else 0
            if rule == "sarsa":  # on-policy: the action the behaviour policy will take
                future = q[following, following_action]
            else:  # off-policy: the greedy action, whatever is taken
                future = q[following].max()
            visits[state, action] += 1
            step = learning_rate / visits[state, action] ** learning_rate_decay
            q[state, action] += step * (reward + gamma * future - q[state, action])
            state, action = following, following_action
        if episode % eval_every == 0 or episode == n_episodes:
            rows.append(record(episode))
    return ControlResult(q, greedy_actions(q), pd.DataFrame(rows))


def sarsa(mdp: LeaveMDP, n_episodes: int, *, gamma: float = 1.0, epsilon: float = 0.1, initial_scale: float = 1.0,
          learning_rate: float = 1.0, learning_rate_decay: float = 0.7, eval_every: int = 10,
          seed: int = 0) -> ControlResult:
    """SARSA: after ``(s, a, r, s', a')`` move ``Q(s, a)`` towards ``r + gamma Q(s', a')``, acting epsilon-greedily.

    On-policy: ``a'`` is the action the epsilon-greedy behaviour will take, so with a fixed ``epsilon`` the table
    estimates the value of the epsilon-greedy policy, not of the greedy one.

    Args:
        mdp: the MDP whose user the sessions use.
        n_episodes: sessions to learn from.
        gamma: discount factor in ``[0, 1]``.
        epsilon: exploration probability, fixed.
        initial_scale: the initial table is ``U(0, initial_scale)`` per entry (seeded): an arbitrary, poor start.
        learning_rate, learning_rate_decay: step sizes (module docstring).
        eval_every: episodes between exact evaluations of the greedy policy.
        seed: the run's seed.
    """
    return _control(mdp, n_episodes, "sarsa", gamma, epsilon, initial_scale, learning_rate, learning_rate_decay,
                    eval_every, seed)


def q_learning(mdp: LeaveMDP, n_episodes: int, *, gamma: float = 1.0, epsilon: float = 0.1,
               initial_scale: float = 1.0, learning_rate: float = 1.0, learning_rate_decay: float = 0.7,
               eval_every: int = 10, seed: int = 0) -> ControlResult:
    """Q-learning on the leave MDP: move ``Q(s, a)`` towards ``r + gamma max_a' Q(s', a')``.

    Off-policy: the target is the greedy policy's, whatever the epsilon-greedy behaviour does next, so the table
    estimates ``q*``. Arguments as :func:`sarsa`.
    """
    return _control(mdp, n_episodes, "q", gamma, epsilon, initial_scale, learning_rate, learning_rate_decay,
                    eval_every, seed)
