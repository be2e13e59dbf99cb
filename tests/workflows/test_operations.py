"""Every operation path of the ClusterSet workflow on the time-skipping test server, with fake operations.

The workflow is driven as the watcher (ApplySpec through update-with-start, Dissolve) and the CLI
(ForceFailover, Rejoin) drive it; the MySQL side is `FakeTopology`, Kubernetes is `KubeRecorder`.
"""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner
from temporalio.testing import WorkflowEnvironment
from wf_fakes import FakeTopology, spec_of
from wf_harness import FAST, running_harness, wait_until

from activities.errors import DivergedGtids, InstanceUnreachable
from activities.models import OperationKind
from cli import main
from workflows.clusterset import ClusterSetWorkflow
from workflows.models import (
    ClusterSetPhase,
    ClusterSetView,
    DissolveRequest,
    ForceFailoverRequest,
    OperationPhase,
    RejoinRequest,
)


def ops(view: ClusterSetView) -> list[tuple[str, str | None, str]]:
    return [(r.kind.value, r.target_cluster, r.phase.value) for r in view.operation_history]


def ready(view: ClusterSetView) -> bool:
    return view.phase is ClusterSetPhase.READY


async def test_bootstrap_then_join_with_clone_progress(time_skipping_env: WorkflowEnvironment) -> None:
    async with running_harness(time_skipping_env) as h:
        result = await h.apply(spec_of("dc1", "dc2"), 1)
        assert result is not None and result.accepted_generation == 1
        view = await h.wait_for("Ready", ready)
        assert ops(view) == [("bootstrap", "dc1", "Succeeded"), ("join", "dc2", "Succeeded")]
        assert view.observed_generation == 1
        # child workflow ids are readable: <entity id>/<kind>/<target>/<n>
        assert [r.operation_id for r in view.operation_history] == [
            f"{h.workflow_id}/bootstrap/dc1/1",
            f"{h.workflow_id}/join/dc2/2",
        ]
        assert h.topo.clone_count == 1
        assert h.kube.event_reasons() == ["ClusterSetBootstrapped", "ClusterSetMemberAdded"]
        # the clone's progress reached the CR status while the join ran
        percents = [
            s.status.operation.progress.percent
            for s in h.kube.statuses
            if s.status.operation and s.status.operation.progress and s.status.operation.progress.percent
        ]
        assert percents and max(percents) == 100.0
        final = h.kube.statuses[-1].status
        assert final.primary_cluster == "dc1" and set(final.clusters) == {"dc1", "dc2"}
        assert {c.type: c.status for c in final.conditions}["Ready"] == "True"


async def test_operation_history_query_and_its_table(time_skipping_env: WorkflowEnvironment) -> None:
    from cli.clusterset import format_history

    async with running_harness(time_skipping_env) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        await h.wait_for("Ready", ready)
        answer = await h.handle.query(ClusterSetWorkflow.operation_history)
        assert (answer.namespace, answer.operation_count, answer.current_operation) == (
            h.handle.id.split("/")[1],
            2,
            None,
        )
        assert [(r.kind, r.target_cluster, r.phase) for r in answer.operations] == [
            (OperationKind.BOOTSTRAP, "dc1", OperationPhase.SUCCEEDED),
            (OperationKind.JOIN, "dc2", OperationPhase.SUCCEEDED),
        ]
        for r in answer.operations:
            assert r.started_at and r.finished_at and r.finished_at >= r.started_at
        table = format_history(answer).splitlines()
        assert table[1].split() == ["OPERATION", "PHASE", "STARTED", "TOOK", "REQUESTED", "BY"]
        assert table[2].startswith(f"{h.workflow_id}/bootstrap/dc1/1") and "Succeeded" in table[2]
        assert "generation 1" in table[2] and table[3].strip() == "bootstrap dc1 succeeded"
        assert table[4].startswith(f"{h.workflow_id}/join/dc2/2")
        # the same through the command line, as an operator runs it
        address = time_skipping_env.client.service_client.config.target_host
        args = [f"{h.namespace}/{h.name}", "--uid", h.uid]
        for command, expected in (("history", table[2].split()[0]), ("status", "phase Ready")):
            result = await asyncio.to_thread(
                CliRunner().invoke, main, [command, *args], env={"TEMPORAL_ADDRESS": address}
            )
            assert result.exit_code == 0, result.output
            assert expected in result.output


async def test_status_written_only_when_changed(time_skipping_env: WorkflowEnvironment) -> None:
    async with running_harness(time_skipping_env) as h:
        await h.apply(spec_of("dc1"), 1)
        await h.wait_for("Ready", ready)
        writes, observed = len(h.kube.statuses), h.topo.observe_count
        await wait_until("three more refreshes", lambda: h.topo.observe_count >= observed + 3)
        assert len(h.kube.statuses) == writes  # nothing changed: nothing written
        h.topo.clusters["dc1"] = "OK_NOT_CONSISTENT"  # the world changes: the status follows
        await wait_until("a status write", lambda: len(h.kube.statuses) > writes)
        assert h.kube.statuses[-1].status.global_status == "AVAILABLE"


async def test_adopt_existing_clusterset(time_skipping_env: WorkflowEnvironment) -> None:
    topo = FakeTopology(bootstrapped=True, primary="dc1", clusters={"dc1": "OK", "dc2": "OK"})
    async with running_harness(time_skipping_env, topo=topo) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        view = await h.wait_for("Ready", ready)
        assert ops(view) == [("adopt", "dc1", "Succeeded")]
        assert not any(k == "bootstrap" for k, _, _ in topo.steps_run)


async def test_switchover_and_removal_follow_spec_edits(time_skipping_env: WorkflowEnvironment) -> None:
    async with running_harness(time_skipping_env) as h:
        await h.apply(spec_of("dc1", "dc2", "dc3"), 1)
        await h.wait_for("Ready", ready)
        await h.apply(spec_of("dc1", "dc2", "dc3", primary="dc2"), 2)
        view = await h.wait_for("switched", lambda v: ready(v) and v.observed_generation == 2)
        assert ops(view)[-1] == ("switchover", "dc2", "Succeeded")
        assert h.topo.primary == "dc2"
        await h.apply(spec_of("dc1", "dc2", primary="dc2"), 3)
        view = await h.wait_for("removed", lambda v: ready(v) and v.observed_generation == 3)
        assert ops(view)[-1] == ("remove", "dc3", "Succeeded")
        assert set(h.topo.clusters) == {"dc1", "dc2"}
        assert "ClusterSetPrimarySwitched" in h.kube.event_reasons()
        assert "ClusterSetMemberRemoved" in h.kube.event_reasons()


async def test_dissolve_completes_the_workflow(time_skipping_env: WorkflowEnvironment) -> None:
    async with running_harness(time_skipping_env) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        await h.wait_for("Ready", ready)
        accepted = await h.handle.execute_update(
            ClusterSetWorkflow.dissolve, DissolveRequest(uid=h.uid, requested_by="watcher")
        )
        assert accepted.accepted
        result = await h.handle.result()
        assert result.dissolved
        assert not h.topo.bootstrapped and h.topo.clusters == {}
        assert "ClusterSetDissolved" in h.kube.event_reasons()
        dissolving = [
            c for s in h.kube.statuses for c in s.status.conditions if c.type == "ClusterSetDissolving"
        ]
        assert dissolving


async def test_dissolve_without_a_clusterset_completes_at_once(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    topo = FakeTopology(reachable=True)
    topo.fail[("bootstrap", "check_primary")] = DivergedGtids("not this time")
    async with running_harness(time_skipping_env, topo=topo) as h:
        await h.apply(spec_of("dc1"), 1)
        await h.wait_for("bootstrap failed", lambda v: v.phase is ClusterSetPhase.BLOCKED)
        await h.handle.execute_update(ClusterSetWorkflow.dissolve, DissolveRequest(uid=h.uid))
        assert (await h.handle.result()).dissolved
        assert not any(k == "dissolve" for k, _, _ in topo.steps_run)


async def test_forced_failover_preempts_a_running_join(time_skipping_env: WorkflowEnvironment) -> None:
    topo = FakeTopology()
    topo.hang.add(("join", "clone"))
    async with running_harness(time_skipping_env, topo=topo) as h:
        await h.apply(spec_of("dc1", "dc2", "dc3"), 1)
        await h.wait_for(
            "join running",
            lambda v: v.current_operation is not None and v.current_operation.kind is OperationKind.JOIN,
        )
        await wait_until("clone step started", lambda: ("join", "dc2", "clone") in topo.steps_run)
        topo.reachable = False  # the primary site is gone
        failover = await h.handle.execute_update(
            ClusterSetWorkflow.force_failover,
            ForceFailoverRequest(
                target_cluster="dc2", invalidate_clusters=[], reason="dc1 flooded", requested_by="alice"
            ),
        )
        assert failover.operation_id.startswith(f"{h.workflow_id}/failover/dc2/")
        view = await h.wait_for(
            "failover done", lambda v: any(r[0] == "failover" and r[2] == "Succeeded" for r in ops(v))
        )
        assert ("join", "clone") in topo.cancelled  # the activity saw the cancellation and stopped
        assert topo.failover_context == {"last_seen_primary_gtid_executed": "aaaa:1-7"}
        assert ops(view)[1] == ("join", "dc2", "Cancelled")
        assert topo.primary == "dc2"
        aligned = h.kube.aligned[-1]
        assert (aligned.primary_cluster, aligned.requested_by, aligned.reason) == (
            "dc2",
            "alice",
            "dc1 flooded",
        )
        assert "ClusterSetPrimaryForcedSwitched" in h.kube.event_reasons()
        # The old primary comes back: it is fenced; nothing switches back to it.
        view = await h.wait_for("fenced", lambda v: any(r[0] == "fence" for r in ops(v)))
        assert ops(view)[-1][0] == "fence"
        assert view.primary_cluster == "dc2"
        lost = [s.status.lost_transactions for s in h.kube.statuses if s.status.lost_transactions]
        assert lost and lost[-1].gtid_set == "aaaa:5-6" and lost[-1].count == 2
        assert not any(k == "switchover" for k, _, _ in topo.steps_run)


async def test_non_retryable_failure_blocks_until_the_spec_changes(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    topo = FakeTopology()
    topo.fail[("join", "validate")] = DivergedGtids("dc2 has errant transactions aaaa:1-3", where="dc2")
    async with running_harness(time_skipping_env, topo=topo) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        view = await h.wait_for("blocked", lambda v: v.phase is ClusterSetPhase.BLOCKED)
        failed = view.operation_history[-1]
        assert (failed.kind, failed.phase, failed.error_type) == (
            OperationKind.JOIN,
            OperationPhase.FAILED,
            "DivergedGtids",
        )
        assert "To continue" in failed.message and "errant" in failed.message
        cond = {c.type: c for c in view.conditions}["OperationFailed"]
        assert cond.reason == "DivergedGtids"
        warning = [e for e in h.kube.events if e.reason == "ClusterSetOperationFailed"]
        assert warning and warning[0].type == "Warning" and "edit the CR" in warning[0].message
        # not retried on the following refreshes
        tries, observed = topo.steps_run.count(("join", "dc2", "validate")), topo.observe_count
        await wait_until("three refreshes", lambda: topo.observe_count >= observed + 3)
        assert topo.steps_run.count(("join", "dc2", "validate")) == tries == 1
        # a spec edit lifts the block
        del topo.fail[("join", "validate")]
        await h.apply(spec_of("dc1", "dc2", automaticRejoin="whenConsistent"), 2)
        view = await h.wait_for("Ready", lambda v: ready(v) and v.observed_generation == 2)
        assert ops(view)[-1] == ("join", "dc2", "Succeeded")
        assert "OperationFailed" not in {c.type for c in view.conditions}


@pytest.mark.asyncio(loop_scope="session")
async def test_retryable_failure_is_retried_later(temporal_dev_env: WorkflowEnvironment) -> None:
    # On the dev server: the time-skipping test server intermittently rejects this history with
    # "invalid history builder state for action" (a test-server defect; the dev server runs it cleanly).
    topo = FakeTopology()
    topo.fail[("join", "start_channel")] = InstanceUnreachable("127.0.9.2:3306 refused", where="dc2")
    topo.fail_times[("join", "start_channel")] = 3  # = step_maximum_attempts: the first join gives up
    tuning = FAST.model_copy(update={"blocked_retry_seconds": 2})
    async with running_harness(temporal_dev_env, topo=topo, tuning=tuning) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        view = await h.wait_for("Ready", ready)
        joins = [r for r in view.operation_history if r.kind is OperationKind.JOIN]
        assert [r.phase for r in joins] == [OperationPhase.FAILED, OperationPhase.SUCCEEDED]
        assert joins[0].error_type == "InstanceUnreachable"


async def test_annotation_rejoin_success_clears_the_annotation(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with running_harness(time_skipping_env) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        await h.wait_for("Ready", ready)
        h.topo.clusters["dc2"] = "OK_NOT_REPLICATING"
        result = await h.handle.execute_update(
            ClusterSetWorkflow.rejoin,
            RejoinRequest(cluster="dc2", requested_by="watcher", source="annotation"),
        )
        view = await h.wait_for(
            "rejoined", lambda v: any(r[0] == "rejoin" and r[2] == "Succeeded" for r in ops(v))
        )
        assert view.operation_history[-1].operation_id == result.operation_id
        assert h.kube.cleared_annotations == ["dc2"]
        assert "ClusterSetMemberRejoined" in h.kube.event_reasons()


async def test_annotation_rejoin_failure_keeps_annotation_and_stops_loop(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    topo = FakeTopology()
    topo.fail[("rejoin", "check_errant")] = DivergedGtids("errant aaaa:7", where="dc2")
    async with running_harness(time_skipping_env, topo=topo) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        await h.wait_for("Ready", ready)
        annotation = RejoinRequest(cluster="dc2", requested_by="watcher", source="annotation")
        await h.handle.execute_update(ClusterSetWorkflow.rejoin, annotation)
        view = await h.wait_for(
            "rejoin failed", lambda v: any(r[0] == "rejoin" and r[2] == "Failed" for r in ops(v))
        )
        assert {c.type: c.reason for c in view.conditions}["RejoinFailed"] == "DivergedGtids"
        assert h.kube.cleared_annotations == []
        assert "ClusterSetMemberRejoinFailed" in h.kube.event_reasons()
        rejected = await reject_type(h, ClusterSetWorkflow.rejoin, annotation)
        assert rejected == "RejoinAlreadyFailed"
        # the CLI may always retry; it succeeds once the cause is gone
        del topo.fail[("rejoin", "check_errant")]
        await h.handle.execute_update(
            ClusterSetWorkflow.rejoin, RejoinRequest(cluster="dc2", requested_by="bob", source="cli")
        )
        view = await h.wait_for("rejoined", lambda v: ops(v)[-1] == ("rejoin", "dc2", "Succeeded"))
        assert "RejoinFailed" not in {c.type for c in view.conditions}


async def test_automatic_rejoin_when_consistent(time_skipping_env: WorkflowEnvironment) -> None:
    async with running_harness(time_skipping_env) as h:
        await h.apply(spec_of("dc1", "dc2", automaticRejoin="whenConsistent"), 1)
        await h.wait_for("Ready", ready)
        h.topo.clusters["dc2"] = "OK_NOT_REPLICATING"
        view = await h.wait_for("auto rejoin", lambda v: ops(v)[-1] == ("rejoin", "dc2", "Succeeded"))
        assert view.operation_history[-1].requested_by == "spec generation 1"


async def test_clone_stall_raises_a_condition_and_the_join_goes_on(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    topo = FakeTopology(clone_stall_after=50.0)
    async with running_harness(time_skipping_env, topo=topo, stall_timeout_seconds=0.5) as h:
        await h.apply(spec_of("dc1", "dc2"), 1)
        view = await h.wait_for("stalled", lambda v: "CloneStalled" in {c.type for c in v.conditions})
        assert view.current_operation is not None and view.current_operation.stalled
        assert any("CloneStalled" in {c.type for c in s.status.conditions} for s in h.kube.statuses)
        topo.clone_stall_after = None  # the clone moves again
        view = await h.wait_for("Ready", ready)
        assert "CloneStalled" not in {c.type for c in view.conditions}
        assert ops(view)[-1] == ("join", "dc2", "Succeeded")
        assert topo.clone_count == 1


async def test_continue_as_new_keeps_pending_operations(time_skipping_env: WorkflowEnvironment) -> None:
    topo = FakeTopology()
    topo.hang.add(("join", "clone"))
    tuning = FAST.model_copy(update={"max_history_events": 120})
    async with running_harness(time_skipping_env, topo=topo, tuning=tuning) as h:
        await h.apply(spec_of("dc1", "dc2", "dc3"), 1)
        await wait_until("clone step started", lambda: ("join", "dc2", "clone") in topo.steps_run)
        first_run = (await h.handle.describe()).run_id
        await h.handle.execute_update(
            ClusterSetWorkflow.rejoin, RejoinRequest(cluster="dc3", requested_by="bob", source="cli")
        )
        view = await h.view()
        assert [i.target_cluster for i in view.pending_intents] == ["dc3"]

        async def history_length() -> int:
            return (await h.handle.describe()).raw_description.workflow_execution_info.history_length

        while await history_length() <= tuning.max_history_events:  # refreshes grow the history
            await h.wait_for("a refresh", lambda v: True)
        topo.release(("join", "clone"))
        view = await h.wait_for("Ready", lambda v: ready(v) and any(r[0] == "rejoin" for r in ops(v)))
        assert (await h.handle.describe()).run_id != first_run
        assert ops(view)[:2] == [("bootstrap", "dc1", "Succeeded"), ("join", "dc2", "Succeeded")]
        assert ("rejoin", "dc3", "Succeeded") in ops(view)


async def reject_type(h: object, update: object, request: object) -> str | None:
    """The ApplicationError type an update is rejected with."""
    from temporalio.client import WorkflowUpdateFailedError

    from worker.entity import update_failure_type

    try:
        await h.handle.execute_update(update, request)  # type: ignore[attr-defined]
    except WorkflowUpdateFailedError as err:
        return update_failure_type(err)
    return None


async def test_dry_run_workflow_returns_the_plan(time_skipping_env: WorkflowEnvironment) -> None:
    from activities.models import ClusterSetRef, OperationRequest
    from workflows.operation import DryRunWorkflow

    async with running_harness(time_skipping_env) as h:
        req = OperationRequest(
            kind=OperationKind.JOIN,
            clusterset=ClusterSetRef(namespace="ns", name="cs1", uid=h.uid),
            spec=spec_of("dc1", "dc2"),
            target_cluster="dc2",
        )
        plan = await h.client.execute_workflow(
            DryRunWorkflow.run, req, id=f"plan-{h.uid}", task_queue=h.task_queue
        )
        assert [s.name for s in plan.steps] == ["validate", "clone", "start_channel"]
        assert plan.steps[1].long_running
        assert h.topo.steps_run == []  # a dry run changes nothing
