"""Every update validator of the ClusterSet workflow: what is rejected, with which type, and at no cost."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from wf_fakes import FakeTopology, spec_of
from wf_harness import Harness, running_harness, wait_until

from worker.entity import update_failure_type
from workflows.clusterset import ClusterSetWorkflow
from workflows.models import (
    ApplySpecRequest,
    ClusterSetPhase,
    ClusterSetWorkflowInput,
    DissolveRequest,
    ForceFailoverRequest,
    RejoinRequest,
)


async def rejected(h: Harness, update: Any, request: Any) -> str | None:
    try:
        await h.handle.execute_update(update, request)
    except WorkflowUpdateFailedError as err:
        return update_failure_type(err)
    return None


def failover(target: str = "dc2", **kw: Any) -> ForceFailoverRequest:
    return ForceFailoverRequest(
        **{
            "target_cluster": target,
            "invalidate_clusters": [],
            "reason": "site down",
            "requested_by": "alice",
            **kw,
        }
    )


async def accepted_updates(h: Harness) -> int:
    count = 0
    async for event in h.handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            count += 1
    return count


async def test_apply_spec_rejects_stale_generations_and_foreign_uids(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with running_harness(time_skipping_env) as h:
        assert await h.apply(spec_of("dc1"), 2) is not None
        await h.wait_for("Ready", lambda v: v.phase is ClusterSetPhase.READY)
        before = await accepted_updates(h)
        # a resent generation: the update id spec-<uid>-<gen> deduplicates it (same answer, no new event)
        resent = await h.apply(spec_of("dc1"), 2)
        assert resent is not None and resent.accepted_generation == 2
        # an older generation is rejected as StaleGeneration, which apply() treats as success
        assert await h.apply(spec_of("dc1", "dc2"), 1) is None
        req = ApplySpecRequest(
            uid=h.uid, generation=2, spec=spec_of("dc1"), namespace=h.namespace, name=h.name
        )
        assert await rejected(h, ClusterSetWorkflow.apply_spec, req) == "StaleGeneration"
        foreign = req.model_copy(update={"uid": "someone-else", "generation": 9})
        assert await rejected(h, ClusterSetWorkflow.apply_spec, foreign) == "UidMismatch"
        assert await accepted_updates(h) == before  # rejections leave no history
        assert (await h.view()).generation == 2


async def test_force_failover_validation(time_skipping_env: WorkflowEnvironment) -> None:
    async with running_harness(time_skipping_env) as h:
        await h.apply(spec_of("dc1", "dc2", "dc3"), 1)
        await h.wait_for("Ready", lambda v: v.phase is ClusterSetPhase.READY)
        ff = ClusterSetWorkflow.force_failover
        assert await rejected(h, ff, failover("dc9")) == "UnknownCluster"
        assert await rejected(h, ff, failover("dc2", invalidate_clusters=["dc7"])) == "UnknownCluster"
        assert await rejected(h, ff, failover("dc2", invalidate_clusters=["dc2"])) == "InvalidRequest"
        assert await rejected(h, ff, failover("dc2", reason="  ")) == "InvalidRequest"
        assert await rejected(h, ff, failover("dc2", requested_by="")) == "InvalidRequest"
        assert await rejected(h, ff, failover("dc1")) == "AlreadyPrimary"
        h.topo.hang.add(("failover", "promote"))
        h.topo.reachable = False
        assert await rejected(h, ff, failover("dc2")) is None
        assert await rejected(h, ff, failover("dc3")) == "FailoverInProgress"
        await wait_until("promote running", lambda: ("failover", "dc2", "promote") in h.topo.steps_run)
        assert await rejected(h, ff, failover("dc3")) == "FailoverInProgress"
        h.topo.release(("failover", "promote"))
        await h.wait_for(
            "failover done", lambda v: v.current_operation is None and v.primary_cluster == "dc2"
        )


async def test_rejoin_validation(time_skipping_env: WorkflowEnvironment) -> None:
    async with running_harness(time_skipping_env) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        await h.wait_for("Ready", lambda v: v.phase is ClusterSetPhase.READY)
        rj = ClusterSetWorkflow.rejoin
        assert await rejected(h, rj, RejoinRequest(cluster="dc5", requested_by="bob")) == "UnknownCluster"
        assert await rejected(h, rj, RejoinRequest(cluster="dc1", requested_by="bob")) == "ClusterIsPrimary"
        h.topo.hang.add(("rejoin", "rejoin"))
        assert await rejected(h, rj, RejoinRequest(cluster="dc2", requested_by="bob")) is None
        again = RejoinRequest(cluster="dc2", requested_by="watcher", source="annotation")
        assert await rejected(h, rj, again) == "RejoinInProgress"
        h.topo.release(("rejoin", "rejoin"))
        await h.wait_for("rejoined", lambda v: v.current_operation is None and len(v.operation_history) == 3)


async def test_updates_before_any_spec_are_refused(time_skipping_env: WorkflowEnvironment) -> None:
    async with running_harness(time_skipping_env) as h:
        await h.client.start_workflow(
            ClusterSetWorkflow.run,
            ClusterSetWorkflowInput(namespace=h.namespace, name=h.name, uid=h.uid),
            id=h.workflow_id,
            task_queue=h.task_queue,
        )
        assert await rejected(h, ClusterSetWorkflow.force_failover, failover()) == "NoSpec"
        rejoin = RejoinRequest(cluster="dc2", requested_by="bob")
        assert await rejected(h, ClusterSetWorkflow.rejoin, rejoin) == "NoSpec"
        assert (await h.view()).phase is ClusterSetPhase.PENDING
        # a CR deleted before its first spec arrived: nothing to dissolve, the workflow completes
        await h.handle.execute_update(ClusterSetWorkflow.dissolve, DissolveRequest(uid=h.uid))
        assert (await h.handle.result()).dissolved


async def test_dissolve_validation_and_idempotence(time_skipping_env: WorkflowEnvironment) -> None:
    topo = FakeTopology()
    topo.hang.add(("dissolve", "dissolve"))
    async with running_harness(time_skipping_env, topo=topo) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        await h.wait_for("Ready", lambda v: v.phase is ClusterSetPhase.READY)
        dissolve = ClusterSetWorkflow.dissolve
        assert await rejected(h, dissolve, DissolveRequest(uid="other")) == "UidMismatch"
        assert await rejected(h, dissolve, DissolveRequest(uid=h.uid)) is None
        await wait_until("dissolving", lambda: ("dissolve", None, "dissolve") in topo.steps_run)
        assert await rejected(h, dissolve, DissolveRequest(uid=h.uid)) is None  # resent: accepted, no 2nd op
        view = await h.view()
        assert view.phase is ClusterSetPhase.DISSOLVING and view.pending_intents == []
        assert await rejected(h, ClusterSetWorkflow.force_failover, failover()) == "Dissolving"
        rejoin = RejoinRequest(cluster="dc2", requested_by="bob")
        assert await rejected(h, ClusterSetWorkflow.rejoin, rejoin) == "Dissolving"
        req = ApplySpecRequest(
            uid=h.uid, generation=6, spec=spec_of("dc1"), namespace=h.namespace, name=h.name
        )
        assert await rejected(h, ClusterSetWorkflow.apply_spec, req) == "Dissolving"
        topo.release(("dissolve", "dissolve"))
        assert (await h.handle.result()).dissolved
        assert [k for k, _, s in topo.steps_run if s == "dissolve"] == ["dissolve"]
