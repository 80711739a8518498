"""SlateQ (Ie et al. 2019) on the item-shared network, and the naive slate DQN it is compared with.

SlateQ decomposes a slate's long-term value through the user's choice:

    ``Q(s, S) = sum_{i in S} P(i | s, S) Q(s, i) + P(nothing | s, S) Q(s, none)``,

so it learns one value per *item* (what the user taking ``i`` is worth, this step's reward included) instead of one
per slate, and finds the best slate by maximising that sum. Here:

* the choice model is **not** given: a head of the network learns each item's log-score ``l_i`` from the observed
  choices by maximum likelihood, assuming what the environment's documentation states — the multinomial-logit form
  ``P(i | S) = exp(l_i) / (sum_{j in S} exp(l_j) + nu)`` with the known no-click mass ``nu = no_click_mass``
  (:func:`recbook.slates.slateq_network.mnl_log_likelihood`). The preferences are never seen;
* ``Q(s, i)`` is learned by TD on the item the user actually took (or ``Q(s, none)`` when nothing was):
  ``Q(s, i) <- r + gamma * max_{S'} [sum_j P(j | s', S') Q(s', j) + P(nothing | s', S') Q(s', none)]``, with ``P``
  from the learned choice head, the target network's values and (``double_q``) the slate ``S'`` picked by the
  online network;
* the maximisation over slates is :func:`recbook.slates.search.best_slates`: with ``"mnl"`` its ``"fractional"``
  method (Dinkelbach) is **exact** for any ``N`` at ``O(N)`` per iteration, so no greedy approximation is needed at
  ``N = 1,000``; ``search="enumerate"`` scores all ``C(N, k)`` slates (small ``N`` only). Both give the same slates;
* exploration is epsilon-greedy over slates (a uniformly random slate with probability epsilon), with replay and a
  target network, on TRAIN users of the batched environment with sampled exits
  (:func:`recbook.slates.slateq_train.train_slate_agent`).

The naive alternative (``method="flat-dqn"``) is a DQN whose actions are the ``C(N, k)`` slates themselves (120 for
``C(10, 3)``): an MLP from the same observation to one Q-value per slate, trained by the same loop, budget and
exploration. It must learn each slate's value separately, from the transitions that showed that slate.

:class:`SlateAgent` is the trained policy: ``predict`` returns ``(K, k)`` slates, ``save`` writes one zip
(metadata, tensors, history; no pickles) and ``recbook.load_agent`` reads it back (:func:`load_slate_agent`).
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import asdict, dataclass, fields
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch as th
from numpy.typing import NDArray

from recbook import __version__
from recbook._checks import check_choice, check_int, check_probability, check_real
from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.slates.search import METHODS as SEARCH_METHODS
from recbook.slates.search import best_slates, candidate_slates
from recbook.slates.slateq_network import FlatSlateQNetwork, SlateQNetwork

__all__ = ["ALGORITHM", "INPUTS", "SLATE_METHODS", "SlateAgent", "SlateQConfig", "load_slate_agent"]

#: The ``algorithm`` entry of a saved slate agent (``recbook.load_agent`` dispatches on it).
ALGORITHM = "slateq"
#: ``"slateq"`` (item-wise values through a learned choice model) or ``"flat-dqn"`` (one Q-value per slate).
SLATE_METHODS: tuple[str, ...] = ("slateq", "flat-dqn")
#: What each method reads (stored in every model's metadata).
INPUTS: dict[str, str] = {
    "slateq": (
        "the feedback observation only: per item counts/T, revealed, value/v_max, quality, shown/T, last-choice flag, "
        "counts/shown and the decay multiplier m(counts+1), plus the steps remaining and pooled means; assumed known: "
        "the MNL form of the choice and the no-click mass nu (config.no_click_mass), the decay model's form m. "
        "Learned from the observed choices and exits: the choice scores and (learned_exits) the leave probabilities. "
        "Not given: preferences, the Dirichlet prior, leave_rate, leave_no_click"
    ),
    "flat-dqn": "the feedback observation vector only (flattened), one output per slate of C(N, k)",
}
_METADATA = "recbook.json"
_FORMAT = 1


@dataclass(frozen=True)
class SlateQConfig:
    """Hyperparameters of :func:`recbook.slates.slateq_train.train_slate_agent` (counts are user-steps)."""

    method: str = "slateq"
    """``"slateq"`` or ``"flat-dqn"`` (:data:`SLATE_METHODS`)."""
    total_timesteps: int = 100_000
    """Transitions (one user, one step) collected in total."""
    num_envs: int = 32
    """Users stepped together in the batched environment."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden sizes of each head's MLP (SlateQ) or of the flat MLP (flat DQN)."""
    learning_rate: float = 1e-3
    """Adam step size (constant)."""
    buffer_size: int = 50_000
    """Replay capacity in transitions."""
    learning_starts: int = 2_000
    """Transitions collected (exploring) before the first gradient step."""
    batch_size: int = 256
    """Transitions per gradient step."""
    gradient_steps: int = 2
    """Gradient steps per batched environment step (``num_envs`` transitions)."""
    gamma: float = 1.0
    """The discount factor, 1 since sessions are finite and the observation shows the steps remaining."""
    target_update_interval: int = 500
    """Gradient steps between copies of the online network into the target network."""
    exploration_fraction: float = 0.3
    """Fraction of ``total_timesteps`` over which epsilon decays linearly."""
    exploration_initial_eps: float = 1.0
    """Probability of a uniformly random slate at the start."""
    exploration_final_eps: float = 0.05
    """... and at the end of the decay."""
    choice_weight: float = 1.0
    """Weight of the choice head's negative log-likelihood next to the TD loss (SlateQ only)."""
    learned_exits: bool = True
    """For SlateQ only, learn each item's leave probability (and nothing's) from the observed exits, and take the
    target's exit in expectation under it, ``r + gamma (1 - P(leave | s, i)) V(s')``, instead of the sampled exit
    ``r + gamma (1 - left) V(s')`` (a lower-variance target; ``V`` of the post-choice state ``s'``)."""
    double_q: bool = True
    """Pick the next slate with the online network and value it with the target network."""
    max_grad_norm: float = 10.0
    """Gradient-norm clip."""
    search: str = "auto"
    """Slate search of :func:`recbook.slates.search.best_slates` (``"auto"``: exact Dinkelbach for MNL)."""

    def __post_init__(self) -> None:
        check_choice(self.method, "method", SLATE_METHODS)
        for name in ("total_timesteps", "num_envs", "buffer_size", "batch_size", "gradient_steps",
                     "target_update_interval"):
            check_int(getattr(self, name), name, 1)
        check_int(self.learning_starts, "learning_starts", 0)
        arch = tuple(self.net_arch)
        if not arch or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in arch):
            raise ValueError(f"net_arch must be a non-empty sequence of positive ints, got {self.net_arch!r}")
        object.__setattr__(self, "net_arch", tuple(int(h) for h in arch))
        check_real(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        check_probability(self.gamma, "gamma")
        check_probability(self.exploration_fraction, "exploration_fraction")
        check_probability(self.exploration_initial_eps, "exploration_initial_eps")
        check_probability(self.exploration_final_eps, "exploration_final_eps")
        check_real(self.choice_weight, "choice_weight", low=0.0)
        check_real(self.max_grad_norm, "max_grad_norm", low=0.0, low_open=True)
        check_choice(self.search, "search", SEARCH_METHODS)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["net_arch"] = list(self.net_arch)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SlateQConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown SlateQConfig field(s): {sorted(unknown)}")
        return cls(**{**data, "net_arch": tuple(data.get("net_arch", (64, 64)))})


def check_slate_config(config: EnvConfig) -> EnvConfig:
    """``config`` if SlateQ can act in it (an MNL slate configuration, feedback observation), else ``ValueError``."""
    if not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig, got {type(config).__name__}")
    if config.choice_model != "mnl":
        raise ValueError(f"choice_model must be 'mnl' (the choice head is a multinomial logit), got "
                         f"{config.choice_model!r}")
    if config.slate_size < 2:
        raise ValueError(f"slate_size must be >= 2 for a slate agent, got {config.slate_size}")
    if config.observation != "feedback":
        raise ValueError(f"observation must be 'feedback' (what the agent reads), got {config.observation!r}")
    return config


def build_network(config: EnvConfig, settings: SlateQConfig) -> th.nn.Module:
    """The untrained network of ``settings.method`` for ``config``."""
    if settings.method == "slateq":
        return SlateQNetwork(config, settings.net_arch)
    return FlatSlateQNetwork(ObservationLayout(config).size, math.comb(config.n_items, config.slate_size),
                             settings.net_arch)


class SlateAgent:
    """A trained slate agent: SlateQ or the flat slate DQN (module docstring). Greedy ``predict``.

    Attributes:
        network: the :class:`~recbook.slates.slateq_network.SlateQNetwork` or
            :class:`~recbook.slates.slateq_network.FlatSlateQNetwork`.
        config: the environment it was trained for (feedback observation). settings: its :class:`SlateQConfig`.
        seed: the training seed. history: one row per logged point of training. timing: ``wall_seconds``,
        ``cpu_seconds`` and ``timesteps`` of the training run.
    """

    observation = "feedback"

    def __init__(self, network: th.nn.Module, config: EnvConfig, settings: SlateQConfig, seed: int,
                 history: pd.DataFrame | None = None, timing: dict[str, float] | None = None) -> None:
        self.config = check_slate_config(config)
        self.network = network.eval()
        self.settings, self.seed = settings, int(seed)
        self.history = history if history is not None else pd.DataFrame()
        self.timing = dict(timing or {})
        self.layout = ObservationLayout(config)
        self._candidates = (candidate_slates(config.n_items, config.slate_size, False)
                            if settings.method == "flat-dqn" else None)

    @property
    def method(self) -> str:
        return self.settings.method

    @property
    def name(self) -> str:
        return f"{'slateq' if self.method == 'slateq' else 'slate-dqn'}-seed{self.seed}"

    def __repr__(self) -> str:
        return f"SlateAgent(method={self.method!r}, n_items={self.config.n_items}, seed={self.seed})"

    def reset(self, seed: int | None = None) -> None:
        """Nothing to re-seed: ``predict`` is greedy."""

    def _batch(self, observation: Any) -> NDArray[np.float32]:
        obs = np.asarray(observation, dtype=np.float32)
        size = self.layout.size
        if obs.ndim not in (1, 2) or obs.shape[-1] != size:
            raise ValueError(f"observation must have shape ({size},) or (K, {size}), got {obs.shape}")
        return np.atleast_2d(obs)

    def values(self, observation: Any) -> tuple[NDArray[np.float64], ...]:
        """SlateQ: ``(scores, q, q_none)`` — the learned choice scores ``exp(l_i)`` ``(K, N)``, the item values
        ``Q(s, i)`` ``(K, N)`` and ``Q(s, none)`` ``(K,)``. Flat DQN: ``(q_slates,)``, ``(K, C(N, k))``."""
        obs = th.as_tensor(self._batch(observation))
        with th.no_grad():
            out = self.network(obs)
        if self.method == "flat-dqn":
            return (out.double().numpy(),)
        logits, q, q_none = (x.double().numpy() for x in out)
        return np.exp(np.clip(logits, -30.0, 30.0)), q, q_none

    def greedy_slates(self, obs: NDArray[np.float32]) -> NDArray[np.int64]:
        """The best slate ``(K, k)`` of each observation ``(K, d)`` under the agent's values."""
        if self.method == "flat-dqn":
            assert self._candidates is not None
            return self._candidates[self.values(obs)[0].argmax(axis=1)]
        scores, q, q_none = self.values(obs)
        return best_slates(self.config, scores, q, q_none, self.settings.search)[0]

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[NDArray[np.int64], Any]:
        """The greedy slate ``(K, k)`` for observations ``(K, d)`` (``(k,)`` for one ``(d,)``); SB3's signature.

        The policy is greedy whatever ``deterministic`` says (exploration belongs to training).
        """
        slates = self.greedy_slates(self._batch(observation))
        return (slates[0] if np.ndim(observation) == 1 else slates), state

    def metadata(self) -> dict[str, Any]:
        return {"algorithm": ALGORITHM, "format": _FORMAT, "recbook_version": __version__, "method": self.method,
                "seed": self.seed, "env": self.config.to_dict(), "settings": self.settings.to_dict(),
                "inputs": INPUTS[self.method], "timing": self.timing}

    def save(self, path: str | Path) -> Path:
        """One zip: ``recbook.json`` (environment, method, settings, inputs, seed, timing), the network's tensors
        (``network.pt``, no pickles) and ``history.csv``."""
        path = Path(path)
        if path.suffix != ".zip":
            path = path.with_name(path.name + ".zip")
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_METADATA, json.dumps(self.metadata(), indent=1))
            th.save(self.network.state_dict(), buffer := BytesIO())
            archive.writestr("network.pt", buffer.getvalue())
            archive.writestr("history.csv", self.history.to_csv(index=False))
        return path


def load_slate_agent(path: str | Path) -> SlateAgent:
    """Load a :class:`SlateAgent` saved by :meth:`SlateAgent.save` (tensors only, no pickles)."""
    with zipfile.ZipFile(Path(path)) as archive:
        meta = json.loads(archive.read(_METADATA))
        if meta.get("algorithm") != ALGORITHM:
            raise ValueError(f"{path} is not a slate agent (algorithm {meta.get('algorithm')!r})")
        settings = SlateQConfig.from_dict(meta["settings"])
        config = EnvConfig.from_dict(meta["env"])
        network = build_network(config, settings)
        network.load_state_dict(th.load(BytesIO(archive.read("network.pt")), weights_only=True))
        text = archive.read("history.csv").decode()
        history = pd.read_csv(BytesIO(archive.read("history.csv"))) if text.strip() else pd.DataFrame()
    return SlateAgent(network, config, settings, int(meta["seed"]), history, meta.get("timing"))
