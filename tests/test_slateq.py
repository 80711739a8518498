"""SlateQ and the flat slate DQN: training smoke test, the choice head's likelihood, save/load, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch as th

import recbook
from recbook.choice import choice_probabilities
from recbook.config import EnvConfig
from recbook.evaluation import rollout, sample_users
from recbook.slates.search import best_slates, candidate_slates
from recbook.slates.slateq import SlateAgent, SlateQConfig, build_network, load_slate_agent
from recbook.slates.slateq_network import SlateQNetwork, mnl_log_likelihood
from recbook.slates.slateq_train import slate_index, train_slate_agent

CONFIG = EnvConfig(n_items=5, session_length=4, feedback="choice", observation="feedback", leave_rate=0.3,
                   item_quality=(0.1, 0.3, 0.5, 0.7, 0.9), slate_size=2, no_click_mass=1.0, leave_no_click=0.1)
TINY = dict(total_timesteps=640, num_envs=16, learning_starts=160, batch_size=32, buffer_size=1000)


@pytest.mark.parametrize("method", ["slateq", "flat-dqn"])
def test_tiny_training_runs_and_acts(method: str) -> None:
    agent = train_slate_agent(CONFIG, SlateQConfig(method=method, **TINY), seed=0, log_interval=320)
    assert len(agent.history) == 2 and np.isfinite(agent.history["td_loss"].iloc[-1])
    assert agent.timing["timesteps"] == 640 and agent.timing["cpu_seconds"] > 0
    users = sample_users(CONFIG, 50, 0)
    result = rollout(agent, CONFIG, users, seed=0, exits="expected")
    assert result.actions.shape == (50, 4, 2)
    assert np.all(np.sort(result.actions, axis=2)[..., 1] != np.sort(result.actions, axis=2)[..., 0])


def test_training_is_reproducible() -> None:
    settings = SlateQConfig(**TINY)
    a = train_slate_agent(CONFIG, settings, seed=3)
    b = train_slate_agent(CONFIG, settings, seed=3)
    obs = np.random.default_rng(0).random((7, a.layout.size)).astype(np.float32)
    for x, y in zip(a.values(obs), b.values(obs)):
        np.testing.assert_array_equal(x, y)


@pytest.fixture
def one_thread():
    """One torch thread: on a shared 2-core machine, more threads make this small fit ~50x slower."""
    threads = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(threads)


def test_choice_head_learns_scores_from_synthetic_choices(one_thread) -> None:
    """Fit the MNL likelihood to 20,000 choices drawn from known scores that depend on a per-item feature (the
    quality slice): the learned scores must match the true ones within 10 % (the free MLE's noise is ~3 %)."""
    config = CONFIG
    th.manual_seed(0)
    net = SlateQNetwork(config, (16,))
    rng = np.random.default_rng(0)
    n, k, nu = config.n_items, config.slate_size, config.no_click_mass
    true_scores = 0.6 * np.exp(2.0 * np.asarray(config.quality_vector))  # from 0.73 to 3.6
    obs = th.zeros((1, net.features.size))  # every choice is made in this one state
    obs[:, 3 * n] = 1.0
    obs[:, 3 * n + 1 : 4 * n + 1] = th.as_tensor(config.quality_vector, dtype=th.float32)
    slates = np.argsort(rng.random((20000, n)), axis=1)[:, :k]
    p = np.concatenate([true_scores[slates], np.full((20000, 1), nu)], axis=1)
    p /= p.sum(axis=1, keepdims=True)
    draws = (rng.random((20000, 1)) < p.cumsum(axis=1)).argmax(axis=1)
    positions = th.as_tensor(np.where(draws == k, -1, draws))
    items, context, _ = net.features(obs)
    joint = th.cat([items, context.unsqueeze(1).expand(-1, n, -1)], dim=-1)  # what the choice head reads
    optimiser = th.optim.Adam(net.choice_head.parameters(), lr=0.02)
    for _ in range(400):
        logits = net.choice_head(joint).squeeze(-1).expand(len(slates), -1)
        loss = -mnl_log_likelihood(logits, th.as_tensor(slates), positions, nu).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    learned = np.exp(net(obs)[0].detach().numpy()[0])
    np.testing.assert_allclose(learned, true_scores, rtol=0.1)


def test_mnl_log_likelihood_matches_choice_probabilities() -> None:
    scores = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    slates = np.array([[4, 1]])
    expected = choice_probabilities(scores[:, [4, 1]], "mnl", 1.0)[0]  # positions 0, 1, nothing
    for position, value in zip((0, 1, -1), expected):
        got = mnl_log_likelihood(th.log(th.as_tensor(scores)), th.as_tensor(slates), th.tensor([position]), 1.0)
        assert math.isclose(float(got.exp()), value, rel_tol=1e-9)


def test_slate_index_enumerates_combinations() -> None:
    candidates = candidate_slates(10, 3, False)
    np.testing.assert_array_equal(slate_index(candidates, 10), np.arange(120))
    np.testing.assert_array_equal(slate_index(candidates[:, ::-1], 10), np.arange(120))


@pytest.mark.parametrize("method", ["slateq", "flat-dqn"])
def test_save_load_round_trip(tmp_path, method: str) -> None:
    agent = train_slate_agent(CONFIG, SlateQConfig(method=method, **TINY), seed=1)
    path = agent.save(tmp_path / "agent.zip")
    loaded = recbook.load_agent(path)
    assert isinstance(loaded, SlateAgent) and loaded.settings == agent.settings and loaded.seed == 1
    assert loaded.timing == agent.timing
    obs = np.random.default_rng(1).random((9, agent.layout.size)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(obs)[0], agent.predict(obs)[0])
    assert loaded.predict(obs[0])[0].shape == (2,)
    assert load_slate_agent(path).metadata()["inputs"].startswith(("the feedback", "the feedback observation"))
    with pytest.raises(ValueError, match="leave_rate"):
        recbook.load_agent(path, config=CONFIG.replace(leave_rate=0.5))


def test_slateq_slate_is_the_search_optimum() -> None:
    agent = SlateAgent(build_network(CONFIG, SlateQConfig()), CONFIG, SlateQConfig(), 0)
    obs = np.random.default_rng(2).random((6, agent.layout.size)).astype(np.float32)
    scores, q, q_none = agent.values(obs)
    exact = best_slates(CONFIG, scores, q, q_none, "enumerate")[1]
    chosen = best_slates(CONFIG, scores, q, q_none, "auto")[1]
    np.testing.assert_allclose(chosen, exact, rtol=1e-9)


def test_errors_name_parameters() -> None:
    with pytest.raises(ValueError, match="method"):
        SlateQConfig(method="slate-ppo")
    with pytest.raises(ValueError, match="learning_rate"):
        SlateQConfig(learning_rate=0.0)
    with pytest.raises(ValueError, match="net_arch"):
        SlateQConfig(net_arch=())
    with pytest.raises(ValueError, match="exploration_final_eps"):
        SlateQConfig(exploration_final_eps=1.5)
    with pytest.raises(ValueError, match="search"):
        SlateQConfig(search="greedy")
    with pytest.raises(ValueError, match="choice_model"):
        train_slate_agent(CONFIG.replace(choice_model="cascade"), SlateQConfig(**TINY))
    with pytest.raises(ValueError, match="observation"):
        train_slate_agent(CONFIG.replace(observation="oracle"), SlateQConfig(**TINY))
    with pytest.raises(ValueError, match="slate_size"):
        train_slate_agent(CONFIG.replace(slate_size=1), SlateQConfig(**TINY))
    with pytest.raises(ValueError, match="settings"):
        train_slate_agent(CONFIG, {"method": "slateq"})  # type: ignore[arg-type]
    agent = SlateAgent(build_network(CONFIG, SlateQConfig()), CONFIG, SlateQConfig(), 0)
    with pytest.raises(ValueError, match="observation"):
        agent.predict(np.zeros((2, 3)))
