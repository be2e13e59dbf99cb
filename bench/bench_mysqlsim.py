"""Benchmark of mysqlsim (figures printed, never asserted): time to start the example world, and
statements per second through asyncmy for a point SELECT and an INSERT on one instance.

Run: .venv/bin/python bench/bench_mysqlsim.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncmy
import yaml

from mysqlsim.testing import running_world

ROOT = Path(__file__).resolve().parent.parent


async def _rate(host: str, port: int, sql_of: Any, seconds: float) -> tuple[int, float]:
    conn = await asyncmy.connect(host=host, port=port, user="root", password="rootpw", autocommit=True)
    n = 0
    try:
        async with conn.cursor() as cur:
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                await cur.execute(sql_of(n))
                await cur.fetchall()
                n += 1
            dt = time.perf_counter() - t0
    finally:
        conn.close()
    return n, dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    topo = yaml.safe_load((ROOT / "deploy/examples/topology.yaml").read_text())
    topo.pop("address_block", None)  # a random free block
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        with running_world(topo, state_dir=Path(d)) as w:
            started = time.perf_counter() - t0
            n_inst = sum(len(v) for v in w.endpoints.values())
            print(f"example world ({n_inst} instances) started in {started:.2f} s")
            m = w.member("dc3", 0)
            w.ctl.sql(m.host, "CREATE DATABASE IF NOT EXISTS bench")
            w.ctl.sql(m.host, "CREATE TABLE IF NOT EXISTS bench.t (id INT PRIMARY KEY, v VARCHAR(64))")
            w.ctl.sql(m.host, "INSERT INTO bench.t VALUES (1, 'one')")
            n, dt = asyncio.run(
                _rate(m.host, m.port, lambda i: "SELECT v FROM bench.t WHERE id = 1", args.seconds)
            )
            sel = n / dt
            print(f"point SELECT via asyncmy: {sel:8.0f} statements/s ({n} in {dt:.2f} s)")
            n, dt = asyncio.run(
                _rate(
                    m.host, m.port, lambda i: f"INSERT INTO bench.t VALUES ({i + 10}, 'v{i}')", args.seconds
                )
            )
            ins = n / dt
            print(
                f"INSERT (autocommit, GTID, binlog) via asyncmy: {ins:8.0f} statements/s ({n} in {dt:.2f} s)"
            )
            n, dt = asyncio.run(
                _rate(m.host, m.port, lambda i: "SELECT @@global.gtid_executed", args.seconds)
            )
            print(f"SELECT @@var via asyncmy: {n / dt:8.0f} statements/s ({n} in {dt:.2f} s)")
            n, dt = asyncio.run(
                _rate(
                    m.host,
                    m.port,
                    lambda i: (
                        "SELECT p.PLUGIN_NAME, v.VARIABLE_VALUE FROM information_schema.plugins p "
                        "JOIN performance_schema.global_variables v ON v.VARIABLE_NAME = 'server_id' "
                        "WHERE p.PLUGIN_STATUS = 'ACTIVE'"
                    ),
                    args.seconds,
                )
            )
            print(f"join over information_schema/performance_schema via asyncmy: {n / dt:8.0f} statements/s")
            print(f"ratio INSERT/SELECT: {ins / sel:.2f}")
            print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()
