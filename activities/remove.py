"""removeCluster (spec §2.e), with and without force, leaving the removed cluster's data intact.

Why it exists: deleting a cluster from spec.clusters removes it from the ClusterSet: its metadata goes
(on the global primary, through `v2_cs_member_removed`), its channel and ClusterSet settings go, and its
group is dissolved so the site's own operator can re-bootstrap it standalone. User data is never
touched: the instances end standalone, super_read_only persisted ON, with all their rows.

The steps are built per cluster name by `removal_steps`, so dissolve reuses them. Without force the
cluster's channel must be running (so it can be synced before and after the metadata change); with
force an unreachable cluster is removed from the metadata only and its servers are left as they are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from activities import cs_topology as t
from activities import primitives as p
from activities import sql
from activities.connections import ClusterAccess, Session
from activities.errors import FailedPrecondition, InvalidRequest, InvalidTopology
from activities.models import OperationKind, OperationRequest
from activities.steps import Step, StepContext, operation
from api.models import Endpoint


async def removed(ctx: StepContext, name: str) -> bool:
    """(probe) the freshest metadata has no row for the cluster any more (or no ClusterSet is left)."""
    try:
        return name not in (await t.read_topology(ctx)).clusters
    except InvalidTopology:
        return True


async def is_primary_cluster(ctx: StepContext, name: str) -> bool:
    try:
        return (await t.read_topology(ctx)).primary_cluster == name
    except InvalidTopology:
        return False


IsPrimary = Callable[[StepContext, str], Awaitable[bool]]


async def _gp(ctx: StepContext) -> tuple[ClusterAccess, Endpoint]:
    topo = await t.read_topology(ctx)
    pc = topo.primary_cluster
    if pc is None:
        raise FailedPrecondition("the ClusterSet has no primary cluster; removal needs one", where="")
    return ctx.cluster(pc), await t.require_primary(ctx, pc)


async def channel_ok(ctx: StepContext, name: str) -> bool:
    got = await t.primary_or_none(ctx, name)
    if got is None:
        return False
    async with ctx.cluster(name).endpoint_session(got[0]) as s:
        return (await p.channel_status(s)).status in ("ON", "CONNECTING")


async def _synced(ctx: StepContext, name: str) -> bool:
    acc, gp = await _gp(ctx)
    async with acc.endpoint_session(gp) as s:
        gp_set = await p.gtid_executed(s)
    got = await t.primary_or_none(ctx, name)
    if got is None:
        return True
    async with ctx.cluster(name).endpoint_session(got[0]) as s:
        return gp_set.issubset(await p.gtid_executed(s))


async def _sync(ctx: StepContext, name: str) -> None:
    acc, gp = await _gp(ctx)
    async with acc.endpoint_session(gp) as s:
        gp_set = await p.gtid_executed(s)
    ep = await t.require_primary(ctx, name)
    async with ctx.cluster(name).endpoint_session(ep) as s:
        await p.wait_for_gtids(
            s, gp_set, within=ctx.settings.sync_timeout, poll=ctx.settings.sync_poll, where=name
        )


def removal_steps(name: str, *, prefix: str = "", is_primary: IsPrimary | None = None) -> list[Step]:
    """The steps that remove cluster `name` (step names prefixed with `prefix`).

    With `is_primary` (dissolve), every step is "done" for the cluster it names primary.
    """

    async def primary_skipped(ctx: StepContext) -> bool:
        return is_primary is not None and await is_primary(ctx, name)

    async def probe_check(ctx: StepContext) -> bool:
        return await primary_skipped(ctx) or await removed(ctx, name)

    async def act_check(ctx: StepContext) -> dict[str, str]:
        topo = await t.read_topology(ctx)
        if not topo.is_member(name):
            if name in topo.clusters:
                return {}  # a removal (or a join) stopped half-way: its rows are still there, go on
            raise InvalidRequest(f"cluster {name} is not a member of the ClusterSet", where=name)
        if topo.primary_cluster == name:
            raise InvalidRequest(
                f"cluster {name} is the primary cluster; switch over to another cluster before removing it",
                where=name,
            )
        acc, gp = await _gp(ctx)
        group = topo.clusters[name].group_name
        async with acc.endpoint_session(gp) as s:
            routers = await s.fetch_all(sql.md_routers_targeting(group)) if group else []
        if routers:
            names = ", ".join(p.as_str(r.get("router_name")) for r in routers)
            raise FailedPrecondition(
                f"routers {names} have cluster {name} as target_cluster; change their target first",
                where=name,
            )
        if not ctx.req.force and not await channel_ok(ctx, name):
            raise FailedPrecondition(
                f"cluster {name} is unreachable or not replicating; removing it needs force "
                "(spec.unsafeFlags.forcedClusterRemoval)",
                where=name,
            )
        return {}

    async def skip_servers(ctx: StepContext) -> bool:
        """The cluster's own servers are left alone: primary cluster (dissolve), or forced and unreachable."""
        if await primary_skipped(ctx):
            return True
        return ctx.req.force and not await t.reachable_endpoints(ctx, name)

    async def probe_sync_before(ctx: StepContext) -> bool:
        if await removed(ctx, name) or await skip_servers(ctx):
            return True
        if ctx.req.force and not await channel_ok(ctx, name):
            return True
        return await _synced(ctx, name)

    async def act_sync_before(ctx: StepContext) -> None:
        await _sync(ctx, name)

    async def probe_settings(ctx: StepContext) -> bool:
        if await removed(ctx, name) or await skip_servers(ctx):
            return True
        acc = ctx.cluster(name)
        for ep in await acc.reachable_endpoints():
            async with acc.endpoint_session(ep) as s:
                if p.as_str(await p.persisted(s, "skip_replica_start")).upper() not in ("OFF", "0"):
                    return False
        return True

    async def act_settings(ctx: StepContext) -> None:
        topo = await t.read_topology(ctx)
        acc, gp = await _gp(ctx)
        if await t.primary_or_none(ctx, name) is not None:
            async with acc.endpoint_session(gp) as md:
                await t.restore_transaction_size_limit(ctx, name, md, topo.cluster_id(name))
        target = ctx.cluster(name)
        for ep in await target.reachable_endpoints():
            async with target.endpoint_session(ep) as s:
                await s.execute(sql.set_persist_only("skip_replica_start", False))

    async def probe_metadata(ctx: StepContext) -> bool:
        return await primary_skipped(ctx) or await removed(ctx, name)

    async def act_metadata(ctx: StepContext) -> None:
        topo = await t.read_topology(ctx)
        acc, gp = await _gp(ctx)
        async with acc.endpoint_session(gp) as s:
            clusters = {c.cluster_name: c for c in await p.md_clusters(s)}
            cluster = clusters.get(name)
            if cluster is None:
                return
            if cluster.clusterset_id:
                await p.in_transaction(s, [sql.md_cs_member_removed(topo.cs_id, cluster.cluster_id)])
            if cluster.repl_user and not any(
                c.repl_user == cluster.repl_user for n, c in clusters.items() if n != name
            ):
                await s.execute(sql.drop_user(cluster.repl_user, cluster.repl_host or "%"))
            await s.execute(sql.md_clear_cluster_account(cluster.cluster_id))
            for r in await s.fetch_all(sql.md_recovery_accounts(cluster.cluster_id)):
                user = p.as_str(r.get("user"))
                if user and user.lower() != "null":
                    await s.execute(sql.drop_user(user, p.as_str(r.get("host")) or "%"))
            await p.in_transaction(s, sql.md_delete_cluster(cluster.cluster_id))
        ctx.cache.pop("topology", None)

    async def probe_sync_after(ctx: StepContext) -> bool:
        if await skip_servers(ctx) or not await channel_ok(ctx, name):
            return True
        return await _synced(ctx, name)

    async def act_sync_after(ctx: StepContext) -> None:
        await _sync(ctx, name)

    async def probe_channel(ctx: StepContext) -> bool:
        if await skip_servers(ctx):
            return True
        acc = ctx.cluster(name)
        for ep in await acc.reachable_endpoints():
            async with acc.endpoint_session(ep) as s:
                if (await p.channel_status(s)).exists or await p.managed_sources(s):
                    return False
                if not await p.super_read_only(s):
                    return False
        return True

    async def act_channel(ctx: StepContext) -> None:
        """remove_replica(member) for every reachable member (spec 2.e removeCluster step 9)."""
        acc = ctx.cluster(name)
        primary = await t.primary_or_none(ctx, name)
        for ep in await acc.reachable_endpoints():
            async with acc.endpoint_session(ep) as s:
                await p.remove_channel(s)
                if primary is None or primary[0] == ep:
                    await p.set_member_action(s, sql.ACTION_SRO, enable=True)
                    await p.delete_managed(s)
                await p.fence(s)

    async def probe_group(ctx: StepContext) -> bool:
        if await skip_servers(ctx):
            return True
        acc = ctx.cluster(name)
        for ep in await acc.reachable_endpoints():
            async with acc.endpoint_session(ep) as s:
                row = await s.fetch_one(sql.MY_GR_STATE)
                if row is not None and p.as_str(row.get("member_state")) in ("ONLINE", "RECOVERING"):
                    return False
        return True

    async def act_group(ctx: StepContext) -> None:
        """Dissolve the removed cluster's group: secondaries, VCLE reconciliation, the primary last."""
        acc = ctx.cluster(name)
        members = await t.online_members(ctx, name)
        primary = [(ep, m) for ep, m in members if m.role == "PRIMARY"]
        for ep, m in members:
            if m.role != "PRIMARY":
                async with acc.endpoint_session(ep) as s:
                    await leave_group(s)
        if primary:
            ep = primary[0][0]
            async with acc.endpoint_session(ep) as s:
                vcle = p.as_str(await s.scalar(sql.VIEW_CHANGE_UUID))
                mine = await p.gtid_executed(s)
            if vcle and vcle.upper() != "AUTOMATIC":
                gacc, gp = await _gp(ctx)
                async with gacc.endpoint_session(gp) as md:
                    missing = mine.only_uuids({vcle}).subtract(await p.gtid_executed(md))
                    await t.reconcile_view_changes(md, missing)
            async with acc.endpoint_session(ep) as s:
                await leave_group(s)

    n = name
    return [
        Step(
            f"{prefix}check",
            f"{n} can be removed (not primary, no router targets it, channel or force)",
            probe=probe_check,
            act=act_check,
        ),
        Step(
            f"{prefix}sync_before",
            f"{n}'s primary has every transaction of the global primary",
            probe=probe_sync_before,
            act=act_sync_before,
        ),
        Step(
            f"{prefix}restore_settings",
            f"{n}: transaction size limit restored, skip_replica_start OFF",
            probe=probe_settings,
            act=act_settings,
        ),
        Step(
            f"{prefix}metadata",
            f"metadata on the global primary: v2_cs_member_removed, {n}'s rows and accounts",
            probe=probe_metadata,
            act=act_metadata,
        ),
        Step(
            f"{prefix}sync_after", f"{n} receives its own removal", probe=probe_sync_after, act=act_sync_after
        ),
        Step(
            f"{prefix}remove_channel",
            f"RESET REPLICA ALL of clusterset_replication on {n}; fenced",
            probe=probe_channel,
            act=act_channel,
        ),
        Step(
            f"{prefix}dissolve_group",
            f"{n}'s members leave their group (data kept, super_read_only ON)",
            probe=probe_group,
            act=act_group,
        ),
    ]


async def leave_group(s: Session) -> None:
    """leave_cluster(X) of spec 2.e (MYSQL communication stack: recovery channel kept)."""
    row = await s.fetch_one(sql.MY_GR_STATE)
    if row is not None and p.as_str(row.get("member_state")) not in ("OFFLINE", ""):
        await s.execute(sql.STOP_GR)
    for statement in sql.leave_cluster():
        await s.execute(statement)


@operation(OperationKind.REMOVE)
def remove_steps(req: OperationRequest) -> list[Step]:
    return removal_steps(req.target_cluster or "?")
