"""A ClusterSet entity workflow on a test server, driven like the watcher and the CLI drive it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from wf_fakes import FakeTopology, KubeRecorder

from activities.temporal import OperationActivities
from api.models import ClusterSetSpec
from worker.entity import apply_spec
from worker.run import WorkerOptions, build_worker
from workflows import names
from workflows.clusterset import ClusterSetWorkflow
from workflows.ids import clusterset_workflow_id
from workflows.models import ApplySpecResult, ClusterSetView, ClusterSetWorkflowResult, WorkflowTuning

FAST = WorkflowTuning(
    step_heartbeat_timeout_seconds=5,
    clone_heartbeat_timeout_seconds=5,
    step_maximum_attempts=3,
    clone_maximum_attempts=3,
    retry_maximum_interval_seconds=1,
    blocked_retry_seconds=3600,
    idle_timeout_seconds=60,
)


def pydantic_client(client: Client) -> Client:
    """The environment's client with the product's data converter."""
    config = client.config()
    config["data_converter"] = pydantic_data_converter
    return Client(**config)


@dataclass
class Harness:
    client: Client
    topo: FakeTopology
    kube: KubeRecorder
    task_queue: str
    tuning: WorkflowTuning
    namespace: str = "ns"
    name: str = "cs1"
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def workflow_id(self) -> str:
        return clusterset_workflow_id(namespace=self.namespace, name=self.name, uid=self.uid)

    @property
    def handle(self) -> WorkflowHandle[ClusterSetWorkflow, ClusterSetWorkflowResult]:
        return self.client.get_workflow_handle_for(ClusterSetWorkflow.run, self.workflow_id)

    async def apply(self, spec: ClusterSetSpec, generation: int) -> ApplySpecResult | None:
        result, _ = await apply_spec(
            self.client,
            namespace=self.namespace,
            name=self.name,
            uid=self.uid,
            generation=generation,
            spec=spec,
            task_queue=self.task_queue,
            tuning=self.tuning,
        )
        return result

    async def view(self) -> ClusterSetView:
        return await self.handle.query(ClusterSetWorkflow.status, rpc_timeout=timedelta(seconds=5))

    async def wait_for(
        self, what: str, predicate: Callable[[ClusterSetView], bool], *, within: float = 60.0
    ) -> ClusterSetView:
        """Poll the Status query until `predicate` holds (deadline, no fixed sleep)."""
        deadline = time.monotonic() + within
        view: ClusterSetView | None = None
        while True:
            try:
                view = await self.view()
            except RPCError:  # e.g. a query racing a continue-as-new: ask again
                view = None
            if view is not None and predicate(view):
                return view
            if time.monotonic() > deadline:
                dump = view.model_dump_json(indent=1) if view is not None else "no answer"
                raise AssertionError(f"timed out waiting for {what}; last view: {dump}")
            await asyncio.sleep(0.05)


async def wait_until(what: str, predicate: Callable[[], bool], *, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def register_search_attributes(client: Client) -> None:
    """The time-skipping server starts without custom search attributes; add ours (idempotent)."""
    request = AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={
            names.SEARCH_ATTRIBUTE_NAME: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
            names.SEARCH_ATTRIBUTE_PHASE: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        },
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as err:
        if "already" not in str(err).lower():
            raise


@asynccontextmanager
async def running_harness(
    env: WorkflowEnvironment,
    *,
    topo: FakeTopology | None = None,
    tuning: WorkflowTuning = FAST,
    progress_signal_seconds: float = 0.0,
    stall_timeout_seconds: float | None = None,
    operations: OperationActivities | None = None,
    **kw: Any,
) -> AsyncIterator[Harness]:
    client = pydantic_client(env.client)
    await register_search_attributes(client)
    topo = topo or FakeTopology()
    kube = KubeRecorder()
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    if operations is None:
        operations = topo.activities(
            progress_signal_seconds=progress_signal_seconds, stall_timeout_seconds=stall_timeout_seconds
        )
    activities = [*operations.activities(), *kube.activities()]
    worker = build_worker(
        client,
        activities=activities,
        options=WorkerOptions(task_queue=task_queue, graceful_shutdown_seconds=1),
    )
    async with worker:
        yield Harness(client=client, topo=topo, kube=kube, task_queue=task_queue, tuning=tuning, **kw)
