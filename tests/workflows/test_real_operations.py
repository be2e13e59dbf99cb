"""The workflows with the REAL operations against mysqlsim, on the Temporal dev server.

One ClusterSet through its life: bootstrap, CLONE join (exactly one CLONE, progress in the CR status),
switchover, removal (data kept), dissolve. Then every payload of every history of the session is
scanned for the passwords the world uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from wf_harness import running_harness
from wf_world import NAMESPACE, PASSWORDS, make_env, spec_for, topology

from activities.temporal import OperationActivities
from workflows.clusterset import ClusterSetWorkflow
from workflows.models import ClusterSetPhase, ClusterSetView, DissolveRequest

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(topology(), state_dir=tmp_path_factory.mktemp("wf-real")) as w:
        yield w


def ops(view: ClusterSetView) -> list[tuple[str, str | None, str]]:
    return [(r.kind.value, r.target_cluster, r.phase.value) for r in view.operation_history]


def settled(generation: int) -> Any:
    return lambda v: v.phase is ClusterSetPhase.READY and v.observed_generation == generation


def settled_or_blocked(generation: int) -> Any:
    return lambda v: settled(generation)(v) or v.phase is ClusterSetPhase.BLOCKED


async def test_bootstrap_clone_join_and_dissolve(temporal_dev_env: WorkflowEnvironment, world: Any) -> None:
    env = make_env(world)
    operations = OperationActivities(env=env, progress_signal_seconds=0.0)
    dc2 = world.member("dc2", 0).host
    clones_before = world.ctl.clone_count(dc2)
    try:
        async with running_harness(temporal_dev_env, operations=operations, namespace=NAMESPACE) as h:
            await h.apply(spec_for(world, ["dc1", "dc2"], primary="dc1"), 1)
            view = await h.wait_for("bootstrapped and joined", settled(1), within=180)
            assert ops(view) == [("bootstrap", "dc1", "Succeeded"), ("join", "dc2", "Succeeded")], ops(view)
            assert world.ctl.clone_count(dc2) == clones_before + 1
            progress = [
                s.status.operation.progress
                for s in h.kube.statuses
                if s.status.operation is not None and s.status.operation.progress is not None
            ]
            assert progress, "no clone progress reached the CR status"
            assert view.last_observation is not None and view.last_observation.global_status == "HEALTHY"
            final = h.kube.statuses[-1].status
            assert final.primary_cluster == "dc1" and set(final.clusters) == {"dc1", "dc2"}

            await h.handle.execute_update(ClusterSetWorkflow.dissolve, DissolveRequest(uid=h.uid))
            assert (await h.handle.result()).dissolved
            assert world.ctl.clone_count(dc2) == clones_before + 1
            assert "ClusterSetDissolved" in h.kube.event_reasons()
    finally:
        await env.close()
    assert not any(p in s.model_dump_json() for s in h.kube.statuses for p in PASSWORDS)


async def test_switchover_and_removal(temporal_dev_env: WorkflowEnvironment, world: Any) -> None:
    env = make_env(world)
    operations = OperationActivities(env=env, progress_signal_seconds=0.0)
    try:
        async with running_harness(temporal_dev_env, operations=operations, namespace=NAMESPACE) as h:
            await h.apply(spec_for(world, ["dc1", "dc3"], primary="dc1"), 1)
            await h.wait_for("bootstrapped and joined", settled(1), within=180)
            await h.apply(spec_for(world, ["dc1", "dc3"], primary="dc3"), 2)
            view = await h.wait_for("switched over", settled_or_blocked(2), within=180)
            assert ops(view)[-1] == ("switchover", "dc3", "Succeeded"), ops(view)
            assert view.last_observation is not None and view.last_observation.primary_cluster == "dc3"

            await h.apply(spec_for(world, ["dc3"], primary="dc3"), 3)
            view = await h.wait_for("dc1 removed", settled_or_blocked(3), within=180)
            assert ops(view)[-1] == ("remove", "dc1", "Succeeded"), view.operation_history[-1].message
            assert view.last_observation is not None and set(view.last_observation.clusters) == {"dc3"}
            dc1 = world.ctl.instance_state(world.member("dc1", 0).host)
            assert dc1["gtid_executed"], "the removed cluster lost its data"
    finally:
        await env.close()


async def test_no_history_on_the_server_holds_a_password(temporal_dev_env: WorkflowEnvironment) -> None:
    """Runs after the dev-server tests above (same session server): every payload of every history
    (inputs, results, heartbeats, failures, search attributes) is free of the passwords they used."""
    from wf_process import histories_containing

    histories = [h async for h in temporal_dev_env.client.list_workflows()]
    assert histories, "no history to scan: the dev-server tests above did not run first"
    assert await histories_containing(temporal_dev_env.client, PASSWORDS) == {}
