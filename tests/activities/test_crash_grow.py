"""Growing a replica site, interrupted after each step and killed while the joiner is recovering: the
re-run from the first step ends with the same group (every member ONLINE) and the same metadata rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import (
    CS_PASSWORD,
    cluster_facts,
    crash_then_rerun,
    make_env,
    request,
    root_sql,
    run_operation,
    spec_for,
)

from activities.models import OperationKind

SITES = ["g0", "g1", "g2", "g3"]
TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": {
        "root": {"password": "rootpw"},
        "clusterset": {"password": CS_PASSWORD, "grants": "percona"},
    },
    "sites": [
        {
            "name": "dc1",
            "members": 1,
            "version": "8.0.36",
            "mode": "innodb_cluster",
            "cluster_name": "dc1",
            "seed_sql": ["CREATE DATABASE app"],
        },
        *[{"name": n, "members": 2, "version": "8.0.36", "mode": "empty"} for n in SITES],
    ],
    "default_bandwidth_mbit": 10000,
    "time_scale": 2000.0,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("grow")) as w:
        yield w


async def _md_instances(world: Any, site: str) -> int:
    gp = world.member("dc1", 0)
    rows = await root_sql(
        gp.host,
        gp.port,
        [
            "SELECT COUNT(*) AS n FROM mysql_innodb_cluster_metadata.instances i JOIN "
            "mysql_innodb_cluster_metadata.clusters c ON c.cluster_id = i.cluster_id "
            f"WHERE c.cluster_name = '{site}'"
        ],
    )
    return int(rows[0]["n"])


async def _joined(world: Any, env: Any, site: str) -> Any:
    spec = spec_for(world, ["dc1", site], primary="dc1", manage_members=[site])
    await run_operation(request(OperationKind.BOOTSTRAP, spec), env)
    await run_operation(request(OperationKind.JOIN, spec, target=site), env)
    return spec


@pytest.mark.parametrize(
    ("site", "interrupt"), [("g1", {"stop_after": 1}), ("g2", {"stop_after": 2}), ("g3", "kill")]
)
async def test_grow_interrupted(world: Any, site: str, interrupt: Any) -> None:
    env = make_env(ca_path=world.ca_path)
    try:
        ref_spec = await _joined(world, env, "g0")
        await run_operation(request(OperationKind.GROW, ref_spec, target="g0"), env)
        reference = await cluster_facts(env, ref_spec, "g0")
        assert reference["group_online"] == ["ONLINE", "ONLINE"]
        assert await _md_instances(world, "g0") == 2

        spec = await _joined(world, env, site)
        req = request(OperationKind.GROW, spec, target=site)
        if interrupt == "kill":
            joiner = world.member(site, 1)

            async def recovering() -> bool:
                rows = await root_sql(
                    joiner.host,
                    joiner.port,
                    [
                        "SELECT COUNT(*) AS n FROM performance_schema.replication_group_members "
                        "WHERE MEMBER_STATE <> 'OFFLINE'"
                    ],
                )
                return int(rows[0]["n"]) > 0

            await crash_then_rerun(req, env, kill_in_step=1, kill_when=recovering)
        else:
            await crash_then_rerun(req, env, **interrupt)
        facts = await cluster_facts(env, spec, site)
        for key in ("group_online", "channel", "actions", "managed_count", "super_read_only", "member_role"):
            assert facts[key] == reference[key], (key, facts[key], reference[key])
        assert await _md_instances(world, site) == 2
    finally:
        await env.close()
