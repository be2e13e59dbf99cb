"""The race behind the flaky test_join_killed_in_the_middle_of_the_clone, made deterministic.

A join is killed while its CLONE runs; the re-run's clone step probes while that clone is still running
(it is held: the recipient is cut off from the donor, so the copy stalls), and the clone ends (the recipient
restarts, which resets clone_valid_donor_list) between the step's probe and its act. The act must
re-attach to the finished clone: no second CLONE (which the emptied donor list would refuse anyway).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import CS_PASSWORD, make_env, request, root_sql, run_operation, spec_for, wait_until

from activities import join
from activities.clone import CloneRow, is_running
from activities.models import OperationKind
from activities.steps import StepContext, build_steps

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
            "seed_sql": ["CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)"],
        },
        {"name": "j1", "members": 1, "version": "8.0.36", "mode": "empty"},
    ],
    "default_bandwidth_mbit": 1000,
    "time_scale": 200.0,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("reattach")) as w:
        yield w


async def test_clone_that_ends_between_probe_and_act_is_reattached(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env(ca_path=world.ca_path)
    recipient = world.member("j1", 0)
    donors = [m.host for m in world.endpoints["dc1"]]
    # ~1 s of copying (200 MB at 1 MiB/s, time scale 200): the kill and the cut land while it runs
    spec = spec_for(world, ["dc1", "j1"], primary="dc1", cloneOptions={"maxNetworkBandwidthMib": 1})
    req = request(OperationKind.JOIN, spec, target="j1")
    seen_by_probe: list[Any] = []
    real_run_clone = join.run_clone

    async def clone_status() -> str:
        try:
            got = await root_sql(
                recipient.host, recipient.port, ["SELECT STATE AS state FROM performance_schema.clone_status"]
            )
        except Exception:  # restarting
            return ""
        return str(got[0]["state"]) if got else ""

    async def run_clone_after_it_ended(ctx: StepContext, **kwargs: Any) -> Any:
        seen_by_probe.append(ctx.cache.get("clone_row"))
        world.ctl.heal()  # the held clone copies on, ends, and the recipient restarts

        async def completed() -> bool:
            return await clone_status() == "Completed"

        await wait_until(completed, within=60, what="the first CLONE to complete")
        return await real_run_clone(ctx, **kwargs)

    try:
        await run_operation(request(OperationKind.BOOTSTRAP, spec), env)

        async def cloning() -> bool:
            return bool(world.ctl.clone_count(recipient.host) >= 1)

        clone_step = [s.name for s in build_steps(req)].index("clone")
        first = await run_operation(req, env, kill_in_step=clone_step, kill_when=cloning)
        assert first.interrupted_at == "clone"
        world.ctl.partition([recipient.host], donors)  # the clone stalls, In Progress
        assert await clone_status() == "In Progress"
        monkeypatch.setattr(join, "run_clone", run_clone_after_it_ended)
        second = await run_operation(req, env)
    finally:
        world.ctl.heal()
        await env.close()
    assert "clone" in second.acted, second.acted
    assert len(seen_by_probe) == 1 and isinstance(seen_by_probe[0], CloneRow), seen_by_probe
    assert is_running(seen_by_probe[0]), seen_by_probe  # the probe saw the clone running
    assert world.ctl.clone_count(recipient.host) == 1  # re-attached: no second CLONE
    assert "final_sync" in second.acted
    assert await clone_status() == "Completed"
