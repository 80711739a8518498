"""Train, save, load and evaluate Stable-Baselines3 DQN on the recommendation simulator.

A run reads top to bottom in :func:`train_dqn`: build the batched environment, the DQN (flat MLP or the item-shared
network of :mod:`recbook.agents.networks`), the learning-curve and checkpoint callbacks, learn, wrap the result in
a :class:`DQNAgent`. :class:`DQNConfig` holds the hyperparameters, each with the reason for its value.

Model files are one zip: Stable-Baselines3's own archive plus two entries, ``recbook.json`` (the environment
configuration, the :class:`DQNConfig`, seed, timesteps, observation mode and recbook version) and
``learning_curve.csv``. SB3 archives contain **pickles** (cloudpickle of the policy class and schedules): load only
model files you trust.

TensorBoard: ``train_dqn(..., tensorboard_log="runs/")`` writes SB3's event files to ``runs/DQN_1/`` (``DQN_2``, ... for
later runs); view them with ``tensorboard --logdir runs/``. Besides SB3's ``train/loss`` and
``rollout/exploration_rate`` they hold ``eval/pct_oracle``, ``eval/mean_return`` and ``time/env_steps_per_s``.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from dataclasses import asdict, dataclass, field, fields, replace
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch as th
import yaml
from numpy.typing import NDArray
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import LinearSchedule
from torch.nn import functional as F

from recbook import seeds
from recbook.agents.callbacks import (
    LEARNING_CURVE_COLUMNS,
    CheckpointCallback,
    LearningCurveCallback,
    latest_checkpoint,
)
from recbook.agents.networks import SKIPS, ItemSharedDQNPolicy, ItemSharedQNetwork
from recbook.agents.replay import RecbookReplayBuffer
from recbook.agents.sb3 import REWARDS, SB3VecEnv
from recbook.config import EnvConfig
from recbook.evaluation import score

__all__ = [
    "CONFIG_DIR",
    "DQNAgent",
    "DQNConfig",
    "RecbookDQN",
    "RunConfig",
    "TrainingConfig",
    "load_agent",
    "load_model",
    "train_dqn",
    "train_run",
    "train_from_config",
]

#: The YAML presets shipped with the package (``original``, ``feedback_mlp``, ``item_shared``, ``click``).
CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
_METADATA = "recbook.json"
_CURVE = "learning_curve.csv"
_FORMAT = 2


#: DQNConfig fields passed to ``stable_baselines3.DQN`` unchanged (the rest are recbook's own switches).
_SB3_ARGUMENTS = frozenset(
    {
        "buffer_size",
        "learning_starts",
        "batch_size",
        "tau",
        "gamma",
        "train_freq",
        "gradient_steps",
        "n_steps",
        "target_update_interval",
        "exploration_fraction",
        "exploration_initial_eps",
        "exploration_final_eps",
        "max_grad_norm",
        "double_q",
        "per_user_exploration",
        "loss",
    }
)


def _from_fields(cls: Any, data: dict[str, Any], section: str) -> Any:
    """Build dataclass ``cls`` from ``data``, refusing keys that are not its fields."""
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {section} parameter(s): {sorted(unknown)}")
    return cls(**data)


@dataclass
class DQNConfig:
    """DQN hyperparameters, chosen for this problem (the defaults) — ``sb3_defaults()`` gives SB3's own.

    Episodes here are short (``T`` = 20 steps), of fixed length, rewards are small (a session earns about 1.8),
    the agent observes how many steps remain, and the environment is cheap and batched (thousands of users per
    call). SB3's defaults target Atari (long episodes, 10M frames) and are wrong for this.
    """

    policy: str = "item_shared"
    """``"item_shared"`` (:class:`~recbook.agents.networks.ItemSharedDQNPolicy`, needs the feedback observation) or
    ``"mlp"`` (SB3's flat ``MlpPolicy``)."""
    net_arch: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden layer sizes of the shared per-item scorer (``item_shared``) or of the flat MLP. Small is enough,
    since the per-item scorer sees 18 well-scaled features."""
    skip: str = "exploit"
    """Item-shared only — what the learned output is added to (see :mod:`recbook.agents.networks`). ``"exploit"``
    starts from the exact value of exploiting revealed items, so the network only learns the value of information."""
    learning_rate: float = 1e-3
    """Initial Adam step size. Large enough to move the ~5k-parameter scorer quickly early on."""
    learning_rate_final: float = 1e-5
    """Step size at the end, reached linearly. Beating Bayes-greedy needs Q-value *differences* of ~1e-3 to be
    right, so the last part of training must average out the replay noise with a small step. (Starting at 1e-4
    instead was worse: the early transient is not repaired in time.)"""
    buffer_size: int = 50_000
    """Replay capacity in transitions (a third of a 150k-step run). Small on purpose — once epsilon reaches 0 the
    last 50k transitions come from the (near-)greedy policy, so the n-step targets of the final, precise phase
    carry no exploration bias."""
    learning_starts: int = 5_000
    """Env steps of (exploratory) data before the first gradient step — 250 sessions, enough for a first batch
    that is not dominated by a handful of users. (SB3's default is 100.)"""
    batch_size: int = 512
    """Transitions per gradient step. Large batches average the targets' noise (different users behind the same
    observation), which matters more here than the number of updates."""
    tau: float = 1.0
    """Hard target updates (copy) — with ``target_update_interval`` below."""
    gamma: float = 1.0
    """No discounting — sessions have a fixed length and the observation contains the steps remaining, so the
    undiscounted return is finite, well defined, and exactly what the book measures. Discounting would make the
    agent undervalue late exploitation, i.e. over-weight the present versus the whole session."""
    train_freq: int = 1
    """Train after every batched env step (one step of ``num_envs`` users)."""
    gradient_steps: int = 1
    """Gradient steps per batched env step — with 16 users per step, one update per 16 transitions, about 9k
    updates of 512 transitions in a 150k-step run (each transition is replayed ~30 times). Doubling it (or the
    batch) doubles the time."""
    n_steps: int = 10
    """Length of the bootstrapped return (SB3's n-step replay) — targets sum ``n_steps`` observed rewards, then
    bootstrap from the target network (``n_steps >= session_length`` gives Monte-Carlo returns). With 1-step
    targets the value of information has to travel back through 20 target-network copies; with 10 steps it
    travels in two. The bias n-step targets carry for an off-policy action in the window vanishes as epsilon
    reaches 0. Each preset's value is chosen on VALIDATION users (``python -m recbook.agents.regenerate
    --choose-n-steps``; the numbers are in ``data/models/n_steps_validation.csv`` and chapter 6)."""
    target_update_interval: int = 2_000
    """Env steps between target-network copies — ~70 copies in a 150k-step run. SB3's default, 10 000, with a
    10k-step budget means the target network is *never* updated: every target is computed by the random initial
    network, and the agent learns nothing about the future."""
    exploration_fraction: float = 0.4
    """Fraction of training over which epsilon decays linearly from initial to final — 60k steps of exploration,
    then 90k greedy steps, so the replay buffer is fully on-policy for the last 40k."""
    exploration_initial_eps: float = 0.1
    """Initial probability of a random recommendation. Not 1.0 — a uniformly random recommender rarely reaches the
    states a good policy sees (most items revealed, the best few exploited), and the item-shared network starts
    from a sensible policy, so mild exploration around it is what is informative."""
    exploration_final_eps: float = 0.0
    """No random actions at the end — the last gradient steps see on-policy states, and the greedy policy is what
    is evaluated."""
    max_grad_norm: float = 10.0
    """Gradient-norm clip (SB3's default; rarely active with rewards below 1)."""
    loss: str = "huber"
    """``"huber"`` (SB3's smooth-L1) or ``"mse"``. Returns are below 2, so TD errors are below 1 and Huber is
    just half the squared error; it only guards against rare large errors early on."""
    double_q: bool = True
    """Double DQN (van Hasselt et al., 2016) — the online network chooses the next action, the target network
    values it. SB3's DQN has no such switch (SB3-contrib neither); :class:`RecbookDQN` adds it. The max over ten
    noisy Q-values otherwise biases targets upward, and that bias differs between "explore" and "exploit"."""
    per_user_exploration: bool = True
    """Draw epsilon-greedy independently for each parallel user. SB3 draws one coin for the whole batch (all
    users random or none), which with many parallel users makes exploration bursty."""
    train_reward: str = "observed"
    """The reward the TD targets sum. ``"observed"`` is the environment's reward (a 0/1 click under click feedback);
    ``"engagement"`` is the engagement probability of each recommendation, which the simulator knows (see
    :class:`recbook.agents.sb3.SB3VecEnv`). The agent's observations are the same either way: it still sees only
    clicks. Given what it has seen, a click's expectation *is* the engagement probability, so both targets estimate
    the same Q-values; the engagement reward removes the click's coin flip from every target (a
    Rao-Blackwellised reward, a variance reduction only a simulator allows). Identical under expected feedback.
    Under clicks it matters: about one click per 50-step session makes click targets almost pure noise."""

    def __post_init__(self) -> None:
        if self.policy not in ("item_shared", "mlp"):
            raise ValueError(f"policy must be 'item_shared' or 'mlp', got {self.policy!r}")
        if self.skip not in SKIPS:
            raise ValueError(f"skip must be one of {SKIPS}, got {self.skip!r}")
        if self.loss not in ("huber", "mse"):
            raise ValueError(f"loss must be 'huber' or 'mse', got {self.loss!r}")
        if self.train_reward not in REWARDS:
            raise ValueError(f"train_reward must be one of {REWARDS}, got {self.train_reward!r}")
        self.net_arch = [int(width) for width in self.net_arch]

    @classmethod
    def sb3_defaults(cls) -> DQNConfig:
        """Stable-Baselines3's default DQN (flat 64x64 MLP), as the original project trained it.

        The values live in one place, the ``dqn:`` section of the ``original`` preset.
        """
        return RunConfig.from_yaml("original").dqn

    def sb3_kwargs(self) -> dict[str, Any]:
        """The fields that are Stable-Baselines3 ``DQN`` constructor arguments, by SB3's names and values."""
        return {name: value for name, value in asdict(self).items() if name in _SB3_ARGUMENTS}

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (the ``dqn:`` section of a YAML config)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DQNConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        return _from_fields(cls, data, "DQN")


@dataclass
class TrainingConfig:
    """How long and how a run trains and is measured (the ``training:`` section of a YAML config)."""

    total_timesteps: int = 150_000
    """Environment steps (transitions), summed over parallel users."""
    seed: int = 0
    """Seeds the training users, torch, numpy and exploration — same seed, same model."""
    num_envs: int = 16
    """Users stepped together. More users per call is faster but makes each gradient step see fewer new
    transitions per update; 16 is a good balance on one thread."""
    eval_users: int = 2_000
    """VALIDATION users in each learning-curve point, ``score(..., seed, VALIDATION)`` with the run's ``seed``:
    never trained on, not the TEST users of the book's final tables, and a fresh sample for each training seed
    (so runs with different seeds are measured on different users)."""
    eval_freq: int = 10_000
    """Env steps between learning-curve points."""
    n_threads: int = 1
    """Torch threads. One is faster for these tiny networks (and the machine is shared)."""
    checkpoint_freq: int | None = None
    """Env steps between resumable checkpoints (``None`` — no checkpoints)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        """The ``training:`` section of a YAML config; unknown keys raise ``ValueError`` naming them."""
        return _from_fields(cls, data, "training")


@dataclass
class RunConfig:
    """A whole training run: what a YAML file in ``recbook/configs/`` holds."""

    env: EnvConfig
    dqn: DQNConfig
    training: TrainingConfig

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env.to_dict(), "dqn": self.dqn.to_dict(), "training": asdict(self.training)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        unknown = set(data) - {"env", "dqn", "training"}
        if unknown:
            raise ValueError(f"unknown config section(s): {sorted(unknown)}; expected env, dqn, training")
        return cls(
            env=EnvConfig.from_dict(data.get("env") or {}),
            dqn=DQNConfig.from_dict(data.get("dqn") or {}),
            training=TrainingConfig.from_dict(data.get("training") or {}),
        )

    @classmethod
    def from_yaml(cls, path_or_name: str | Path) -> RunConfig:
        """Read a YAML file, or a preset by name (``"item_shared"`` → ``recbook/configs/item_shared.yaml``)."""
        return cls.from_dict(yaml.safe_load(resolve_config(path_or_name).read_text()) or {})

    def to_yaml(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        return path


def resolve_config(path_or_name: str | Path) -> Path:
    """A path to an existing YAML file, or the name of a preset shipped in :data:`CONFIG_DIR`."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    preset = CONFIG_DIR / (path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml")
    if preset.is_file():
        return preset
    names = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    raise FileNotFoundError(f"no config file {str(path_or_name)!r} and no preset of that name; presets: {names}")


class RecbookDQN(DQN):
    """SB3's DQN with two switches SB3 lacks: Double DQN targets and per-user epsilon-greedy exploration.

    Args:
        double_q: use the online network to choose the next action and the target network to value it.
        per_user_exploration: draw the epsilon coin per user rather than once for the whole batch.
        loss: ``"huber"`` or ``"mse"``.
        *args: as :class:`stable_baselines3.DQN`.
        **kwargs: as :class:`stable_baselines3.DQN`.
    """

    def __init__(
        self,
        *args: Any,
        double_q: bool = False,
        per_user_exploration: bool = False,
        loss: str = "huber",
        **kwargs: Any,
    ) -> None:
        self.double_q = double_q
        self.per_user_exploration = per_user_exploration
        self.loss = loss
        super().__init__(*args, **kwargs)

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[NDArray[Any], Any]:
        if deterministic or not self.per_user_exploration:
            return super().predict(observation, state, episode_start, deterministic)
        batch = np.asarray(observation)
        if self.shared_features and isinstance(self.q_net, ItemSharedQNetwork) and batch.ndim == 2:
            # Training's acting step: the greedy action from the item inputs, which the replay buffer keeps for
            # the TD updates (see recbook.agents.replay), without SB3's per-call wrapping.
            buffer = self.replay_buffer if isinstance(self.replay_buffer, RecbookReplayBuffer) else None
            with th.no_grad():
                inputs = buffer.prepared_inputs(batch) if buffer is not None else None
                if inputs is None:
                    inputs = self.q_net.item_inputs(th.as_tensor(batch, dtype=th.float32))
                action = self.q_net.scores(inputs).argmax(dim=1).numpy()
            if buffer is not None:
                buffer.offer(batch, inputs)
        else:
            action, state = self.policy.predict(observation, state, episode_start, deterministic=True)
            action = np.asarray(action)
        if action.ndim == 1:
            explore = np.random.rand(action.shape[0]) < self.exploration_rate
            if explore.any():
                action = action.copy()
                action[explore] = np.random.randint(int(self.action_space.n), size=int(explore.sum()))
        elif np.random.rand() < self.exploration_rate:
            action = np.array(self.action_space.sample())
        return action, state

    #: Compute the item-shared network's features once per sampled batch and score only the items the TD update
    #: needs (see ``_item_shared_q``). ``False`` runs SB3's generic path — three full network calls per
    #: gradient step — which ``python -m recbook.bench train`` uses as its reference.
    shared_features: bool = True
    _cache_tried: Any = None

    def _generic_q(self, replay_data: Any) -> tuple[th.Tensor, th.Tensor]:
        """``(Q(s, a), Q_target(s', a'))`` by calling each network on whole observations (any policy)."""
        with th.no_grad():
            next_q_target = self.q_net_target(replay_data.next_observations)
            if self.double_q:
                next_actions = self.q_net(replay_data.next_observations).argmax(dim=1, keepdim=True)
                next_q = next_q_target.gather(1, next_actions)
            else:
                next_q = next_q_target.max(dim=1, keepdim=True).values
        current_q = self.q_net(replay_data.observations).gather(1, replay_data.actions.long())
        return current_q, next_q

    def _item_shared_q(self, replay_data: Any) -> tuple[th.Tensor, th.Tensor]:
        """:meth:`_generic_q` for :class:`~recbook.agents.networks.ItemSharedQNetwork`, the same values with less
        work: the features of observations and next observations computed once — read from the replay buffer's
        cache (:mod:`recbook.agents.replay`) or in one call — and shared by both networks; the online scorer on
        every next item only to choose ``a'`` (Double DQN), and on one row per transition for ``Q(s, a)`` and
        ``Q_target(s', a')``."""
        buffer = self.replay_buffer
        cached = buffer.cached_inputs(replay_data) if isinstance(buffer, RecbookReplayBuffer) else None
        with th.no_grad():
            if cached is None:
                stacked = th.cat([replay_data.observations, replay_data.next_observations])
                current, following = self.q_net.item_inputs(stacked).split(replay_data.observations.shape[0])
            else:
                current, following = cached
            if self.double_q:
                next_actions = self.q_net.scores(following).argmax(dim=1, keepdim=True)
                next_q = self.q_net_target.scores(following, next_actions)
            else:
                next_q = self.q_net_target.scores(following).max(dim=1, keepdim=True).values
        current_q = self.q_net.scores(current, replay_data.actions)
        return current_q, next_q

    def _attach_cache(self) -> None:
        """Give a :class:`~recbook.agents.replay.RecbookReplayBuffer` the item-shared network's input cache (once;
        again after a resumed run loads its buffer, whose pickle drops the cache)."""
        buffer = self.replay_buffer
        if isinstance(buffer, RecbookReplayBuffer) and buffer.cache is None and buffer is not self._cache_tried:
            self._cache_tried = buffer
            item_features = self.q_net.item_features
            buffer.attach_cache(item_features.n_items, item_features.n_features, self.q_net.item_inputs)

    def _excluded_save_params(self) -> list[str]:
        # The cache bookkeeping points at the replay buffer and the policy: never pickle it into a model file.
        return [*super()._excluded_save_params(), "_cache_tried", "_online"]

    def _online_parameters(self) -> list[th.nn.Parameter]:
        # What SB3 clips: the policy's parameters with a gradient, i.e. the online network's (the target network's
        # never get one). Listed once rather than by walking the modules at every gradient step.
        if getattr(self, "_online", None) is None or self._online[0] is not self.policy:
            self._online = (self.policy, [p for p in self.policy.parameters() if p.requires_grad])
        return self._online[1]

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        # SB3's DQN.train with the Double-DQN target and a choice of loss.
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        fast = self.shared_features and isinstance(self.q_net, ItemSharedQNetwork)
        if fast:
            self._attach_cache()
        losses = []
        for _ in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
            current_q, next_q = self._item_shared_q(replay_data) if fast else self._generic_q(replay_data)
            target_q = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q
            if self.loss == "mse":
                loss = F.mse_loss(current_q, target_q)
            else:
                loss = F.smooth_l1_loss(current_q, target_q)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self._online_parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)))


class DQNAgent:
    """A trained DQN together with the environment it was trained for.

    ``predict`` has SB3's signature but defaults to the greedy action (SB3's ``DQN.predict`` defaults to
    epsilon-greedy). ``observation`` tells :func:`recbook.evaluation.rollout` which observation mode to build.

    Attributes:
        model: the SB3 :class:`RecbookDQN`.
        config: the :class:`~recbook.config.EnvConfig` it was trained on (its ``observation`` included).
        observation: ``config.observation``.
        dqn_config: the hyperparameters.
        seed: training seed.
        total_timesteps: environment steps trained.
        num_envs: users stepped together during training.
        training: the :class:`TrainingConfig` of the run.
        learning_curve: DataFrame with :data:`~recbook.agents.callbacks.LEARNING_CURVE_COLUMNS`.
    """

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
        self.model = model
        self.training = training if training is not None else TrainingConfig(seed=seed, num_envs=num_envs)
        self.config = config
        self.observation = config.observation
        self.dqn_config = dqn_config
        self.seed = seed
        self.num_envs = num_envs
        self.learning_curve = (
            learning_curve if learning_curve is not None else pd.DataFrame(columns=LEARNING_CURVE_COLUMNS)
        )

    @property
    def total_timesteps(self) -> int:
        return int(self.model.num_timesteps)

    def __repr__(self) -> str:
        return (
            f"DQNAgent(policy={self.dqn_config.policy!r}, observation={self.observation!r}, "
            f"n_items={self.config.n_items}, timesteps={self.total_timesteps}, seed={self.seed})"
        )

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[NDArray[np.int64], Any]:
        """Recommended items for a batch of observations ``(K, obs_size)`` (or one observation)."""
        action, state = self.model.predict(observation, state, episode_start, deterministic=deterministic)
        return np.asarray(action), state

    def q_values(self, observation: Any) -> NDArray[np.float32]:
        """Q-values, shape ``(K, n_items)``, for observations of shape ``(K, obs_size)``."""
        obs = th.as_tensor(np.asarray(observation, dtype=np.float32).reshape(-1, self.model.observation_space.shape[0]))
        with th.no_grad():
            return self.model.q_net(obs).cpu().numpy()

    @property
    def name(self) -> str:
        """The label in tables, ``dqn-<network>-seed<seed>``."""
        return f"dqn-{self.dqn_config.policy.replace('_', '-')}-seed{self.seed}"

    def action_probabilities(self, observation: Any, epsilon: float | None = None) -> NDArray[np.float64]:
        """Probability of each item, ``(K, n_items)``: the greedy action, mixed with uniform exploration.

        ``(1 - epsilon) * one_hot(greedy) + epsilon / n_items``. ``epsilon=None`` (default) is the exploration
        rate that ``predict(..., deterministic=False)`` uses (the model's current ``exploration_rate``, the
        final epsilon after training), so the probabilities describe what
        :func:`recbook.ope.collect` logs; ``epsilon=0`` is the greedy policy of ``predict()``.
        """
        if epsilon is None:
            epsilon = float(self.model.exploration_rate)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be a number in [0, 1], got {epsilon!r}")
        obs = np.asarray(observation, dtype=np.float32).reshape(-1, self.model.observation_space.shape[0])
        actions, _ = self.predict(obs)
        n_items = self.config.n_items
        probabilities = np.full((obs.shape[0], n_items), epsilon / n_items)
        probabilities[np.arange(obs.shape[0]), np.asarray(actions).reshape(-1)] += 1.0 - epsilon
        return probabilities

    def evaluate(self, n_users: int = 2_000, seed: int = 0, stream: str = seeds.VALIDATION) -> dict[str, float]:
        """:func:`recbook.evaluation.score` of the greedy policy (VALIDATION users by default)."""
        return score(self, self.config, n_users, seed, stream)

    def metadata(self) -> dict[str, Any]:
        """What ``recbook.json`` holds: the whole run configuration, so that loading and resuming restore it."""
        from recbook import __version__

        return {
            "format": _FORMAT,
            "recbook_version": __version__,
            "env_config": self.config.to_dict(),
            "observation": self.observation,
            "dqn_config": self.dqn_config.to_dict(),
            "training_config": asdict(self.training),
            "seed": self.seed,
            "total_timesteps": self.total_timesteps,
            "num_envs": self.num_envs,
        }

    @property
    def run_config(self) -> RunConfig:
        """The :class:`RunConfig` this agent was trained with."""
        return RunConfig(self.config, self.dqn_config, self.training)

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


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``recbook.json`` entry of a saved model (no unpickling)."""
    with zipfile.ZipFile(path) as archive:
        if _METADATA not in archive.namelist():
            raise ValueError(f"{path} is not a recbook model (no {_METADATA}; was it saved with DQNAgent.save?)")
        return json.loads(archive.read(_METADATA))


def config_mismatch(trained: EnvConfig, given: EnvConfig) -> list[str]:
    """Fields (other than ``observation``) on which two environment configurations differ, as ``name: a != b``."""
    a, b = trained.to_dict(), given.to_dict()
    return [f"{key}: trained {a[key]!r} != given {b[key]!r}" for key in a if key != "observation" and a[key] != b[key]]


def load_model(path: str | Path, config: EnvConfig | None = None, env: Any = None) -> DQNAgent:
    """Load a model saved by :meth:`DQNAgent.save`.

    Args:
        path: the ``.zip`` file. It contains pickles: load only files you trust.
        config: the environment you intend to use it in. If given and it differs from the training environment
            in any field except ``observation`` (the agent declares its own observation mode, which
            :func:`~recbook.evaluation.rollout` honours), a ``ValueError`` lists the mismatched fields.
        env: optional SB3 VecEnv to attach (for further training).
    """
    meta = read_metadata(path)
    trained = EnvConfig.from_dict(meta["env_config"])
    if config is not None:
        mismatched = config_mismatch(trained, config)
        if mismatched:
            raise ValueError(
                f"model {path} was trained for a different environment; mismatched field(s): " + "; ".join(mismatched)
            )
    with warnings.catch_warnings():
        # The saved model names SB3's NStepReplayBuffer (with its n_steps) explicitly; SB3 then warns that
        # ``n_steps`` "is ignored", which is wrong here: the buffer's own kwargs carry it.
        warnings.filterwarnings("ignore", message="`n_steps=.*is ignored", category=UserWarning)
        model = RecbookDQN.load(path, env=env, device="cpu")
    with zipfile.ZipFile(path) as archive:
        curve = (
            pd.read_csv(StringIO(archive.read(_CURVE).decode()))
            if _CURVE in archive.namelist()
            else pd.DataFrame(columns=LEARNING_CURVE_COLUMNS)
        )
    training = meta.get("training_config")
    return DQNAgent(
        model=model,
        config=trained,
        dqn_config=DQNConfig.from_dict(meta["dqn_config"]),
        seed=int(meta["seed"]),
        num_envs=int(meta["num_envs"]),
        learning_curve=curve,
        training=TrainingConfig.from_dict(training) if training is not None else None,
    )


def load_agent(path: str | Path, config: EnvConfig | None = None) -> DQNAgent:
    """Load a trained agent saved by :meth:`DQNAgent.save` (``recbook.load_agent``); see :func:`load_model`."""
    return load_model(path, config=config)


def _make_model(run: RunConfig, env: SB3VecEnv, tensorboard_log: str | None) -> RecbookDQN:
    env_config, dqn = run.env, run.dqn
    if dqn.policy == "item_shared":
        if env_config.observation != "feedback":
            raise ValueError(
                "the item-shared network reads the feedback observation: use "
                "EnvConfig(observation='feedback'), or the flat MLP (preset='original' or DQNConfig(policy='mlp')); "
                f"got observation={env_config.observation!r}"
            )
        policy: Any = ItemSharedDQNPolicy
        policy_kwargs: dict[str, Any] = {
            "env_config": env_config.to_dict(),
            "net_arch": dqn.net_arch,
            "skip": dqn.skip,
            # One fused kernel for Adam's update: 0.15 ms instead of 0.42 ms per step for this small network.
            "optimizer_kwargs": {"fused": True},
        }
    else:
        policy = "MlpPolicy"
        policy_kwargs = {"net_arch": dqn.net_arch}
    if dqn.learning_rate_final == dqn.learning_rate:
        learning_rate: Any = dqn.learning_rate
    else:
        learning_rate = LinearSchedule(dqn.learning_rate, dqn.learning_rate_final, 1.0)
    model = RecbookDQN(
        policy,
        env,
        learning_rate=learning_rate,
        policy_kwargs=policy_kwargs,
        tensorboard_log=tensorboard_log,
        seed=seeds.derive_seed(run.training.seed, seeds.TRAIN, "training"),
        device="cpu",
        # One buffer class for every n_steps (SB3 would switch classes); it records what each sample read.
        replay_buffer_class=RecbookReplayBuffer,
        replay_buffer_kwargs={"n_steps": dqn.n_steps, "gamma": dqn.gamma},
        **{key: value for key, value in dqn.sb3_kwargs().items() if key != "n_steps"},
    )
    model.n_steps = dqn.n_steps  # what the buffer uses; SB3 reads it only to pick a buffer class
    return model


def _resolve_checkpoint(resume: str | Path) -> Path:
    path = Path(resume)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"resume: no checkpoint step_*.zip in {path}")
        return found
    if not path.is_file():
        raise FileNotFoundError(f"resume: no checkpoint file {path}")
    return path


def _conflicts(saved: dict[str, Any], given: dict[str, Any], section: str) -> list[str]:
    return [f"{section}.{key}: checkpoint {saved[key]!r} != given {given[key]!r}" for key in saved if saved[key] != given.get(key)]


def train_run(
    run: RunConfig | None = None,
    *,
    total_timesteps: int | None = None,
    progress_bar: bool = False,
    tensorboard_log: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: str | Path | None = None,
    callbacks: list[BaseCallback] | None = None,
    verbose: int = 0,
) -> DQNAgent:
    """Train the DQN a :class:`RunConfig` describes; return the :class:`DQNAgent`. (:func:`train_dqn` is the
    friendlier front door: presets, overrides and defaults.)

    Args:
        run: environment, DQN and training configuration. With ``resume`` it may be ``None``: the checkpoint's
            own configuration is used. A ``run`` that differs from the checkpoint's raises ``ValueError`` naming
            every conflicting field (only ``training.total_timesteps`` may differ).
        total_timesteps: overrides ``run.training.total_timesteps`` (with ``resume``: the total to reach).
        progress_bar: SB3's progress bar (needs ``tqdm`` and ``rich``).
        tensorboard_log: directory for TensorBoard event files (``<dir>/DQN_<i>/``), or ``None``.
        checkpoint_dir: where resumable checkpoints (model + replay buffer) go every
            ``run.training.checkpoint_freq`` env steps.
        resume: a checkpoint zip, or a checkpoint directory (its latest), to continue from with the same schedules.
        callbacks: extra SB3 callbacks.
        verbose: SB3 verbosity.
    """
    previous: DQNAgent | None = None
    checkpoint: Path | None = None
    if resume is not None:
        checkpoint = _resolve_checkpoint(resume)
        meta = read_metadata(checkpoint)
        if "training_config" not in meta:
            raise ValueError(f"resume: {checkpoint} holds no training configuration (saved by recbook < 0.2)")
        saved = RunConfig.from_dict(
            {"env": meta["env_config"], "dqn": meta["dqn_config"], "training": meta["training_config"]}
        )
        if run is not None:
            given, kept = run.to_dict(), saved.to_dict()
            conflicts = []
            for section in ("env", "dqn", "training"):
                conflicts += _conflicts(kept[section], given[section], section)
            conflicts = [c for c in conflicts if not c.startswith("training.total_timesteps")]
            if conflicts:
                raise ValueError("resume: the configuration differs from the checkpoint's: " + "; ".join(conflicts))
        run = RunConfig(saved.env, saved.dqn, replace(saved.training, total_timesteps=(run or saved).training.total_timesteps))
    if run is None:
        raise ValueError("run is required unless resuming from a checkpoint")
    if total_timesteps is not None:
        run = RunConfig(run.env, run.dqn, replace(run.training, total_timesteps=int(total_timesteps)))
    training = run.training
    th.set_num_threads(training.n_threads)
    env = SB3VecEnv(run.env, training.num_envs, seed=training.seed, reward=run.dqn.train_reward)
    log_dir = str(tensorboard_log) if tensorboard_log is not None else None
    previous_curve = None
    if checkpoint is not None:
        # A resumed run keeps checkpointing where it was checkpointing.
        checkpoint_dir = checkpoint_dir if checkpoint_dir is not None else checkpoint.parent
        previous = load_model(checkpoint, config=run.env, env=env)
        model = previous.model
        model.tensorboard_log = log_dir
        buffer = checkpoint.with_name(checkpoint.stem + "_replay_buffer.pkl")
        if buffer.exists():
            model.load_replay_buffer(buffer)
        previous_curve = previous.learning_curve if len(previous.learning_curve) else None
    else:
        model = _make_model(run, env, log_dir)
    if verbose:
        model.verbose = verbose
    curve = LearningCurveCallback(
        run.env,
        training.eval_users,
        training.eval_freq or max(training.total_timesteps, 1),
        seed=training.seed,
        previous=previous_curve,
    )
    agent = DQNAgent(model, run.env, run.dqn, training.seed, training.num_envs, training=training)
    all_callbacks: list[BaseCallback] = [curve, *(callbacks or [])]
    if training.checkpoint_freq:
        if checkpoint_dir is None:
            raise ValueError("training.checkpoint_freq needs checkpoint_dir")

        def save_checkpoint(path: Path) -> Path:
            agent.learning_curve = curve.learning_curve
            return agent.save(path)

        all_callbacks.append(CheckpointCallback(save_checkpoint, checkpoint_dir, training.checkpoint_freq))
    remaining = training.total_timesteps - model.num_timesteps
    if remaining > 0:
        model.learn(
            total_timesteps=remaining,
            callback=all_callbacks,
            progress_bar=progress_bar,
            reset_num_timesteps=checkpoint is None,
            tb_log_name="DQN",
        )
    agent.learning_curve = curve.learning_curve
    return agent


def train_dqn(
    config: EnvConfig | None = None,
    preset: str | Path | None = None,
    *,
    dqn: DQNConfig | None = None,
    training: TrainingConfig | None = None,
    total_timesteps: int | None = None,
    seed: int | None = None,
    resume: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_freq: int | None = None,
    progress_bar: bool = False,
    tensorboard_log: str | Path | None = None,
    callbacks: list[BaseCallback] | None = None,
    verbose: int = 0,
) -> DQNAgent:
    """Train a DQN recommender: ``recbook.train_dqn(EnvConfig(observation="feedback"), preset="item_shared")``.

    Where each setting comes from, later winning: :class:`DQNConfig` / :class:`TrainingConfig` defaults; the
    ``preset`` (a name from ``recbook/configs/`` or a YAML path: its env, dqn and training sections); then the
    explicit arguments — ``config`` (the environment), ``dqn``, ``training``, and ``total_timesteps``, ``seed``,
    ``checkpoint_freq``, which override single training fields.

    ``resume`` (a checkpoint zip or directory) with no other configuration continues the checkpoint's own run
    (environment, DQN and training configuration) up to ``total_timesteps``; any configuration passed along that
    conflicts with the checkpoint raises ``ValueError`` naming the fields.

    The defaults train the item-shared network, which reads the feedback observation; with the default
    ``EnvConfig()`` (counts) this fails at once, saying what to change.
    """
    run: RunConfig | None = None
    resuming_as_saved = resume is not None and preset is None and config is None and dqn is None and training is None
    if resuming_as_saved:
        if seed is not None or checkpoint_freq is not None:
            raise ValueError("resume: seed and checkpoint_freq come from the checkpoint; do not pass them")
    else:
        run = RunConfig.from_yaml(preset) if preset is not None else RunConfig(EnvConfig(), DQNConfig(), TrainingConfig())
        env_config = config if config is not None else run.env
        if not isinstance(env_config, EnvConfig):
            raise ValueError(f"config must be an EnvConfig, got {type(env_config).__name__}")
        changes: dict[str, Any] = {}
        if total_timesteps is not None:
            changes["total_timesteps"] = int(total_timesteps)
        if seed is not None:
            changes["seed"] = seeds.validate_seed(seed)
        if checkpoint_freq is not None:
            changes["checkpoint_freq"] = int(checkpoint_freq)
        training = replace(training if training is not None else run.training, **changes)
        run = RunConfig(env_config, dqn if dqn is not None else run.dqn, training)
        if run.dqn.policy == "item_shared" and run.env.observation != "feedback":
            raise ValueError(
                f"the item-shared network reads the feedback observation, but config.observation is "
                f"{run.env.observation!r}: pass EnvConfig(observation='feedback'), or preset='original' for the "
                "flat MLP"
            )
    return train_run(
        run,
        total_timesteps=total_timesteps,
        progress_bar=progress_bar,
        tensorboard_log=tensorboard_log,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        callbacks=callbacks,
        verbose=verbose,
    )


def train_from_config(
    config_path: str | Path,
    output: str | Path | None = None,
    total_timesteps: int | None = None,
    seed: int | None = None,
    *,
    progress_bar: bool = False,
    tensorboard_log: str | Path | None = None,
    resume: str | Path | None = None,
) -> Path:
    """Train from a YAML config (a path or a preset name); save the model and its learning curve; return the path.

    The model goes to ``output`` (default ``models/<config name>_seed<seed>.zip``); the learning curve to
    ``<output stem>_learning_curve.csv`` next to it. ``total_timesteps`` and ``seed`` override the file's
    ``training:`` section. Checkpoints (if ``training.checkpoint_freq`` is set) go to ``<output stem>_checkpoints/``.
    """
    run = RunConfig.from_yaml(config_path)
    run_seed = run.training.seed if seed is None else int(seed)
    name = resolve_config(config_path).stem
    output = Path(output) if output is not None else Path("models") / f"{name}_seed{run_seed}.zip"
    if output.suffix != ".zip":
        output = output.with_name(output.name + ".zip")
    agent = train_dqn(
        preset=config_path,
        total_timesteps=total_timesteps,
        seed=run_seed,
        progress_bar=progress_bar,
        tensorboard_log=tensorboard_log,
        checkpoint_dir=output.with_name(output.stem + "_checkpoints") if run.training.checkpoint_freq else None,
        resume=resume,
    )
    path = agent.save(output)
    agent.learning_curve.to_csv(output.with_name(output.stem + "_learning_curve.csv"), index=False)
    return path
