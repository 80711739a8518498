"""A deep Q-network written from scratch: replay buffer, online and target networks, Huber TD loss, ε-greedy.

Everything Stable-Baselines3's ``DQN`` does for this book's problem, in one readable function
(:func:`train_scratch_dqn`), on the feedback observation of the batched environment. The field names of
:class:`ScratchDQNConfig` are SB3's, so chapter 6's hyperparameters map onto lines of this file.

All users start and end their sessions together (every session lasts exactly ``T`` steps), so the loop resets the
whole batch after the last step instead of relying on the vector environment's next-step autoreset (whose extra
step ignores the action and pays 0, which would otherwise have to be kept out of the replay buffer).

>>> from recbook import EnvConfig
>>> agent = train_scratch_dqn(EnvConfig(n_items=3, session_length=4), ScratchDQNConfig(total_timesteps=512))
>>> agent.curve.columns.tolist()
['timesteps', 'episode_return', 'epsilon', 'loss']
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import NDArray
from torch import nn

from recbook import seeds
from recbook._checks import check_int, check_probability, check_real
from recbook.config import EnvConfig
from recbook.agents.reinforce import train_reinforce  # the policy-gradient counterpart, at home in .reinforce
from recbook.vector import RecommendationVectorEnv

__all__ = ["ScratchDQN", "ScratchDQNConfig", "train_reinforce", "train_scratch_dqn"]


@dataclass(frozen=True)
class ScratchDQNConfig:
    """Hyperparameters of :func:`train_scratch_dqn`; each name is the Stable-Baselines3 ``DQN`` argument it mirrors.

    Counts are in *transitions* (one user, one step), as SB3 counts environment steps.
    """

    total_timesteps: int = 150_000
    """Transitions collected in total (in SB3, ``learn(total_timesteps)``)."""
    num_envs: int = 32
    """Users stepped together (in SB3, the number of environments of the ``VecEnv``)."""
    buffer_size: int = 50_000
    """Replay capacity in transitions; the oldest are overwritten first."""
    learning_starts: int = 2_000
    """Transitions collected with the exploratory policy before the first gradient step."""
    batch_size: int = 256
    """Transitions per gradient step, drawn uniformly from the buffer."""
    gamma: float = 1.0
    """Discount factor 1, because sessions have a fixed length and the observation shows the steps remaining."""
    learning_rate: float = 1e-3
    """Adam step size (constant)."""
    train_freq: int = 1
    """Batched environment steps between gradient steps."""
    gradient_steps: int = 1
    """Gradient steps each time training happens."""
    target_update_interval: int = 2_000
    """Transitions between copies of the online network into the target network (a hard update, SB3's tau=1)."""
    exploration_fraction: float = 0.25
    """Fraction of ``total_timesteps`` over which ε falls linearly from the initial to the final value."""
    exploration_initial_eps: float = 1.0
    """ε at the start, the probability of a uniformly random recommendation."""
    exploration_final_eps: float = 0.02
    """ε after the decay."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the Q-network (in SB3, ``policy_kwargs=dict(net_arch=[64, 64])``)."""
    max_grad_norm: float = 10.0
    """Gradient-norm clip."""

    def __post_init__(self) -> None:
        for name in ("total_timesteps", "num_envs", "buffer_size", "batch_size", "train_freq", "gradient_steps",
                     "target_update_interval"):
            check_int(getattr(self, name), name, low=1)
        for name in ("gamma", "exploration_fraction", "exploration_initial_eps", "exploration_final_eps"):
            check_probability(getattr(self, name), name)
        for name in ("learning_rate", "max_grad_norm"):
            check_real(getattr(self, name), name, low=0.0, low_open=True)
        check_int(self.learning_starts, "learning_starts", low=0)
        if not self.net_arch or any(int(h) < 1 for h in self.net_arch):
            raise ValueError(f"net_arch must be a non-empty sequence of positive sizes, got {self.net_arch!r}")


class ScratchDQN:
    """A trained Q-network behind SB3's ``predict``, so :func:`recbook.evaluation.evaluate` can score it.

    Attributes:
        q_network: maps feedback observations ``(K, 3n + 1)`` to Q-values ``(K, n)``.
        config: the environment it was trained on (feedback observation).
        dqn: the hyperparameters.
        curve: one row per finished batch of sessions: ``timesteps``, mean ``episode_return`` of those sessions
            (exploratory), ``epsilon``, mean ``loss`` since the previous row (NaN before learning starts).
    """

    name = "scratch-dqn"
    observation = "feedback"

    def __init__(self, q_network: nn.Module, config: EnvConfig, dqn: ScratchDQNConfig, curve: pd.DataFrame) -> None:
        self.q_network, self.config, self.dqn, self.curve = q_network, config, dqn, curve

    def q_values(self, observation: Any) -> NDArray[np.float32]:
        """Q-values of a batch of feedback observations, shape ``(K, n)``."""
        with torch.no_grad():
            return self.q_network(torch.as_tensor(np.atleast_2d(observation), dtype=torch.float32)).numpy()

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[NDArray[np.int64], Any]:
        """Greedy actions ``(K,)`` for observations ``(K, d)`` (a 0-d array for one ``(d,)`` observation)."""
        actions = self.q_values(observation).argmax(axis=1).astype(np.int64)
        return (actions[0] if np.ndim(observation) == 1 else actions), state


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


def train_scratch_dqn(config: EnvConfig, dqn: ScratchDQNConfig | None = None, seed: int = 0) -> ScratchDQN:
    """Train a DQN on the feedback observation of ``config`` (TRAIN-stream users); return the greedy agent.

    Seeds (all from :mod:`recbook.seeds`, stream TRAIN): ``"users"`` draws the users, ``"clicks"`` seeds the
    environment's clicks, ``"training"`` the network initialisation, the ε-greedy coins and the replay sampling
    (three independent keys). The same ``seed`` on the same machine gives the same network.
    """
    dqn = dqn or ScratchDQNConfig()
    seed = seeds.validate_seed(seed)
    config = config.replace(observation="feedback")
    n, T, K = config.n_items, config.session_length, dqn.num_envs
    env = RecommendationVectorEnv.from_config(config, K)
    users = seeds.generator(seed, seeds.TRAIN, "users")
    coins = seeds.generator(seed, seeds.TRAIN, "training", "exploration")
    replay_rng = seeds.generator(seed, seeds.TRAIN, "training", "replay")
    torch.manual_seed(seeds.derive_seed(seed, seeds.TRAIN, "training"))
    obs_size = env.single_observation_space.shape[0]
    q_net = _mlp([obs_size, *dqn.net_arch, n])
    target_net = copy.deepcopy(q_net)
    optimizer = torch.optim.Adam(q_net.parameters(), lr=dqn.learning_rate)
    # Replay buffer: a ring of transitions (observation, action, reward, next observation, terminal flag).
    buf_obs = np.zeros((dqn.buffer_size, obs_size), np.float32)
    buf_next = np.zeros_like(buf_obs)
    buf_action = np.zeros(dqn.buffer_size, np.int64)
    buf_reward = np.zeros(dqn.buffer_size, np.float32)
    buf_done = np.zeros(dqn.buffer_size, np.float32)
    cursor, size, losses, rows = 0, 0, [], []
    obs, _ = env.reset(seed=seeds.derive_seed(seed, seeds.TRAIN, "clicks"),
                       options={"preferences": users.dirichlet(config.alpha_vector, size=K)})
    session_return = np.zeros(K)
    for step in range(dqn.total_timesteps // K):
        timesteps = step * K
        progress = min(timesteps / (dqn.exploration_fraction * dqn.total_timesteps + 1e-12), 1.0)
        epsilon = dqn.exploration_initial_eps + progress * (dqn.exploration_final_eps - dqn.exploration_initial_eps)
        with torch.no_grad():  # ε-greedy: a random item with probability ε, else the greedy one
            greedy = q_net(torch.as_tensor(obs)).argmax(dim=1).numpy()
        actions = np.where(coins.random(K) < epsilon, coins.integers(n, size=K), greedy)
        next_obs, reward, terminated, _, _ = env.step(actions)
        rows_in = (cursor + np.arange(K)) % dqn.buffer_size
        buf_obs[rows_in], buf_action[rows_in], buf_reward[rows_in] = obs, actions, reward
        buf_next[rows_in], buf_done[rows_in] = next_obs, terminated
        cursor, size = (cursor + K) % dqn.buffer_size, min(size + K, dqn.buffer_size)
        session_return += reward
        obs = next_obs
        if terminated.all():  # every session ends at step T: start the next batch of users together
            rows.append({"timesteps": timesteps + K, "episode_return": session_return.mean(), "epsilon": epsilon,
                         "loss": float(np.mean(losses)) if losses else float("nan")})
            losses, session_return = [], np.zeros(K)
            obs, _ = env.reset(options={"preferences": users.dirichlet(config.alpha_vector, size=K)})
        if timesteps + K > dqn.learning_starts and step % dqn.train_freq == 0:
            for _ in range(dqn.gradient_steps):  # one TD step on a random minibatch
                idx = replay_rng.integers(size, size=dqn.batch_size)
                with torch.no_grad():  # target: r + γ max_a' Q_target(s', a'), no bootstrap after the last step
                    next_q = target_net(torch.as_tensor(buf_next[idx])).max(dim=1).values
                    not_done = 1 - torch.as_tensor(buf_done[idx])
                    target = torch.as_tensor(buf_reward[idx]) + dqn.gamma * not_done * next_q
                q_all = q_net(torch.as_tensor(buf_obs[idx]))
                q = q_all.gather(1, torch.as_tensor(buf_action[idx])[:, None])[:, 0]  # Q(s, a) of the actions taken
                loss = nn.functional.smooth_l1_loss(q, target)  # Huber loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(q_net.parameters(), dqn.max_grad_norm)
                optimizer.step()
                losses.append(loss.item())
        if (timesteps + K) // dqn.target_update_interval > timesteps // dqn.target_update_interval:
            target_net.load_state_dict(q_net.state_dict())  # hard target update
    q_net.eval()
    return ScratchDQN(q_net, config, dqn, pd.DataFrame(rows, columns=["timesteps", "episode_return", "epsilon",
                                                                      "loss"]))


def sb3_arguments(dqn: ScratchDQNConfig) -> dict[str, Any]:
    """The SB3 ``DQN(...)`` keyword arguments that correspond to ``dqn`` (for the chapter's mapping table)."""
    data = asdict(dqn)
    data.pop("total_timesteps")
    data.pop("num_envs")
    data["policy_kwargs"] = {"net_arch": list(data.pop("net_arch"))}
    data["tau"] = 1.0
    return data
