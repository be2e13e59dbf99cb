"""Crash at every step of rejoin (with a reboot), fence and removal: interrupt after step k, run the
operation again from its first step with a fresh context, and the final state equals that of an
uninterrupted run. One world: dc1 primary, dc2 the replica that is rebooted, rejoined and fenced, and
seven one-member replicas, each removed once (a removal is one-way)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from harness import CS_PASSWORD, make_env, request, run_operation, spec_for, wait_until
from opsb_world import SEED_SQL, member_facts, metadata_roles, rows

from activities.models import OperationKind
from activities.steps import OperationEnv, build_steps

REMOVABLE = [f"dc{i}" for i in range(3, 10)]
SITES = ["dc1", "dc2", *REMOVABLE]
TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": {
        "root": {"password": "rootpw"},
        "clusterset": {"password": CS_PASSWORD, "grants": "percona"},
    },
    "sites": [
        {"name": "dc1", "members": 3, "version": "8.0.36", "mode": "innodb_cluster", "seed_sql": SEED_SQL},
        *[{"name": s, "members": 1, "version": "8.0.36", "mode": "empty"} for s in SITES[1:]],
    ],
    "default_bandwidth_mbit": 10000,
    "time_scale": 5000.0,
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("crashes")) as w:
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


def spec(world: Any) -> Any:
    return spec_for(world, SITES, primary="dc1")


async def ensure_built(world: Any, env: OperationEnv, built: dict[str, bool]) -> None:
    if built.get("yes"):
        return
    s = spec(world)
    await run_operation(request(OperationKind.BOOTSTRAP, s), env)
    for site in SITES[1:]:
        await run_operation(request(OperationKind.JOIN, s, target=site), env)
    built["yes"] = True


def anonymous(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Facts without addresses, and a running channel's state as 'running'."""
    out = []
    for f in facts:
        f = {k: v for k, v in f.items() if k != "member"}
        if f.get("channel"):
            host, port, af, io = f["channel"]
            f["channel"] = (host, port, af, "running" if io in ("ON", "CONNECTING") else io)
        out.append(f)
    return out


async def group_down(world: Any, site: str) -> None:
    host = world.member(site, 0).host
    world.ctl.restart(host)

    async def down() -> bool:
        try:
            return world.ctl.instance_state(host)["gr_state"] in ("OFFLINE", "ERROR", None, "")
        except Exception:
            return False

    await wait_until(down, within=30, what=f"{site} back without its group")


async def rejoin_facts(world: Any, env: OperationEnv) -> dict[str, Any]:
    s = spec(world)

    async def running() -> bool:
        st = world.ctl.instance_state(world.member("dc2", 0).host)["channels"].get("clusterset_replication")
        return bool(st) and st["receiver"] == "ON" and st["applier"] == "ON"

    await wait_until(running, within=30, what="dc2's channel running")
    return {"dc2": anonymous(await member_facts(env, s, "dc2")), "roles": await metadata_roles(env, s, "dc1")}


async def test_rejoin_with_reboot_crash_after_every_step(
    world: Any, env: OperationEnv, built: dict[str, bool]
) -> None:
    await ensure_built(world, env, built)
    s = spec(world)
    req = request(OperationKind.REJOIN, s, target="dc2")
    names = [st.name for st in build_steps(req)]
    await group_down(world, "dc2")
    clean_run = await run_operation(req, env)
    assert "reboot_group" in clean_run.acted, clean_run.acted
    clean = await rejoin_facts(world, env)
    for k in range(1, len(names)):
        await group_down(world, "dc2")
        first = await run_operation(req, env, stop_after=k)
        assert first.interrupted_at == names[k]
        await run_operation(req, env)
        assert await rejoin_facts(world, env) == clean, names[k]


async def test_fence_crash_after_every_step(world: Any, env: OperationEnv, built: dict[str, bool]) -> None:
    await ensure_built(world, env, built)
    s = spec(world)
    req = request(OperationKind.FENCE, s, target="dc2")
    names = [st.name for st in build_steps(req)]
    await run_operation(req, env)
    clean = anonymous(await member_facts(env, s, "dc2"))
    assert all(f["sro"] and f["offline_mode"] for f in clean), clean
    for k in range(1, len(names)):
        await run_operation(request(OperationKind.REJOIN, s, target="dc2"), env)
        assert not any(f["offline_mode"] for f in await member_facts(env, s, "dc2"))
        await run_operation(req, env, stop_after=k)
        await run_operation(req, env)
        assert anonymous(await member_facts(env, s, "dc2")) == clean, names[k]
    await run_operation(request(OperationKind.REJOIN, s, target="dc2"), env)


async def removal_facts(world: Any, env: OperationEnv, site: str) -> dict[str, Any]:
    s = spec(world)
    roles = await metadata_roles(env, s, "dc1")
    return {
        "members": anonymous(await member_facts(env, s, site)),
        "in_metadata": any(r[0] == site for r in roles),
        "rows": await rows(world.member(site, 0), "SELECT COUNT(*) AS n FROM app.t"),
    }


async def test_remove_crash_after_every_step(world: Any, env: OperationEnv, built: dict[str, bool]) -> None:
    await ensure_built(world, env, built)
    s = spec(world)
    names = [st.name for st in build_steps(request(OperationKind.REMOVE, s, target="dc3"))]
    assert len(names) == len(REMOVABLE)
    await run_operation(request(OperationKind.REMOVE, s, target=REMOVABLE[0]), env)
    clean = await removal_facts(world, env, REMOVABLE[0])
    assert not clean["in_metadata"] and clean["rows"] == [{"n": 3}], clean
    for k, site in enumerate(REMOVABLE[1:], start=1):
        req = request(OperationKind.REMOVE, s, target=site)
        first = await run_operation(req, env, stop_after=k)
        assert first.interrupted_at == names[k]
        await run_operation(req, env)
        assert await removal_facts(world, env, site) == clean, names[k]
