"""rejoinCluster (a replica whose channel was stopped; one whose group is down, rebooted first; a diverged
one refused naming its errant GTID), removeCluster (data kept; forced for an unreachable cluster) and
dissolve (the primary keeps its InnoDB Cluster and its rows), on one simulated three-site ClusterSet."""

from __future__ import annotations

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

from activities.errors import DivergedGtids, FailedPrecondition
from activities.gtid import GtidSet
from activities.models import OperationKind
from activities.steps import OperationEnv, build_steps


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(topology(), state_dir=tmp_path_factory.mktemp("rejoin")) as w:
        yield w


@pytest.fixture
async def env(world: Any) -> AsyncIterator[OperationEnv]:
    e = make_env(ca_path=world.ca_path)
    try:
        yield e
    finally:
        await e.close()


async def _channel_on(world: Any, site: str) -> bool:
    st = world.ctl.instance_state(world.member(site, 0).host)
    ch = st["channels"].get("clusterset_replication")
    return bool(ch) and ch["receiver"] in ("ON", "CONNECTING") and ch["applier"] == "ON"


async def test_rejoin_remove_dissolve(world: Any, env: OperationEnv) -> None:
    spec = three_site_spec(world)
    await build_clusterset(world, env, spec)
    dc3 = world.member("dc3", 0)
    gp = world.member("dc1", 0)

    # -- a healthy replica: rejoin is a no-op refresh (Percona's annotation on a healthy replica)
    # (its group's view-change GTIDs are reconciled into the global primary, spec §1.12, as the Shell does)
    healthy = await run_operation(request(OperationKind.REJOIN, spec, target="dc3"), env)
    assert set(healthy.acted) <= {"reconcile_view_changes"}, healthy.acted
    again = await run_operation(request(OperationKind.REJOIN, spec, target="dc3"), env)
    assert again.acted == [], again.acted

    # -- a replica whose channel was stopped by hand is OK_NOT_REPLICATING; rejoin repairs it
    await root_sql(dc3.host, dc3.port, ["STOP REPLICA FOR CHANNEL 'clusterset_replication'"])
    obs = await observe(env, spec)
    assert obs.clusters["dc3"].global_status == "OK_NOT_REPLICATING", obs.clusters
    fixed = await run_operation(request(OperationKind.REJOIN, spec, target="dc3"), env)
    assert "replica_channel" in fixed.acted
    await wait_until(lambda: _channel_on(world, "dc3"), within=30, what="dc3's channel")
    await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (20,'after-rejoin')"])
    await wait_rows(world, "dc3", "SELECT v FROM app.t WHERE id = 20", [{"v": "after-rejoin"}])

    # -- its group is down (the one member restarted and did not bootstrap): rejoin reboots it first
    world.ctl.restart(dc3.host)

    async def group_down() -> bool:
        try:
            st = world.ctl.instance_state(dc3.host)
        except Exception:
            return False
        return st["gr_state"] in ("OFFLINE", "ERROR", None, "")

    await wait_until(group_down, within=30, what="dc3 back without its group")
    rebooted = await run_operation(request(OperationKind.REJOIN, spec, target="dc3"), env)
    assert "reboot_group" in rebooted.acted, rebooted.acted
    await wait_until(lambda: _channel_on(world, "dc3"), within=30, what="dc3's channel after the reboot")
    await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (21,'after-reboot')"])
    await wait_rows(world, "dc3", "SELECT v FROM app.t WHERE id = 21", [{"v": "after-reboot"}])

    # -- a diverged replica: its rejoin is refused, naming the errant GTID
    errant = world.ctl.inject_errant(dc3.host)
    await root_sql(dc3.host, dc3.port, ["STOP REPLICA FOR CHANNEL 'clusterset_replication'"])
    with pytest.raises(DivergedGtids) as err:
        await run_operation(request(OperationKind.REJOIN, spec, target="dc3"), env)
    assert GtidSet.parse(err.value.errant) == GtidSet.parse(errant)
    assert errant.split(":")[0] in str(err.value)

    # -- removing it without force is refused (channel stopped); with force it goes; data kept
    spec_wo3 = three_site_spec(world)
    with pytest.raises(FailedPrecondition, match="force"):
        await run_operation(request(OperationKind.REMOVE, spec_wo3, target="dc3"), env)
    removed = await run_operation(request(OperationKind.REMOVE, spec_wo3, target="dc3", force=True), env)
    assert "metadata" in removed.acted
    roles = await metadata_roles(env, spec, "dc1")
    assert [r[0] for r in roles] == ["dc1", "dc2"], roles
    assert await rows(dc3, "SELECT COUNT(*) AS n FROM app.t WHERE id IN (1,2,3,20,21)") == [{"n": 5}]
    facts = await member_facts(env, spec, "dc3")
    assert facts[0]["channel"] is None and facts[0]["sro"] and facts[0]["gr"] in (None, ("OFFLINE", "")), (
        facts
    )

    # -- removal of dc2 (Percona e2e: removal keeps the data), interrupted after its metadata step
    names = [s.name for s in build_steps(request(OperationKind.REMOVE, spec, target="dc2"))]
    first = await run_operation(
        request(OperationKind.REMOVE, spec, target="dc2"), env, stop_after=names.index("metadata") + 1
    )
    assert first.interrupted_at == "sync_after"
    await run_operation(request(OperationKind.REMOVE, spec, target="dc2"), env)
    for m in world.endpoints["dc2"]:
        assert await rows(m, "SELECT COUNT(*) AS n FROM app.t WHERE id IN (1,2,3,20,21)") == [{"n": 5}]
    for f in await member_facts(env, spec, "dc2"):
        assert f["channel"] is None and f["sro"] and f["skip_replica_start"] in ("OFF", "0"), f
    obs = await settled_status(env, three_site_spec(world))
    assert set(obs.clusters) == {"dc1"} and obs.global_status == "HEALTHY", obs

    # -- dissolve: the primary keeps its group, its rows, and stays writable; no ClusterSet left
    dissolved = await run_operation(request(OperationKind.DISSOLVE, spec), env)
    assert "primary_metadata" in dissolved.acted
    await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (30,'after-dissolve')"])
    assert await rows(gp, "SELECT COUNT(*) AS n FROM mysql_innodb_cluster_metadata.clustersets") == [{"n": 0}]
    assert await rows(gp, "SELECT COUNT(*) AS n FROM mysql.user WHERE User LIKE 'mysql_innodb_cs_%'") == [
        {"n": 0}
    ]
    online = await rows(
        gp,
        "SELECT COUNT(*) AS n FROM performance_schema.replication_group_members "
        "WHERE MEMBER_STATE = 'ONLINE'",
    )
    assert online == [{"n": 3}]
    again = await run_operation(request(OperationKind.DISSOLVE, spec), env)
    assert again.acted == [], again.acted
