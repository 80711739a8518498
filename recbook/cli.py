"""The ``recbook`` command line (also ``python -m recbook``).

Subcommands::

    recbook evaluate POLICY [POLICY ...] [--config FILE|PRESET] [env flags] [--n-users N] [--seed S] [--csv OUT]
    recbook compare POLICY [POLICY ...] [--model PATH ...] [--reference NAME] [same options]
    recbook train --config FILE [--output PATH] [--total-timesteps N] [--seed S]
    recbook sweep --config PRESET_OR_FILE --seeds 0 1 2 [--set dqn.n_steps=1,3,10 ...] [--total-timesteps N]
                  [--backend local|ray] [--address HOST:PORT] [--jobs N] --output DIR
    recbook bench env|train [bench options]

Policy names are those of :data:`~recbook.policies.registry.POLICIES` (``random``, ``round-robin``, ``explore-once``,
``epsilon-greedy``, ``ucb``, ``thompson``, ``bayes-greedy``, ``oracle``). The environment comes from ``--config``
(a YAML file whose ``env:`` section is an :meth:`~recbook.config.EnvConfig.to_dict`, or the name of a preset in
``recbook/configs/``), then the individual flags (``--n-items`` ...) override it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from recbook import sweeps
from recbook.agents.config import config_label, preset_names, read_config, resolve_config
from recbook.config import PARAMETERS, EnvConfig

__all__ = ["main", "load_env_config", "preset_names"]


class CLIError(ValueError):
    """A user error: printed as ``recbook: error: ...`` with exit status 2."""


def _read_yaml(source: str) -> tuple[dict[str, Any], str]:
    """The mapping in a YAML file or preset (the one resolver, :func:`recbook.agents.config.read_config`)."""
    try:
        path = resolve_config(source)
        return read_config(path), config_label(path)
    except (FileNotFoundError, ValueError) as exc:
        raise CLIError(f"--config: {exc}") from exc


def load_env_config(source: str | None = None, **overrides: Any) -> EnvConfig:
    """The environment from a YAML file or preset name (its ``env:`` section), with ``overrides`` applied.

    ``None`` overrides are ignored. Unknown or invalid parameters raise ``ValueError`` naming them.
    """
    data: dict[str, Any] = {}
    if source is not None:
        document, label = _read_yaml(source)
        env = document.get("env", {})
        if not isinstance(env, dict):
            raise CLIError(f"--config: the env: section of {label} must be a mapping")
        data.update(env)
    data.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return EnvConfig.from_dict(data)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc


def _alpha(text: str) -> float | tuple[float, ...]:
    parts = [part for part in text.replace(",", " ").split() if part]
    try:
        values = tuple(float(part) for part in parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"alpha must be a number or comma-separated numbers, got {text!r}") from exc
    if not values:
        raise argparse.ArgumentTypeError("alpha must not be empty")
    return values[0] if len(values) == 1 else values


def _item_quality(text: str) -> tuple[float, ...] | str:
    if text.strip() == "uniform":
        return "uniform"
    value = _alpha(text)
    return value if isinstance(value, tuple) else (value,)


#: How a flag's text becomes a value, for the fields whose type is not a plain int, float or str.
_PARSERS: dict[str, Any] = {"alpha": _alpha, "item_quality": _item_quality, "attention": _alpha}


#: Annotation (a string, under ``from __future__ import annotations``) to the flag's type.
_FLAG_TYPES: dict[str, Any] = {"int": int, "float": float, "str": str}


def _add_env_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`~recbook.config.EnvConfig` field, with the field's own help and default."""
    group = parser.add_argument_group("environment (override --config)")
    group.add_argument("--config", help="YAML file with an env: section, or a preset name from recbook/configs/")
    for spec in fields(EnvConfig):
        if not spec.init:
            continue
        kind = _PARSERS[spec.name] if spec.name in _PARSERS else _FLAG_TYPES.get(str(spec.type), str)
        help_text = spec.metadata["help"] + f" (default {spec.default})"
        if spec.name == "observation":
            help_text += "; baselines pick their own"
        group.add_argument(
            "--" + spec.name.replace("_", "-"),
            type=kind,
            choices=spec.metadata.get("choices"),
            help=help_text,
        )
    run = parser.add_argument_group("evaluation")
    run.add_argument("--n-users", type=int, default=2000, help="users (sessions) per policy (default 2000)")
    run.add_argument("--seed", type=int, default=0, help="seed of users, clicks and policies (default 0)")
    run.add_argument("--csv", type=Path, help="also write the per-user table to this CSV file")


def _env_config(args: argparse.Namespace) -> EnvConfig:
    overrides = {flag: getattr(args, flag) for flag in PARAMETERS}
    if args.config is None and overrides["observation"] is None:
        overrides["observation"] = "feedback"
    return load_env_config(args.config, **overrides)


def _policies(names: Sequence[str], config: EnvConfig, seed: int) -> dict[str, Any]:
    from recbook.policies import make_policy

    policies: dict[str, Any] = {}
    for name in names:
        try:
            policy = make_policy(name, config, seed=seed)
        except ValueError as exc:
            raise CLIError(f"policy: {exc}") from exc
        policies[policy.name] = policy
    return policies


def _models(paths: Sequence[Path], config: EnvConfig) -> dict[str, Any]:
    if not paths:
        return {}
    try:
        from recbook.agents import load_model
    except ImportError as exc:
        raise CLIError(f"--model needs recbook.agents.load_model, which is not available: {exc}") from exc
    models: dict[str, Any] = {}
    for path in paths:
        if not Path(path).exists():
            raise CLIError(f"--model: no such file {str(path)!r}")
        name = Path(path).stem
        if name in models:
            name = str(path)
        models[name] = load_model(path, config=config)
    return models


def _print_summary(table: pd.DataFrame, config: EnvConfig, n_users: int, seed: int) -> None:
    print(
        f"{n_users} users, seed {seed}: N={config.n_items}, T={config.session_length}, alpha={config.alpha}, "
        f"decay={config.decay}"
        + (f" ({config.decay_rate})" if config.decay == "geometric" else "")
        + f", feedback={config.feedback}"
        + (f", leave_rate={config.leave_rate}, item_quality={config.item_quality}" if config.leave_rate else "")
    )
    view = pd.DataFrame(
        {
            "return": table["return"].map("{:.4f}".format),
            "95% CI": [f"[{lo:.4f}, {hi:.4f}]" for lo, hi in zip(table["return_ci_low"], table["return_ci_high"])],
            "% oracle": table["pct_oracle"].map("{:.2f}".format),
            "95% CI ": [
                f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(table["pct_oracle_ci_low"], table["pct_oracle_ci_high"])
            ],
            "coverage": table["coverage"].map("{:.3f}".format),
            "entropy": table["entropy"].map("{:.3f}".format),
            "gini": table["gini"].map("{:.3f}".format),
            "repeat": table["repeat_rate"].map("{:.3f}".format),
        },
        index=table.index,
    )
    print(view.to_string())


def _run(args: argparse.Namespace, compare: bool) -> int:
    from recbook.evaluation import compare as compare_policies
    from recbook.evaluation import evaluate, summarize

    config = _env_config(args)
    policies = _policies(args.policies, config, args.seed)
    models = _models(args.model if compare else [], config)
    clash = sorted(set(policies) & set(models))
    if clash:
        raise CLIError(f"--model: model name(s) {clash} clash with policy names; rename the file")
    everything = {**policies, **models}
    if not everything:
        raise CLIError("policies: name at least one policy (or --model for compare)")
    reference = (args.reference or next(iter(everything))) if compare else None
    if reference is not None and reference not in everything:
        raise CLIError(f"--reference: {reference!r} is not among {list(everything)}")
    try:
        if reference is None:
            table = evaluate(everything, config, n_users=args.n_users, seed=args.seed)
        else:
            # The one comparison path: paired differences from the reference, on the same users.
            versus, table = compare_policies(
                everything, config, n_users=args.n_users, seed=args.seed, references=[reference], sessions=True
            )
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    _print_summary(summarize(table, seed=args.seed), config, args.n_users, args.seed)
    if reference is not None and len(everything) > 1:
        others = versus.drop(index=reference)
        column = f"diff_{reference}"
        rows = pd.DataFrame(
            {
                f"minus {reference}": others[column].map("{:+.4f}".format),
                "95% CI": [f"[{lo:+.4f}, {hi:+.4f}]" for lo, hi in zip(others[f"{column}_ci_low"],
                                                                      others[f"{column}_ci_high"])],
                "paired SE": others[f"{column}_paired_se"].map("{:.4f}".format),
                "unpaired SE": others[f"{column}_unpaired_se"].map("{:.4f}".format),
            },
            index=others.index.rename("policy"),
        )
        print(f"\npaired differences in expected return vs {reference} (same users, same clicks)")
        print(rows.to_string())
    if args.csv is not None:
        table.to_csv(args.csv, index=False)
        print(f"\nwrote {len(table)} rows to {args.csv}")
    return 0


def _train(args: argparse.Namespace) -> int:
    try:
        from recbook.agents import train_from_config
    except ImportError as exc:
        raise CLIError(f"train needs recbook.agents.train_from_config, which is not available: {exc}") from exc
    try:
        path = resolve_config(args.config)
    except FileNotFoundError as exc:
        raise CLIError(f"--config: {exc}") from exc
    saved = train_from_config(path, output=args.output, total_timesteps=args.total_timesteps, seed=args.seed)
    print(f"saved model to {saved}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    try:
        frame = sweeps.run_from_arguments(args)
    except (ValueError, ConnectionError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from exc
    sweeps.print_results(frame, args.output)
    return 0


def _bench(rest: Sequence[str]) -> int:
    from recbook import bench

    return int(bench.main(list(rest)) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recbook", description="Evaluate, compare and train recommendation policies.")
    commands = parser.add_subparsers(dest="command", required=True)

    evaluate = commands.add_parser("evaluate", help="evaluate policies on the same users; print a summary table")
    evaluate.add_argument("policies", nargs="+", metavar="POLICY", help="policy names, e.g. random bayes-greedy")
    _add_env_arguments(evaluate)

    compare = commands.add_parser("compare", help="summary plus paired differences against a reference policy")
    compare.add_argument("policies", nargs="*", metavar="POLICY", help="policy names")
    compare.add_argument(
        "--model", type=Path, action="append", default=[], help="saved model, DQN or PPO (repeatable)"
    )
    compare.add_argument("--reference", help="policy the others are compared with (default: the first)")
    _add_env_arguments(compare)

    train = commands.add_parser("train", help="train a DQN from a YAML config (recbook.agents)")
    train.add_argument("--config", required=True, help="training YAML file or preset name")
    train.add_argument("--output", type=Path, help="where to save the model")
    train.add_argument("--total-timesteps", type=int, help="override the config's training budget")
    train.add_argument("--seed", type=int, help="override the config's seed")

    sweep = commands.add_parser("sweep", help="train one DQN per (--set values, seed) locally or on Ray")
    sweeps.add_arguments(sweep)

    bench = commands.add_parser("bench", help="benchmarks (recbook.bench); e.g. 'recbook bench env'", add_help=False)
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to recbook.bench")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``recbook`` and ``python -m recbook``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "evaluate":
            return _run(args, compare=False)
        if args.command == "compare":
            return _run(args, compare=True)
        if args.command == "train":
            return _train(args)
        if args.command == "sweep":
            return _sweep(args)
        return _bench(args.rest)
    except CLIError as exc:
        parser.exit(2, f"recbook: error: {exc}\n")
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
