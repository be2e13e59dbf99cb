"""The watcher against kubesim and the real ClusterSet workflow: create, edit, delete, invalid spec and
the rejoin annotation, each checked on the CR (finalizer, status, annotations) and on the workflow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as kclient
from temporalio.service import RPCError, RPCStatusCode
from watcher_world import World, eventually

from activities.errors import DivergedGtids
from api.models import ANNOTATION_REJOIN, FINALIZER_DISSOLVE
from kubesim.testing import clusterset_manifest
from watcher.settings import ANNOTATION_SKIP_FINALIZER, CONDITION_INVALID_SPEC
from workflows.models import ClusterSetPhase, ClusterSetView

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _ops(view: ClusterSetView) -> list[tuple[str, str | None, str]]:
    return [(r.kind.value, r.target_cluster, r.phase.value) for r in view.operation_history]


def _conditions(obj: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in ((obj or {}).get("status") or {}).get("conditions") or []}


async def _ready(world: World, obj: dict[str, Any], generation: int = 1) -> ClusterSetView:
    async def ready() -> ClusterSetView | None:
        view = await world.maybe_view(obj)
        ok = (
            view is not None
            and view.phase is ClusterSetPhase.READY
            and view.observed_generation == generation
        )
        return view if ok else None

    view: ClusterSetView = await eventually(f"Ready at generation {generation}", ready)
    return view


async def test_create_edit_delete(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world, world.watcher() as w:
        created = world.create()
        # The watcher adds the finalizer and starts the workflow; the workflow writes status to the CR.
        await eventually(
            "finalizer", lambda: FINALIZER_DISSOLVE in (world.get() or {})["metadata"].get("finalizers", [])
        )
        view = await _ready(world, created)
        assert _ops(view) == [
            ("bootstrap", "dc1", "Succeeded"),
            ("join", "dc2", "Succeeded"),
            ("join", "dc3", "Succeeded"),
        ]
        await eventually(
            "Ready on the CR", lambda: _conditions(world.get()).get("Ready", {}).get("status") == "True"
        )
        assert (world.get() or {})["status"]["primaryCluster"] == "dc1"

        # An edit (new generation) is relayed once; status writes (no new generation) are not.
        world.patch({"spec": {"primaryCluster": "dc2"}})
        view = await _ready(world, created, generation=2)
        assert ("switchover", "dc2", "Succeeded") in _ops(view)
        assert view.generation == 2
        await eventually("counted: w.count('ApplySpec') == 2", lambda: w.count("ApplySpec") == 2)

        # Delete: Dissolve, the workflow completes dissolved, the finalizer goes, the CR is gone.
        world.delete()
        await eventually("CR gone", lambda: world.get() is None)
        result = await world.handle(created).result()
        assert result.dissolved
        await eventually(
            "counted: w.count('Dissolve', 'accepted') == 1", lambda: w.count("Dissolve", "accepted") == 1
        )
        # The CR can be gone before the watcher's call returns and is counted: wait for the count.
        await eventually("removal counted", lambda: w.count("RemoveFinalizer", "removed") == 1)


async def test_opt_out_of_the_finalizer(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world, world.watcher() as w:
        created = world.create(clusterset_manifest(annotations={ANNOTATION_SKIP_FINALIZER: "true"}))
        await _ready(world, created)
        await eventually(
            "counted: w.count('ApplySpec', 'accepted') == 1", lambda: w.count("ApplySpec", "accepted") == 1
        )
        assert FINALIZER_DISSOLVE not in ((world.get() or {})["metadata"].get("finalizers") or [])


async def test_invalid_spec_deleted_without_a_workflow_is_released(world_factory: Callable[..., Any]) -> None:
    async with world_factory(validation=False) as world, world.watcher() as w:
        body = clusterset_manifest()
        body["spec"]["primaryCluster"] = "dc9"
        world.create(body)
        await eventually("InvalidSpec condition", lambda: CONDITION_INVALID_SPEC in _conditions(world.get()))
        assert FINALIZER_DISSOLVE in (world.get() or {})["metadata"]["finalizers"]
        world.delete()  # no workflow was ever started: nothing to dissolve, the finalizer goes at once
        await eventually("CR gone", lambda: world.get() is None)
        await eventually(
            "counted: w.count('Dissolve', 'no-workflow') == 1",
            lambda: w.count("Dissolve", "no-workflow") == 1,
        )


async def test_invalid_spec_gets_a_condition_and_starts_nothing(world_factory: Callable[..., Any]) -> None:
    # kubesim without admission checks: a spec the API server would have refused reaches the watcher.
    async with world_factory(validation=False) as world, world.watcher():
        body = clusterset_manifest()
        body["spec"]["clusters"][1]["innodbClusterName"] = "dc-2"
        created = world.create(body)
        condition = await eventually(
            "InvalidSpec condition", lambda: _conditions(world.get()).get(CONDITION_INVALID_SPEC)
        )
        assert condition["status"] == "True"
        assert condition["observedGeneration"] == 1
        assert "spec.clusters[1].innodbClusterName" in condition["message"]
        assert "innodbClusterName must contain only alphanumeric characters" in condition["message"]
        with pytest.raises(RPCError) as err:
            await world.handle(created).describe()
        assert err.value.status == RPCStatusCode.NOT_FOUND

        # Fixing the spec clears the condition and starts the workflow.
        world.patch({"spec": {"clusters": clusterset_manifest()["spec"]["clusters"]}})
        await _ready(world, created, generation=2)
        await eventually("condition cleared", lambda: CONDITION_INVALID_SPEC not in _conditions(world.get()))


async def test_rejoin_annotation_success_removes_the_annotation(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world, world.watcher() as w:
        created = world.create()
        await _ready(world, created)
        world.patch({"metadata": {"annotations": {ANNOTATION_REJOIN: "dc3"}}})

        async def rejoined() -> ClusterSetView | None:
            view = await world.view(created)
            return view if ("rejoin", "dc3", "Succeeded") in _ops(view) else None

        await eventually("rejoin of dc3", rejoined)
        # The workflow (through its Kubernetes activity) removes the annotation after success.
        await eventually(
            "annotation removed",
            lambda: ANNOTATION_REJOIN not in ((world.get() or {})["metadata"].get("annotations") or {}),
        )
        view = await world.view(created)
        assert [op for op in _ops(view) if op[0] == "rejoin"] == [("rejoin", "dc3", "Succeeded")]
        await eventually(
            "counted: w.count('Rejoin', 'accepted') == 1", lambda: w.count("Rejoin", "accepted") == 1
        )


async def test_failed_rejoin_keeps_the_annotation_without_a_retry_loop(
    world_factory: Callable[..., Any],
) -> None:
    async with world_factory() as world:
        world.topo.fail[("rejoin", "check_errant")] = DivergedGtids("dc3 has errant transactions")
        created = world.create()
        async with world.watcher("w1") as w1:
            await _ready(world, created)
            world.patch({"metadata": {"annotations": {ANNOTATION_REJOIN: "dc3"}}})

            async def failed() -> bool:
                view = await world.view(created)
                return ("rejoin", "dc3", "Failed") in _ops(view)

            await eventually("failed rejoin", failed)
            await eventually("RejoinFailed condition", lambda: "RejoinFailed" in _conditions(world.get()))
            assert ANNOTATION_REJOIN in (world.get() or {})["metadata"]["annotations"]
            # Later events for the CR (status writes, a label, a re-list) do not resend the rejoin.
            world.patch({"metadata": {"labels": {"touched": "yes"}}})
            relists = w1.relists("gone")
            # Compact the history past the watcher's resourceVersion and cut the stream: the resumed
            # watch gets 410 Gone and the watcher lists again.
            world.kube.expire_watches()
            await eventually("a re-list", lambda: w1.relists("gone") > relists)
            assert w1.count("Rejoin") == 1
        # A restarted watcher (no memory) sends it again; the workflow's validator refuses the repeat.
        async with world.watcher("w2") as w2:
            await eventually(
                "rejected repeat", lambda: w2.count("Rejoin", "rejected:RejoinAlreadyFailed") == 1
            )
        view = await world.view(created)
        assert [op for op in _ops(view) if op[0] == "rejoin"] == [("rejoin", "dc3", "Failed")]


async def test_all_namespaces(world_factory: Callable[..., Any]) -> None:
    async with world_factory() as world, world.watcher(namespace=None) as w:
        kclient.CoreV1Api(world.kube.api_client).create_namespace({"metadata": {"name": "other"}})
        here = world.create()
        there = world.co.create_namespaced_custom_object(
            "ps.percona.com",
            "v1",
            "other",
            "perconaservermysqlclustersets",
            clusterset_manifest(namespace="other"),
        )
        await _ready(world, here)
        await _ready(world, there)
        await eventually(
            "counted: w.count('ApplySpec', 'accepted') == 2", lambda: w.count("ApplySpec", "accepted") == 2
        )
