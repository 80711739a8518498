"""The four offline learners. Each reads logged :class:`~recbook.offline.transitions.Transitions` only — never the
simulator — and trains an :class:`~recbook.offline.policy.ItemScorer` by minibatch Adam.

* ``"bc"`` — behaviour cloning: maximise ``log pi(a_t | s_t)`` of the logged actions (cross-entropy). It recovers
  the logger, exploration included; its greedy policy is the logger's most frequent choice.
* ``"reinforce"`` — off-policy REINFORCE (Chen et al. 2019): ascend
  ``sum_t min(pi(a_t|s_t) / mu(a_t|s_t), c) lambda_K(a_t|s_t) (G_t - b_t) grad log pi(a_t|s_t)`` plus an entropy
  bonus, with the logged reward-to-go ``G_t``, the logging propensity ``mu``, the cap ``c`` (``weight_cap``), the
  top-K factor ``lambda_K = K (1 - pi)^(K-1)`` (1 for one item per step) and the baseline ``b_t``, the mean logged
  reward-to-go at step ``t``. As in Chen et al. the ratio is the current step's only, not the product over the
  session's earlier steps: a biased but far less variable correction (the products are what PDIS multiplies).
* ``"fqi"`` — offline Q-learning on the fixed buffer: minimise the Huber TD error against
  ``r_t + gamma max_a' Q_target(s_{t+1}, a')`` (double Q: the online network picks ``a'``), the target network
  copied every ``target_update_interval`` steps — fitted Q iteration with warm starts, a DQN that never acts.
* ``"cql"`` — the same plus conservative Q-learning's penalty (Kumar et al. 2020, CQL(H)):
  ``alpha (logsumexp_a Q(s, a) - Q(s, a_t))``, which pushes down the Q-values of actions the logs rarely took —
  the actions whose values the TD targets can only extrapolate.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch as th
from torch.nn import functional as F

from recbook import seeds
from recbook.agents.networks import ItemInputs
from recbook.config import EnvConfig
from recbook.offline.config import OfflineConfig
from recbook.offline.policy import ItemScorer, OfflinePolicy, _skip
from recbook.offline.transitions import Transitions

__all__ = ["LEARNERS", "fit", "train_scorer"]

#: Training checkpoints recorded in a policy's ``history`` (evenly spaced gradient steps).
N_CHECKPOINTS = 20


def _inputs(scorer: ItemScorer, observations: np.ndarray, chunk: int = 65_536) -> ItemInputs:
    """:meth:`ItemScorer.inputs` of every logged observation, in chunks (the features have no parameters)."""
    parts = [scorer.inputs(th.as_tensor(observations[i : i + chunk])) for i in range(0, len(observations), chunk)]
    return ItemInputs(*(th.cat(column) for column in zip(*parts, strict=True)))


def _optimiser(scorer: ItemScorer, settings: OfflineConfig) -> tuple[th.optim.Optimizer, Callable[[int], None]]:
    optimiser = th.optim.Adam(scorer.parameters(), lr=settings.learning_rate)
    start, end, steps = settings.learning_rate, settings.learning_rate_final, settings.gradient_steps

    def schedule(step: int) -> None:
        for group in optimiser.param_groups:
            group["lr"] = start + (end - start) * step / max(steps - 1, 1)

    return optimiser, schedule


def _step(loss: th.Tensor, scorer: ItemScorer, optimiser: th.optim.Optimizer, settings: OfflineConfig) -> None:
    optimiser.zero_grad()
    loss.backward()
    th.nn.utils.clip_grad_norm_(scorer.parameters(), settings.max_grad_norm)
    optimiser.step()


def _bc(scorer: ItemScorer, data: Transitions, settings: OfflineConfig, rng: np.random.Generator) -> list[dict]:
    inputs = _inputs(scorer, data.observations)
    actions = th.as_tensor(data.actions)
    optimiser, schedule = _optimiser(scorer, settings)
    history = []
    every = max(settings.gradient_steps // N_CHECKPOINTS, 1)
    for step in range(settings.gradient_steps):
        index = th.as_tensor(rng.integers(len(data), size=settings.batch_size))
        logits = scorer.scores(inputs.rows(index))
        loss = F.cross_entropy(logits, actions[index])
        schedule(step)
        _step(loss, scorer, optimiser, settings)
        if (step + 1) % every == 0:
            history.append({"step": step + 1, "loss": loss.item()})
    return history


def _reinforce(scorer: ItemScorer, data: Transitions, settings: OfflineConfig,
               rng: np.random.Generator) -> list[dict]:
    inputs = _inputs(scorer, data.observations)
    actions = th.as_tensor(data.actions).unsqueeze(1)
    # b_t: the mean logged reward-to-go at step t (it does not depend on the action, so the estimate stays unbiased).
    horizon = int(data.steps.max()) + 1
    mean_to_go = np.bincount(data.steps, data.returns, horizon) / np.maximum(np.bincount(data.steps, None, horizon), 1)
    advantage = th.as_tensor(data.returns - mean_to_go[data.steps], dtype=th.float32)
    propensity = th.as_tensor(data.propensities, dtype=th.float32)
    optimiser, schedule = _optimiser(scorer, settings)
    history = []
    every = max(settings.gradient_steps // N_CHECKPOINTS, 1)
    k = settings.top_k
    for step in range(settings.gradient_steps):
        index = th.as_tensor(rng.integers(len(data), size=settings.batch_size))
        log_pi = th.log_softmax(scorer.scores(inputs.rows(index)), dim=-1)
        log_pi_a = log_pi.gather(1, actions[index]).squeeze(1)
        with th.no_grad():
            pi_a = log_pi_a.exp()
            ratio = (pi_a / propensity[index]).clamp(max=settings.weight_cap)
            top_k = k * (1.0 - pi_a) ** (k - 1)
        entropy = -(log_pi.exp() * log_pi).sum(dim=1)
        loss = -(ratio * top_k * advantage[index] * log_pi_a).mean() - settings.ent_coef * entropy.mean()
        schedule(step)
        _step(loss, scorer, optimiser, settings)
        if (step + 1) % every == 0:
            history.append({"step": step + 1, "loss": loss.item(), "mean_ratio": ratio.mean().item(),
                            "entropy": entropy.mean().item()})
    return history


def _q_learning(scorer: ItemScorer, data: Transitions, settings: OfflineConfig, rng: np.random.Generator,
                alpha: float, next_probabilities: np.ndarray | None = None) -> list[dict]:
    """The Q-learners' loop. With ``next_probabilities`` (``(N, n)``: a target policy's ``pi(a' | s_{t+1})`` of every
    transition) the TD target is that policy's expected next value, ``r_t + gamma sum_a' pi(a'|s_{t+1})
    Q_target(s_{t+1}, a')``: fitted Q *evaluation* of the policy (:func:`recbook.offline.fit_q_evaluation`)
    rather than the max of Q-learning."""
    following_probabilities = None if next_probabilities is None else th.as_tensor(next_probabilities,
                                                                                   dtype=th.float32)
    inputs = _inputs(scorer, data.observations)
    next_inputs = _inputs(scorer, data.next_observations)
    actions = th.as_tensor(data.actions).unsqueeze(1)
    rewards = th.as_tensor(data.rewards, dtype=th.float32)
    continues = th.as_tensor(~data.dones, dtype=th.float32) * settings.gamma
    target = copy.deepcopy(scorer)
    optimiser, schedule = _optimiser(scorer, settings)
    history = []
    every = max(settings.gradient_steps // N_CHECKPOINTS, 1)
    for step in range(settings.gradient_steps):
        if step % settings.target_update_interval == 0:
            target.load_state_dict(scorer.state_dict())
        index = th.as_tensor(rng.integers(len(data), size=settings.batch_size))
        q = scorer.scores(inputs.rows(index))
        q_a = q.gather(1, actions[index]).squeeze(1)
        with th.no_grad():
            following = next_inputs.rows(index)
            q_next = target.scores(following)
            if following_probabilities is not None:
                next_value = (following_probabilities[index] * q_next).sum(dim=1)
            else:
                best = (scorer.scores(following) if settings.double_q else q_next).argmax(dim=1, keepdim=True)
                next_value = q_next.gather(1, best).squeeze(1)
            y = rewards[index] + continues[index] * next_value
        td = F.smooth_l1_loss(q_a, y)
        penalty = (th.logsumexp(q, dim=1) - q_a).mean()
        loss = td + alpha * penalty
        schedule(step)
        _step(loss, scorer, optimiser, settings)
        if (step + 1) % every == 0:
            history.append({"step": step + 1, "loss": loss.item(), "td_loss": td.item(),
                            "penalty": penalty.item(), "mean_q": q_a.mean().item()})
    return history


#: Each method's training loop.
LEARNERS: dict[str, Callable[..., list[dict]]] = {
    "bc": _bc,
    "reinforce": _reinforce,
    "fqi": lambda scorer, data, settings, rng: _q_learning(scorer, data, settings, rng, 0.0),
    "cql": lambda scorer, data, settings, rng: _q_learning(scorer, data, settings, rng, settings.cql_alpha),
}


def train_scorer(data: Transitions, config: EnvConfig, name: str, skip: str, settings: OfflineConfig, seed: int,
                 loop: Callable[..., list[dict]]) -> tuple[ItemScorer, pd.DataFrame]:
    """Train a fresh :class:`~recbook.offline.ItemScorer` (skip term ``skip``) on ``data`` with
    ``loop(scorer, data, settings, rng)``: the trained scorer and its history, each checkpoint with the learning CPU
    time ``train_time_s``.

    The network's initial weights come from ``th.manual_seed`` of ``(seed, TRAIN, "training", "offline", name)`` and
    the minibatches from a generator of ``(seed, TRAIN, "training", "offline-batches", name)``, so the same call
    gives the same scorer (on one machine; float32 sums may differ in the last digits across CPUs). Training runs
    on one thread.
    """
    threads = th.get_num_threads()
    th.set_num_threads(1)
    try:
        th.manual_seed(seeds.derive_seed(seed, seeds.TRAIN, "training", "offline", name))
        scorer = ItemScorer(config, settings.net_arch, settings.features, skip)
        rng = seeds.generator(seed, seeds.TRAIN, "training", "offline-batches", name)
        start = time.process_time()
        history = loop(scorer, data, settings, rng)
        seconds = time.process_time() - start
    finally:
        th.set_num_threads(threads)
    frame = pd.DataFrame(history)
    frame["train_time_s"] = seconds
    return scorer.eval(), frame


def fit(data: Transitions, config: EnvConfig, method: str, settings: OfflineConfig, seed: int) -> OfflinePolicy:
    """Train ``method`` on ``data`` (logged in environment ``config``) and return the greedy policy of its scores
    (:func:`train_scorer` with ``name=method``)."""
    scorer, history = train_scorer(data, config, method, _skip(method, settings), settings, seed, LEARNERS[method])
    return OfflinePolicy(scorer, config, method, settings, seed, history, len(data))
