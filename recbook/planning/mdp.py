"""The counts setting as a finite Markov decision process: value iteration, policy evaluation, Q-learning.

With ``observation="counts"`` the agent sees only how many times each item has been recommended. Every user gives
the same observations, so a counts-only policy cannot adapt to the user, and averaging over the Dirichlet prior
turns the problem into a small, deterministic MDP:

* **states** at step ``t`` (``t = 0 .. T``): the count vectors ``c`` with ``n`` non-negative entries summing to
  ``t`` — :math:`\\binom{t + n - 1}{n - 1}` of them, :math:`\\binom{T + n}{n}` over the whole session;
* **actions**: the ``n`` items;
* **transition**: recommending ``a`` adds one to ``c[a]`` (deterministic);
* **reward**: the expected engagement of that recommendation over the prior,
  ``E[p_a] · m(c[a] + 1) = alpha[a] / alpha0 · m(c[a] + 1)`` with ``m`` the decay multiplier
  (:meth:`recbook.response.DecayModel.multiplier`). For a counts-only policy this is exact: its return on a user
  is linear in ``p``, so its expected return is the return on the prior mean.

The horizon is finite (``T`` steps), so value iteration is backward induction: ``T`` sweeps, one per step, from
the last step to the first. :func:`q_learning` instead learns from transitions *sampled* by
:class:`recbook.env.RecommendationEnv` — real users drawn from the prior, and clicks under ``feedback="click"`` —
and uses this module's enumeration only to index its table and to score its greedy policy.

>>> from recbook import EnvConfig
>>> mdp = CountsMDP.from_config(EnvConfig(n_items=3, session_length=4))
>>> mdp.n_states, round(value_iteration(mdp).value, 4)
(35, 1.1667)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recbook import seeds
from recbook._checks import check_int, check_probability, check_real
from recbook.config import EnvConfig
from recbook.env import RecommendationEnv
from recbook.planning import tabular
from recbook.planning.sampled import mc_evaluate, sarsa, td0_evaluate
from recbook.planning.sampled import ControlResult
from recbook.planning.sampled import q_learning as sampled_q_learning
from recbook.planning.tabular import TIE_TOLERANCE, LeaveMDP, TabularSolution, greedy_actions, policy_iteration
from recbook.posterior import DirichletPosterior

__all__ = [
    "MAX_STATES",
    "CountsMDP",
    "LeaveMDP",
    "MDPSolution",
    "QLearningResult",
    "closed_form_round_robin",
    "greedy_actions",
    "mc_evaluate",
    "policy_evaluation",
    "policy_iteration",
    "q_learning",
    "sarsa",
    "td0_evaluate",
    "value_iteration",
]

#: Default cap on the number of enumerated states (all steps together).
MAX_STATES = 200_000

def _check_gamma(gamma: object) -> float:
    """The discount factor, a probability (a named step so that the chapter can show where the algorithm starts)."""
    return check_probability(gamma, "gamma")


@dataclass(frozen=True)
class CountsMDP:
    """The counts MDP of one :class:`~recbook.config.EnvConfig` (build it with :meth:`from_config`).

    Attributes:
        config: the environment (its ``observation`` and ``feedback`` do not change the MDP).
        states: ``states[t]`` is an int array of shape ``(S_t, n)``, the count vectors summing to ``t``, sorted
            lexicographically; ``states[0]`` is the single empty vector, ``t = 0 .. T``.
        rewards: ``rewards[t][i, a]`` is the expected reward of recommending ``a`` in state ``states[t][i]``
            (engagements, ``t = 0 .. T-1``), shape ``(S_t, n)``.
        next_state: ``next_state[t][i, a]`` is the row of ``states[t + 1]`` reached from ``states[t][i]`` by
            recommending ``a``, shape ``(S_t, n)``.
    """

    config: EnvConfig
    states: tuple[NDArray[np.int64], ...]
    rewards: tuple[NDArray[np.float64], ...]
    next_state: tuple[NDArray[np.int64], ...]
    _index: list[dict[tuple[int, ...], int]] = field(default_factory=list, repr=False, compare=False)

    @staticmethod
    def count_states(n_items: int, session_length: int) -> int:
        """Number of states of all steps together, ``C(T + n, n)``."""
        return math.comb(session_length + n_items, n_items)

    @classmethod
    def from_config(cls, config: EnvConfig, max_states: int = MAX_STATES) -> CountsMDP:
        """Enumerate the MDP of ``config``; raise ``ValueError`` if it has more than ``max_states`` states."""
        if not isinstance(config, EnvConfig):
            raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
        n, total = config.n_items, config.session_length
        size = cls.count_states(n, total)
        if size > max_states:
            raise ValueError(
                f"config: the counts MDP of n_items={n}, session_length={total} has {size:,} states, more than "
                f"max_states={max_states:,}; use a smaller n_items or session_length (or raise max_states)"
            )
        mean_preference = DirichletPosterior(config.alpha_vector).prior_mean
        eye = np.eye(n, dtype=np.int64)
        states = [np.zeros((1, n), dtype=np.int64)]
        rewards, next_state = [], []
        for _ in range(total):
            current = states[-1]
            rewards.append(mean_preference * config.decay_model.multiplier(current + 1))
            children = (current[:, None, :] + eye).reshape(-1, n)
            unique, inverse = np.unique(children, axis=0, return_inverse=True)
            states.append(unique.astype(np.int64))
            next_state.append(inverse.reshape(len(current), n).astype(np.int64))
        return cls(config, tuple(states), tuple(rewards), tuple(next_state))

    @property
    def n_items(self) -> int:
        return self.config.n_items

    @property
    def horizon(self) -> int:
        """The number of decisions, ``T``."""
        return self.config.session_length

    @property
    def n_states(self) -> int:
        """Number of states over all steps ``t = 0 .. T``."""
        return sum(len(s) for s in self.states)

    def state_index(self, counts: Any) -> tuple[int, int]:
        """``(t, i)`` such that ``states[t][i]`` equals the count vector ``counts`` (shape ``(n,)``)."""
        key = tuple(int(round(float(c))) for c in np.asarray(counts).reshape(-1))
        if len(key) != self.n_items or min(key) < 0 or sum(key) > self.horizon:
            raise ValueError(
                f"counts must be {self.n_items} non-negative counts summing to <= {self.horizon}, got {key}"
            )
        t = sum(key)
        while len(self._index) <= self.horizon:
            stage = len(self._index)
            self._index.append({tuple(map(int, row)): i for i, row in enumerate(self.states[stage])})
        return t, self._index[t][key]


@dataclass(frozen=True)
class MDPSolution:
    """What value iteration returns (all tuples are indexed by the step ``t``).

    Attributes:
        values: ``values[t]``, shape ``(S_t,)``, the optimal value ``V*_t`` of each state (``t = 0 .. T``;
            ``values[T]`` is zero).
        q_values: ``q_values[t]``, shape ``(S_t, n)``, the optimal action values ``Q*_t`` (``t = 0 .. T-1``).
        policy: ``policy[t]``, shape ``(S_t,)``, a greedy action of each state (lowest index among ties).
        gamma: the discount factor used.
    """

    values: tuple[NDArray[np.float64], ...]
    q_values: tuple[NDArray[np.float64], ...]
    policy: tuple[NDArray[np.int64], ...]
    gamma: float

    @property
    def value(self) -> float:
        """The value of the start state (no item recommended yet), in engagements per session."""
        return float(self.values[0][0])


def value_iteration(
    mdp: CountsMDP | LeaveMDP, gamma: float = 1.0, *, tol: float = 1e-10
) -> MDPSolution | TabularSolution:
    """Optimal values, action values and a greedy policy by backward induction (finite-horizon value iteration).

    A :class:`~recbook.planning.tabular.LeaveMDP` goes to :func:`recbook.planning.tabular.value_iteration`, which
    sweeps until its stopping rule guarantees ``tol``; on the counts MDP one backward pass is exact (``tol`` unused).

    For ``t = T-1, ..., 0``: ``Q*_t(s, a) = r(s, a) + gamma * V*_{t+1}(s')`` and ``V*_t(s) = max_a Q*_t(s, a)``,
    with ``V*_T = 0``. One sweep per step is exact because the step is part of the state.

    Args:
        mdp: the enumerated MDP.
        gamma: discount factor in ``[0, 1]``; ``1`` (the default) is the undiscounted session return.
        tol: the guaranteed error of iterative value iteration (leave MDP only).
    """
    if isinstance(mdp, LeaveMDP):
        return tabular.value_iteration(mdp, gamma, tol=tol)
    gamma = _check_gamma(gamma)
    values: list[NDArray[np.float64]] = [np.zeros(len(mdp.states[-1]))]
    q_values: list[NDArray[np.float64]] = []
    for t in reversed(range(mdp.horizon)):
        q = mdp.rewards[t] + gamma * values[0][mdp.next_state[t]]
        q_values.insert(0, q)
        values.insert(0, q.max(axis=1))
    policy = tuple(greedy_actions(q) for q in q_values)
    return MDPSolution(tuple(values), tuple(q_values), policy, gamma)


PolicyLike = Any
"""A deterministic policy as per-step action arrays (``policy[t]`` of shape ``(S_t,)``), a stochastic one as
per-step probability arrays (``(S_t, n)``, rows summing to 1), or any object with SB3's ``predict`` that reads
the counts observation (e.g. :class:`recbook.policies.RoundRobin`)."""


def _action_probabilities(mdp: CountsMDP, policy: PolicyLike, t: int) -> NDArray[np.float64]:
    n, states = mdp.n_items, mdp.states[t]
    if callable(getattr(policy, "predict", None)):
        if getattr(policy, "observation", "counts") != "counts":
            raise ValueError(f"policy must read the counts observation, got {policy.observation!r}")
        actions, _ = policy.predict(states.astype(np.float32), deterministic=True)
        table = np.asarray(actions)
    elif isinstance(policy, Sequence) and len(policy) >= mdp.horizon:
        table = np.asarray(policy[t])
    else:
        raise ValueError("policy must be a sequence of per-step arrays (one per step) or have a predict() method")
    if table.shape == (len(states),) and np.issubdtype(table.dtype, np.integer):
        if np.any(table < 0) or np.any(table >= n):
            raise ValueError(f"policy: actions at step {t} must be in [0, {n})")
        return np.eye(n)[table]
    if table.shape == (len(states), n) and np.allclose(table.sum(axis=1), 1.0) and np.all(table >= 0):
        return table.astype(np.float64)
    raise ValueError(
        f"policy: step {t} needs integer actions of shape ({len(states)},) or probabilities of shape "
        f"({len(states)}, {n}), got shape {table.shape}"
    )


def policy_evaluation(mdp: CountsMDP | LeaveMDP, policy: PolicyLike, gamma: float = 1.0) -> Any:
    """The value ``V^pi_t`` of every state under ``policy`` (the Bellman expectation equation, solved backwards).

    A :class:`~recbook.planning.tabular.LeaveMDP` goes to :func:`recbook.planning.tabular.policy_evaluation`.

    ``V^pi_t(s) = sum_a pi(a | s) [r(s, a) + gamma V^pi_{t+1}(s')]`` with ``V^pi_T = 0``.

    Args:
        mdp: the enumerated MDP.
        policy: see ``PolicyLike``.
        gamma: discount factor in ``[0, 1]``.

    Returns:
        ``values[t]``, shape ``(S_t,)``, for ``t = 0 .. T``; ``values[0][0]`` is the expected session return.
    """
    if isinstance(mdp, LeaveMDP):
        return tabular.policy_evaluation(mdp, policy, gamma)
    gamma = _check_gamma(gamma)
    values: list[NDArray[np.float64]] = [np.zeros(len(mdp.states[-1]))]
    for t in reversed(range(mdp.horizon)):
        probabilities = _action_probabilities(mdp, policy, t)
        q = mdp.rewards[t] + gamma * values[0][mdp.next_state[t]]
        values.insert(0, (probabilities * q).sum(axis=1))
    return tuple(values)


@dataclass(frozen=True)
class QLearningResult:
    """What :func:`q_learning` returns.

    Attributes:
        mdp: the enumeration used to index the table.
        q_values: the learned table, ``q_values[t]`` of shape ``(S_t, n)``.
        policy: its greedy policy (lowest index among ties), ``policy[t]`` of shape ``(S_t,)``.
        curve: one row per episode, after a row ``episode = 0`` that evaluates the all-zero table before
            learning: ``episode`` (1-based), ``epsilon``, ``return`` (the episode's sampled
            return, engagements or clicks), and every ``eval_every`` episodes (else NaN) ``start_value``, the
            table's own estimate ``max_a Q_0(s_0, a)`` of the optimal value, and ``greedy_value``, the exact
            expected return of the table's greedy policy (by :func:`policy_evaluation`).
    """

    mdp: CountsMDP
    q_values: tuple[NDArray[np.float64], ...]
    policy: tuple[NDArray[np.int64], ...]
    curve: pd.DataFrame


def q_learning(
    config: EnvConfig | LeaveMDP,
    n_episodes: int,
    *,
    gamma: float = 1.0,
    learning_rate: float = 1.0,
    learning_rate_decay: float = 0.7,
    exploration_initial_eps: float = 1.0,
    exploration_final_eps: float = 0.05,
    exploration_fraction: float = 0.5,
    eval_every: int = 10,
    seed: int = 0,
    max_states: int = MAX_STATES,
    **leave_options: Any,
) -> QLearningResult | ControlResult:
    """Tabular Q-learning on the counts setting, from transitions sampled by :class:`recbook.env.RecommendationEnv`.

    Given a :class:`~recbook.planning.tabular.LeaveMDP` instead of a config, it runs
    :func:`recbook.planning.sampled.q_learning` on it (next to :func:`~recbook.planning.sampled.sarsa`), with
    ``gamma``, the step sizes, ``eval_every``, ``seed`` and that function's own ``epsilon`` and ``initial_scale``
    (``leave_options``); the ``exploration_*`` and ``max_states`` arguments belong to the counts setting.

    Each episode is one session with a new user drawn from the prior (``seeds.TRAIN`` stream, purpose
    ``"users"``); rewards are what the environment returns (the engagement probability under
    ``feedback="expected"``, a 0/1 click under ``"click"``, drawn from purpose ``"clicks"``). After each step the
    table moves towards the sampled target:
    ``Q_t(s, a) += lr * (r + gamma * max_a' Q_{t+1}(s', a') - Q_t(s, a))`` (the max is 0 after the last step).

    Args:
        config: the environment (``observation`` is forced to ``"counts"``).
        n_episodes: number of sessions to learn from.
        gamma: discount factor in ``[0, 1]``.
        learning_rate: step size of the first update of a state-action pair.
        learning_rate_decay: the ``k``-th update of a pair uses ``learning_rate / k**learning_rate_decay``;
            ``0`` keeps the step constant, ``1`` averages the targets (sample mean); values in ``(0.5, 1]``
            satisfy the Robbins–Monro conditions under which Q-learning converges.
        exploration_initial_eps, exploration_final_eps, exploration_fraction: epsilon-greedy exploration; epsilon
            falls linearly from the initial to the final value over the first ``exploration_fraction`` of the
            episodes (the names of Stable-Baselines3's DQN). Greedy ties are broken at random.
        eval_every: episodes between exact evaluations of the greedy policy (``curve["greedy_value"]``).
        seed: the run's seed; users, clicks and exploration come from independent TRAIN-stream generators.
        max_states: cap on the enumeration (see :meth:`CountsMDP.from_config`).
    """
    if isinstance(config, LeaveMDP):
        return sampled_q_learning(config, n_episodes, gamma=gamma, learning_rate=learning_rate, seed=seed,
                                  learning_rate_decay=learning_rate_decay, eval_every=eval_every, **leave_options)
    if leave_options:
        raise ValueError(f"q_learning on the counts setting takes no {sorted(leave_options)} (leave-MDP options)")
    gamma = _check_gamma(gamma)
    check_int(n_episodes, "n_episodes", low=1)
    check_int(eval_every, "eval_every", low=1)
    check_real(learning_rate, "learning_rate", low=0.0, low_open=True)
    check_probability(learning_rate_decay, "learning_rate_decay")
    for name, value in [
        ("exploration_initial_eps", exploration_initial_eps),
        ("exploration_final_eps", exploration_final_eps),
        ("exploration_fraction", exploration_fraction),
    ]:
        check_probability(value, name)
    seed = seeds.validate_seed(seed)
    mdp = CountsMDP.from_config(config, max_states=max_states)
    env = RecommendationEnv.from_config(config.replace(observation="counts"))
    users = seeds.generator(seed, seeds.TRAIN, "users")
    explore = seeds.generator(seed, seeds.TRAIN, "training")
    env.reset(seed=seeds.derive_seed(seed, seeds.TRAIN, "clicks"))  # seeds the environment's click generator
    n, total, alpha = mdp.n_items, mdp.horizon, config.alpha_vector
    q = [np.zeros((len(mdp.states[t]), n)) for t in range(total)]
    visits = [np.zeros((len(mdp.states[t]), n), dtype=np.int64) for t in range(total)]
    decay_episodes = max(exploration_fraction * n_episodes, 1e-12)
    zero_policy = [greedy_actions(table) for table in q]  # before learning: item 0 everywhere
    rows: list[dict[str, float]] = [{"episode": 0, "epsilon": exploration_initial_eps, "return": float("nan"),
                                     "start_value": 0.0,
                                     "greedy_value": float(policy_evaluation(mdp, zero_policy, gamma)[0][0])}]
    for episode in range(n_episodes):
        progress = min(episode / decay_episodes, 1.0)
        epsilon = exploration_initial_eps + progress * (exploration_final_eps - exploration_initial_eps)
        obs, _ = env.reset(options={"preferences": users.dirichlet(alpha)})
        t, i = mdp.state_index(obs)
        episode_return = 0.0
        for _ in range(total):
            if explore.random() < epsilon:
                action = int(explore.integers(n))
            else:
                best = np.flatnonzero(q[t][i] >= q[t][i].max() - TIE_TOLERANCE)
                action = int(explore.choice(best))
            obs, reward, terminated, _, _ = env.step(action)
            t_next, j = mdp.state_index(obs)
            target = reward + (0.0 if terminated else gamma * q[t_next][j].max())
            visits[t][i, action] += 1
            step = learning_rate / visits[t][i, action] ** learning_rate_decay
            q[t][i, action] += step * (target - q[t][i, action])
            episode_return += reward
            t, i = t_next, j
        start_value = greedy_value = float("nan")
        if (episode + 1) % eval_every == 0 or episode + 1 == n_episodes:
            greedy = [greedy_actions(table) for table in q]
            greedy_value = float(policy_evaluation(mdp, greedy, gamma)[0][0])
            start_value = float(q[0][0].max())
        rows.append({"episode": episode + 1, "epsilon": epsilon, "return": episode_return,
                     "start_value": start_value, "greedy_value": greedy_value})
    policy = tuple(greedy_actions(table) for table in q)
    return QLearningResult(mdp, tuple(q), policy, pd.DataFrame(rows))


def closed_form_round_robin(config: EnvConfig) -> float:
    """Expected return of round robin under a symmetric prior: ``(1/n) * sum_a exposure(c_a)`` with even counts.

    Each of the ``n`` items is recommended ``T // n`` or ``T // n + 1`` times (the first ``T mod n`` items once
    more); each has prior mean preference ``1/n``.
    """
    n, total = config.n_items, config.session_length
    exposure = config.decay_model.exposure_table(total)
    base, extra = divmod(total, n)
    return float((extra * exposure[base + 1] + (n - extra) * exposure[base]) / n)

