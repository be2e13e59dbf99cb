"""createReplicaCluster's refusals: each a clear, typed, non-retryable error naming the instance; and
purged binary logs under incremental (refused) versus auto (falls back to CLONE)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from harness import CS_PASSWORD, make_env, observe, request, root_sql, run_operation, spec_for, wait_until

from activities import errors
from activities.models import OperationKind
from activities.steps import OperationEnv, plan_operation

SEED_SQL = [
    "CREATE DATABASE app",
    "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(64))",
    "INSERT INTO app.t VALUES (1,'a')",
]
ERROR_SITES = ["epw", "egrant", "eplugin", "egtid", "esid", "edata", "v84", "epurge"]


def _site(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "members": 1, "version": "8.0.36", "mode": "empty", **kw}


TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": {
        "root": {"password": "rootpw"},
        "clusterset": {"password": CS_PASSWORD, "grants": "percona"},
    },
    "sites": [
        {
            "name": "dc1",
            "members": 2,
            "version": "8.0.36",
            "mode": "innodb_cluster",
            "cluster_name": "dc1",
            "dataset_bytes": 10_000_000,
            "seed_sql": SEED_SQL,
        },
        *[
            _site(n, seed_sql=SEED_SQL)
            if n == "edata"
            else _site(n, version="8.4.3")
            if n == "v84"
            else _site(n)
            for n in ERROR_SITES
        ],
    ],
    "default_bandwidth_mbit": 10000,
    "time_scale": 5000.0,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("joinerr")) as w:
        yield w


@pytest.fixture(scope="module")
def spec(world: Any) -> Any:
    return spec_for(world, ["dc1", *ERROR_SITES], primary="dc1")


@pytest_asyncio.fixture
async def env(world: Any, spec: Any) -> AsyncIterator[OperationEnv]:
    e = make_env(ca_path=world.ca_path)
    await run_operation(request(OperationKind.BOOTSTRAP, spec), e)  # idempotent: first test bootstraps
    yield e
    await e.close()


async def _join_error(env: OperationEnv, spec: Any, site: str) -> errors.ClusterSetError:
    with pytest.raises(errors.ClusterSetError) as info:
        await run_operation(request(OperationKind.JOIN, spec, target=site), env)
    err = info.value
    assert isinstance(err, errors.NonRetryableError), repr(err)
    assert CS_PASSWORD not in str(err)
    return err


async def test_wrong_password(world: Any, spec: Any, env: OperationEnv) -> None:
    bad = make_env(ca_path=world.ca_path, password="not-the-password")
    try:
        err = await _join_error(bad, spec, "epw")
    finally:
        await bad.close()
    assert isinstance(err, errors.AccessDenied)
    assert "credentialsSecret" in str(err)
    bad = make_env(ca_path=world.ca_path, password="not-the-password")
    try:  # the dry run says so too, instead of "not done"
        with pytest.raises(errors.AccessDenied):
            await plan_operation(request(OperationKind.JOIN, spec, target="epw"), env=bad)
    finally:
        await bad.close()


async def test_missing_grant(world: Any, spec: Any, env: OperationEnv) -> None:
    ep = world.member("egrant", 0)
    await root_sql(ep.host, ep.port, ["REVOKE SYSTEM_VARIABLES_ADMIN ON *.* FROM 'clusterset'@'%'"])
    err = await _join_error(env, spec, "egrant")
    assert isinstance(err, errors.MissingPrivilege), repr(err)
    assert ep.address in str(err)


async def test_missing_clone_plugin(world: Any, spec: Any, env: OperationEnv) -> None:
    ep = world.member("eplugin", 0)
    rows = await root_sql(
        ep.host, ep.port, ["SELECT PLUGIN_NAME FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone'"]
    )
    statements = ["UNINSTALL PLUGIN clone"] if rows else []
    await root_sql(ep.host, ep.port, [*statements, "REVOKE INSERT ON mysql.* FROM 'clusterset'@'%'"])
    err = await _join_error(env, spec, "eplugin")
    assert isinstance(err, errors.ClonePluginMissing), repr(err)
    assert ep.address in str(err)


async def test_gtid_mode_off(world: Any, spec: Any, env: OperationEnv) -> None:
    ep = world.member("egtid", 0)
    await root_sql(
        ep.host,
        ep.port,
        [
            "SET GLOBAL gtid_mode = 'ON_PERMISSIVE'",
            "SET GLOBAL gtid_mode = 'OFF_PERMISSIVE'",
            "SET GLOBAL gtid_mode = 'OFF'",
        ],
    )
    err = await _join_error(env, spec, "egtid")
    assert isinstance(err, errors.GtidModeOff), repr(err)
    assert "gtid_mode=OFF" in str(err)


async def test_duplicate_server_id(world: Any, spec: Any, env: OperationEnv) -> None:
    p0 = world.member("dc1", 0)
    rows = await root_sql(p0.host, p0.port, ["SELECT @@server_id AS sid"])
    ep = world.member("esid", 0)
    await root_sql(ep.host, ep.port, [f"SET GLOBAL server_id = {int(rows[0]['sid'])}"])
    err = await _join_error(env, spec, "esid")
    assert isinstance(err, errors.DuplicateServerId), repr(err)


async def test_replica_not_empty(world: Any, spec: Any, env: OperationEnv) -> None:
    err = await _join_error(env, spec, "edata")
    assert isinstance(err, errors.ReplicaNotEmpty), repr(err)
    assert "app" in str(err)


async def test_84_replica_of_80_primary(world: Any, spec: Any, env: OperationEnv) -> None:
    """8.0 -> 8.4 replication is allowed (next higher series) but CLONE across series is not: clone is
    refused naming both versions; auto joins the empty 8.4 instance incrementally."""
    err = await _join_error(env, spec, "v84")
    assert isinstance(err, errors.IncompatibleVersion), repr(err)
    assert "8.4.3" in str(err) and "8.0.36" in str(err)
    auto = spec_for(
        world, ["dc1", *ERROR_SITES], primary="dc1", createReplicaClusterOptions={"recoveryMethod": "auto"}
    )
    run = await run_operation(request(OperationKind.JOIN, auto, target="v84"), env)
    assert run.context["recovery"] == "incremental"
    ep = world.member("v84", 0)
    rows = await root_sql(ep.host, ep.port, ["SELECT COUNT(*) AS n FROM app.t"])
    assert int(rows[0]["n"]) >= 1
    obs = await observe(env, auto)
    assert obs.clusters["v84"].global_status == "OK", obs.clusters["v84"]


async def _restore(world: Any, site: str) -> None:
    """Restore dc1's data on a standalone instance (a manual CLONE as root, as a backup restore would)."""
    donor, ep = world.member("dc1", 0), world.member(site, 0)
    for target in (donor, ep):
        rows = await root_sql(
            target.host,
            target.port,
            ["SELECT PLUGIN_NAME FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone'"],
        )
        if not rows:
            await root_sql(target.host, target.port, ["INSTALL PLUGIN clone SONAME 'mysql_clone.so'"])
    try:
        await root_sql(
            ep.host,
            ep.port,
            [
                f"SET GLOBAL clone_valid_donor_list = '{donor.host}:{donor.port}'",
                f"CLONE INSTANCE FROM 'root'@'{donor.host}':{donor.port} IDENTIFIED BY 'rootpw'",
            ],
        )
    except Exception:  # the recipient restarts when the clone ends
        pass

    async def done() -> bool:
        try:
            rows = await root_sql(ep.host, ep.port, ["SELECT STATE FROM performance_schema.clone_status"])
        except Exception:
            return False
        return bool(rows) and rows[0]["STATE"] == "Completed"

    await wait_until(done, within=60, what=f"restore of {site}")


async def test_purged_binlogs_incremental_refused_auto_clones(
    world: Any, spec: Any, env: OperationEnv
) -> None:
    await _restore(world, "epurge")
    gp = world.member("dc1", 0)
    await root_sql(gp.host, gp.port, ["INSERT INTO app.t VALUES (500, 'after-restore')"])
    for m in world.endpoints["dc1"]:
        await root_sql(m.host, m.port, ["FLUSH BINARY LOGS"])
        world.ctl.purge_binary_logs(m.host)
    incremental = spec_for(
        world,
        ["dc1", *ERROR_SITES],
        primary="dc1",
        createReplicaClusterOptions={"recoveryMethod": "incremental"},
    )
    err = await _join_error(env, incremental, "epurge")
    assert isinstance(err, errors.PurgedTransactions), repr(err)
    assert "purged" in str(err)

    auto = spec_for(
        world, ["dc1", *ERROR_SITES], primary="dc1", createReplicaClusterOptions={"recoveryMethod": "auto"}
    )
    ep = world.member("epurge", 0)
    before = world.ctl.clone_count(ep.host)
    run = await run_operation(request(OperationKind.JOIN, auto, target="epurge"), env)
    assert run.context["recovery"] == "clone"
    assert world.ctl.clone_count(ep.host) == before + 1
    rows = await root_sql(ep.host, ep.port, ["SELECT v FROM app.t WHERE id = 500"])
    assert rows and rows[0]["v"] == "after-restore"
    obs = await observe(env, auto)
    assert obs.clusters["epurge"].global_status == "OK", obs.clusters["epurge"]
