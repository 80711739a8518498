"""The credit ablation's parts: what each input set reads, the untrained network, the arms' runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th

from recbook.agents.config import FEATURE_SETS, DQNConfig, RunConfig
from recbook.agents.features import ItemFeatures
from recbook.agents.train import train_run
from recbook.experiments.credit import SETTINGS, arm_run, model_path
from recbook.vector import RecommendationVectorEnv

LEAVE = RunConfig.from_yaml("leave").env


def _observations(config, n_users: int = 64, steps: int = 7) -> th.Tensor:
    """Feedback observations after a few random recommendations (so some items are revealed)."""
    env = RecommendationVectorEnv(num_envs=n_users, **config.to_dict())
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(steps):
        obs, *_ = env.step(rng.integers(config.n_items, size=n_users))
    return th.as_tensor(obs, dtype=th.float32)


@pytest.mark.parametrize("features", FEATURE_SETS)
def test_feature_sets_have_the_sizes_they_declare(features: str) -> None:
    module = ItemFeatures(LEAVE, features)
    items, context, baseline, next_value = module(_observations(LEAVE))
    assert (items.shape[-1], context.shape[-1]) == module.n_features
    assert items.shape[:2] == baseline.shape == next_value.shape == (64, LEAVE.n_items)


@pytest.mark.parametrize("features, told", [("engineered", True), ("posterior", False), ("public", False)])
def test_only_the_engineered_set_reads_the_leave_rate(features: str, told: bool) -> None:
    """The same observations under two leave rates: only the engineered inputs change (leave probability, index)."""
    obs = _observations(LEAVE)
    low = ItemFeatures(LEAVE.replace(leave_rate=0.1), features)(obs)
    high = ItemFeatures(LEAVE.replace(leave_rate=0.6), features)(obs)
    changed = not all(th.equal(a, b) for a, b in zip(low[:2], high[:2]))
    assert changed == told


def test_public_inputs_do_not_read_the_prior() -> None:
    """No posterior mean from the Dirichlet prior in the public set: a different alpha gives the same inputs."""
    obs = _observations(LEAVE)
    one = ItemFeatures(LEAVE, "public")(obs)
    other = ItemFeatures(LEAVE.replace(alpha=5.0), "public")(obs)
    assert all(th.equal(a, b) for a, b in zip(one[:2], other[:2]))
    engineered = ItemFeatures(LEAVE, "engineered")(obs)
    engineered_other = ItemFeatures(LEAVE.replace(alpha=5.0), "engineered")(obs)
    assert not th.equal(engineered[0], engineered_other[0])


def test_bad_feature_settings_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="features"):
        DQNConfig(features="everything")
    with pytest.raises(ValueError, match="skip"):
        DQNConfig(features="public", skip="reward")
    with pytest.raises(ValueError, match="features"):
        ItemFeatures(LEAVE, "secret")


def test_zero_steps_give_the_network_training_starts_from() -> None:
    """The credit table's untrained network is ``train_run(run, total_timesteps=0)``: before learning_starts no
    gradient step is taken, so a short run keeps exactly those weights; another seed starts elsewhere."""
    run = arm_run("leave", "public", seed=4)
    short = RunConfig(run.env, run.dqn, run.training.__class__(**{**run.training.__dict__, "total_timesteps": 32,
                                                                   "eval_users": 10}))
    trained = train_run(short).model.policy.q_net.state_dict()
    initial = train_run(short, total_timesteps=0).model.policy.q_net.state_dict()
    assert trained.keys() == initial.keys()
    assert all(th.equal(trained[k], initial[k]) for k in trained)
    other = train_run(arm_run("leave", "public", seed=5), total_timesteps=0).model.policy.q_net.state_dict()
    assert not all(th.equal(other[k], initial[k]) for k in initial)


def test_arms_change_only_their_inputs_and_budget() -> None:
    base = RunConfig.from_yaml("leave")
    public = arm_run("leave", "public", seed=2)
    assert (public.dqn.features, public.dqn.skip, public.training.seed) == ("public", "none", 2)
    assert public.training.total_timesteps == SETTINGS["leave"]["public"].budget
    assert public.env == base.env and public.dqn.learning_rate == base.dqn.learning_rate
    assert arm_run("leave", "engineered", seed=0).dqn == base.dqn
    assert model_path("leave", "engineered", 1).name == "leave_seed1.zip"
    assert model_path("original", "public", 0).name == "item_shared_public_seed0.zip"
    with pytest.raises(ValueError, match="arm"):
        arm_run("leave", "scratch", seed=0)
    with pytest.raises(ValueError, match="setting"):
        arm_run("slates", "public", seed=0)
