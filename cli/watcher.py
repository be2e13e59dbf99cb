"""`csctl watcher` and `csctl release-finalizer`: the CR watcher process and its escape hatch.

Kubernetes access: in a pod, the in-cluster service account; elsewhere the kubeconfig (`--kubeconfig`,
else KUBECONFIG, else ~/.kube/config). Temporal access: Temporal's environment configuration
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, profiles), see worker.client.
Mistakes get one readable line and a hint, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click

T = TypeVar("T")


class WatcherCliError(click.ClickException):
    """A readable one-line failure of a watcher command."""


def _api_client(kubeconfig: str | None) -> Any:
    from kubernetes import config

    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            from kubernetes import client

            return client.ApiClient()
        return config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    except (config.ConfigException, OSError) as exc:
        raise WatcherCliError(
            f"cannot load Kubernetes configuration: {exc} (hint: pass --kubeconfig or set KUBECONFIG)"
        ) from exc


async def _temporal_client() -> Any:
    from worker.client import connect

    try:
        return await connect()
    except Exception as exc:  # connection refused, bad TLS settings, ...
        raise WatcherCliError(
            f"cannot connect to Temporal: {exc} (hint: set TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE)"
        ) from exc


def _run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run, re-raising a CLI error only after the loop (and Temporal's runtime objects) are gone:
    an exception that escapes asyncio.run keeps them alive in its traceback until interpreter shutdown,
    where the Temporal core runtime aborts the process."""
    message: str | None = None

    async def guarded() -> T | None:
        nonlocal message
        try:
            return await main()
        except WatcherCliError as exc:
            message = exc.message
            return None

    result = asyncio.run(guarded())
    if message is not None:
        raise WatcherCliError(message)
    assert result is not None
    return result


@click.command("watcher")
@click.option("--namespace", "-n", default=None, help="Watch one namespace (default: all namespaces).")
@click.option("--kubeconfig", default=None, type=click.Path(dir_okay=False), help="Kubeconfig file to use.")
@click.option(
    "--manage-finalizer/--no-manage-finalizer",
    default=True,
    show_default=True,
    help="Add percona.com/clusterset-dissolve to CRs that lack it (opt out per CR with the annotation "
    "percona.com/clusterset-skip-finalizer=true).",
)
@click.option(
    "--health-bind", default="0.0.0.0:8081", show_default=True, help="host:port of /healthz, /metrics."
)
@click.option(
    "--inactivity-timeout", default=120.0, show_default=True, help="Seconds of silence = stalled watch."
)
@click.option("--leader-election/--no-leader-election", default=False, show_default=True)
@click.option(
    "--lease-namespace", default=None, help="Namespace of the Lease (default: --namespace or default)."
)
@click.option("--lease-name", default="clusterset-watcher", show_default=True)
@click.option(
    "--task-queue", default=None, help="Temporal task queue of the workflows (default: clusterset)."
)
@click.option("--log-level", default="INFO", show_default=True)
def watcher(
    *,
    namespace: str | None,
    task_queue: str | None,
    kubeconfig: str | None,
    manage_finalizer: bool,
    health_bind: str,
    inactivity_timeout: float,
    leader_election: bool,
    lease_namespace: str | None,
    lease_name: str,
    log_level: str,
) -> None:
    """Watch PerconaServerMySQLClusterSet CRs and relay them to their Temporal workflows."""
    from watcher.main import run_watcher
    from watcher.settings import LeaderElection, WatcherSettings

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    election = (
        LeaderElection(lease_name=lease_name, lease_namespace=lease_namespace or namespace or "default")
        if leader_election
        else None
    )
    from workflows import TASK_QUEUE

    settings = WatcherSettings(
        namespace=namespace,
        task_queue=task_queue or TASK_QUEUE,
        manage_finalizer=manage_finalizer,
        inactivity_timeout=inactivity_timeout,
        leader_election=election,
    )
    api_client = _api_client(kubeconfig)

    async def main() -> int:
        client = await _temporal_client()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_watcher(
            client=client, api_client=api_client, settings=settings, stop=stop, health_bind=health_bind
        )

    raise SystemExit(_run(main))


@click.command("release-finalizer")
@click.argument("target", metavar="NAMESPACE/NAME")
@click.option(
    "--reason",
    required=True,
    help="Why the ClusterSet cannot be dissolved (recorded in Temporal and an Event).",
)
@click.option("--kubeconfig", default=None, type=click.Path(dir_okay=False), help="Kubeconfig file to use.")
def release_finalizer(*, target: str, reason: str, kubeconfig: str | None) -> None:
    """Release a CR whose deletion is stuck because its ClusterSet cannot be dissolved.

    The CR must already be in deletion. Its workflow is terminated (nothing more runs against MySQL),
    a Warning Event records the reason, and the percona.com/clusterset-dissolve finalizer is removed.
    MySQL is left as it is: see docs/watcher.md for the manual cleanup.
    """
    namespace, sep, name = target.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise WatcherCliError(
            f"expected NAMESPACE/NAME, got {target!r} (hint: csctl release-finalizer default/my-cs)"
        )
    from watcher.kube import ClusterSetKube
    from watcher.release import ReleaseError
    from watcher.release import release_finalizer as release

    api_client = _api_client(kubeconfig)

    async def main() -> bool:
        client = await _temporal_client()
        try:
            outcome = await release(
                client=client, kube=ClusterSetKube(api_client), namespace=namespace, name=name, reason=reason
            )
        except ReleaseError as exc:
            raise WatcherCliError(str(exc)) from exc
        if outcome.workflow_terminated:
            click.echo(f"terminated workflow {outcome.workflow_id}")
        if outcome.finalizer_removed:
            click.echo(f"released {namespace}/{name}: finalizer removed, the API server deletes it now")
        else:
            click.echo(f"{namespace}/{name}: no dissolve finalizer left; nothing to release")
        return True

    _run(main)
