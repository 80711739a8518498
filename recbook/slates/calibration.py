"""A slate catalogue calibrated from real logs: the Open Bandit Dataset's uniform-random sample (``load_obd``).

ZOZOTOWN's random logger showed each of 80 items at each of 3 positions with probability 1/80, so item, position
and user are independent. From its rows this module estimates, with intervals at ``confidence_level``:

* **item click rates** ``clicks / impressions``, exact (Clopper-Pearson) intervals: with about 0.5 expected clicks
  per item (``n = 125, p = 0.004``) Wilson's 95 % interval covers 91 % of the time, Clopper-Pearson's >= 95 %;
* **position effects** of the position-based model ``P(click | i at j) = theta_j * a_i`` (``theta_1 = 1``), fitted
  by maximum likelihood on the Bernoulli rows (:func:`fit_pbm`), with profile-likelihood intervals: a bootstrap ratio
  of a dozen clicks is discrete and skewed, and in the (here near-exact) Poisson form of the model the profile over
  the 80 item effects equals the likelihood conditional on each item's clicks, which removes them exactly;
* **the spread of attractiveness** ``a_i`` across items: the coefficient of variation ``cv`` of a gamma law of
  ``a_i`` (gamma-Poisson marginal likelihood, profile interval). Raw rates overstate it: they are mostly noise.

The cascade environment (:mod:`recbook.choice`) is then set to reproduce them on a user's first step:

* ``alpha = concentration * q / sum(q)``, ``q`` the fitted gamma law's quantiles ``(r - 1/2) / N`` given to the items
  in the order ``r`` of their shrunken (posterior-mean) rates (Shen and Louis's triple-goal rule: the catalogue has
  the estimated spread and the estimated order). As ``s_i = N p_i`` is small against ``nu``, an item's click rate
  is proportional to ``E[p_i] = alpha_i / sum(alpha)``;
* ``attention`` (:func:`cascade_attention`): the largest attentions whose cascade reproduces every ``theta_j /
  theta_1``, and ``no_click_mass`` the ``nu`` that then reproduces the click level.

Assumed, not estimated: ``sum(alpha)`` (how peaked one user is: the rows are single impressions of different visits
and cannot tell one user from another; default ``N``, the book's Dirichlet(1) scale); that a logged impression is a
user's first step; that slate items affect each other only through the cascade. Item quality and leaving are not in
the data: the caller passes ``item_quality``, ``leave_rate`` and ``leave_no_click``. CLI: writes the item table.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from recbook import _checks, seeds
from recbook.choice import sample_choices
from recbook.config import EnvConfig
from recbook.ope.obd import load_obd
from recbook.users import sample_preferences

__all__ = ["CalibratedCatalogue", "PBMFit", "calibrate", "calibrate_obd", "cascade_attention", "check_calibration",
           "clopper_pearson", "count_tables", "fit_pbm", "simulate_uniform_slates", "take_probability"]

Array = NDArray[np.float64]


def clopper_pearson(clicks: ArrayLike, trials: ArrayLike, confidence_level: float = 0.95) -> tuple[Array, Array]:
    """Exact (Clopper-Pearson) interval ``(low, high)`` of each ``clicks / trials`` (arrays of one shape)."""
    tail = (1.0 - _checks.check_level(confidence_level)) / 2.0
    trials = _checks.check_reals(trials, "trials", low=0.0, low_open=True)
    clicks = _checks.check_reals(clicks, "clicks", low=0.0)
    if clicks.shape != trials.shape or np.any(clicks > trials):
        raise ValueError(f"clicks must have the shape of trials {trials.shape} and be <= trials, got {clicks!r}")
    low = np.where(clicks > 0, stats.beta.ppf(tail, np.maximum(clicks, 1.0), trials - clicks + 1.0), 0.0)
    high = np.where(clicks < trials, stats.beta.ppf(1.0 - tail, clicks + 1.0, np.maximum(trials - clicks, 1)), 1.0)
    return low, high


def count_tables(logs: pd.DataFrame, n_items: int, n_positions: int) -> tuple[Array, Array]:
    """``(shown, clicked)``, each ``(n_items, n_positions)``: impressions and clicks of each item at each position,
    from ``logs`` with columns ``item_id``, ``position`` (0-based), ``click`` (0/1), as ``load_obd`` returns."""
    n_items, n_positions = _checks.check_int(n_items, "n_items", 1), _checks.check_int(n_positions, "n_positions", 1)
    missing = {"item_id", "position", "click"} - set(getattr(logs, "columns", ()))
    if missing:
        raise ValueError(f"logs must be a frame with columns item_id, position, click; lacks {sorted(missing)}")
    items, positions, clicks = (logs[c].to_numpy() for c in ("item_id", "position", "click"))
    if (np.any((items < 0) | (items >= n_items)) or np.any((positions < 0) | (positions >= n_positions))
            or not np.all((clicks == 0) | (clicks == 1))):
        raise ValueError(f"logs must hold item_id in [0, {n_items}), position in [0, {n_positions}), click 0 or 1")
    shown, clicked = np.zeros((n_items, n_positions)), np.zeros((n_items, n_positions))
    np.add.at(shown, (items, positions), 1.0)
    np.add.at(clicked, (items, positions), clicks.astype(np.float64))
    if np.any(shown.sum(axis=1) == 0) or np.any(shown.sum(axis=0) == 0):
        raise ValueError("logs must show every item and every position at least once")
    return shown, clicked


def _row_scale(shown: Array, clicked: Array, other: Array) -> Array:
    """Per row ``r``: the ``x >= 0`` maximising ``sum_c clicked log(x) + (shown - clicked) log(1 - other_c x)``."""
    total, x = clicked.sum(axis=1), np.zeros(len(shown))
    rows = total > 0
    shown, clicked, total = shown[rows], clicked[rows], total[rows]
    misses = (shown - clicked) * other
    low, high = np.zeros(len(total)), 1.0 / np.where(shown > 0, other, 0.0).max(axis=1)  # the score falls from +inf
    guess = np.minimum(total / (shown * other).sum(axis=1), 0.5 * high)  # at 0 to -inf at high
    for _ in range(200):  # Newton, kept inside the bracket by bisection
        open_ = 1.0 - other * guess[:, None]
        score = total / guess - (misses / open_).sum(axis=1)
        low, high = np.where(score > 0, guess, low), np.where(score > 0, high, guess)
        step = guess + score / (total / guess**2 + (misses * other / open_**2).sum(axis=1))
        new = np.where((step > low) & (step < high), step, 0.5 * (low + high))
        done, guess = np.all(np.abs(new - guess) <= 1e-14 * guess), new
        if done:
            break
    x[rows] = guess
    return x


class PBMFit(NamedTuple):
    """A fitted position-based model: ``P(click | i at j) = position_effect[j] * attractiveness[i]``."""

    position_effect: Array  #: ``(n_positions,)``, ``theta_j / theta_1`` (the first is 1)
    attractiveness: Array  #: ``(n_items,)``, each item's click probability at the first position
    log_likelihood: float  #: of the Bernoulli rows


def fit_pbm(shown: ArrayLike, clicked: ArrayLike, fixed: dict[int, float] | None = None) -> PBMFit:
    """Maximum-likelihood position-based model from count tables (:func:`count_tables`), by block coordinate ascent.

    Each block (every ``a_i`` given ``theta``, then every ``theta_j`` given ``a``) is solved exactly; the
    log-likelihood is concave in each. ``fixed`` holds some ``theta_j`` (``j >= 1``) at given values (a profile).
    """
    shown, clicked = np.asarray(shown, dtype=np.float64), np.asarray(clicked, dtype=np.float64)
    pinned = {0: 1.0, **{_checks.check_int(j, "fixed position", 1, shown.shape[1] - 1):
                         _checks.check_real(v, "fixed value", 0.0, low_open=True) for j, v in (fixed or {}).items()}}
    theta = np.ones(shown.shape[1])
    theta[list(pinned)] = list(pinned.values())
    for _ in range(5000):
        new = _row_scale(shown.T, clicked.T, _row_scale(shown, clicked, theta))
        new[list(pinned)] = list(pinned.values())
        change, theta = np.max(np.abs(new - theta)), new
        if change < 1e-12:
            break
    attractiveness = _row_scale(shown, clicked, theta)
    p = np.outer(attractiveness, theta)
    loglik = np.sum(special.xlogy(clicked, p) + special.xlog1py(shown - clicked, -p))
    return PBMFit(theta, attractiveness, float(loglik))


def _profile_interval(shown: Array, clicked: Array, fit: PBMFit, position: int, level: float) -> tuple[float, float]:
    """Likelihood-ratio interval of ``theta_position / theta_1``."""
    cut = fit.log_likelihood - 0.5 * stats.chi2.ppf(level, 1)

    def gap(log_value: float) -> float:
        return fit_pbm(shown, clicked, {position: float(np.exp(log_value))}).log_likelihood - cut

    start, ends = float(np.log(max(fit.position_effect[position], 1e-12))), []
    for direction in (-1.0, 1.0):
        step = 0.25
        while gap(start + direction * step) > 0.0 and step < 64.0:
            step *= 2.0
        end = optimize.brentq(gap, *sorted((start, start + direction * step)), xtol=1e-10) if step < 64 else None
        ends.append((0.0 if direction < 0 else np.inf) if end is None else float(np.exp(end)))
    return ends[0], ends[1]


def _gamma_poisson(clicks: Array, exposure: Array, cv: float) -> tuple[float, float]:
    """``(log-likelihood maximised over the mean m, that m)`` of ``clicks_i ~ Poisson(exposure_i a_i)``,
    ``a_i ~ Gamma(mean m, coefficient of variation cv)``; ``cv`` below 1e-3 is taken as 0 (Poisson)."""

    def minus_loglik(log_mean: float) -> float:
        mu, shape = np.exp(log_mean) * exposure, 1.0 / max(cv, 1e-3) ** 2
        if cv < 1e-3:
            return -float(np.sum(special.xlogy(clicks, mu) - mu))
        return -float(np.sum(special.gammaln(clicks + shape) - special.gammaln(shape)
                             + shape * np.log(shape / (shape + mu)) + special.xlogy(clicks, mu / (shape + mu))))
    centre = np.log(clicks.sum() / exposure.sum())
    best = optimize.minimize_scalar(minus_loglik, bounds=(centre - 8, centre + 8), method="bounded",
                                    options={"xatol": 1e-10})
    return -float(best.fun), float(np.exp(best.x))


def _item_spread(clicks: Array, exposure: Array, level: float) -> tuple[float, float, float]:
    """``(cv, low, high)``: the gamma law's coefficient of variation (maximum likelihood, profile interval)."""
    grid = np.concatenate([[0.0], np.geomspace(1e-3, 10.0, 81)])
    values = [_gamma_poisson(clicks, exposure, cv)[0] for cv in grid]
    i = int(np.argmax(values))
    cv = float(grid[i])
    if 0 < i < len(grid) - 1:
        found = optimize.minimize_scalar(lambda c: -_gamma_poisson(clicks, exposure, c)[0],
                                         bounds=(grid[i - 1], grid[i + 1]), method="bounded")
        cv = float(found.x) if -found.fun >= values[i] else cv
    cut = _gamma_poisson(clicks, exposure, cv)[0] - 0.5 * stats.chi2.ppf(level, 1)
    def gap(c: float) -> float:
        return _gamma_poisson(clicks, exposure, c)[0] - cut
    low = 0.0 if gap(0.0) >= 0 else optimize.brentq(gap, 0.0, cv, xtol=1e-8)
    high = np.inf if gap(grid[-1]) >= 0 else optimize.brentq(gap, cv, grid[-1], xtol=1e-8)
    return cv, float(low), float(high)


def take_probability(alpha: ArrayLike, no_click_mass: float) -> Array:
    """``E[s_i / (s_i + nu)]`` per item ``(N,)``, the probability that an examined item is taken on a user's first
    step: ``s_i = N p_i``, ``p ~ Dirichlet(alpha)``. Exact: ``1 - 2F1(1, alpha_i; sum(alpha); -N / nu)`` (Euler's
    integral, as ``p_i ~ Beta(alpha_i, sum(alpha) - alpha_i)``)."""
    alpha = _checks.check_reals(alpha, "alpha", low=0.0, low_open=True, shape=(None,))
    nu = _checks.check_real(no_click_mass, "no_click_mass", low=0.0)
    return np.ones(alpha.size) if nu == 0.0 else 1.0 - special.hyp2f1(1.0, alpha, alpha.sum(), -alpha.size / nu)


def cascade_attention(position_effect: ArrayLike, take: float) -> Array:
    """The largest attentions ``(k,)`` in ``[0, 1]`` whose cascade reproduces the relative ``position_effect``.

    ``take`` is the mean probability that an examined item is taken. Position ``j`` then gets clicks at the rate
    ``attention_j * take * prod_{l<j}(1 - attention_l * take)`` (slate items independent, as under a uniform
    logger). Solving ``rate_j = scale * position_effect_j`` position by position works for every ``scale`` small
    enough; the largest (by bisection) gives the most attended position attention 1.
    """
    effect = _checks.check_reals(position_effect, "position_effect", low=0.0, shape=(None,))
    take = _checks.check_probability(take, "take")
    if effect.max() <= 0.0:
        raise ValueError(f"position_effect must have a positive entry, got {effect!r}")

    def attention(scale: float) -> Array:
        out, reach = np.empty(effect.size), 1.0
        for j, value in enumerate(effect):
            out[j] = scale * value / reach if reach > 0 else np.inf
            reach *= 1.0 - min(out[j], 1.0) * take
        return out

    low, high = 0.0, 1.0 / effect.max()
    for _ in range(100):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if attention(middle).max() <= 1.0 else (low, middle)
    return np.minimum(attention(low), 1.0)


@dataclass(frozen=True, eq=False)
class CalibratedCatalogue:
    """What :func:`calibrate` estimated (intervals at ``confidence_level``) and the environment parameters made
    from it. Item arrays are ``(n_items,)``, position arrays ``(n_positions,)``; rates are clicks per impression."""

    n_rows: int  #: logged impressions
    n_clicks: int  #: logged clicks
    confidence_level: float
    clicks: Array  #: per item
    impressions: Array  #: per item
    item_rate: Array  #: clicks / impressions (positions pooled; balanced by the uniform logger)
    item_rate_low: Array  #: Clopper-Pearson
    item_rate_high: Array
    shrunk_rate: Array  #: posterior mean of ``a_i`` under the fitted gamma law (click rate at position 1)
    position_rate: Array  #: clicks / impressions per position (items pooled)
    position_rate_low: Array  #: Clopper-Pearson
    position_rate_high: Array
    position_effect: Array  #: PBM ``theta_j / theta_1`` (first is 1)
    position_effect_low: Array  #: profile likelihood
    position_effect_high: Array
    item_spread: float  #: cv of attractiveness across items used for alpha (gamma-Poisson ML, or the given one)
    item_spread_low: float  #: profile likelihood
    item_spread_high: float
    concentration: float  #: ``sum(alpha)``, assumed
    alpha: Array  #: the Dirichlet prior's concentration per item
    no_click_mass: float  #: ``nu`` that reproduces the logged click level with :attr:`attention`
    attention: Array  #: the cascade's attention per position (:func:`cascade_attention`)
    attention_low: Array  #: range over the corners of the box of position-effect intervals (``nu`` fixed)
    attention_high: Array

    def attention_for(self, no_click_mass: float, slate_size: int | None = None) -> Array:
        """The attentions ``(slate_size,)`` that reproduce the first ``slate_size`` position effects when the
        no-click mass is ``no_click_mass`` (the click level then follows from ``nu``)."""
        k = self.position_effect.size if slate_size is None else slate_size
        k = _checks.check_int(k, "slate_size", 1, self.position_effect.size)
        return cascade_attention(self.position_effect[:k], float(take_probability(self.alpha, no_click_mass).mean()))

    def env_config(self, slate_size: int = 3, no_click_mass: float | None = None, **overrides: Any) -> EnvConfig:
        """The cascade env of this catalogue. Another ``no_click_mass`` than the calibrated one changes the click
        level and gets its own attentions (:meth:`attention_for`); ``slate_size`` is at most the logged positions
        unless ``attention`` is overridden; the items' spread of click rates shrinks when ``nu`` is not large against
        the scores. Quality and leaving are not in the logs: pass ``item_quality``, ``leave_rate``,
        ``leave_no_click`` (and any other field) in ``overrides``."""
        nu = self.no_click_mass if no_click_mass is None else _checks.check_real(no_click_mass, "no_click_mass", 0.0)
        attention = overrides.pop("attention", None)
        if attention is None:
            attention = tuple(float(a) for a in self.attention_for(nu, slate_size))
        fields = {"n_items": self.alpha.size, "alpha": tuple(float(a) for a in self.alpha), "slate_size": slate_size,
                  "choice_model": "cascade", "no_click_mass": nu, "attention": attention}
        return EnvConfig(**{**fields, **overrides})

    def to_frame(self) -> pd.DataFrame:
        """The table of ``data/slates/obd_catalogue.csv``: item, clicks, impressions, rate, low, high, alpha."""
        return pd.DataFrame({"item": np.arange(self.alpha.size), "clicks": self.clicks.astype(int),
                             "impressions": self.impressions.astype(int), "rate": self.item_rate,
                             "low": self.item_rate_low, "high": self.item_rate_high, "alpha": self.alpha})

    def positions_frame(self) -> pd.DataFrame:
        """One row per position: click rate, effect and attention, each with its interval."""
        names = ("position_rate", "position_effect", "attention")
        columns = {f"{n}{end}": getattr(self, n + end) for n in names for end in ("", "_low", "_high")}
        return pd.DataFrame({"position": np.arange(1, self.position_effect.size + 1), **columns})


def calibrate(logs: pd.DataFrame, n_items: int, n_positions: int, confidence_level: float = 0.95,
              concentration: float | None = None, item_spread: float | None = None) -> CalibratedCatalogue:
    """Estimate items and positions from a uniform logger's rows and make the cascade's parameters (module doc).

    ``concentration`` is ``sum(alpha)`` (default ``n_items``: mean ``alpha`` 1); ``item_spread`` replaces the
    estimated coefficient of variation of attractiveness (e.g. an end of its interval, for a sensitivity analysis).
    """
    level = _checks.check_level(confidence_level)
    shown, clicked = count_tables(logs, n_items, n_positions)
    if clicked.sum() == 0:
        raise ValueError("logs must hold at least one click")
    total = n_items if concentration is None else _checks.check_real(concentration, "concentration", 0, low_open=True)
    fit = fit_pbm(shown, clicked)
    effect, bounds = fit.position_effect, [(1.0, 1.0)]
    bounds += [_profile_interval(shown, clicked, fit, j, level) for j in range(1, n_positions)]
    clicks, exposure = clicked.sum(axis=1), shown @ effect
    cv, cv_low, cv_high = _item_spread(clicks, exposure, level)
    cv = cv if item_spread is None else _checks.check_real(item_spread, "item_spread", 0.0)
    mean, shape = _gamma_poisson(clicks, exposure, cv)[1], 1.0 / max(cv, 1e-3) ** 2
    shrunk = np.full(n_items, mean) if cv < 1e-3 else (clicks + shape) / (exposure + shape / mean)
    ranks = np.argsort(np.argsort(shrunk, kind="stable"), kind="stable")
    quantiles = np.ones(n_items) if cv < 1e-3 else stats.gamma.ppf((ranks + 0.5) / n_items, shape, scale=1 / shape)
    alpha = total * quantiles / quantiles.sum()

    def rate_gap(log_nu: float) -> float:  # the env's click rate at position 1 minus the model's
        take = float(take_probability(alpha, float(np.exp(log_nu))).mean())
        return cascade_attention(effect, take)[0] * take - float(fit.attractiveness.mean())

    if rate_gap(np.log(1e-9)) < 0:
        raise ValueError("logs have more clicks than a cascade with these position effects can produce")
    nu = float(np.exp(optimize.brentq(rate_gap, np.log(1e-9), np.log(1e12), xtol=1e-12)))
    take = float(take_probability(alpha, nu).mean())
    corners = np.array(np.meshgrid(*[np.minimum(b, 1e6) for b in bounds])).reshape(n_positions, -1).T
    attentions = np.array([cascade_attention(effects, take) for effects in [*corners, effect]])
    position_low, position_high = clopper_pearson(clicked.sum(axis=0), shown.sum(axis=0), level)
    item_low, item_high = clopper_pearson(clicks, shown.sum(axis=1), level)
    return CalibratedCatalogue(
        n_rows=int(shown.sum()), n_clicks=int(clicks.sum()), confidence_level=level, clicks=clicks,
        impressions=shown.sum(axis=1), item_rate=clicks / shown.sum(axis=1), item_rate_low=item_low,
        item_rate_high=item_high, shrunk_rate=shrunk, position_rate=clicked.sum(axis=0) / shown.sum(axis=0),
        position_rate_low=position_low, position_rate_high=position_high, position_effect=effect,
        position_effect_low=np.array([b[0] for b in bounds]), position_effect_high=np.array([b[1] for b in bounds]),
        item_spread=cv, item_spread_low=cv_low, item_spread_high=cv_high, concentration=float(total), alpha=alpha,
        no_click_mass=nu, attention=attentions[-1], attention_low=attentions.min(axis=0),
        attention_high=attentions.max(axis=0))


def calibrate_obd(campaign: str = "all", **options: Any) -> CalibratedCatalogue:
    """:func:`calibrate` on the Open Bandit Dataset's uniform-random logs (80 items, 3 positions)."""
    return calibrate(load_obd("random", campaign), 80, 3, **options)


def simulate_uniform_slates(config: EnvConfig, n_users: int, seed: int = 0) -> pd.DataFrame:
    """The first step of ``n_users`` fresh users of ``config``, each shown a uniformly random slate: rows
    ``item_id``, ``position`` (0-based), ``click`` (the drawn choice) and ``probability`` (its probability, far less
    noisy on average), one per slate position. Users, slates and choices: TEST streams of ``seed``."""
    n_users = _checks.check_int(n_users, "n_users", low=1)
    users, slates_rng, choices = (seeds.generator(seed, seeds.TEST, purpose, "calibration")
                                  for purpose in ("users", "policy", "clicks"))
    k, n, parts = config.slate_size, config.n_items, []
    for start in range(0, n_users, 10_000):
        size = min(10_000, n_users - start)
        preferences = sample_preferences(users, config.alpha_vector, size)
        slates = np.argsort(slates_rng.random((size, n)), axis=1)[:, :k]
        probabilities = config.choice_probabilities(preferences, np.zeros((size, n), dtype=np.int64), slates)
        chosen = sample_choices(choices, probabilities)
        parts.append(pd.DataFrame({"item_id": slates.ravel(), "position": np.tile(np.arange(k), size),
                                   "click": (chosen[:, None] == np.arange(k)).astype(int).ravel(),
                                   "probability": probabilities[:, :k].ravel()}))
    return pd.concat(parts, ignore_index=True)


def check_calibration(catalogue: CalibratedCatalogue, no_click_mass: float | None = None, n_users: int = 100_000,
                      seed: int = 0) -> pd.DataFrame:
    """The calibrated env under a uniform slate logger beside the logs: each position's click rate (matched only at
    the calibrated ``no_click_mass``) and effect relative to position 1, and the spread (cv) of the items' click
    rates. Columns ``quantity``, ``real``, ``low``, ``high`` (the logs' interval), ``simulated`` (mean choice
    probabilities of :func:`simulate_uniform_slates`) and ``inside`` (in the interval)."""
    c, k = catalogue, catalogue.position_effect.size
    frame = simulate_uniform_slates(c.env_config(k, no_click_mass), n_users, seed)
    rate = frame.groupby("position")["probability"].mean().to_numpy()
    item = frame.groupby("item_id")["probability"].mean().to_numpy()
    rows = [(f"click rate, position {j + 1}", c.position_rate[j], c.position_rate_low[j], c.position_rate_high[j],
             rate[j]) for j in range(k)]
    rows += [(f"position effect {j + 1} / 1", c.position_effect[j], c.position_effect_low[j],
              c.position_effect_high[j], rate[j] / rate[0]) for j in range(1, k)]
    rows.append(("item spread (cv)", c.item_spread, c.item_spread_low, c.item_spread_high, item.std() / item.mean()))
    table = pd.DataFrame(rows, columns=["quantity", "real", "low", "high", "simulated"])
    table["inside"] = (table["low"] <= table["simulated"]) & (table["simulated"] <= table["high"])
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recbook.slates.calibration [--output data/slates/obd_catalogue.csv]``."""
    parser = argparse.ArgumentParser(prog="python -m recbook.slates.calibration", description=calibrate_obd.__doc__)
    parser.add_argument("--output", type=Path, default=Path("data/slates/obd_catalogue.csv"))
    args = parser.parse_args(argv)
    c = calibrate_obd()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    c.to_frame().to_csv(args.output, index=False, float_format="%.6g")
    print(f"wrote {args.output}: {c.n_rows} rows, {c.n_clicks} clicks, no_click_mass {c.no_click_mass:.2f}")
    print(c.positions_frame().to_string(index=False, float_format="%.4g"))
    print(f"item rates {c.item_rate.min():.4g}..{c.item_rate.max():.4g}, spread (cv) {c.item_spread:.3f} "
          f"[{c.item_spread_low:.3f}, {c.item_spread_high:.3f}]; alpha (sum {c.concentration:g}) "
          f"{c.alpha.min():.4f}..{c.alpha.max():.4f}, median {np.median(c.alpha):.4f}")
    print(check_calibration(c).to_string(index=False, float_format="%.4g"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
