"""REINFORCE written from scratch: a softmax policy over items, whole sessions, reward-to-go and a baseline.

The simplest policy-gradient estimator (Williams 1992): for a batch of ``K`` complete sessions,
``∇J(θ) ≈ (1/K) Σ_sessions Σ_t ∇ log π_θ(a_t | s_t) (G_t − b(s_t))`` with the reward-to-go
``G_t = r_t + r_{t+1} + …``, and one gradient step per batch (:func:`reinforce_update`). The baseline ``b`` is
``"none"``, ``"average"`` (the mean reward-to-go at the same step of the *other* sessions of the batch: it does not
depend on this session's actions, so the estimate stays unbiased) or ``"learned"`` (a value network fitted to the
reward-to-go by least squares, the critic of an actor-critic).

The policy is PPO's item-shared actor (:mod:`recbook.agents.ppo`): one MLP scores every item from its features
(:class:`recbook.agents.features.ItemFeatures`) and the pooled context; the scores are a softmax's logits. So
REINFORCE and PPO read the same inputs. Sessions come from the batched simulator
(:class:`recbook.vector.RecommendationVectorEnv`), ``K`` TRAIN-stream users starting together; the trained
:class:`ReinforceAgent` has SB3's ``predict`` (greedy by default, as PPO is scored), so
:func:`recbook.evaluation.compare` scores it next to any policy.

>>> from recbook import EnvConfig
>>> cfg = EnvConfig(n_items=3, session_length=4, leave_rate=0.3, item_quality=(0.2, 0.5, 0.9))
>>> agent = train_reinforce(cfg, ReinforceConfig(total_timesteps=256, num_envs=16, eval_freq=0))
>>> agent.action_probabilities(np.zeros((2, 4 * 3 + 1))).shape
(2, 3)
"""

from __future__ import annotations

import json
import time
import zipfile
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch as th
from numpy.typing import NDArray
from torch import nn

from recbook import seeds
from recbook._checks import check_choice, check_int, check_real
from recbook.agents.config import FEATURE_SETS
from recbook.agents.features import ItemFeatures, joint_inputs
from recbook.config import EnvConfig
from recbook.vector import RecommendationVectorEnv

__all__ = ["BASELINES", "Episodes", "PooledValue", "ReinforceAgent", "ReinforceConfig", "SoftmaxScorer",
           "collect_episodes", "gradient_variance", "load_reinforce", "reinforce_update", "reward_to_go",
           "train_reinforce"]

#: The baselines :func:`reinforce_update` subtracts from the reward-to-go.
BASELINES: tuple[str, ...] = ("none", "average", "learned")


@dataclass(frozen=True)
class ReinforceConfig:
    """Hyperparameters of :func:`train_reinforce`. Counts are in transitions (one user, one step), as SB3 counts."""

    total_timesteps: int = 300_000
    """Transitions collected in total; training stops after the batch that reaches it."""
    num_envs: int = 64
    """Sessions per gradient step (the batch ``K``), all started together."""
    learning_rate: float = 1e-3
    """Adam step size of the policy (and of the value network)."""
    baseline: str = "learned"
    """One of :data:`BASELINES`."""
    ent_coef: float = 0.0
    """Weight of the policy's mean entropy per step in the objective; 0 is plain REINFORCE."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip of each update."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden sizes of the item scorer and of the value network (tanh, as PPO's)."""
    features: str = "engineered"
    """The item features (:data:`recbook.agents.config.FEATURE_SETS`); ``"engineered"`` is what PPO and the DQN read."""
    eval_freq: int = 50_000
    """Transitions between learning-curve points on VALIDATION users; 0 draws no curve."""
    eval_users: int = 1_000
    """VALIDATION users per learning-curve point."""

    def __post_init__(self) -> None:
        check_int(self.total_timesteps, "total_timesteps", low=1)
        check_int(self.num_envs, "num_envs", low=2)  # the average baseline needs another session
        check_int(self.eval_freq, "eval_freq", low=0)
        check_int(self.eval_users, "eval_users", low=1)
        check_real(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        check_real(self.max_grad_norm, "max_grad_norm", low=0.0, low_open=True)
        check_real(self.ent_coef, "ent_coef", low=0.0)
        check_choice(self.baseline, "baseline", BASELINES)
        check_choice(self.features, "features", FEATURE_SETS)
        if not self.net_arch or any(int(h) < 1 for h in self.net_arch):
            raise ValueError(f"net_arch must be a non-empty sequence of positive sizes, got {self.net_arch!r}")


def _mlp(width: int, net_arch: tuple[int, ...], out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for hidden in net_arch:
        layers += [nn.Linear(width, int(hidden)), nn.Tanh()]
        width = int(hidden)
    return nn.Sequential(*layers, nn.Linear(width, out))


class SoftmaxScorer(nn.Module):
    """Logits ``(B, n)`` of feedback observations ``(B, d)``: one MLP applied to each item's features and the context.

    The same architecture as PPO's actor (:class:`recbook.agents.ppo.ItemSharedActorCriticPolicy`), so the policy is
    permutation equivariant: relabelling the items relabels the probabilities.
    """

    def __init__(self, config: EnvConfig, net_arch: tuple[int, ...] = (64, 64), features: str = "engineered") -> None:
        super().__init__()
        self.item_features = ItemFeatures(config, features)
        n_item, n_context = self.item_features.n_features
        self.scorer = _mlp(n_item + n_context, tuple(net_arch), 1)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        items, context, _, _ = self.item_features(obs)
        return self.scorer(joint_inputs(items, context)).squeeze(-1)


class PooledValue(nn.Module):
    """The learned baseline: ``V(s)`` ``(B,)`` from the mean item features and the context (PPO's critic inputs)."""

    def __init__(self, config: EnvConfig, net_arch: tuple[int, ...] = (64, 64), features: str = "engineered") -> None:
        super().__init__()
        self.item_features = ItemFeatures(config, features)
        n_item, n_context = self.item_features.n_features
        self.head = _mlp(n_item + n_context, tuple(net_arch), 1)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        items, context, _, _ = self.item_features(obs)
        return self.head(th.cat([items.mean(1), context], dim=1)).squeeze(-1)


class Episodes(NamedTuple):
    """A batch of ``K`` sessions of at most ``T`` steps, time first.

    ``observations`` ``(T, K, d)`` float32, ``actions`` ``(T, K)`` int64, ``rewards`` ``(T, K)`` float32 (0 after a
    user left), ``alive`` ``(T, K)`` bool: whether the user was still there at step ``t`` (the step happened).
    """

    observations: th.Tensor
    actions: th.Tensor
    rewards: th.Tensor
    alive: th.Tensor


def reward_to_go(rewards: th.Tensor) -> th.Tensor:
    """``G_t = r_t + r_{t+1} + … + r_{T-1}`` along the first axis (γ = 1: the session's return from step ``t`` on)."""
    return rewards.flip(0).cumsum(0).flip(0)


def reinforce_update(
    policy: nn.Module,
    episodes: Episodes,
    baseline: str = "none",
    value: nn.Module | None = None,
    optimizer: th.optim.Optimizer | None = None,
    value_optimizer: th.optim.Optimizer | None = None,
    ent_coef: float = 0.0,
    max_grad_norm: float = 1.0,
) -> dict[str, float]:
    """One REINFORCE step on ``episodes``; without ``optimizer`` it only leaves the gradient estimate in ``.grad``."""
    T, K = episodes.actions.shape
    alive = episodes.alive.float()
    returns = reward_to_go(episodes.rewards)  # G_t, (T, K)
    obs = episodes.observations.reshape(T * K, -1)
    if baseline == "learned":  # b(s_t) = V(s_t), a critic fitted to G_t below
        values = value(obs).reshape(T, K)
        b = values.detach()
    elif baseline == "average":  # the mean G_t of the *other* sessions alive at step t
        total, count = (returns * alive).sum(1, keepdim=True), alive.sum(1, keepdim=True)
        b = (total - returns * alive) / (count - alive).clamp(min=1.0)
    else:
        b = th.zeros_like(returns)
    advantage = (returns - b) * alive  # steps after the user left contribute nothing
    log_pi = th.log_softmax(policy(obs).reshape(T, K, -1), dim=-1)
    log_pi_taken = log_pi.gather(-1, episodes.actions.unsqueeze(-1)).squeeze(-1)
    entropy = -(log_pi.exp() * log_pi).sum(-1)
    # The surrogate whose gradient is the estimate: (1/K) Σ_k Σ_t ∇log π(a_t|s_t) (G_t − b_t).
    objective = (log_pi_taken * advantage).sum() / K + ent_coef * (entropy * alive).sum() / alive.sum()
    policy.zero_grad()
    (-objective).backward()
    stats = {"return": float(episodes.rewards.sum(0).mean())}
    if optimizer is not None:
        stats["grad_norm"] = float(nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm))
        optimizer.step()
    if baseline == "learned" and value_optimizer is not None:
        value_loss = ((values - returns) ** 2 * alive).sum() / alive.sum()
        value_optimizer.zero_grad()
        value_loss.backward()
        nn.utils.clip_grad_norm_(value.parameters(), max_grad_norm)
        value_optimizer.step()
        stats["value_loss"] = float(value_loss.detach())
    return stats


def collect_episodes(
    policy: nn.Module, env: RecommendationVectorEnv, preferences: NDArray[np.float64], coins: np.random.Generator
) -> Episodes:
    """Run one session per row of ``preferences`` ``(K, n)`` on ``env`` (``num_envs == K``), sampling ``π``.

    Exits and clicks come from ``env.np_random``, the actions from ``coins`` (inverse-CDF sampling of the softmax).
    """
    K, T = env.num_envs, env.config.session_length
    env.start_sessions(np.ones(K, dtype=bool), preferences)
    obs_t, act_t, rew_t, alive_t = [], [], [], []
    for _ in range(T):
        alive = ~env.done()
        obs = env.observe()
        with th.no_grad():
            probs = th.softmax(policy(th.as_tensor(obs)), dim=-1).double().numpy()
        cdf = probs.cumsum(1)
        actions = np.minimum((cdf < coins.random(K)[:, None] * cdf[:, -1:]).sum(1), probs.shape[1] - 1)
        rewards, _, _ = env.advance(actions.astype(np.int64), alive)
        obs_t.append(obs), act_t.append(actions), rew_t.append(rewards), alive_t.append(alive)
    return Episodes(th.as_tensor(np.stack(obs_t)), th.as_tensor(np.stack(act_t), dtype=th.int64),
                    th.as_tensor(np.stack(rew_t), dtype=th.float32), th.as_tensor(np.stack(alive_t)))


class ReinforceAgent:
    """A trained softmax policy behind SB3's ``predict``, so :func:`recbook.evaluation.compare` can score it.

    Attributes:
        policy: the :class:`SoftmaxScorer` (logits of feedback observations).
        value: the learned baseline (:class:`PooledValue`) or ``None``.
        config: the environment it was trained on (feedback observation).
        reinforce: the hyperparameters; seed: the training seed.
        learning_curve: ``env_steps``, ``pct_oracle`` (VALIDATION users, exits in expectation), ``train_time_s``
            (CPU seconds of training so far, evaluations excluded), ``train_return`` (mean sampled return of the
            last batch).
    """

    name = "reinforce"
    observation = "feedback"

    def __init__(self, policy: SoftmaxScorer, value: PooledValue | None, config: EnvConfig,
                 reinforce: ReinforceConfig, seed: int, learning_curve: pd.DataFrame | None = None) -> None:
        self.policy, self.value, self.config, self.reinforce, self.seed = policy, value, config, reinforce, seed
        self.learning_curve = learning_curve if learning_curve is not None else pd.DataFrame()
        self.np_random = seeds.generator(seed, seeds.TEST, "policy", "reinforce")

    def __repr__(self) -> str:
        return f"ReinforceAgent(baseline={self.reinforce.baseline!r}, seed={self.seed})"

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the coins of ``predict(..., deterministic=False)`` (the evaluation calls it per policy)."""
        self.np_random = seeds.generator(self.seed if seed is None else seed, seeds.TEST, "policy", "reinforce")

    def action_probabilities(self, observation: Any) -> NDArray[np.float64]:
        """``π(a | s)`` of the softmax policy, ``(K, n)`` for observations ``(K, d)`` (``(n,)`` for one)."""
        obs = np.asarray(observation, dtype=np.float32)
        with th.no_grad():
            probs = th.softmax(self.policy(th.as_tensor(np.atleast_2d(obs))), dim=-1).double().numpy()
        return probs[0] if obs.ndim == 1 else probs

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[NDArray[np.int64], Any]:
        """The most probable item (``deterministic=True``, how PPO is scored) or one drawn from ``π``."""
        probs = np.atleast_2d(self.action_probabilities(observation))
        if deterministic:
            actions = probs.argmax(axis=1)
        else:
            cdf = probs.cumsum(1)
            actions = np.minimum((cdf < self.np_random.random(len(probs))[:, None]).sum(1), probs.shape[1] - 1)
        actions = actions.astype(np.int64)
        return (actions[0] if np.ndim(observation) == 1 else actions), state

    def save(self, path: str | Path) -> Path:
        """One zip: ``metadata.json`` (environment, hyperparameters, seed), the networks, the learning curve."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"algorithm": "reinforce", "format": 1, "seed": self.seed, "env": self.config.to_dict(),
                "reinforce": asdict(self.reinforce)}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("metadata.json", json.dumps(meta, indent=1))
            for name, net in (("policy", self.policy), ("value", self.value)):
                if net is not None:
                    th.save(net.state_dict(), buffer := BytesIO())
                    archive.writestr(f"{name}.pt", buffer.getvalue())
            archive.writestr("learning_curve.csv", self.learning_curve.to_csv(index=False))
        return path


def load_reinforce(path: str | Path) -> ReinforceAgent:
    """Load a :class:`ReinforceAgent` saved by :meth:`ReinforceAgent.save` (reads only tensors, no pickles)."""
    with zipfile.ZipFile(Path(path)) as archive:
        meta = json.loads(archive.read("metadata.json"))
        if meta.get("algorithm") != "reinforce":
            raise ValueError(f"{path} is not a REINFORCE model (algorithm {meta.get('algorithm')!r})")
        settings = meta["reinforce"]
        reinforce = ReinforceConfig(**{**settings, "net_arch": tuple(settings["net_arch"])})
        config = EnvConfig.from_dict(meta["env"])
        policy = SoftmaxScorer(config, reinforce.net_arch, reinforce.features)
        policy.load_state_dict(th.load(BytesIO(archive.read("policy.pt")), weights_only=True))
        value = None
        if "value.pt" in archive.namelist():  # trained with the learned baseline
            value = PooledValue(config, reinforce.net_arch, reinforce.features)
            value.load_state_dict(th.load(BytesIO(archive.read("value.pt")), weights_only=True))
        curve = pd.read_csv(BytesIO(archive.read("learning_curve.csv")))
    return ReinforceAgent(policy.eval(), value, config, reinforce, int(meta["seed"]), curve)


def _check_config(config: EnvConfig) -> EnvConfig:
    """``config`` in the feedback observation, or ``ValueError``."""
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    return config.replace(observation="feedback")


def train_reinforce(config: EnvConfig, reinforce: ReinforceConfig | None = None, seed: int = 0,
                    n_threads: int = 1) -> ReinforceAgent:
    """Train REINFORCE on ``config`` from TRAIN-stream users; learning curve on VALIDATION users.

    Seeds (stream TRAIN of :mod:`recbook.seeds`): ``"users"`` draws the users, ``"clicks"`` seeds the environment's
    clicks and exits, ``"training"`` the network initialisation and (key ``"policy"``) the action coins. The same
    ``seed`` on the same machine gives the same networks.
    """
    from recbook.evaluation import score  # late: evaluation imports the policies, which do not need torch

    config = _check_config(config)
    reinforce = reinforce if reinforce is not None else ReinforceConfig()
    seed = seeds.validate_seed(seed)
    th.set_num_threads(check_int(n_threads, "n_threads", low=1))
    th.manual_seed(seeds.derive_seed(seed, seeds.TRAIN, "training"))
    policy = SoftmaxScorer(config, reinforce.net_arch, reinforce.features)
    value = PooledValue(config, reinforce.net_arch, reinforce.features) if reinforce.baseline == "learned" else None
    optimizer = th.optim.Adam(policy.parameters(), lr=reinforce.learning_rate)
    value_optimizer = th.optim.Adam(value.parameters(), lr=reinforce.learning_rate) if value is not None else None
    env = RecommendationVectorEnv.from_config(config, reinforce.num_envs)
    env.reset(seed=seeds.derive_seed(seed, seeds.TRAIN, "clicks"))
    users = seeds.generator(seed, seeds.TRAIN, "users")
    coins = seeds.generator(seed, seeds.TRAIN, "training", "policy")
    agent = ReinforceAgent(policy, value, config, reinforce, seed)
    rows: list[dict[str, float]] = []
    steps, cpu, next_eval = 0, 0.0, reinforce.eval_freq
    while steps < reinforce.total_timesteps:
        began = time.process_time()
        preferences = users.dirichlet(config.alpha_vector, size=reinforce.num_envs)
        episodes = collect_episodes(policy, env, preferences, coins)
        stats = reinforce_update(policy, episodes, reinforce.baseline, value, optimizer, value_optimizer,
                                 reinforce.ent_coef, reinforce.max_grad_norm)
        steps += int(episodes.alive.sum())
        cpu += time.process_time() - began
        if reinforce.eval_freq and (steps >= next_eval or steps >= reinforce.total_timesteps):
            next_eval += reinforce.eval_freq
            result = score(agent, config, n_users=reinforce.eval_users, seed=0, stream=seeds.VALIDATION)
            rows.append({"env_steps": steps, "pct_oracle": result["pct_oracle"], "train_time_s": cpu,
                         "train_return": stats["return"]})
    agent.learning_curve = pd.DataFrame(rows, columns=["env_steps", "pct_oracle", "train_time_s", "train_return"])
    agent.learning_curve.attrs["train_time_s"] = cpu
    policy.eval()
    return agent


def gradient_variance(
    policy: nn.Module,
    config: EnvConfig,
    value: nn.Module | None = None,
    baselines: tuple[str, ...] = ("none", "average"),
    n_batches: int = 50,
    num_envs: int = 64,
    seed: int = 0,
) -> pd.DataFrame:
    """How noisy the REINFORCE gradient is, with each baseline, at ``policy``: one row per baseline.

    ``n_batches`` independent batches of ``num_envs`` sessions (VALIDATION users of ``seed``, key the batch index);
    on each batch every baseline's estimate is computed from the *same* sessions. Columns: ``variance`` (the trace
    of the estimates' covariance over batches, ``E‖g − ḡ‖²``), ``mean_norm`` (``‖ḡ‖``, the mean estimate's length),
    ``cosine`` (between this baseline's mean estimate and the first baseline's) and ``variance_ratio`` (this
    variance over the first baseline's). ``"learned"`` needs ``value``.
    """
    config = _check_config(config)
    n_batches, num_envs = check_int(n_batches, "n_batches", low=2), check_int(num_envs, "num_envs", low=2)
    for name in baselines:
        check_choice(name, "baselines", BASELINES)
    if "learned" in baselines and value is None:
        raise ValueError("the 'learned' baseline needs a value network (value=...)")
    env = RecommendationVectorEnv.from_config(config, num_envs)
    params = [p for p in policy.parameters() if p.requires_grad]
    grads: dict[str, list[NDArray[np.float64]]] = {name: [] for name in baselines}
    for batch in range(n_batches):
        env.reset(seed=seeds.derive_seed(seed, seeds.VALIDATION, "clicks", "gradient", batch))
        users = seeds.generator(seed, seeds.VALIDATION, "users", "gradient", batch)
        coins = seeds.generator(seed, seeds.VALIDATION, "policy", "gradient", batch)
        episodes = collect_episodes(policy, env, users.dirichlet(config.alpha_vector, size=num_envs), coins)
        for name in baselines:
            reinforce_update(policy, episodes, name, value)
            grads[name].append(th.cat([p.grad.reshape(-1) for p in params]).double().numpy().copy())
    policy.zero_grad()
    rows, first = [], np.mean(grads[baselines[0]], axis=0)
    for name in baselines:
        g = np.asarray(grads[name])
        mean, norm = g.mean(0), float(np.linalg.norm(g.mean(0)))
        rows.append({"baseline": name, "variance": float(((g - mean) ** 2).sum(1).sum() / (n_batches - 1)),
                     "mean_norm": norm, "cosine": float(mean @ first / (norm * np.linalg.norm(first) + 1e-300))})
    table = pd.DataFrame(rows).set_index("baseline")
    table["variance_ratio"] = table["variance"] / table["variance"].iloc[0]
    return table

