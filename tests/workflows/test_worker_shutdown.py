"""SIGTERM on the worker during a CLONE: the graceful shutdown records the clone's progress.

The SDK throttles heartbeats to one per 80% of the heartbeat timeout (96 s with the default 120 s clone
heartbeat timeout), so without a last heartbeat at shutdown the server would keep the progress of the
clone's first seconds. The worker is stopped with SIGTERM (Kubernetes stopping the pod) halfway through a
join's CLONE; the clone step's pending attempt must then carry the progress reached at the SIGTERM, and a
new worker re-attaches to the same clone from there (one CLONE in all, progress never going back).

What records it is the SDK flushing the throttled heartbeat when the attempt ends; the explicit beat of
`activities.temporal.heartbeating` at shutdown is a second line (with it removed this test still passes).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from wf_process import running_worker
from wf_world import NAMESPACE, spec_for, topology

from activities.models import CloneProgress
from worker.entity import apply_spec
from workflows import names
from workflows.clusterset import ClusterSetWorkflow
from workflows.models import ClusterSetPhase, ClusterSetView, WorkflowTuning

pytestmark = pytest.mark.asyncio(loop_scope="session")

TUNING = WorkflowTuning(step_heartbeat_timeout_seconds=5, retry_maximum_interval_seconds=1)


async def view_of(client: Client, workflow_id: str) -> ClusterSetView | None:
    try:
        return await client.get_workflow_handle_for(ClusterSetWorkflow.run, workflow_id).query(
            ClusterSetWorkflow.status
        )
    except Exception:
        return None  # no worker answers while it is stopped


async def wait_for(what: str, probe: Any, *, within: float = 120) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def clone_attempt(client: Client, operation_id: str) -> PendingActivityInfo | None:
    description = await client.get_workflow_handle(operation_id).describe()
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name == names.ACTIVITY_CLONE_STEP:
            return pending
    return None


async def recorded_progress(client: Client, pending: PendingActivityInfo) -> float:
    """The percent in the attempt's last recorded heartbeat (0 when it heartbeat without details)."""
    payloads = pending.heartbeat_details.payloads
    if not payloads:
        return 0.0
    (progress,) = await client.data_converter.decode(payloads, [CloneProgress])
    assert isinstance(progress, CloneProgress)
    return progress.percent


async def test_sigterm_records_the_clone_progress_and_a_new_worker_resumes_it(
    temporal_dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    from mysqlsim.testing import running_world

    client = Client(**{**temporal_dev_env.client.config(), "data_converter": pydantic_data_converter})
    address = temporal_dev_env.client.service_client.config.target_host
    tag = uuid.uuid4().hex[:8]
    # a CLONE of about 20 s: long enough to stop the worker in the middle of it
    with running_world(topology(dataset_bytes=4_000_000_000, time_scale=4.0), state_dir=tmp_path) as world:
        async with running_worker(
            address=address, task_queue=f"shutdown-{tag}", ca_path=world.ca_path, state_dir=tmp_path
        ) as worker:
            uid = uuid.uuid4().hex[:12]
            _, handle = await apply_spec(
                client,
                namespace=NAMESPACE,
                name="cs-shutdown",
                uid=uid,
                task_queue=worker.task_queue,
                generation=1,
                spec=spec_for(world, ["dc1", "dc2"], primary="dc1"),
                tuning=TUNING,
            )
            dc2 = world.member("dc2", 0).host

            async def join_past_30_percent() -> ClusterSetView | None:
                view = await view_of(client, handle.id)
                op = view.current_operation if view else None
                if op and op.kind.value == "join" and op.progress and op.progress.percent >= 30:
                    return view
                return None

            view = await wait_for("the join's CLONE at 30%", join_past_30_percent)
            assert view.current_operation is not None and view.current_operation.progress is not None
            seen = view.current_operation.progress.percent
            operation_id = view.current_operation.operation_id
            first = await clone_attempt(client, operation_id)
            assert first is not None and first.attempt == 1
            # the server holds the throttled first heartbeat: far behind what the workflow was told
            assert await recorded_progress(client, first) < seen

            stopped_at = time.time()
            worker.stop()  # SIGTERM: graceful shutdown, then the process exits

            pending = await clone_attempt(client, operation_id)
            assert pending is not None
            recorded = await recorded_progress(client, pending)
            assert recorded >= seen, (recorded, seen)
            assert pending.last_heartbeat_time.ToDatetime().timestamp() >= stopped_at - 1

            worker.start()
            await worker.wait_ready()

            async def ready() -> ClusterSetView | None:
                v = await view_of(client, handle.id)
                return v if v and v.phase is ClusterSetPhase.READY and v.observed_generation == 1 else None

            final = await wait_for("the join to finish on the new worker", ready)
            assert [(r.kind.value, r.phase.value) for r in final.operation_history] == [
                ("bootstrap", "Succeeded"),
                ("join", "Succeeded"),
            ]
            assert world.ctl.clone_count(dc2) == 1
