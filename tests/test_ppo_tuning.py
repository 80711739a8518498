"""PPO like for like with the DQN: feature sets, the random search's candidates and the choice it makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recbook.agents.agent import load_agent
from recbook.agents.config import PPOConfig, RunConfig
from recbook.agents.features import ItemFeatures
from recbook.agents.ppo import train_ppo
from recbook.experiments import ppo_tuning
from recbook.observations import ObservationLayout

LEAVE = RunConfig.from_yaml("leave").env


def test_the_budget_is_the_dqn_presets() -> None:
    assert ppo_tuning.BUDGET == RunConfig.from_yaml("leave").training.total_timesteps == 300_000


def test_candidates_are_distinct_draws_from_the_space_and_reproducible() -> None:
    found = ppo_tuning.candidates()
    assert len(found) == ppo_tuning.N_CANDIDATES + 1 and found[0] == PPOConfig()
    keys = [tuple(getattr(c, k) for k in ppo_tuning.SPACE) for c in found]
    assert len(set(keys)) == len(keys)
    for c in found[1:]:
        for key, options in ppo_tuning.SPACE.items():
            assert getattr(c, key) in options
    assert ppo_tuning.candidates() == found
    assert ppo_tuning.candidates(seed=1) != found


def test_chosen_config_is_the_best_validation_row() -> None:
    rows = [dict(candidate=i, **{k: getattr(c, k) for k in ppo_tuning.SPACE}) for i, c in
            enumerate(ppo_tuning.candidates(n=3))]
    results = pd.DataFrame(rows).assign(pct_oracle=[80.0, 82.5, 81.0, 79.0])
    chosen = ppo_tuning.chosen_config(results)
    assert chosen == ppo_tuning.candidates(n=3)[1]
    assert isinstance(chosen.n_steps, int) and isinstance(chosen.learning_rate, float)


def test_the_committed_search_chose_the_committed_models_config() -> None:
    results = pd.read_csv(ppo_tuning.SWEEP_DIR / "results.csv")
    assert len(results) == ppo_tuning.N_CANDIDATES + 1
    chosen = ppo_tuning.chosen_config(results)
    for seed in ppo_tuning.SEEDS:
        agent = load_agent(ppo_tuning.DATA_DIR / "models" / f"ppo_leave_seed{seed}.zip")
        assert agent.ppo_config == chosen
        assert agent.total_timesteps >= ppo_tuning.BUDGET


def test_ppo_reads_the_feature_set_it_is_given(tmp_path: Path) -> None:
    ppo = PPOConfig(features="public", n_steps=64, batch_size=256)
    agent = train_ppo(LEAVE, ppo, total_timesteps=1024, eval_users=50, eval_freq=1024)
    extractor = agent.model.policy.mlp_extractor
    assert extractor.item_features.features == "public"
    assert extractor.item_features.n_features == ItemFeatures(LEAVE, "public").n_features
    again = load_agent(agent.save(tmp_path / "ppo.zip"))
    assert again.ppo_config.features == "public"
    assert again.model.policy.mlp_extractor.item_features.features == "public"
    layout = ObservationLayout(LEAVE)
    obs = layout.build(np.zeros((5, 10), dtype=np.int64), np.zeros((5, 10)), 0, np.zeros((5, 10)))
    np.testing.assert_array_equal(agent.predict(obs)[0], again.predict(obs)[0])


def test_feature_set_errors_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="features"):
        PPOConfig(features="everything")
    with pytest.raises(ValueError, match="features"):
        PPOConfig(policy="mlp", features="public")
