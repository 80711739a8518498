import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import DQN
from stable_baselines3.common.vec_env.util import obs_space_info  # noqa: F401  (SB3 import sanity)

import recbook
from recbook import ENV_ID, EnvConfig, RecommendationEnv, RecommendationVectorEnv, SB3VecEnv
from recbook.evaluation import sample_users


def make_vec(num_envs, **kwargs):
    return gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)


def test_make_vec_returns_the_batched_twin():
    env = make_vec(5, n_items=7, observation="feedback")
    assert isinstance(env.unwrapped, RecommendationVectorEnv)
    obs, info = env.reset(seed=0)
    assert obs.shape == (5, 22) and obs in env.observation_space
    assert env.unwrapped.preferences.shape == (5, 7) and env.unwrapped.counts.shape == (5, 7)
    np.testing.assert_allclose(env.unwrapped.preferences.sum(axis=1), 1.0)
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP


@pytest.mark.parametrize("observation", recbook.OBSERVATIONS)
@pytest.mark.parametrize(("feedback", "decay"), [("expected", "harmonic"), ("click", "geometric")])
def test_batched_matches_scalar_user_for_user(observation, feedback, decay):
    config = EnvConfig(n_items=6, session_length=9, observation=observation, feedback=feedback, decay=decay)
    users = sample_users(config, 4, seed=3)
    actions = np.random.default_rng(1).integers(0, 6, size=(9, 4))
    venv = RecommendationVectorEnv.from_config(config, 4)
    vobs, _ = venv.reset(seed=0, options={"preferences": users})
    batched = [(vobs, None, None)]
    for t in range(9):
        obs, reward, terminated, truncated, info = venv.step(actions[t])
        batched.append((obs, reward, terminated))
    for i in range(4):
        env = RecommendationEnv.from_config(config)
        obs, _ = env.reset(options={"preferences": users[i]})
        np.testing.assert_allclose(obs, batched[0][0][i], atol=1e-7)
        for t in range(9):
            obs, reward, terminated, truncated, info = env.step(int(actions[t, i]))
            # counts (first n entries) always agree; click draws come from different generators
            np.testing.assert_allclose(obs[: config.n_items], batched[t + 1][0][i][: config.n_items], atol=1e-7)
            assert terminated == batched[t + 1][2][i]
            if feedback == "expected":
                np.testing.assert_allclose(obs, batched[t + 1][0][i], atol=1e-7)
                assert reward == pytest.approx(batched[t + 1][1][i])


def test_batched_expected_rewards_equal_hand_computation():
    config = EnvConfig(n_items=3, session_length=3, decay="geometric", decay_rate=0.5)
    venv = RecommendationVectorEnv.from_config(config, 2)
    prefs = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
    venv.reset(options={"preferences": prefs})
    rewards = [venv.step(np.array([2, 0]))[1] for _ in range(3)]
    np.testing.assert_allclose(rewards, [[0.5, 0.6], [0.25, 0.3], [0.125, 0.15]])


def test_same_seed_same_batched_trajectory():
    def run(seed):
        env = make_vec(8, feedback="click", observation="feedback")
        out = [env.reset(seed=seed)[0]]
        rng = np.random.default_rng(0)
        for _ in range(45):
            obs, reward, terminated, truncated, _ = env.step(rng.integers(0, 10, 8))
            out += [obs, reward, terminated]
        return out

    for a, b in zip(run(11), run(11)):
        np.testing.assert_array_equal(a, b)


def test_next_step_autoreset():
    env = RecommendationVectorEnv(num_envs=3, session_length=2)
    env.reset(seed=0)
    first_users = env.preferences.copy()
    env.step(np.array([0, 1, 2]))
    obs, reward, terminated, truncated, info = env.step(np.array([0, 1, 2]))
    assert terminated.all() and not truncated.any()
    obs, reward, terminated, truncated, info = env.step(np.array([0, 1, 2]))
    # the autoreset step ignores the actions, pays nothing and starts new users
    assert not obs.any() and not reward.any() and not terminated.any()
    assert not info["_engagement_probability"].any()
    assert not np.allclose(env.preferences, first_users)
    obs, reward, *_ = env.step(np.array([0, 1, 2]))
    assert obs.sum() == 3
    np.testing.assert_allclose(reward, env.preferences[[0, 1, 2], [0, 1, 2]])


def test_reset_mask_resets_only_selected_users():
    env = RecommendationVectorEnv(num_envs=3)
    env.reset(seed=0)
    before = env.preferences.copy()
    env.step(np.array([1, 1, 1]))
    env.reset(options={"reset_mask": np.array([False, True, False])})
    assert np.array_equal(env.preferences[[0, 2]], before[[0, 2]])
    assert env.counts[[0, 2]].sum() == 2 and env.counts[1].sum() == 0


@pytest.mark.parametrize("actions", [np.array([0, 1]), np.array([0, 1, 10]), np.array([0.0, 1.0, 2.0]), np.array([-1, 0, 0])])
def test_invalid_batched_actions(actions):
    env = RecommendationVectorEnv(num_envs=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="actions"):
        env.step(actions)


def test_batched_errors():
    with pytest.raises(gym.error.ResetNeeded):
        RecommendationVectorEnv(num_envs=2).step(np.array([0, 0]))
    with pytest.raises(ValueError, match="num_envs"):
        RecommendationVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="alpha"):
        RecommendationVectorEnv(num_envs=2, alpha=-1)
    with pytest.raises(ValueError, match="preferences"):
        RecommendationVectorEnv(num_envs=2, n_items=3).reset(options={"preferences": np.ones((3, 3)) / 3})


def test_sb3_adapter_same_step_reset_and_terminal_observation():
    venv = SB3VecEnv(EnvConfig(n_items=4, session_length=3, observation="feedback"), num_envs=5, seed=0)
    obs = venv.reset()
    assert obs.shape == (5, 13)
    for t in range(3):
        obs, rewards, dones, infos = venv.step(np.full(5, t % 4))
    assert dones.all()
    for i in range(5):
        terminal = infos[i]["terminal_observation"]
        assert terminal[-1] == 0.0  # no steps left in the ended session
        assert infos[i]["TimeLimit.truncated"] is False
    assert not obs[:, :4].any() and np.allclose(obs[:, -1], 1.0)  # already the next users


def test_sb3_adapter_seeded_and_trains_dqn():
    def train(seed):
        venv = SB3VecEnv(EnvConfig(observation="feedback"), num_envs=16, seed=seed)
        model = DQN("MlpPolicy", venv, learning_starts=64, batch_size=32, seed=seed, device="cpu",
                    policy_kwargs={"net_arch": [16]})
        model.learn(total_timesteps=800)
        obs = venv.reset()
        return model, model.predict(obs, deterministic=True)[0]

    model, actions = train(0)
    assert model.num_timesteps >= 800
    _, actions_again = train(0)
    np.testing.assert_array_equal(actions, actions_again)


def test_sb3_adapter_engagement_reward():
    """reward="engagement" returns the engagement probability; the observations (and clicks seen) are unchanged."""
    config = EnvConfig(n_items=5, session_length=6, feedback="click", observation="feedback")
    observed = SB3VecEnv(config, num_envs=64, seed=3)
    engagement = SB3VecEnv(config, num_envs=64, seed=3, reward="engagement")
    obs_a, obs_b = observed.reset(), engagement.reset()
    clicks_seen = 0.0
    for t in range(8):  # crosses a session boundary
        actions = np.arange(64) % 5 if t % 2 else np.zeros(64, dtype=np.int64)
        obs_a, r_a, done_a, info_a = observed.step(actions)
        obs_b, r_b, done_b, info_b = engagement.step(actions)
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(done_a, done_b)
        probability = np.array([info["engagement_probability"] for info in info_b], dtype=np.float32)
        np.testing.assert_array_equal(r_b, probability)
        assert set(np.unique(r_a)) <= {0.0, 1.0}
        clicks_seen += r_a.sum()
    assert clicks_seen > 0 and not np.array_equal(r_a, r_b)


def test_sb3_adapter_engagement_reward_equals_expected_feedback_reward():
    config = EnvConfig(observation="feedback")  # feedback="expected": the reward *is* the engagement probability
    a, b = SB3VecEnv(config, 8, seed=0), SB3VecEnv(config, 8, seed=0, reward="engagement")
    a.reset(), b.reset()
    for t in range(25):
        actions = np.full(8, t % 10)
        np.testing.assert_allclose(a.step(actions)[1], b.step(actions)[1])


def test_sb3_adapter_rejects_unknown_reward():
    with pytest.raises(ValueError, match="reward"):
        SB3VecEnv(EnvConfig(observation="feedback"), 4, reward="clicks")
