"""A contextual policy learned from real logs: the Open Bandit Dataset's random logs, user features → items.

The uniform random logger of the OBD sample (:mod:`recbook.ope.obd`) showed 80 items at random to visitors
described by four categorical user features. From half of those logs this module learns a policy
``pi(a | x, k)``: a distribution over the 80 items for each context, where the context is the user features ``x``
(one-hot, ``user_feature_0`` ... ``user_feature_3``) and the banner position ``k``. Two learners:

* :func:`fit_click_model` — the direct method: a regularised logistic click model
  ``P(click | x, k, a) = sigmoid((u + M_a) . z)`` with ``z`` the one-hot context, a part ``u`` shared by every
  item and an item part ``M_a`` shrunk towards 0 by a stronger penalty; its :meth:`ClickModel.policy` acts greedily
  or by a softmax of ``M_a . z``. With about 0.4 % clicks (some 19 clicks in 5,000 learning rows) the data cannot
  support much item-by-feature detail: the penalty keeps most of it at 0.
* :func:`fit_ips_policy` — counterfactual risk minimisation (Swaminathan & Joachims 2015): a softmax policy
  ``pi(a | z) ∝ exp(theta_a . z)`` trained by gradient ascent on the capped IPW estimate of its click rate,
  ``mean((r_i - b) min(pi(a_i | z_i) / mu_i, cap))``, with a baseline ``b`` (the learning logs' click rate, as in
  BanditNet, Joachims et al. 2018: unclicked rows then push probability away too) and an L2 penalty.

:func:`obd_policy_table` runs the workflow: split the random logs in two (seeded), learn on one half, estimate each
learned policy's click rate on the other with :func:`recbook.ope.estimate_bandit` (IPW, SNIPW, DR; normal 95 %
intervals), next to the random logger's held-out click rate and BTS's logged click rate.

Position assumption. Every row of the logs is one item shown at one position; the random logger's propensity is
per position (1/80 for every item at each position). The policy here is a distribution over items *per position*,
chosen independently at each position, and the click on an item at a position is assumed to depend only on the
user features, the position and that item, not on the two other items shown beside it. The estimates are
therefore of the click rate per shown slot, as the logged rates are; a real banner shows three distinct items,
which a policy drawing each position independently may not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize

from recbook import seeds
from recbook._checks import check_int, check_real
from recbook.ope.bandit import estimate_bandit
from recbook.ope.intervals import Estimate
from recbook.ope.obd import FEATURE_CODES_FILE, USER_FEATURES, load_obd
from recbook.paths import data_path

__all__ = [
    "ClickModel",
    "ContextualPolicy",
    "encode_contexts",
    "estimate_policy",
    "fit_click_model",
    "fit_ips_policy",
    "obd_feature_sizes",
    "obd_policy_table",
    "split_rows",
]

#: The estimators of :func:`obd_policy_table`.
TABLE_METHODS: tuple[str, ...] = ("ipw", "snipw", "dr")


def obd_feature_sizes() -> tuple[int, ...]:
    """The number of codes of each OBD user feature (``data/obd/user_features.csv``), in the order of
    ``recbook.ope.obd.USER_FEATURES``."""
    codes = pd.read_csv(data_path("obd", FEATURE_CODES_FILE))
    counts = codes.groupby("feature")["code"].max() + 1
    return tuple(int(counts[feature]) for feature in USER_FEATURES)


def encode_contexts(
    frame: pd.DataFrame,
    n_categories: Sequence[int],
    n_positions: int,
    features: Sequence[str] = USER_FEATURES,
) -> NDArray[np.float64]:
    """The one-hot contexts ``z`` of a frame's rows, ``(n_rows, sum(n_categories) + n_positions + 1)``.

    One block per feature column (``n_categories[j]`` codes ``0 .. n_categories[j] - 1``), a block for
    ``position`` (``0 .. n_positions - 1``) and a constant 1 last.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if len(n_categories) != len(features):
        raise ValueError(f"n_categories must have one entry per feature {list(features)}, got {list(n_categories)}")
    missing = [column for column in (*features, "position") if column not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}")
    blocks = []
    for column, size in zip((*features, "position"), (*n_categories, n_positions)):
        codes = frame[column].to_numpy()
        if codes.size and (not np.issubdtype(codes.dtype, np.integer) or codes.min() < 0 or codes.max() >= size):
            raise ValueError(f"frame column {column!r} must hold integer codes in [0, {size - 1}]")
        blocks.append(np.eye(size)[codes.astype(np.int64)])
    blocks.append(np.ones((len(frame), 1)))
    return np.hstack(blocks)


def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class ContextualPolicy:
    """A distribution over items for each context, from linear scores ``weights @ z``.

    Attributes:
        weights: ``(n_items, n_inputs)``, one row of scores per item.
        n_categories: codes per user feature column.
        n_positions: banner positions.
        greedy: all probability on the highest score, ties split evenly; otherwise a softmax.
        temperature: of the softmax, ``pi(a | z) ∝ exp(weights[a] . z / temperature)``.
        features: the user feature columns the contexts read.
    """

    weights: NDArray[np.float64]
    n_categories: tuple[int, ...]
    n_positions: int
    greedy: bool = False
    temperature: float = 1.0
    features: tuple[str, ...] = USER_FEATURES

    @property
    def n_items(self) -> int:
        return int(self.weights.shape[0])

    def action_probabilities(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """``pi(a | row)`` for every row and item, ``(n_rows, n_items)``; each row sums to 1."""
        scores = encode_contexts(frame, self.n_categories, self.n_positions, self.features) @ self.weights.T
        if self.greedy:
            best = np.isclose(scores, scores.max(axis=1, keepdims=True), rtol=0.0, atol=1e-12)
            return best / best.sum(axis=1, keepdims=True)
        return _softmax(scores / self.temperature)


@dataclass(frozen=True)
class ClickModel:
    """``P(click | z, a) = sigmoid((shared + items[a]) . z)`` (see :func:`fit_click_model`)."""

    shared: NDArray[np.float64]
    items: NDArray[np.float64]
    n_categories: tuple[int, ...]
    n_positions: int
    features: tuple[str, ...] = USER_FEATURES

    def predict(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Click probabilities of every item for every row, ``(n_rows, n_items)``."""
        contexts = encode_contexts(frame, self.n_categories, self.n_positions, self.features)
        logits = (contexts @ self.shared)[:, None] + contexts @ self.items.T
        return 1.0 / (1.0 + np.exp(-logits))

    def policy(self, greedy: bool = True, temperature: float = 1.0) -> ContextualPolicy:
        """The direct-method policy: the items' scores ``items[a] . z`` (the shared part ranks no item above
        another), acted on greedily or by a softmax with ``temperature`` (on the log-odds scale)."""
        temperature = check_real(temperature, "temperature", 0.0, low_open=True)
        return ContextualPolicy(self.items, self.n_categories, self.n_positions, bool(greedy), temperature,
                                self.features)


def _logged(frame: pd.DataFrame, n_items: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The logged items and clicks of a frame, checked."""
    for column in ("item_id", "click"):
        if column not in frame.columns:
            raise ValueError(f"frame lacks column {column!r}")
    if len(frame) == 0:
        raise ValueError("frame must have at least one row")
    items = frame["item_id"].to_numpy()
    if not np.issubdtype(items.dtype, np.integer) or items.min() < 0 or items.max() >= n_items:
        raise ValueError(f"frame column 'item_id' must hold integers in [0, {n_items - 1}]")
    clicks = frame["click"].to_numpy(np.float64)
    if np.any((clicks != 0) & (clicks != 1)):
        raise ValueError("frame column 'click' must hold 0 or 1")
    return items.astype(np.int64), clicks


def fit_click_model(
    frame: pd.DataFrame,
    n_items: int,
    n_categories: Sequence[int],
    n_positions: int = 3,
    l2_shared: float = 1.0,
    l2_item: float = 10.0,
    features: Sequence[str] = USER_FEATURES,
) -> ClickModel:
    """A logistic click model fitted by L-BFGS to the logged rows (item, context, click).

    Minimises ``sum_i logloss(click_i, (u + M[a_i]) . z_i) + l2_shared / 2 |u|^2 + l2_item / 2 |M|^2`` (the
    shared constant is not penalised). ``l2_item`` is the precision of a Gaussian prior on the item parts: the
    default 10 lets an item's log-odds move by about 0.3 from the shared model before the data must pay for it,
    so with a few dozen clicks the item parts stay small. Deterministic (no seed: the fit is a convex problem
    started from 0).
    """
    n_items = check_int(n_items, "n_items", low=1)
    n_positions = check_int(n_positions, "n_positions", low=1)
    l2_shared = check_real(l2_shared, "l2_shared", 0.0)
    l2_item = check_real(l2_item, "l2_item", 0.0, low_open=True)
    items, clicks = _logged(frame, n_items)
    contexts = encode_contexts(frame, n_categories, n_positions, features)
    n_inputs = contexts.shape[1]
    penalty = np.full(n_inputs, l2_shared)
    penalty[-1] = 0.0

    def loss(parameters: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        shared, item_part = parameters[:n_inputs], parameters[n_inputs:].reshape(n_items, n_inputs)
        logits = contexts @ shared + np.einsum("ij,ij->i", contexts, item_part[items])
        value = float(np.sum(np.logaddexp(0.0, logits) - clicks * logits))
        value += 0.5 * float(penalty @ shared**2) + 0.5 * l2_item * float(np.sum(item_part**2))
        residual = 1.0 / (1.0 + np.exp(-logits)) - clicks
        grad_items = np.zeros((n_items, n_inputs))
        np.add.at(grad_items, items, residual[:, None] * contexts)
        grad_shared = contexts.T @ residual + penalty * shared
        return value, np.concatenate([grad_shared, (grad_items + l2_item * item_part).ravel()])

    result = optimize.minimize(loss, np.zeros(n_inputs * (n_items + 1)), jac=True, method="L-BFGS-B",
                               options={"maxiter": 2000})
    parameters = result.x
    return ClickModel(parameters[:n_inputs], parameters[n_inputs:].reshape(n_items, n_inputs),
                      tuple(int(c) for c in n_categories), n_positions, tuple(features))


def fit_ips_policy(
    frame: pd.DataFrame,
    n_items: int,
    n_categories: Sequence[int],
    n_positions: int = 3,
    cap: float = 10.0,
    l2: float = 1e-3,
    steps: int = 300,
    learning_rate: float = 0.05,
    baseline: float | None = None,
    features: Sequence[str] = USER_FEATURES,
) -> ContextualPolicy:
    """A softmax policy trained by full-batch gradient ascent (Adam) on the capped IPW objective.

    Maximises ``mean((r_i - b) min(w_i, cap)) / rate - l2 / 2 |theta|^2`` with ``w_i = pi(a_i | z_i) / mu_i``,
    ``mu_i`` the ``propensity_score`` column, ``b = baseline`` (the logs' click rate ``rate`` if ``None``) and the
    objective divided by ``rate`` so that it reads as a relative change of the click rate and ``l2`` does not
    depend on how rare clicks are. ``cap`` bounds each row's weight: a row whose weight reached ``cap`` stops
    pulling probability towards its item, so the policy cannot pile all its mass on the few clicked contexts.
    Starts from ``theta = 0`` (the uniform policy) and takes ``steps`` deterministic steps (no seed needed).
    """
    n_items = check_int(n_items, "n_items", low=2)
    n_positions = check_int(n_positions, "n_positions", low=1)
    cap = check_real(cap, "cap", 0.0, low_open=True)
    l2 = check_real(l2, "l2", 0.0)
    steps = check_int(steps, "steps", low=1)
    learning_rate = check_real(learning_rate, "learning_rate", 0.0, low_open=True)
    items, clicks = _logged(frame, n_items)
    if "propensity_score" not in frame.columns:
        raise ValueError("frame lacks column 'propensity_score'")
    propensities = frame["propensity_score"].to_numpy(np.float64)
    if np.any(~np.isfinite(propensities) | (propensities <= 0) | (propensities > 1)):
        raise ValueError("frame column 'propensity_score' must hold probabilities in (0, 1]")
    rate = float(clicks.mean())
    if rate == 0.0:
        raise ValueError("frame has no click: the IPW objective is flat")
    b = rate if baseline is None else check_real(baseline, "baseline")
    # Rows share few distinct contexts (at most 3 x 5 x 9 x 10 x 3 in the OBD sample): the softmax is computed
    # once per distinct context and the rows' gradients are summed into them.
    unique, context_of = np.unique(encode_contexts(frame, n_categories, n_positions, features), axis=0,
                                   return_inverse=True)
    context_of = context_of.ravel()
    coefficients = (clicks - b) / (rate * len(frame) * propensities)
    theta = np.zeros((n_items, unique.shape[1]))
    first, second = np.zeros_like(theta), np.zeros_like(theta)
    for step in range(1, steps + 1):
        probabilities = _softmax(unique @ theta.T)
        chosen = probabilities[context_of, items]
        active = chosen / propensities < cap  # capped rows have no gradient
        # d pi(a_i) / d theta_b = pi(a_i) (1[b = a_i] - pi(b)) z_i, summed over the rows of each context
        scale = np.where(active, coefficients * chosen, 0.0)
        direction = -np.bincount(context_of, scale, minlength=len(unique))[:, None] * probabilities
        np.add.at(direction, (context_of, items), scale)
        gradient = direction.T @ unique - l2 * theta
        first = 0.9 * first + 0.1 * gradient
        second = 0.999 * second + 0.001 * gradient**2
        theta = theta + learning_rate * (first / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
    return ContextualPolicy(theta, tuple(int(c) for c in n_categories), n_positions, False, 1.0, tuple(features))


def split_rows(frame: pd.DataFrame, held_out_fraction: float = 0.5, seed: int = 0) -> tuple[pd.DataFrame, ...]:
    """``(learning, held_out)``: a random ``held_out_fraction`` of the rows is held out, the rest is learnt from.

    The assignment comes from ``seeds.generator(seed, TRAIN, "training", "obd-split")``; both parts keep time order.
    """
    fraction = check_real(held_out_fraction, "held_out_fraction", 0.0, 1.0, low_open=True, high_open=True)
    order = seeds.generator(seed, seeds.TRAIN, "training", "obd-split").permutation(len(frame))
    cut = int(round(fraction * len(frame)))
    if cut == 0 or cut == len(frame):
        raise ValueError(f"held_out_fraction={fraction} leaves one part empty with {len(frame)} rows")
    held = np.zeros(len(frame), dtype=bool)
    held[order[:cut]] = True
    return frame[~held].reset_index(drop=True), frame[held].reset_index(drop=True)


def estimate_policy(
    policy: ContextualPolicy,
    held_out: pd.DataFrame,
    click_model: ClickModel,
    methods: Sequence[str] = TABLE_METHODS,
) -> dict[str, Estimate]:
    """Off-policy estimates of ``policy``'s click rate from ``held_out`` logs, one per method.

    ``click_model`` is DR's (and DM's) reward model; fit it on other rows than ``held_out`` so that DR's
    correction is not fitted on the rows it corrects.
    """
    items, clicks = _logged(held_out, policy.n_items)
    probabilities = policy.action_probabilities(held_out)
    predicted = click_model.predict(held_out)
    if predicted.shape != probabilities.shape:
        raise ValueError(f"click_model predicts {predicted.shape[1]} items, the policy has {policy.n_items}")
    rows = np.arange(len(held_out))
    return {
        method: estimate_bandit(clicks, held_out["propensity_score"].to_numpy(np.float64),
                                probabilities[rows, items], method, q_logged=predicted[rows, items],
                                q_target=(probabilities * predicted).sum(axis=1))
        for method in methods
    }


def _row(policy: str, estimator: str, result: Estimate) -> dict[str, object]:
    return {"policy": policy, "estimator": estimator, "value": result.value, "ci_low": result.ci_low,
            "ci_high": result.ci_high, "ess": result.ess, "n": result.n}


def _logged_rate(clicks: NDArray[np.float64]) -> Estimate:
    """A logged click rate with its normal interval (on-policy: every weight is 1)."""
    ones = np.ones_like(clicks)
    return estimate_bandit(clicks, ones, ones, "ipw")


def obd_policy_table(
    seed: int = 0,
    held_out_fraction: float = 0.5,
    methods: Sequence[str] = TABLE_METHODS,
    cap: float = 10.0,
) -> pd.DataFrame:
    """Learn two contextual policies on half the OBD random logs and estimate their click rates on the other half.

    Returns one row per (policy, estimator), columns ``policy``, ``estimator``, ``value``, ``ci_low``, ``ci_high``
    (95 %), ``ess`` (the weights' effective sample size) and ``n`` (rows):

    * ``dm-greedy`` — :func:`fit_click_model`'s greedy policy; ``dm-softmax`` its softmax at temperature 1;
    * ``ips-softmax`` — :func:`fit_ips_policy` with weight cap ``cap``;

    each with ``methods`` on the held-out rows (DR's reward model is the click model fitted on the learning rows),
    then ``random (held-out)``: the random logger's mean click on the held-out rows, and ``bts (logged)``: the mean
    click in BTS's whole file; both with ``estimator="logged"``. ``seed`` fixes the split (:func:`split_rows`);
    the learners themselves are deterministic, with their default hyperparameters: none is chosen on the held-out
    rows.

    Read the intervals with ``ess`` in mind: a policy that concentrates on a few items keeps an effective sample
    of some tens of rows, which at a 0.4 % click rate holds less than one expected click. The estimate then rests
    on zero, one or two held-out clicks, and the normal interval is unreliable: too narrow when no click falls
    on the policy's items, below 0 and wide when one does.
    """
    seed = seeds.validate_seed(seed)
    random_logs = load_obd("random", user_features=True)
    learning, held_out = split_rows(random_logs, held_out_fraction, seed)
    sizes = obd_feature_sizes()
    n_items = int(random_logs["item_id"].max()) + 1
    click_model = fit_click_model(learning, n_items, sizes)
    policies = {
        "dm-greedy": click_model.policy(greedy=True),
        "dm-softmax": click_model.policy(greedy=False),
        "ips-softmax": fit_ips_policy(learning, n_items, sizes, cap=cap),
    }
    rows = []
    for name, policy in policies.items():
        for method, result in estimate_policy(policy, held_out, click_model, methods).items():
            rows.append(_row(name, method, result))
    rows.append(_row("random (held-out)", "logged", _logged_rate(held_out["click"].to_numpy(np.float64))))
    bts = load_obd("bts")["click"].to_numpy(np.float64)
    rows.append(_row("bts (logged)", "logged", _logged_rate(bts)))
    return pd.DataFrame(rows)
