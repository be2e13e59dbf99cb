"""createClusterSet with an SSL mode: it is recorded in the ClusterSet's attributes, our own connections
use it (VERIFY_IDENTITY against the world's CA), and a replica cluster's channel gets the matching
SOURCE_SSL options; DISABLED gives a channel without TLS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import CS_PASSWORD, make_env, observe, request, root_sql, run_operation, spec_for

from activities.models import OperationKind

TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": {
        "root": {"password": "rootpw"},
        "clusterset": {"password": CS_PASSWORD, "grants": "percona"},
    },
    "sites": [
        {"name": "p1", "members": 1, "version": "8.0.36", "mode": "innodb_cluster", "cluster_name": "p1"},
        {"name": "r1", "members": 1, "version": "8.0.36", "mode": "empty"},
        {"name": "p2", "members": 1, "version": "8.4.3", "mode": "innodb_cluster", "cluster_name": "p2"},
        {"name": "r2", "members": 1, "version": "8.4.3", "mode": "empty"},
    ],
    "default_bandwidth_mbit": 10000,
    "time_scale": 2000.0,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("ssl")) as w:
        yield w


async def _channel_ssl(world: Any, site: str) -> dict[str, Any]:
    ep = world.member(site, 0)
    rows = await root_sql(
        ep.host,
        ep.port,
        [
            "SELECT SSL_ALLOWED, SSL_VERIFY_SERVER_CERTIFICATE "
            "FROM performance_schema.replication_connection_configuration "
            "WHERE CHANNEL_NAME = 'clusterset_replication'"
        ],
    )
    return dict(rows[0])


@pytest.mark.parametrize(
    ("primary", "replica", "mode", "allowed", "verify"),
    [("p1", "r1", "VERIFY_IDENTITY", "YES", "YES"), ("p2", "r2", "DISABLED", "NO", "NO")],
)
async def test_ssl_mode_end_to_end(
    world: Any, primary: str, replica: str, mode: str, allowed: str, verify: str
) -> None:
    env = make_env(ca_path=world.ca_path)
    try:
        spec = spec_for(world, [primary, replica], primary=primary, sslMode=mode)
        boot = await run_operation(request(OperationKind.BOOTSTRAP, spec, name=primary, uid=primary), env)
        assert boot.context["ssl_mode"] == mode
        gp = world.member(primary, 0)
        rows = await root_sql(
            gp.host,
            gp.port,
            [
                "SELECT JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.opt_clusterSetReplicationSslMode')) AS m "
                "FROM mysql_innodb_cluster_metadata.clustersets"
            ],
        )
        assert rows[0]["m"] == mode
        await run_operation(request(OperationKind.JOIN, spec, name=primary, uid=primary, target=replica), env)
        ssl = await _channel_ssl(world, replica)
        assert (ssl["SSL_ALLOWED"], ssl["SSL_VERIFY_SERVER_CERTIFICATE"]) == (allowed, verify)
        obs = await observe(env, spec, name=primary, uid=primary)
        assert obs.global_status == "HEALTHY", obs.clusters
    finally:
        await env.close()
