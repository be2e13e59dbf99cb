"""In-process worlds for the developer tests of mysqlsim.replication.

A World runs in the test's own event loop and statements go through internal sessions (no sockets), so each
world starts in about a second; the protocol itself is covered by tests/mysqlsim (the conformance suite).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mysqlsim
from mysqlsim.errors import MySQLError
from mysqlsim.registry import Result
from mysqlsim.world import Topology, World

mysqlsim.load_extensions()

SEED = [
    "CREATE DATABASE app",
    "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(32))",
    "INSERT INTO app.t VALUES (1, 'a')",
]


def topology(
    *sites: dict[str, Any], links: list[dict[str, Any]] | None = None, time_scale: float = 1.0
) -> dict[str, Any]:
    block = f"127.{random.randint(100, 250)}.{random.randint(0, 15) * 16}.0"
    return {
        "address_block": block,
        "accounts": {"root": {"password": "rootpw"}},
        "sites": list(sites),
        "links": links or [],
        "time_scale": time_scale,
    }


@asynccontextmanager
async def running(topo: dict[str, Any], state_dir: Path) -> AsyncIterator[World]:
    world = World(Topology.load(topo), state_dir)
    try:
        await world.start()
        yield world
    finally:
        await world.stop()


async def q(world: World, inst: Any, sql: str, *, client: bool = True) -> Result:
    """Run one statement as a client session (read_only rules apply) unless ``client`` is False."""
    s = world.internal_session(inst)
    s.internal = not client
    return await s.execute(sql)


async def q1(world: World, inst: Any, sql: str) -> Any:
    r = await q(world, inst, sql)
    return r.rows[0][0] if r.rows else None


async def expect_error(world: World, inst: Any, sql: str, code: int) -> MySQLError:
    try:
        await q(world, inst, sql)
    except MySQLError as e:
        assert e.code == code, f"expected {code}, got {e.code}: {e.message}"
        return e
    raise AssertionError(f"{sql!r} succeeded; expected error {code}")


async def wait_for(cond: Callable[[], Any], *, limit_s: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + limit_s
    last: Any = None
    while time.monotonic() < deadline:
        last = cond()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
