"""Forced failover (forcePrimaryCluster) with the primary site partitioned away: refused while the primary
answers; the transactions the new primary received but had not applied are applied, not dropped; the
report names exactly the acknowledged writes the new primary lacks; the old primary is fenced as soon as
it answers again, and its rejoin is refused naming its errant GTIDs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from harness import make_env, observe, request, root_sql, run_operation, wait_until
from opsb_world import (
    build_clusterset,
    member_facts,
    metadata_roles,
    rows,
    settled_status,
    three_site_spec,
    topology,
    wait_rows,
)

from activities.errors import DivergedGtids, InstanceUnreachable, PrimaryClusterReachable
from activities.failover import CTX_LAST_SEEN
from activities.gtid import GtidSet
from activities.models import OperationKind
from activities.steps import OperationEnv, build_steps


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(topology(), state_dir=tmp_path_factory.mktemp("failover")) as w:
        yield w


@pytest.fixture
async def env(world: Any) -> AsyncIterator[OperationEnv]:
    e = make_env(ca_path=world.ca_path)
    try:
        yield e
    finally:
        await e.close()


def cut_off(world: Any, site: str) -> None:
    """Partition `site` from every other site AND from us (the orchestrator connects from 127.0.0.1)."""
    inside = [m.host for m in world.endpoints[site]]
    outside = [m.host for s, ms in world.endpoints.items() if s != site for m in ms] + ["127.0.0.1"]
    world.ctl.partition(inside, outside)


@pytest.fixture(scope="module")
def built() -> dict[str, bool]:
    return {}


async def ensure_built(world: Any, env: OperationEnv, built: dict[str, bool]) -> None:
    if not built.get("yes"):
        await build_clusterset(world, env, three_site_spec(world))
        built["yes"] = True


async def failover_facts(env: OperationEnv, spec: Any) -> dict[str, Any]:
    """What a finished failover leaves on the clusters that answer (dc1 is cut off)."""
    return {
        "roles": await metadata_roles(env, spec, "dc2"),
        "dc2": await member_facts(env, spec, "dc2"),
        "dc3": await member_facts(env, spec, "dc3"),
    }


def _running(facts: dict[str, Any]) -> dict[str, Any]:
    for cluster in ("dc2", "dc3"):
        for m in facts[cluster]:
            if m.get("channel"):
                host, port, af, io = m["channel"]
                m["channel"] = (host, port, af, "running" if io in ("ON", "CONNECTING") else io)
    return facts


async def replicas_have(world: Any, gtids: str, *, within: float = 30.0) -> None:
    """Wait until every member of dc2 and dc3 has `gtids` (the primary's last writes, e.g. the metadata of
    the previous operation): cut off before that, dc3 may hold a transaction dc2 has not received yet, and
    the failover to dc2 is rightly refused ("target cluster is behind", spec 2.d step 6)."""
    wanted = GtidSet.parse(gtids)
    for site in ("dc2", "dc3"):
        for m in world.endpoints[site]:

            async def caught_up(host: str = m.host) -> bool:
                return wanted.issubset(GtidSet.parse(world.ctl.instance_state(host)["gtid_executed"]))

            await wait_until(caught_up, within=within, what=f"{m.host} ({site}) to have {gtids}")


async def failover_round(world: Any, env: OperationEnv, **interrupt: Any) -> dict[str, Any]:
    """Cut dc1 off, fail over to dc2 (interrupted as asked, then run again from the first step), record
    the facts, heal, rejoin dc1 and switch back to dc1."""
    spec2 = three_site_spec(world, primary="dc2")
    gp = world.member("dc1", 0)
    last_seen = world.ctl.instance_state(gp.host)["gtid_executed"]
    await replicas_have(world, last_seen)
    cut_off(world, "dc1")
    req = request(OperationKind.FAILOVER, spec2, target="dc2", force=True, context={CTX_LAST_SEEN: last_seen})
    try:
        if interrupt:
            await run_operation(req, env, **interrupt)
        run = await run_operation(req, env)
        assert run.context["lost_transaction_count"] == "0", run.context
        facts = _running(await failover_facts(env, spec2))
    finally:
        world.ctl.heal()
    rejoin = await run_operation(request(OperationKind.REJOIN, spec2, target="dc1"), env)
    assert "rejoin_metadata" in rejoin.acted, rejoin.acted
    back = three_site_spec(world, primary="dc1")
    await run_operation(request(OperationKind.SWITCHOVER, back, target="dc1"), env)
    return facts


async def test_forced_failover_interrupted_then_rejoin(
    world: Any, env: OperationEnv, built: dict[str, bool]
) -> None:
    await ensure_built(world, env, built)
    spec2 = three_site_spec(world, primary="dc2")
    names = [s.name for s in build_steps(request(OperationKind.FAILOVER, spec2, target="dc2", force=True))]
    clean = await failover_round(world, env)
    roles = {r[0]: r for r in clean["roles"]}
    assert roles["dc2"][1:] == ("PRIMARY", False) and roles["dc1"][2] is True, roles
    interrupted = await failover_round(world, env, stop_after=names.index("force_metadata"))
    assert interrupted == clean
    killed = await failover_round(world, env, kill_in_step=names.index("promote_target"), kill_after_s=0.05)
    assert killed == clean
    obs = await settled_status(env, three_site_spec(world))
    assert obs.primary_cluster == "dc1" and obs.global_status == "HEALTHY", obs.model_dump()


async def test_forced_failover_invalidates_listed_unreachable_replicas(
    world: Any, env: OperationEnv, built: dict[str, bool]
) -> None:
    await ensure_built(world, env, built)
    spec2 = three_site_spec(world, primary="dc2")
    gp = world.member("dc1", 0)
    last_seen = world.ctl.instance_state(gp.host)["gtid_executed"]
    inside = [m.host for s in ("dc1", "dc3") for m in world.endpoints[s]]
    world.ctl.partition(inside, [m.host for m in world.endpoints["dc2"]] + ["127.0.0.1"])
    try:
        unlisted = request(OperationKind.FAILOVER, spec2, target="dc2", force=True)
        with pytest.raises(InstanceUnreachable, match="dc3"):
            await run_operation(unlisted, env)
        listed = request(
            OperationKind.FAILOVER,
            spec2,
            target="dc2",
            force=True,
            invalidate_clusters=["dc3"],
            context={CTX_LAST_SEEN: last_seen},
        )
        run = await run_operation(listed, env)
        assert run.context["lost_transaction_count"] == "0"
        roles = {r[0]: r for r in await metadata_roles(env, spec2, "dc2")}
        assert roles["dc2"][1:] == ("PRIMARY", False)
        assert roles["dc1"][2] is True and roles["dc3"][2] is True, roles
    finally:
        world.ctl.heal()
    for cluster in ("dc3", "dc1"):
        rejoin = await run_operation(request(OperationKind.REJOIN, spec2, target=cluster), env)
        assert "rejoin_metadata" in rejoin.acted, (cluster, rejoin.acted)
    await run_operation(request(OperationKind.SWITCHOVER, three_site_spec(world), target="dc1"), env)
    obs = await settled_status(env, three_site_spec(world))
    assert obs.primary_cluster == "dc1" and obs.global_status == "HEALTHY", obs.model_dump()


@pytest.mark.slow
async def test_forced_failover_crash_after_every_step(
    world: Any, env: OperationEnv, built: dict[str, bool]
) -> None:
    await ensure_built(world, env, built)
    spec2 = three_site_spec(world, primary="dc2")
    names = [s.name for s in build_steps(request(OperationKind.FAILOVER, spec2, target="dc2", force=True))]
    clean = await failover_round(world, env)
    for k in range(1, len(names)):
        assert await failover_round(world, env, stop_after=k) == clean, names[k]


async def test_forced_failover_with_primary_site_partitioned(
    world: Any, env: OperationEnv, built: dict[str, bool]
) -> None:
    await ensure_built(world, env, built)
    ctl = world.ctl
    gp = world.member("dc1", 0)
    await wait_rows(world, "dc2", "SELECT COUNT(*) AS n FROM app.t", [{"n": 3}])

    # refused while the primary cluster answers
    spec2 = three_site_spec(world, primary="dc2")
    with pytest.raises(PrimaryClusterReachable, match="dc1 is reachable"):
        await run_operation(request(OperationKind.FAILOVER, spec2, target="dc2", force=True), env)

    # dc2's primary receives but does not apply for a while: these writes sit in its relay log
    np = world.member("dc2", 0)
    scale = float(topology()["time_scale"])  # apply lag is in simulated seconds
    ctl.set_apply_lag(np.host, 600 * scale)
    relayed = (await asyncio.to_thread(ctl.write_load, gp.host, count=5, table="app.relayed"))["acknowledged"]

    async def received_all() -> bool:
        st = ctl.instance_state(np.host)
        got = GtidSet.parse(
            st["channels"].get("clusterset_replication", {}).get("received_transaction_set", "")
        )
        return GtidSet.parse(ctl.instance_state(gp.host)["gtid_executed"]).issubset(
            got.union(GtidSet.parse(st["gtid_executed"]))
        )

    await wait_until(received_all, within=30, what="dc2 to receive the relayed writes")

    # the table exists everywhere first, so that what dc1 writes while cut off is only the acknowledged rows
    await asyncio.to_thread(ctl.write_load, gp.host, count=0, table="app.lost")
    await wait_rows(world, "dc3", "SELECT COUNT(*) AS n FROM app.lost", [{"n": 0}])
    # and dc2 has received it too: else dc3 is ahead of dc2 and the failover rightly refuses dc2
    await wait_until(received_all, within=30, what="dc2 to receive the CREATE TABLE of app.lost")

    # the primary site is cut off (from the other sites and from us) and keeps acknowledging writes
    cut_off(world, "dc1")
    before = GtidSet.parse(ctl.instance_state(gp.host)["gtid_executed"])
    lost_rows = (await asyncio.to_thread(ctl.write_load, gp.host, count=7, table="app.lost"))["acknowledged"]
    assert len(lost_rows) == 7
    last_seen = GtidSet.parse(ctl.instance_state(gp.host)["gtid_executed"])
    written_while_cut = last_seen.subtract(before)
    # still unapplied when the failover starts, due in ~2 s: MySQL Shell's RESET REPLICA ALL drops them
    ctl.set_apply_lag(np.host, 2 * scale)

    req = request(
        OperationKind.FAILOVER,
        spec2,
        target="dc2",
        force=True,
        context={CTX_LAST_SEEN: str(last_seen)},
    )
    run = await run_operation(req, env)
    # the relay log was applied before the channel was reset: nothing of it dropped
    assert GtidSet.parse(run.context["applied_before_reset"]).count() >= len(relayed)
    ctl.set_apply_lag(np.host, 0)
    got = await rows(np, f"SELECT COUNT(*) AS n FROM app.relayed WHERE id IN ({','.join(map(str, relayed))})")
    assert got == [{"n": len(relayed)}]
    # exactly the acknowledged writes made while cut off are reported lost
    lost = GtidSet.parse(run.context["lost_gtid_set"])
    assert written_while_cut.count() == len(lost_rows)
    assert lost == written_while_cut
    assert int(run.context["lost_transaction_count"]) == len(lost_rows)
    assert run.context.get("fence_pending") == "dc1"
    assert await rows(
        np, f"SELECT COUNT(*) AS n FROM app.lost WHERE id IN ({','.join(map(str, lost_rows))})"
    ) == [{"n": 0}]

    # the new primary is writable, the others replicate from it; dc1 is invalidated in the metadata
    assert ("dc1", "PRIMARY", True) not in await metadata_roles(env, spec2, "dc2")
    roles = await metadata_roles(env, spec2, "dc2")
    assert ("dc2", "PRIMARY", False) in roles and ("dc3", "REPLICA", False) in roles
    assert any(r[0] == "dc1" and r[2] for r in roles), roles
    await root_sql(np.host, np.port, ["INSERT INTO app.t VALUES (50,'after-failover')"])
    await wait_rows(world, "dc3", "SELECT v FROM app.t WHERE id = 50", [{"v": "after-failover"}])

    # the old primary comes back: fenced before anything can write to it
    ctl.heal()
    fence = await run_operation(request(OperationKind.FENCE, spec2, target="dc1"), env)
    assert fence.acted == ["fence_members", "disable_sro_action"]
    for m in await member_facts(env, spec2, "dc1"):
        assert m["sro"] and m["sro_persisted"] in ("ON", "1") and m["offline_mode"], m
        assert m["actions"].get("mysql_disable_super_read_only_if_primary") is False, m
    refused = await asyncio.to_thread(ctl.write_load, gp.host, count=3, table="app.lost")
    assert refused["acknowledged"] == [] and len(refused["failed"]) == 3
    with pytest.raises(Exception, match=r"read-only|1290"):
        await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (51,'nope')"])

    # its rejoin is refused, naming the errant GTIDs (the writes it acknowledged while cut off)
    with pytest.raises(DivergedGtids) as err:
        await run_operation(request(OperationKind.REJOIN, spec2, target="dc1"), env)
    assert GtidSet.parse(err.value.errant) == written_while_cut
    assert str(written_while_cut).split(":")[0] in str(err.value)

    obs = await observe(env, spec2)
    assert obs.primary_cluster == "dc2"
    assert obs.clusters["dc1"].global_status == "INVALIDATED", obs.clusters
