"""Training SlateQ and the flat slate DQN: one loop, replay, target network, epsilon-greedy slates, TRAIN users.

:func:`train_slate_agent` steps ``num_envs`` TRAIN users together in :class:`~recbook.vector.RecommendationVectorEnv`
with **sampled** exits (a transition ends the session when the user leaves or after the last step; the next state
is then terminal, value 0). Each batched step adds ``num_envs`` transitions ``(s, S, choice, r, s', done)`` to the
replay buffer and, once ``learning_starts`` are stored, makes ``gradient_steps`` gradient steps on uniformly drawn
batches:

* SlateQ (``method="slateq"``): the MNL negative log-likelihood of the observed choice (position taken, or nothing)
  under the choice head, plus the Huber TD loss of ``Q(s, i)`` of the item taken (``Q(s, none)`` when nothing was)
  against ``r + gamma (1 - done) max_{S'} V(s', S')`` (:mod:`recbook.slates.slateq`); with ``learned_exits`` the
  exit in the target is replaced by its learned probability, ``r + gamma (1 - P(leave | s, i)) max_{S'} V(s', S')``,
  and the exit head's Bernoulli negative log-likelihood of the observed exit is added (weighted like the choice's);
* the flat DQN: the Huber TD loss of ``Q(s, S)`` against ``r + gamma (1 - done) max_{S'} Q(s', S')``.

Both use the same users, exploration schedule, batch, optimiser and budget, so their difference is the
decomposition. Randomness: users and choices from the environment seeded by ``derive_seed(seed, TRAIN, "users")``,
exploration from ``generator(seed, TRAIN, "training", "exploration")``, replay draws from ``..., "replay"``, torch's
initialisation from ``derive_seed(seed, TRAIN, "training")``. Training runs on one CPU thread.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch as th
from numpy.typing import NDArray
from torch.nn import functional as F

from recbook import seeds
from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.slates.search import best_slates, slate_values
from recbook.slates.slateq import SlateAgent, SlateQConfig, build_network, check_slate_config
from recbook.slates.slateq_network import mnl_log_likelihood
from recbook.vector import RecommendationVectorEnv

__all__ = ["HISTORY_COLUMNS", "slate_index", "train_slate_agent"]

#: Columns of a training history (one row per ``log_interval`` transitions).
HISTORY_COLUMNS = ("timesteps", "episode_return", "epsilon", "td_loss", "choice_loss", "steps_per_second")


def slate_index(slates: NDArray[np.int64], n_items: int) -> NDArray[np.int64]:
    """The index ``(K,)`` of each slate ``(K, k)`` (any order) among :func:`recbook.slates.search.candidate_slates`'s
    combinations in lexicographic order (the flat DQN's actions)."""
    ordered = np.sort(np.asarray(slates, dtype=np.int64), axis=1)
    k = ordered.shape[1]
    index = np.zeros(len(ordered), dtype=np.int64)
    previous = np.full(len(ordered), -1)
    for position in range(k):
        # Combinations that start like this one but have a smaller item at this position come first.
        for item in range(n_items):
            smaller = (item > previous) & (item < ordered[:, position])
            index += np.where(smaller, math.comb(n_items - item - 1, k - position - 1), 0)
        previous = ordered[:, position]
    return index


class _Replay:
    """A ring buffer of transitions (observations float32)."""

    def __init__(self, capacity: int, obs_size: int, slate_size: int) -> None:
        self.obs = np.zeros((capacity, obs_size), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_size), dtype=np.float32)
        self.slates = np.zeros((capacity, slate_size), dtype=np.int64)
        self.positions = np.zeros(capacity, dtype=np.int64)
        self.items = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.done = np.zeros(capacity, dtype=np.float32)
        self.left = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.size, self.cursor = capacity, 0, 0

    def add(self, obs, slates, positions, items, rewards, next_obs, done, left) -> None:
        rows = (self.cursor + np.arange(len(obs))) % self.capacity
        self.obs[rows], self.next_obs[rows], self.slates[rows] = obs, next_obs, slates
        self.positions[rows], self.items[rows] = positions, items
        self.rewards[rows], self.done[rows], self.left[rows] = rewards, done, left
        self.cursor = int((self.cursor + len(obs)) % self.capacity)
        self.size = min(self.capacity, self.size + len(obs))

    def sample(self, rng: np.random.Generator, batch: int) -> dict[str, th.Tensor]:
        rows = rng.integers(0, self.size, size=batch)
        return {name: th.as_tensor(getattr(self, name)[rows]) for name in
                ("obs", "next_obs", "slates", "positions", "items", "rewards", "done", "left")}


def _random_slates(rng: np.random.Generator, count: int, n_items: int, k: int) -> NDArray[np.int64]:
    return np.argsort(rng.random((count, n_items)), axis=1)[:, :k].astype(np.int64)


def _slateq_loss(agent: SlateAgent, target: th.nn.Module, batch: dict[str, th.Tensor],
                 settings: SlateQConfig) -> tuple[th.Tensor, float, float]:
    config = agent.config
    logits, q, q_none = agent.network(batch["obs"])
    choice_loss = -mnl_log_likelihood(logits, batch["slates"], batch["positions"], config.no_click_mass).mean()
    items = batch["items"]
    taken = items >= 0
    predicted = th.where(taken, q.gather(1, items.clamp(min=0).unsqueeze(1)).squeeze(1), q_none)
    with th.no_grad():
        t_logits, t_q, t_none = (x.double().numpy() for x in target(batch["next_obs"]))
        t_scores = np.exp(np.clip(t_logits, -30.0, 30.0))
        if settings.double_q:
            o_logits, o_q, o_none = (x.double().numpy() for x in agent.network(batch["next_obs"]))
            chosen = best_slates(config, np.exp(np.clip(o_logits, -30.0, 30.0)), o_q, o_none, settings.search)[0]
            next_value = slate_values(config, t_scores, t_q, t_none, chosen)
        else:
            next_value = best_slates(config, t_scores, t_q, t_none, settings.search)[1]
        next_value = th.as_tensor(next_value, dtype=th.float32)
    leave_loss = th.zeros(())
    if settings.learned_exits:
        item_leave, none_leave = agent.network.leave_logits(batch["obs"])
        leave = th.where(taken, item_leave.gather(1, items.clamp(min=0).unsqueeze(1)).squeeze(1), none_leave)
        leave_loss = F.binary_cross_entropy_with_logits(leave, batch["left"])
        # The post-choice state s' exists whether or not the user left; its value is 0 after the last step.
        stay = 1.0 - th.sigmoid(leave.detach())
    else:
        stay = 1.0 - batch["done"]
    y = batch["rewards"] + settings.gamma * stay * next_value
    td_loss = F.smooth_l1_loss(predicted, y)
    loss = td_loss + settings.choice_weight * (choice_loss + leave_loss)
    return loss, td_loss.item(), choice_loss.item()


def _flat_loss(agent: SlateAgent, target: th.nn.Module, batch: dict[str, th.Tensor],
               settings: SlateQConfig) -> tuple[th.Tensor, float, float]:
    actions = th.as_tensor(slate_index(batch["slates"].numpy(), agent.config.n_items))
    predicted = agent.network(batch["obs"]).gather(1, actions.unsqueeze(1)).squeeze(1)
    with th.no_grad():
        target_q = target(batch["next_obs"])
        if settings.double_q:
            best = agent.network(batch["next_obs"]).argmax(dim=1, keepdim=True)
            next_value = target_q.gather(1, best).squeeze(1)
        else:
            next_value = target_q.max(dim=1).values
        y = batch["rewards"] + settings.gamma * (1.0 - batch["done"]) * next_value
    td_loss = F.smooth_l1_loss(predicted, y)
    return td_loss, td_loss.item(), float("nan")


def train_slate_agent(
    config: EnvConfig,
    settings: SlateQConfig | None = None,
    seed: int = 0,
    log_interval: int = 10_000,
    callback: Callable[[SlateAgent, int], None] | None = None,
) -> SlateAgent:
    """Train SlateQ or the flat slate DQN (``settings.method``) on TRAIN users of ``config`` (module docstring).

    Args:
        config: an MNL slate configuration with the feedback observation (``ValueError`` naming the field
            otherwise).
        settings: the hyperparameters (default :class:`~recbook.slates.slateq.SlateQConfig`).
        seed: training seed (users, choices, exits, exploration, replay, initialisation).
        log_interval: transitions between rows of the returned agent's ``history``.
        callback: called as ``callback(agent, timesteps)`` at every logged point (e.g. a VALIDATION evaluation).

    Returns:
        The trained :class:`~recbook.slates.slateq.SlateAgent`; its ``timing`` holds the run's wall and CPU seconds.
    """
    check_slate_config(config)
    settings = settings if settings is not None else SlateQConfig()
    if not isinstance(settings, SlateQConfig):
        raise ValueError(f"settings must be a SlateQConfig, got {type(settings).__name__}")
    seed = seeds.validate_seed(seed)
    threads = th.get_num_threads()
    th.set_num_threads(1)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        th.manual_seed(seeds.derive_seed(seed, seeds.TRAIN, "training"))
        network = build_network(config, settings)
        agent = SlateAgent(network, config, settings, seed)
        agent.network.train()
        target = copy.deepcopy(network)
        optimiser = th.optim.Adam(network.parameters(), lr=settings.learning_rate)
        loss_of = _slateq_loss if settings.method == "slateq" else _flat_loss
        history = _loop(agent, target, optimiser, loss_of, settings, seed, log_interval, callback)
    finally:
        th.set_num_threads(threads)
    agent.network.eval()
    agent.history = pd.DataFrame(history, columns=list(HISTORY_COLUMNS))
    agent.timing = {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
                    "timesteps": settings.total_timesteps}
    return agent


def _loop(agent, target, optimiser, loss_of, settings: SlateQConfig, seed: int, log_interval: int,
          callback) -> list[tuple[float, ...]]:
    config = agent.config
    n, k, count = config.n_items, config.slate_size, settings.num_envs
    env = RecommendationVectorEnv.from_config(config, count)
    env.reset(seed=seeds.derive_seed(seed, seeds.TRAIN, "users"))
    explore = seeds.generator(seed, seeds.TRAIN, "training", "exploration")
    replay_rng = seeds.generator(seed, seeds.TRAIN, "training", "replay")
    replay = _Replay(settings.buffer_size, ObservationLayout(config).size, k)
    returns = np.zeros(count)
    finished: list[float] = []
    history: list[tuple[float, ...]] = []
    td_losses: list[float] = []
    choice_losses: list[float] = []
    timesteps, updates, next_log, started = 0, 0, log_interval, time.perf_counter()
    decay_steps = max(1.0, settings.exploration_fraction * settings.total_timesteps)
    while timesteps < settings.total_timesteps:
        fraction = min(1.0, timesteps / decay_steps)
        epsilon = settings.exploration_initial_eps + fraction * (
            settings.exploration_final_eps - settings.exploration_initial_eps)
        obs = env.observe()
        agent.network.eval()
        slates = agent.greedy_slates(obs) if epsilon < 1.0 else _random_slates(explore, count, n, k)
        random = explore.random(count) < epsilon
        slates[random] = _random_slates(explore, int(random.sum()), n, k)
        agent.network.train()
        rewards, _, left = env.advance(slates, np.ones(count, dtype=bool))
        items = env.last_choice.copy()
        hit = slates == items[:, None]
        positions = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        done = env.done()
        replay.add(obs, slates, positions, items, rewards, env.observe(), done, left)
        returns += rewards
        finished.extend(returns[done].tolist())
        returns[done] = 0.0
        env.start_sessions(done)
        timesteps += count
        if timesteps >= settings.learning_starts and replay.size >= settings.batch_size:
            for _ in range(settings.gradient_steps):
                loss, td, choice = loss_of(agent, target, replay.sample(replay_rng, settings.batch_size), settings)
                optimiser.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(agent.network.parameters(), settings.max_grad_norm)
                optimiser.step()
                td_losses.append(td)
                choice_losses.append(choice)
                updates += 1
                if updates % settings.target_update_interval == 0:
                    target.load_state_dict(agent.network.state_dict())
        if timesteps >= next_log or timesteps >= settings.total_timesteps:
            speed = timesteps / max(1e-9, time.perf_counter() - started)
            history.append((timesteps, float(np.mean(finished)) if finished else float("nan"), epsilon,
                            float(np.mean(td_losses)) if td_losses else float("nan"),
                            float(np.nanmean(choice_losses)) if choice_losses and settings.method == "slateq"
                            else float("nan"), speed))
            finished, td_losses, choice_losses = [], [], []
            next_log += log_interval
            if callback is not None:
                agent.network.eval()
                callback(agent, timesteps)
                agent.network.train()
    return history
