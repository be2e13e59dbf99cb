"""A small world for watcher tests (helpers; the fixture is in conftest.py).

kubesim with the product CRD, the real Temporal dev server, a worker running the REAL ClusterSet
workflows with fake MySQL operations (tests/workflows/wf_fakes.FakeTopology) and the REAL Kubernetes
activities (activities/kube.py) writing to kubesim, plus watchers to start and stop.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client as kclient
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflows"))

from wf_fakes import FakeTopology
from wf_harness import FAST, pydantic_client

from activities.kube import KubeActivities
from api.crd import crd_yaml
from kubesim.testing import RunningKubeSim, clusterset_manifest, running_kubesim
from watcher.main import run_watcher
from watcher.metrics import WatcherMetrics
from watcher.settings import LeaderElection, WatcherSettings
from worker.run import WorkerOptions, build_worker
from workflows.clusterset import ClusterSetWorkflow
from workflows.ids import clusterset_workflow_id
from workflows.models import ClusterSetView

G, V, P = "ps.percona.com", "v1", "perconaservermysqlclustersets"
NS = "default"


async def eventually(
    what: str, predicate: Callable[[], Any], *, within: float = 60.0, detail: Callable[[], Any] | None = None
) -> Any:
    """Poll `predicate` (sync or async) until it returns a truthy value; fail with `what` (and `detail()`,
    to show the state that was waited on) at the deadline."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {detail()}" if detail else ""))
        await asyncio.sleep(0.05)


@dataclass
class RunningWatcher:
    metrics: WatcherMetrics
    stop: asyncio.Event
    task: asyncio.Task[int]
    identity: str

    def count(self, update: str, outcome: str | None = None) -> float:
        """How many updates of a kind this watcher sent (optionally with one outcome)."""
        total = 0.0
        for metric in self.metrics.updates.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels.get("update") == update:
                    if outcome is None or sample.labels.get("outcome") == outcome:
                        total += sample.value
        return total

    def summary(self) -> str:
        """Every counter of this watcher, for failure messages."""
        from prometheus_client import generate_latest

        lines = generate_latest(self.metrics.registry).decode().splitlines()
        return "; ".join(
            line for line in lines if line and not line.startswith("#") and "_created" not in line
        )

    def relists(self, reason: str) -> float:
        for metric in self.metrics.relists.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels.get("reason") == reason:
                    return float(sample.value)
        return 0.0


@dataclass
class World:
    kube: RunningKubeSim
    client: Client
    topo: FakeTopology
    task_queue: str
    watchers: list[RunningWatcher] = field(default_factory=list)

    @property
    def co(self) -> Any:
        return kclient.CustomObjectsApi(self.kube.api_client)

    def create(self, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.co.create_namespaced_custom_object(
            G, V, NS, P, body or clusterset_manifest(**kw)
        )
        return result

    def get(self, name: str = "cs") -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = self.co.get_namespaced_custom_object(G, V, NS, P, name)
        except kclient.exceptions.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return obj

    def patch(self, body: Any, name: str = "cs") -> dict[str, Any]:
        result: dict[str, Any] = self.co.patch_namespaced_custom_object(G, V, NS, P, name, body)
        return result

    def delete(self, name: str = "cs") -> None:
        self.co.delete_namespaced_custom_object(G, V, NS, P, name)

    def handle(self, obj: dict[str, Any]) -> Any:
        meta = obj["metadata"]
        wid = clusterset_workflow_id(namespace=meta["namespace"], name=meta["name"], uid=meta["uid"])
        return self.client.get_workflow_handle_for(ClusterSetWorkflow.run, wid)

    async def view(self, obj: dict[str, Any]) -> ClusterSetView:
        result: ClusterSetView = await self.handle(obj).query(ClusterSetWorkflow.status)
        return result

    async def maybe_view(self, obj: dict[str, Any]) -> ClusterSetView | None:
        """The Status query's answer, or None while the workflow does not exist yet."""
        try:
            return await self.view(obj)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise

    @asynccontextmanager
    async def watcher(
        self, identity: str = "w1", *, leader_election: LeaderElection | None = None, **overrides: Any
    ) -> AsyncIterator[RunningWatcher]:
        options: dict[str, Any] = {
            "namespace": NS,
            "task_queue": self.task_queue,
            "identity": identity,
            "watch_timeout_seconds": 30,
            "inactivity_timeout": 3.0,
            "connect_timeout": 3.0,
            "backoff_initial": 0.1,
            "backoff_max": 1.0,
            "tuning": FAST,
            "leader_election": leader_election,
        }
        settings = WatcherSettings(**{**options, **overrides})
        api_client = self.kube.new_api_client()
        stop = asyncio.Event()
        metrics = WatcherMetrics()
        task = asyncio.create_task(
            run_watcher(
                client=self.client, api_client=api_client, settings=settings, stop=stop, metrics=metrics
            )
        )
        running = RunningWatcher(metrics=metrics, stop=stop, task=task, identity=identity)
        try:
            yield running
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
            api_client.close()


@contextmanager
def _kube(tmp_path: Path, validation: bool) -> Iterator[RunningKubeSim]:
    crd = tmp_path / "crd.yaml"
    crd.write_text(crd_yaml())
    with running_kubesim(
        tmp_path, crd_files=[crd], bookmark_interval=0.3, history_size=200, validation=validation
    ) as kube:
        yield kube


@asynccontextmanager
async def make_world(
    env: WorkflowEnvironment, tmp_path: Path, *, validation: bool = True, topo: FakeTopology | None = None
) -> AsyncIterator[World]:
    with _kube(tmp_path, validation) as kube:
        temporal = pydantic_client(env.client)
        topo = topo or FakeTopology()
        task_queue = f"watcher-{uuid.uuid4().hex[:8]}"
        kube_activities = KubeActivities(
            custom_objects=kclient.CustomObjectsApi(kube.new_api_client()),
            core=kclient.CoreV1Api(kube.new_api_client()),
        )
        activities = [*topo.activities().activities(), *kube_activities.activities()]
        worker = build_worker(
            temporal,
            activities=activities,
            options=WorkerOptions(task_queue=task_queue, graceful_shutdown_seconds=1),
        )
        async with worker:
            yield World(kube=kube, client=temporal, topo=topo, task_queue=task_queue)
