"""Crash at every step: interrupt an operation after step k (and kill the asyncio task in the middle of a
step), run it again from the first step, and compare with an uninterrupted run.

One world serves every trial: each join trial joins its own single-member site to the same ClusterSet
(so the trials do not reset anything), each bootstrap trial bootstraps its own InnoDB Cluster as its own
ClusterSet. The final state of a trial must equal the reference run's: the cluster's role, channel,
member actions, managed source list, fencing, persisted skip_replica_start; exactly ONE clusterset view
added per operation (a v2_cs_* CALL never runs twice); exactly ONE CLONE per join.
"""

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
    run_operation,
    spec_for,
    view_count,
)

from activities.models import OperationKind
from activities.steps import build_steps

JOIN_SITES = [f"j{i}" for i in range(14)]
BOOT_SITES = [f"b{i}" for i in range(6)]
SEED_SQL = ["CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)", "INSERT INTO app.t VALUES (1)"]

TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": {
        "root": {"password": "rootpw"},
        "clusterset": {"password": CS_PASSWORD, "grants": "percona"},
    },
    "sites": [
        {
            "name": "dc1",
            "members": 2,
            "version": "8.0.36",
            "mode": "innodb_cluster",
            "cluster_name": "dc1",
            "dataset_bytes": 200_000_000,
            "seed_sql": SEED_SQL,
        },
        *[{"name": n, "members": 1, "version": "8.0.36", "mode": "empty"} for n in JOIN_SITES],
    ],
    "default_bandwidth_mbit": 1000,
    "time_scale": 200.0,
}
BOOT_TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": TOPOLOGY["accounts"],
    "sites": [
        *[
            {
                "name": n,
                "members": 1,
                "version": "8.0.36",
                "mode": "innodb_cluster",
                "cluster_name": n,
                "seed_sql": SEED_SQL,
            }
            for n in BOOT_SITES
        ],
    ],
    "default_bandwidth_mbit": 1000,
    "time_scale": 200.0,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("crash")) as w:
        yield w


def _own(facts: dict[str, Any], name: str) -> dict[str, Any]:
    out = dict(facts)
    out["roles"] = [r for r in facts["roles"] if r[0] == name]
    return out


class _Join:
    """Join trials against one ClusterSet on dc1; the first trial is the uninterrupted reference."""

    def __init__(self, world: Any) -> None:
        self.world = world
        self.spec = spec_for(world, ["dc1", JOIN_SITES[0]], primary="dc1")
        self.reference: dict[str, Any] | None = None
        self.used = 0

    async def setup(self, env: Any) -> None:
        await run_operation(request(OperationKind.BOOTSTRAP, self.spec), env)
        if self.reference is None:
            site = self.next_site()
            await self._check(env, site, await self._clean(env, site))

    def next_site(self) -> str:
        site = JOIN_SITES[self.used]
        self.used += 1
        return site

    def spec_of(self, site: str) -> Any:
        """A spec naming dc1 and one trial site (a ClusterSet spec holds at most 10 clusters)."""
        return spec_for(self.world, ["dc1", site], primary="dc1")

    async def _clean(self, env: Any, site: str) -> dict[str, Any]:
        views = await view_count(env, self.spec, "dc1")
        await run_operation(request(OperationKind.JOIN, self.spec_of(site), target=site), env)
        facts = _own(await cluster_facts(env, self.spec_of(site), site), site)
        self.reference = facts
        assert await view_count(env, self.spec, "dc1") == views + 1
        return facts

    async def _check(self, env: Any, site: str, facts: dict[str, Any]) -> None:
        assert facts["channel"] == "ON" and facts["roles"] == [(site, "REPLICA", False)], facts
        assert self.world.ctl.clone_count(self.world.member(site, 0).host) == 1

    async def trial(self, env: Any, **interrupt: Any) -> None:
        site = self.next_site()
        views = await view_count(env, self.spec, "dc1")
        spec = self.spec_of(site)
        first, _second = await crash_then_rerun(
            request(OperationKind.JOIN, spec, target=site), env, **interrupt
        )
        facts = _own(await cluster_facts(env, spec, site), site)
        assert self.reference is not None
        expected = dict(self.reference)
        expected["roles"] = [(site, "REPLICA", False)]
        assert facts == expected, (interrupt, first.interrupted_at, facts)
        assert await view_count(env, self.spec, "dc1") == views + 1, interrupt
        assert self.world.ctl.clone_count(self.world.member(site, 0).host) == 1, (interrupt, "second CLONE")


@pytest.fixture(scope="module")
def boot_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(BOOT_TOPOLOGY, state_dir=tmp_path_factory.mktemp("crashboot")) as w:
        yield w


@pytest.fixture(scope="module")
def join_trials(world: Any) -> _Join:
    return _Join(world)


JOIN_STEPS = 12
DEFAULT_CUTS = list(range(1, JOIN_STEPS))  # every cut point: each trial takes about a second


@pytest.mark.parametrize("k", DEFAULT_CUTS)
async def test_join_interrupted_after_step_k(world: Any, join_trials: _Join, k: int) -> None:
    env = make_env(ca_path=world.ca_path)
    try:
        assert len(build_steps(request(OperationKind.JOIN, join_trials.spec, target="j0"))) == JOIN_STEPS
        await join_trials.setup(env)
        await join_trials.trial(env, stop_after=k)
    finally:
        await env.close()


async def test_join_killed_in_the_middle_of_the_clone(world: Any, join_trials: _Join) -> None:
    """The clone step's task is cancelled once the CLONE runs; the re-run re-attaches, no second CLONE."""
    env = make_env(ca_path=world.ca_path)
    try:
        await join_trials.setup(env)
        site_index = join_trials.used
        site = JOIN_SITES[site_index]
        host = world.member(site, 0).host

        async def cloning() -> bool:
            return bool(world.ctl.clone_count(host) >= 1)

        clone_step = [
            s.name for s in build_steps(request(OperationKind.JOIN, join_trials.spec, target=site))
        ].index("clone")
        await join_trials.trial(env, kill_in_step=clone_step, kill_when=cloning)
    finally:
        await env.close()


async def test_join_killed_in_the_middle_of_the_group_bootstrap(world: Any, join_trials: _Join) -> None:
    env = make_env(ca_path=world.ca_path)
    try:
        await join_trials.setup(env)
        step = [
            s.name for s in build_steps(request(OperationKind.JOIN, join_trials.spec, target="j0"))
        ].index("bootstrap_group")
        await join_trials.trial(env, kill_in_step=step, kill_after_s=0.05)
    finally:
        await env.close()


@pytest.mark.parametrize("k", [1, 2, 3, 4])
async def test_bootstrap_interrupted_after_step_k(boot_world: Any, k: int) -> None:
    world = boot_world
    env = make_env(ca_path=world.ca_path)
    try:
        ref_site, site = BOOT_SITES[0], BOOT_SITES[k]
        ref_spec = spec_for(world, [ref_site], primary=ref_site)
        await run_operation(request(OperationKind.BOOTSTRAP, ref_spec, name=ref_site, uid=ref_site), env)
        reference = _own(await cluster_facts(env, ref_spec, ref_site), ref_site)
        assert reference["roles"] == [(ref_site, "PRIMARY", False)]
        spec = spec_for(world, [site], primary=site)
        await crash_then_rerun(request(OperationKind.BOOTSTRAP, spec, name=site, uid=site), env, stop_after=k)
        facts = _own(await cluster_facts(env, spec, site), site)
        reference["roles"] = [(site, "PRIMARY", False)]
        assert facts == reference
        assert await view_count(env, spec, site) == 1  # v2_cs_created ran exactly once
    finally:
        await env.close()


async def test_bootstrap_killed_inside_the_metadata_transaction(boot_world: Any) -> None:
    """The task is cancelled while the metadata transaction runs: its session is closed (the server rolls
    back), and the re-run records the ClusterSet once."""
    world = boot_world
    env = make_env(ca_path=world.ca_path)
    try:
        site = BOOT_SITES[5]
        spec = spec_for(world, [site], primary=site)
        req = request(OperationKind.BOOTSTRAP, spec, name=site, uid=site)
        metadata_step = [s.name for s in build_steps(req)].index("metadata")
        await crash_then_rerun(req, env, kill_in_step=metadata_step, kill_after_s=0.01)
        facts = _own(await cluster_facts(env, spec, site), site)
        assert facts["roles"] == [(site, "PRIMARY", False)]
        assert await view_count(env, spec, site) == 1
    finally:
        await env.close()
