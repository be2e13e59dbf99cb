"""End to end on a simulated three-site world (plus a fourth site restored from a backup):
bootstrap dc1, CLONE-join dc2 with progress and grow its group, join the one-member dc3, join dc4
incrementally after a restore, writes on the primary seen on every replica member, exactly one CLONE
per clone join, status HEALTHY, adoption and dry runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import (
    CS_PASSWORD,
    make_env,
    observe,
    request,
    root_sql,
    run_operation,
    spec_for,
    wait_until,
)

from activities import errors, primitives
from activities.connections import Credentials
from activities.gtid import GtidSet
from activities.models import OperationKind
from activities.steps import OperationEnv, plan_operation

SEED_SQL = [
    "CREATE DATABASE app",
    "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(64))",
    "INSERT INTO app.t VALUES (1,'a'),(2,'b'),(3,'c')",
]
TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": {"root": {"password": "rootpw"}, "clusterset": {"password": "cspw", "grants": "percona"}},
    "sites": [
        {
            "name": "dc1",
            "members": 3,
            "version": "8.0.36",
            "mode": "innodb_cluster",
            "cluster_name": "dc1",
            "dataset_bytes": 50_000_000,
            "seed_sql": SEED_SQL,
        },
        {"name": "dc2", "members": 3, "version": "8.0.36", "mode": "empty"},
        {"name": "dc3", "members": 1, "version": "8.0.36", "mode": "empty"},
        {"name": "dc4", "members": 1, "version": "8.0.36", "mode": "empty"},
    ],
    "links": [{"sites": ["dc1", "dc2"], "latency_ms": 5, "bandwidth_mbit": 1000}],
    "default_bandwidth_mbit": 10000,
    "time_scale": 2000.0,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("e2e3")) as w:
        yield w


async def _rows(ep: Any, sql: str) -> list[Any]:
    return await root_sql(ep.host, ep.port, [sql])


async def _restore_backup(world: Any, site: str) -> None:
    """A 'restore' of dc1's data on a standalone instance: a manual CLONE from a dc1 secondary, as root."""
    donor = world.member("dc1", 1)
    ep = world.member(site, 0)
    plugins = await _rows(
        ep, "SELECT PLUGIN_NAME FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone'"
    )
    if not plugins:
        await root_sql(ep.host, ep.port, ["INSTALL PLUGIN clone SONAME 'mysql_clone.so'"])
    dplugins = await _rows(
        donor, "SELECT PLUGIN_NAME FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone'"
    )
    if not dplugins:
        await root_sql(donor.host, donor.port, ["INSTALL PLUGIN clone SONAME 'mysql_clone.so'"])
    before = world.ctl.clone_count(ep.host)
    try:
        await root_sql(
            ep.host,
            ep.port,
            [
                f"SET GLOBAL clone_valid_donor_list = '{donor.host}:{donor.port}'",
                f"CLONE INSTANCE FROM 'root'@'{donor.host}':{donor.port} IDENTIFIED BY 'rootpw'",
            ],
        )
    except Exception:  # the recipient restarts at the end of the clone: the connection breaks
        pass

    async def restarted() -> bool:
        try:
            rows = await _rows(ep, "SELECT STATE FROM performance_schema.clone_status")
        except Exception:
            return False
        return bool(rows) and rows[0]["STATE"] == "Completed"

    await wait_until(restarted, within=60, what=f"the restore of {site}")
    assert world.ctl.clone_count(ep.host) == before + 1


async def test_three_site_clusterset_end_to_end(world: Any) -> None:
    env: OperationEnv = make_env(ca_path=world.ca_path)
    try:
        spec = spec_for(world, ["dc1", "dc2", "dc3", "dc4"], primary="dc1", manage_members=["dc2"])

        # -- dry run before anything: nothing done
        plan = await plan_operation(request(OperationKind.BOOTSTRAP, spec), env=env)
        assert [s.name for s in plan.steps] == [
            "validate",
            "promote",
            "skip_replica_start",
            "cs_account",
            "metadata",
        ]
        assert not plan.steps[-1].done

        # -- bootstrap
        boot = await run_operation(request(OperationKind.BOOTSTRAP, spec), env)
        assert boot.context["clusterset_id"]
        obs = await observe(env, spec)
        assert obs.bootstrapped and obs.primary_cluster == "dc1"
        assert obs.global_status == "HEALTHY", obs
        assert obs.domain_name == "cs1"

        # -- CLONE join of dc2 with progress
        clones_before = world.ctl.clone_count(world.member("dc2", 0).host)
        join2 = await run_operation(request(OperationKind.JOIN, spec, target="dc2"), env)
        assert "clone" in join2.acted
        assert join2.progress, "the clone step reported no progress"
        assert join2.progress[-1].state == "Completed" and join2.progress[-1].percent == 100.0
        assert any(p.stage for p in join2.progress)
        assert world.ctl.clone_count(world.member("dc2", 0).host) == clones_before + 1

        # -- grow dc2's group with its two further members (GR clone recovery inside the site)
        grow = await run_operation(request(OperationKind.GROW, spec, target="dc2"), env)
        assert [r.step for r in grow.results] == [
            "prepare_1",
            "join_1",
            "metadata_1",
            "prepare_2",
            "join_2",
            "metadata_2",
        ]

        # -- one-member replica dc3, with the clone throttled (bandwidth limits set on the recipient)
        throttled = spec_for(
            world,
            ["dc1", "dc2", "dc3", "dc4"],
            primary="dc1",
            manage_members=["dc2"],
            cloneOptions={"donor": "primary", "maxNetworkBandwidthMib": 400, "maxDataBandwidthMib": 300},
        )
        part = await run_operation(request(OperationKind.JOIN, throttled, target="dc3"), env, stop_after=3)
        assert part.context["donor"] == world.member("dc1", 0).address  # donor "primary": the global primary
        dc3 = world.member("dc3", 0)
        limits = await _rows(
            dc3, "SELECT @@clone_max_network_bandwidth AS n, @@clone_max_data_bandwidth AS d"
        )
        assert (int(limits[0]["n"]), int(limits[0]["d"])) == (400, 300)
        join3 = await run_operation(request(OperationKind.JOIN, throttled, target="dc3"), env)
        assert "clone" in join3.acted

        # -- incremental join of dc4 after a restore; rows written after the backup arrive
        await _restore_backup(world, "dc4")
        gp = world.member("dc1", 0)
        await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (100, 'after-backup')"])
        incr_spec = spec_for(
            world,
            ["dc1", "dc2", "dc3", "dc4"],
            primary="dc1",
            manage_members=["dc2"],
            createReplicaClusterOptions={"recoveryMethod": "incremental"},
        )
        clones_dc4 = world.ctl.clone_count(world.member("dc4", 0).host)
        join4 = await run_operation(request(OperationKind.JOIN, incr_spec, target="dc4"), env)
        assert join4.context["recovery"] == "incremental"
        assert world.ctl.clone_count(world.member("dc4", 0).host) == clones_dc4

        # -- writes on the primary are seen on every replica member
        await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (200, 'everywhere')"])
        for site in ("dc2", "dc3", "dc4"):
            for m in world.endpoints[site]:

                async def seen(m: Any = m) -> bool:
                    rows = await _rows(m, "SELECT v FROM app.t WHERE id IN (100, 200) ORDER BY id")
                    return [r["v"] for r in rows] == ["after-backup", "everywhere"]

                await wait_until(seen, within=30, what=f"rows on {m.name}")

        # -- status: all four clusters OK, HEALTHY
        obs = await observe(env, spec)
        assert obs.global_status == "HEALTHY", obs.clusters
        assert set(obs.clusters) == {"dc1", "dc2", "dc3", "dc4"}
        for name in ("dc2", "dc3", "dc4"):
            c = obs.clusters[name]
            assert c.cluster_role == "REPLICA" and c.global_status == "OK", (name, c)
            assert c.channel_state == "ON"
            assert c.errant_transactions is None
        assert obs.clusters["dc1"].cluster_role == "PRIMARY"

        # -- every operation's dry run now says done; re-running changes nothing
        for kind, target in (
            (OperationKind.BOOTSTRAP, None),
            (OperationKind.JOIN, "dc2"),
            (OperationKind.GROW, "dc2"),
        ):
            plan = await plan_operation(request(kind, spec, target=target), env=env)
            assert all(s.done for s in plan.steps), (kind, plan)
        again = await run_operation(request(OperationKind.JOIN, spec, target="dc3"), env)
        assert again.acted == []

        # -- adoption of the ClusterSet by another orchestrator changes nothing
        views_before = obs.clusters
        gtids_before = await _rows(gp, "SELECT @@global.gtid_executed AS g")
        count_before = await _rows(
            gp, "SELECT COUNT(*) AS n FROM mysql_innodb_cluster_metadata.clusterset_views"
        )
        adopt = await run_operation(request(OperationKind.ADOPT, spec, name="cs1"), env)
        assert await _rows(gp, "SELECT @@global.gtid_executed AS g") == gtids_before  # nothing written
        assert await _rows(
            gp, "SELECT COUNT(*) AS n FROM mysql_innodb_cluster_metadata.clusterset_views"
        ) == (count_before)
        assert adopt.context["primary_cluster"] == "dc1"
        assert adopt.context["spec_primary_matches"] == "true"
        assert adopt.context["members"] == "dc1,dc2,dc3,dc4"
        obs2 = await observe(env, spec)
        assert obs2.clusters.keys() == views_before.keys()

        # -- status follows trouble: a stopped channel, then a lagging applier
        await root_sql(dc3.host, dc3.port, ["STOP REPLICA FOR CHANNEL 'clusterset_replication'"])
        obs3 = await observe(env, spec)
        assert obs3.clusters["dc3"].global_status == "OK_NOT_REPLICATING"
        assert obs3.clusters["dc3"].channel_state == "OFF"
        assert obs3.global_status == "AVAILABLE"
        await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (300, 'while stopped')"])
        obs3 = await observe(env, spec)
        assert (obs3.clusters["dc3"].transactions_behind or 0) >= 1
        await root_sql(dc3.host, dc3.port, ["START REPLICA FOR CHANNEL 'clusterset_replication'"])

        async def healthy() -> bool:
            o = await observe(env, spec)
            return bool(o.global_status == "HEALTHY" and o.clusters["dc3"].transactions_behind == 0)

        await wait_until(healthy, within=30, what="dc3 to catch up")

        # -- a slow applier on dc2's primary: lag and transactions behind show, then clear
        dc2_primary = (await observe(env, spec)).clusters["dc2"].primary
        assert dc2_primary
        lag_host = dc2_primary.split(":")[0]
        world.ctl.set_apply_lag(lag_host, 20000)  # simulated seconds: about 10 s of real time here
        await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (400, 'slow applier')"])

        async def lagging() -> bool:
            c = (await observe(env, spec)).clusters["dc2"]
            return bool((c.transactions_behind or 0) >= 1 and (c.lag_seconds or 0) > 0)

        await wait_until(lagging, within=10, what="dc2 to show lag")
        world.ctl.set_apply_lag(lag_host, 0)
        await wait_until(healthy, within=30, what="dc2 to catch up")

        # -- an errant write on a replica that collides with the primary: the applier stops; status names the
        #    errant GTID and a sync says the channel is broken (non-retryable) instead of waiting it out
        await root_sql(
            dc3.host,
            dc3.port,
            ["SET GLOBAL super_read_only = OFF", "INSERT INTO app.t VALUES (900, 'errant')"],
        )
        await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (900, 'primary')"])
        gp_gtids = GtidSet.parse((await _rows(gp, "SELECT @@global.gtid_executed AS g"))[0]["g"])
        creds = Credentials(user="clusterset", password=CS_PASSWORD)
        async with env.pools.session(dc3.host, dc3.port, creds=creds, ssl_mode=spec.ssl_mode) as s:
            with pytest.raises(errors.ReplicationBroken, match="applier"):
                await primitives.wait_for_gtids(
                    s, gp_gtids, within=30, poll=1, channel="clusterset_replication"
                )
        broken = await observe(env, spec)
        assert broken.clusters["dc3"].global_status == "OK_NOT_REPLICATING", broken.clusters["dc3"]
        assert broken.clusters["dc3"].errant_transactions
        assert broken.global_status == "AVAILABLE"

        # -- the whole primary site down: status says so (from the replicas' metadata), it does not fail
        for m in world.endpoints["dc1"]:
            world.ctl.kill(m.host)
        down = await observe(env, spec)
        assert not down.reachable and down.bootstrapped
        assert down.primary_cluster == "dc1" and down.global_status == "UNAVAILABLE"
        assert down.clusters["dc1"].global_status == "UNKNOWN"
        assert down.error and "dc1" in down.error
    finally:
        await env.close()
