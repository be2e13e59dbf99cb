"""Benchmarks of the orchestration layer (mocked operations, real Temporal dev server), printed as figures.

1. Latency from the ApplySpec update (sent by the watcher) to the first activity the workflow starts for
   it (p50, p99 over 100 edits).
2. Orchestration overhead per step: an operation of N no-op steps, wall time per step.
3. Worker CPU per ClusterSet per status refresh, with 200 ClusterSets on one worker (refresh every 1 s).

    .venv/bin/python bench/bench_workflows.py [--edits 100] [--steps 50] [--clustersets 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path[:0] = [
    str(Path(__file__).resolve().parent.parent),
    str(Path(__file__).resolve().parent.parent / "tests"),
]

from temporalio.client import Client  # noqa: E402
from temporalio.common import SearchAttributeKey  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from activities.models import (  # noqa: E402
    ClusterSetObservation,
    ObserveInput,
    OperationKind,
    OperationPlan,
    OperationRequest,
    StepInput,
    StepPlan,
    StepResult,
)
from activities.temporal import OperationActivities  # noqa: E402
from api.models import ClusterSetSpec, ClusterStatus  # noqa: E402
from worker.binaries import temporal_cli  # noqa: E402
from worker.entity import apply_spec  # noqa: E402
from worker.run import WorkerOptions, build_worker  # noqa: E402
from workflows.models import WorkflowTuning  # noqa: E402

TUNING = WorkflowTuning(idle_timeout_seconds=3600)


def spec(n_clusters: int = 2, *, refresh: int = 1, donor: str = "secondary") -> ClusterSetSpec:
    return ClusterSetSpec.model_validate(
        {
            "primaryCluster": "dc1",
            "clusters": [
                {"innodbClusterName": f"dc{i + 1}", "endpoints": [{"host": f"127.0.8.{i + 1}"}]}
                for i in range(n_clusters)
            ],
            "credentialsSecret": {"name": "s"},
            "statusRefreshIntervalSeconds": refresh,
            "cloneOptions": {"donor": donor},
        }
    )


class Mock:
    """Operations that do nothing: a HEALTHY ClusterSet of whatever the spec lists."""

    def __init__(self, *, steps: int = 2) -> None:
        self.steps = steps
        self.observed: list[float] = []
        self.step_times: list[float] = []

    async def plan(self, req: OperationRequest, *, env: Any) -> OperationPlan:
        n = self.steps if req.kind is OperationKind.GROW else 1
        return OperationPlan(
            kind=req.kind, steps=[StepPlan(name=f"s{i}", summary=f"step {i}") for i in range(n)]
        )

    async def step(
        self, inp: StepInput, *, env: Any, on_progress: Any = None, resume: Any = None
    ) -> StepResult:
        self.step_times.append(time.perf_counter())
        return StepResult(step=inp.step, already_done=True)

    async def observe(self, inp: ObserveInput, *, env: Any) -> ClusterSetObservation:
        self.observed.append(time.perf_counter())
        names = [c.innodb_cluster_name for c in inp.spec.clusters]
        return ClusterSetObservation(
            reachable=True,
            bootstrapped=True,
            primary_cluster=inp.spec.primary_cluster,
            global_status="HEALTHY",
            clusters={n: ClusterStatus(global_status="OK") for n in names},
        )

    def activities(self) -> OperationActivities:
        return OperationActivities(env=None, plan_fn=self.plan, step_fn=self.step, observe_fn=self.observe)


class NoKube:
    def activities(self) -> list[Any]:
        from activities.kube import DisconnectedKubeActivities

        return DisconnectedKubeActivities().activities()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def wait_until(predicate: Any, *, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0.001)


async def bench_latency(client: Client, edits: int) -> None:
    mock = Mock()
    tq = f"bench-{uuid.uuid4().hex[:6]}"
    async with build_worker(
        client,
        activities=[*mock.activities().activities(), *NoKube().activities()],
        options=WorkerOptions(task_queue=tq),
    ):
        uid = uuid.uuid4().hex[:8]
        common = {"namespace": "bench", "name": "latency", "uid": uid, "task_queue": tq, "tuning": TUNING}
        # refresh interval long, so the only observe after an edit is the one the edit causes
        _, handle = await apply_spec(client, generation=1, spec=spec(refresh=3600), **common)
        await wait_until(lambda: len(mock.observed) >= 1)
        await asyncio.sleep(0.5)
        latencies: list[float] = []
        for gen in range(2, edits + 2):
            before = len(mock.observed)
            t0 = time.perf_counter()
            donor = "primary" if gen % 2 else "secondary"  # a real spec change, no operation needed
            await apply_spec(client, generation=gen, spec=spec(refresh=3600, donor=donor), **common)
            await wait_until(lambda before=before: len(mock.observed) > before)
            latencies.append((mock.observed[before] - t0) * 1000)
        await handle.terminate("benchmark done")
    print(
        f"ApplySpec -> first activity start over {edits} edits: p50 {pct(latencies, 50):.1f} ms, "
        f"p99 {pct(latencies, 99):.1f} ms, mean {statistics.mean(latencies):.1f} ms"
    )


async def bench_step_overhead(client: Client, steps: int) -> None:
    mock = Mock(steps=steps)
    tq = f"bench-{uuid.uuid4().hex[:6]}"
    async with build_worker(
        client,
        activities=[*mock.activities().activities(), *NoKube().activities()],
        options=WorkerOptions(task_queue=tq),
    ):
        from activities.models import ClusterSetRef
        from workflows.models import OperationWorkflowInput
        from workflows.operation import OperationWorkflow

        req = OperationRequest(
            kind=OperationKind.GROW,
            clusterset=ClusterSetRef(namespace="bench", name="steps", uid="u"),
            spec=spec(),
            target_cluster="dc2",
            operation_id="bench-op",
        )
        t0 = time.perf_counter()
        await client.execute_workflow(
            OperationWorkflow.run,
            OperationWorkflowInput(request=req, entity_workflow_id="none"),
            id=f"bench-steps-{uuid.uuid4().hex[:6]}",
            task_queue=tq,
        )
        total = time.perf_counter() - t0
    gaps = [(b - a) * 1000 for a, b in zip(mock.step_times, mock.step_times[1:], strict=False)]
    print(
        f"operation of {steps} no-op steps: {total * 1000:.0f} ms total, "
        f"{total * 1000 / steps:.1f} ms per step (step-to-step p50 {pct(gaps, 50):.1f} ms, "
        f"p99 {pct(gaps, 99):.1f} ms; the steps themselves do nothing)"
    )


async def bench_refresh_cpu(client: Client, clustersets: int, seconds: float) -> None:
    mock = Mock()
    tq = f"bench-{uuid.uuid4().hex[:6]}"
    handles = []
    async with build_worker(
        client,
        activities=[*mock.activities().activities(), *NoKube().activities()],
        options=WorkerOptions(
            task_queue=tq, max_concurrent_activities=400, max_concurrent_workflow_tasks=200
        ),
    ):
        for i in range(clustersets):
            _, h = await apply_spec(
                client,
                namespace="bench",
                name=f"cs{i}",
                uid=uuid.uuid4().hex[:8],
                generation=1,
                spec=spec(refresh=1),
                task_queue=tq,
                tuning=TUNING,
            )
            handles.append(h)
        await wait_until(lambda: len(mock.observed) >= 2 * clustersets, within=120)
        await asyncio.sleep(2)  # past the start-up burst
        n0, c0, w0 = len(mock.observed), time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        n1, c1, w1 = len(mock.observed), time.process_time(), time.perf_counter()
        for h in handles:
            await h.terminate("benchmark done")
    refreshes = n1 - n0
    cpu_ms = (c1 - c0) * 1000
    print(
        f"{clustersets} ClusterSets refreshing every 1 s for {w1 - w0:.1f} s: {refreshes} refreshes "
        f"({refreshes / (w1 - w0):.0f}/s), worker process CPU {cpu_ms:.0f} ms = "
        f"{cpu_ms / max(refreshes, 1):.2f} ms per ClusterSet per refresh "
        f"({(c1 - c0) / (w1 - w0) * 100:.0f}% of one core)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--clustersets", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()),
        search_attributes=[
            SearchAttributeKey.for_keyword("ClusterSetName"),
            SearchAttributeKey.for_keyword("ClusterSetPhase"),
        ],
        dev_server_log_level="error",
    )
    try:
        client = Client(**{**env.client.config(), "data_converter": pydantic_data_converter})
        await bench_latency(client, args.edits)
        await bench_step_overhead(client, args.steps)
        await bench_refresh_cpu(client, args.clustersets, args.seconds)
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
    # The SDK's core threads can abort a normal interpreter shutdown after many workflows were
    # terminated; everything is printed and closed by now, so leave directly.
    sys.stdout.flush()
    os._exit(0)
