"""Run configuration of the SB3 agents: :class:`DQNConfig`, :class:`TrainingConfig`, :class:`RunConfig`, and the
YAML presets of ``recbook/configs/`` with THE one preset resolver, :func:`resolve_config`.

Everything that reads a preset — ``RunConfig.from_yaml``, ``train_dqn(preset=...)``, ``train_from_config``, the
sweeps and the ``recbook`` command line — finds the file through :func:`resolve_config` and reads it with
:func:`read_config`. This module is light on purpose (no torch, no Stable-Baselines3), so that the command line can
read a preset without loading them; the choices the networks and the SB3 environment accept (:data:`SKIPS`,
:data:`REWARDS`) live here for that reason and are re-exported where they are used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from recbook._checks import check_choice
from recbook.config import EnvConfig

__all__ = [
    "CONFIG_DIR",
    "REWARDS",
    "SKIPS",
    "FEATURE_SETS",
    "DQNConfig",
    "PPOConfig",
    "RunConfig",
    "TrainingConfig",
    "config_label",
    "preset_names",
    "read_config",
    "resolve_config",
]

#: The YAML presets shipped with the package (``original``, ``feedback_mlp``, ``item_shared``, ``click``, ...).
CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"

#: What the item-shared network's learned output is added to (see :mod:`recbook.agents.networks`).
SKIPS: tuple[str, ...] = ("exploit", "reward", "none")

#: The item-shared network's input sets, from most to least engineered (see :mod:`recbook.agents.features`).
FEATURE_SETS: tuple[str, ...] = ("engineered", "posterior", "public")

#: What :class:`recbook.agents.sb3.SB3VecEnv` can return as the reward: the environment's own, or the engagement
#: probability.
REWARDS: tuple[str, ...] = ("observed", "engagement")


def preset_names() -> list[str]:
    """Names of the YAML presets shipped in :data:`~recbook.agents.config.CONFIG_DIR`."""
    return sorted(path.stem for path in CONFIG_DIR.glob("*.yaml"))


def resolve_config(path_or_name: str | Path) -> Path:
    """A path to an existing YAML file, or the name of a preset shipped in :data:`~recbook.agents.config.CONFIG_DIR`.

    Raises:
        FileNotFoundError: ``path_or_name`` is neither a file nor a preset; the message lists the presets.
    """
    path = Path(path_or_name)
    if path.is_file():
        return path
    preset = CONFIG_DIR / (path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml")
    if preset.is_file():
        return preset
    raise FileNotFoundError(
        f"{str(path_or_name)!r} is neither a file nor a preset; presets: {preset_names() or 'none installed'}"
    )


def config_label(path: Path) -> str:
    """How messages name a resolved config: ``preset 'item_shared'``, or the file's path."""
    return f"preset {path.stem!r}" if path.parent == CONFIG_DIR else str(path)


def read_config(path_or_name: str | Path) -> dict[str, Any]:
    """The YAML mapping of a config file or preset (:func:`resolve_config`); an empty file is ``{}``.

    Raises:
        FileNotFoundError: as :func:`resolve_config`.
        ValueError: the file is not valid YAML, or not a mapping (the message names the file).
    """
    path = resolve_config(path_or_name)
    label = config_label(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{label} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{label} must be a YAML mapping")
    return data


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
    features: str = "engineered"
    """Item-shared only — the input set (:mod:`recbook.agents.features`): ``"engineered"`` (posterior mean,
    lookahead and, with qualities, leave probabilities and bayes-index's score), ``"posterior"`` (nothing computed
    from ``leave_rate``) or ``"public"`` (only what a real system logs; needs ``skip: none``)."""
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
    reaches 0. Each preset's value is chosen on VALIDATION users (``python -m recbook.experiments.regenerate
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
    values it. SB3's DQN has no such switch (SB3-contrib neither); :class:`~recbook.agents.recbook_dqn.RecbookDQN` adds
    it. The max over ten
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
        check_choice(self.policy, "policy", ("item_shared", "mlp"))
        check_choice(self.skip, "skip", SKIPS)
        check_choice(self.features, "features", FEATURE_SETS)
        if self.features == "public" and self.skip != "none":
            raise ValueError(f"skip must be 'none' with features='public' (both skip baselines are engineered), "
                             f"got {self.skip!r}")
        check_choice(self.loss, "loss", ("huber", "mse"))
        check_choice(self.train_reward, "train_reward", REWARDS)
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
        return cls.from_dict(read_config(path_or_name))

    def to_yaml(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        return path


@dataclass
class PPOConfig:
    """PPO hyperparameters (SB3's defaults except where the reason is given)."""

    policy: str = "item_shared"
    """``"item_shared"`` (:class:`~recbook.agents.ppo.ItemSharedActorCriticPolicy`) or ``"mlp"`` (SB3's
    ``MlpPolicy``)."""
    net_arch: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden sizes of the per-item scorer and of the critic (or of both heads of the flat MLP)."""
    features: str = "engineered"
    """What the item-shared actor and critic read, one of :data:`FEATURE_SETS` (the DQN's ``dqn.features``)."""
    learning_rate: float = 3e-4
    n_steps: int = 256
    """Steps per user per rollout, 16 users x 256 = 4096 transitions (hundreds of sessions) per update."""
    batch_size: int = 512
    n_epochs: int = 4
    gamma: float = 1.0
    """No discounting, as for the DQN, since the return until the user leaves or ``T`` is what is measured."""
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.01
    """A small entropy bonus keeps the softmax from collapsing onto one item before the critic is any good."""
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5

    def __post_init__(self) -> None:
        check_choice(self.policy, "policy", ("item_shared", "mlp"))
        check_choice(self.features, "features", FEATURE_SETS)
        if self.policy == "mlp" and self.features != "engineered":
            raise ValueError(f"features={self.features!r} needs policy='item_shared' (the flat MLP reads the raw "
                             "observation)")
