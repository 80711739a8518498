"""Off-policy evaluation: hand-checkable logs, unbiasedness, bad logs, reproducibility and DR's double robustness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recbook.config import EnvConfig
from recbook.ope import (
    METHODS,
    Logs,
    collect,
    effective_sample_size,
    estimate,
    estimate_bandit,
    fit_q_function,
    importance_weights,
    overlap,
    replicate,
    summarize_replications,
    true_value,
)
from recbook.ope import target_probabilities
from recbook.ope.fqe import cross_fit as _cross_fit
from recbook.ope.intervals import repeated as _repeated
from recbook.ope.intervals import studentized as _studentized
from recbook.policies import BayesGreedy, EpsilonGreedy, Random, RoundRobin

SMALL = EnvConfig(n_items=3, session_length=2, observation="counts")
FEEDBACK = EnvConfig(n_items=5, session_length=4, observation="feedback")


class Fixed:
    """A counts-observation policy with the same action probabilities at every step."""

    name = "fixed"
    observation = "counts"

    def __init__(self, probabilities: list[float]) -> None:
        self.p = np.asarray(probabilities)

    def action_probabilities(self, observation: np.ndarray) -> np.ndarray:
        return np.tile(self.p, (np.asarray(observation).shape[0], 1))


def _tiny_logs() -> Logs:
    """Two sessions of two steps, logged by a uniform policy (propensity 1/3)."""
    observations = np.array([[[0, 0, 0], [1, 0, 0]], [[0, 0, 0], [0, 0, 1]]], dtype=float)
    return Logs(
        config=SMALL,
        observations=observations,
        actions=np.array([[0, 1], [2, 0]]),
        rewards=np.array([[1.0, 0.5], [0.0, 1.0]]),
        engagement=np.array([[1.0, 0.5], [0.0, 1.0]]),
        propensities=np.full((2, 2), 1 / 3),
        users=np.array([0, 1]),
    )


def test_hand_computed_estimates() -> None:
    logs = _tiny_logs()
    target = Fixed([0.5, 0.5, 0.0])
    # rho: session 0: (1.5, 1.5); session 1: (0, 1.5). Cumulative w: (1.5, 2.25), (0, 0).
    np.testing.assert_allclose(importance_weights(logs, target), [[1.5, 1.5], [0.0, 1.5]])
    assert estimate(logs, target, "is").value == pytest.approx((2.25 * 1.5 + 0) / 2)
    assert estimate(logs, target, "wis").value == pytest.approx(1.5)
    assert estimate(logs, target, "pdis").value == pytest.approx((1.5 * 1 + 2.25 * 0.5 + 0) / 2)
    # WPDIS: step 0: (1.5 * 1 + 0) / 1.5 = 1; step 1: (2.25 * 0.5) / 2.25 = 0.5.
    assert estimate(logs, target, "wpdis").value == pytest.approx(1.5)
    assert estimate(logs, target, "is").ess == pytest.approx(1.0)


def test_dr_with_a_given_q_function_by_hand() -> None:
    logs = _tiny_logs()
    target = Fixed([0.5, 0.5, 0.0])

    def q(observations: np.ndarray, steps: np.ndarray) -> np.ndarray:
        return np.where(steps[:, None] == 0, 1.0, 0.5) * np.ones((len(steps), 3))

    # V(s_0) = 1, V(s_1) = 0.5. Session 0: 1.5 (1 - 1) + 1 * 1 + 2.25 (0.5 - 0.5) + 1.5 * 0.5 = 1.75;
    # session 1: 0 (0 - 1) + 1 + 0 + 0 = 1.
    assert estimate(logs, target, "dr", q_function=q).value == pytest.approx((1.75 + 1.0) / 2)
    assert estimate(logs, target, "dm", q_function=q).value == pytest.approx(1.0)


def test_dr_equals_dm_when_q_is_exact() -> None:
    """Deterministic rewards and an exact Q: every DR correction r + V(s') - Q(s, a) is 0."""
    # Reward of item a at step t is (a + 1) / 10 whatever happened before; the target is uniform on items 0, 1.
    target = Fixed([0.5, 0.5, 0.0])
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 3, size=(50, 2))
    rewards = (actions + 1) / 10

    def q(observations: np.ndarray, steps: np.ndarray) -> np.ndarray:
        immediate = np.array([0.1, 0.2, 0.3])
        future = np.where(steps == 0, 0.15, 0.0)  # the target's expected reward at the last step
        return immediate[None, :] + future[:, None]

    counts = np.zeros((50, 2, 3))
    counts[np.arange(50), 1, actions[:, 0]] = 1
    logs = Logs(SMALL, counts, actions, rewards, rewards, np.full((50, 2), 1 / 3), np.arange(50))
    dr = estimate(logs, target, "dr", q_function=q)
    dm = estimate(logs, target, "dm", q_function=q)
    assert dr.value == pytest.approx(dm.value) == pytest.approx(0.3)
    assert dr.se == pytest.approx(0.0, abs=1e-12)


def test_target_equal_to_logger_has_unit_weights_and_on_policy_value() -> None:
    logging = EpsilonGreedy(FEEDBACK, epsilon=0.3)
    logs = collect(FEEDBACK, logging, 300, seed=1)
    np.testing.assert_allclose(importance_weights(logs, EpsilonGreedy(FEEDBACK, epsilon=0.3)), 1.0)
    on_policy = logs.returns.mean()
    for method in ("is", "wis", "pdis", "wpdis"):
        assert estimate(logs, logging, method).value == pytest.approx(on_policy)
    assert estimate(logs, logging, "is").ess == pytest.approx(300)
    assert overlap(logs, logging)["ess_fraction"].to_numpy() == pytest.approx(1.0)


def test_random_logger_with_deterministic_target_is_unbiased_on_average() -> None:
    """Mean of IS over many small replications is close to the target's true value."""
    config = EnvConfig(n_items=3, session_length=2, observation="feedback")
    target = BayesGreedy(config)
    truth, se = true_value(config, target, n_users=20_000, seed=0)
    values = [estimate(collect(config, Random(config), 400, seed=s), target, "is").value for s in range(40)]
    assert abs(np.mean(values) - truth) < 4 * np.std(values) / np.sqrt(len(values)) + 3 * se


def test_counts_target_reads_feedback_logs() -> None:
    logs = collect(FEEDBACK, EpsilonGreedy(FEEDBACK, epsilon=0.5), 200, seed=0)
    result = estimate(logs, RoundRobin(FEEDBACK), "pdis")
    assert np.isfinite(result.value)
    with pytest.raises(ValueError, match="oracle"):
        from recbook.policies import Oracle

        estimate(logs, Oracle(FEEDBACK), "is")


def test_collect_is_reproducible_and_seeded_by_streams() -> None:
    a = collect(FEEDBACK, EpsilonGreedy(FEEDBACK, epsilon=0.3), 50, seed=3)
    b = collect(FEEDBACK, EpsilonGreedy(FEEDBACK, epsilon=0.3), 50, seed=3)
    c = collect(FEEDBACK, EpsilonGreedy(FEEDBACK, epsilon=0.3), 50, seed=3, stream="validation")
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.observations, b.observations)
    assert not np.array_equal(a.actions, c.actions)
    target = EpsilonGreedy(FEEDBACK, epsilon=0.1)
    first, second = estimate(a, target, "dr", seed=0), estimate(b, target, "dr", seed=0)
    assert (first.value, first.ci_low, first.ci_high) == (second.value, second.ci_low, second.ci_high)


def test_logs_shapes_and_propensities() -> None:
    logs = collect(FEEDBACK, EpsilonGreedy(FEEDBACK, epsilon=0.3), 20, seed=0)
    assert logs.observations.shape == (20, 4, 16) and logs.actions.shape == (20, 4)
    assert np.all((logs.propensities >= 0.3 / 5) & (logs.propensities <= 1.0))
    np.testing.assert_allclose(logs.rewards, logs.engagement)  # expected feedback


def test_frame_round_trip() -> None:
    logs = collect(FEEDBACK, EpsilonGreedy(FEEDBACK, epsilon=0.3), 10, seed=0)
    frame = logs.to_frame()
    assert list(frame.columns[:7]) == ["user", "step", "action", "reward", "engagement", "propensity", "done"]
    assert frame["done"].sum() == 10
    again = Logs.from_frame(frame.sample(frac=1.0, random_state=0), FEEDBACK)
    np.testing.assert_array_equal(again.actions, logs.actions)
    np.testing.assert_allclose(again.observations, logs.observations)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="propensity"), "lacks column"),
        (lambda f: f.drop(columns="obs_3"), "obs_3"),
        (lambda f: f.assign(propensity=0.0), "propensity 0"),
        (lambda f: f.assign(propensity=1.5), r"\(0, 1\]"),
        (lambda f: f.assign(propensity=-0.1), r"\(0, 1\]"),
        (lambda f: f.assign(propensity=np.nan), "missing values"),
        (lambda f: f.iloc[1:], "same number of steps"),
        (lambda f: f.assign(step=0), "steps 0..3"),
        (lambda f: f.assign(action=7), "actions"),
    ],
)
def test_bad_logs_get_clear_errors(change, message: str) -> None:
    frame = collect(FEEDBACK, EpsilonGreedy(FEEDBACK, epsilon=0.3), 5, seed=0).to_frame()
    with pytest.raises(ValueError, match=message):
        Logs.from_frame(change(frame), FEEDBACK)


def test_bad_arguments() -> None:
    logs = _tiny_logs()
    with pytest.raises(ValueError, match="method"):
        estimate(logs, Fixed([1, 0, 0]), "magic")
    with pytest.raises(ValueError, match="action_probabilities"):
        estimate(logs, object(), "is")
    with pytest.raises(ValueError, match="no overlap"):
        estimate(logs, Fixed([0.0, 0.0, 1.0]), "wis")
    with pytest.raises(ValueError, match="n_users"):
        collect(FEEDBACK, Random(FEEDBACK), 0, seed=0)
    with pytest.raises(ValueError, match="propensit"):
        Logs(
            SMALL,
            np.zeros((1, 2, 3)),
            np.zeros((1, 2), int),
            np.zeros((1, 2)),
            np.zeros((1, 2)),
            np.zeros((1, 2)),
            np.zeros(1, int),
        )
    with pytest.raises(ValueError, match="confidence_level"):
        estimate(logs, Fixed([1, 0, 0]), "is", confidence_level=1.5)
    with pytest.raises(ValueError, match="n_resamples"):
        estimate(logs, Fixed([1, 0, 0]), "is", n_resamples=-1)
    with pytest.raises(ValueError, match="splits"):
        estimate(logs, Fixed([1, 0, 0]), "dr", splits=0)
    with pytest.raises(ValueError, match="folds"):
        estimate(logs, Fixed([1, 0, 0]), "dr", folds=True)


# -- intervals ------------------------------------------------------------------------------------------------
def test_studentized_bootstrap_covers_a_skewed_mean_where_the_normal_interval_does_not() -> None:
    """Means of 100 lognormal(0, 1.5) draws: skewed like the weighted returns of long sessions."""
    rng = np.random.default_rng(0)
    truth = np.exp(1.5**2 / 2)
    normal = studentized = 0
    for i in range(400):
        x = rng.lognormal(0.0, 1.5, 100)
        plain = _studentized("x", x, 0.0, 0.95, 0, np.random.default_rng(i))
        boot = _studentized("x", x, 0.0, 0.95, 1000, np.random.default_rng(i))
        assert plain.ci_low < plain.value < plain.ci_high and plain.se == boot.se
        # Right-skewed data: the interval reaches further above the mean than below it.
        assert boot.ci_high - boot.value > boot.value - boot.ci_low
        normal += plain.covers(truth)
        studentized += boot.covers(truth)
    assert normal / 400 < 0.9 <= studentized / 400
    assert studentized - normal >= 12  # 3 points


def test_is_and_pdis_intervals_are_studentized_bootstrap_and_seeded() -> None:
    config = EnvConfig(n_items=5, session_length=8, observation="feedback")
    logs = collect(config, EpsilonGreedy(config, epsilon=0.3), 500, seed=0)
    target = EpsilonGreedy(config, epsilon=0.1)
    for method in ("is", "pdis"):
        normal = estimate(logs, target, method, n_resamples=0)
        boot = estimate(logs, target, method, seed=3)
        assert boot.value == normal.value and boot.se == normal.se
        z = (normal.ci_high - normal.value) / normal.se
        assert z == pytest.approx(1.959964, abs=1e-5)
        assert (boot.ci_low, boot.ci_high) != (normal.ci_low, normal.ci_high)
        assert boot.ci_high - boot.value > boot.value - boot.ci_low  # weights are right-skewed
        again = estimate(logs, target, method, seed=3)
        assert (again.ci_low, again.ci_high) == (boot.ci_low, boot.ci_high)
        other = estimate(logs, target, method, seed=4)
        assert (other.ci_low, other.ci_high) != (boot.ci_low, boot.ci_high)
    constant = _studentized("x", np.ones(10), 0.0, 0.95, 100, np.random.default_rng(0))
    assert (constant.ci_low, constant.value, constant.ci_high) == (1.0, 1.0, 1.0)


def test_repeated_cross_fitting_by_hand() -> None:
    # Two splits whose estimates are 2 and 3, each with standard error sqrt(1/3).
    result = _repeated("dr", np.array([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]), 3.0, 0.95)
    assert result.value == pytest.approx(2.5)
    assert result.se == pytest.approx(np.sqrt(1 / 3 + 0.25))
    assert result.ci_high - result.value == pytest.approx(1.959964 * result.se, rel=1e-6)


def test_dr_averages_its_splits_and_widens_by_their_spread() -> None:
    config = EnvConfig(n_items=5, session_length=6, observation="feedback")
    logs = collect(config, EpsilonGreedy(config, epsilon=0.3), 400, seed=1)
    target = EpsilonGreedy(config, epsilon=0.1)
    single = estimate(logs, target, "dr", splits=1, seed=7)
    repeated = estimate(logs, target, "dr", splits=4, seed=7)
    assert repeated.value != single.value
    assert abs(repeated.value - single.value) < 2 * single.se
    # The spread over splits only adds to the per-split standard errors.
    q_logged, v = _cross_fit(logs, target_probabilities(logs, target), 2, 4, seed=7)
    w = np.cumprod(importance_weights(logs, target), axis=1)
    w_before = np.concatenate([np.ones((400, 1)), w[:, :-1]], axis=1)
    contributions = (w * (logs.rewards - q_logged) + w_before * v).sum(axis=2)
    thetas = contributions.mean(axis=1)
    assert thetas[0] == pytest.approx(single.value)
    assert repeated.value == pytest.approx(thetas.mean())
    per_split_se = contributions.std(axis=1, ddof=1) / np.sqrt(400)
    assert repeated.se > np.sqrt(np.mean(per_split_se**2))
    # dm uses the same models: the mean over splits of V_hat(s_0).
    assert estimate(logs, target, "dm", splits=4, seed=7).value == pytest.approx(v[:, :, 0].mean())


def test_effective_sample_size() -> None:
    assert effective_sample_size([1, 1, 1, 1]) == pytest.approx(4)
    assert effective_sample_size([4, 0, 0, 0]) == pytest.approx(1)
    assert effective_sample_size([0, 0]) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        effective_sample_size([-1, 1])


def test_fitted_q_dm_and_dr_are_close_to_truth_on_a_small_problem() -> None:
    config = EnvConfig(n_items=4, session_length=5, observation="feedback")
    target = EpsilonGreedy(config, epsilon=0.1)
    truth, _ = true_value(config, target, n_users=20_000, seed=0)
    logs = collect(config, EpsilonGreedy(config, epsilon=0.3), 3000, seed=2)
    q = fit_q_function(logs, target)
    assert q(logs.observations[:, 0], np.zeros(3000, dtype=np.int64)).shape == (3000, 4)
    dr = estimate(logs, target, "dr")
    assert dr.covers(truth) and abs(dr.value - truth) < 0.02 * truth
    assert abs(estimate(logs, target, "dm").value - truth) < 0.05 * truth


def test_replicate_and_summary() -> None:
    target = EpsilonGreedy(FEEDBACK, epsilon=0.1)
    table = replicate(FEEDBACK, EpsilonGreedy(FEEDBACK, epsilon=0.3), target, 1.0, 50, 3, methods=("is", "dr"))
    assert len(table) == 6 and set(table["replication"]) == {0, 1, 2}
    summary = summarize_replications(table)
    assert list(summary.index) == ["is", "dr"] and (summary["replications"] == 3).all()
    assert set(METHODS) >= set(summary.index)


# -- bandit estimators ---------------------------------------------------------------------------------------
def test_bandit_estimators_by_hand() -> None:
    r = np.array([1.0, 0.0, 1.0, 0.0])
    mu = np.array([0.5, 0.5, 0.25, 0.25])
    pi = np.array([1.0, 0.5, 0.0, 0.5])  # w = 2, 1, 0, 2
    assert estimate_bandit(r, mu, pi, "ipw").value == pytest.approx(0.5)
    assert estimate_bandit(r, mu, pi, "snipw").value == pytest.approx(2 / 5)
    q_logged = np.array([0.5, 0.5, 0.5, 0.5])
    q_target = np.full(4, 0.5)
    assert estimate_bandit(r, mu, pi, "dm", q_target=q_target).value == pytest.approx(0.5)
    # DR: 0.5 + mean(w (r - 0.5)) = 0.5 + (1 - 0.5 + 0 - 1) / 4
    assert estimate_bandit(r, mu, pi, "dr", q_logged=q_logged, q_target=q_target).value == pytest.approx(0.375)
    # Switch-DR with tau = 1.5 keeps only w <= 1.5: 0.5 + (-0.5 + 0) / 4
    switch = estimate_bandit(r, mu, pi, "switch-dr", q_logged=q_logged, q_target=q_target, switch_threshold=1.5)
    assert switch.value == pytest.approx(0.375)
    ipw = estimate_bandit(r, mu, pi, "ipw")
    assert ipw.ess == pytest.approx(25 / 9) and ipw.ci_low < 0.5 < ipw.ci_high


def test_bandit_errors() -> None:
    with pytest.raises(ValueError, match="propensity 0"):
        estimate_bandit([1.0], [0.0], [1.0])
    with pytest.raises(ValueError, match="one length"):
        estimate_bandit([1.0, 0.0], [0.5], [1.0])
    with pytest.raises(ValueError, match="q_target"):
        estimate_bandit([1.0], [0.5], [1.0], "dr")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        estimate_bandit([1.0], [0.5], [2.0])


LEAVING = EnvConfig(n_items=5, session_length=8, observation="feedback", leave_rate=0.6, item_quality="uniform")


def test_a_logged_session_ends_when_its_user_leaves() -> None:
    """With leave_rate > 0 a user who leaves ends the session's row: no new user continues in it.

    The steps the logging policy saw never go back to 0 within a row, the sessions are those the rollout engine
    plays for the same users and clicks (sampled exits), and nothing is recommended after the exit.
    """
    from recbook import seeds
    from recbook.evaluation import run_sessions, sample_users
    from recbook.observations import ObservationLayout

    logging = EpsilonGreedy(LEAVING, epsilon=0.3)
    logs = collect(LEAVING, logging, 400, seed=5)
    steps = LEAVING.session_length - ObservationLayout(logs.config).parse(logs.observations).steps_remaining
    assert (np.diff(steps, axis=1) >= 0).all(), "a new user started inside a logged session"
    ended = logs.actions < 0
    assert ended.any(), "with this leave rate some users leave before the end"
    assert (np.diff(ended.astype(int), axis=1) >= 0).all()  # once gone, gone
    assert (logs.rewards[ended] == 0).all() and (logs.propensities[ended] == 1).all()
    logging.reset(seeds.derive_seed(5, seeds.TEST, "policy", logging.name))
    played = run_sessions(
        logging, LEAVING, sample_users(LEAVING, 400, 5), seeds.derive_seed(5, seeds.TEST, "clicks"), False
    )
    np.testing.assert_array_equal(logs.actions, played.actions)
    np.testing.assert_array_equal(logs.rewards, played.rewards)


def test_estimators_ignore_the_steps_after_an_exit() -> None:
    """On logs with exits, the target equal to the logger has unit weights and IS gives the logged mean return;
    and every method runs (the steps after an exit weigh 1 and add nothing)."""
    logging = EpsilonGreedy(LEAVING, epsilon=0.3)
    logs = collect(LEAVING, logging, 300, seed=2)
    assert (importance_weights(logs, EpsilonGreedy(LEAVING, epsilon=0.3)) == 1).all()
    on_policy = estimate(logs, EpsilonGreedy(LEAVING, epsilon=0.3), "is", n_resamples=0)
    assert on_policy.value == pytest.approx(logs.returns.mean())
    for method in METHODS:
        result = estimate(logs, EpsilonGreedy(LEAVING, epsilon=0.1), method, n_resamples=50, splits=2)
        assert np.isfinite(result.value) and np.isfinite(result.se)
    frame = logs.to_frame()
    assert len(frame) == int((logs.actions >= 0).sum())


def _plan_value_before(config, counts, estimate, steps_remaining):
    """ope._plan_value as it was before it read planning.marginals: greedy, one step at a time."""
    counts = counts.copy()
    rows = np.arange(counts.shape[0])
    total = np.zeros(counts.shape[0])
    for j in range(int(steps_remaining.max(initial=0))):
        marginal = estimate * config.decay_model.multiplier(counts + 1)
        best = np.argmax(marginal, axis=1)
        active = steps_remaining > j
        total += np.where(active, marginal[rows, best], 0.0)
        counts[rows, best] += active
    return total


@pytest.mark.parametrize("decay", ["harmonic", "geometric"])
def test_plan_value_is_the_top_sum_of_next_marginals_as_before(decay: str) -> None:
    from recbook.ope.fqe import plan_value

    config = EnvConfig(n_items=6, session_length=12, decay=decay, observation="feedback")
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4, size=(500, 6))
    estimate = rng.random((500, 6))
    steps = rng.integers(0, 13, size=500)
    np.testing.assert_allclose(plan_value(config, counts, estimate, steps),
                               _plan_value_before(config, counts, estimate, steps), rtol=1e-12, atol=0)
    # the numbers chapter 11's features are built from: feedback logs of an epsilon-greedy logger
    logs = collect(FEEDBACK, EpsilonGreedy(FEEDBACK, epsilon=0.3), 200, seed=1)
    from recbook.observations import ObservationLayout

    view = ObservationLayout(FEEDBACK).parse(logs.observations.reshape(-1, logs.observations.shape[2]))
    index = BayesGreedy(FEEDBACK).scores(logs.observations.reshape(-1, logs.observations.shape[2]))
    guess = index / FEEDBACK.decay_model.multiplier(view.counts + 1)
    np.testing.assert_array_equal(plan_value(FEEDBACK, view.counts, guess, view.steps_remaining),
                                  _plan_value_before(FEEDBACK, view.counts, guess, view.steps_remaining))


def test_logs_with_exits_round_trip_through_a_frame() -> None:
    logs = collect(LEAVING, EpsilonGreedy(LEAVING, epsilon=0.3), 60, seed=3)
    frame = logs.to_frame()
    assert frame.groupby("user")["done"].sum().eq(1).all()
    back = Logs.from_frame(frame, logs.config)
    for name in ("actions", "rewards", "propensities"):
        np.testing.assert_array_equal(getattr(back, name), getattr(logs, name))
    np.testing.assert_array_equal(back.observations[logs.active], logs.observations[logs.active])
    with pytest.raises(ValueError, match="cannot go on"):
        Logs(logs.config, logs.observations, np.where(logs.active, -1, 0), logs.rewards * 0, logs.engagement,
             np.ones_like(logs.propensities), logs.users)


def test_command_line_entry_points_still_answer() -> None:
    import subprocess
    import sys

    for module in ("recbook.ope", "recbook.obd"):
        result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "usage" in result.stdout


def test_one_class_per_estimator_behind_estimate() -> None:
    from recbook.ope import ESTIMATORS, UNBIASED, Estimator
    from recbook.ope.bandit import BANDIT_ESTIMATORS, BanditEstimator

    assert METHODS == ("is", "wis", "pdis", "wpdis", "dm", "dr") and UNBIASED == ("is", "pdis", "dr")
    assert all(isinstance(e, Estimator) and e.name == name for name, e in ESTIMATORS.items())
    assert tuple(BANDIT_ESTIMATORS) == ("ipw", "snipw", "dm", "dr", "switch-dr")
    assert all(isinstance(e, BanditEstimator) for e in BANDIT_ESTIMATORS.values())
