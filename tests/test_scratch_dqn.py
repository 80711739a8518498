"""The from-scratch DQN: reproducible with a seed, learns on a tiny setting, validates its configuration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recbook.agents.scratch import ScratchDQN, ScratchDQNConfig, sb3_arguments, train_scratch_dqn
from recbook.config import EnvConfig
from recbook.evaluation import evaluate

torch.set_num_threads(1)

TINY = EnvConfig(n_items=3, session_length=6, alpha=0.3, observation="feedback")
FAST = ScratchDQNConfig(total_timesteps=6_000, num_envs=16, learning_starts=500, batch_size=64,
                        target_update_interval=500, exploration_fraction=0.5, net_arch=(32,))


@pytest.fixture(scope="module")
def agent() -> ScratchDQN:
    return train_scratch_dqn(TINY, FAST, seed=4)


def test_same_seed_same_network(agent: ScratchDQN) -> None:
    again = train_scratch_dqn(TINY, FAST, seed=4)
    observations = np.random.default_rng(0).random((20, 10)).astype(np.float32)
    assert np.array_equal(agent.q_values(observations), again.q_values(observations))
    assert agent.curve.equals(again.curve)
    other = train_scratch_dqn(TINY, FAST, seed=5)
    assert not np.array_equal(agent.q_values(observations), other.q_values(observations))


def test_learns_better_than_random(agent: ScratchDQN) -> None:
    from recbook.policies import Random

    table = evaluate({"dqn": agent, "random": Random(TINY, seed=0)}, TINY, n_users=2000, seed=3)
    means = table.groupby("policy", observed=True)["pct_oracle"].mean()
    assert means["dqn"] > means["random"] + 15
    curve = agent.curve
    assert len(curve) == FAST.total_timesteps // (FAST.num_envs * TINY.session_length)
    assert curve["epsilon"].iloc[0] > 0.9 and curve["epsilon"].iloc[-1] == pytest.approx(FAST.exploration_final_eps)
    assert curve["loss"].iloc[0] != curve["loss"].iloc[0]  # NaN before learning starts
    assert np.isfinite(curve["loss"].iloc[-1])


def test_predict_follows_sb3(agent: ScratchDQN) -> None:
    obs = np.zeros((4, 10), dtype=np.float32)
    actions, state = agent.predict(obs, state="s")
    assert actions.shape == (4,) and state == "s" and actions.dtype == np.int64
    single, _ = agent.predict(obs[0])
    assert np.ndim(single) == 0


def test_sb3_arguments_keep_sb3_names() -> None:
    arguments = sb3_arguments(ScratchDQNConfig())
    for name in ("buffer_size", "batch_size", "gamma", "learning_rate", "target_update_interval", "learning_starts",
                 "train_freq", "gradient_steps", "exploration_fraction", "exploration_initial_eps",
                 "exploration_final_eps", "max_grad_norm", "policy_kwargs", "tau"):
        assert name in arguments
    assert arguments["policy_kwargs"] == {"net_arch": [64, 64]}


@pytest.mark.parametrize(
    "changes, name",
    [({"buffer_size": 0}, "buffer_size"), ({"gamma": 1.5}, "gamma"), ({"learning_rate": -1.0}, "learning_rate"),
     ({"learning_starts": -1}, "learning_starts"), ({"exploration_final_eps": 2}, "exploration_final_eps"),
     ({"net_arch": ()}, "net_arch")],
)
def test_bad_config_raises_naming_the_parameter(changes: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        ScratchDQNConfig(**changes)


def test_bad_seed_raises() -> None:
    with pytest.raises(ValueError, match="seed"):
        train_scratch_dqn(TINY, FAST, seed=-1)
