"""H-ops-B's test helpers: a small three-site ClusterSet built with our own operations, and the facts
compared between an interrupted and an uninterrupted run of switchover, failover, rejoin and removal."""

from __future__ import annotations

import asyncio
from typing import Any

from harness import CS_PASSWORD, request, root_sql, run_operation, spec_for, wait_until

from activities import primitives as p
from activities.connections import ClusterAccess, Credentials
from activities.errors import ClusterSetError
from activities.models import OperationKind
from activities.steps import OperationEnv
from api.models import ClusterSetSpec

GRANTS = "percona"
SEED_SQL = [
    "CREATE DATABASE app",
    "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(64))",
    "INSERT INTO app.t VALUES (1,'a'),(2,'b'),(3,'c')",
]


def topology(*, dc2_members: int = 2, dc3_members: int = 1) -> dict[str, Any]:
    """dc1: a running 3-member InnoDB Cluster with data; dc2 and dc3: empty standalone instances."""
    return {
        "port": 3306,
        "accounts": {
            "root": {"password": "rootpw"},
            "clusterset": {"password": CS_PASSWORD, "grants": "percona"},
        },
        "sites": [
            {
                "name": "dc1",
                "members": 3,
                "version": "8.0.36",
                "mode": "innodb_cluster",
                "cluster_name": "dc1",
                "seed_sql": SEED_SQL,
            },
            {"name": "dc2", "members": dc2_members, "version": "8.0.36", "mode": "empty"},
            {"name": "dc3", "members": dc3_members, "version": "8.0.36", "mode": "empty"},
        ],
        "default_bandwidth_mbit": 10000,
        "time_scale": 5000.0,
    }


def three_site_spec(world: Any, *, primary: str = "dc1", **extra: Any) -> ClusterSetSpec:
    return spec_for(world, ["dc1", "dc2", "dc3"], primary=primary, manage_members=["dc2"], **extra)


async def build_clusterset(world: Any, env: OperationEnv, spec: ClusterSetSpec) -> None:
    """bootstrap dc1, join dc2 (and grow it), join dc3: H-ops-A's operations."""
    await run_operation(request(OperationKind.BOOTSTRAP, spec), env)
    await run_operation(request(OperationKind.JOIN, spec, target="dc2"), env)
    if len(world.endpoints["dc2"]) > 1:
        await run_operation(request(OperationKind.GROW, spec, target="dc2"), env)
    await run_operation(request(OperationKind.JOIN, spec, target="dc3"), env)


def access(env: OperationEnv, spec: ClusterSetSpec, cluster: str) -> ClusterAccess:
    creds = Credentials(user="clusterset", password=CS_PASSWORD)
    return ClusterAccess(env.pools, spec.cluster(cluster), creds=creds, ssl_mode=spec.ssl_mode)


async def member_facts(env: OperationEnv, spec: ClusterSetSpec, cluster: str) -> list[dict[str, Any]]:
    """Per reachable member: channel source, auto-failover, SRO (runtime, persisted), actions, managed list,
    GR state; the state a finished operation must leave, whatever interruptions it went through."""
    acc = access(env, spec, cluster)
    out = []
    for ep in acc.endpoints:
        try:
            async with acc.endpoint_session(ep) as s:
                ch = await p.channel_status(s)
                row = await s.fetch_one(
                    "SELECT MEMBER_STATE AS st, MEMBER_ROLE AS role "
                    "FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid"
                )
                out.append(
                    {
                        "member": ep.address,
                        "channel": (ch.host, ch.port, ch.auto_failover, ch.io_state) if ch.exists else None,
                        "sro": await p.super_read_only(s),
                        "sro_persisted": p.as_str(await p.persisted(s, "super_read_only")).upper(),
                        "offline_mode": p.as_bool(await s.scalar("SELECT @@global.offline_mode AS v")),
                        "actions": await p.member_actions(s),
                        "managed": await p.managed_sources(s),
                        "gr": (p.as_str(row["st"]), p.as_str(row["role"])) if row else None,
                        "skip_replica_start": p.as_str(await p.persisted(s, "skip_replica_start")).upper(),
                    }
                )
        except ClusterSetError as e:
            out.append({"member": ep.address, "error": type(e).__name__})
    return out


async def metadata_roles(
    env: OperationEnv, spec: ClusterSetSpec, cluster: str
) -> list[tuple[str, str, bool]]:
    acc = access(env, spec, cluster)
    ep, _ = await acc.primary()
    async with acc.endpoint_session(ep) as s:
        return sorted((m.cluster_name, m.member_role, m.invalidated) for m in await p.cs_members(s))


async def clusterset_facts(env: OperationEnv, spec: ClusterSetSpec) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for c in spec.clusters:
        facts[c.innodb_cluster_name] = await member_facts(env, spec, c.innodb_cluster_name)
    return facts


async def rows(ep: Any, sql: str) -> list[Any]:
    return await root_sql(ep.host, ep.port, [sql])


async def wait_rows(world: Any, site: str, sql: str, expected: Any, *, within: float = 30.0) -> None:
    """Wait until `sql` returns `expected` on every member of `site`."""
    for m in world.endpoints[site]:

        async def seen(m: Any = m) -> bool:
            try:
                return await rows(m, sql) == expected
            except Exception:
                return False

        await wait_until(seen, within=within, what=f"{sql} on {m.name}")


async def settled_status(env: OperationEnv, spec: ClusterSetSpec, *, within: float = 30.0) -> Any:
    """Observe until HEALTHY (a channel may reconnect for a moment after an operation)."""
    from harness import observe

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        obs = await observe(env, spec)
        if obs.global_status == "HEALTHY" or loop.time() > deadline:
            return obs
        await asyncio.sleep(0.2)


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)
