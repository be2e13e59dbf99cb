"""The escape hatch for a deletion that cannot finish: `csctl release-finalizer NS/NAME --reason ...`.

When the primary cluster is gone for good, the dissolve cannot run (it needs a reachable primary), the
workflow keeps its dissolve intent, and the CR stays in deletion forever. This releases it:

1. the CR must already be in deletion (`kubectl delete` first): the hatch never deletes anything itself;
2. the entity workflow is **terminated** with the operator's reason (it cannot dissolve, and a
   terminated workflow is never restarted by the watcher for this uid, because the CR is going away);
   terminating rather than signalling means nothing more runs against MySQL afterwards;
3. a Warning Event `FinalizerReleased` on the CR records who released it and why;
4. the finalizer is removed with optimistic concurrency, and the API server deletes the CR.

The MySQL servers are left exactly as they are: surviving replica clusters still carry ClusterSet
metadata and need manual cleanup (docs/watcher.md).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.models import FINALIZER_DISSOLVE
from watcher.kube import ClusterSetKube
from workflows.ids import clusterset_workflow_id


class ReleaseError(Exception):
    """The release was refused; the message says why and what to do."""


@dataclass(frozen=True)
class ReleaseOutcome:
    workflow_id: str
    workflow_terminated: bool
    finalizer_removed: bool


async def release_finalizer(
    *,
    client: Client,
    kube: ClusterSetKube,
    namespace: str,
    name: str,
    reason: str,
    operator: str | None = None,
) -> ReleaseOutcome:
    """Terminate the CR's workflow and remove its dissolve finalizer (see the module docstring)."""
    if not reason.strip():
        raise ReleaseError("--reason must say why the ClusterSet cannot be dissolved")
    who = operator or getpass.getuser()
    obj = await kube.aget(namespace, name)
    if obj is None:
        raise ReleaseError(f"PerconaServerMySQLClusterSet {namespace}/{name} not found")
    meta = obj["metadata"]
    if not meta.get("deletionTimestamp"):
        raise ReleaseError(
            f"{namespace}/{name} is not being deleted; "
            f"run `kubectl delete ps-clusterset -n {namespace} {name}` first"
        )
    workflow_id = clusterset_workflow_id(namespace=namespace, name=name, uid=meta["uid"])
    if FINALIZER_DISSOLVE not in (meta.get("finalizers") or []):
        return ReleaseOutcome(workflow_id=workflow_id, workflow_terminated=False, finalizer_removed=False)
    terminated = False
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
        if description.status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate(reason=f"release-finalizer by {who}: {reason}")
            terminated = True
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    await kube.aemit_event(
        obj,
        type_="Warning",
        reason="FinalizerReleased",
        message=f"{FINALIZER_DISSOLVE} released by {who} without dissolving: {reason}",
        key="finalizer-released",
    )
    removed = await kube.aremove_finalizer(namespace=namespace, name=name, uid=meta["uid"])
    return ReleaseOutcome(workflow_id=workflow_id, workflow_terminated=terminated, finalizer_removed=removed)
