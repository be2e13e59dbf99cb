"""Switchover cost: our resumable steps (probe, then act) against the bare minimum statement sequence.

Why it exists: every step of ours first probes the servers, resolves the metadata and the primaries again,
so that any step can be retried after a crash; this bench shows what that safety costs. On a lag-free
three-site mysqlsim world (dc1 and dc2 with three members, dc3 with one), in the same run, it times:

* ours: `run_step` for each step of OperationKind.SWITCHOVER, as the workflow runs them (warm pools);
* bare: the statements the switchover needs and nothing else, over connections opened beforehand:
  metadata switch, demote (actions, fence, CHANGE, START, managed list), FTWRL + final wait, promote,
  re-point dc3, RESET REPLICA ALL on the new primary cluster.

Rounds alternate directions (dc1→dc2, dc2→dc1) for both methods; it prints the median per switchover
and the ratio ours/bare. Run: `.venv/bin/python bench/bench_switchover.py [--rounds N]`.
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

import asyncmy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from activities import sql  # noqa: E402
from activities.connections import ConnectionSettings, Pools  # noqa: E402
from activities.credentials import StaticSecretReader, derived_password  # noqa: E402
from activities.models import ClusterSetRef, OperationKind, OperationRequest, StepInput  # noqa: E402
from activities.steps import OperationEnv, OperationSettings, build_steps, run_step  # noqa: E402
from api.models import ClusterSetSpec  # noqa: E402

CS_PASSWORD = "cspw"
TOPOLOGY: dict[str, Any] = {
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
            "seed_sql": ["CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(64))"],
        },
        {"name": "dc2", "members": 3, "version": "8.0.36", "mode": "empty"},
        {"name": "dc3", "members": 1, "version": "8.0.36", "mode": "empty"},
    ],
    "default_bandwidth_mbit": 10000,
    "time_scale": 5000.0,
}


def spec_of(world: Any, primary: str) -> ClusterSetSpec:
    return ClusterSetSpec.model_validate(
        {
            "primaryCluster": primary,
            "credentialsSecret": {"name": "cs-secret"},
            "clusters": [
                {
                    "innodbClusterName": site,
                    "endpoints": [{"host": m.host, "port": m.port} for m in world.endpoints[site]],
                    "manageMembers": site == "dc2",
                }
                for site in ("dc1", "dc2", "dc3")
            ],
        }
    )


def req(kind: OperationKind, spec: ClusterSetSpec, target: str | None = None) -> OperationRequest:
    return OperationRequest(
        kind=kind,
        clusterset=ClusterSetRef(namespace="default", name="bench", uid="bench-1"),
        spec=spec,
        target_cluster=target,
    )


async def run_all(r: OperationRequest, env: OperationEnv) -> None:
    context: dict[str, str] = {}
    for step in build_steps(r):
        res = await run_step(
            StepInput(request=r.model_copy(update={"context": dict(context)}), step=step.name), env=env
        )
        context.update(res.outputs)


class Bare:
    """One autocommit connection per instance, opened before timing."""

    def __init__(self) -> None:
        self.conns: dict[str, Any] = {}

    async def open(self, world: Any) -> None:
        for members in world.endpoints.values():
            for m in members:
                self.conns[m.address] = await asyncmy.connect(
                    host=m.host, port=m.port, user="clusterset", password=CS_PASSWORD, autocommit=True
                )

    async def q(self, address: str, statement: str) -> list[Any]:
        async with self.conns[address].cursor() as cur:
            await cur.execute(statement)
            return list(await cur.fetchall() or [])

    async def close(self) -> None:
        for c in self.conns.values():
            c.close()


async def facts(bare: Bare, world: Any) -> dict[str, Any]:
    """Everything the bare sequence needs, read before timing: primaries, groups, ids, accounts."""
    out: dict[str, Any] = {"primary": {}, "members": {}, "group": {}}
    for site, members in world.endpoints.items():
        out["members"][site] = [m.address for m in members]
        for m in members:
            rows = await bare.q(
                m.address,
                "SELECT MEMBER_ROLE, @@group_replication_group_name "
                "FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid",
            )
            if rows and rows[0][0] == "PRIMARY":
                out["primary"][site] = m.address
            if rows:
                out["group"][site] = rows[0][1]
    gp = out["primary"]["dc1"]
    rows = await bare.q(
        gp,
        "SELECT c.cluster_name, c.cluster_id, c.clusterset_id, "
        "JSON_UNQUOTE(JSON_EXTRACT(c.attributes, '$.replicationAccountUser')) FROM "
        "mysql_innodb_cluster_metadata.clusters c",
    )
    out["ids"] = {r[0]: r[1] for r in rows}
    out["cs_id"] = rows[0][2]
    out["account"] = {r[0]: r[3] for r in rows}
    return out


async def bare_switch(bare: Bare, f: dict[str, Any], old: str, new: str) -> None:
    """The minimum statement sequence of spec 2.c (no probes, no re-reads)."""
    ogp, np, r3 = f["primary"][old], f["primary"][new], f["primary"]["dc3"]
    nh, npt = np.split(":")
    user = f["account"][old]
    pw = derived_password(CS_PASSWORD, purpose=user)
    await bare.q(ogp, sql.BEGIN)
    await bare.q(ogp, sql.md_cs_primary_changed(f["cs_id"], f["ids"][new]))
    await bare.q(ogp, sql.COMMIT)
    change_full = sql.change_source_full(
        host=nh, port=int(npt), user=user, password=pw, ssl_clause=", SOURCE_SSL = 1", auto_failover=False
    )
    for m in f["members"][old]:
        if m != ogp:
            await bare.q(m, change_full)
    await bare.q(ogp, sql.member_action(sql.ACTION_SRO, enable=False))
    await bare.q(ogp, sql.FENCE)
    await bare.q(
        ogp,
        sql.change_source_full(
            host=nh, port=int(npt), user=user, password=pw, ssl_clause=", SOURCE_SSL = 1", auto_failover=True
        ),
    )
    await bare.q(ogp, sql.start_replica())
    await bare.q(ogp, sql.add_managed(group_name=f["group"][new], host=nh, port=int(npt)))
    await bare.q(ogp, sql.FLUSH_TABLES_WITH_READ_LOCK)
    await bare.q(ogp, sql.SRO_ON_GLOBAL)
    await bare.q(ogp, sql.FLUSH_BINARY_LOGS)
    final = (await bare.q(ogp, sql.GTID_EXECUTED))[0][0]
    await bare.q(np, sql.wait_for_gtid_set(final, 60))
    await bare.q(ogp, sql.UNLOCK_TABLES)
    await bare.q(np, sql.stop_replica())
    await bare.q(np, sql.UNFENCE_SRO)
    await bare.q(np, sql.UNFENCE_RO)
    await bare.q(np, sql.member_action(sql.ACTION_SRO, enable=True))
    managed = await bare.q(np, sql.MANAGED_SOURCES)
    for row in managed:
        await bare.q(np, sql.delete_managed(row[1]))
    await bare.q(r3, sql.stop_replica())
    await bare.q(r3, sql.change_source_host_port(host=nh, port=int(npt), auto_failover=True))
    await bare.q(r3, sql.start_replica())
    for row in await bare.q(r3, sql.MANAGED_SOURCES):
        await bare.q(r3, sql.delete_managed(row[1]))
    await bare.q(r3, sql.add_managed(group_name=f["group"][new], host=nh, port=int(npt)))
    for m in f["members"][new]:
        await bare.q(m, sql.reset_replica(all_=True))


async def main(rounds: int) -> None:
    from mysqlsim.testing import running_world

    with tempfile.TemporaryDirectory() as tmp, running_world(TOPOLOGY, state_dir=Path(tmp)) as world:
        env = OperationEnv(
            secrets=StaticSecretReader(CS_PASSWORD),
            pools=Pools(ConnectionSettings(ca_path=str(world.ca_path))),
            settings=OperationSettings(sync_poll=1, poll_interval=0.05, clone_poll_interval=0.05),
        )
        spec1 = spec_of(world, "dc1")
        print("building the ClusterSet (bootstrap dc1, join and grow dc2, join dc3)...", flush=True)
        for kind, target in (
            (OperationKind.BOOTSTRAP, None),
            (OperationKind.JOIN, "dc2"),
            (OperationKind.GROW, "dc2"),
            (OperationKind.JOIN, "dc3"),
        ):
            await asyncio.wait_for(run_all(req(kind, spec1, target), env), 300)
            print(f"  {kind.value} {target or ''} done", flush=True)
        bare = Bare()
        await bare.open(world)
        ours: list[float] = []
        plain: list[float] = []
        try:
            for _ in range(rounds):
                for new in ("dc2", "dc1"):
                    t0 = time.perf_counter()
                    await asyncio.wait_for(
                        run_all(req(OperationKind.SWITCHOVER, spec_of(world, new), new), env), 120
                    )
                    ours.append(time.perf_counter() - t0)
                    print(f"  ours -> {new}: {ours[-1] * 1000:.0f} ms", flush=True)
                for old, new in (("dc1", "dc2"), ("dc2", "dc1")):
                    f = await facts(bare, world)
                    t0 = time.perf_counter()
                    await asyncio.wait_for(bare_switch(bare, f, old, new), 120)
                    plain.append(time.perf_counter() - t0)
                    print(f"  bare -> {new}: {plain[-1] * 1000:.0f} ms", flush=True)
        finally:
            await bare.close()
            await env.close()
    o, b = statistics.median(ours), statistics.median(plain)
    print(f"switchovers per method: {len(ours)} (lag-free, 3 sites: 3+3+1 members)")
    print(
        f"ours (resumable steps, probes, warm pools): median {o * 1000:.0f} ms  (all: "
        + ", ".join(f"{x * 1000:.0f}" for x in ours)
        + ")"
    )
    print(
        f"bare minimum statement sequence:           median {b * 1000:.0f} ms  (all: "
        + ", ".join(f"{x * 1000:.0f}" for x in plain)
        + ")"
    )
    print(f"ratio ours/bare: {o / b:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
