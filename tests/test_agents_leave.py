"""Agents with users who leave: quality features, exits as terminal transitions, PPO, and unchanged old models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th

from recbook.agents.dqn import DQNConfig, RunConfig, TrainingConfig, load_agent, train_dqn
from recbook.agents.networks import ItemFeatures
from recbook.agents.ppo import PPOConfig, load_ppo, train_ppo
from recbook.agents.sb3 import SB3VecEnv
from recbook.config import EnvConfig
from recbook.evaluation import rollout, sample_users
from recbook.observations import ObservationLayout
from recbook.paths import DATA_DIR

LEAVE = RunConfig.from_yaml("leave").env
ROOT = Path(__file__).resolve().parents[1]


def test_existing_models_give_the_same_actions() -> None:
    """The quality features are added only when items have a quality: committed models act exactly as before.

    ``tests/data/model_actions.npz`` was first recorded when the quality features were added, after checking that
    every model's actions on 300 users equalled those of the code before them; it is re-recorded (``python
    tests/test_agents_leave.py``) when the committed models are retrained."""
    reference = np.load(ROOT / "tests" / "data" / "model_actions.npz")
    assert set(reference.files) == set(_model_stems())
    for stem in reference.files:
        np.testing.assert_array_equal(_actions(stem), reference[stem], err_msg=stem)


def _model_stems() -> list[str]:
    # SB3 DQN files whose actions were recorded; the leave-setting models (DQN, PPO, REINFORCE) and the policies
    # learned from logs (offline_*, tests/test_offline.py) have their own tests.
    skip = ("leave", "ppo", "reinforce", "offline", "slateq")
    return sorted(p.stem for p in (DATA_DIR / "models").glob("*.zip") if not p.stem.startswith(skip))


def _actions(stem: str) -> np.ndarray:
    agent = load_agent(DATA_DIR / "models" / f"{stem}.zip")
    preferences = sample_users(agent.config, n_users=100, seed=7)
    return rollout(agent, agent.config, preferences, seed=3).actions


def test_item_features_gain_quality_features_only_with_qualities() -> None:
    for config, shapes in ((EnvConfig(observation="feedback"), (9, 9)), (LEAVE, (13, 10))):
        features = ItemFeatures(config)
        assert features.n_features == shapes
        layout = ObservationLayout(config)
        counts = np.zeros((4, 10), dtype=np.int64)
        obs = th.as_tensor(layout.build(counts, np.zeros((4, 10)), 0, np.zeros((4, 10))))
        items, context, _, _ = features(obs)
        assert items.shape == (4, 10, shapes[0]) and context.shape == (4, shapes[1])
    items, _, _, _ = ItemFeatures(LEAVE)(obs)
    np.testing.assert_allclose(items[0, :, 9].numpy(), LEAVE.quality_vector, rtol=1e-6)  # the quality column
    np.testing.assert_allclose(items[0, :, 10].numpy(), LEAVE.leave_probability(np.arange(10)), rtol=1e-6)


def test_a_user_who_leaves_ends_the_transition() -> None:
    config = EnvConfig(n_items=3, leave_rate=1.0, item_quality=(0.0, 0.0, 1.0), observation="feedback")
    env = SB3VecEnv(config, num_envs=4, seed=0)
    env.reset()
    obs, rewards, dones, infos = env.step(np.array([0, 1, 2, 2]))
    # Quality 0 with leave_rate 1: the user always leaves; quality 1: never.
    np.testing.assert_array_equal(dones, [True, True, False, False])
    for i in (0, 1):
        assert "terminal_observation" in infos[i] and infos[i]["TimeLimit.truncated"] is False
    assert np.all(rewards >= 0)


@pytest.mark.parametrize("policy", ["item_shared", "mlp"])
def test_ppo_trains_saves_and_loads(tmp_path: Path, policy: str) -> None:
    agent = train_ppo(LEAVE, PPOConfig(policy=policy, n_steps=64, batch_size=256), total_timesteps=1024,
                      eval_users=100, eval_freq=1024)
    assert len(agent.learning_curve) >= 2
    path = agent.save(tmp_path / "ppo.zip")
    again = load_ppo(path)
    obs = ObservationLayout(LEAVE).build(np.zeros((5, 10), dtype=np.int64), np.zeros((5, 10)), 0, np.zeros((5, 10)))
    np.testing.assert_array_equal(agent.predict(obs)[0], again.predict(obs)[0])
    assert again.config == LEAVE


def test_ppo_bad_inputs() -> None:
    with pytest.raises(ValueError, match="policy"):
        PPOConfig(policy="cnn")
    with pytest.raises(ValueError, match="observation"):
        train_ppo(LEAVE.replace(observation="counts"), total_timesteps=10)
    with pytest.raises(ValueError, match="total_timesteps"):
        train_ppo(LEAVE, total_timesteps=0)


def test_dqn_trains_on_the_leave_preset(tmp_path: Path) -> None:
    training = TrainingConfig(total_timesteps=800, num_envs=16, eval_users=50, eval_freq=800)
    dqn = DQNConfig(skip="none", learning_starts=200, batch_size=64, buffer_size=1000, n_steps=3)
    agent = train_dqn(preset="leave", dqn=dqn, training=training, seed=0)
    assert agent.config == LEAVE
    again = load_agent(agent.save(tmp_path / "dqn.zip"))
    assert 0 < again.evaluate(n_users=50)["pct_oracle"] <= 130


if __name__ == "__main__":
    np.savez_compressed(ROOT / "tests" / "data" / "model_actions.npz", **{s: _actions(s) for s in _model_stems()})
