"""A reusable harness for operations: run the steps the way the workflow does, interrupt after step k or
kill the asyncio task in the middle of a step, run again from the first step, and compare final states.

Used by H-ops-A's and H-ops-B's tests (tests/activities/). Nothing here talks Temporal: it drives
`activities.steps.run_step` directly, merging each step's outputs into the request's context as the
workflow does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from activities import primitives as p
from activities.connections import ConnectionSettings, Credentials, Pools
from activities.credentials import StaticSecretReader
from activities.errors import RetryableError
from activities.models import (
    CloneProgress,
    ClusterSetRef,
    ObserveInput,
    OperationKind,
    OperationRequest,
    StepInput,
    StepResult,
)
from activities.steps import OperationEnv, OperationSettings, build_steps, observe_clusterset, run_step
from api.models import ClusterSetSpec

CS_PASSWORD = "cspw"
ROOT_PASSWORD = "rootpw"

FAST_SETTINGS = OperationSettings(
    sync_timeout=60.0,
    sync_poll=1,
    clone_start_timeout=30.0,
    restart_wait_timeout=60.0,
    clone_poll_interval=0.05,
    member_online_timeout=60.0,
    poll_interval=0.05,
)


def make_env(*, ca_path: Path | str | None = None, password: str = CS_PASSWORD) -> OperationEnv:
    return OperationEnv(
        secrets=StaticSecretReader(password),
        pools=Pools(
            ConnectionSettings(
                connect_timeout=3.0, query_timeout=30.0, ca_path=str(ca_path) if ca_path else None
            )
        ),
        settings=FAST_SETTINGS,
    )


def spec_for(
    world: Any,
    clusters: Iterable[str],
    *,
    primary: str,
    manage_members: Iterable[str] = (),
    **extra: Any,
) -> ClusterSetSpec:
    """A ClusterSetSpec whose clusters are sites of a mysqlsim world (cluster name = site name)."""
    manage = set(manage_members)
    doc: dict[str, Any] = {
        "primaryCluster": primary,
        "credentialsSecret": {"name": "cs-secret"},
        "clusters": [
            {
                "innodbClusterName": site,
                "endpoints": [{"host": m.host, "port": m.port} for m in world.endpoints[site]],
                "manageMembers": site in manage,
            }
            for site in clusters
        ],
    }
    doc.update(extra)
    return ClusterSetSpec.model_validate(doc)


def request(
    kind: OperationKind,
    spec: ClusterSetSpec,
    *,
    name: str = "cs1",
    uid: str = "uid-1",
    target: str | None = None,
    **extra: Any,
) -> OperationRequest:
    return OperationRequest(
        kind=kind,
        clusterset=ClusterSetRef(namespace="default", name=name, uid=uid),
        spec=spec,
        target_cluster=target,
        **extra,
    )


@dataclass
class Run:
    """What one run of an operation did."""

    results: list[StepResult] = field(default_factory=list)
    progress: list[CloneProgress] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)
    interrupted_at: str | None = None

    @property
    def acted(self) -> list[str]:
        return [r.step for r in self.results if not r.already_done]


async def run_operation(
    req: OperationRequest,
    env: OperationEnv,
    *,
    stop_after: int | None = None,
    kill_in_step: int | None = None,
    kill_when: Callable[[], Awaitable[bool]] | None = None,
    kill_after_s: float = 0.5,
    retries: int = 40,
) -> Run:
    """Run the steps in order as the workflow would (a RetryableError retries the step, like the
    workflow's retry policy; anything else propagates).

    stop_after=k   : return after k steps have completed (a crash between step k and k+1).
    kill_in_step=k : start step k (0-based) as a task and cancel it when `kill_when()` turns true, or after
                     `kill_after_s` seconds when no predicate is given (a crash in the middle of a step).
    """
    run = Run()
    context = dict(req.context)
    steps = build_steps(req)
    for index, step in enumerate(steps):
        if stop_after is not None and index >= stop_after:
            run.interrupted_at = step.name
            break
        current = req.model_copy(update={"context": dict(context)})

        async def on_progress(pr: CloneProgress) -> None:
            run.progress.append(pr)

        inp = StepInput(request=current, step=step.name)
        if kill_in_step == index:
            task = asyncio.ensure_future(run_step(inp, env=env, on_progress=on_progress))
            await _cancel_when(task, kill_when, kill_after_s)
            run.interrupted_at = step.name
            break
        result = await _with_retries(inp, env, on_progress, retries=retries)
        run.results.append(result)
        context.update(result.outputs)
    run.context = context
    return run


async def _with_retries(
    inp: StepInput,
    env: OperationEnv,
    on_progress: Callable[[CloneProgress], Awaitable[None]],
    *,
    retries: int,
) -> StepResult:
    for attempt in range(retries + 1):
        try:
            return await run_step(inp, env=env, on_progress=on_progress)
        except RetryableError:
            if attempt == retries:
                raise
            await asyncio.sleep(0.25)
    raise AssertionError("unreachable")


async def _cancel_when(
    task: asyncio.Future[StepResult], predicate: Callable[[], Awaitable[bool]] | None, after_s: float
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (after_s if predicate is None else 60.0)
    while not task.done() and loop.time() < deadline:
        if predicate is not None and await predicate():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):  # the step may also have failed on its own
        pass


async def crash_then_rerun(
    req: OperationRequest,
    env: OperationEnv,
    *,
    stop_after: int | None = None,
    kill_in_step: int | None = None,
    kill_when: Callable[[], Awaitable[bool]] | None = None,
    kill_after_s: float = 0.5,
) -> tuple[Run, Run]:
    """Interrupt a run, then run the operation again from its first step with a fresh context."""
    first = await run_operation(
        req,
        env,
        stop_after=stop_after,
        kill_in_step=kill_in_step,
        kill_when=kill_when,
        kill_after_s=kill_after_s,
    )
    second = await run_operation(req, env)
    return first, second


async def observe(env: OperationEnv, spec: ClusterSetSpec, *, name: str = "cs1", uid: str = "uid-1") -> Any:
    return await observe_clusterset(
        ObserveInput(clusterset=ClusterSetRef(namespace="default", name=name, uid=uid), spec=spec), env=env
    )


async def cluster_facts(env: OperationEnv, spec: ClusterSetSpec, cluster: str) -> dict[str, Any]:
    """Normalised server-side facts of one cluster's primary, for comparing interrupted and clean runs."""
    from activities.connections import ClusterAccess

    creds = Credentials(user="clusterset", password=CS_PASSWORD)
    access = ClusterAccess(env.pools, spec.cluster(cluster), creds=creds, ssl_mode=spec.ssl_mode)
    ep, member = await access.primary()
    async with access.endpoint_session(ep) as s:
        ch = await p.channel_status(s)
        actions = await p.member_actions(s)
        managed = await p.managed_sources(s)
        members = await p.cs_members(s)
        sro = await p.super_read_only(s)
        skip = await p.persisted(s, "skip_replica_start")
    _, gm = await access.any_member_view()
    return {
        "channel": ch.status if ch.exists else "MISSING",
        "channel_auto_failover": ch.auto_failover,
        "actions": actions,
        "managed_count": len(managed),
        "super_read_only": sro,
        "skip_replica_start": p.as_bool(skip),
        "roles": sorted((m.cluster_name, m.member_role, m.invalidated) for m in members),
        "group_online": sorted(m.state for m in gm),
        "primary_is_first_endpoint": ep == access.endpoints[0],
        "member_role": member.role,
    }


async def view_count(env: OperationEnv, spec: ClusterSetSpec, cluster: str) -> int:
    """Number of clusterset_views rows reachable from a cluster's primary (a second v2_cs_* CALL shows)."""
    from activities.connections import ClusterAccess

    creds = Credentials(user="clusterset", password=CS_PASSWORD)
    access = ClusterAccess(env.pools, spec.cluster(cluster), creds=creds, ssl_mode=spec.ssl_mode)
    ep, _ = await access.primary()
    async with access.endpoint_session(ep) as s:
        return int(
            await s.scalar("SELECT COUNT(*) AS n FROM mysql_innodb_cluster_metadata.clusterset_views") or 0
        )


async def root_sql(
    host: str, port: int, statements: Iterable[str], *, password: str = ROOT_PASSWORD
) -> list[Any]:
    """Run statements as root on one instance (test set-up: faults a human would cause); last result rows."""
    import asyncmy
    from asyncmy.cursors import DictCursor

    conn = await asyncio.wait_for(
        asyncmy.connect(host=host, port=port, user="root", password=password, autocommit=True), 10
    )
    rows: list[Any] = []
    try:
        async with conn.cursor(DictCursor) as cur:
            for st in statements:
                await cur.execute(st)
                rows = list(await cur.fetchall() or [])
    finally:
        conn.close()
    return rows


async def wait_until(check: Callable[[], Awaitable[bool]], *, within: float = 30.0, what: str = "") -> None:
    """Poll `check` until true (tests never sleep to wait)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
