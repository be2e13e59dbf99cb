"""Crash at every step of dissolve: interrupt after step k, run the dissolve again from its first step
with a fresh context, and the final state equals that of an uninterrupted dissolve.

One world: `p1`, a one-member InnoDB Cluster holding data, is bootstrapped as a ClusterSet again for every
trial (a dissolve leaves it a plain InnoDB Cluster), and one fresh one-member replica site joins it per
trial (instance i of sites rs+rt as replica cluster r<i>: a removed replica keeps its data and is no
longer empty, so it is not joined again). All 15 cuts take about 16 s on 2 cores, so the test is not
marked slow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from harness import CS_PASSWORD, make_env, request, run_operation
from opsb_world import SEED_SQL, member_facts, rows

from activities.models import OperationKind, OperationRequest
from activities.steps import OperationEnv, build_steps
from api.models import ClusterSetSpec

PRIMARY = "p1"
DISSOLVE_STEPS = 16  # 7 removal steps per cluster (the primary's done by their probes) + 2 on the primary
REPLICAS = [f"r{i}" for i in range(DISSOLVE_STEPS)]  # the reference run, then one per cut
POOLS = [("rs", 9), ("rt", len(REPLICAS) - 9)]
TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": {
        "root": {"password": "rootpw"},
        "clusterset": {"password": CS_PASSWORD, "grants": "percona"},
    },
    "sites": [
        {
            "name": PRIMARY,
            "members": 1,
            "version": "8.0.36",
            "mode": "innodb_cluster",
            "cluster_name": PRIMARY,
            "seed_sql": SEED_SQL,
        },
        # sites of standalone instances: replica cluster r<i> is instance i of them (a world has at most
        # 15 sites, a site at most 15 members)
        *[{"name": s, "members": n, "version": "8.0.36", "mode": "empty"} for s, n in POOLS],
    ],
    "default_bandwidth_mbit": 10000,
    "time_scale": 5000.0,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("dissolve")) as w:
        yield w


@pytest.fixture
async def env(world: Any) -> AsyncIterator[OperationEnv]:
    e = make_env(ca_path=world.ca_path)
    try:
        yield e
    finally:
        await e.close()


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return {}


def _instance(world: Any, replica: str) -> Any:
    i = REPLICAS.index(replica)
    for site, n in POOLS:
        if i < n:
            return world.endpoints[site][i]
        i -= n
    raise KeyError(replica)


def _spec(world: Any, replica: str) -> ClusterSetSpec:
    """p1 and the one-instance replica cluster `replica`."""
    m = _instance(world, replica)
    return ClusterSetSpec.model_validate(
        {
            "primaryCluster": PRIMARY,
            "credentialsSecret": {"name": "cs-secret"},
            "clusters": [
                {
                    "innodbClusterName": PRIMARY,
                    "endpoints": [{"host": e.host, "port": e.port} for e in world.endpoints[PRIMARY]],
                },
                {"innodbClusterName": replica, "endpoints": [{"host": m.host, "port": m.port}]},
            ],
        }
    )


def _dissolve_request(world: Any, replica: str) -> OperationRequest:
    return request(OperationKind.DISSOLVE, _spec(world, replica))


async def _clusterset_with(world: Any, env: OperationEnv, replica: str) -> None:
    """p1 as the primary cluster of a ClusterSet again, `replica` joined to it."""
    spec = _spec(world, replica)
    await run_operation(request(OperationKind.BOOTSTRAP, spec), env)
    await run_operation(request(OperationKind.JOIN, spec, target=replica), env)


def _anonymous(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.items() if k != "member"} for f in facts]


async def _facts(world: Any, env: OperationEnv, replica: str) -> dict[str, Any]:
    spec = _spec(world, replica)
    gp, r = world.member(PRIMARY, 0), _instance(world, replica)
    return {
        "primary": _anonymous(await member_facts(env, spec, PRIMARY)),
        "replica": _anonymous(await member_facts(env, spec, replica)),
        "primary_clustersets": await rows(
            gp, "SELECT COUNT(*) AS n FROM mysql_innodb_cluster_metadata.clustersets"
        ),
        "primary_clusters": await rows(
            gp, "SELECT cluster_name FROM mysql_innodb_cluster_metadata.clusters ORDER BY cluster_name"
        ),
        "primary_cs_accounts": await rows(
            gp, "SELECT COUNT(*) AS n FROM mysql.user WHERE User LIKE 'mysql_innodb_cs_%'"
        ),
        "primary_rows": await rows(gp, "SELECT COUNT(*) AS n FROM app.t"),
        "replica_rows": await rows(r, "SELECT COUNT(*) AS n FROM app.t"),
    }


async def _ensure_reference(world: Any, env: OperationEnv, reference: dict[str, Any]) -> dict[str, Any]:
    if not reference:
        replica = REPLICAS[0]
        await _clusterset_with(world, env, replica)
        clean = await run_operation(_dissolve_request(world, replica), env)
        assert "primary_metadata" in clean.acted and f"{replica}.metadata" in clean.acted, clean.acted
        reference.update(await _facts(world, env, replica))
        assert reference["primary_clustersets"] == [{"n": 0}], reference
        assert reference["primary_cs_accounts"] == [{"n": 0}], reference
        assert reference["replica_rows"] == [{"n": 3}], reference  # the removed replica keeps its data
        again = await run_operation(_dissolve_request(world, replica), env)
        assert again.acted == [], again.acted
    return reference


@pytest.mark.parametrize("k", range(1, DISSOLVE_STEPS))
async def test_dissolve_crash_after_step_k(
    world: Any, env: OperationEnv, reference: dict[str, Any], k: int
) -> None:
    expected = await _ensure_reference(world, env, reference)
    replica = REPLICAS[k]
    await _clusterset_with(world, env, replica)
    req = _dissolve_request(world, replica)
    names = [s.name for s in build_steps(req)]
    assert len(names) == DISSOLVE_STEPS, names
    first = await run_operation(req, env, stop_after=k)
    assert first.interrupted_at == names[k]
    await run_operation(req, env)
    assert await _facts(world, env, replica) == expected, names[k]
    assert (await run_operation(req, env)).acted == [], names[k]
