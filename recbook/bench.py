"""Throughput benchmarks: ``python -m recbook.bench env``, ``python -m recbook.bench slates`` and
``python -m recbook.bench train``.

``env`` measures the scalar environment's steps per second and the batched environment's user-steps per second for
several batch sizes ``K``, stepping with uniformly random actions, and prints the speed-up over the scalar env.

``slates`` measures how the batched environment's cost per user-step grows with the catalogue: slates of 10 from
``N`` = 10, 100 and 1,000 items, the user choosing by the MNL model (:mod:`recbook.choice`), random slates drawn
before the clock starts (the policy's cost is not the environment's).

``train`` measures DQN training throughput — environment steps per second on one torch thread, gradient steps
included, evaluations excluded — of a preset (``item_shared_scratch`` by default) twice: with SB3's generic TD
update, which calls each network on whole observations (three feature computations per gradient step), and with
recbook's (``RecbookDQN._item_shared_q`` in :mod:`recbook.agents.recbook_dqn`: features cached per stored
transition, the scorer run only where the update needs it). Both runs use the same seed and budget; their learning
curves' last points are printed too (the two paths compute the same values, up to float rounding).

Wall-clock figures depend on the machine and on what else it is doing; compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from recbook import seeds
from recbook._checks import check_int
from recbook.agents.config import RunConfig
from recbook.config import EnvConfig
from recbook.env import RecommendationEnv
from recbook.vector import RecommendationVectorEnv

__all__ = ["benchmark_scalar", "benchmark_batched", "benchmark_env", "benchmark_slates", "benchmark_train", "main"]


def benchmark_scalar(config: EnvConfig, n_steps: int = 20_000, seed: int = 0) -> float:
    """Steps per second of :class:`~recbook.env.RecommendationEnv` (resets included) over ``n_steps`` steps."""
    env = RecommendationEnv.from_config(config)
    rng = seeds.generator(seed, seeds.TEST, "policy")
    actions = rng.integers(0, config.n_items, size=n_steps)
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, _, _ = env.step(int(action))
        if terminated:
            env.reset()
    return n_steps / (time.perf_counter() - start)


def benchmark_batched(config: EnvConfig, num_envs: int, n_user_steps: int = 2_000_000, seed: int = 0) -> float:
    """User-steps per second of :class:`~recbook.vector.RecommendationVectorEnv` with ``num_envs`` users."""
    env = RecommendationVectorEnv.from_config(config, num_envs)
    rng = seeds.generator(seed, seeds.TEST, "policy")
    n_calls = max(config.session_length, n_user_steps // num_envs)
    actions = rng.integers(0, config.n_items, size=(min(n_calls, 256), num_envs))
    env.reset(seed=seed)
    start = time.perf_counter()
    for i in range(n_calls):
        env.step(actions[i % len(actions)])
    return n_calls * num_envs / (time.perf_counter() - start)


def benchmark_env(
    config: EnvConfig | None = None,
    batch_sizes: Sequence[int] = (1, 64, 1024),
    scalar_steps: int = 20_000,
    batched_user_steps: int = 2_000_000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per environment: ``env``, ``num_envs``, ``steps_per_s`` (user-steps/s) and ``speedup`` vs scalar."""
    config = config or EnvConfig(observation="feedback")
    scalar = benchmark_scalar(config, scalar_steps, seed)
    rows = [{"env": "scalar", "num_envs": 1, "steps_per_s": scalar}]
    for k in batch_sizes:
        rate = benchmark_batched(config, int(k), batched_user_steps, seed)
        rows.append({"env": "batched", "num_envs": int(k), "steps_per_s": rate})
    table = pd.DataFrame(rows)
    table["speedup"] = table["steps_per_s"] / scalar
    return table


def slate_config(n_items: int, slate_size: int = 10) -> EnvConfig:
    """The scale benchmark's environment: slates of ``min(slate_size, n_items)`` from ``n_items`` items, MNL
    choice with a no-click mass of 1, a reward per choice, users who leave, uniform qualities, feedback observation."""
    return EnvConfig(
        n_items=n_items, slate_size=min(slate_size, n_items), no_click_mass=1.0, feedback="choice",
        observation="feedback", leave_rate=0.3, leave_no_click=0.1, item_quality="uniform",
    )


def benchmark_slates(
    n_items: Sequence[int] = (10, 100, 1000),
    slate_size: int = 10,
    num_envs: int = 1024,
    n_user_steps: int = 400_000,
    seed: int = 0,
    repeats: int = 3,
) -> pd.DataFrame:
    """One row per catalogue size: ``n_items``, ``slate_size``, ``steps_per_s`` (user-steps/s, the best of
    ``repeats`` runs), ``us_per_step`` (microseconds per user-step), ``vs_linear``: the cost per user-step divided by
    what growth linear in ``N`` from the second row would give (``1`` is linear, below 1 better than linear)."""
    repeats = check_int(repeats, "repeats", low=1)
    rows = []
    for n in n_items:
        config = slate_config(check_int(n, "n_items", low=1), slate_size)
        env = RecommendationVectorEnv.from_config(config, num_envs)
        rng = seeds.generator(seed, seeds.TEST, "policy")
        n_calls = max(config.session_length, n_user_steps // num_envs)
        batches = min(n_calls, 32)
        slates = rng.random((batches, num_envs, config.n_items)).argsort(axis=-1)[..., : config.slate_size]
        best = 0.0
        for _ in range(repeats):
            env.reset(seed=seed)
            start = time.perf_counter()
            for i in range(n_calls):
                env.step(slates[i % batches])
            best = max(best, n_calls * num_envs / (time.perf_counter() - start))
        rows.append({"n_items": config.n_items, "slate_size": config.slate_size, "steps_per_s": best})
    table = pd.DataFrame(rows)
    table["us_per_step"] = 1e6 / table["steps_per_s"]
    base = table.iloc[min(1, len(table) - 1)]
    # Ratio of ratios, so the base row is exactly 1 (x / x), not 1 up to rounding.
    table["vs_linear"] = (table["us_per_step"] / base["us_per_step"]) * (base["n_items"] / table["n_items"])
    return table


def benchmark_train(
    preset: str = "item_shared_scratch",
    total_timesteps: int = 30_000,
    seed: int = 0,
    eval_users: int = 500,
    repeats: int = 1,
) -> pd.DataFrame:
    """One row per TD-update path (``generic``, ``recbook``), same preset, seed and budget.

    With ``repeats`` > 1 the two paths alternate ``repeats`` times and each row holds the medians, so a burst of
    load from elsewhere on the machine cannot favour one path.

    Columns: ``steps_per_s``, env steps per second of the training phase — from the first gradient step
    (``learning_starts``) to the end, learning-curve evaluations excluded, one torch thread; ``learn_s``, the
    wall-clock seconds of the whole ``learn`` call (warm-up and evaluations included); ``pct_oracle`` at the end
    (``eval_users`` VALIDATION users); and ``speedup``, the ratio of ``steps_per_s`` to ``generic``'s.
    """
    # Imported here: ``python -m recbook.bench env`` needs no torch.
    from recbook.agents.recbook_dqn import RecbookDQN
    from recbook.agents.train import train_dqn

    run = RunConfig.from_yaml(preset)
    start = run.dqn.learning_starts
    if total_timesteps <= start:
        raise ValueError(f"total_timesteps must exceed the preset's learning_starts ({start}), got {total_timesteps}")
    training = replace(
        run.training, total_timesteps=total_timesteps, seed=seed, eval_freq=start, eval_users=eval_users, n_threads=1
    )
    repeats = check_int(repeats, "repeats", low=1)
    rows = []
    for path, shared in (("generic", False), ("recbook", True)) * repeats:
        RecbookDQN.shared_features = shared
        try:
            began = time.perf_counter()
            agent = train_dqn(preset=preset, training=training)
            learn = time.perf_counter() - began
        finally:
            RecbookDQN.shared_features = True
        curve = agent.learning_curve.set_index("env_steps")
        first = curve.index[curve.index >= start][0]
        steps = curve.index[-1] - first
        seconds = curve["train_time_s"].iloc[-1] - curve.loc[first, "train_time_s"]
        rows.append(
            {
                "path": path,
                "steps_per_s": steps / seconds,
                "learn_s": learn,
                "pct_oracle": float(curve["pct_oracle"].iloc[-1]),
            }
        )
    table = pd.DataFrame(rows).groupby("path", sort=False).median().reset_index()
    table["speedup"] = table["steps_per_s"] / table["steps_per_s"].iloc[0]
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recbook.bench", description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["env", "slates", "train"], help="what to benchmark")
    parser.add_argument(
        "--preset", default="item_shared_scratch", help="train: the preset (default item_shared_scratch)"
    )
    parser.add_argument("--timesteps", type=int, default=30_000, help="train: env steps per run (default 30000)")
    parser.add_argument("--repeats", type=int, default=1, help="train: alternate the two paths this many times")
    parser.add_argument("--observation", default="feedback", help="observation mode (default: feedback)")
    parser.add_argument("--scalar-steps", type=int, default=20_000)
    parser.add_argument("--batched-user-steps", type=int, default=2_000_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--output", default=None, help="slates: also write the table to this CSV file")
    args = parser.parse_args(argv)
    if args.target == "train":
        table = benchmark_train(args.preset, args.timesteps, repeats=args.repeats)
        print(f"DQN training throughput, preset {args.preset}, {args.timesteps:,} env steps, one torch thread"
              + (f", median of {args.repeats} alternating runs" if args.repeats > 1 else ""))
        print(table.to_string(index=False, formatters={"learn_s": "{:.1f}".format, "steps_per_s": "{:,.0f}".format,
                                                        "pct_oracle": "{:.2f}".format, "speedup": "{:.2f}x".format}))
        return 0
    if args.target == "slates":
        table = benchmark_slates()
        print("batched env cost per user-step against the catalogue size (slates of 10, MNL choice, 1,024 users)")
        print(table.to_string(index=False, formatters={"steps_per_s": "{:,.0f}".format,
                                                        "us_per_step": "{:.2f}".format, "vs_linear": "{:.2f}".format}))
        if args.output:
            table.to_csv(args.output, index=False, float_format="%.4g")
        return 0
    config = EnvConfig(observation=args.observation)
    table = benchmark_env(config, args.batch_sizes, args.scalar_steps, args.batched_user_steps)
    print(
        f"recbook env throughput ({config.n_items} items, {config.session_length} steps, "
        f"observation={config.observation})"
    )
    print(table.to_string(index=False, formatters={"steps_per_s": "{:,.0f}".format, "speedup": "{:.1f}x".format}))
    biggest = table.iloc[-1]
    print(f"batched K={int(biggest.num_envs)} / scalar = {biggest.speedup:.1f}x (target >= 30x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
