"""recbook.offline: learning a policy from logs (transitions, the four learners, save/load, the workflow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import recbook
from recbook import EnvConfig, offline, seeds
from recbook.evaluation import compare
from recbook.ope import collect, estimate
from recbook.policies import BayesGreedy, EpsilonMixture, Random

QUALITY = (0.9, 0.1, 0.5, 0.3)


@pytest.fixture(scope="module")
def leave_config() -> EnvConfig:
    return EnvConfig(n_items=4, session_length=6, leave_rate=0.6, item_quality=QUALITY)


@pytest.fixture(scope="module")
def leave_logs(leave_config: EnvConfig) -> recbook.ope.Logs:
    logger = EpsilonMixture(BayesGreedy(leave_config), 0.3, seed=0)
    return collect(leave_config, logger, 600, seed=0, stream=seeds.TRAIN)


def test_transitions_follow_the_sessions(leave_logs: recbook.ope.Logs) -> None:
    data = offline.transitions(leave_logs)
    assert len(data) == int(leave_logs.active.sum())
    # One terminal transition per session, at its last active step.
    assert data.dones.sum() == leave_logs.n_sessions
    last = leave_logs.active.sum(axis=1) - 1
    assert np.array_equal(data.steps[data.dones], last)
    # The next observation of a non-terminal step is the following step's observation.
    i = int(np.flatnonzero(~data.dones)[0])
    s, t = data.sessions[i], data.steps[i]
    assert np.allclose(data.next_observations[i], leave_logs.observations[s, t + 1])
    # Reward-to-go at step 0 is the session's return.
    first = data.steps == 0
    assert np.allclose(data.returns[first], leave_logs.returns)
    assert np.all(data.propensities > 0)


def test_transitions_refuse_what_is_not_logs() -> None:
    with pytest.raises(ValueError, match="logs must be"):
        offline.transitions(np.zeros((3, 4)))


@pytest.mark.parametrize("method", offline.METHODS)
def test_every_method_returns_a_policy_compare_and_ope_accept(
    method: str, leave_config: EnvConfig, leave_logs: recbook.ope.Logs, tmp_path
) -> None:
    policy = offline.learn(leave_logs, method, seed=1, gradient_steps=60, batch_size=64, target_update_interval=20)
    obs = leave_logs.observations[:5, 0]
    probabilities = policy.action_probabilities(obs)
    assert probabilities.shape == (5, 4)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    actions, _ = policy.predict(obs)
    assert np.array_equal(actions, probabilities.argmax(axis=1))
    assert int(policy.predict(obs[0])[0]) == int(actions[0])
    table = compare({"learned": policy, "bayes-greedy": "bayes-greedy"}, leave_config, n_users=200, seed=0,
                    stream=seeds.VALIDATION)
    assert set(table.index) == {"learned", "bayes-greedy"}
    assert np.isfinite(estimate(leave_logs, policy, "pdis").value)
    path = policy.save(tmp_path / f"{method}.zip")
    loaded = recbook.load_agent(path)
    assert isinstance(loaded, offline.OfflinePolicy) and loaded.method == method
    assert np.array_equal(loaded.scores(obs), policy.scores(obs))
    assert loaded.settings == policy.settings and loaded.n_transitions == len(offline.transitions(leave_logs))


def test_same_seed_same_policy(leave_logs: recbook.ope.Logs) -> None:
    kwargs = dict(seed=3, gradient_steps=40, batch_size=32, target_update_interval=10)
    a = offline.learn(leave_logs, "cql", **kwargs)
    b = offline.learn(leave_logs, "cql", **kwargs)
    c = offline.learn(leave_logs, "cql", **{**kwargs, "seed": 4})
    obs = leave_logs.observations[:20, 1]
    assert np.array_equal(a.scores(obs), b.scores(obs))
    assert not np.array_equal(a.scores(obs), c.scores(obs))


def test_untrained_q_network_is_its_skip_baseline(leave_logs: recbook.ope.Logs, leave_config: EnvConfig) -> None:
    # With skip="reward" the last layer starts at zero: before any step the Q-learner is BayesGreedy (up to ties).
    policy = offline.learn(leave_logs, "fqi", seed=0, gradient_steps=1, learning_rate=1e-12, learning_rate_final=1e-12)
    obs = leave_logs.observations[:, 2][leave_logs.active[:, 2]]
    greedy = BayesGreedy(leave_config, tie_break="first")
    assert np.allclose(policy.scores(obs), greedy.scores(obs), atol=1e-6)


def test_behaviour_cloning_recovers_a_deterministic_logger() -> None:
    config = EnvConfig(n_items=4, session_length=5)
    logger = EpsilonMixture(BayesGreedy(config), 0.2, seed=0)
    logs = collect(config, logger, 800, seed=0, stream=seeds.TRAIN)
    policy = offline.learn(logs, "bc", seed=0, gradient_steps=1500, batch_size=256, learning_rate=3e-3,
                           features="engineered")
    obs = logs.observations[:, 1:].reshape(-1, logs.observations.shape[2])
    agree = (policy.predict(obs)[0] == BayesGreedy(config).predict(obs)[0]).mean()
    assert agree > 0.9


def test_cql_learns_to_avoid_the_item_that_makes_users_leave() -> None:
    # Two items: item 1 is slightly preferred on average but makes users leave at once; the logs' exits show it.
    config = EnvConfig(n_items=2, session_length=6, leave_rate=1.0, item_quality=(1.0, 0.0), alpha=(1.0, 1.2),
                       observation="feedback")
    logs = collect(config, Random(config, seed=0), 2000, seed=0, stream=seeds.TRAIN)
    policy = offline.learn(logs, "cql", seed=0, gradient_steps=1500, batch_size=256, target_update_interval=250)
    table = compare({"cql": policy, "bayes-greedy": BayesGreedy(config, tie_break="first")}, config,
                    n_users=2000, seed=0, stream=seeds.VALIDATION)
    assert table.loc["cql", "expected_return"] > table.loc["bayes-greedy", "expected_return"] + 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(method="dqn"), "method"),
        (dict(method="cql", gradient_steps=0), "gradient_steps"),
        (dict(method="cql", cql_alpha=-1.0), "cql_alpha"),
        (dict(method="reinforce", weight_cap=0.5), "weight_cap"),
        (dict(method="bc", features="everything"), "features"),
        (dict(method="bc", net_arch=()), "net_arch"),
        (dict(method="bc", learning_rat=0.1), "learning_rat"),
        (dict(method="bc", config="fast"), "config"),
        (dict(method="bc", seed=-1), "seed"),
    ],
)
def test_bad_input_names_the_parameter(leave_logs: recbook.ope.Logs, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        offline.learn(leave_logs, **kwargs)


def test_dataframe_logs_need_their_environment(leave_logs: recbook.ope.Logs, leave_config: EnvConfig) -> None:
    frame = leave_logs.to_frame()
    with pytest.raises(ValueError, match="env_config"):
        offline.learn(frame, "bc")
    policy = offline.learn(frame, "bc", env_config=leave_logs.config, gradient_steps=5, batch_size=16)
    assert policy.n_transitions == len(frame)


def test_counts_logs_are_refused() -> None:
    config = EnvConfig(n_items=3, session_length=4, observation="counts")
    logs = collect(config, Random(config, seed=0), 20, seed=0)
    with pytest.raises(ValueError, match="feedback"):
        offline.learn(logs, "bc")


def test_split_assess_decide(leave_logs: recbook.ope.Logs, leave_config: EnvConfig) -> None:
    learning, held_out = offline.split_logs(leave_logs, 0.5, seed=0)
    assert learning.n_sessions + held_out.n_sessions == leave_logs.n_sessions
    assert not set(learning.users) & set(held_out.users)
    again, _ = offline.split_logs(leave_logs, 0.5, seed=0)
    assert np.array_equal(again.users, learning.users)
    policy = offline.learn(learning, "cql", seed=0, gradient_steps=50, batch_size=64)
    table = offline.assess(policy, held_out, seed=0)
    assert list(table["estimator"]) == ["dr", "pdis", "logger"]
    assert (table["ci_low"] <= table["value"]).all() and (table["value"] <= table["ci_high"]).all()
    logger = table.set_index("estimator").loc["logger"]
    assert np.isclose(logger["value"], held_out.returns.mean())
    decision = offline.decide(table)
    assert decision == bool(table.set_index("estimator").loc["dr", "ci_low"] > logger["value"])
    # The rule flips when the logger's value is moved above the bound.
    moved = table.copy()
    moved.loc[moved["estimator"] == "logger", "value"] = table["ci_high"].max() + 1
    assert offline.decide(moved) is False
    with pytest.raises(ValueError, match="learn_fraction"):
        offline.split_logs(leave_logs, 1.0)
    with pytest.raises(ValueError, match="'wis'"):
        offline.decide(table, estimator="wis")


def test_select_chooses_the_highest_estimate(leave_logs: recbook.ope.Logs, leave_config: EnvConfig) -> None:
    learning, rest = offline.split_logs(leave_logs, 0.5, seed=0)
    choosing, held_out = offline.split_logs(rest, 0.5, seed=1)
    candidates = {
        "cql": offline.learn(learning, "cql", seed=0, gradient_steps=50, batch_size=64),
        "random": Random(leave_config, seed=0),
        "logger": EpsilonMixture(BayesGreedy(leave_config), 0.3, seed=0),
    }
    table = offline.select(candidates, choosing, seed=0)
    assert list(table["candidate"]) == list(candidates)
    assert table["chosen"].sum() == 1
    assert table.loc[table["chosen"], "value"].item() == table["value"].max()
    for label, policy in candidates.items():
        expected = estimate(choosing, policy, offline.SELECTION_ESTIMATOR, seed=0).value
        assert np.isclose(table.set_index("candidate").loc[label, "value"], expected)
    # The same table from the same logs; another estimator is another table.
    assert table.equals(offline.select(candidates, choosing, seed=0))
    assert not np.allclose(offline.select(candidates, choosing, "pdis", seed=0)["value"], table["value"])
    with pytest.raises(ValueError, match="candidates"):
        offline.select({}, choosing)
    with pytest.raises(ValueError, match="logs"):
        offline.select(candidates, learning.to_frame())


def test_epsilon_mixture_probabilities_match_its_draws() -> None:
    config = EnvConfig(n_items=4, session_length=5, leave_rate=0.3, item_quality=QUALITY)
    logger = EpsilonMixture(BayesGreedy(config), 0.4, seed=0)
    obs = np.tile(collect(config, logger, 1, seed=0).observations[0, 0], (20_000, 1))
    probabilities = logger.action_probabilities(obs[:1])[0]
    counts = np.bincount(logger.predict(obs)[0], minlength=4) / len(obs)
    assert np.allclose(probabilities.sum(), 1.0)
    assert np.allclose(counts, probabilities, atol=0.015)
    with pytest.raises(ValueError, match="epsilon"):
        EpsilonMixture(BayesGreedy(config), 1.5)
    with pytest.raises(ValueError, match="policy"):
        EpsilonMixture("bayes-greedy", 0.1)  # type: ignore[arg-type]


def test_quality_tie_break_picks_the_best_tied_item() -> None:
    config = EnvConfig(n_items=4, session_length=5, leave_rate=0.3, item_quality=QUALITY, observation="feedback")
    policy = BayesGreedy(config, tie_break="quality")
    start = collect(config, Random(config, seed=0), 1, seed=0).observations[0, 0]
    assert int(policy.predict(start)[0]) == int(np.argmax(QUALITY))
    assert policy.action_probabilities(start)[int(np.argmax(QUALITY))] == 1.0
    with pytest.raises(ValueError, match="tie_break"):
        BayesGreedy(EnvConfig(n_items=4, session_length=5), tie_break="quality")


def test_history_records_training(leave_logs: recbook.ope.Logs) -> None:
    policy = offline.learn(leave_logs, "cql", seed=0, gradient_steps=40, batch_size=16)
    assert isinstance(policy.history, pd.DataFrame)
    assert {"step", "loss", "td_loss", "penalty", "mean_q", "train_time_s"} <= set(policy.history.columns)
    assert policy.history["step"].iloc[-1] == 40


def test_load_agent_refuses_another_environment(leave_logs: recbook.ope.Logs, tmp_path) -> None:
    path = offline.learn(leave_logs, "bc", seed=0, gradient_steps=2, batch_size=8).save(tmp_path / "bc.zip")
    other = leave_logs.config.replace(leave_rate=0.1)
    with pytest.raises(ValueError, match="leave_rate"):
        recbook.load_agent(path, config=other)
    assert recbook.load_agent(path, config=leave_logs.config).method == "bc"
    with pytest.raises(ValueError, match="not an offline policy"):
        _load_wrong(path, tmp_path)


def _load_wrong(path, tmp_path):
    import json
    import zipfile

    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(wrong, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "recbook.json":
                meta = json.loads(data)
                meta["algorithm"] = "something-else"
                data = json.dumps(meta).encode()
            target.writestr(name, data)
    return offline.load_offline(wrong)


def test_the_experiment_script_runs_end_to_end(tmp_path, monkeypatch) -> None:
    import functools
    import shutil

    import recbook.experiments.offline as experiment
    from recbook.experiments.offline import common
    from recbook.paths import data_path

    models = tmp_path / "models"
    models.mkdir()
    for k in (0, 1, 2):
        shutil.copy(data_path("models", f"leave_posterior_seed{k}.zip"), models)
    monkeypatch.setattr(common, "N_SESSIONS", 60)
    monkeypatch.setattr(common, "N_HELD_OUT", 40)
    monkeypatch.setattr(common, "N_TEST_USERS", 100)
    monkeypatch.setattr(common, "SEEDS", (0,))
    monkeypatch.setattr(common, "learn", functools.partial(offline.learn, gradient_steps=5, batch_size=16))
    assert experiment.main(["--output", str(tmp_path / "out"), "--models", str(models), "--only", "leave"]) == 0
    runs = pd.read_csv(tmp_path / "out" / "runs_leave.csv")
    assert list(runs["method"]) == list(offline.METHODS)
    assert (runs["n_sessions"] == 60).all()
    table = pd.read_csv(tmp_path / "out" / "leave_table.csv").set_index("policy")
    assert np.allclose(table.loc[[f"{m}_seed0" for m in offline.METHODS], "pct_oracle"], runs["pct_oracle"])
    assert recbook.load_agent(models / "offline_leave_cql_seed0.zip").method == "cql"


def test_the_select_part_runs_end_to_end(tmp_path, monkeypatch) -> None:
    import functools
    import shutil

    import recbook.experiments.offline as experiment
    from recbook.experiments.offline import common, parts
    from recbook.paths import data_path

    models = tmp_path / "models"
    models.mkdir()
    for k in (0, 1):
        shutil.copy(data_path("models", f"leave_posterior_seed{k}.zip"), models)
    for name, value in {"N_SESSIONS": 60, "N_HELD_OUT": 40, "N_TEST_USERS": 100, "SEEDS": (0, 1)}.items():
        monkeypatch.setattr(common, name, value)
    monkeypatch.setattr(parts, "N_SELECT", 50)
    monkeypatch.setattr(common, "learn", functools.partial(offline.learn, gradient_steps=5, batch_size=16))
    out = tmp_path / "out"
    assert experiment.main(["--output", str(out), "--models", str(models), "--only", "select",
                            "--workers", "1"]) == 0
    runs = pd.read_csv(out / "runs_select.csv")
    assert len(runs) == 2 * len(parts.SELECT_METHODS) * parts.N_CANDIDATE_SEEDS
    assert (runs.groupby("seed")["chosen"].sum() == 1).all()
    for _, group in runs.groupby("seed"):
        column = f"select_{offline.SELECTION_ESTIMATOR}_value"
        assert group.loc[group["chosen"], column].item() == group[column].max()
    assert set(runs["learner_seed"]) == {0, 1, 2, 3}
    assert (runs["n_sessions"] == 60).all()
    table = pd.read_csv(out / "select_table.csv").set_index("policy")
    labels = [f"{m}_seed{k}_learner{j}" for m, k, j in zip(runs["method"], runs["seed"], runs["learner_seed"])]
    assert np.allclose(table.loc[labels, "expected_return"], runs["true_value"])


def test_the_steps_part_runs_end_to_end(tmp_path, monkeypatch) -> None:
    import functools
    import shutil

    import recbook.experiments.offline as experiment
    from recbook.experiments.offline import common, diagnosis, parts
    from recbook.paths import data_path

    models = tmp_path / "models"
    models.mkdir()
    for method in parts.VARIED_METHODS:
        shutil.copy(data_path("models", f"offline_leave_{method}_seed0.zip"), models)
    for name, value in {"N_SESSIONS": 60, "SEEDS": (0,)}.items():
        monkeypatch.setattr(common, name, value)
    monkeypatch.setattr(diagnosis, "N_VALIDATION_USERS", 100)
    monkeypatch.setattr(diagnosis, "STEP_COUNTS", (3, 6))
    monkeypatch.setattr(common, "learn", functools.partial(offline.learn, batch_size=16))
    out = tmp_path / "out"
    assert experiment.main(["--output", str(out), "--models", str(models), "--only", "steps",
                            "--workers", "1"]) == 0
    steps = pd.read_csv(out / "steps.csv")
    full = offline.OfflineConfig().gradient_steps
    assert sorted(steps["gradient_steps"].unique()) == [3, 6, full]
    assert len(steps) == len(parts.VARIED_METHODS) * 3
    assert steps["pct_oracle"].between(0, 100).all()
    assert (steps["pct_oracle_ci_low"] <= steps["pct_oracle"]).all()
    # mean_q only for the Q-learner.
    assert steps.loc[steps["method"] == "cql", "mean_q_last"].notna().all()
    assert steps.loc[steps["method"] == "reinforce", "mean_q_last"].isna().all()


def _record_learning(monkeypatch, *options: str) -> list[tuple]:
    """Patch the experiment's learner to learn with minibatches of 16 and record ``(method, *options)`` of each call."""
    from recbook.experiments.offline import common

    learned = []

    def learn(logs, method, **kwargs):
        learned.append((method, *(kwargs[name] for name in options)))
        return offline.learn(logs, method, batch_size=16, **kwargs)

    monkeypatch.setattr(common, "learn", learn)
    return learned


def test_the_dm_part_estimates_the_original_policies_by_dr_and_the_model_alone(tmp_path, monkeypatch) -> None:
    import functools

    import recbook.experiments.offline as experiment
    from recbook.experiments.offline import common, parts
    from recbook.paths import data_path

    models = tmp_path / "models"
    models.mkdir()
    for name, value in {"N_SESSIONS": 60, "N_HELD_OUT": 40, "N_TEST_USERS": 100, "SEEDS": (0,)}.items():
        monkeypatch.setattr(common, name, value)
    monkeypatch.setattr(common, "learn", functools.partial(offline.learn, gradient_steps=5, batch_size=16))
    out = tmp_path / "out"
    # The original part's policies, then the dm part on them: its DR repeats the original part's estimates.
    runs, _ = parts.learning_part("original", models)
    assert experiment.main(["--output", str(out), "--models", str(models), "--only", "dm", "--workers", "1"]) == 0
    dm = pd.read_csv(out / "original_dm.csv")
    assert list(zip(dm["method"], dm["seed"])) == list(zip(runs["method"], runs["seed"]))
    assert np.allclose(dm["dr_value"], runs["dr_value"]) and np.allclose(dm["dr_ci_low"], runs["dr_ci_low"])
    assert (dm["dm_ci_low"] <= dm["dm_value"]).all() and (dm["dm_value"] <= dm["dm_ci_high"]).all()
    assert dm["ess"].between(0, 40).all()
    with pytest.raises(ValueError, match="part"):
        parts.learning_part("dm", models)


def test_the_backups_part_varies_target_copies_and_steps_apart(tmp_path, monkeypatch) -> None:
    import recbook.experiments.offline as experiment
    from recbook.experiments.offline import common, diagnosis

    for name, value in {"N_SESSIONS": 60, "SEEDS": (0, 1)}.items():
        monkeypatch.setattr(common, name, value)
    monkeypatch.setattr(diagnosis, "N_VALIDATION_USERS", 100)
    monkeypatch.setattr(diagnosis, "BACKUP_INTERVALS", ((8, 2), (12, 6)))
    learned = _record_learning(monkeypatch, "gradient_steps", "target_update_interval")
    out = tmp_path / "out"
    assert experiment.main(["--output", str(out), "--only", "backups", "--workers", "1"]) == 0
    assert sorted(learned) == [("cql", 8, 2)] * 2 + [("cql", 12, 6)] * 2
    backups = pd.read_csv(out / "backups.csv")
    assert list(backups["seed"]) == [0, 1, 0, 1]
    assert list(backups["gradient_steps"]) == [8, 8, 12, 12]
    assert list(backups["backups"]) == [4, 4, 2, 2]
    assert backups["pct_oracle"].between(0, 100).all() and backups["mean_q_last"].notna().all()


def test_the_length_part_learns_with_the_length_validation_chose(tmp_path, monkeypatch) -> None:
    import shutil

    import recbook.experiments.offline as experiment
    from recbook.experiments.offline import common, diagnosis
    from recbook.paths import data_path

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(data_path("models", "leave_posterior_seed0.zip"), models)
    for name, value in {"N_SESSIONS": 60, "N_HELD_OUT": 40, "N_TEST_USERS": 100, "SEEDS": (0,)}.items():
        monkeypatch.setattr(common, name, value)
    out = tmp_path / "out"
    out.mkdir()
    # A steps table where REINFORCE is best at 3 steps on average over the seeds and CQL at 6 (not on seed 1 alone).
    pd.DataFrame({"method": ["reinforce"] * 4 + ["cql"] * 4, "seed": [0, 0, 1, 1] * 2,
                  "gradient_steps": [3, 6] * 4, "pct_oracle": [70, 60, 70, 75, 60, 70, 75, 70]}
                 ).to_csv(out / "steps.csv", index=False)
    assert diagnosis.chosen_lengths(pd.read_csv(out / "steps.csv")) == {"reinforce": 3, "cql": 6}
    learned = _record_learning(monkeypatch, "gradient_steps")
    assert experiment.main(["--output", str(out), "--models", str(models), "--only", "length",
                            "--workers", "1"]) == 0
    assert sorted(learned) == [("cql", 6), ("reinforce", 3)]
    runs = pd.read_csv(out / "runs_length.csv")
    assert sorted(zip(runs["method"], runs["gradient_steps"], strict=True)) == [("cql", 6), ("reinforce", 3)]
    table = pd.read_csv(out / "length_table.csv").set_index("policy")
    assert {"dqn_seed0", "bayes-index", "oracle"} <= set(table.index)
    assert np.allclose(table.loc[["reinforce_steps3_seed0", "cql_steps6_seed0"], "expected_return"],
                       runs["true_value"])
    assert (models / "offline_leave_cql_steps6_seed0.zip").exists()


def test_the_tuned_part_learns_with_the_rate_and_length_validation_chose(tmp_path, monkeypatch) -> None:
    import shutil

    import recbook.experiments.offline as experiment
    from recbook.experiments.offline import common, diagnosis
    from recbook.paths import data_path

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(data_path("models", "leave_posterior_seed0.zip"), models)
    for name, value in {"N_SESSIONS": 60, "N_HELD_OUT": 40, "N_TEST_USERS": 100, "SEEDS": (0, 1)}.items():
        monkeypatch.setattr(common, name, value)
    shutil.copy(data_path("models", "leave_posterior_seed1.zip"), models)
    monkeypatch.setattr(diagnosis, "N_VALIDATION_USERS", 100)
    monkeypatch.setattr(diagnosis, "RATES", (3e-4,))
    monkeypatch.setattr(diagnosis, "RATE_STEPS", (4, 6))
    learned = _record_learning(monkeypatch, "gradient_steps", "learning_rate")
    out = tmp_path / "out"
    assert experiment.main(["--output", str(out), "--only", "rates", "--workers", "1"]) == 0
    assert sorted(learned) == [("cql", 4, 3e-4)] * 2 + [("cql", 6, 3e-4)] * 2
    rates = pd.read_csv(out / "rates.csv")
    assert list(rates["learning_rate"]) == [3e-4] * 4 and list(rates["gradient_steps"]) == [4, 4, 6, 6]
    # A steps table whose CQL rows (the default rate) lose on average to 6 steps at 3e-4, though not on seed 0.
    full = offline.OfflineConfig()
    steps = pd.DataFrame({"method": ["cql"] * 2 + ["reinforce"] * 2, "seed": [0, 1] * 2,
                          "gradient_steps": [4] * 4, "pct_oracle": [90.0, 10.0, 99.0, 99.0]})
    rates["pct_oracle"] = [50.0, 50.0, 80.0, 70.0]
    steps.to_csv(out / "steps.csv", index=False)
    rates.to_csv(out / "rates.csv", index=False)
    assert diagnosis.chosen_cql(steps, rates) == {"gradient_steps": 6, "learning_rate": 3e-4}
    rates["pct_oracle"] = [40.0, 40.0, 45.0, 45.0]
    assert diagnosis.chosen_cql(steps, rates) == {"gradient_steps": 4, "learning_rate": full.learning_rate}
    learned.clear()
    assert experiment.main(["--output", str(out), "--models", str(models), "--only", "tuned",
                            "--workers", "1"]) == 0
    assert sorted(learned) == [("cql", 6, 3e-4)] * 2
    runs = pd.read_csv(out / "runs_tuned.csv")
    assert list(runs["seed"]) == [0, 1] and (runs["learning_rate"] == 3e-4).all()
    table = pd.read_csv(out / "tuned_table.csv").set_index("policy")
    assert np.allclose(table.loc[["cql_tuned_seed0", "cql_tuned_seed1"], "expected_return"], runs["true_value"])
    assert (models / "offline_leave_cql_tuned_seed1.zip").exists()


def test_run_refuses_options_for_a_trained_policy() -> None:
    from recbook.experiments.offline import common

    from recbook.paths import data_path

    policy = recbook.load_agent(data_path("models", "offline_leave_cql_seed0.zip"))
    with pytest.raises(ValueError, match="gradient_steps"):
        common.run("leave", "cql", 0, trained=policy, gradient_steps=10)


def test_committed_runs_agree_with_their_tables() -> None:
    from recbook.paths import data_path

    for setting in ("leave", "original"):
        runs = pd.read_csv(data_path("offline", f"runs_{setting}.csv"))
        table = pd.read_csv(data_path("offline", f"{setting}_table.csv")).set_index("policy")
        labels = [f"{m}_seed{k}" for m, k in zip(runs["method"], runs["seed"])]
        assert np.allclose(table.loc[labels, "expected_return"], runs["true_value"])
        covers = (runs["dr_ci_low"] <= runs["true_value"]) & (runs["true_value"] <= runs["dr_ci_high"])
        assert (covers == runs["dr_covers"]).all()
        assert (runs["deploy"] == (runs["dr_ci_low"] > runs["logger_value"])).all()
        assert (runs["train_cpu_s"] <= 600).all()
    runs = pd.read_csv(data_path("offline", "runs_select.csv"))
    table = pd.read_csv(data_path("offline", "select_table.csv")).set_index("policy")
    labels = [f"{m}_seed{k}_learner{j}" for m, k, j in zip(runs["method"], runs["seed"], runs["learner_seed"])]
    assert np.allclose(table.loc[labels, "expected_return"], runs["true_value"])
    for _, group in runs.groupby("seed"):
        column = f"select_{offline.SELECTION_ESTIMATOR}_value"
        assert group.loc[group["chosen"], column].item() == group[column].max()
        # Every candidate of one seed's logs, learned within the budget of one learner: 10 CPU-minutes.
        assert group["train_cpu_s"].sum() <= 600
    steps = pd.read_csv(data_path("offline", "steps.csv"))
    assert (steps.groupby(["method", "seed"]).size() == 4).all()
    assert (steps["learn_cpu_s"] <= 600).all()
    # Its full-length rows are the leave part's policies (they recorded the same learning time).
    full = steps[steps["gradient_steps"] == offline.OfflineConfig().gradient_steps].set_index(["method", "seed"])
    leave_runs = pd.read_csv(data_path("offline", "runs_leave.csv")).set_index(["method", "seed"])
    assert np.allclose(full["learn_cpu_s"], leave_runs.loc[full.index, "train_cpu_s"])
    # The length part learned with the lengths the steps part's VALIDATION users chose, within the budget.
    from recbook.experiments.offline import diagnosis

    length = pd.read_csv(data_path("offline", "runs_length.csv"))
    chosen = diagnosis.chosen_lengths(steps)
    assert (length["gradient_steps"] == length["method"].map(chosen)).all()
    assert (length["train_cpu_s"] <= 600).all()
    # The dm part repeated the original part's DR estimates (same held-out logs, same seed; float32 sums of another
    # run may differ in the last digits).
    dm = pd.read_csv(data_path("offline", "original_dm.csv"))
    original = pd.read_csv(data_path("offline", "runs_original.csv"))
    assert list(zip(dm["method"], dm["seed"])) == list(zip(original["method"], original["seed"]))
    for column in ("dr_value", "dr_ci_low", "dr_ci_high"):
        assert np.allclose(dm[column], original[column], atol=1e-3)
    # The fqe part estimated the same policies on the same held-out logs (the same weights) with a network fitted on
    # their learning logs, within the learning budget.
    network = pd.read_csv(data_path("offline", "original_fqe.csv"))
    assert list(zip(network["method"], network["seed"])) == list(zip(original["method"], original["seed"]))
    assert np.allclose(network["ess"], dm["ess"]) and (network["fqe_cpu_s"] <= 600).all()
    leave_network = pd.read_csv(data_path("offline", "leave_fqe.csv"))
    leave_runs = pd.read_csv(data_path("offline", "runs_leave.csv"))
    assert list(zip(leave_network["method"], leave_network["seed"])) == list(zip(leave_runs["method"],
                                                                                   leave_runs["seed"]))
    assert (leave_network["fqe_cpu_s"] <= 600).all()
    # The backups part crossed the copies with the lengths, on every seed.
    backups = pd.read_csv(data_path("offline", "backups.csv"))
    assert sorted(set(zip(backups["gradient_steps"], backups["target_update_interval"]))) == sorted(
        diagnosis.BACKUP_INTERVALS)
    assert (backups["backups"] == backups["gradient_steps"] // backups["target_update_interval"]).all()
    assert (backups.groupby("seed").size() == len(diagnosis.BACKUP_INTERVALS)).all()
    # The tuned part learned with the pair the steps and rates parts' VALIDATION users chose, within the budget.
    rates = pd.read_csv(data_path("offline", "rates.csv"))
    assert len(rates) == len(diagnosis.RATES) * len(diagnosis.RATE_STEPS) * 3
    tuned = pd.read_csv(data_path("offline", "runs_tuned.csv"))
    pair = diagnosis.chosen_cql(steps, rates)
    assert (tuned["gradient_steps"] == pair["gradient_steps"]).all()
    assert np.allclose(tuned["learning_rate"], pair["learning_rate"])
    assert sorted(tuned["seed"]) == [0, 1, 2] and (tuned["train_cpu_s"] <= 600).all()
    tuned_table = pd.read_csv(data_path("offline", "tuned_table.csv")).set_index("policy")
    assert np.allclose(tuned_table.loc[[f"cql_tuned_seed{k}" for k in tuned["seed"]], "expected_return"],
                       tuned["true_value"])
    assert all(data_path("models", f"offline_leave_cql_tuned_seed{k}.zip").exists() for k in tuned["seed"])
    # The candidates whose learner seed is their log seed are the leave part's policies.
    leave = pd.read_csv(data_path("offline", "runs_leave.csv")).set_index(["method", "seed"])
    same = runs[runs["learner_seed"] == runs["seed"]].set_index(["method", "seed"])
    assert np.allclose(leave.loc[same.index, "true_value"], same["true_value"])
