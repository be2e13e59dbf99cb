"""`csctl failover | rejoin | status | history | plan`: an operator's requests to a ClusterSet's workflow.

A ClusterSet is named ``namespace/name``. Its workflow is found by the ClusterSetName search attribute
(the running one), or from the CR's uid: ``--uid`` or, when a kubeconfig is at hand, read from the
Kubernetes API. The workflow decides; the CLI only asks: a rejected request prints the workflow's reason
and exits 1. Mistakes give one readable line and a hint, never a traceback.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click

T = TypeVar("T")


class CliError(click.ClickException):
    """One line, plus a hint on the next line."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message}\n  hint: {hint}" if hint else message)


def parse_target(value: str) -> tuple[str, str]:
    namespace, sep, name = value.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise CliError(f"{value!r} is not namespace/name", "for example: csctl status default/my-clusterset")
    return namespace, name


def _uid_from_kubernetes(namespace: str, name: str) -> str | None:
    try:
        from kubernetes import client, config

        from api.models import GROUP, PLURAL, VERSION

        config.load_kube_config()  # type: ignore[no-untyped-call]
        obj: Any = client.CustomObjectsApi().get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name
        )
    except Exception:
        return None
    uid = obj.get("metadata", {}).get("uid")
    return str(uid) if uid else None


async def _workflow_id(client: Any, namespace: str, name: str, uid: str | None) -> str:
    from workflows import names
    from workflows.ids import clusterset_workflow_id

    if uid:
        return clusterset_workflow_id(namespace=namespace, name=name, uid=uid)
    query = (
        f"WorkflowType = '{names.CLUSTERSET_WORKFLOW}' "
        f"AND {names.SEARCH_ATTRIBUTE_NAME} = '{namespace}/{name}' AND ExecutionStatus = 'Running'"
    )
    async for wf in client.list_workflows(query, limit=1):
        return str(wf.id)
    uid = await asyncio.to_thread(_uid_from_kubernetes, namespace, name)
    if uid:
        return clusterset_workflow_id(namespace=namespace, name=name, uid=uid)
    raise CliError(
        f"no running workflow for ClusterSet {namespace}/{name}",
        "check the name, that the watcher runs, or pass --uid <metadata.uid of the CR>",
    )


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from worker.entity import update_failure_type

    try:
        return asyncio.run(fn())  # type: ignore[arg-type]
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = getattr(cause, "message", str(cause))
        raise CliError(f"refused ({update_failure_type(err)}): {message}") from None
    except WorkflowQueryFailedError as err:
        if "TMPRL1100" in err.message:
            hint = (
                "the workflow's history no longer replays on the worker (docs/workflows.md §7 says why "
                "and how to reset it); kubectl get ps-clusterset shows the last status written"
            )
        else:
            hint = "the worker logs say why; run the command again once the worker is up"
        raise CliError(f"the workflow could not answer: {err.message}", hint) from None
    except RPCError as err:
        raise CliError(
            f"Temporal: {err.message}",
            "check TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, and that the ClusterSet's workflow is running",
        ) from None
    except (OSError, RuntimeError) as err:
        exit_now(CliError(f"cannot reach Temporal: {err}", "set TEMPORAL_ADDRESS (default 127.0.0.1:7233)"))


def exit_now(error: click.ClickException) -> NoReturn:
    """Print `error` and leave at once: after a failed connect the SDK's core thread can abort a normal
    interpreter shutdown, which would turn a one-line error into a crash report."""
    error.show()
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(error.exit_code)


def _who(requested_by: str | None) -> str:
    if requested_by:
        return requested_by
    try:
        return getpass.getuser()
    except Exception:
        return "csctl"


target_argument = click.argument("clusterset", metavar="NAMESPACE/NAME")
uid_option = click.option("--uid", help="metadata.uid of the CR (skips the lookup).")
by_option = click.option("--requested-by", help="Who asks (default: your user name).")


@click.command()
@target_argument
@click.option("--force", "target", metavar="TARGET", help="The replica cluster to promote (required).")
@click.option("--invalidate", multiple=True, metavar="CLUSTER", help="Unreachable replica to invalidate too.")
@click.option("--reason", help="Why (recorded in the CR's annotations and the Event).")
@uid_option
@by_option
def failover(
    clusterset: str,
    target: str | None,
    invalidate: tuple[str, ...],
    reason: str | None,
    uid: str | None,
    requested_by: str | None,
) -> None:
    """Emergency failover: promote TARGET while the primary cluster is unreachable (can lose data)."""
    namespace, name = parse_target(clusterset)
    if not target:
        raise CliError(
            "refusing a failover without --force TARGET: a forced failover promotes a replica while the "
            "primary is unreachable and can lose the transactions it did not replicate",
            "for a planned change without data loss edit spec.primaryCluster (a switchover); "
            f"in an emergency: csctl failover {clusterset} --force <replica> --reason '...'",
        )
    if not reason or not reason.strip():
        raise CliError("--reason is required", "say why, e.g. --reason 'dc1 lost power'")

    async def go() -> str:
        from workflows.clusterset import ClusterSetWorkflow
        from workflows.models import ForceFailoverRequest

        client = await _connect()
        wf_id = await _workflow_id(client, namespace, name, uid)
        handle = client.get_workflow_handle_for(ClusterSetWorkflow.run, wf_id)
        result = await handle.execute_update(
            ClusterSetWorkflow.force_failover,
            ForceFailoverRequest(
                target_cluster=target,
                invalidate_clusters=list(invalidate),
                reason=reason,
                requested_by=_who(requested_by),
            ),
            id=f"failover-{uuid.uuid4()}",
        )
        return str(result.operation_id)

    operation_id = _run(go)
    click.echo(f"forced failover to {target} accepted: operation {operation_id}")


@click.command()
@target_argument
@click.argument("cluster")
@uid_option
@by_option
def rejoin(clusterset: str, cluster: str, uid: str | None, requested_by: str | None) -> None:
    """Rejoin CLUSTER (invalidated or not replicating) to its ClusterSet."""
    namespace, name = parse_target(clusterset)

    async def go() -> str:
        from workflows.clusterset import ClusterSetWorkflow
        from workflows.models import RejoinRequest

        client = await _connect()
        handle = client.get_workflow_handle_for(
            ClusterSetWorkflow.run, await _workflow_id(client, namespace, name, uid)
        )
        result = await handle.execute_update(
            ClusterSetWorkflow.rejoin,
            RejoinRequest(cluster=cluster, requested_by=_who(requested_by), source="cli"),
            id=f"rejoin-{uuid.uuid4()}",
        )
        return str(result.operation_id)

    click.echo(f"rejoin of {cluster} accepted: operation {_run(go)}")


@click.command()
@target_argument
@uid_option
@click.option("--json", "as_json", is_flag=True, help="Print the workflow's view as JSON.")
def status(clusterset: str, uid: str | None, as_json: bool) -> None:
    """Show the ClusterSet as its workflow sees it: phase, operations, topology."""
    _print_query(clusterset, uid, "status", format_view, as_json=as_json)


def _print_query(
    clusterset: str, uid: str | None, query: str, render: Callable[[Any], str], *, as_json: bool
) -> None:
    """Ask the ClusterSet's workflow the query named by the ClusterSetWorkflow method `query`; print the
    answer as JSON or through `render`."""
    namespace, name = parse_target(clusterset)

    async def go() -> Any:
        from workflows.clusterset import ClusterSetWorkflow

        client = await _connect()
        handle = client.get_workflow_handle_for(
            ClusterSetWorkflow.run, await _workflow_id(client, namespace, name, uid)
        )
        return await handle.query(getattr(ClusterSetWorkflow, query))

    answer = _run(go)
    click.echo(answer.model_dump_json(indent=2) if as_json else render(answer))


def format_view(view: Any) -> str:
    """A short human summary of a ClusterSetView."""
    obs = view.last_observation
    lines = [
        f"ClusterSet {view.namespace}/{view.name}  phase {view.phase.value}  "
        f"generation {view.generation} (observed {view.observed_generation})",
    ]
    if obs is not None:
        lines.append(
            f"  primary {obs.primary_cluster or '?'} at {obs.primary_endpoint or '?'}"
            f"  global {obs.global_status}" + ("" if obs.reachable else f"  UNREACHABLE: {obs.error or ''}")
        )
        for cluster, st in sorted(obs.clusters.items()):
            lines.append(f"  - {cluster}: {st.cluster_role} {st.global_status}")
    cur = view.current_operation
    if cur is not None:
        progress = f" {cur.progress.percent:.0f}% {cur.progress.stage or ''}" if cur.progress else ""
        lines.append(f"  running: {cur.kind.value} {cur.target_cluster or ''} ({cur.operation_id}){progress}")
    for rec in view.operation_history[-5:]:
        lines.append(f"  {rec.phase.value:<9} {rec.kind.value} {rec.target_cluster or ''}  {rec.message}")
    for cond in view.conditions:
        if cond.type != "Ready" or cond.status != "True":
            lines.append(f"  condition {cond.type}={cond.status} ({cond.reason}) {cond.message}")
    return "\n".join(lines)


@click.command()
@target_argument
@uid_option
@click.option("--json", "as_json", is_flag=True, help="Print the workflow's answer as JSON.")
def history(clusterset: str, uid: str | None, as_json: bool) -> None:
    """The operations the ClusterSet's workflow ran (the last 20), the one running, and those waiting."""
    _print_query(clusterset, uid, "operation_history", format_history, as_json=as_json)


def _duration(record: Any) -> str:
    if record.started_at is None or record.finished_at is None:
        return "-"
    seconds = (record.finished_at - record.started_at).total_seconds()
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


def format_history(answer: Any) -> str:
    """A table of OperationRecords, oldest first, each with its message on the next line."""
    rows = [("OPERATION", "PHASE", "STARTED", "TOOK", "REQUESTED BY")]
    records = [*answer.operations, *([answer.current_operation] if answer.current_operation else [])]
    for rec in records:
        started = rec.started_at.strftime("%Y-%m-%d %H:%M:%S") if rec.started_at else "-"
        who = rec.requested_by or (f"generation {rec.generation}" if rec.generation else "-")
        rows.append((rec.operation_id, rec.phase.value, started, _duration(rec), who))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"ClusterSet {answer.namespace}/{answer.name}: {answer.operation_count} operation ids used"]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i > 0 and records[i - 1].message:
            lines.append(f"    {records[i - 1].message}")
    if not records:
        lines.append("no operation yet")
    for intent in answer.pending_intents:
        lines.append(f"waiting: {intent.kind.value} {intent.target_cluster or ''} (by {intent.requested_by})")
    return "\n".join(lines)


@click.command()
@target_argument
@click.option(
    "--operation",
    "kind",
    type=click.Choice(
        [
            "bootstrap",
            "adopt",
            "join",
            "grow",
            "switchover",
            "failover",
            "fence",
            "rejoin",
            "remove",
            "dissolve",
        ]
    ),
    help="Operation to dry-run (default: what the workflow would do next).",
)
@click.option("--target", help="Target cluster of the operation.")
@uid_option
def plan(clusterset: str, kind: str | None, target: str | None, uid: str | None) -> None:
    """Dry run: the steps of an operation and which ones are already done (changes nothing)."""
    namespace, name = parse_target(clusterset)

    async def go() -> Any:
        from activities.models import ClusterSetRef, OperationKind, OperationRequest
        from workflows import TASK_QUEUE
        from workflows.clusterset import ClusterSetWorkflow
        from workflows.ids import parse_clusterset_workflow_id
        from workflows.models import ClusterSetState
        from workflows.operation import DryRunWorkflow
        from workflows.planning import next_operation

        client = await _connect()
        wf_id = await _workflow_id(client, namespace, name, uid)
        view = await client.get_workflow_handle_for(ClusterSetWorkflow.run, wf_id).query(
            ClusterSetWorkflow.status
        )
        if view.spec is None:
            raise CliError(f"{namespace}/{name} has no spec yet", "wait for the watcher to relay the CR")
        parsed = parse_clusterset_workflow_id(wf_id)
        cr_uid = parsed[2] if parsed else view.uid
        if kind is None:
            state = ClusterSetState(
                namespace=namespace,
                name=name,
                uid=cr_uid,
                spec=view.spec,
                generation=view.generation,
                last_observation=view.last_observation,
                managed=view.managed,
                blocked=view.blocked,
            )
            from datetime import UTC, datetime

            planned = next_operation(state, now=datetime.now(UTC))
            if planned is None:
                return None
            op_kind, op_target = planned.kind, planned.target_cluster
        else:
            op_kind, op_target = OperationKind(kind), target
        req = OperationRequest(
            kind=op_kind,
            clusterset=ClusterSetRef(namespace=namespace, name=name, uid=cr_uid),
            spec=view.spec,
            target_cluster=op_target,
        )
        return await client.execute_workflow(
            DryRunWorkflow.run, req, id=f"{wf_id}/plan/{uuid.uuid4().hex[:8]}", task_queue=TASK_QUEUE
        )

    result = _run(go)
    if result is None:
        click.echo("nothing to do: the ClusterSet matches its spec")
        return
    click.echo(f"{result.kind.value} {result.target_cluster or ''}".rstrip() + ":")
    for step in result.steps:
        click.echo(f"  [{'x' if step.done else ' '}] {step.name}: {step.summary}")


async def _connect() -> Any:
    from worker.client import connect

    return await connect(tracing=False)
