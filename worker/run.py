"""Assemble and run the worker: workflows, activities, limits, graceful shutdown.

SIGTERM (Kubernetes stopping the pod) or SIGINT calls `Worker.shutdown()`: polling stops, running
activities are told through `activity.wait_for_worker_shutdown()` (the heartbeating helpers send one last
heartbeat, so a clone's progress is recorded), and they get `graceful_shutdown_seconds` to finish before
they are cancelled. Keep that below the pod's terminationGracePeriodSeconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from temporalio.client import Client
from temporalio.worker import Worker

from workflows import TASK_QUEUE
from workflows.clusterset import ClusterSetWorkflow
from workflows.operation import DryRunWorkflow, OperationWorkflow

log = logging.getLogger(__name__)

KubeMode = Literal["auto", "on", "off"]


class WorkerConfigError(RuntimeError):
    """The worker cannot start with this configuration (the message says what to change)."""


@dataclass(frozen=True)
class WorkerOptions:
    task_queue: str = TASK_QUEUE
    max_concurrent_activities: int = 200
    max_concurrent_workflow_tasks: int = 100
    graceful_shutdown_seconds: float = 30.0
    progress_signal_seconds: float = 30.0
    max_cached_workflows: int = 1000  # 0 disables the sticky cache (every task replays)
    sticky_timeout_seconds: float = 10.0  # how long a task waits for this worker before any worker gets it


def build_worker(
    client: Client, *, activities: Sequence[Callable[..., Any]], options: WorkerOptions
) -> Worker:
    """The worker of both workflows and the given activities."""
    return Worker(
        client,
        task_queue=options.task_queue,
        workflows=[ClusterSetWorkflow, OperationWorkflow, DryRunWorkflow],
        activities=list(activities),
        max_concurrent_activities=options.max_concurrent_activities,
        max_concurrent_workflow_tasks=options.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=options.graceful_shutdown_seconds),
        max_cached_workflows=options.max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=options.sticky_timeout_seconds),
    )


def secret_reader(secrets_file: Path | None) -> Any:
    """Kubernetes Secrets in production; a JSON file {"namespace/name/key": "password"} for tests, demos."""
    from activities.credentials import KubernetesSecretReader, StaticSecretReader

    if secrets_file is None:
        return KubernetesSecretReader()
    try:
        raw = json.loads(secrets_file.read_text())
    except (OSError, ValueError) as exc:
        raise WorkerConfigError(
            f"--secrets-file {secrets_file}: cannot read JSON ({type(exc).__name__})"
        ) from None
    secrets: dict[tuple[str, str, str], str] = {}
    for ref, value in raw.items():
        parts = ref.split("/")
        if len(parts) != 3 or not isinstance(value, str):
            raise WorkerConfigError(
                f"--secrets-file {secrets_file}: keys are 'namespace/name/key', values strings"
            )
        secrets[(parts[0], parts[1], parts[2])] = value
    return StaticSecretReader(secrets=secrets)


def kube_activities(mode: KubeMode) -> list[Callable[..., Any]]:
    from activities.kube import DisconnectedKubeActivities, KubeActivities

    if mode == "off":
        return DisconnectedKubeActivities().activities()
    try:
        return KubeActivities.from_environment().activities()
    except Exception as exc:
        if mode == "on":
            raise WorkerConfigError(
                f"no Kubernetes configuration ({type(exc).__name__}); set KUBECONFIG or run in a pod"
            ) from None
        log.warning("no Kubernetes configuration found: CR status and events are only logged")
        return DisconnectedKubeActivities().activities()


async def run_worker(
    *,
    options: WorkerOptions,
    secrets_file: Path | None = None,
    kube: KubeMode = "auto",
    profile: str | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Connect, run until SIGTERM/SIGINT, shut down gracefully."""
    from activities.steps import OperationEnv
    from activities.temporal import OperationActivities
    from worker.client import connect, connect_config, describe

    env = OperationEnv.create(secrets=secret_reader(secrets_file))
    operations = OperationActivities(env=env, progress_signal_seconds=options.progress_signal_seconds)
    activities = [*operations.activities(), *kube_activities(kube)]
    log.info("connecting to %s", describe(connect_config(profile=profile)).describe())
    client = await connect(profile=profile)
    worker = build_worker(client, activities=activities, options=options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with worker:
            log.info("worker polling task queue %r", options.task_queue)
            if ready is not None:
                ready()
            await stop.wait()
            log.info("shutting down: activities get %.0fs to finish", options.graceful_shutdown_seconds)
    finally:
        await env.close()
