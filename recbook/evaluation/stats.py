"""Statistics of evaluation tables: bootstrap intervals, paired differences, and aggregates over training runs.

:func:`~recbook.evaluation.summarize` tabulates each policy's mean with bootstrap intervals;
:func:`~recbook.evaluation.paired_difference` compares two
policies user by user, which is far more precise than comparing their means;
:func:`~recbook.evaluation.interquartile_mean`,
:func:`~recbook.evaluation.aggregate_runs`, :func:`~recbook.evaluation.performance_profile` and
:func:`~recbook.evaluation.mean_confidence_interval` aggregate results across
training seeds; :func:`~recbook.evaluation.verdict`, :func:`~recbook.evaluation.interval` and
:func:`~recbook.evaluation.versus` are the chapters' ways of reading and printing
a paired difference.

Why paired: users differ far more from each other than good policies differ from each other. On the same users
the user-to-user variation cancels in each difference ``return_a(u) - return_b(u)``, so the standard error of a
paired difference is a fraction of the unpaired one (:func:`~recbook.evaluation.paired_difference` reports both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from recbook import seeds
from recbook._checks import check_int, check_level
from recbook.metrics import METRIC_COLUMNS, pct_oracle

__all__ = [
    "aggregate_runs",
    "interquartile_mean",
    "interval",
    "mean_confidence_interval",
    "paired_difference",
    "performance_profile",
    "summarize",
    "verdict",
    "versus",
]


def _bootstrap(
    data: tuple[NDArray[np.float64], ...],
    statistic: Callable[..., Any],
    confidence_level: float,
    n_resamples: int,
    seed: int,
    paired: bool = False,
) -> tuple[float, float]:
    """Percentile bootstrap CI with ``scipy.stats.bootstrap``, batched to bound memory."""
    n = len(data[0])
    if n < 2:
        return (float("nan"), float("nan"))
    # The percentile method: BCa's jackknife costs O(n^2) at 20,000 users, and for means of thousands of
    # sessions the two agree to the third digit.
    result = stats.bootstrap(
        data,
        statistic,
        paired=paired,
        vectorized=True,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        batch=max(1, int(4_000_000 // n)),
        method="percentile",
        rng=seeds.generator(seed, seeds.TEST, "bootstrap"),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _mean(x: NDArray[np.float64], axis: int = -1) -> NDArray[np.float64]:
    return np.mean(x, axis=axis)


def _ratio_of_means(x: NDArray[np.float64], y: NDArray[np.float64], axis: int = -1) -> NDArray[np.float64]:
    return pct_oracle(x, y, axis=axis)


def _check_level(confidence_level: float, n_resamples: int) -> None:
    check_level(confidence_level)
    check_int(n_resamples, "n_resamples", 1)


def summarize(
    df: pd.DataFrame,
    metric: str = "return",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-policy summary of :func:`evaluate`'s table, in the table's policy order.

    Columns: ``n_users``; the mean of ``metric`` (default ``return``) with ``<metric>_ci_low`` and
    ``<metric>_ci_high`` (percentile bootstrap, ``scipy.stats.bootstrap``, seeded by ``seed``); ``pct_oracle`` as a
    ratio of means, ``100 * mean(expected_return) / mean(oracle_return)``, with a paired bootstrap CI (users
    resampled together with their oracle value); then the means of ``regret``, ``engagement_rate``, ``coverage``,
    ``entropy``, ``gini`` and ``repeat_rate``. The ratio of means, not the mean of per-user ratios, is what "% of
    oracle" means in the book: total engagement over total achievable engagement.
    """
    _check_level(confidence_level, n_resamples)
    missing = {"policy", metric, "expected_return", "oracle_return"} - set(df.columns)
    if missing:
        raise ValueError(f"df lacks column(s) {sorted(missing)}; pass the table evaluate() returns")
    rows = []
    for name, group in df.groupby("policy", sort=False, observed=True):
        values = group[metric].to_numpy(dtype=np.float64)
        expected = group["expected_return"].to_numpy(dtype=np.float64)
        oracle = group["oracle_return"].to_numpy(dtype=np.float64)
        low, high = _bootstrap((values,), _mean, confidence_level, n_resamples, seed)
        pct_low, pct_high = _bootstrap((expected, oracle), _ratio_of_means, confidence_level, n_resamples, seed, True)
        row: dict[str, Any] = {
            "policy": name,
            "n_users": len(group),
            metric: values.mean(),
            f"{metric}_ci_low": low,
            f"{metric}_ci_high": high,
            "pct_oracle": pct_oracle(expected, oracle),
            "pct_oracle_ci_low": pct_low,
            "pct_oracle_ci_high": pct_high,
        }
        for column in METRIC_COLUMNS:
            if column not in row and column not in ("return", "oracle_return", "pct_oracle") and column in group:
                row[column] = group[column].mean()
        rows.append(row)
    return pd.DataFrame(rows).set_index("policy")


def paired_difference(
    df: pd.DataFrame,
    a: str,
    b: str,
    metric: str = "return",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Mean of ``metric[a] - metric[b]`` over the same users, with a bootstrap CI and both standard errors.

    Returns a dict: ``mean_difference``, ``ci_low``, ``ci_high`` (percentile bootstrap of the per-user
    differences), ``paired_se`` (``sd(differences) / sqrt(n)``), ``unpaired_se`` (``sqrt(var_a / n + var_b / n)``,
    what one would report by comparing two independent means — shown to teach how much pairing buys), ``n``.
    Both policies must have been evaluated on the same users (one :func:`evaluate` call).
    """
    _check_level(confidence_level, n_resamples)
    if metric not in df.columns:
        raise ValueError(f"metric {metric!r} is not a column of df; columns: {list(df.columns)}")
    series = {}
    for label, name in (("a", a), ("b", b)):
        group = df[df["policy"] == name]
        if group.empty:
            raise ValueError(f"{label}: no policy named {name!r} in df; policies: {list(pd.unique(df['policy']))}")
        series[label] = group.set_index("user")[metric].sort_index()
    if not series["a"].index.equals(series["b"].index):
        raise ValueError(f"a={a!r} and b={b!r} were not evaluated on the same users")
    x = series["a"].to_numpy(dtype=np.float64)
    y = series["b"].to_numpy(dtype=np.float64)
    difference = x - y
    n = len(difference)
    low, high = _bootstrap((difference,), _mean, confidence_level, n_resamples, seed)
    ddof = 1 if n > 1 else 0
    return {
        "mean_difference": float(difference.mean()),
        "ci_low": low,
        "ci_high": high,
        "paired_se": float(difference.std(ddof=ddof) / np.sqrt(n)),
        "unpaired_se": float(np.sqrt(x.var(ddof=ddof) / n + y.var(ddof=ddof) / n)),
        "n": float(n),
    }


def interquartile_mean(values: ArrayLike) -> float:
    """Mean of the middle 50 % of ``values`` (``scipy.stats.trim_mean(values, 0.25)``): robust across seeds."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError("values must not be empty")
    return float(_iqm(array))


def _iqm(values: NDArray[np.float64], axis: int = -1) -> Any:
    return stats.trim_mean(values, 0.25, axis=axis)


def aggregate_runs(
    results: pd.DataFrame,
    by: str | Sequence[str],
    value: str = "pct_oracle",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Aggregate one score per training run (e.g. a sweep's ``results.csv``) over the runs of each configuration.

    Agarwal et al. (2021) recommend the interquartile mean over runs with a bootstrap interval over runs; with a
    single task that is the percentile bootstrap of the IQM, resampling runs. With the handful of runs RL
    experiments have, a bootstrap interval is too narrow (it cannot see beyond the values drawn), so the Student-t
    interval of the mean is reported next to it.

    Returns:
        One row per configuration (indexed by ``by``): ``n_runs``, ``iqm`` with ``iqm_ci_low``/``_high``
        (bootstrap), ``mean`` with ``mean_ci_low``/``_high`` (Student t), ``min``, ``median`` and ``max``.
    """
    _check_level(confidence_level, n_resamples)
    keys = [by] if isinstance(by, str) else list(by)
    missing = [column for column in [*keys, value] if column not in results.columns]
    if missing:
        raise ValueError(f"results has no column(s) {missing}; columns: {list(results.columns)}")
    rows = []
    for group, frame in results.groupby(keys, sort=False):
        values = frame[value].to_numpy(dtype=np.float64)
        mean, mean_low, mean_high = mean_confidence_interval(values, confidence_level)
        low, high = _bootstrap((values,), _iqm, confidence_level, n_resamples, seed)
        rows.append(
            {
                **dict(zip(keys, group if isinstance(group, tuple) else (group,))),
                "n_runs": len(values),
                "iqm": interquartile_mean(values),
                "iqm_ci_low": low,
                "iqm_ci_high": high,
                "mean": mean,
                "mean_ci_low": mean_low,
                "mean_ci_high": mean_high,
                "min": float(values.min()),
                "median": float(np.median(values)),
                "max": float(values.max()),
            }
        )
    return pd.DataFrame(rows).set_index(keys)


def performance_profile(
    results: pd.DataFrame,
    by: str,
    value: str = "pct_oracle",
    thresholds: ArrayLike | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Run-score distributions (Agarwal et al. 2021): for each threshold ``tau``, the fraction of a configuration's
    runs that score above ``tau``, with a percentile-bootstrap band over runs.

    Args:
        results: one row per run.
        by: the column naming the configuration.
        value: the score column.
        thresholds: the ``tau`` grid (default: 100 points spanning the observed scores).

    Returns:
        Tidy rows ``by``, ``threshold``, ``fraction``, ``ci_low``, ``ci_high``.
    """
    _check_level(confidence_level, n_resamples)
    if by not in results.columns or value not in results.columns:
        raise ValueError(f"results must have columns {by!r} and {value!r}; columns: {list(results.columns)}")
    scores = results[value].to_numpy(dtype=np.float64)
    grid = (
        np.linspace(scores.min() - 1e-9, scores.max(), 100)
        if thresholds is None
        else np.asarray(thresholds, dtype=np.float64)
    )
    frames = []
    for name, frame in results.groupby(by, sort=False):
        values = frame[value].to_numpy(dtype=np.float64)
        above = (values[:, None] > grid[None, :]).astype(np.float64)  # (runs, thresholds)
        rng = seeds.generator(seed, seeds.TEST, "bootstrap", "profile")
        draws = rng.integers(0, len(values), size=(n_resamples, len(values)))
        resampled = above[draws].mean(axis=1)  # (resamples, thresholds)
        tail = (1 - confidence_level) / 2
        frames.append(
            pd.DataFrame(
                {
                    by: name,
                    "threshold": grid,
                    "fraction": above.mean(axis=0),
                    "ci_low": np.quantile(resampled, tail, axis=0),
                    "ci_high": np.quantile(resampled, 1 - tail, axis=0),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def mean_confidence_interval(
    values: ArrayLike,
    confidence_level: float = 0.95,
    method: str = "t",
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(mean, low, high)`` of a few numbers, e.g. one score per training seed.

    ``method="t"`` (default) uses Student's t, the honest choice for the handful of seeds RL papers have;
    ``method="bootstrap"`` uses ``scipy.stats.bootstrap`` (percentile), which is too narrow below ~20 values.
    """
    _check_level(confidence_level, n_resamples)
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError("values must not be empty")
    mean = float(array.mean())
    if array.size < 2:
        return mean, float("nan"), float("nan")
    if method == "t":
        half = stats.t.ppf(0.5 + confidence_level / 2, array.size - 1) * stats.sem(array)
        return mean, float(mean - half), float(mean + half)
    if method == "bootstrap":
        low, high = _bootstrap((array,), _mean, confidence_level, n_resamples, seed)
        return mean, low, high
    raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")


def verdict(difference: Mapping[str, Any]) -> str:
    """How a paired difference reads: ``"better than"`` if its interval is above 0, ``"worse than"`` if below,
    else ``"statistically indistinguishable from"``.

    ``difference`` is anything with ``ci_low`` and ``ci_high`` (a :func:`~recbook.evaluation.paired_difference` dict, a
    table row);
    an interval that touches 0 is indistinguishable: the data do not tell the sign.
    """
    if difference["ci_low"] > 0:
        return "better than"
    if difference["ci_high"] < 0:
        return "worse than"
    return "statistically indistinguishable from"


def interval(means: Iterable[float], lows: Iterable[float], highs: Iterable[float]) -> list[str]:
    """``"+m [+low, +high]"`` for each difference and its interval, four decimals with signs (the book's style)."""
    return [f"{a:+.4f} [{b:+.4f}, {c:+.4f}]" for a, b, c in zip(means, lows, highs)]


def versus(
    df: pd.DataFrame, name: str, reference: str, metric: str = "return", n_resamples: int = 2000
) -> tuple[str, dict[str, float]]:
    """:func:`~recbook.evaluation.paired_difference` of ``name`` minus ``reference`` in ``df``, and its text ``"+m
    [+low, +high]"``.

    Returns ``(text, difference)``: the printed form for a table and the dict for the assertions and numbers.
    """
    d = paired_difference(df, name, reference, metric=metric, n_resamples=n_resamples)
    return interval([d["mean_difference"]], [d["ci_low"]], [d["ci_high"]])[0], d
