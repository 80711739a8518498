"""Property tests over random valid configurations and action sequences (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import recbook
from recbook import EnvConfig, RecommendationEnv, RecommendationVectorEnv


@st.composite
def configs_and_actions(draw):
    n_items = draw(st.integers(1, 8))
    session_length = draw(st.integers(1, 12))
    symmetric = draw(st.booleans())
    positive = st.floats(0.05, 20.0, allow_nan=False, allow_infinity=False)
    alpha = draw(positive) if symmetric else draw(st.lists(positive, min_size=n_items, max_size=n_items))
    config = EnvConfig(
        n_items=n_items,
        session_length=session_length,
        alpha=alpha,
        decay=draw(st.sampled_from(recbook.DECAYS)),
        decay_rate=draw(st.floats(0.01, 1.0)),
        feedback=draw(st.sampled_from(recbook.FEEDBACKS)),
        observation=draw(st.sampled_from(recbook.OBSERVATIONS)),
    )
    actions = draw(st.lists(st.integers(0, n_items - 1), min_size=session_length, max_size=session_length))
    return config, actions, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=150, deadline=None)
@given(configs_and_actions())
def test_scalar_session_invariants(case):
    config, actions, seed = case
    env = RecommendationEnv.from_config(config)
    obs, _ = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    for t, action in enumerate(actions, start=1):
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.counts.sum() == t
        assert 0.0 <= info["engagement_probability"] <= env.preferences[action] + 1e-12
        if config.feedback == "expected":
            assert reward == info["engagement_probability"]
        else:
            assert reward in (0.0, 1.0)
        assert env.observation_space.contains(obs), obs
        assert truncated is False
        assert terminated == (t == config.session_length)


@settings(max_examples=60, deadline=None)
@given(configs_and_actions(), st.integers(1, 5))
def test_batched_session_invariants(case, num_envs):
    config, actions, seed = case
    env = RecommendationVectorEnv.from_config(config, num_envs)
    obs, _ = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    for t, action in enumerate(actions, start=1):
        obs, reward, terminated, truncated, info = env.step(np.full(num_envs, action))
        assert np.all(env.counts.sum(axis=1) == t)
        prob = info["engagement_probability"]
        assert np.all(prob >= 0) and np.all(prob <= env.preferences[:, action] + 1e-12)
        assert np.all((reward >= 0) & (reward <= 1))
        assert env.observation_space.contains(obs)
        assert np.all(terminated == (t == config.session_length)) and not truncated.any()
