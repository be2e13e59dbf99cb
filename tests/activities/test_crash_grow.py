"""Growing a replica site, interrupted after each step and killed while the joiner is recovering: the
re-run from the first step ends with the same group (every member ONLINE) and the same metadata rows.
Also: the clone step retried with the last heartbeat (`resume`) re-attaches to the CLONE it started."""

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
    wait_until,
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
            "dataset_bytes": 500_000_000,
        },
        *[{"name": n, "members": 2, "version": "8.0.36", "mode": "empty"} for n in SITES],
        {"name": "slow", "members": 1, "version": "8.0.36", "mode": "empty"},
    ],
    "links": [{"sites": ["dc1", "slow"], "latency_ms": 1, "bandwidth_mbit": 20}],
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


async def test_clone_step_resumed_with_its_heartbeat_reattaches(world: Any) -> None:
    """Cancel the clone step once it reported progress, run it again with that progress as `resume`
    (what the Temporal wrapper passes from the heartbeat): no second CLONE, same start time."""
    import asyncio

    from activities.models import CloneProgress, StepInput
    from activities.steps import run_step

    env = make_env(ca_path=world.ca_path)
    try:
        spec = spec_for(world, ["dc1", "slow"], primary="dc1")
        await run_operation(request(OperationKind.BOOTSTRAP, spec), env)
        req = request(OperationKind.JOIN, spec, target="slow")
        first = await run_operation(req, env, stop_after=3)  # validate, cs_account, clone_prepare
        seen: list[CloneProgress] = []

        async def record(pr: CloneProgress) -> None:
            seen.append(pr)

        inp = StepInput(request=req.model_copy(update={"context": first.context}), step="clone")
        task = asyncio.ensure_future(run_step(inp, env=env, on_progress=record))

        async def reported() -> bool:
            return any(pr.state == "In Progress" and pr.started_at for pr in seen)

        await wait_until(reported, within=60, what="clone progress")
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        heartbeat = [pr for pr in seen if pr.state == "In Progress"][-1]
        assert heartbeat.percent < 100.0 and heartbeat.bytes_total > 0
        result = await run_step(inp, env=env, on_progress=record, resume=heartbeat)
        assert not result.already_done
        assert result.outputs["clone_started_at"] == heartbeat.started_at.isoformat()
        assert world.ctl.clone_count(world.member("slow", 0).host) == 1
        rest = await run_operation(req, env)
        assert "clone" not in rest.acted
        assert world.ctl.clone_count(world.member("slow", 0).host) == 1
    finally:
        await env.close()
