"""Client-side calls into the ClusterSet entity workflow (used by the CLI, the tests, and the watcher).

`apply_spec` is the watcher's hand-off: update-with-start, so the first edit of a CR starts its workflow
and every later one lands on the same run (`USE_EXISTING`); `ALLOW_DUPLICATE_FAILED_ONLY` restarts an
entity whose workflow failed or was terminated, but never one that completed (dissolved). The update id
``spec-<uid>-<generation>`` makes a resent edit free: the validator rejects an old generation with
"StaleGeneration", which callers treat as success.
"""

from __future__ import annotations

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.common import WorkflowIDReusePolicy as Reuse
from temporalio.exceptions import ApplicationError

from api.models import ClusterSetSpec
from workflows import TASK_QUEUE, names
from workflows.clusterset import ClusterSetWorkflow
from workflows.ids import clusterset_workflow_id
from workflows.models import (
    ApplySpecRequest,
    ApplySpecResult,
    ClusterSetWorkflowInput,
    ClusterSetWorkflowResult,
    WorkflowTuning,
)

STALE_GENERATION = "StaleGeneration"


def start_operation(
    *,
    namespace: str,
    name: str,
    uid: str,
    task_queue: str = TASK_QUEUE,
    tuning: WorkflowTuning | None = None,
) -> WithStartWorkflowOperation[ClusterSetWorkflow, ClusterSetWorkflowResult]:
    """The with-start half of update-with-start for the CR namespace/name (uid)."""
    return WithStartWorkflowOperation(
        ClusterSetWorkflow.run,
        ClusterSetWorkflowInput(namespace=namespace, name=name, uid=uid, tuning=tuning),
        id=clusterset_workflow_id(namespace=namespace, name=name, uid=uid),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=Reuse.ALLOW_DUPLICATE_FAILED_ONLY,
        static_summary=f"ClusterSet {namespace}/{name}",
        static_details=f"PerconaServerMySQLClusterSet `{namespace}/{name}` (uid `{uid}`)",
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(
                    SearchAttributeKey.for_keyword(names.SEARCH_ATTRIBUTE_NAME), f"{namespace}/{name}"
                )
            ]
        ),
    )


def update_failure_type(err: WorkflowUpdateFailedError) -> str | None:
    """The ApplicationError type of a rejected/failed update (e.g. "StaleGeneration")."""
    cause = err.cause
    return cause.type if isinstance(cause, ApplicationError) else None


async def apply_spec(
    client: Client,
    *,
    namespace: str,
    name: str,
    uid: str,
    generation: int,
    spec: ClusterSetSpec,
    task_queue: str = TASK_QUEUE,
    tuning: WorkflowTuning | None = None,
) -> tuple[ApplySpecResult | None, WorkflowHandle[ClusterSetWorkflow, ClusterSetWorkflowResult]]:
    """Send ApplySpec with update-with-start; (None, handle) when the generation was already seen."""
    op = start_operation(namespace=namespace, name=name, uid=uid, task_queue=task_queue, tuning=tuning)
    request = ApplySpecRequest(uid=uid, generation=generation, spec=spec, namespace=namespace, name=name)
    try:
        result = await client.execute_update_with_start_workflow(
            ClusterSetWorkflow.apply_spec,
            request,
            id=f"spec-{uid}-{generation}",
            start_workflow_operation=op,
        )
    except WorkflowUpdateFailedError as err:
        if update_failure_type(err) != STALE_GENERATION:
            raise
        return None, await op.workflow_handle()
    return result, await op.workflow_handle()
