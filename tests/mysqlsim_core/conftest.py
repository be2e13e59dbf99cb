"""Fixtures of the core's developer tests: one small world per module (started as a subprocess)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from mysqlsim.testing import RunningWorld, running_world

TOPOLOGY: dict[str, Any] = {
    "accounts": {"root": {"password": "rootpw"}, "clusterset": {"password": "cspw", "grants": "percona"}},
    "sites": [
        {
            "name": "dc1",
            "members": 2,
            "mode": "empty",
            "seed_sql": [
                "CREATE DATABASE app",
                "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(64))",
                "INSERT INTO app.t VALUES (1, 'a')",
            ],
        },
        {"name": "dc2", "members": 1, "mode": "empty"},
    ],
    "links": [{"sites": ["dc1", "dc2"], "latency_ms": 5, "bandwidth_mbit": 100}],
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorld]:
    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("world")) as w:
        yield w


def connect(
    w: RunningWorld,
    site: str = "dc1",
    index: int = 0,
    *,
    user: str = "root",
    password: str = "rootpw",
    ca: Path | None = None,
    **kw: Any,
) -> pymysql.connections.Connection[Any]:
    m = w.member(site, index)
    extra: dict[str, Any] = {"ssl_ca": str(ca)} if ca else {"ssl_disabled": True}
    return pymysql.connect(
        host=m.host,
        port=m.port,
        user=user,
        password=password,
        autocommit=True,
        connect_timeout=10,
        read_timeout=60,
        **extra,
        **kw,
    )


def q(conn: pymysql.connections.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())
