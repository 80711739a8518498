"""Hyperparameters of the offline learners (:func:`recbook.offline.learn`), one dataclass for all four methods."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from recbook._checks import check_choice, check_int, check_real
from recbook.agents.config import FEATURE_SETS, SKIPS

__all__ = ["METHODS", "OfflineConfig", "resolve"]

#: The learners of :func:`recbook.offline.learn`.
METHODS: tuple[str, ...] = ("bc", "reinforce", "fqi", "cql")


@dataclass(frozen=True)
class OfflineConfig:
    """What every offline learner reads; a field a method does not use is ignored by that method only.

    The defaults are the ones chapter 12 uses. They were set on VALIDATION users of the leave setting, never on the
    TEST users its tables report (see :mod:`recbook.experiments.offline`).
    """

    features: str = "posterior"
    """The item features (:data:`recbook.agents.config.FEATURE_SETS`). ``"posterior"`` reads nothing computed from
    ``leave_rate``: whatever a learner knows about leaving, it learned from the exits in the logs."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden sizes of the item-shared scorer (ReLU)."""
    skip: str = "reward"
    """What the Q-learners' scorer output is added to (:data:`recbook.agents.config.SKIPS`); with ``"reward"``
    the untrained Q-network is BayesGreedy. The policy learners' logits have no skip term."""
    gradient_steps: int = 20_000
    """Adam steps on minibatches of logged transitions."""
    batch_size: int = 512
    """Transitions per minibatch."""
    learning_rate: float = 1e-3
    """Adam step size at the start, decayed linearly to ``learning_rate_final``."""
    learning_rate_final: float = 1e-5
    """Adam step size at the last step."""
    max_grad_norm: float = 10.0
    """Gradient-norm clip of every step."""
    gamma: float = 1.0
    """The discount of the Q-learners' targets; sessions are finite, and 1 counts every reward as the book
    scores."""
    target_update_interval: int = 1_000
    """Gradient steps between copies of the Q-learners' online network into their target network, so one
    fitted Q iteration every ``target_update_interval`` steps."""
    double_q: bool = True
    """Whether the Q-learners take the next action from the online network's argmax and its value from the
    target network."""
    cql_alpha: float = 0.03
    """``"cql"`` only: weight of the conservative penalty ``logsumexp_a Q(s, a) - Q(s, a_logged)``. Chosen on
    VALIDATION users of the leave setting from 0.01 .. 1 (``python -m recbook.experiments.offline --only alpha``,
    ``data/offline/cql_alpha.csv``): the penalty's push up on the logged actions is bootstrapped through every
    later step, so with rewards of about 0.05 per step a large ``alpha`` inflates the Q-values."""
    weight_cap: float = 10.0
    """``"reinforce"`` only: the importance ratio ``pi(a|s) / mu(a|s)`` is capped at this value."""
    top_k: int = 1
    """``"reinforce"`` only: the slate size ``K`` of Chen et al.'s top-K correction ``K (1 - pi)^(K - 1)``; with
    one item per step (``K = 1``) the factor is 1."""
    ent_coef: float = 0.01
    """``"reinforce"`` only: weight of the policy's entropy in the objective."""

    def __post_init__(self) -> None:
        check_choice(self.features, "features", FEATURE_SETS)
        check_choice(self.skip, "skip", SKIPS)
        if self.features == "public" and self.skip != "none":
            raise ValueError(f"skip must be 'none' with features='public', got {self.skip!r}")
        if not self.net_arch or any(int(h) < 1 for h in self.net_arch):
            raise ValueError(f"net_arch must be a non-empty sequence of positive sizes, got {self.net_arch!r}")
        object.__setattr__(self, "net_arch", tuple(int(h) for h in self.net_arch))
        check_int(self.gradient_steps, "gradient_steps", low=1)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.target_update_interval, "target_update_interval", low=1)
        check_int(self.top_k, "top_k", low=1)
        check_real(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        check_real(self.learning_rate_final, "learning_rate_final", low=0.0, low_open=True)
        check_real(self.max_grad_norm, "max_grad_norm", low=0.0, low_open=True)
        check_real(self.gamma, "gamma", low=0.0, high=1.0)
        check_real(self.cql_alpha, "cql_alpha", low=0.0)
        check_real(self.weight_cap, "weight_cap", low=1.0)
        check_real(self.ent_coef, "ent_coef", low=0.0)
        if not isinstance(self.double_q, bool):
            raise ValueError(f"double_q must be True or False, got {self.double_q!r}")


def resolve(config: OfflineConfig | None, options: dict[str, Any]) -> OfflineConfig:
    """``config`` (default ``OfflineConfig()``) with ``options`` overriding its fields; a ``ValueError`` names a
    ``config`` of another type or an unknown option."""
    settings = config if config is not None else OfflineConfig()
    if not isinstance(settings, OfflineConfig):
        raise ValueError(f"config must be an OfflineConfig, got {type(settings).__name__}")
    fields = {f.name for f in dataclasses.fields(OfflineConfig)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; OfflineConfig has {sorted(fields)}")
    return dataclasses.replace(settings, **options)
