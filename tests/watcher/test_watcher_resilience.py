"""The watcher survives what Kubernetes and restarts do to it: 410 Gone, dropped and stalled streams, two
watchers at once, a restart in the middle of a dissolve, a stuck deletion (release-finalizer), leader
election; and it reports liveness and metrics."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from watcher_world import World, eventually

from api.models import FINALIZER_DISSOLVE
from watcher.kube import ClusterSetKube
from watcher.metrics import WatcherMetrics
from watcher.release import ReleaseError, release_finalizer
from watcher.runner import serve_health
from watcher.settings import LeaderElection
from workflows.models import ClusterSetPhase, ClusterSetView, DissolveRequest

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _ops(view: ClusterSetView) -> list[tuple[str, str | None, str]]:
    return [(r.kind.value, r.target_cluster, r.phase.value) for r in view.operation_history]


async def _generation_accepted(world: World, obj: dict[str, Any], generation: int) -> ClusterSetView:
    async def accepted() -> ClusterSetView | None:
        view = await world.maybe_view(obj)
        return view if view is not None and view.generation >= generation else None

    view: ClusterSetView = await eventually(f"generation {generation} accepted", accepted)
    return view


async def _ready(world: World, obj: dict[str, Any], generation: int = 1) -> ClusterSetView:
    async def ready() -> ClusterSetView | None:
        view = await world.maybe_view(obj)
        ok = (
            view is not None
            and view.phase is ClusterSetPhase.READY
            and view.observed_generation == generation
        )
        return view if ok else None

    view: ClusterSetView = await eventually("Ready", ready)
    return view


async def test_relists_after_410_gone(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world, world.watcher() as w:
        await eventually("first list", lambda: w.metrics.listed)
        # Compact the history past the watcher's resourceVersion and cut the stream: the resumed
        # watch gets 410 Gone and the watcher lists again.
        world.kube.expire_watches()
        await eventually("re-list after 410", lambda: w.relists("gone") >= 1)
        created = world.create()
        await _generation_accepted(world, created, 1)


async def test_resumes_a_dropped_stream_without_losing_events(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world, world.watcher() as w:
        created = world.create()
        await _generation_accepted(world, created, 1)
        for _ in range(3):
            world.kube.drop_watches()
            world.patch(
                {"spec": {"sslMode": "REQUIRED"}} if _ == 0 else {"metadata": {"labels": {"n": str(_)}}}
            )
        await _generation_accepted(world, created, 2)
        assert w.relists("gone") == 0  # resumed from the last resourceVersion, no fresh list needed


async def test_relists_when_the_stream_stalls(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world, world.watcher(inactivity_timeout=1.0) as w:
        await eventually("first list", lambda: w.metrics.listed)
        world.kube.stall_watches()
        try:
            created = world.create()  # the open stream never delivers this event
            await eventually("re-list after a stall", lambda: w.relists("stalled") + w.relists("error") >= 1)
            await _generation_accepted(world, created, 1)  # the list saw the CR
        finally:
            world.kube.stall_watches(False)


async def test_two_watchers_at_once_cause_no_duplicate_operation(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world, world.watcher("w1") as w1, world.watcher("w2") as w2:
        created = world.create()
        await _ready(world, created)
        world.patch({"spec": {"primaryCluster": "dc2"}})
        view = await _ready(world, created, generation=2)
        assert _ops(view) == [
            ("bootstrap", "dc1", "Succeeded"),
            ("join", "dc2", "Succeeded"),
            ("join", "dc3", "Succeeded"),
            ("switchover", "dc2", "Succeeded"),
        ]
        # Both watchers relayed both generations; Temporal deduplicated them by update id
        # (spec-<uid>-<generation>) or the validator answered StaleGeneration: one operation each.
        await eventually(
            "counted: w1.count('ApplySpec') == 2 and w2.count('ApplySpec') == 2",
            lambda: w1.count("ApplySpec") == 2 and w2.count("ApplySpec") == 2,
        )
        assert view.generation == 2
        assert (world.get() or {})["metadata"]["finalizers"] == [FINALIZER_DISSOLVE]
        world.delete()
        await eventually("CR gone", lambda: world.get() is None)
        view = await world.view(created)
        assert [op[2] for op in _ops(view) if op[0] == "dissolve"] == ["Succeeded"]
        await eventually(
            "one removal counted", lambda: w1.count("RemoveFinalizer") + w2.count("RemoveFinalizer") == 1
        )


async def test_restart_in_the_middle_of_a_dissolve(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world:
        world.topo.hang.add(("dissolve", "dissolve"))
        async with world.watcher("first") as first:
            created = world.create()
            await _ready(world, created)
            world.delete()

            async def dissolving() -> bool:
                view = await world.view(created)
                return view.current_operation is not None and view.current_operation.kind.value == "dissolve"

            await eventually("dissolve running", dissolving)
            await eventually(
                "counted: first.count('Dissolve', 'accepted') == 1",
                lambda: first.count("Dissolve", "accepted") == 1,
            )
        # The first watcher is gone mid-dissolve; the CR still carries the finalizer.
        assert FINALIZER_DISSOLVE in (world.get() or {})["metadata"]["finalizers"]
        async with world.watcher("second") as second:
            await eventually("second watcher listed", lambda: second.metrics.listed)
            world.topo.release(("dissolve", "dissolve"))
            await eventually("CR gone", lambda: world.get() is None)
        result = await world.handle(created).result()
        assert result.dissolved
        view = await world.view(created)
        assert len([op for op in _ops(view) if op[0] == "dissolve"]) == 1


async def test_release_finalizer_escape_hatch(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world:
        world.topo.hang.add(("dissolve", "dissolve"))  # the primary is gone: the dissolve never ends
        kube = ClusterSetKube(world.kube.api_client)
        async with world.watcher():
            created = world.create()
            await _ready(world, created)
            with pytest.raises(ReleaseError, match="is not being deleted"):
                await release_finalizer(
                    client=world.client, kube=kube, namespace="default", name="cs", reason="x"
                )
            world.delete()

            async def dissolving() -> bool:
                view = await world.view(created)
                return view.current_operation is not None and view.current_operation.kind.value == "dissolve"

            await eventually("dissolve running", dissolving)
            outcome = await release_finalizer(
                client=world.client, kube=kube, namespace="default", name="cs", reason="dc1 lost in a fire"
            )
            assert outcome.workflow_terminated and outcome.finalizer_removed
            await eventually("CR gone", lambda: world.get() is None)
        description = await world.handle(created).describe()
        assert description.status == WorkflowExecutionStatus.TERMINATED
        events = kube.core.list_namespaced_event("default")
        released = [e for e in events.items if e.reason == "FinalizerReleased"]
        assert len(released) == 1 and "dc1 lost in a fire" in released[0].message


async def test_leader_election_one_leads_and_a_standby_takes_over(world_factory: Callable[..., Any]) -> None:
    election = LeaderElection(lease_namespace="default", lease_duration_seconds=5, renew_interval_seconds=0.3)
    async with world_factory() as world, world.watcher("a", leader_election=election) as a:
        await eventually("a leads", lambda: a.metrics.leader._value.get() == 1)
        async with world.watcher("b", leader_election=election) as b:
            created = world.create()
            await _generation_accepted(world, created, 1)
            assert b.metrics.leader._value.get() == 0
            assert not b.metrics.listed  # the standby does not even list
            a.stop.set()  # the leader steps down cleanly and releases the Lease
            await asyncio.wait_for(a.task, timeout=30)
            await eventually("b leads", lambda: b.metrics.leader._value.get() == 1)
            world.patch({"spec": {"sslMode": "REQUIRED"}})
            await _generation_accepted(world, created, 2)
            await eventually("counted: b.count('ApplySpec') >= 1", lambda: b.count("ApplySpec") >= 1)


async def test_health_and_metrics_endpoints() -> None:
    metrics = WatcherMetrics()
    runner = await serve_health(metrics, bind="127.0.0.1:0", liveness_max_age=0.5)
    try:
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}"

        def fetch(path: str) -> tuple[int, str]:
            try:
                with urllib.request.urlopen(base + path, timeout=5) as resp:
                    return resp.status, resp.read().decode()
            except urllib.error.HTTPError as err:
                return err.code, err.read().decode()

        assert (await asyncio.to_thread(fetch, "/readyz"))[0] == 503
        metrics.listed = True
        metrics.saw_event("BOOKMARK")
        metrics.updates.labels(update="ApplySpec", outcome="accepted").inc()
        assert (await asyncio.to_thread(fetch, "/readyz"))[0] == 200
        assert (await asyncio.to_thread(fetch, "/healthz"))[0] == 200
        status, text = await asyncio.to_thread(fetch, "/metrics")
        assert status == 200
        assert 'clusterset_watcher_events_total{type="BOOKMARK"} 1.0' in text
        assert 'clusterset_watcher_updates_sent_total{outcome="accepted",update="ApplySpec"} 1.0' in text
        assert "clusterset_watcher_last_event_age_seconds" in text
        await eventually("liveness fails when events stop", lambda: metrics.age() > 0.5)
        assert (await asyncio.to_thread(fetch, "/healthz"))[0] == 503
    finally:
        await runner.cleanup()


async def test_restart_after_the_workflow_dissolved_but_before_the_finalizer_went(
    world_factory: Callable[..., Any],
) -> None:
    async with world_factory() as world:
        async with world.watcher("first"):
            created = world.create()
            await _ready(world, created)
        # No watcher now: the CR is deleted and the workflow finishes dissolving (as if the watcher died
        # right after sending Dissolve); the finalizer is still there.
        world.delete()
        handle = world.handle(created)
        await handle.execute_update(
            "Dissolve", DissolveRequest(uid=created["metadata"]["uid"], requested_by="test"), id="manual"
        )
        assert (await handle.result()).dissolved
        assert FINALIZER_DISSOLVE in (world.get() or {})["metadata"]["finalizers"]
        async with world.watcher("second") as second:
            await eventually(
                "CR gone", lambda: world.get() is None, detail=lambda: f"{world.get()} / {second.summary()}"
            )
            await eventually(
                "removal counted",
                lambda: second.count("RemoveFinalizer", "removed") == 1,
                detail=second.summary,
            )
