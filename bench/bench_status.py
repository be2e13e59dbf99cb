"""Status refresh cost per ClusterSet with warm pools (CPU ms and wall ms of the orchestrator's process).

Starts a mysqlsim world (dc1: 3-member InnoDB Cluster; dc2: 3 members, dc3: 1 member), builds the
ClusterSet with the product's own operations (bootstrap, join dc2 and dc3, grow dc2), then times
`observe_clusterset` rounds: one cold round (fresh pools) and N warm rounds. CPU time is this process's
(the simulator runs in its own process and is not counted). Prints figures and the cold/warm ratio.

    .venv/bin/python bench/bench_status.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "activities"))

from harness import make_env, observe, request, run_operation, spec_for  # noqa: E402

from activities.models import OperationKind  # noqa: E402

TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": {"root": {"password": "rootpw"}, "clusterset": {"password": "cspw", "grants": "percona"}},
    "sites": [
        {
            "name": "dc1",
            "members": 3,
            "version": "8.0.36",
            "mode": "innodb_cluster",
            "cluster_name": "dc1",
            "dataset_bytes": 20_000_000,
            "seed_sql": ["CREATE DATABASE app"],
        },
        {"name": "dc2", "members": 3, "version": "8.0.36", "mode": "empty"},
        {"name": "dc3", "members": 1, "version": "8.0.36", "mode": "empty"},
    ],
    "default_bandwidth_mbit": 10000,
    "time_scale": 5000.0,
}


async def bench(world: Any, rounds: int) -> None:
    spec = spec_for(world, ["dc1", "dc2", "dc3"], primary="dc1", manage_members=["dc2"])
    setup = make_env(ca_path=world.ca_path)
    try:
        await run_operation(request(OperationKind.BOOTSTRAP, spec), setup)
        await run_operation(request(OperationKind.JOIN, spec, target="dc2"), setup)
        await run_operation(request(OperationKind.GROW, spec, target="dc2"), setup)
        await run_operation(request(OperationKind.JOIN, spec, target="dc3"), setup)
    finally:
        await setup.close()

    env = make_env(ca_path=world.ca_path)
    try:
        c0, w0 = time.process_time(), time.perf_counter()
        obs = await observe(env, spec)
        cold_cpu, cold_wall = (time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000
        assert obs.global_status == "HEALTHY", obs
        cpu: list[float] = []
        wall: list[float] = []
        for _ in range(rounds):
            c0, w0 = time.process_time(), time.perf_counter()
            obs = await observe(env, spec)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        pools = env.pools.connects
    finally:
        await env.close()
    print(f"ClusterSet: 3 clusters, 7 instances; global status {obs.global_status}")
    print(f"cold round (new pools): wall {cold_wall:.1f} ms, cpu {cold_cpu:.1f} ms")
    print(
        f"warm rounds (n={rounds}): wall median {statistics.median(wall):.1f} ms "
        f"(p90 {sorted(wall)[int(0.9 * (rounds - 1))]:.1f}), cpu median {statistics.median(cpu):.1f} ms "
        f"(p90 {sorted(cpu)[int(0.9 * (rounds - 1))]:.1f})"
    )
    print(f"pools created over all rounds: {pools}")
    print(
        f"ratio cold/warm wall: {cold_wall / statistics.median(wall):.2f}x, "
        f"cpu: {cold_cpu / statistics.median(cpu):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    from mysqlsim.testing import running_world

    with tempfile.TemporaryDirectory() as d, running_world(TOPOLOGY, state_dir=Path(d)) as world:
        asyncio.run(bench(world, args.rounds))


if __name__ == "__main__":
    main()
