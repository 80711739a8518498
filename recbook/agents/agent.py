"""A trained Stable-Baselines3 model as a recbook agent: one base, :class:`SB3Agent`, for the DQN and the PPO.

An agent is an SB3 model plus the environment it was trained for, its hyperparameters, its training seed and its
learning curve. :class:`SB3Agent` does what both algorithms share — greedy ``predict``, ``evaluate`` on VALIDATION
users, ``save`` to one zip with versioned metadata, ``load`` from it — and :class:`DQNAgent` and :class:`PPOAgent`
add only what differs (the hyperparameter class, the SB3 algorithm class, DQN's Q-values and training config).

Model files are one zip: Stable-Baselines3's own archive plus two entries, ``recbook.json`` (the metadata:
``format``, ``recbook_version``, ``algorithm``, the environment configuration, the hyperparameters, seed,
timesteps) and ``learning_curve.csv``. :func:`load_agent` reads the metadata to know which algorithm a file holds
(files saved before ``algorithm`` was recorded: a ``ppo_config`` entry means PPO). SB3 archives contain
**pickles** (cloudpickle of the policy class and schedules): load only model files you trust.
"""

from __future__ import annotations

import importlib
import json
import warnings
import zipfile
from dataclasses import asdict
from io import StringIO
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch as th
from numpy.typing import NDArray
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm

from recbook import __version__, seeds
from recbook._checks import check_probability
from recbook.agents.callbacks import LEARNING_CURVE_COLUMNS
from recbook.agents.config import DQNConfig, PPOConfig, RunConfig, TrainingConfig
from recbook.agents.recbook_dqn import RecbookDQN
from recbook.config import EnvConfig
from recbook.evaluation import score

__all__ = [
    "DQNAgent",
    "PPOAgent",
    "SB3Agent",
    "config_mismatch",
    "load_agent",
    "load_model",
    "load_ppo",
    "read_metadata",
]

_METADATA = "recbook.json"
_CURVE = "learning_curve.csv"
#: Version of ``recbook.json``: 2 added the training configuration (resumable runs), 3 the ``algorithm`` entry.
_FORMAT = 3


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``recbook.json`` entry of a saved model (no unpickling)."""
    with zipfile.ZipFile(path) as archive:
        if _METADATA not in archive.namelist():
            raise ValueError(f"{path} is not a recbook model (no {_METADATA}; was it saved with an agent's save?)")
        return json.loads(archive.read(_METADATA))


def _algorithm(metadata: dict[str, Any]) -> str:
    """Which algorithm a model file holds: its ``algorithm`` entry, or (older files) which config it carries."""
    return str(metadata.get("algorithm", "ppo" if "ppo_config" in metadata else "dqn"))


def config_mismatch(trained: EnvConfig, given: EnvConfig) -> list[str]:
    """Fields (other than ``observation``) on which two environment configurations differ, as ``name: a != b``."""
    a, b = trained.to_dict(), given.to_dict()
    return [f"{key}: trained {a[key]!r} != given {b[key]!r}" for key in a if key != "observation" and a[key] != b[key]]


class SB3Agent:
    """A trained SB3 model together with the environment it was trained for.

    ``predict`` has SB3's signature but defaults to the greedy action (SB3's ``DQN.predict`` defaults to
    epsilon-greedy). ``observation`` tells :func:`recbook.evaluation.rollout` which observation mode to build.
    Subclasses set :attr:`algorithm` and :attr:`model_class` and say how their hyperparameters are stored.

    Attributes:
        model: the SB3 model.
        config: the :class:`~recbook.config.EnvConfig` it was trained on (its ``observation`` included).
        observation: ``config.observation``.
        seed: training seed.
        learning_curve: DataFrame with :data:`~recbook.agents.callbacks.LEARNING_CURVE_COLUMNS`.
    """

    #: The name in ``recbook.json`` and in the agent's label (``dqn``, ``ppo``).
    algorithm: ClassVar[str]
    #: The SB3 algorithm class that loads the archive.
    model_class: ClassVar[type[BaseAlgorithm]]

    def __init__(self, model: Any, config: EnvConfig, seed: int, learning_curve: pd.DataFrame | None = None) -> None:
        self.model = model
        self.config = config
        self.observation = config.observation
        self.seed = seed
        self.learning_curve = (
            learning_curve if learning_curve is not None else pd.DataFrame(columns=LEARNING_CURVE_COLUMNS)
        )

    @property
    def hyperparameters(self) -> Any:
        """The algorithm's configuration dataclass (:class:`~recbook.agents.config.DQNConfig`,
        :class:`~recbook.agents.config.PPOConfig`)."""
        raise NotImplementedError

    @property
    def total_timesteps(self) -> int:
        return int(self.model.num_timesteps)

    @property
    def name(self) -> str:
        """The label in tables, ``<algorithm>-<network>-seed<seed>`` (e.g. ``dqn-item-shared-seed0``)."""
        return f"{self.algorithm}-{self.hyperparameters.policy.replace('_', '-')}-seed{self.seed}"

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[NDArray[np.int64], Any]:
        """Recommended items for a batch of observations ``(K, obs_size)`` (or one observation)."""
        action, state = self.model.predict(observation, state, episode_start, deterministic=deterministic)
        return np.asarray(action), state

    def evaluate(self, n_users: int = 2_000, seed: int = 0, stream: str = seeds.VALIDATION) -> dict[str, float]:
        """:func:`recbook.evaluation.score` of the greedy policy (VALIDATION users by default)."""
        return score(self, self.config, n_users, seed, stream)

    def _extra_metadata(self) -> dict[str, Any]:
        """What a subclass stores besides the shared entries (at least its hyperparameters)."""
        return {}

    def metadata(self) -> dict[str, Any]:
        """What ``recbook.json`` holds: enough to rebuild the agent (and, for the DQN, to resume its run)."""
        return {
            "format": _FORMAT,
            "recbook_version": __version__,
            "algorithm": self.algorithm,
            "env_config": self.config.to_dict(),
            "observation": self.observation,
            **self._extra_metadata(),
            "seed": self.seed,
            "total_timesteps": self.total_timesteps,
        }

    def save(self, path: str | Path) -> Path:
        """Write one zip: SB3's archive (no replay buffer) + ``recbook.json`` + ``learning_curve.csv``."""
        path = Path(path)
        if path.suffix != ".zip":
            path = path.with_name(path.name + ".zip")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model.save(path)
        with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_METADATA, json.dumps(self.metadata(), indent=2))
            archive.writestr(_CURVE, self.learning_curve.to_csv(index=False))
        return path

    @classmethod
    def _from_metadata(cls, model: Any, config: EnvConfig, meta: dict[str, Any], curve: pd.DataFrame) -> SB3Agent:
        """Build the agent from a loaded model and its ``recbook.json``."""
        raise NotImplementedError

    @classmethod
    def load(cls, path: str | Path, config: EnvConfig | None = None, env: Any = None) -> SB3Agent:
        """Load a model saved by :meth:`save` (see :func:`load_agent`, which picks the class from the file)."""
        meta = read_metadata(path)
        if _algorithm(meta) != cls.algorithm:
            raise ValueError(f"{path} holds a {_algorithm(meta)} model, not a {cls.algorithm} model: use load_agent")
        trained = EnvConfig.from_dict(meta["env_config"])
        if config is not None:
            mismatched = config_mismatch(trained, config)
            if mismatched:
                raise ValueError(
                    f"model {path} was trained for a different environment; mismatched field(s): "
                    + "; ".join(mismatched)
                )
        with warnings.catch_warnings():
            # A saved DQN names SB3's NStepReplayBuffer (with its n_steps) explicitly; SB3 then warns that
            # ``n_steps`` "is ignored", which is wrong here: the buffer's own kwargs carry it.
            warnings.filterwarnings("ignore", message="`n_steps=.*is ignored", category=UserWarning)
            model = cls.model_class.load(path, env=env, device="cpu")
        with zipfile.ZipFile(path) as archive:
            curve = (
                pd.read_csv(StringIO(archive.read(_CURVE).decode()))
                if _CURVE in archive.namelist()
                else pd.DataFrame(columns=LEARNING_CURVE_COLUMNS)
            )
        return cls._from_metadata(model, trained, meta, curve)


class DQNAgent(SB3Agent):
    """A trained :class:`~recbook.agents.recbook_dqn.RecbookDQN` (see :class:`SB3Agent`).

    Attributes (besides :class:`SB3Agent`'s):
        dqn_config: the hyperparameters.
        total_timesteps: environment steps trained.
        num_envs: users stepped together during training.
        training: the :class:`~recbook.agents.config.TrainingConfig` of the run.
    """

    algorithm = "dqn"
    model_class = RecbookDQN

    def __init__(
        self,
        model: RecbookDQN,
        config: EnvConfig,
        dqn_config: DQNConfig,
        seed: int,
        num_envs: int,
        learning_curve: pd.DataFrame | None = None,
        training: TrainingConfig | None = None,
    ) -> None:
        super().__init__(model, config, seed, learning_curve)
        self.training = training if training is not None else TrainingConfig(seed=seed, num_envs=num_envs)
        self.dqn_config = dqn_config
        self.num_envs = num_envs

    @property
    def hyperparameters(self) -> DQNConfig:
        return self.dqn_config

    def __repr__(self) -> str:
        return (
            f"DQNAgent(policy={self.dqn_config.policy!r}, observation={self.observation!r}, "
            f"n_items={self.config.n_items}, timesteps={self.total_timesteps}, seed={self.seed})"
        )

    def q_values(self, observation: Any) -> NDArray[np.float32]:
        """Q-values, shape ``(K, n_items)``, for observations of shape ``(K, obs_size)``."""
        obs = th.as_tensor(np.asarray(observation, dtype=np.float32).reshape(-1, self.model.observation_space.shape[0]))
        with th.no_grad():
            return self.model.q_net(obs).cpu().numpy()

    def action_probabilities(self, observation: Any, epsilon: float | None = None) -> NDArray[np.float64]:
        """Probability of each item, ``(K, n_items)``: the greedy action, mixed with uniform exploration.

        ``(1 - epsilon) * one_hot(greedy) + epsilon / n_items``. ``epsilon=None`` (default) is the exploration
        rate that ``predict(..., deterministic=False)`` uses (the model's current ``exploration_rate``, the
        final epsilon after training), so the probabilities describe what
        :func:`recbook.ope.collect` logs; ``epsilon=0`` is the greedy policy of ``predict()``.
        """
        if epsilon is None:
            epsilon = float(self.model.exploration_rate)
        epsilon = check_probability(epsilon, "epsilon")
        obs = np.asarray(observation, dtype=np.float32).reshape(-1, self.model.observation_space.shape[0])
        actions, _ = self.predict(obs)
        n_items = self.config.n_items
        probabilities = np.full((obs.shape[0], n_items), epsilon / n_items)
        probabilities[np.arange(obs.shape[0]), np.asarray(actions).reshape(-1)] += 1.0 - epsilon
        return probabilities

    def _extra_metadata(self) -> dict[str, Any]:
        return {
            "dqn_config": self.dqn_config.to_dict(),
            "training_config": asdict(self.training),
            "num_envs": self.num_envs,
        }

    @property
    def run_config(self) -> RunConfig:
        """The :class:`~recbook.agents.config.RunConfig` this agent was trained with."""
        return RunConfig(self.config, self.dqn_config, self.training)

    @classmethod
    def _from_metadata(cls, model: Any, config: EnvConfig, meta: dict[str, Any], curve: pd.DataFrame) -> DQNAgent:
        training = meta.get("training_config")
        return cls(
            model=model,
            config=config,
            dqn_config=DQNConfig.from_dict(meta["dqn_config"]),
            seed=int(meta["seed"]),
            num_envs=int(meta["num_envs"]),
            learning_curve=curve,
            training=TrainingConfig.from_dict(training) if training is not None else None,
        )


class PPOAgent(SB3Agent):
    """A trained SB3 ``PPO`` (see :class:`SB3Agent`); ``predict`` is greedy (the likeliest item).

    Attributes (besides :class:`SB3Agent`'s):
        ppo_config: the hyperparameters.
    """

    algorithm = "ppo"
    model_class = PPO

    def __init__(
        self,
        model: PPO,
        config: EnvConfig,
        ppo_config: PPOConfig,
        seed: int,
        learning_curve: pd.DataFrame | None = None,
    ) -> None:
        super().__init__(model, config, seed, learning_curve)
        self.ppo_config = ppo_config

    @property
    def hyperparameters(self) -> PPOConfig:
        return self.ppo_config

    def __repr__(self) -> str:
        return (
            f"PPOAgent(policy={self.ppo_config.policy!r}, n_items={self.config.n_items}, "
            f"timesteps={self.total_timesteps}, seed={self.seed})"
        )

    def _extra_metadata(self) -> dict[str, Any]:
        return {"ppo_config": asdict(self.ppo_config)}

    @classmethod
    def _from_metadata(cls, model: Any, config: EnvConfig, meta: dict[str, Any], curve: pd.DataFrame) -> PPOAgent:
        return cls(model, config, PPOConfig(**meta["ppo_config"]), int(meta["seed"]), curve)


#: Loaders of the model files that hold no SB3 archive, by ``algorithm``, as ``"module:function"``: the packages above
#: the agents (``recbook.offline``) are named here as strings, so this module never imports them.
OTHER_LOADERS: dict[str, str] = {
    "offline": "recbook.offline.policy:load_offline",
    "slateq": "recbook.slates.slateq:load_slate_agent",
}

#: The agent class of each ``algorithm`` a model file can hold.
AGENTS: dict[str, type[SB3Agent]] = {"dqn": DQNAgent, "ppo": PPOAgent}


def load_model(path: str | Path, config: EnvConfig | None = None, env: Any = None) -> SB3Agent:
    """Load a model saved by an agent's ``save``: a :class:`DQNAgent` or a :class:`PPOAgent`, as its metadata says.

    Args:
        path: the ``.zip`` file. It contains pickles: load only files you trust.
        config: the environment you intend to use it in. If given and it differs from the training environment
            in any field except ``observation`` (the agent declares its own observation mode, which
            :func:`~recbook.evaluation.rollout` honours), a ``ValueError`` lists the mismatched fields.
        env: optional SB3 VecEnv to attach (for further training).
    """
    algorithm = _algorithm(read_metadata(path))
    if algorithm not in AGENTS:
        raise ValueError(f"{path} holds an unknown algorithm {algorithm!r}; known: {sorted(AGENTS)}")
    return AGENTS[algorithm].load(path, config=config, env=env)


def load_agent(path: str | Path, config: EnvConfig | None = None) -> Any:
    """Load a trained agent (``recbook.load_agent``): a DQN or PPO (see :func:`load_model`), a policy learned
    from logs (:class:`recbook.offline.OfflinePolicy`) or a slate agent (:class:`recbook.slates.slateq.SlateAgent`),
    whose files have no pickles, as the file's metadata says."""
    algorithm = _algorithm(read_metadata(path))
    if algorithm in OTHER_LOADERS:
        module, name = OTHER_LOADERS[algorithm].split(":")
        policy = getattr(importlib.import_module(module), name)(path)
        if config is not None and config_mismatch(policy.config, config):
            raise ValueError(f"{path} was learned for another environment: {config_mismatch(policy.config, config)}")
        return policy
    return load_model(path, config=config)


def load_ppo(path: str | Path) -> PPOAgent:
    """Load a :meth:`~recbook.agents.agent.SB3Agent.save` zip (an SB3 archive: contains pickles, load only files you
    trust)."""
    return PPOAgent.load(path)  # type: ignore[return-value]
