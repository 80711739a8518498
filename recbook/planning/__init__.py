"""Planning with the preferences known (or believed): the marginal-reward table, the optimum, the planner for users
who leave, the Bayes bounds and the counts MDP.

Modules, by role:

* :mod:`recbook.planning.marginals` — the table of next marginals ``p[a] m(c[a] + j)``, the sum of its largest
  entries (the greedy plan's value), and the count vectors of a session (stars and bars).
* :mod:`recbook.planning.optimum` — :func:`oracle_return` (the optimal return) and :func:`brute_force_optimum`
  (the same, checked by enumeration).
* :mod:`recbook.planning.leave` — the full-information planner for users who may leave (:func:`plan`).
* :mod:`recbook.planning.bounds` — bounds on the Bayes-optimal value and
  :class:`~recbook.planning.bounds.LookaheadPolicy` (import it from there: it is a policy, and this package is
  imported by :mod:`recbook.policies`).
* :mod:`recbook.planning.mdp` — the counts MDP, value iteration and tabular Q-learning (imports pandas; import it
  from there).
* :mod:`recbook.planning.tabular` — one user who may leave, with known preferences, as a small stochastic MDP:
  value iteration with a stopping rule, policy evaluation, policy iteration.
* :mod:`recbook.planning.sampled` — the same MDP learned from sampled sessions: Monte Carlo and TD(0) evaluation,
  SARSA and Q-learning (imports pandas).

``recbook.planning.plan`` and the other names of the former ``recbook/planning.py`` module stay importable here.
"""

from __future__ import annotations

from recbook.planning.leave import START_MU, ordered_sequence, plan, plan_return, plan_value, sequence_return
from recbook.planning.marginals import count_vectors, cumulative_top, next_marginals, top_sum
from recbook.planning.optimum import brute_force_optimum, brute_force_plan, oracle_return

__all__ = [
    "START_MU",
    "brute_force_optimum",
    "brute_force_plan",
    "count_vectors",
    "cumulative_top",
    "next_marginals",
    "oracle_return",
    "ordered_sequence",
    "plan",
    "plan_return",
    "plan_value",
    "sequence_return",
    "top_sum",
]
