"""How well can any policy do without seeing the preferences? Bounds on the Bayes-optimal value.

Setting: expected feedback and a symmetric Dirichlet prior. A recommendation of an unrevealed item reveals its
preference exactly; a repeat reveals nothing new. Two facts make the Bayes-optimal problem small:

1. **Explore first (no loss).** A session's return depends only on how often each item was recommended
   (``sum_a p[a] exposure(c[a])``), not on the order. Since repeats carry no information, any policy can be
   rearranged to make all its first looks before any repeat, with the same count vector on every user: simulate
   the policy, postpone its repeats, perform its first looks at once (its choices depend only on what the first
   looks revealed). So a policy decides, one look at a time, whether to reveal another item or to stop; after
   stopping, the best use of the remaining steps is the largest remaining marginals ``p[a] m(k)`` of the revealed
   items (the oracle's argument, restricted to them).
2. **Reveal order is random.** Under a symmetric prior the unrevealed items are exchangeable given what has been
   revealed, so whatever a policy does, the values it reveals arrive in a uniformly random order — distributed as
   a Dirichlet draw read in index order.

:func:`reveal_order_bound` — an **upper bound** (information relaxation): a prophet who knows every preference but
must still reveal items in index order, and picks with hindsight how many to reveal. Every policy that does not see
the preferences is one of the prophet's options, so its expected return cannot exceed the bound's mean.

:class:`LookaheadPolicy` — a **lower bound**: a policy (so its value is achievable) that at each step estimates,
by Monte Carlo over the exact posterior, the value of revealing ``k = 0, 1, ..., max_reveals`` more items and then
exploiting, and reveals one more item if some ``k >= 1`` beats stopping.

The Bayes-optimal value lies between the two. With ``n_items = 2`` both are exact (one look reveals everything).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recbook._checks import check_int
from recbook.config import EnvConfig
from recbook.planning.marginals import cumulative_top, next_marginals, top_sum
from recbook.policies.base import Policy
from recbook.posterior import DirichletPosterior

__all__ = ["LookaheadPolicy", "reveal_order_bound", "exploit_value"]


def _check_setting(config: EnvConfig, what: str) -> None:
    if config.feedback != "expected":
        raise ValueError(f"config.feedback must be 'expected' for {what} (one look reveals p), got {config.feedback!r}")
    alpha = config.alpha_vector
    if not np.allclose(alpha, alpha[0]):
        raise ValueError(f"config.alpha must be symmetric (one value for every item) for {what}, got {config.alpha}")


def exploit_value(values: ArrayLike, counts: ArrayLike, steps: ArrayLike, config: EnvConfig) -> NDArray[np.float64]:
    """Best return of ``steps`` more recommendations among items of known preference.

    ``values`` and ``counts`` have shape ``(K, n)`` (items that may not be used get value 0); ``steps`` has shape
    ``(K,)``. The answer is the sum of the ``steps`` largest next marginals ``values[a] * m(counts[a] + j)``,
    ``j >= 1`` (each item's marginals fall with ``j``, so the largest ones form prefixes and are achievable).
    """
    marginals = next_marginals(values, config.decay_model, config.session_length, counts)
    return top_sum(marginals, np.asarray(steps, dtype=np.int64))


def reveal_order_bound(preferences: ArrayLike, config: EnvConfig) -> NDArray[np.float64]:
    """Per-user upper bound on the expected return of any policy that does not see the preferences.

    For a user ``p`` (row of ``preferences``, shape ``(K, n)``), the best over ``J = 1 .. min(n, T)`` of: reveal
    items ``0 .. J-1`` once each, then spend the other ``T - J`` steps on the largest repeat marginals
    ``p[a] m(k)``, ``k >= 2``, of those items. Its mean over users drawn from the (symmetric) prior bounds the
    Bayes-optimal value from above (module docstring). Returns shape ``(K,)``.
    """
    _check_setting(config, "reveal_order_bound")
    p = np.asarray(preferences, dtype=np.float64)
    single = p.ndim == 1
    p = np.atleast_2d(p)
    n, total = config.n_items, config.session_length
    if p.shape[-1] != n:
        raise ValueError(f"preferences must have {n} columns, got shape {p.shape}")
    best = np.full(len(p), -np.inf)
    for reveal in range(1, min(n, total) + 1):
        used = np.where(np.arange(n) < reveal, p, 0.0)
        first_looks = used.sum(axis=1)
        rest = exploit_value(used, (np.arange(n) < reveal).astype(np.int64)[None].repeat(len(p), 0),
                             np.full(len(p), total - reveal), config)
        best = np.maximum(best, first_looks + rest)
    return best[0] if single else best


class LookaheadPolicy(Policy):
    """Reveal another item while a ``k``-item look-ahead says it pays; otherwise exploit (expected feedback).

    At each step, with revealed items ``R`` (values known, sum ``S``), ``u`` unrevealed items and ``r`` steps left,
    it estimates for ``k = 0 .. min(max_reveals, u, r)`` the value of *revealing ``k`` more items, then
    exploiting the remaining ``r - k`` steps optimally* (:func:`exploit_value`). The ``k`` new values are drawn
    ``n_samples`` times from the exact posterior ``(1 - S) * Dirichlet(alpha_U)`` (the Dirichlet's neutrality);
    the same draws serve every ``k``. If some ``k >= 1`` beats ``k = 0`` it recommends the lowest-index
    unrevealed item, else the revealed item with the largest next marginal ``p[a] m(c[a] + 1)``.

    It is a policy, so its evaluated value is achievable: a lower bound on the Bayes-optimal value (up to the
    evaluation's sampling error). Revealing before exploiting loses nothing (module docstring), which is why the
    look-ahead only compares "reveal now" with "stop revealing".

    Args:
        max_reveals: largest ``k`` considered (``None``: all unrevealed items). The default, 1, is the
            one-step look-ahead: cheap, and the chapter measures what a longer look-ahead adds.
        n_samples: posterior draws per decision (their noise can only make the policy worse, never the bound
            invalid).
    """

    name = "lookahead"
    observation = "feedback"

    def __init__(
        self,
        config: EnvConfig,
        max_reveals: int | None = 1,
        n_samples: int = 32,
        seed: int | None = None,
        tie_break: str = "first",
    ) -> None:
        super().__init__(config, seed=seed, tie_break=tie_break)
        _check_setting(config, "LookaheadPolicy")
        self.max_reveals = config.n_items if max_reveals is None else check_int(max_reveals, "max_reveals", low=1)
        self.n_samples = check_int(n_samples, "n_samples", low=1)
        self.posterior = DirichletPosterior(self._alpha)

    def reveal_values(self, observation: Any) -> NDArray[np.float64]:
        """Estimated value of revealing ``k`` more items then exploiting, shape ``(K, max_reveals + 1)``.

        Entries for infeasible ``k`` (more than the unrevealed items or the steps left, or ``k = 0`` with nothing
        revealed) are ``-inf``.
        """
        view = self.layout.parse(np.atleast_2d(np.asarray(observation, dtype=np.float64)))
        n, total = self.config.n_items, self.config.session_length
        k_users, m = view.counts.shape[0], self.n_samples
        known = np.where(view.revealed, view.value, 0.0)
        remaining = view.steps_remaining
        unrevealed = (~view.revealed).sum(axis=1)
        # Remaining marginals of the revealed items, sorted, as cumulative sums: stop_table[K, s] = best s steps.
        stop_table = cumulative_top(next_marginals(known, self.config.decay_model, total, view.counts))
        # Posterior draws of the unrevealed values, listed in the order they would be revealed (index order).
        unrevealed_draws = self.posterior.sample_unrevealed(self.np_random, view.revealed, view.value, m)
        order = np.argsort(view.revealed, axis=1, kind="stable")
        draws = np.take_along_axis(unrevealed_draws, order[:, None, :], axis=2)
        repeats = self.config.decay_model.multiplier(np.arange(2, total + 1))  # m(2) .. m(T)
        result = np.full((k_users, self.max_reveals + 1), -np.inf)
        has_revealed = view.revealed.any(axis=1)
        result[:, 0] = np.where(has_revealed, stop_table[np.arange(k_users), np.minimum(remaining, n * total)], -np.inf)
        for k in range(1, self.max_reveals + 1):
            feasible = (k <= unrevealed) & (k <= remaining)
            if not feasible.any():
                break
            new = draws[:, :, :k]
            steps = np.maximum(remaining - k, 0)
            extra = (new[..., None] * repeats).reshape(k_users, m, -1)
            extra_table = cumulative_top(extra)
            # Best split of the remaining steps between old marginals (j of them) and new repeats (steps - j).
            j = np.arange(extra_table.shape[2])
            from_new = np.minimum(j[None, :], steps[:, None])
            from_old = np.clip(steps[:, None] - from_new, 0, stop_table.shape[1] - 1)
            old_part = np.take_along_axis(stop_table, from_old, axis=1)
            new_part = np.take_along_axis(extra_table, np.broadcast_to(from_new[:, None, :], extra_table.shape), 2)
            value = (new.sum(axis=2) + (old_part[:, None, :] + new_part).max(axis=2)).mean(axis=1)
            result[:, k] = np.where(feasible, value, -np.inf)
        return result

    def act(self, observation: NDArray[np.float64]) -> NDArray[np.int64]:
        view = self.layout.parse(observation)
        values = self.reveal_values(observation)
        reveal = values[:, 1:].max(axis=1) > values[:, 0]
        first_unrevealed = np.argmax(~view.revealed, axis=1)
        exploit = self._argmax(np.where(view.revealed, self._next_value(view, view.value), -np.inf))
        return np.where(reveal, first_unrevealed, exploit).astype(np.int64)
