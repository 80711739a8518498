"""REINFORCE from scratch (recbook.agents.reinforce): the estimator against the analytic gradient, baselines,
seeds, saving, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from torch import nn

from recbook import EnvConfig
from recbook.agents.reinforce import (
    Episodes,
    ReinforceConfig,
    SoftmaxScorer,
    gradient_variance,
    load_reinforce,
    reinforce_update,
    reward_to_go,
    train_reinforce,
)

th.set_num_threads(1)  # the machine's cores are shared; these tensors are tiny
TINY = EnvConfig(n_items=3, session_length=4, leave_rate=0.3, item_quality=(0.2, 0.5, 0.9))


class TabularSoftmax(nn.Module):
    """A bandit's policy: logits θ whatever the observation."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.theta = nn.Parameter(th.tensor(logits, dtype=th.float64))

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.theta.expand(obs.shape[0], -1)


def bandit_episodes(logits: list[float], means: list[float], n: int, seed: int) -> Episodes:
    """``n`` one-step sessions of a bandit with Gaussian rewards of ``means`` (unit variance)."""
    rng = np.random.default_rng(seed)
    probs = np.exp(logits) / np.exp(logits).sum()
    actions = rng.choice(len(means), size=n, p=probs)
    rewards = np.asarray(means)[actions] + rng.normal(size=n)
    return Episodes(th.zeros(1, n, 1), th.as_tensor(actions[None], dtype=th.int64),
                    th.as_tensor(rewards[None], dtype=th.float64), th.ones(1, n, dtype=th.bool))


def analytic_gradient(logits: list[float], means: list[float]) -> np.ndarray:
    """∇_θ Σ_a π_a μ_a = π ⊙ (μ − π·μ) for a softmax."""
    probs = np.exp(logits) / np.exp(logits).sum()
    means_ = np.asarray(means)
    return probs * (means_ - probs @ means_)


@pytest.mark.parametrize("baseline", ["none", "average"])
def test_gradient_on_a_bandit_is_the_analytic_policy_gradient(baseline: str) -> None:
    logits, means = [0.3, -0.5, 0.1], [1.0, 2.0, 0.5]
    policy = TabularSoftmax(logits)
    reinforce_update(policy, bandit_episodes(logits, means, 200_000, seed=1), baseline)
    estimate = -policy.theta.grad.numpy()  # the update descends the negative objective
    np.testing.assert_allclose(estimate, analytic_gradient(logits, means), atol=0.01)


def test_reward_to_go_sums_the_rewards_from_each_step_on() -> None:
    rewards = th.tensor([[1.0, 0.0], [2.0, 1.0], [3.0, 5.0]])
    assert reward_to_go(rewards).tolist() == [[6.0, 6.0], [5.0, 6.0], [3.0, 5.0]]


def test_the_average_baseline_keeps_the_expected_gradient_and_lowers_its_variance() -> None:
    # Rewards far from 0: without a baseline every sampled action's log-probability is pushed up by ~10.
    logits, means = [0.0, 0.4, -0.2], [10.0, 10.5, 9.5]
    policy = TabularSoftmax(logits)
    grads: dict[str, list[np.ndarray]] = {"none": [], "average": []}
    for seed in range(200):
        episodes = bandit_episodes(logits, means, 64, seed)
        for name in grads:
            reinforce_update(policy, episodes, name)
            grads[name].append(-policy.theta.grad.numpy().copy())
    truth = analytic_gradient(logits, means)
    none, average = np.asarray(grads["none"]), np.asarray(grads["average"])
    for g in (none, average):  # both unbiased: the mean is within 4 standard errors of the truth
        assert np.all(np.abs(g.mean(0) - truth) < 4 * g.std(0) / np.sqrt(len(g)) + 1e-9)
    assert average.var(0).sum() < none.var(0).sum() / 20


def test_gradient_variance_on_the_simulator_pairs_the_batches() -> None:
    th.manual_seed(0)
    policy = SoftmaxScorer(TINY.replace(observation="feedback"), (8,))
    table = gradient_variance(policy, TINY, n_batches=20, num_envs=16, seed=0)
    assert table.index.tolist() == ["none", "average"]
    assert table.loc["average", "variance"] < table.loc["none", "variance"]
    assert table.loc["none", "variance_ratio"] == 1.0 and table.loc["none", "cosine"] == pytest.approx(1.0)
    again = gradient_variance(policy, TINY, n_batches=20, num_envs=16, seed=0)
    assert np.array_equal(table.to_numpy(), again.to_numpy())


def test_training_is_reproducible_and_saves(tmp_path) -> None:
    settings = ReinforceConfig(total_timesteps=300, num_envs=8, eval_freq=150, eval_users=50, net_arch=(8,))
    a = train_reinforce(TINY, settings, seed=3)
    b = train_reinforce(TINY, settings, seed=3)
    c = train_reinforce(TINY, settings, seed=4)
    flat = [th.cat([p.reshape(-1) for p in agent.policy.parameters()]) for agent in (a, b, c)]
    assert th.equal(flat[0], flat[1]) and not th.equal(flat[0], flat[2])
    assert a.value is not None and len(a.learning_curve) >= 2
    obs = np.random.default_rng(0).random((5, 4 * 3 + 1)).astype(np.float32)
    probs = a.action_probabilities(obs)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    assert np.array_equal(a.predict(obs)[0], probs.argmax(1))
    loaded = load_reinforce(a.save(tmp_path / "model.zip"))
    np.testing.assert_allclose(loaded.action_probabilities(obs), probs, rtol=1e-6)
    assert loaded.reinforce == settings and loaded.config == a.config
    assert loaded.learning_curve.shape == a.learning_curve.shape


def test_a_trained_agent_is_scored_by_compare() -> None:
    from recbook.evaluation import compare

    agent = train_reinforce(TINY, ReinforceConfig(total_timesteps=200, num_envs=8, eval_freq=0, net_arch=(8,)))
    table = compare({"reinforce": agent, "bayes-greedy": "bayes-greedy"}, TINY, n_users=50, n_resamples=100)
    assert 0 < table.loc["reinforce", "pct_oracle"] <= 100


@pytest.mark.parametrize(
    ("changes", "name"),
    [({"total_timesteps": 0}, "total_timesteps"), ({"num_envs": 1}, "num_envs"),
     ({"learning_rate": 0.0}, "learning_rate"), ({"baseline": "mean"}, "baseline"),
     ({"features": "raw"}, "features"), ({"net_arch": ()}, "net_arch"), ({"ent_coef": -1.0}, "ent_coef")],
)
def test_bad_hyperparameters_are_refused(changes: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        ReinforceConfig(**changes)


def test_bad_input_is_refused(tmp_path) -> None:
    policy = SoftmaxScorer(TINY.replace(observation="feedback"), (8,))
    with pytest.raises(ValueError, match="config"):
        train_reinforce("leave")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="value"):
        gradient_variance(policy, TINY, baselines=("none", "learned"))
    with pytest.raises(ValueError, match="baselines"):
        gradient_variance(policy, TINY, baselines=("none", "median"))
    with pytest.raises(ValueError, match="n_batches"):
        gradient_variance(policy, TINY, n_batches=1)
    import zipfile

    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("metadata.json", '{"algorithm": "dqn"}')
    with pytest.raises(ValueError, match="REINFORCE"):
        load_reinforce(tmp_path / "other.zip")
