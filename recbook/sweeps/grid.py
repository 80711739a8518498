"""The grid of a sweep: ``--set SECTION.FIELD=V1,V2`` values read and type-checked against the run
configuration's fields, their product with the seeds (one :class:`Run` each), and each run's
:class:`~recbook.agents.config.RunConfig`.

Everything here is checked before a run starts, so a value the environment or the DQN refuses fails at once.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from itertools import product
from pathlib import Path
from typing import Any

import yaml

from recbook import seeds as seed_streams
from recbook._checks import check_int
from recbook.agents.config import DQNConfig, RunConfig, TrainingConfig
from recbook.config import EnvConfig

__all__ = ["SECTIONS", "Run", "expand", "parse_set", "run_config"]

#: The sections of a run configuration, and of a ``--set`` key.
SECTIONS = ("env", "dqn", "training")
#: Set with their own arguments, not with ``--set``.
_RESERVED = {"training.seed": "--seeds", "training.total_timesteps": "--total-timesteps"}


@dataclass(frozen=True)
class Run:
    """One training run of a sweep: ``overrides`` (``(("dqn.n_steps", 3), ...)``, in ``--set`` order) and a seed."""

    overrides: tuple[tuple[str, Any], ...]
    seed: int

    @property
    def name(self) -> str:
        """Directory name, e.g. ``dqn.n_steps=3_dqn.learning_rate=0.001_seed=0``."""
        parts = [f"{key}={_format(value)}" for key, value in self.overrides] + [f"seed={self.seed}"]
        return re.sub(r"[^A-Za-z0-9_.=+-]", "-", "_".join(parts))


def _format(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(_format(v) for v in value)
    return str(value)


def _split_values(text: str) -> list[str]:
    """Split ``"1,3,[64,64]"`` at the commas outside brackets."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[(":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts]


def _field_types() -> dict[str, dict[str, Any]]:
    return {
        section: {f.name: typing.get_type_hints(cls)[f.name] for f in fields(cls)}
        for section, cls in zip(SECTIONS, (EnvConfig, DQNConfig, TrainingConfig))
    }


def _coerce(key: str, value: Any, kind: Any) -> Any:
    """``value`` as a ``kind`` field, or ``ValueError`` naming ``key``; composite types are left to the config's
    own validation."""
    wrong = ValueError(f"--set {key}: {value!r} is not a valid {getattr(kind, '__name__', kind)}")
    if kind is bool:
        if not isinstance(value, bool):
            raise wrong
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
    elif kind is float:
        if isinstance(value, str):  # YAML 1.1 reads 3e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise wrong from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
        return float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise wrong
    elif typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise wrong
        return [_coerce(key, v, item) for v in value]
    return value


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``"dqn.n_steps=1,3,10"`` -> ``("dqn.n_steps", [1, 3, 10])``, each value checked against the field's type.

    Values are read as YAML scalars (``3e-4`` is a float, ``true`` a bool, ``[64,64]`` a list). Raises
    ``ValueError`` naming the key for an unknown section or field, a reserved key (``training.seed``,
    ``training.total_timesteps``) or a value of the wrong type.
    """
    if "=" not in text:
        raise ValueError(f"--set {text!r}: expected SECTION.FIELD=VALUE[,VALUE...], e.g. dqn.n_steps=1,3,10")
    key, _, raw = text.partition("=")
    key = key.strip()
    section, _, name = key.partition(".")
    types = _field_types()
    if section not in types or not name:
        raise ValueError(f"--set {key}: the key must be SECTION.FIELD with SECTION one of {list(SECTIONS)}")
    if name not in types[section]:
        raise ValueError(f"--set {key}: {section} has no field {name!r}; fields: {sorted(types[section])}")
    if key in _RESERVED:
        raise ValueError(f"--set {key}: use {_RESERVED[key]} instead")
    tokens = _split_values(raw)
    if not raw.strip() or any(token == "" for token in tokens):
        raise ValueError(f"--set {key}: empty value in {raw!r}")
    values = []
    for token in tokens:
        try:
            value = yaml.safe_load(token)
        except yaml.YAMLError as exc:
            raise ValueError(f"--set {key}: cannot read {token!r}: {exc}") from exc
        values.append(_coerce(key, value, types[section][name]))
    return key, values


def run_config(
    base: dict[str, Any], overrides: Iterable[tuple[str, Any]], seed: int, total: int | None
) -> RunConfig:
    """The :class:`~recbook.agents.config.RunConfig` of one run: ``base`` (``RunConfig.to_dict()``) with the overrides,
    seed and budget."""
    data = {section: dict(base.get(section) or {}) for section in SECTIONS}
    for key, value in overrides:
        section, _, name = key.partition(".")
        data[section][name] = value
    data["training"]["seed"] = int(seed)
    if total is not None:
        data["training"]["total_timesteps"] = int(total)
    return RunConfig.from_dict(data)


def expand(
    config: str | Path | Mapping[str, Any],
    seeds: Sequence[int],
    overrides: Mapping[str, Sequence[Any]] | Sequence[str] | None = None,
    total_timesteps: int | None = None,
) -> tuple[list[Run], dict[str, Any]]:
    """All runs of a sweep and the base configuration (``RunConfig.to_dict()``), validated before anything runs.

    Args:
        config: a preset name, a YAML file, or a ``RunConfig``-style dict.
        seeds: training seeds (distinct non-negative ints).
        overrides: ``{"dqn.n_steps": [1, 3, 10]}`` or ``["dqn.n_steps=1,3,10", ...]`` (``--set`` strings).
        total_timesteps: overrides the preset's training budget.

    Raises:
        ValueError: naming the offending key or value; every combination is built into a ``RunConfig`` here, so
            a value the environment or the DQN refuses fails before the first run starts.
    """
    base = RunConfig.from_dict(dict(config)) if isinstance(config, Mapping) else RunConfig.from_yaml(config)
    if isinstance(overrides, Mapping):
        grid = []
        for key, values in overrides.items():
            text = ",".join(yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()
                            for v in values)
            grid.append(parse_set(f"{key}={text}"))
    else:
        grid = [parse_set(text) for text in (overrides or [])]
    keys = [key for key, _ in grid]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise ValueError(f"--set: key(s) given more than once: {duplicated}")
    seeds = [seed_streams.validate_seed(s, "seeds") for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one; got {list(seeds)}")
    if total_timesteps is not None:
        check_int(total_timesteps, "total_timesteps", low=1)
    runs = []
    for values in product(*(values for _, values in grid)):
        overrides_ = tuple(zip(keys, values))
        for seed in seeds:
            run = Run(overrides_, seed)
            try:
                run_config(base.to_dict(), overrides_, seed, total_timesteps)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"--set: run {run.name} is not a valid configuration: {exc}") from exc
            runs.append(run)
    return runs, base.to_dict()
