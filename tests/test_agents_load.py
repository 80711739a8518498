"""Loading saved agents: ``recbook.load_agent`` reads the metadata and loads DQN and PPO files as what they are."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import recbook
from recbook.agents.agent import DQNAgent, PPOAgent, SB3Agent, read_metadata
from recbook.agents.ppo import load_ppo
from recbook.evaluation import rollout, sample_users
from recbook.paths import DATA_DIR

PPO_FILE = DATA_DIR / "models" / "ppo_leave_seed0.zip"
DQN_FILE = DATA_DIR / "models" / "leave_seed0.zip"


def _without_algorithm(path: Path, folder: Path) -> Path:
    """A copy of a saved model whose metadata lacks the ``algorithm`` entry, as files saved before it was added."""
    copy = folder / path.name
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "recbook.json":
                meta = json.loads(data)
                del meta["algorithm"]
                data = json.dumps(meta).encode()
            target.writestr(item, data)
    return copy


@pytest.mark.parametrize("old_format", [False, True])
def test_load_agent_loads_the_committed_ppo_file_as_ppo(tmp_path: Path, old_format: bool) -> None:
    """The committed PPO file says ``algorithm: ppo``; a file from before that entry is told by its ``ppo_config``."""
    path = _without_algorithm(PPO_FILE, tmp_path) if old_format else PPO_FILE
    assert ("algorithm" in read_metadata(path)) is not old_format
    agent = recbook.load_agent(path)
    assert isinstance(agent, PPOAgent) and agent.name == "ppo-item-shared-seed0"
    reference = load_ppo(PPO_FILE)
    preferences = sample_users(agent.config, n_users=50, seed=7)
    np.testing.assert_array_equal(
        rollout(agent, agent.config, preferences, seed=3).actions,
        rollout(reference, reference.config, preferences, seed=3).actions,
    )
    assert len(agent.learning_curve) == len(reference.learning_curve) > 0


def test_load_agent_loads_dqn_files_as_dqn() -> None:
    agent = recbook.load_agent(DQN_FILE)
    assert isinstance(agent, DQNAgent) and isinstance(agent, SB3Agent)
    assert agent.name == "dqn-item-shared-seed0"


def test_saved_ppo_records_algorithm_and_reloads(tmp_path: Path) -> None:
    agent = recbook.load_agent(PPO_FILE)
    path = agent.save(tmp_path / "ppo")
    assert path.suffix == ".zip"
    meta = read_metadata(path)
    assert meta["algorithm"] == "ppo" and meta["format"] == 3 and meta["recbook_version"] == recbook.__version__
    loaded = recbook.load_agent(path)
    assert isinstance(loaded, PPOAgent) and loaded.ppo_config == agent.ppo_config
    observations = np.zeros((4, agent.model.observation_space.shape[0]), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(observations)[0], agent.predict(observations)[0])


def test_agent_class_refuses_the_other_algorithm() -> None:
    with pytest.raises(ValueError, match="ppo model, not a dqn model"):
        DQNAgent.load(PPO_FILE)


def test_load_agent_refuses_a_mismatched_environment() -> None:
    agent = recbook.load_agent(PPO_FILE)
    with pytest.raises(ValueError, match="mismatched field"):
        recbook.load_agent(PPO_FILE, config=agent.config.replace(leave_rate=0.1))


def test_not_a_recbook_model(tmp_path: Path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", "{}")
    with pytest.raises(ValueError, match="not a recbook model"):
        recbook.load_agent(path)
