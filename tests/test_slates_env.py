"""Slates and a user who chooses: the choice model (recbook.choice) in the scalar and batched environments."""

from __future__ import annotations

import hashlib

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from recbook.choice import choice_probabilities, choice_scores, sample_choices, validate_slates
from recbook.config import EnvConfig
from recbook.env import RecommendationEnv
from recbook.evaluation import rollout, sample_users
from recbook.observations import ObservationLayout
from recbook.response import DecayModel
from recbook.vector import RecommendationVectorEnv

QUALITY = tuple(np.linspace(0.05, 0.95, 10))
SLATE = dict(slate_size=3, no_click_mass=1.0, feedback="choice", leave_rate=0.3, item_quality=QUALITY,
             leave_no_click=0.1, observation="feedback")


def test_defaults_are_the_original_environment_bit_for_bit() -> None:
    """The checksum of seeded scalar and batched sessions, computed on the code before slates existed."""
    digest = hashlib.sha256()
    for kw in [dict(), dict(feedback="click", observation="feedback"),
               dict(feedback="click", observation="feedback", leave_rate=0.3, item_quality="uniform")]:
        env = RecommendationEnv(**kw)
        obs, _ = env.reset(seed=3)
        rng = np.random.default_rng(1)
        for _ in range(60):
            obs, reward, terminated, _, _ = env.step(int(rng.integers(10)))
            digest.update(obs.tobytes())
            digest.update(np.float64(reward).tobytes())
            digest.update(bytes([terminated]))
            if terminated:
                obs, _ = env.reset()
        vector = RecommendationVectorEnv(num_envs=7, **kw)
        obs, _ = vector.reset(seed=5)
        for _ in range(60):
            obs, rewards, terminated, _, _ = vector.step(rng.integers(10, size=7))
            digest.update(obs.tobytes())
            digest.update(rewards.tobytes())
            digest.update(terminated.tobytes())
    assert digest.hexdigest() == "c581833268417d2d26211e719bbeb6d8c62652b06e43ed9bd1438332588a4a8f"


def test_mnl_and_cascade_probabilities_by_hand() -> None:
    scores = np.array([2.0, 1.0, 0.5])
    mnl = choice_probabilities(scores, "mnl", 1.0)
    np.testing.assert_allclose(mnl, np.array([2.0, 1.0, 0.5, 1.0]) / 4.5)
    attention = np.array([1.0, 0.5, 0.5])
    cascade = choice_probabilities(scores, "cascade", 1.0, attention)
    take = attention * scores / (scores + 1.0)
    expected = [take[0], (1 - take[0]) * take[1], (1 - take[0]) * (1 - take[1]) * take[2]]
    np.testing.assert_allclose(cascade[:3], expected)
    np.testing.assert_allclose(cascade.sum(), 1.0)
    # Degenerate: nothing to like and no no-click mass: the user still takes an item.
    np.testing.assert_allclose(choice_probabilities(np.zeros(2), "mnl", 0.0), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(choice_probabilities(np.zeros(2), "cascade", 0.0), [1.0, 0.0, 0.0])


def test_scores_are_n_times_preference_times_the_next_decay() -> None:
    scores = choice_scores(np.array([0.5, 0.3, 0.2]), np.array([0, 1, 3]), DecayModel())
    np.testing.assert_allclose(scores, 3 * np.array([0.5, 0.3 / 2, 0.2 / 4]))


@pytest.mark.parametrize("choice_model", ["mnl", "cascade"])
def test_batched_choices_follow_the_choice_model(choice_model: str) -> None:
    config = EnvConfig(slate_size=3, choice_model=choice_model, no_click_mass=1.0, attention=(1.0, 0.7, 0.4))
    users = 40_000
    preferences = np.tile([0.4, 0.3, 0.1, 0.1, 0.05, 0.05, 0, 0, 0, 0], (users, 1))
    env = RecommendationVectorEnv.from_config(config, users)
    env.reset(seed=0, options={"preferences": preferences})
    slates = np.tile([1, 0, 4], (users, 1))
    _, _, _, _, info = env.step(slates)
    observed = np.bincount(info["choice"] + 1, minlength=4) / users
    expected = config.choice_probabilities(preferences[0], np.zeros(10, dtype=int), slates[0])
    np.testing.assert_allclose(observed, np.roll(expected, 1), atol=0.01)
    taken = env.last_choice
    assert np.all((taken == -1) | np.isin(taken, [1, 0, 4]))
    np.testing.assert_array_equal(env.counts.sum(axis=1), (taken >= 0).astype(int))
    np.testing.assert_array_equal(env.shown[:, [0, 1, 4]], 1)


def test_scalar_and_batched_agree_for_one_user() -> None:
    config = EnvConfig(**{**SLATE, "feedback": "click"})
    preferences = sample_users(config, 1, seed=2)
    scalar = RecommendationEnv.from_config(config)
    vector = RecommendationVectorEnv.from_config(config, 1)
    obs_s, _ = scalar.reset(seed=9, options={"preferences": preferences[0]})
    obs_v, _ = vector.reset(seed=9, options={"preferences": preferences})
    rng = np.random.default_rng(0)
    for _ in range(config.session_length):
        slate = rng.permutation(10)[:3]
        obs_s, reward_s, done_s, _, info_s = scalar.step(slate)
        obs_v, reward_v, done_v, _, info_v = vector.step(slate[None])
        np.testing.assert_array_equal(obs_s, obs_v[0])
        assert reward_s == reward_v[0] and done_s == done_v[0] and info_s["choice"] == info_v["choice"][0]
        if done_s:
            break


def test_reward_decay_and_observation_act_on_the_item_taken() -> None:
    config = EnvConfig(**SLATE)
    layout = ObservationLayout(config)
    env = RecommendationEnv.from_config(config)
    env.reset(seed=1, options={"preferences": np.eye(10)[2]})
    obs, reward, _, _, info = env.step(np.array([5, 2, 7]))
    # Only item 2 scores above 0: the user takes it or nothing.
    assert info["item"] in (2, -1) and reward == float(info["item"] == 2)
    view = layout.parse(obs)
    assert view.last_choice == info["item"] and list(view.shown[[5, 2, 7]]) == [1, 1, 1]
    assert view.counts.sum() == int(info["item"] == 2)
    assert obs.shape == (6 * 10 + 1,) and env.observation_space.contains(obs)


@pytest.mark.parametrize("choice_model", ["mnl", "cascade"])
def test_env_checker_passes_for_slates(choice_model: str) -> None:
    env = RecommendationEnv(**{**SLATE, "choice_model": choice_model, "attention": 0.8})
    assert isinstance(env.action_space, gym.spaces.MultiDiscrete)
    check_env(env, skip_render_check=True)


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"slate_size": 11}, "slate_size"),
        ({"slate_size": 0}, "slate_size"),
        ({"choice_model": "logit"}, "choice_model"),
        ({"no_click_mass": -1.0}, "no_click_mass"),
        ({"no_click_mass": float("inf")}, "no_click_mass"),
        ({"attention": (1.0, 0.5)}, "attention"),
        ({"attention": 1.5}, "attention"),
        ({"leave_no_click": 2.0}, "leave_no_click"),
        ({"slate_size": 1, "no_click_mass": 0.0}, "feedback"),
    ],
)
def test_bad_choice_parameters_name_themselves(changes: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        EnvConfig(**{**SLATE, **changes})


@pytest.mark.parametrize("slate", [[1, 1, 2], [1, 2, 10], [1, 2], [0.0, 1.0, 2.0]])
def test_bad_slates_name_the_action(slate: list) -> None:
    env = RecommendationEnv(**SLATE)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(np.array(slate))
    vector = RecommendationVectorEnv(num_envs=2, **SLATE)
    vector.reset(seed=0)
    with pytest.raises(ValueError, match="actions"):
        vector.step(np.array([slate, slate]))


def test_validate_slates_and_sampling_edges() -> None:
    assert validate_slates([3, 1], None, 2, 4).tolist() == [3, 1]
    draws = sample_choices(np.random.default_rng(0), np.tile([0.0, 0.0, 1.0], (100, 1)))
    assert np.all(draws == -1)
    draws = sample_choices(np.random.default_rng(0), np.tile([0.0, 1.0, 0.0], (100, 1)))
    assert np.all(draws == 1)


class _FirstSlate:
    """Always shows items 0, 1, 2 (a fixed slate policy for the rollout engine)."""

    def predict(self, observation, state=None, episode_start=None, deterministic=True):  # noqa: ANN001, ANN201
        return np.tile([0, 1, 2], (len(observation), 1)), state


def test_expected_exits_match_sampled_exits_on_average() -> None:
    config = EnvConfig(**SLATE)
    users = sample_users(config, 20_000, seed=0)
    expected = rollout(_FirstSlate(), config, users, seed=1, exits="expected")
    sampled = rollout(_FirstSlate(), config, users, seed=1, exits="sampled")
    assert expected.actions.shape == (20_000, 20, 3) and expected.chosen is not None
    mean_expected = expected.rewards.sum(axis=1).mean()
    mean_sampled = sampled.rewards.sum(axis=1).mean()
    spread = sampled.rewards.sum(axis=1).std() / np.sqrt(20_000)
    assert abs(mean_expected - mean_sampled) < 4 * spread
    # A user who left gets no more slates, and nothing is chosen after leaving.
    stopped = ~sampled.active
    assert np.all(sampled.chosen[stopped] == -1)


def test_no_click_mass_with_one_item_declines_sometimes() -> None:
    config = EnvConfig(no_click_mass=1.0, observation="feedback")
    assert config.is_slate and not EnvConfig().is_slate
    env = RecommendationVectorEnv.from_config(config, 10_000)
    env.reset(seed=0, options={"preferences": np.tile(np.full(10, 0.1), (10_000, 1))})
    _, _, _, _, info = env.step(np.zeros(10_000, dtype=int))
    # Score N * 0.1 = 1 against a no-click mass of 1: half take the item.
    assert abs((info["choice"] == 0).mean() - 0.5) < 0.02
    assert set(np.unique(info["choice"])) == {-1, 0}


def test_config_round_trips_with_slate_fields() -> None:
    config = EnvConfig(**{**SLATE, "choice_model": "cascade", "attention": (1.0, 0.6, 0.3)})
    assert EnvConfig.from_dict(config.to_dict()) == config
    np.testing.assert_allclose(config.attention_vector, [1.0, 0.6, 0.3])
    np.testing.assert_allclose(config.leave_probability_after(np.array([-1, 0])), [0.1, 0.3 * (1 - QUALITY[0])])
