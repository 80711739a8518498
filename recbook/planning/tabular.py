"""Users who may leave, with known preferences, as a small *stochastic* MDP: value iteration with a stopping rule,
policy evaluation and policy iteration.

The setting of :mod:`recbook.planning.leave` (``leave_rate > 0``) for one user whose preferences ``p`` are known:

* **states**: the count vectors ``c`` (how many times each item was shown) with ``sum(c) < T``, plus one absorbing
  **end** state (the user left, or the ``T``-th recommendation was made). ``states[0]`` is the empty vector.
* **actions**: the ``n`` items.
* **reward** of recommending ``a`` in ``c``: ``r(c, a) = p[a] m(c[a] + 1)`` (the environment's expected feedback,
  paid before the user decides to stay).
* **transition**: after the recommendation the user leaves with probability ``l[a] = leave_rate (1 - quality[a])``
  (:meth:`recbook.config.EnvConfig.leave_probability`) and the session ends; otherwise it moves to ``c + e_a``, or
  ends if that was the ``T``-th recommendation.

Exactly :class:`recbook.env.RecommendationEnv`'s semantics: a policy's value here is its expected return there
(``tests/test_planning_tabular.py`` checks it by Monte Carlo and against :func:`recbook.planning.plan`).

Unlike the counts MDP the step is not needed in the state, and the algorithms are the general ones: value
iteration sweeps until the sup-norm change says it is close enough. The Bellman operator is a contraction with
modulus ``beta = gamma * max_a (1 - l[a])`` on the non-end states (the end state's value is pinned at 0): the user
may leave after every step, which discounts the future like ``gamma`` does. If ``||V_{k+1} - V_k|| <= eps`` then
``||V_{k+1} - V*|| <= beta / (1 - beta) * eps``, the stopping rule of :func:`value_iteration`.

>>> from recbook import EnvConfig
>>> config = EnvConfig(n_items=2, session_length=3, leave_rate=0.5, item_quality=(0.0, 1.0))
>>> mdp = LeaveMDP.from_config(config, preferences=(0.7, 0.3))
>>> mdp.n_states, round(float(value_iteration(mdp).values[0]), 4)
(7, 1.175)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recbook._checks import check_int, check_probability, check_real
from recbook.config import EnvConfig
from recbook.planning.marginals import count_vectors
from recbook.users import validate_preferences

__all__ = [
    "TIE_TOLERANCE",
    "LeaveMDP",
    "PolicyIterationResult",
    "TabularSolution",
    "greedy_actions",
    "myopic_policy",
    "policy_evaluation",
    "policy_iteration",
    "q_from_values",
    "value_iteration",
]

#: Q-values closer than this to the best one count as ties (broken towards the lowest item index).
TIE_TOLERANCE = 1e-12


def greedy_actions(q: NDArray[np.float64], tolerance: float = TIE_TOLERANCE) -> NDArray[np.int64]:
    """Row-wise argmax of ``q`` (shape ``(S, n)``), ties within ``tolerance`` going to the lowest index.

    The tolerance matters: mathematically equal Q-values computed along different paths differ in the last bit.
    """
    best = q.max(axis=1, keepdims=True)
    return np.argmax(q >= best - tolerance, axis=1).astype(np.int64)


@dataclass(frozen=True)
class LeaveMDP:
    """The leave MDP of one user with known ``preferences`` (build it with :meth:`from_config`).

    Attributes:
        config: the environment (``session_length``, decay, ``leave_rate``, item qualities).
        preferences: the user's ``p``, shape ``(n,)``.
        states: count vectors of the decision states, int ``(S, n)``, by number of recommendations then
            lexicographically; the end state is index ``S`` (``n_states = S + 1``).
        rewards: ``rewards[s, a]``, shape ``(S + 1, n)``; the end state's row is 0.
        next_state: ``next_state[s, a]``, the state reached if the user stays (``S`` after the ``T``-th step),
            shape ``(S + 1, n)``.
        stay: ``1 - l[a]``, the probability of staying after a recommendation of ``a``, shape ``(n,)``.
    """

    config: EnvConfig
    preferences: NDArray[np.float64]
    states: NDArray[np.int64]
    rewards: NDArray[np.float64]
    next_state: NDArray[np.int64]
    stay: NDArray[np.float64]
    _index: dict[tuple[int, ...], int] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_config(cls, config: EnvConfig, preferences: object, max_states: int = 20_000) -> LeaveMDP:
        """Enumerate the MDP; ``ValueError`` if it has more than ``max_states`` decision states."""
        if not isinstance(config, EnvConfig):
            raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
        n, horizon = config.n_items, config.session_length
        p = validate_preferences(preferences, n)
        size = math.comb(horizon - 1 + n, n)
        if size > check_int(max_states, "max_states", low=1):
            raise ValueError(f"config: n_items={n}, session_length={horizon} give {size:,} states, more than "
                             f"max_states={max_states:,}; use a smaller instance")
        states = np.concatenate([count_vectors(n, t) for t in range(horizon)]).astype(np.int64)
        index = {tuple(map(int, row)): i for i, row in enumerate(states)}
        end = len(states)
        rewards = np.zeros((end + 1, n))
        rewards[:end] = p * config.decay_model.multiplier(states + 1)
        next_state = np.full((end + 1, n), end, dtype=np.int64)
        for i, row in enumerate(states):
            for a in range(n):
                row[a] += 1
                next_state[i, a] = index.get(tuple(map(int, row)), end)
                row[a] -= 1
        stay = 1.0 - config.leave_probability(np.arange(n))
        return cls(config, p, states, rewards, next_state, stay, index)

    @property
    def n_items(self) -> int:
        return self.config.n_items

    @property
    def n_states(self) -> int:
        """Decision states plus the end state."""
        return len(self.states) + 1

    @property
    def end(self) -> int:
        """Index of the absorbing end state."""
        return len(self.states)

    @property
    def transitions(self) -> NDArray[np.float64]:
        """``P[s, a, s']``, shape ``(S + 1, n, S + 1)``: stay with ``1 - l[a]``, else the end state (absorbing)."""
        size, n = self.n_states, self.n_items
        transitions = np.zeros((size, n, size))
        rows, actions = np.meshgrid(np.arange(size), np.arange(n), indexing="ij")
        stay = np.where(self.next_state == self.end, 1.0, np.broadcast_to(self.stay, (size, n)))
        transitions[rows, actions, self.next_state] += stay
        transitions[rows, actions, self.end] += 1.0 - stay
        return transitions

    def modulus(self, gamma: float = 1.0) -> float:
        """The contraction modulus ``gamma * max_a (1 - l[a])`` of the Bellman operator on the decision states."""
        return check_probability(gamma, "gamma") * float(self.stay.max())

    def state_index(self, counts: Any) -> int:
        """Index of the decision state with count vector ``counts`` (shape ``(n,)``, summing to less than ``T``)."""
        key = tuple(int(round(float(c))) for c in np.asarray(counts).reshape(-1))
        if key not in self._index:
            raise ValueError(f"counts must be {self.n_items} non-negative counts summing to less than "
                             f"{self.config.session_length}, got {key}")
        return self._index[key]


def q_from_values(mdp: LeaveMDP, values: NDArray[np.float64], gamma: float = 1.0) -> NDArray[np.float64]:
    """One Bellman backup: ``q[s, a] = r(s, a) + gamma (1 - l[a]) V(next(s, a))``, shape ``(S + 1, n)``.

    The end state has value 0, so the ``l[a]`` branch adds nothing; ``values[end]`` is ignored (taken as 0).
    """
    pinned = np.asarray(values, dtype=np.float64).copy()
    pinned[mdp.end] = 0.0
    q = mdp.rewards + check_probability(gamma, "gamma") * mdp.stay * pinned[mdp.next_state]
    q[mdp.end] = 0.0
    return q


@dataclass(frozen=True)
class TabularSolution:
    """What :func:`value_iteration` returns.

    Attributes:
        values: ``V`` of every state, shape ``(S + 1,)`` (``values[0]`` is the start, ``values[end]`` is 0).
        q_values: the backup of ``values``, shape ``(S + 1, n)``.
        policy: a greedy action of each state (lowest index among ties), shape ``(S + 1,)``.
        deltas: the sup-norm change ``||V_k - V_{k-1}||`` of each sweep, the stopping rule's input.
        bound: the guaranteed error ``beta / (1 - beta) * deltas[-1]`` on ``values`` (0 if the last change was 0).
    """

    values: NDArray[np.float64]
    q_values: NDArray[np.float64]
    policy: NDArray[np.int64]
    deltas: tuple[float, ...]
    bound: float

    @property
    def value(self) -> float:
        """The value of the start state (nothing shown yet), in engagements per session."""
        return float(self.values[0])


def value_iteration(
    mdp: LeaveMDP, gamma: float = 1.0, *, tol: float = 1e-10, max_iterations: int = 10_000
) -> TabularSolution:
    """Iterate ``V <- max_a q(V)`` from ``V = 0`` until the contraction bound guarantees ``||V - V*|| <= tol``.

    With ``beta = gamma * max_a (1 - l[a]) < 1`` it stops after the first sweep whose change ``eps`` satisfies
    ``beta / (1 - beta) * eps <= tol``. With ``beta = 1`` (an item nobody leaves after, and ``gamma = 1``) there is
    no contraction bound, but every step moves to more recommendations, so the sweeps are exact after at most
    ``T + 1`` of them; it then stops when a sweep changes nothing.

    Args:
        mdp: the enumerated MDP.
        gamma: discount factor in ``[0, 1]``.
        tol: the error guaranteed on the returned values, ``> 0``.
        max_iterations: give up (``RuntimeError``) after this many sweeps.
    """
    beta = mdp.modulus(gamma)
    check_real(tol, "tol", low=0.0, low_open=True)
    check_int(max_iterations, "max_iterations", low=1)
    values = np.zeros(mdp.n_states)
    deltas: list[float] = []
    for _ in range(max_iterations):
        new = q_from_values(mdp, values, gamma).max(axis=1)
        deltas.append(float(np.abs(new - values).max()))
        values = new
        bound = beta / (1.0 - beta) * deltas[-1] if beta < 1 else (0.0 if deltas[-1] == 0 else math.inf)
        if bound <= tol:
            q = q_from_values(mdp, values, gamma)
            return TabularSolution(values, q, greedy_actions(q), tuple(deltas), bound)
    raise RuntimeError(f"value iteration did not reach tol={tol} in max_iterations={max_iterations} sweeps")


def _policy_matrix(mdp: LeaveMDP, policy: object) -> NDArray[np.float64]:
    """``pi[s, a]`` of shape ``(S + 1, n)`` from actions ``(S,)`` / ``(S + 1,)`` or probabilities ``(S[+1], n)``."""
    table = np.asarray(policy)
    n, size = mdp.n_items, mdp.n_states
    if table.ndim == 1 and len(table) in (size - 1, size) and np.issubdtype(table.dtype, np.integer):
        if np.any(table < 0) or np.any(table >= n):
            raise ValueError(f"policy: actions must be in [0, {n})")
        matrix = np.eye(n)[table]
    elif table.ndim == 2 and table.shape[0] in (size - 1, size) and table.shape[1] == n:
        matrix = np.asarray(table, dtype=np.float64)
        if np.any(matrix < 0) or not np.allclose(matrix.sum(axis=1), 1.0):
            raise ValueError("policy: probability rows must be non-negative and sum to 1")
    else:
        raise ValueError(f"policy must be integer actions of shape ({size - 1},) or ({size},), or probabilities "
                         f"of shape ({size - 1}, {n}); got shape {table.shape}")
    if len(matrix) == size - 1:
        matrix = np.vstack([matrix, np.eye(n)[:1]])
    return matrix


def policy_evaluation(mdp: LeaveMDP, policy: object, gamma: float = 1.0) -> NDArray[np.float64]:
    """The exact value ``V^pi`` of every state, shape ``(S + 1,)`` (the end state's value is 0).

    Sweeps the Bellman expectation equation ``V(s) = sum_a pi(a | s) [r(s, a) + gamma (1 - l[a]) V(next(s, a))]``
    from ``V = 0``. Every step adds a recommendation, so after ``k`` sweeps the states with at most ``k`` steps left
    are exact: ``T`` sweeps solve the linear system ``(I - gamma P_pi) V = r_pi`` exactly, at a fraction of a
    dense solver's cost.

    Args:
        mdp: the enumerated MDP.
        policy: integer actions ``(S,)`` or ``(S + 1,)``, or action probabilities ``(S, n)`` or ``(S + 1, n)``.
        gamma: discount factor in ``[0, 1]``.
    """
    gamma = check_probability(gamma, "gamma")
    pi = _policy_matrix(mdp, policy)
    values = np.zeros(mdp.n_states)
    for _ in range(mdp.config.session_length):
        values = (pi * q_from_values(mdp, values, gamma)).sum(axis=1)
    return values


def myopic_policy(mdp: LeaveMDP) -> NDArray[np.int64]:
    """The largest immediate reward ``p[a] m(c[a] + 1)`` in every state (the myopic oracle), shape ``(S + 1,)``."""
    return greedy_actions(mdp.rewards)


@dataclass(frozen=True)
class PolicyIterationResult:
    """What :func:`policy_iteration` returns.

    Attributes:
        policies: the policy of each iteration, ``policies[0]`` the starting one, the last one optimal.
        values: ``V^pi`` of each of them, shape ``(S + 1,)`` each.
    """

    policies: tuple[NDArray[np.int64], ...]
    values: tuple[NDArray[np.float64], ...]

    @property
    def policy(self) -> NDArray[np.int64]:
        return self.policies[-1]

    @property
    def start_values(self) -> list[float]:
        """The start state's value of each iteration (non-decreasing, by the policy improvement theorem)."""
        return [float(v[0]) for v in self.values]


def policy_iteration(
    mdp: LeaveMDP, gamma: float = 1.0, initial: object = None, max_iterations: int = 1_000
) -> PolicyIterationResult:
    """Evaluate, improve (greedy on ``q^pi``), repeat until the policy is stable.

    The improvement keeps the current action wherever it is among the greedy ones (within
    :data:`recbook.planning.tabular.TIE_TOLERANCE`), so the loop ends as soon as no state can improve; there are
    finitely many deterministic policies and, by the policy improvement theorem, none repeats.

    Args:
        mdp: the enumerated MDP.
        gamma: discount factor in ``[0, 1]``.
        initial: the starting policy, integer actions ``(S,)`` or ``(S + 1,)`` (default:
            :func:`recbook.planning.tabular.myopic_policy`).
        max_iterations: give up (``RuntimeError``) after this many improvements.
    """
    check_int(max_iterations, "max_iterations", low=1)
    if initial is not None and not np.issubdtype(np.asarray(initial).dtype, np.integer):
        raise ValueError("initial must be integer actions, one per state")
    policy = myopic_policy(mdp) if initial is None else np.argmax(_policy_matrix(mdp, initial), axis=1)
    policies, values = [policy], [policy_evaluation(mdp, policy, gamma)]
    rows = np.arange(mdp.n_states)
    for _ in range(max_iterations):
        q = q_from_values(mdp, values[-1], gamma)
        keep = q[rows, policy] >= q.max(axis=1) - TIE_TOLERANCE
        improved = np.where(keep, policy, greedy_actions(q))
        if np.array_equal(improved, policy):
            return PolicyIterationResult(tuple(policies), tuple(values))
        policy = improved
        policies.append(policy)
        values.append(policy_evaluation(mdp, policy, gamma))
    raise RuntimeError(f"policy iteration did not stabilise in max_iterations={max_iterations}")
