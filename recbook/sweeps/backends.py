"""Where a sweep's runs execute: joblib worker processes on this machine, or Ray tasks (a local instance or a
cluster). Each backend calls ``worker(*task)`` for every task and yields the payloads as they finish.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["run_local", "run_ray"]

def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast (within ``timeout`` seconds) when nothing listens at ``HOST:PORT``."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--address must be HOST:PORT (e.g. 10.0.0.5:6379), got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ConnectionError(
            f"--address {address}: no Ray cluster reachable within {timeout:.0f} s ({exc}). Start one with "
            "'ray start --head --port PORT' on the head machine, or drop --address for a local Ray instance."
        ) from exc


def run_local(
    worker: Callable[..., dict[str, Any]], tasks: list[tuple[Any, ...]], jobs: int
) -> Iterator[dict[str, Any]]:
    """``worker(*task)`` for each task: in this process (``jobs == 1``) or in ``jobs`` loky processes."""
    from joblib import Parallel, delayed

    if jobs == 1:
        for task in tasks:
            yield worker(*task)
        return
    parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(worker)(*task) for task in tasks)


def run_ray(
    worker: Callable[..., dict[str, Any]], tasks: list[tuple[Any, ...]], jobs: int | None, address: str | None
) -> Iterator[dict[str, Any]]:
    """``worker(*task)`` for each task as one Ray task (one CPU), at most ``jobs`` at once."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("backend 'ray' needs Ray: pip install -e '.[ray]'") from exc
    started = not ray.is_initialized()
    if started:
        if address is not None:
            _check_reachable(address)
            try:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            except (ConnectionError, ray.exceptions.AuthenticationError) as exc:
                # Without RAY_AUTH_MODE=token the driver sends no token and the cluster refuses it; with the
                # mode but no token Ray stops before connecting; with another token the cluster refuses it.
                hint = (
                    "a cluster with token authentication wants RAY_AUTH_MODE=token and its token: copy the head's "
                    "token file here and set RAY_AUTH_TOKEN_PATH to it (or put it in ~/.ray/auth_token)"
                    if os.environ.get("RAY_AUTH_MODE") != "token"
                    else "is the token (RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token or RAY_AUTH_TOKEN) the cluster's?"
                )
                raise ConnectionError(f"--address {address}: Ray refused the connection ({exc}); {hint}") from exc
        else:
            # address="local": a new instance even if a cluster runs on this machine (plain init would join it).
            ray.init(address="local", num_cpus=jobs or os.cpu_count(), include_dashboard=False,
                     logging_level="ERROR", log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(worker)
        limit = jobs or len(tasks)
        waiting = list(tasks)
        running: list[Any] = []
        while waiting or running:
            while waiting and len(running) < limit:
                running.append(remote.remote(*waiting.pop(0)))
            done, running = ray.wait(running, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()
