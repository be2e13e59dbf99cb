"""Controlled switchover (setPrimaryCluster) on a simulated three-site ClusterSet: Percona's e2e scenario,
no acknowledged write lost under a concurrent write load, and a switchover interrupted after any step
(or killed inside one) that, run again from its first step, ends exactly like an uninterrupted one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from harness import make_env, request, root_sql, run_operation, view_count
from opsb_world import (
    build_clusterset,
    clusterset_facts,
    metadata_roles,
    rows,
    settled_status,
    three_site_spec,
    topology,
    wait_rows,
)

from activities.errors import InstanceUnreachable
from activities.models import OperationKind
from activities.steps import OperationEnv, build_steps, plan_operation


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(topology(), state_dir=tmp_path_factory.mktemp("switchover")) as w:
        yield w


@pytest.fixture
async def env(world: Any) -> AsyncIterator[OperationEnv]:
    e = make_env(ca_path=world.ca_path)
    try:
        yield e
    finally:
        await e.close()


@pytest.fixture(scope="module")
def built() -> dict[str, bool]:
    return {}


async def ensure_built(world: Any, env: OperationEnv, built: dict[str, bool]) -> None:
    if not built.get("yes"):
        await build_clusterset(world, env, three_site_spec(world))
        built["yes"] = True


def normalise(facts: dict[str, Any]) -> dict[str, Any]:
    """Channel io state ON and CONNECTING are the same 'running' (the receiver may be reconnecting)."""
    out: dict[str, Any] = {}
    for cluster, members in facts.items():
        norm = []
        for m in members:
            m = dict(m)
            if m.get("channel"):
                host, port, af, io = m["channel"]
                m["channel"] = (host, port, af, "running" if io in ("ON", "CONNECTING") else io)
            norm.append(m)
        out[cluster] = norm
    return out


async def switch(world: Any, env: OperationEnv, target: str, **kw: Any) -> Any:
    spec = three_site_spec(world, primary=target)
    return await run_operation(request(OperationKind.SWITCHOVER, spec, target=target), env, **kw)


async def test_switchover_percona_e2e(world: Any, env: OperationEnv, built: dict[str, bool]) -> None:
    await ensure_built(world, env, built)
    spec2 = three_site_spec(world, primary="dc2")
    views = await view_count(env, spec2, "dc1")

    run = await switch(world, env, "dc2")
    assert run.acted[0] == "check" and "promote_target" in run.acted
    assert run.context["old_primary_cluster"] == "dc1"
    assert await view_count(env, spec2, "dc2") == views + 1

    obs = await settled_status(env, spec2)
    assert obs.primary_cluster == "dc2", obs
    assert obs.clusters["dc2"].cluster_role == "PRIMARY"
    assert obs.clusters["dc1"].cluster_role == "REPLICA"
    assert obs.global_status == "HEALTHY", obs.model_dump()

    # writes on the new primary are seen on the old one (and on dc3)
    np = world.member("dc2", 0)

    async def np_primary() -> Any:
        for m in world.endpoints["dc2"]:
            r = await rows(m, "SELECT @@global.super_read_only AS sro")
            if not int(r[0]["sro"]):
                return m
        return np

    writer = await np_primary()
    await root_sql(writer.host, writer.port, ["INSERT INTO app.t VALUES (10,'from-dc2')"])
    for site in ("dc1", "dc3"):
        await wait_rows(world, site, "SELECT v FROM app.t WHERE id = 10", [{"v": "from-dc2"}])

    # the old primary refuses writes
    old = world.member("dc1", 0)
    with pytest.raises(Exception, match=r"read-only|1290"):
        await root_sql(old.host, old.port, ["INSERT INTO app.t VALUES (11,'nope')"])

    # dry run: every step done; a re-run changes nothing
    plan = await plan_operation(request(OperationKind.SWITCHOVER, spec2, target="dc2"), env=env)
    assert all(s.done for s in plan.steps), plan
    again = await switch(world, env, "dc2")
    assert again.acted == []

    # and back to dc1
    await switch(world, env, "dc1")
    obs = await settled_status(env, three_site_spec(world))
    assert obs.primary_cluster == "dc1" and obs.global_status == "HEALTHY", obs.model_dump()


async def test_switchover_under_write_load_loses_no_acknowledged_write(
    world: Any, env: OperationEnv, built: dict[str, bool]
) -> None:
    await ensure_built(world, env, built)
    gp = world.member("dc1", 0)
    ctl = world.ctl
    # dc2's primary applies half a second late, so the final sync under the global lock has work to do
    np = world.member("dc2", 0)
    ctl.set_apply_lag(np.host, 0.5 * float(topology()["time_scale"]))

    load = asyncio.create_task(asyncio.to_thread(ctl.write_load, gp.host, count=20000, table="app.load"))
    await asyncio.sleep(0)  # let the writer start; the switchover runs while it writes
    run = await switch(world, env, "dc2")
    result = await load
    ctl.set_apply_lag(np.host, 0)
    assert "lock_and_sync" in run.acted and "promote_target" in run.acted
    acked = result["acknowledged"]
    assert acked and result["failed"], {k: v for k, v in result.items() if k == "errors"}
    # every acknowledged write is on the new primary and on every member of every cluster
    expected = len(acked)
    for site in ("dc2", "dc1", "dc3"):
        await wait_rows(
            world,
            site,
            f"SELECT COUNT(*) AS n FROM app.load WHERE id IN ({','.join(map(str, acked))})",
            [{"n": expected}],
        )
    await switch(world, env, "dc1")


async def test_switchover_interrupted_after_demote_and_killed_in_lock(
    world: Any, env: OperationEnv, built: dict[str, bool]
) -> None:
    await ensure_built(world, env, built)
    spec2 = three_site_spec(world, primary="dc2")
    names = [s.name for s in build_steps(request(OperationKind.SWITCHOVER, spec2, target="dc2"))]

    await switch(world, env, "dc2")
    clean = normalise(await clusterset_facts(env, spec2))
    await switch(world, env, "dc1")

    views = await view_count(env, spec2, "dc1")
    first = await switch(world, env, "dc2", stop_after=names.index("demote_old_primary") + 1)
    assert first.interrupted_at == "lock_and_sync"
    second = await switch(world, env, "dc2")
    assert "switch_metadata" not in second.acted and "promote_target" in second.acted
    assert normalise(await clusterset_facts(env, spec2)) == clean
    assert await view_count(env, spec2, "dc2") == views + 1
    await switch(world, env, "dc1")

    first = await switch(world, env, "dc2", kill_in_step=names.index("lock_and_sync"), kill_after_s=0.05)
    await switch(world, env, "dc2")
    assert normalise(await clusterset_facts(env, spec2)) == clean
    await switch(world, env, "dc1")


@pytest.mark.slow
async def test_switchover_crash_after_every_step(
    world: Any, env: OperationEnv, built: dict[str, bool]
) -> None:
    await ensure_built(world, env, built)
    spec2 = three_site_spec(world, primary="dc2")
    names = [s.name for s in build_steps(request(OperationKind.SWITCHOVER, spec2, target="dc2"))]
    await switch(world, env, "dc2")
    clean = normalise(await clusterset_facts(env, spec2))
    await switch(world, env, "dc1")
    for k in range(1, len(names)):
        views = await view_count(env, spec2, "dc1")
        first = await switch(world, env, "dc2", stop_after=k)
        assert first.interrupted_at == names[k]
        await switch(world, env, "dc2")
        assert normalise(await clusterset_facts(env, spec2)) == clean, names[k]
        assert await view_count(env, spec2, "dc2") == views + 1, names[k]
        await switch(world, env, "dc1")


async def test_switchover_invalidates_a_listed_unreachable_replica(
    world: Any, env: OperationEnv, built: dict[str, bool]
) -> None:
    await ensure_built(world, env, built)
    spec2 = three_site_spec(world, primary="dc2")
    dc3 = [m.host for m in world.endpoints["dc3"]]
    others = [m.host for s in ("dc1", "dc2") for m in world.endpoints[s]]
    world.ctl.partition(dc3, [*others, "127.0.0.1"])
    try:
        with pytest.raises(InstanceUnreachable, match="dc3"):
            await switch(world, env, "dc2")
        req = request(OperationKind.SWITCHOVER, spec2, target="dc2", invalidate_clusters=["dc3"])
        run = await run_operation(req, env)
        assert "promote_target" in run.acted
        roles = {r[0]: r for r in await metadata_roles(env, spec2, "dc2")}
        assert roles["dc2"][1:] == ("PRIMARY", False) and roles["dc3"][2] is True, roles
    finally:
        world.ctl.heal()
    rejoin = await run_operation(request(OperationKind.REJOIN, spec2, target="dc3"), env)
    assert "rejoin_metadata" in rejoin.acted and "replica_channel" in rejoin.acted, rejoin.acted
    await switch(world, env, "dc1")
    obs = await settled_status(env, three_site_spec(world))
    assert obs.primary_cluster == "dc1" and obs.global_status == "HEALTHY", obs.model_dump()
