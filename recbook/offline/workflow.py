"""The deployment workflow as library calls: split the logs, learn on one part, estimate on the other, decide.

A policy learned from logs is only as good as the evidence that it beats the logger, and that evidence must come
from logs it did not learn from (an estimate on the learning logs is optimistic: the learner chose the actions that
look good on exactly those sessions). So:

1. :func:`split_logs` — sessions go at random to a learning part and a held-out part;
2. :func:`recbook.offline.learn` on the learning part;
3. :func:`assess` — DR and PDIS estimates of the learned policy on the held-out part, with their intervals, next
   to the logger's own held-out value (its mean logged return, an on-policy estimate);
4. the decision rule of :func:`decide`: **deploy only if the DR interval's lower bound is above the logger's
   held-out value**. One rule, stated before looking at the estimates.

A team that trains several candidates (learners, seeds) and keeps one adds a step between 2 and 3:
:func:`select` picks the candidate of highest estimate on a *third* part of the logs, and :func:`assess` then
reads logs the choice never saw. (Choosing and assessing on the same logs makes the chosen policy's estimate
optimistic: the largest of several noisy estimates is biased upward.) Its default estimator is the direct method
with a fitted Q-function (:data:`SELECTION_ESTIMATOR`): to *rank* candidates a low-variance estimate matters more
than an unbiased one, and fitted Q evaluation ranked offline-RL policies best in Paine et al. (2020, "Hyperparameter
selection for offline reinforcement learning") and Tang & Wiens (2021, "Model selection for offline reinforcement
learning"), where importance-weighted estimates were too noisy to rank by. In chapter 12's leave setting it
ranked no better than chance (its estimates stayed near the logger's value): check a selection estimator
against known values before trusting its choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recbook import seeds
from recbook._checks import check_real
from recbook.evaluation.stats import mean_confidence_interval
from recbook.ope.estimators import estimate
from recbook.ope.fqe import QFunction
from recbook.ope.logs import Logs

__all__ = ["DECISION_ESTIMATOR", "SELECTION_ESTIMATOR", "assess", "decide", "select", "split_logs"]

#: The estimator whose lower bound :func:`decide` compares with the logger's value.
DECISION_ESTIMATOR = "dr"
#: The estimator whose point estimate :func:`select` ranks candidates by (fitted Q evaluation, cross-fitted).
SELECTION_ESTIMATOR = "dm"


def split_logs(logs: Logs, learn_fraction: float = 0.5, seed: int = 0) -> tuple[Logs, Logs]:
    """``(learning, held_out)``: a random ``learn_fraction`` of the sessions, and the rest.

    The assignment comes from ``seeds.generator(seed, TRAIN, "training", "offline-split")``: same seed, same split.
    """
    if not isinstance(logs, Logs):
        raise ValueError(f"logs must be recbook.ope.Logs, got {type(logs).__name__}")
    fraction = check_real(learn_fraction, "learn_fraction", 0.0, 1.0, low_open=True, high_open=True)
    order = seeds.generator(seed, seeds.TRAIN, "training", "offline-split").permutation(logs.n_sessions)
    cut = int(round(fraction * logs.n_sessions))
    if cut == 0 or cut == logs.n_sessions:
        raise ValueError(f"learn_fraction={fraction} leaves one part empty with {logs.n_sessions} sessions")
    return logs.subset(np.sort(order[:cut])), logs.subset(np.sort(order[cut:]))


def assess(
    policy: Any,
    held_out: Logs,
    methods: Sequence[str] = ("dr", "pdis"),
    level: float = 0.95,
    seed: int = 0,
    q_function: QFunction | None = None,
) -> pd.DataFrame:
    """Off-policy estimates of ``policy`` on ``held_out`` logs, and the logger's own value on them.

    One row per estimator (``estimator``, ``value``, ``ci_low``, ``ci_high``, ``ess``) and a last row
    ``estimator="logger"``: the mean logged return with its normal interval. Pass logs the policy did not learn
    from (:func:`split_logs`). ``q_function`` goes to ``dm`` and ``dr`` (:func:`recbook.ope.estimate`; default: a
    cross-fitted linear model), e.g. :func:`recbook.offline.fit_q_evaluation` on the learning logs.
    """
    rows = []
    for method in methods:
        result = estimate(held_out, policy, method, confidence_level=level, seed=seed, q_function=q_function)
        rows.append({"estimator": method, "value": result.value, "ci_low": result.ci_low,
                     "ci_high": result.ci_high, "ess": result.ess})
    mean, low, high = mean_confidence_interval(held_out.returns, level)
    rows.append({"estimator": "logger", "value": mean, "ci_low": low, "ci_high": high,
                 "ess": float(held_out.n_sessions)})
    return pd.DataFrame(rows)


def decide(assessment: pd.DataFrame, estimator: str = DECISION_ESTIMATOR) -> bool:
    """Deploy (``True``) only if ``estimator``'s lower bound is above the logger's held-out value."""
    table = assessment.set_index("estimator")
    for needed in (estimator, "logger"):
        if needed not in table.index:
            raise ValueError(f"assessment has no {needed!r} row; pass the table assess() returned")
    return bool(table.loc[estimator, "ci_low"] > table.loc["logger", "value"])


def select(
    candidates: Mapping[str, Any],
    logs: Logs,
    estimator: str = SELECTION_ESTIMATOR,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Estimate every candidate policy on ``logs`` with ``estimator`` and choose the one of highest point estimate.

    ``logs`` must be a part that no candidate learned from and that :func:`assess` will not read afterwards (a
    third part: see the module docstring). One row per candidate, in ``candidates``' order: ``candidate``,
    ``value``, ``ci_low``, ``ci_high``, ``ess`` and ``chosen`` (``True`` on exactly one row; a tie goes to the
    first candidate).
    """
    if not isinstance(candidates, Mapping) or not candidates:
        raise ValueError("candidates must be a non-empty mapping of label -> policy")
    if not isinstance(logs, Logs):
        raise ValueError(f"logs must be recbook.ope.Logs, got {type(logs).__name__}")
    rows = []
    for label, policy in candidates.items():
        result = estimate(logs, policy, estimator, confidence_level=level, seed=seed)
        rows.append({"candidate": str(label), "value": result.value, "ci_low": result.ci_low,
                     "ci_high": result.ci_high, "ess": result.ess})
    table = pd.DataFrame(rows)
    table["chosen"] = np.arange(len(table)) == int(np.argmax(table["value"].to_numpy()))
    return table
