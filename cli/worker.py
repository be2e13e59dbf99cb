"""`csctl worker` and `csctl codec-server`: the long-running processes of the Temporal side.

Connection settings are Temporal's own environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE / --profile); the default is the local dev server.
A configuration mistake ends with one readable line and a hint, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import click

from workflows import TASK_QUEUE


def _fail(message: str, hint: str) -> click.ClickException:
    return click.ClickException(f"{message}\n  hint: {hint}")


@click.command()
@click.option("--task-queue", default=TASK_QUEUE, show_default=True, help="Task queue to poll.")
@click.option("--profile", envvar="TEMPORAL_PROFILE", help="Temporal envconfig profile.")
@click.option("--max-concurrent-activities", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--max-concurrent-workflow-tasks", type=click.IntRange(min=2), default=100, show_default=True)
@click.option(
    "--graceful-shutdown-seconds",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="On SIGTERM, how long running activities may finish (keep below terminationGracePeriodSeconds).",
)
@click.option(
    "--secrets-file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="CLUSTERSET_SECRETS_FILE",
    help='JSON {"namespace/name/key": "password"} instead of Kubernetes Secrets (tests, demos).',
)
@click.option(
    "--kube",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="Kubernetes writes (status, events): auto = when a kubeconfig or in-cluster config exists.",
)
@click.option(
    "--progress-signal-seconds",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="How often a CLONE's progress is sent to the ClusterSet workflow (and its CR status).",
)
@click.option(
    "--max-cached-workflows",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Sticky workflow cache size (0: no cache; every task replays).",
)
@click.option(
    "--sticky-timeout-seconds",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="How long a workflow task waits for the worker that cached the workflow (after a crash).",
)
@click.option("--log-level", default="INFO", show_default=True)
def worker(
    task_queue: str,
    profile: str | None,
    max_concurrent_activities: int,
    max_concurrent_workflow_tasks: int,
    graceful_shutdown_seconds: float,
    secrets_file: Path | None,
    kube: Any,
    progress_signal_seconds: float,
    max_cached_workflows: int,
    sticky_timeout_seconds: float,
    log_level: str,
) -> None:
    """Run the Temporal worker of the ClusterSet workflows and activities."""
    from temporalio.service import RPCError

    from worker.codec import CodecKeyError
    from worker.run import WorkerConfigError, WorkerOptions, run_worker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = WorkerOptions(
        task_queue=task_queue,
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        graceful_shutdown_seconds=graceful_shutdown_seconds,
        progress_signal_seconds=progress_signal_seconds,
        max_cached_workflows=max_cached_workflows,
        sticky_timeout_seconds=sticky_timeout_seconds,
    )
    try:
        asyncio.run(run_worker(options=options, secrets_file=secrets_file, kube=kube, profile=profile))
    except (WorkerConfigError, CodecKeyError) as exc:
        raise _fail(str(exc), "see `csctl worker --help`") from None
    except (RPCError, RuntimeError) as exc:
        from cli.clusterset import exit_now

        exit_now(
            _fail(
                f"cannot connect to Temporal: {exc}",
                "set TEMPORAL_ADDRESS (default 127.0.0.1:7233) or start `temporal server start-dev`",
            )
        )


@click.command("codec-server")
@click.option("--bind", default="127.0.0.1:8081", show_default=True, help="host:port to listen on.")
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    default=["http://localhost:8233", "http://127.0.0.1:8233"],
    show_default=True,
    help="Web UI origin allowed by CORS (repeatable).",
)
def codec_server(bind: str, cors_origins: tuple[str, ...]) -> None:
    """Serve /encode and /decode with the payload key, for the Temporal Web UI's codec endpoint."""
    from aiohttp import web

    from worker.codec import CodecKeyError, EncryptionCodec, keys_from_environment
    from worker.codec_server import ENV_TOKEN, build_app

    try:
        keys = keys_from_environment()
    except CodecKeyError as exc:
        raise _fail(str(exc), "CLUSTERSET_CODEC_KEY is base64 of 32 random bytes") from None
    if not keys:
        raise _fail(
            "no payload key configured",
            "set CLUSTERSET_CODEC_KEY or CLUSTERSET_CODEC_KEY_FILE, as for the worker",
        )
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise _fail(f"--bind {bind!r} is not host:port", "for example --bind 127.0.0.1:8081")
    app = build_app(
        codec=EncryptionCodec(keys), cors_origins=list(cors_origins), token=os.environ.get(ENV_TOKEN)
    )
    click.echo(f"codec server on http://{bind} (CORS: {', '.join(cors_origins)})")
    web.run_app(app, host=host, port=int(port), print=None)
