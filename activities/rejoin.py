"""rejoinCluster (spec §2.e): bring an INVALIDATED or not-replicating replica cluster back, refusing one
that diverged.

Why it exists: after a forced failover the old primary cluster is INVALIDATED; after a long outage a
replica stops replicating (OK_NOT_REPLICATING) or its group is down. Rejoin repairs all three, in order:

1. `fence`: every reachable member super_read_only (persisted) before anything else touches it;
2. `check`: the errant-transaction check of §1.12 against the global primary: a cluster with GTIDs the
   primary cluster never had is refused (DivergedGtids naming them); one that needs purged GTIDs is
   refused (PurgedTransactions);
3. `reboot_group`, `rejoin_members` (activities.reboot) when its group is down;
4. `reconcile_view_changes`: its view-change GTIDs the global primary lacks are injected there (§1.10);
5. `rejoin_metadata`: `v2_cs_member_rejoined` on the global primary when it was invalidated;
6. `replica_channel`: transaction size limit 0, its replication account's password made the derived
   one, `update_replica` towards the global primary with credentials, offline_mode OFF (a FENCE had set it);
7. `sync`: it holds every transaction the global primary had when the step ran.
"""

from __future__ import annotations

from activities import cs_topology as t
from activities import primitives as p
from activities import reboot, sql
from activities.connections import ClusterAccess
from activities.errors import InvalidRequest, InvalidTopology
from activities.gtid import GtidSet
from activities.models import OperationKind, OperationRequest
from activities.steps import Step, StepContext, operation
from activities.switchover import can_login, new_source
from api.models import Endpoint


async def _pc(ctx: StepContext) -> tuple[t.ClusterSetTopology, str]:
    topo = await t.read_topology(ctx)
    pc = topo.primary_cluster
    if pc is None:
        raise InvalidTopology("the ClusterSet has no primary cluster to rejoin to", where=ctx.target)
    return topo, pc


async def _gp(ctx: StepContext) -> tuple[ClusterAccess, Endpoint]:
    _, pc = await _pc(ctx)
    return ctx.cluster(pc), await t.require_primary(ctx, pc)


async def _validate_target(ctx: StepContext) -> t.ClusterSetTopology:
    topo, pc = await _pc(ctx)
    name = ctx.target
    if name not in topo.clusters or not topo.is_member(name):
        raise InvalidRequest(
            f"cluster {name} is not a member of the ClusterSet "
            "(a removed cluster cannot rejoin; join it again)",
            where=name,
        )
    if pc == name:
        raise InvalidRequest(f"cluster {name} is the primary cluster; there is nothing to rejoin", where=name)
    return topo


async def _fresh_set(ctx: StepContext) -> GtidSet:
    """gtid_executed of the cluster's primary, or of its most advanced reachable member when it has none."""
    acc = ctx.cluster(ctx.target)
    got = await t.primary_or_none(ctx, ctx.target)
    if got is not None:
        async with acc.endpoint_session(got[0]) as s:
            return await p.gtid_executed(s)
    seed = await reboot.choose_seed(acc)
    async with acc.endpoint_session(seed) as s:
        return await p.gtid_executed(s)


async def _consistency(ctx: StepContext) -> t.Consistency:
    topo, pc = await _pc(ctx)
    acc, gp = await _gp(ctx)
    joining = await _fresh_set(ctx)
    async with acc.endpoint_session(gp) as s:
        primary_set = await p.gtid_executed(s)
    purged = await t.purged_everywhere(ctx, pc)
    return t.consistency(
        joining=joining, primary=primary_set, purged=purged, allowed_uuids=topo.view_change_uuids()
    )


async def rejoined(ctx: StepContext) -> bool:
    """(probe) a non-invalidated member replicating from the global primary, not offline."""
    topo, pc = await _pc(ctx)
    if not topo.is_member(ctx.target) or topo.invalidated(ctx.target):
        return False
    if await t.primary_or_none(ctx, ctx.target) is None:
        return False
    if not await t.replica_points_at(ctx, ctx.target, await new_source(ctx, pc)):
        return False
    return await _traffic_open(ctx)


async def _traffic_open(ctx: StepContext) -> bool:
    acc = ctx.cluster(ctx.target)
    for ep in await acc.reachable_endpoints():
        async with acc.endpoint_session(ep) as s:
            if p.as_bool(await s.scalar(sql.OFFLINE_MODE)):
                return False
    return True


# ===================================================================================== steps


async def probe_fence(ctx: StepContext) -> bool:
    acc = ctx.cluster(ctx.target)
    eps = await acc.reachable_endpoints()
    if not eps:
        return False
    for ep in eps:
        async with acc.endpoint_session(ep) as s:
            if not await p.super_read_only(s):
                return False
            if p.as_str(await p.persisted(s, "super_read_only")).upper() not in ("ON", "1"):
                return False
    return True


async def act_fence(ctx: StepContext) -> None:
    acc = ctx.cluster(ctx.target)
    for ep in await acc.reachable_endpoints():
        async with acc.endpoint_session(ep) as s:
            await p.fence(s)


async def probe_check(ctx: StepContext) -> bool:
    return await rejoined(ctx)


async def act_check(ctx: StepContext) -> None:
    await _validate_target(ctx)
    _, pc = await _pc(ctx)
    c = await _consistency(ctx)
    t.raise_if_inconsistent(c, cluster=ctx.target, primary_cluster=pc, doing="rejoin the ClusterSet")


async def probe_vcle(ctx: StepContext) -> bool:
    return not (await _consistency(ctx)).missing_view


async def act_vcle(ctx: StepContext) -> dict[str, str]:
    c = await _consistency(ctx)
    acc, gp = await _gp(ctx)
    async with acc.endpoint_session(gp) as s:
        await t.reconcile_view_changes(s, c.missing_view)
    return {"view_change_gtids_injected": str(c.missing_view)} if c.missing_view else {}


async def probe_metadata(ctx: StepContext) -> bool:
    topo = await _validate_target(ctx)
    return not topo.invalidated(ctx.target)


async def act_metadata(ctx: StepContext) -> None:
    topo, pc = await _pc(ctx)
    acc, gp = await _gp(ctx)
    async with acc.endpoint_session(gp) as s:
        members = {m.cluster_name: m for m in await p.cs_members(s)}
        me = members.get(ctx.target)
        if me is None or not me.invalidated:
            return
        await p.in_transaction(
            s, [sql.md_cs_member_rejoined(topo.cs_id, topo.cluster_id(ctx.target), topo.cluster_id(pc))]
        )
    ctx.cache.pop("topology", None)


async def probe_channel(ctx: StepContext) -> bool:
    return await rejoined(ctx)


async def act_channel(ctx: StepContext) -> None:
    topo, pc = await _pc(ctx)
    name = ctx.target
    cluster = topo.clusters[name]
    if not cluster.repl_user:
        raise InvalidTopology(
            f"the metadata records no ClusterSet replication account for cluster {name}", where=name
        )
    account = t.ReplicationAccount(
        user=cluster.repl_user,
        host=cluster.repl_host or "%",
        password=ctx.internal_password(cluster.repl_user),
    )
    acc, gp = await _gp(ctx)
    if not await can_login(ctx, gp, account):
        async with acc.endpoint_session(gp) as s:
            if await p.account_hosts(s, account.user):
                await s.execute(sql.alter_user_password_of(account.user, account.host, account.password))
            else:
                await p.ensure_account(s, account.user, account.host, account.password, sql.CS_ACCOUNT_GRANTS)
    await t.set_maximum_transaction_size_limit(ctx, name)
    src = await new_source(ctx, pc)
    await t.update_replica_cluster(ctx, name, src, account=account, ssl_mode=topo.ssl_mode)
    target = ctx.cluster(name)
    for ep in await target.reachable_endpoints():
        async with target.endpoint_session(ep) as s:
            if p.as_bool(await s.scalar(sql.OFFLINE_MODE)) or p.as_str(
                await p.persisted(s, "offline_mode")
            ).upper() in ("ON", "1"):
                await s.execute(sql.set_persist("offline_mode", False))


async def probe_sync(ctx: StepContext) -> bool:
    acc, gp = await _gp(ctx)
    async with acc.endpoint_session(gp) as s:
        gp_set = await p.gtid_executed(s)
    return gp_set.issubset(await _fresh_set(ctx))


async def act_sync(ctx: StepContext) -> None:
    acc, gp = await _gp(ctx)
    async with acc.endpoint_session(gp) as s:
        gp_set = await p.gtid_executed(s)
    ep = await t.require_primary(ctx, ctx.target)
    async with ctx.cluster(ctx.target).endpoint_session(ep) as s:
        await p.wait_for_gtids(
            s, gp_set, within=ctx.settings.sync_timeout, poll=ctx.settings.sync_poll, where=ctx.target
        )


@operation(OperationKind.REJOIN)
def rejoin_steps(req: OperationRequest) -> list[Step]:
    name = req.target_cluster or "?"
    return [
        Step(
            "fence",
            f"every reachable member of {name} super_read_only (persisted)",
            probe=probe_fence,
            act=act_fence,
        ),
        Step(
            "check",
            f"{name} has no errant transactions and needs no purged ones",
            probe=probe_check,
            act=act_check,
        ),
        *reboot.reboot_steps(name),
        Step(
            "reconcile_view_changes",
            f"view-change GTIDs of {name} injected on the global primary",
            probe=probe_vcle,
            act=act_vcle,
        ),
        Step(
            "rejoin_metadata",
            f"metadata: v2_cs_member_rejoined for {name} if it was invalidated",
            probe=probe_metadata,
            act=act_metadata,
        ),
        Step(
            "replica_channel",
            f"{name} replicates from the global primary (channel, settings, traffic open)",
            probe=probe_channel,
            act=act_channel,
        ),
        Step("sync", f"{name} caught up with the global primary", probe=probe_sync, act=act_sync),
    ]
