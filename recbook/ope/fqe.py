"""The direct method's model: fitted Q evaluation (FQE) of a target policy on logs, with repeated cross-fitting.

A linear Q-function on item-shared features, one ridge regression per step, backwards from the last step
(:func:`fit_q_function`); :func:`cross_fit` fits it on some folds of the sessions and predicts on the others,
which is what keeps the doubly robust estimator unbiased.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recbook import seeds
from recbook._checks import check_int
from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.ope.logs import Logs
from recbook.ope.weights import target_probabilities
from recbook.planning.marginals import next_marginals, top_sum
from recbook.policies import BayesGreedy

__all__ = ["QFunction", "cross_fit", "item_features", "fit_q_function", "plan_value", "q_values"]

#: The type of a Q-function, ``q(observations (K, d), steps (K,)) -> (K, n_items)``, the expected return-to-go of each
#: item.
QFunction = Callable[[NDArray[np.float64], NDArray[np.int64]], NDArray[np.float64]]


def item_features(config: EnvConfig, observations: NDArray[np.float64]) -> NDArray[np.float64]:
    """Item-shared features ``(K, n_items, f)`` of recommending each item in each observation ``(K, d)``.

    Feedback observations: 1, the posterior-mean value of the item's next recommendation (Bayes-greedy's index:
    its expected immediate reward), whether it is revealed, its decay multiplier ``m(count + 1)``, its count,
    whether it is the best index, the best index, the number of revealed items and the plan value
    (:func:`plan_value`) of the remaining steps. Counts observations: 1,
    ``m(count + 1)``, the count and whether it is the least recommended item.
    """
    n_items, horizon = config.n_items, config.session_length
    k = observations.shape[0]
    if config.observation == "counts":
        counts = np.rint(observations)
        multiplier = config.decay_model.multiplier(counts + 1)
        least = (counts == counts.min(axis=1, keepdims=True)).astype(np.float64)
        return np.stack([np.ones((k, n_items)), multiplier, counts / horizon, least], axis=2)
    # An oracle observation starts with the feedback one (item qualities included, if the config has them).
    feedback = config.replace(observation="feedback")
    layout = ObservationLayout(feedback)
    seen = observations[..., : layout.size]
    view = layout.parse(seen)
    index = BayesGreedy(feedback).scores(seen)
    best = index.max(axis=1, keepdims=True)
    columns: list[NDArray[np.float64]] = [
        np.ones((k, n_items)),
        index,
        view.revealed.astype(np.float64),
        config.decay_model.multiplier(view.counts + 1),
        view.counts / horizon,
        (index >= best - 1e-12).astype(np.float64),
        np.broadcast_to(best, (k, n_items)),
        np.broadcast_to(view.revealed.mean(axis=1, keepdims=True), (k, n_items)),
        np.broadcast_to(
            plan_value(
                config, view.counts, index / config.decay_model.multiplier(view.counts + 1), view.steps_remaining
            )[:, None],
            (k, n_items),
        ),
    ]
    features = np.empty((k, n_items, len(columns)))
    for j, column in enumerate(columns):
        features[:, :, j] = column
    return features


def plan_value(
    config: EnvConfig, counts: NDArray[np.int64], estimate: NDArray[np.float64], steps_remaining: NDArray[np.int64]
) -> NDArray[np.float64]:
    """What the rest of the session would earn if the preference estimates were true, ``(K,)``.

    The sum of the ``steps_remaining`` largest next marginals ``estimate[a] m(counts[a] + j)`` (the oracle's plan
    of chapter 2 applied to the estimates): a state feature that tracks the continuation value of good policies.
    """
    # The sum of the largest next marginals (chapter 2's exchange argument), read from the one marginal table.
    return top_sum(next_marginals(estimate, config.decay_model, int(steps_remaining.max()), counts), steps_remaining)


def _backward_fqe(
    logs: Logs,
    probabilities: NDArray[np.float64],
    train_masks: Sequence[NDArray[np.bool_]],
    ridge: float,
    assignments: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.float64] | None]:
    """Fitted Q evaluation of several models at once, one backward pass over the steps.

    Model ``k`` is fitted on the sessions of ``train_masks[k]``. Returns the coefficients ``(K, T, f)`` and, if
    ``assignments`` (``(S, n)``: for each of ``S`` splits, the model index of each session) is given,
    ``Q_hat(s_t, a_t)`` of the logged actions and ``V_hat(s_t)``, both ``(S, n, T)``, of each session under its
    model in each split (else ``None, None``). Each step's features are computed once for all sessions and models.
    A session whose user has left (action -1) is out of the regressions from then on and its ``Q_hat`` and
    ``V_hat`` are 0 there: nothing more is earned.
    """
    active = logs.active
    n, horizon = logs.n_sessions, logs.horizon
    rows = np.arange(n)
    n_models = len(train_masks)
    coefficients: NDArray[np.float64] | None = None
    next_value = np.zeros((n_models, n))
    q_logged = v_out = None
    # For each model, the (split, sessions) it predicts for.
    uses: list[list[tuple[int, NDArray[np.bool_]]]] = [[] for _ in range(n_models)]
    if assignments is not None:
        q_logged = np.zeros((assignments.shape[0], n, horizon))
        v_out = np.zeros((assignments.shape[0], n, horizon))
        for split, assignment in enumerate(assignments):
            for k in np.unique(assignment):
                uses[int(k)].append((split, assignment == k))
    for t in range(horizon - 1, -1, -1):
        features = item_features(logs.config, logs.observations[:, t])  # (n, n_items, f)
        if coefficients is None:
            coefficients = np.zeros((n_models, horizon, features.shape[2]))
        x_logged = features[rows, logs.actions[:, t]]
        there = active[:, t]
        for k, mask in enumerate(train_masks):
            train = mask & there
            x = x_logged[train]
            y = logs.rewards[train, t] + next_value[k, train]
            gram = x.T @ x + ridge * max(int(train.sum()), 1) * np.eye(x.shape[1])
            coefficients[k, t] = np.linalg.solve(gram, x.T @ y)
            q_all = features @ coefficients[k, t]
            next_value[k] = np.where(there, (probabilities[:, t] * q_all).sum(axis=1), 0.0)
            if q_logged is not None and v_out is not None:
                for split, chosen in uses[k]:
                    q_logged[split, chosen, t] = np.where(there[chosen], q_all[chosen, logs.actions[chosen, t]], 0.0)
                    v_out[split, chosen, t] = next_value[k, chosen]
    assert coefficients is not None
    return coefficients, q_logged, v_out


def fit_q_function(
    logs: Logs,
    target: Any,
    probabilities: NDArray[np.float64] | None = None,
    ridge: float = 1e-3,
) -> QFunction:
    """Fitted Q evaluation: a linear Q-function of the target, one regression per step, backwards from ``T-1``.

    At step ``t`` the regression target is ``r_t + V_hat_{t+1}(s_{t+1})`` with ``V_hat_{t+1}(s) = sum_a pi(a|s)
    Q_hat_{t+1}(s, a)`` (0 after the last step), regressed on item-shared features of ``(s_t, a_t)``
    (:func:`~recbook.ope.fqe.item_features`) by ridge least squares (penalty ``ridge`` times the number of sessions; the
    intercept is
    penalised too, which is harmless at this size). Returns ``q(observations (K, d), steps (K,)) -> (K, n_items)``.
    """
    if probabilities is None:
        probabilities = target_probabilities(logs, target)
    coefficients, _, _ = _backward_fqe(logs, probabilities, [np.ones(logs.n_sessions, dtype=bool)], ridge)
    config = logs.config

    def q_function(observations: NDArray[np.float64], steps: NDArray[np.int64]) -> NDArray[np.float64]:
        obs = np.asarray(observations, dtype=np.float64)
        step = np.asarray(steps, dtype=np.int64)
        return np.einsum("knf,kf->kn", item_features(config, obs), coefficients[0, step])

    return q_function


def q_values(logs: Logs, q_function: QFunction) -> NDArray[np.float64]:
    """``Q_hat(s_t, a)`` for every logged observation and item, ``(n, T, n_items)`` (0 after an exit)."""
    n, horizon, d = logs.observations.shape
    steps = np.tile(np.arange(horizon), n)
    q = np.asarray(q_function(logs.observations.reshape(n * horizon, d), steps), dtype=np.float64)
    if q.shape != (n * horizon, logs.config.n_items):
        raise ValueError(f"q_function returned shape {q.shape}, expected ({n * horizon}, {logs.config.n_items})")
    q = q.reshape(n, horizon, logs.config.n_items)
    return q if logs.active.all() else np.where(logs.active[..., None], q, 0.0)


def cross_fit(
    logs: Logs, probabilities: NDArray[np.float64], folds: int, splits: int, seed: int, ridge: float = 1e-3
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Repeated cross-fitting: ``Q_hat(s_t, a_t)`` and ``V_hat(s_t)``, both ``(splits, n, T)``.

    Each split assigns the sessions to ``folds`` random folds (split 0 is the assignment of a single
    cross-fitting); each session's values come from the model fitted on the other folds of that split.
    ``folds=1`` fits one model on all logs (then there is a single split).
    """
    folds = check_int(folds, "folds", 1)
    splits = check_int(splits, "splits", 1)
    n = logs.n_sessions
    if folds == 1:
        masks = [np.ones(n, dtype=bool)]
        assignments = np.zeros((1, n), dtype=np.int64)
    else:
        if n < 2 * folds:
            raise ValueError(f"folds={folds} needs at least {2 * folds} sessions, got {n}")
        rng = seeds.generator(seed, seeds.TEST, "bootstrap", "ope-folds")
        folds_of = np.stack([rng.permutation(n) % folds for _ in range(splits)])
        masks = [folds_of[split] != fold for split in range(splits) for fold in range(folds)]
        assignments = folds_of + folds * np.arange(splits)[:, None]  # model index = split * folds + fold
    _, q_logged, v = _backward_fqe(logs, probabilities, masks, ridge, assignments=assignments)
    assert q_logged is not None and v is not None
    return q_logged, v


