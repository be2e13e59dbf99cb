"""A mysqlsim world for the workflow tests with the REAL operations: topology, spec, secrets, env."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from activities.connections import ConnectionSettings, Pools
from activities.credentials import StaticSecretReader
from activities.steps import OperationEnv, OperationSettings
from api.models import ClusterSetSpec

CS_PASSWORD = "wf-cs-Secr3t-pw"
ROOT_PASSWORD = "wf-root-Secr3t-pw"
PASSWORDS = (CS_PASSWORD, ROOT_PASSWORD)
NAMESPACE = "default"
SECRET = "cs-secret"

SETTINGS = OperationSettings(
    sync_timeout=60.0,
    sync_poll=1,
    clone_start_timeout=30.0,
    restart_wait_timeout=60.0,
    clone_poll_interval=0.05,
    member_online_timeout=60.0,
    poll_interval=0.05,
)


def topology(*, dataset_bytes: int = 40_000_000, time_scale: float = 400.0) -> dict[str, Any]:
    """dc1 a running one-member InnoDB Cluster with data; dc2 and dc3 empty one-member sites."""
    return {
        "port": 3306,
        "accounts": {
            "root": {"password": ROOT_PASSWORD},
            "clusterset": {"password": CS_PASSWORD, "grants": "percona"},
        },
        "sites": [
            {
                "name": "dc1",
                "members": 1,
                "version": "8.0.36",
                "mode": "innodb_cluster",
                "cluster_name": "dc1",
                "dataset_bytes": dataset_bytes,
                "seed_sql": [
                    "CREATE DATABASE app",
                    "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(64))",
                    "INSERT INTO app.t VALUES (1,'a'),(2,'b')",
                ],
            },
            {"name": "dc2", "members": 1, "version": "8.0.36", "mode": "empty"},
            {"name": "dc3", "members": 1, "version": "8.0.36", "mode": "empty"},
        ],
        "links": [{"sites": ["dc1", "dc2"], "latency_ms": 2, "bandwidth_mbit": 1000}],
        "default_bandwidth_mbit": 10000,
        "time_scale": time_scale,
    }


def spec_for(world: Any, clusters: list[str], *, primary: str, **extra: Any) -> ClusterSetSpec:
    return ClusterSetSpec.model_validate(
        {
            "primaryCluster": primary,
            "credentialsSecret": {"name": SECRET},
            "statusRefreshIntervalSeconds": 1,
            "clusters": [
                {
                    "innodbClusterName": site,
                    "endpoints": [{"host": m.host, "port": m.port} for m in world.endpoints[site]],
                }
                for site in clusters
            ],
            **extra,
        }
    )


def secrets() -> StaticSecretReader:
    return StaticSecretReader(secrets={(NAMESPACE, SECRET, "clusterset"): CS_PASSWORD})


def secrets_file(path: Path) -> Path:
    path.write_text(json.dumps({f"{NAMESPACE}/{SECRET}/clusterset": CS_PASSWORD}))
    return path


def make_env(world: Any) -> OperationEnv:
    return OperationEnv(
        secrets=secrets(),
        pools=Pools(ConnectionSettings(connect_timeout=3.0, query_timeout=30.0, ca_path=str(world.ca_path))),
        settings=SETTINGS,
    )


async def root_sql(host: str, port: int, statements: list[str]) -> None:
    """Run statements as root on one instance (test set-up, as a human operator would)."""
    import asyncio

    import asyncmy

    conn = await asyncio.wait_for(
        asyncmy.connect(host=host, port=port, user="root", password=ROOT_PASSWORD, autocommit=True), 10
    )
    try:
        async with conn.cursor() as cur:
            for statement in statements:
                await cur.execute(statement)
    finally:
        conn.close()


async def wipe_former_replica(world: Any, site: str) -> None:
    """Make a dissolved ClusterSet's former replica site an empty server again (what an operator does
    before reusing it): no stale metadata copy, no data, no GTIDs."""
    for m in world.endpoints[site]:
        await root_sql(
            m.host,
            m.port,
            [
                "SET SESSION sql_log_bin = 0",
                "SET GLOBAL super_read_only = OFF",
                "DROP DATABASE IF EXISTS mysql_innodb_cluster_metadata",
                "DROP DATABASE IF EXISTS app",
                "RESET MASTER",
                "RESET PERSIST IF EXISTS super_read_only",
            ],
        )
