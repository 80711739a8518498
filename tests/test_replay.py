"""recbook.agents.replay: samples identical to SB3's buffers, and cached item inputs identical to fresh ones."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer

from recbook.agents.dqn import RecbookDQN, train_dqn
from recbook.agents.replay import RecbookReplayBuffer


def _fill(buffers, steps, n_envs, seed=0):
    rng = np.random.default_rng(seed)
    for t in range(steps):
        obs = rng.random((n_envs, 5)).astype(np.float32)
        following = rng.random((n_envs, 5)).astype(np.float32)
        actions = rng.integers(0, 3, n_envs)
        rewards = rng.random(n_envs).astype(np.float32)
        dones = rng.random(n_envs) < 0.2
        for buffer in buffers:
            buffer.add(obs, following, actions, rewards, dones, [{} for _ in range(n_envs)])
        yield t


@pytest.mark.parametrize("n_steps", [1, 3])
@pytest.mark.parametrize("size", [40, 400])
def test_samples_equal_sb3_buffers(n_steps, size):
    kwargs = dict(
        buffer_size=size, observation_space=spaces.Box(0, 1, (5,), np.float32), action_space=spaces.Discrete(3), n_envs=4
    )
    sb3 = NStepReplayBuffer(**kwargs, n_steps=n_steps, gamma=0.9) if n_steps > 1 else ReplayBuffer(**kwargs)
    ours = RecbookReplayBuffer(**kwargs, n_steps=n_steps, gamma=0.9)
    checked = 0
    for t in _fill([sb3, ours], 150, 4):
        if t % 7 == 6:  # before and after the buffer wraps
            np.random.seed(t)
            expected = sb3.sample(64)
            np.random.seed(t)
            got = ours.sample(64)
            for name in ("observations", "actions", "next_observations", "dones", "rewards"):
                assert th.equal(getattr(expected, name), getattr(got, name)), name
            if n_steps > 1:
                assert th.equal(expected.discounts, got.discounts)
            flat_obs, flat_next = ours.last_positions
            stored = th.as_tensor(ours.observations.reshape(-1, 5)[flat_obs])
            assert th.equal(stored, got.observations)
            assert th.equal(th.as_tensor(ours.next_observations.reshape(-1, 5)[flat_next]), got.next_observations)
            checked += 1
    assert checked > 10


@pytest.fixture(scope="module")
def trained():
    agent = train_dqn(preset="item_shared_scratch", total_timesteps=7_000, seed=3)
    model = agent.model
    with th.no_grad():  # a scorer far from its initialisation, so every path's arithmetic matters
        for parameter in model.q_net.parameters():
            parameter.add_(0.05 * th.randn_like(parameter))
    return model


def test_cached_inputs_equal_fresh_ones(trained):
    buffer = trained.replay_buffer
    assert isinstance(buffer, RecbookReplayBuffer) and buffer.cache is not None
    assert buffer.cache.valid[0].sum() > 0  # filled while acting, before any sample
    np.random.seed(0)
    samples = buffer.sample(512)
    current, following = buffer.cached_inputs(samples)
    with th.no_grad():
        fresh_current = trained.q_net.item_inputs(samples.observations)
        fresh_following = trained.q_net.item_inputs(samples.next_observations)
    for got, expected in zip(current, fresh_current):
        assert th.allclose(got, expected, atol=1e-6)
    going_on = samples.dones.squeeze(1) == 0
    assert 0 < going_on.sum() < len(going_on)  # both kinds of next observation were sampled
    for got, expected in zip(following, fresh_following):
        assert th.allclose(got, expected, atol=1e-6)


def test_acting_reuses_the_next_observations_inputs(trained):
    """After add, the agent's next batch of observations (no session ended) gets the inputs add computed."""
    buffer = trained.replay_buffer
    last = (buffer.pos - 1) % buffer.buffer_size
    stored = buffer.next_observations[last]
    prepared = buffer.prepared_inputs(stored)
    assert prepared is not None
    with th.no_grad():
        fresh = trained.q_net.item_inputs(th.as_tensor(stored, dtype=th.float32))
    for got, expected in zip(prepared, fresh):
        assert th.allclose(got, expected, atol=1e-6)
    assert buffer.prepared_inputs(stored + 1.0) is None


def test_shared_td_values_equal_generic_ones(trained):
    np.random.seed(1)
    samples = trained.replay_buffer.sample(256)
    generic = trained._generic_q(samples)
    shared = trained._item_shared_q(samples)
    going_on = samples.dones == 0
    assert th.allclose(generic[0], shared[0], atol=1e-5)
    assert th.allclose(generic[1][going_on], shared[1][going_on], atol=1e-5)
    assert RecbookDQN.shared_features  # the default path is the shared one


def test_pickled_buffer_drops_the_cache(trained):
    copy = pickle.loads(pickle.dumps(trained.replay_buffer))
    assert copy.cache is None and copy.last_positions is None
    assert np.array_equal(copy.observations, trained.replay_buffer.observations)


def test_cache_is_skipped_above_the_memory_limit(trained):
    buffer = trained.replay_buffer
    features = trained.q_net.item_features
    keep = buffer.cache
    try:
        assert not buffer.attach_cache(features.n_items, features.n_features, trained.q_net.item_inputs, limit=1024)
        assert buffer.cache is None and buffer.cached_inputs(buffer.sample(8)) is None
    finally:
        buffer.cache = keep


def test_saved_model_holds_no_replay_data(trained, tmp_path):
    """The cache bookkeeping (which points at the buffer) must not be pickled into the model file."""
    trained.save(tmp_path / "model.zip")
    assert (tmp_path / "model.zip").stat().st_size < 1_000_000
    assert trained.replay_buffer.cache is not None  # saving leaves the running model's cache alone
