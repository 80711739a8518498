"""The policy an offline learner returns: an item-shared scorer behind ``predict`` and ``action_probabilities``.

Every learner of :func:`recbook.offline.learn` trains an :class:`ItemScorer`: one MLP applied to each item's
features and the pooled context (:class:`recbook.agents.features.ItemFeatures`, the inputs of the book's DQN, PPO
and REINFORCE), giving a score per item — logits for behaviour cloning and REINFORCE, Q-values for FQI and CQL.
The :class:`OfflinePolicy` recommends the best-scored item. It is deterministic, so its ``action_probabilities``
are one-hot on that item, and the policy :func:`recbook.ope.estimate` evaluates is exactly the one
:func:`recbook.evaluation.compare` scores.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch as th
from numpy.typing import NDArray
from torch import nn

from recbook.agents.features import ItemFeatures, joint_inputs
from recbook.agents.networks import ItemInputs
from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.offline.config import METHODS, OfflineConfig

__all__ = ["ItemScorer", "OfflinePolicy", "load_offline"]

#: The ``algorithm`` entry of a saved offline policy's metadata (``recbook.load_agent`` dispatches on it).
ALGORITHM = "offline"
_METADATA = "recbook.json"


class ItemScorer(nn.Module):
    """Scores ``(B, n)`` of feedback observations: ``base_a + f(x_a, c)`` with one MLP ``f`` shared by all items.

    ``base`` is the skip term (:class:`recbook.agents.networks.ItemSharedQNetwork`'s ``skip``); with a skip the
    last layer starts at zero, so the untrained scorer is its base. :meth:`inputs` has no parameters, so a learner
    computes it once for all logged observations and :meth:`ItemScorer.scores` trains on it.
    """

    def __init__(self, config: EnvConfig, net_arch: tuple[int, ...], features: str, skip: str) -> None:
        super().__init__()
        self.item_features = ItemFeatures(config, features)
        self.skip = skip
        width = sum(self.item_features.n_features)
        layers: list[nn.Module] = []
        for hidden in net_arch:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        last = nn.Linear(width, 1)
        if skip != "none":
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        self.mlp = nn.Sequential(*layers, last)

    def inputs(self, obs: th.Tensor) -> ItemInputs:
        """Item features, context and skip term of observations ``(B, d)``."""
        items, context, baseline, next_value = self.item_features(obs)
        base = {"exploit": baseline, "reward": next_value}.get(self.skip, th.zeros_like(next_value))
        return ItemInputs(items, context, base)

    def scores(self, inputs: ItemInputs) -> th.Tensor:
        """Scores ``(B, n)`` from :meth:`inputs`."""
        items, context, base = inputs
        return base + self.mlp(joint_inputs(items, context)).squeeze(-1)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.scores(self.inputs(obs))


class OfflinePolicy:
    """A policy learned from logs: recommends the item of highest score (ties to the lowest index).

    Attributes:
        scorer: the trained :class:`ItemScorer`. config: the environment of the logs (feedback observation).
        method: which learner (:data:`~recbook.offline.config.METHODS`). settings: its :class:`OfflineConfig`.
        seed: the learning seed. history: one row per logged training checkpoint (``step``, ``loss``, ...).
        n_transitions: how many logged transitions it learned from.
    """

    observation = "feedback"

    def __init__(self, scorer: ItemScorer, config: EnvConfig, method: str, settings: OfflineConfig, seed: int,
                 history: pd.DataFrame | None = None, n_transitions: int = 0) -> None:
        self.scorer = scorer.eval()
        self.config, self.method, self.settings, self.seed = config, method, settings, seed
        self.history = history if history is not None else pd.DataFrame()
        self.n_transitions = int(n_transitions)

    @property
    def name(self) -> str:
        return f"offline-{self.method}"

    def __repr__(self) -> str:
        return f"OfflinePolicy(method={self.method!r}, seed={self.seed}, transitions={self.n_transitions})"

    def reset(self, seed: int | None = None) -> None:
        """Nothing to re-seed: the policy is deterministic (kept so every evaluation path can call it)."""

    def scores(self, observation: Any) -> NDArray[np.float64]:
        """The scorer's output ``(K, n)`` (logits or Q-values) for observations ``(K, d)`` (``(n,)`` for one)."""
        obs = np.asarray(observation, dtype=np.float32)
        expected = ObservationLayout(self.config).size
        if obs.shape[-1] != expected or obs.ndim not in (1, 2):
            raise ValueError(f"observation must have shape ({expected},) or (K, {expected}), got {obs.shape}")
        with th.no_grad():
            out = self.scorer(th.as_tensor(np.atleast_2d(obs))).double().numpy()
        return out[0] if obs.ndim == 1 else out

    def action_probabilities(self, observation: Any) -> NDArray[np.float64]:
        """One-hot on the recommended item, ``(K, n)``: the policy is deterministic."""
        scores = np.atleast_2d(self.scores(observation))
        probabilities = np.eye(scores.shape[1])[scores.argmax(axis=1)]
        return probabilities[0] if np.ndim(observation) == 1 else probabilities

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[NDArray[np.int64], Any]:
        """The best-scored item (SB3's signature; the policy is deterministic either way)."""
        actions = np.atleast_2d(self.scores(observation)).argmax(axis=1).astype(np.int64)
        return (actions[0] if np.ndim(observation) == 1 else actions), state

    def save(self, path: str | Path) -> Path:
        """One zip: ``recbook.json`` (environment, method, settings, seed), the scorer's tensors, the history."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"algorithm": ALGORITHM, "format": 1, "method": self.method, "seed": self.seed,
                "n_transitions": self.n_transitions, "env": self.config.to_dict(), "offline": asdict(self.settings)}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_METADATA, json.dumps(meta, indent=1))
            th.save(self.scorer.state_dict(), buffer := BytesIO())
            archive.writestr("scorer.pt", buffer.getvalue())
            archive.writestr("history.csv", self.history.to_csv(index=False))
        return path


def load_offline(path: str | Path) -> OfflinePolicy:
    """Load an :class:`OfflinePolicy` saved by :meth:`OfflinePolicy.save` (tensors only, no pickles)."""
    with zipfile.ZipFile(Path(path)) as archive:
        meta = json.loads(archive.read(_METADATA))
        if meta.get("algorithm") != ALGORITHM:
            raise ValueError(f"{path} is not an offline policy (algorithm {meta.get('algorithm')!r})")
        settings = OfflineConfig(**{**meta["offline"], "net_arch": tuple(meta["offline"]["net_arch"])})
        config = EnvConfig.from_dict(meta["env"])
        method = str(meta["method"])
        if method not in METHODS:
            raise ValueError(f"{path} names an unknown method {method!r}; known: {METHODS}")
        scorer = ItemScorer(config, settings.net_arch, settings.features, _skip(method, settings))
        scorer.load_state_dict(th.load(BytesIO(archive.read("scorer.pt")), weights_only=True))
        history = pd.read_csv(BytesIO(archive.read("history.csv")))
    return OfflinePolicy(scorer, config, method, settings, int(meta["seed"]), history, int(meta["n_transitions"]))


def _skip(method: str, settings: OfflineConfig) -> str:
    """The skip term of ``method``'s scorer: the Q-learners use ``settings.skip``; logits have none."""
    return settings.skip if method in ("fqi", "cql") else "none"
