"""Off-policy evaluation: logs with propensities, and estimators of a new policy's value from an old policy's logs.

A *logging* policy ``mu`` ran and left logs: for every session and step the observation ``s_t``, the recommended
item ``a_t``, the reward ``r_t`` and the *propensity* ``mu(a_t | s_t)``. The question is what return a *target*
policy ``pi`` would get. Every estimator here reweights the logged rewards by the importance ratios
``rho_t = pi(a_t | s_t) / mu(a_t | s_t)`` and/or models the rewards:

* ``is``: ``w_{T-1} G`` (trajectory-wise importance sampling; ``G`` = the session's return); unbiased;
* ``wis``: ``sum_i w_{i,T-1} G_i / sum_i w_{i,T-1}`` (weighted, self-normalised); biased, consistent;
* ``pdis``: ``sum_t w_t r_t`` (per-decision: a reward depends only on the actions up to it); unbiased;
* ``wpdis``: ``sum_t (sum_i w_{it} r_{it} / sum_i w_{it})``; biased, consistent;
* ``dm``: ``V_hat(s_0)`` from a Q-function fitted to the logs (the direct method, fitted Q evaluation); biased by
  the model's errors;
* ``dr``: ``sum_t [w_t (r_t - Q_hat(s_t, a_t)) + w_{t-1} V_hat(s_t)]`` with ``V_hat(s) = sum_a pi(a | s)
  Q_hat(s, a)`` (sequential doubly robust, Jiang & Li 2016); unbiased.

Here ``w_t = rho_0 ... rho_t`` (``w_{-1} = 1``) and every estimate is a mean over sessions ``i``.

``dr`` is unbiased whatever ``Q_hat`` is, as long as ``Q_hat`` is not fitted on the sessions it corrects: it is
*cross-fitted* (``folds=2``: ``Q_hat`` is fitted on one half of the sessions and used on the other, and back).
With an exact ``Q_hat`` its corrections ``r_t + V_hat(s_{t+1}) - Q_hat(s_t, a_t)`` have mean zero and it keeps
DM's low variance; with a poor one it falls back towards PDIS. The cross-fitting is *repeated* over ``splits=5``
independent random assignments of the sessions to folds (Chernozhukov et al. 2018, "double/debiased machine
learning", mean version): the estimate is the mean of the ``splits`` estimates ``theta_s`` (each unbiased, so
their mean is too) and its variance ``mean_s(se_s^2 + (theta_s - theta)^2)`` adds the spread that the random
choice of folds causes to each split's own standard error, so the estimate no longer hangs on one random split.
``dm`` uses the same models.

Intervals (95 % by default). ``is`` and ``pdis`` are means of per-session weighted returns whose weights are
products of ratios: right-skewed, with rare large values (heavy-tailed at long horizons). A logged sample that
happens to contain few of the large weights gives a low estimate *and* a low standard error, so a normal
interval ``value +- z * se`` misses the truth from below more often than from above. Their intervals are
therefore *studentized bootstrap* (bootstrap-t) intervals over sessions (``n_resamples=2000``; Efron &
Tibshirani 1993, ch. 12): the quantiles of ``t* = (mean* - mean) / se*`` over resamples replace ``+- z``,
giving an interval that reaches further above the estimate than below. The reported ``se`` is the usual
``sd / sqrt(n)``. ``dr`` and ``dm`` have normal intervals with the repeated-cross-fitting variance above;
``wis`` and ``wpdis`` normal intervals with delta-method standard errors. DM's interval only reflects the spread
of ``V_hat(s_0)`` over sessions and splits, not the error of the fitted model, so it is too narrow when the model
is biased; the chapter measures how often each interval covers the truth.

The *effective sample size* (Kish) of weights ``w`` is ``(sum w)^2 / sum w^2``: how many on-policy sessions the
weighted logs are worth. Single-step (bandit) estimators for logs without sessions — IPW, SNIPW, DM, DR and
Switch-DR — are in :func:`estimate_bandit`.

Layout: :mod:`~recbook.ope.logs` (:class:`Logs`, :func:`collect`), :mod:`~recbook.ope.weights` (importance
weights, overlap), :mod:`~recbook.ope.fqe` (fitted Q evaluation, cross-fitting), :mod:`~recbook.ope.intervals`
(:class:`Estimate` and its intervals), :mod:`~recbook.ope.estimators` (a class per sequential estimator behind
:func:`estimate`), :mod:`~recbook.ope.bandit` (:func:`estimate_bandit`), :mod:`~recbook.ope.replication`
(replications, ``python -m recbook.ope``) and :mod:`~recbook.ope.obd` (the Open Bandit Dataset).

Users who leave (``leave_rate > 0``): a logged session ends when its user leaves (action -1 for the rest of the
row, reward 0, propensity 1), so its weights stop changing and nothing is added after the exit.

Seeds: :func:`collect` draws users, clicks and the logging policy's coins from ``recbook.seeds`` streams
``(seed, stream, "users" | "clicks" | "policy")``, so the same call gives the same logs; :func:`estimate` draws
its folds and bootstrap resamples from ``(seed, TEST, "bootstrap", "ope-folds" | "ope-is" | "ope-pdis")``, so the
same call gives the same estimate and interval.
"""

from __future__ import annotations

from recbook.ope.bandit import BANDIT_METHODS, estimate_bandit
from recbook.ope.estimators import ESTIMATORS, METHODS, UNBIASED, Estimator, estimate
from recbook.ope.fqe import QFunction, fit_q_function
from recbook.ope.intervals import Estimate
from recbook.ope.logs import LOG_COLUMNS, Logs, collect
from recbook.ope.replication import main, replicate, summarize_replications, true_value
from recbook.ope.weights import effective_sample_size, importance_weights, overlap, target_probabilities

__all__ = [
    "BANDIT_METHODS",
    "ESTIMATORS",
    "LOG_COLUMNS",
    "METHODS",
    "UNBIASED",
    "Estimate",
    "Estimator",
    "Logs",
    "QFunction",
    "collect",
    "effective_sample_size",
    "estimate",
    "estimate_bandit",
    "fit_q_function",
    "importance_weights",
    "main",
    "overlap",
    "replicate",
    "summarize_replications",
    "target_probabilities",
    "true_value",
]
