"""Every random number in recbook comes from here: named streams split by purpose.

A seed alone does not say what it is for. recbook derives each generator from three things:

* ``seed`` — the integer a user of the library passes (``evaluate(..., seed=0)``, ``train_dqn(..., seed=3)``);
* ``stream`` — *whose* users these are: :data:`TRAIN` (the users a DQN learns from), :data:`VALIDATION` (learning
  curves and every choice of hyperparameter or model) or :data:`TEST` (final tables and the book's headline
  comparisons, looked at only once a choice is made);
* ``purpose`` — *what* is drawn: ``"users"`` (preference vectors), ``"clicks"`` (Bernoulli feedback), ``"exits"``
  (users who leave), ``"policy"`` (a stochastic policy's coins), ``"catalog"`` (item qualities), ``"bootstrap"``
  (confidence-interval resampling), ``"training"`` (network initialisation and exploration).

``numpy.random.SeedSequence([seed, stream_id, purpose_id, *keys])`` mixes them, so the streams are independent:
TEST users with seed 0 share nothing with TRAIN users with seed 0, and a Thompson sampler seeded like the users
cannot replay the Gamma draws that made them. No other module calls ``np.random.default_rng(seed)`` on a seed it
was given.

>>> from recbook import seeds
>>> users = seeds.generator(0, seeds.TEST, "users").dirichlet([1.0] * 3)
>>> again = seeds.generator(0, seeds.TEST, "users").dirichlet([1.0] * 3)
>>> bool((users == again).all())
True
"""

from __future__ import annotations

import numbers
import zlib

import numpy as np

__all__ = [
    "PURPOSES",
    "STREAMS",
    "TEST",
    "TRAIN",
    "VALIDATION",
    "derive_seed",
    "generator",
    "seed_sequence",
    "validate_seed",
]

#: The users a DQN learns from.
TRAIN = "train"
#: The users of learning curves and of every choice of hyperparameter or model.
VALIDATION = "validation"
#: The users of final tables, looked at only once every choice is made.
TEST = "test"
#: The user populations in the order their ids are fixed (append only, since the ids are part of every stored
#: result).
STREAMS: tuple[str, ...] = (TRAIN, VALIDATION, TEST)
#: What a generator is used for (append only, for the same reason).
PURPOSES: tuple[str, ...] = ("users", "clicks", "exits", "policy", "catalog", "bootstrap", "training")


def validate_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` as a non-negative int, or raise ``ValueError`` naming the parameter."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")
    return int(seed)


def _key(value: int | str) -> int:
    """A stable integer for a key: ints pass through, strings are hashed (CRC-32, the same on every machine)."""
    if isinstance(value, str):
        return zlib.crc32(value.encode())
    return validate_seed(value, "key")


def seed_sequence(seed: int, stream: str | None, purpose: str, *keys: int | str) -> np.random.SeedSequence:
    """The :class:`numpy.random.SeedSequence` of ``(seed, stream, purpose, *keys)``.

    ``stream`` is ``None`` for what belongs to no user population (the item catalogue). ``keys`` split a purpose
    further, e.g. a policy's name so two policies in one comparison get different coins.
    """
    seed = validate_seed(seed)
    if stream is not None and stream not in STREAMS:
        raise ValueError(f"stream must be one of {STREAMS} (or None), got {stream!r}")
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}")
    stream_id = len(STREAMS) if stream is None else STREAMS.index(stream)
    return np.random.SeedSequence([seed, stream_id, PURPOSES.index(purpose), *map(_key, keys)])


def generator(seed: int, stream: str | None, purpose: str, *keys: int | str) -> np.random.Generator:
    """A fresh ``numpy.random.Generator`` for ``(seed, stream, purpose, *keys)``."""
    return np.random.default_rng(seed_sequence(seed, stream, purpose, *keys))


def derive_seed(seed: int, stream: str | None, purpose: str, *keys: int | str) -> int:
    """A 32-bit integer seed for ``(seed, stream, purpose, *keys)``, for APIs that take an int (torch, ``reset``)."""
    return int(seed_sequence(seed, stream, purpose, *keys).generate_state(1)[0])
