"""recbook.offline.fqe: a given policy's Q-function fitted on logs by the item-shared network, for DM and DR."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from recbook import EnvConfig, offline, seeds
from recbook.ope import Logs, collect, estimate
from recbook.ope.replication import true_value
from recbook.policies import EpsilonGreedy, Random

CONFIG = EnvConfig(n_items=4, session_length=5, observation="feedback")


@pytest.fixture(scope="module")
def logs() -> Logs:
    return collect(CONFIG, Random(CONFIG, seed=0), 3000, seed=2, stream=seeds.TRAIN)


@pytest.fixture(scope="module")
def held_out() -> Logs:
    return collect(CONFIG, Random(CONFIG, seed=1), 3000, seed=3, stream=seeds.TRAIN)


def _fit(logs: Logs, target: object, seed: int = 0) -> offline.NetworkQFunction:
    return offline.fit_q_evaluation(logs, target, seed=seed, gradient_steps=1500, batch_size=128,
                                    target_update_interval=300)


@pytest.mark.parametrize("target", [EpsilonGreedy(CONFIG, epsilon=0.1), Random(CONFIG, seed=0)],
                         ids=["epsilon-greedy", "random"])
def test_the_network_evaluates_the_given_policy(logs: Logs, held_out: Logs, target: object) -> None:
    truth, _ = true_value(CONFIG, target, n_users=20_000, seed=0)
    q = _fit(logs, target)
    assert q(held_out.observations[:7, 0]).shape == (7, CONFIG.n_items)
    # Its own value (the direct method) is close to the truth: the target's next value, not the max, is backed up
    # (the max would value the random policy like a greedy one).
    assert abs(estimate(held_out, target, "dm", q_function=q).value - truth) < 0.05 * truth
    # Fitted on other logs than the estimate reads, DR stays unbiased and its interval covers.
    dr = estimate(held_out, target, "dr", q_function=q)
    assert dr.covers(truth) and abs(dr.value - truth) < 0.03 * truth


def test_same_seed_same_q_function(logs: Logs) -> None:
    target = EpsilonGreedy(CONFIG, epsilon=0.1)
    short = functools.partial(offline.fit_q_evaluation, logs, target, gradient_steps=20, batch_size=16)
    obs = logs.observations[:, 2]
    assert np.array_equal(short(seed=4)(obs), short(seed=4)(obs))
    assert not np.array_equal(short(seed=4)(obs), short(seed=5)(obs))
    q = short(seed=4)
    assert list(q.history.columns[:2]) == ["step", "loss"] and (q.history["train_time_s"] >= 0).all()


@pytest.mark.parametrize(
    ("args", "options", "match"),
    [
        (("logs-frame", "target"), {}, "logs must be"),
        (("logs", None), {}, "target must have action_probabilities"),
        (("logs", "target"), {"gradient_step": 3}, "unknown option"),
        (("logs", "target"), {"config": "cql"}, "config must be an OfflineConfig"),
        (("logs", "target"), {"seed": -1}, "seed"),
    ],
)
def test_bad_input_names_the_parameter(logs: Logs, args: tuple, options: dict, match: str) -> None:
    values = {"logs": logs, "logs-frame": logs.to_frame(), "target": EpsilonGreedy(CONFIG, epsilon=0.1), None: None}
    with pytest.raises(ValueError, match=match):
        offline.fit_q_evaluation(*(values[a] for a in args), **options)


def test_counts_logs_and_wrong_shapes_are_refused(logs: Logs) -> None:
    counts = CONFIG.replace(observation="counts")
    counts_logs = collect(counts, Random(counts, seed=0), 20, seed=0)
    with pytest.raises(ValueError, match="feedback observations"):
        offline.fit_q_evaluation(counts_logs, Random(counts, seed=0))

    class Wrong:
        def action_probabilities(self, observations):
            return np.ones((len(observations), 2)) / 2

    with pytest.raises(ValueError, match="action_probabilities returned shape"):
        offline.fit_q_evaluation(logs, Wrong())
    q = offline.fit_q_evaluation(logs, Random(CONFIG, seed=0), gradient_steps=2, batch_size=4)
    with pytest.raises(ValueError, match="observations must have shape"):
        q(logs.observations[0, 0])


def test_the_fqe_part_estimates_with_a_network_fitted_on_the_learning_logs(tmp_path, monkeypatch) -> None:
    import shutil

    import recbook.experiments.offline as experiment
    from recbook.experiments.offline import common, diagnosis, parts
    from recbook.paths import data_path

    models = tmp_path / "models"
    models.mkdir()
    for k in (0, 1, 2):
        shutil.copy(data_path("models", f"leave_posterior_seed{k}.zip"), models)
    for name, value in {"N_SESSIONS": 60, "N_HELD_OUT": 40, "N_TEST_USERS": 100, "SEEDS": (0,)}.items():
        monkeypatch.setattr(common, name, value)
    monkeypatch.setattr(common, "learn", functools.partial(offline.learn, gradient_steps=5, batch_size=16))
    fitted = []

    def fit(logs, policy, **kwargs):
        fitted.append((logs.config.leave_rate > 0, logs.n_sessions, policy.method))
        return offline.fit_q_evaluation(logs, policy, gradient_steps=5, batch_size=16, **kwargs)

    monkeypatch.setattr(diagnosis, "fit_q_evaluation", fit)
    runs = {setting: parts.learning_part(setting, models)[0] for setting in ("leave", "original")}
    out = tmp_path / "out"
    argv = ["--output", str(out), "--models", str(models), "--workers", "1", "--only"]
    assert experiment.main([*argv, "fqe"]) == 0 and experiment.main([*argv, "dm"]) == 0
    # One network per policy of each setting, fitted on its 60 learning sessions, never on the 40 held out.
    assert fitted == [(setting == "leave", 60, method) for setting in common.PRESETS
                      for method in runs[setting]["method"]]
    for setting in common.PRESETS:
        network = pd.read_csv(out / f"{setting}_fqe.csv")
        assert list(zip(network["method"], network["seed"])) == list(zip(runs[setting]["method"],
                                                                         runs[setting]["seed"]))
        assert (network["fqe_cpu_s"] >= 0).all()
    network, linear = pd.read_csv(out / "original_fqe.csv"), pd.read_csv(out / "original_dm.csv")
    # The same held-out logs and weights, another model: the same effective sample, other estimates.
    assert "fqe_cpu_s" not in linear and np.allclose(network["ess"], linear["ess"])
    assert not np.allclose(network["dm_value"], linear["dm_value"])
    with pytest.raises(ValueError, match="setting must be one of"):
        diagnosis.dm_check(models, setting="slates")
