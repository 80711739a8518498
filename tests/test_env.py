import itertools
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import recbook
from recbook import ENV_ID, EnvConfig, RecommendationEnv
from recbook.observations import ObservationLayout

MODES = list(itertools.product(recbook.OBSERVATIONS, recbook.FEEDBACKS, recbook.DECAYS))


@pytest.mark.parametrize(("observation", "feedback", "decay"), MODES)
def test_env_checkers_raise_no_warnings(observation, feedback, decay):
    env = gym.make(ENV_ID, observation=observation, feedback=feedback, decay=decay, render_mode="ansi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)


def test_defaults_are_the_original_setting():
    config = gym.make(ENV_ID).unwrapped.config
    assert config == EnvConfig(10, 20, 1.0, "harmonic", 0.8, "expected", "counts")


def test_contract_attributes():
    env = gym.make(ENV_ID, n_items=10, session_length=20, alpha=1.0, decay="harmonic", decay_rate=0.8,
                   feedback="expected", observation="counts")
    obs, info = env.reset(seed=0)
    prefs = env.unwrapped.preferences
    assert prefs.dtype == np.float64 and prefs.shape == (10,)
    assert prefs.sum() == pytest.approx(1.0)
    assert env.unwrapped.counts.dtype.kind == "i" and not env.unwrapped.counts.any()
    assert obs.shape == (10,) and not obs.any()


def run(env, actions, seed):
    obs, _ = env.reset(seed=seed)
    trajectory = [obs]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        trajectory.append((obs, reward, terminated, truncated, info["engagement_probability"]))
    return trajectory


@pytest.mark.parametrize("feedback", recbook.FEEDBACKS)
def test_same_seed_same_trajectory(feedback):
    actions = np.random.default_rng(0).integers(0, 10, 20)
    a = run(gym.make(ENV_ID, feedback=feedback, observation="feedback"), actions, seed=42)
    b = run(gym.make(ENV_ID, feedback=feedback, observation="feedback"), actions, seed=42)
    for x, y in zip(a, b):
        np.testing.assert_equal(x, y)
    c = run(gym.make(ENV_ID, feedback=feedback, observation="feedback"), actions, seed=43)
    assert not np.array_equal(a[0], c[0]) or not np.array_equal(a[-1][0], c[-1][0])


@pytest.mark.parametrize(("decay", "rate", "multipliers"), [
    ("harmonic", 0.8, [1, 1 / 2, 1 / 3, 1 / 4]),
    ("geometric", 0.5, [1, 0.5, 0.25, 0.125]),
])
def test_reward_formula_by_hand(decay, rate, multipliers):
    env = RecommendationEnv(n_items=3, session_length=6, decay=decay, decay_rate=rate, observation="feedback")
    prefs = np.array([0.2, 0.5, 0.3])
    env.reset(seed=0, options={"preferences": prefs})
    rewards = [env.step(1)[1] for _ in range(4)]
    np.testing.assert_allclose(rewards, 0.5 * np.array(multipliers))
    _, reward, _, _, info = env.step(0)
    assert reward == pytest.approx(0.2) and info["engagement_probability"] == pytest.approx(0.2)


def test_feedback_observation_layout():
    env = RecommendationEnv(n_items=3, session_length=4, observation="feedback")
    prefs = np.array([0.2, 0.5, 0.3])
    env.reset(seed=0, options={"preferences": prefs})
    env.step(1)
    obs, *_ = env.step(1)
    np.testing.assert_allclose(obs, [0, 0.5, 0, 0, 1, 0, 0, 0.5, 0, 0.5], atol=1e-7)
    layout = ObservationLayout(env.config)
    view = layout.parse(obs)
    assert view.counts.tolist() == [0, 2, 0] and view.steps_remaining == 2
    assert view.clicks[1] == pytest.approx(0.75)


def test_oracle_observation_appends_preferences_and_others_hide_them():
    prefs = np.array([0.1, 0.6, 0.3])
    for observation, size in [("counts", 3), ("feedback", 10), ("oracle", 13)]:
        env = RecommendationEnv(n_items=3, session_length=4, observation=observation, render_mode="ansi")
        obs, _ = env.reset(options={"preferences": prefs})
        assert obs.shape == (size,)
        text = env.render()
        if observation == "oracle":
            np.testing.assert_allclose(obs[-3:], prefs, atol=1e-7)
            assert "preferences" in text
        else:
            assert "preferences" not in text and "0.60" not in text


def test_click_feedback_is_bernoulli_with_the_engagement_probability():
    env = RecommendationEnv(n_items=2, session_length=1, feedback="click")
    rewards, probs = [], []
    env.reset(seed=5)
    for _ in range(4000):
        env.reset(options={"preferences": [0.3, 0.7]})
        _, r, _, _, info = env.step(1)
        rewards.append(r)
        probs.append(info["engagement_probability"])
    assert set(rewards) <= {0.0, 1.0}
    assert np.allclose(probs, 0.7)
    assert abs(np.mean(rewards) - 0.7) < 5 * np.sqrt(0.21 / 4000)


def test_episode_ends_exactly_at_session_length():
    env = gym.make(ENV_ID, session_length=5)
    env.reset(seed=0)
    flags = [env.step(0)[2:4] for _ in range(5)]
    assert flags == [(False, False)] * 4 + [(True, False)]
    with pytest.raises(gym.error.ResetNeeded):
        env.unwrapped.step(0)


def test_step_before_reset_raises():
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        RecommendationEnv().step(0)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"n_items": 0}, "n_items"),
    ({"n_items": 2.5}, "n_items"),
    ({"session_length": 0}, "session_length"),
    ({"session_length": True}, "session_length"),
    ({"alpha": 0.0}, "alpha"),
    ({"alpha": -1.0}, "alpha"),
    ({"alpha": float("inf")}, "alpha"),
    ({"alpha": [1.0, 2.0]}, "alpha"),
    ({"decay": "linear"}, "decay"),
    ({"decay_rate": 0.0}, "decay_rate"),
    ({"decay_rate": 1.5}, "decay_rate"),
    ({"feedback": "rating"}, "feedback"),
    ({"observation": "pixels"}, "observation"),
    ({"render_mode": "human"}, "render_mode"),
])
@pytest.mark.filterwarnings("ignore:.*render_mode:UserWarning")
def test_invalid_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        RecommendationEnv(**kwargs)
    with pytest.raises(ValueError, match=name):
        gym.make(ENV_ID, **kwargs)


@pytest.mark.parametrize("action", [-1, 10, 2.0, "3", None, True, np.array([1, 2])])
def test_invalid_action(action):
    env = RecommendationEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_numpy_integer_actions_accepted():
    env = RecommendationEnv()
    env.reset(seed=0)
    env.step(np.int64(3))
    env.step(np.array(4))
    assert env.counts[3] == 1 and env.counts[4] == 1


def test_reset_options_validated():
    env = RecommendationEnv(n_items=3)
    with pytest.raises(ValueError, match="preferences"):
        env.reset(options={"preferences": [0.5, 0.5]})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"user": 3})


def test_per_item_alpha_skews_popularity():
    alpha = [5.0, 1.0, 1.0, 1.0]
    env = RecommendationEnv(n_items=4, alpha=alpha)
    env.reset(seed=0)
    first = [env.reset()[1] or env.preferences[0] for _ in range(3000)]
    assert np.mean(first) == pytest.approx(5 / 8, abs=0.02)
    assert env.config.alpha == tuple(alpha)


def test_config_round_trip():
    config = EnvConfig(n_items=4, alpha=[1, 2, 3, 4], decay="geometric", decay_rate=0.5)
    assert EnvConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown environment parameter"):
        EnvConfig.from_dict({"n_item": 3})


# -- users who leave (leave_rate, item_quality) --------------------------------------------------------------
def test_leave_defaults_keep_the_original_setting() -> None:
    config = EnvConfig()
    assert config.leave_rate == 0.0 and config.item_quality is None and not config.has_quality
    env = RecommendationEnv(observation="feedback")
    assert env.observation_space.shape == (31,)
    np.testing.assert_array_equal(env.unwrapped.item_quality, np.zeros(10))


def test_users_leave_with_the_documented_probability() -> None:
    quality = [0.0, 1.0, 0.5]
    env = RecommendationEnv(n_items=3, session_length=1000, leave_rate=0.4, item_quality=quality)
    lengths = {0: [], 1: [], 2: []}
    for item in lengths:
        for seed in range(300):
            env.reset(seed=seed)
            steps = 0
            while True:
                _, _, terminated, _, info = env.step(item)
                steps += 1
                if terminated:
                    break
            assert info["left"] or steps == 1000
            lengths[item].append(steps)
    assert min(lengths[1]) == 1000  # quality 1: nobody leaves
    assert np.mean(lengths[0]) == pytest.approx(1 / 0.4, rel=0.15)  # geometric, p = 0.4
    assert np.mean(lengths[2]) == pytest.approx(1 / 0.2, rel=0.15)


def test_quality_is_observed_and_uniform_is_per_catalog() -> None:
    env = RecommendationEnv(observation="feedback", leave_rate=0.3, item_quality="uniform", catalog_seed=4)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (41,)
    np.testing.assert_allclose(obs[31:41], env.unwrapped.item_quality, rtol=1e-6)
    view = env.layout.parse(obs)
    np.testing.assert_allclose(view.quality, env.unwrapped.item_quality, rtol=1e-6)
    same = EnvConfig(item_quality="uniform", catalog_seed=4).quality_vector
    other = EnvConfig(item_quality="uniform", catalog_seed=5).quality_vector
    np.testing.assert_array_equal(same, env.unwrapped.item_quality)
    assert not np.allclose(same, other)
    oracle = RecommendationEnv(observation="oracle", item_quality="uniform")
    assert oracle.observation_space.shape == (51,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"leave_rate": 1.5}, "leave_rate"), ({"leave_rate": -0.1}, "leave_rate"), ({"leave_rate": True}, "leave_rate"),
     ({"item_quality": [0.5] * 9}, "item_quality"), ({"item_quality": [1.2] + [0.5] * 9}, "item_quality"),
     ({"item_quality": "normal"}, "item_quality"), ({"catalog_seed": -3}, "catalog_seed")],
)
def test_bad_leave_parameters_name_themselves(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        EnvConfig(**kwargs)


def test_batched_env_leaves_like_the_scalar_env_in_distribution() -> None:
    from recbook.vector import RecommendationVectorEnv

    venv = RecommendationVectorEnv(num_envs=4000, n_items=2, leave_rate=0.5, item_quality=[0.0, 0.8])
    np.testing.assert_array_equal(venv.item_quality, [0.0, 0.8])
    venv.reset(seed=0)
    actions = np.repeat([0, 1], 2000)
    _, _, terminated, _, info = venv.step(actions)
    assert terminated[:2000].mean() == pytest.approx(0.5, abs=0.05)
    assert terminated[2000:].mean() == pytest.approx(0.1, abs=0.03)
    np.testing.assert_array_equal(info["left"], terminated)
