"""Controlled switchover: `clusterSet.setPrimaryCluster(target)` (spec §2.c, order of §8) as resumable steps.

Why it exists: changing spec.primaryCluster must move the global primary to another cluster without
losing one acknowledged write, and a switchover interrupted anywhere must continue from where it got.
Each step's probe reads what the earlier steps left on the servers (metadata view, super_read_only,
channel rows, managed source lists); the old primary cluster is found from the context key
`old_primary_cluster` or, when the context is lost, from the view before the SWITCH_PRIMARY view.

No acknowledged write is lost because: the old global primary (old GP) is fenced (super_read_only) by
`demote_old_primary`, `lock_and_sync` waits, under FLUSH TABLES WITH READ LOCK, until the target's
primary (NP) holds every GTID the old GP has, and `promote_target` refuses to unfence NP while the old
GP is writable or has a GTID NP lacks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from activities import cs_topology as t
from activities import primitives as p
from activities import sql
from activities.connections import Credentials, Session
from activities.errors import (
    AccessDenied,
    ClusterNotPrimaryCapable,
    FailedPrecondition,
    InstanceUnreachable,
    InvalidRequest,
    InvalidTopology,
    NotReady,
)
from activities.gtid import GtidSet
from activities.models import OperationKind, OperationRequest
from activities.steps import Step, StepContext, operation
from api.models import Endpoint

CTX_OLD_PRIMARY = "old_primary_cluster"


class AlreadyPrimary(Exception):
    """The target is the primary and no switch to it is recorded: nothing to do (every probe: done)."""


def noop_when_primary(
    probe: Callable[[StepContext], Awaitable[bool]],
) -> Callable[[StepContext], Awaitable[bool]]:
    async def wrapped(ctx: StepContext) -> bool:
        try:
            return await probe(ctx)
        except AlreadyPrimary:
            return True

    return wrapped


@dataclass(frozen=True)
class Switch:
    """Who is who in a switchover (or failover), resolved from the metadata."""

    topo: t.ClusterSetTopology
    old_primary: str  # the cluster that was primary before the switch
    target: str


async def resolve(ctx: StepContext, *, reason: str = "SWITCH_PRIMARY") -> Switch:
    """The old primary cluster: the context, else the metadata's primary, else the previous view's."""
    topo = await t.read_topology(ctx)
    target = ctx.target
    if not topo.is_member(target):
        raise InvalidRequest(
            f"cluster {target} is not a member of the ClusterSet (members: {', '.join(topo.members)})",
            where=target,
        )
    old = ctx.context(CTX_OLD_PRIMARY)
    if not old:
        current = topo.primary_cluster
        if current and current != target:
            old = current
        else:
            acc = ctx.cluster(topo.read_from)
            ep, _ = await acc.any_member_view()
            async with acc.endpoint_session(ep) as s:
                old = await t.previous_primary(s, topo, reason) or ""
    if not old or old == target:
        if topo.primary_cluster == target:
            raise AlreadyPrimary(target)
        raise InvalidTopology(
            f"cannot tell which cluster was primary before {target}; the metadata has no earlier primary",
            where=target,
        )
    ctx.outputs[CTX_OLD_PRIMARY] = old
    return Switch(topo=topo, old_primary=old, target=target)


async def switched(ctx: StepContext) -> bool:
    topo = await t.read_topology(ctx)
    return topo.primary_cluster == ctx.target


# ================================================================================ step: check


async def probe_check(ctx: StepContext) -> bool:
    if await switched(ctx):
        await resolve(ctx)
        return True
    return False


async def act_check(ctx: StepContext) -> dict[str, str]:
    sw = await resolve(ctx)
    topo = sw.topo
    if topo.invalidated(sw.target):
        raise ClusterNotPrimaryCapable(
            f"cluster {sw.target} is INVALIDATED; rejoin it before making it the primary", where=sw.target
        )
    old_ep = await t.require_primary(ctx, sw.old_primary)
    np_ep = await t.require_primary(ctx, sw.target)
    listed = set(ctx.req.invalidate_clusters)
    for name in topo.members:
        if name in (sw.target, sw.old_primary) or topo.invalidated(name):
            continue
        reachable = await t.primary_or_none(ctx, name) is not None
        if not reachable and name not in listed:
            raise InstanceUnreachable(
                f"replica cluster {name} is unreachable; bring it back or list it in invalidate_clusters "
                "to invalidate it during the switchover",
                where=name,
            )
        if reachable and name in listed:
            raise InvalidRequest(
                f"cluster {name} is listed in invalidate_clusters but is reachable", where=name
            )
    async with ctx.cluster(sw.target).endpoint_session(np_ep) as s:
        st = await p.channel_status(s)
        joining = await p.gtid_executed(s)
    if st.status in ("APPLIER_ERROR", "CONNECTION_ERROR"):
        raise FailedPrecondition(
            f"the clusterset_replication channel of {sw.target} is in {st.status} "
            f"({st.io_error or 'applier error'}); rejoin {sw.target} before switching to it",
            where=sw.target,
        )
    async with ctx.cluster(sw.old_primary).endpoint_session(old_ep) as s:
        primary_set = await p.gtid_executed(s)
    purged = await t.purged_everywhere(ctx, sw.old_primary)
    c = t.consistency(
        joining=joining, primary=primary_set, purged=purged, allowed_uuids=topo.view_change_uuids()
    )
    t.raise_if_inconsistent(c, cluster=sw.target, primary_cluster=sw.old_primary, doing="become the primary")
    return {CTX_OLD_PRIMARY: sw.old_primary}


# ==================================================================== step: replication_account


async def demoted_account(ctx: StepContext, sw: Switch) -> t.ReplicationAccount:
    """The ClusterSet replication account the old primary cluster will use (spec 2.c step 6)."""
    cluster = sw.topo.clusters.get(sw.old_primary)
    if cluster is None or not cluster.repl_user:
        raise InvalidTopology(
            f"the metadata records no ClusterSet replication account for cluster {sw.old_primary} "
            "(clusters.attributes.replicationAccountUser)",
            where=sw.old_primary,
        )
    return t.ReplicationAccount(
        user=cluster.repl_user,
        host=cluster.repl_host or "%",
        password=ctx.internal_password(cluster.repl_user),
    )


async def can_login(ctx: StepContext, ep: Endpoint, account: t.ReplicationAccount) -> bool:
    creds = Credentials(user=account.user, password=account.password)
    try:
        async with ctx.env.pools.session(ep.host, ep.port, creds=creds, ssl_mode=ctx.ssl_mode) as s:
            await s.scalar("SELECT 1 AS one")
    except AccessDenied:
        return False
    return True


async def probe_account(ctx: StepContext) -> bool:
    sw = await resolve(ctx)
    account = await demoted_account(ctx, sw)
    return await can_login(ctx, await t.require_primary(ctx, sw.target), account)


async def act_account(ctx: StepContext) -> None:
    sw = await resolve(ctx)
    account = await demoted_account(ctx, sw)
    gp = await t.require_primary(ctx, sw.old_primary)
    async with ctx.cluster(sw.old_primary).endpoint_session(gp) as s:
        await s.execute(sql.alter_user_password_of(account.user, account.host, account.password))
        target_set = await p.gtid_executed(s)
    np_ep = await t.require_primary(ctx, sw.target)
    async with ctx.cluster(sw.target).endpoint_session(np_ep) as s:
        await p.wait_for_gtids(
            s, target_set, within=ctx.settings.sync_timeout, poll=ctx.settings.sync_poll, where=sw.target
        )


# ============================================================================== step: sync_target


async def _sets(ctx: StepContext, sw: Switch) -> tuple[GtidSet, GtidSet, bool]:
    """(old GP gtid_executed, NP gtid_executed, old GP super_read_only)."""
    gp = await t.require_primary(ctx, sw.old_primary)
    async with ctx.cluster(sw.old_primary).endpoint_session(gp) as s:
        old_set = await p.gtid_executed(s)
        old_sro = await p.super_read_only(s)
    np_ep = await t.require_primary(ctx, sw.target)
    async with ctx.cluster(sw.target).endpoint_session(np_ep) as s:
        new_set = await p.gtid_executed(s)
    return old_set, new_set, old_sro


async def wait_group_applier(s: Session, *, within: float, poll: int, where: str) -> None:
    """wait_for_apply_retrieved_trx(X, 'group_replication_applier') (spec §1.8)."""
    received = GtidSet.parse(p.as_str(await s.scalar(sql.received_transaction_set(sql.GR_APPLIER))))
    if received and not received.issubset(await p.gtid_executed(s)):
        await p.wait_for_gtids(s, received, within=within, poll=poll, where=where)


async def target_promoted(ctx: StepContext, sw: Switch) -> bool:
    np_ep = await t.require_primary(ctx, sw.target)
    async with ctx.cluster(sw.target).endpoint_session(np_ep) as s:
        return await t.promoted(s)


async def probe_sync(ctx: StepContext) -> bool:
    sw = await resolve(ctx)
    if await switched(ctx) and await target_promoted(ctx, sw):
        return True
    old_set, new_set, _ = await _sets(ctx, sw)
    return old_set.issubset(new_set)


async def act_sync(ctx: StepContext) -> None:
    sw = await resolve(ctx)
    gp = await t.require_primary(ctx, sw.old_primary)
    async with ctx.cluster(sw.old_primary).endpoint_session(gp) as s:
        old_set = await p.gtid_executed(s)
    np_ep = await t.require_primary(ctx, sw.target)
    async with ctx.cluster(sw.target).endpoint_session(np_ep) as s:
        settings = ctx.settings
        await wait_group_applier(s, within=settings.sync_timeout, poll=settings.sync_poll, where=sw.target)
        await p.wait_for_gtids(
            s, old_set, within=settings.sync_timeout, poll=settings.sync_poll, where=sw.target
        )


# ========================================================================== step: switch_metadata


async def act_metadata(ctx: StepContext) -> None:
    sw = await resolve(ctx)
    topo = sw.topo
    gp = await t.require_primary(ctx, sw.old_primary)
    async with ctx.cluster(sw.old_primary).endpoint_session(gp) as s:
        members = {m.cluster_name: m for m in await p.cs_members(s)}
        current = next(
            (n for n, m in members.items() if m.member_role == "PRIMARY" and not m.invalidated), None
        )
        if current == sw.target:
            return
        statements = [sql.md_cs_primary_changed(topo.cs_id, topo.cluster_id(sw.target))]
        for name in ctx.req.invalidate_clusters:
            if name in members and not members[name].invalidated:
                statements.append(sql.md_cs_add_invalidated_member(topo.cs_id, topo.cluster_id(name)))
        await p.in_transaction(s, statements)
    ctx.cache.pop("topology", None)


# ======================================================================= step: demote_old_primary


async def new_source(ctx: StepContext, cluster: str) -> t.Source:
    """The source the other clusters replicate from: `cluster`'s primary and its group."""
    ep = await t.require_primary(ctx, cluster)
    async with ctx.cluster(cluster).endpoint_session(ep) as s:
        host, port = await t.source_address(s, ep)
        group = await t.group_name(s)
    return t.Source(host=host, port=port, group_name=group)


async def probe_demote(ctx: StepContext) -> bool:
    sw = await resolve(ctx)
    src = await new_source(ctx, sw.target)
    return await t.replica_points_at(ctx, sw.old_primary, src)


async def act_demote(ctx: StepContext) -> None:
    """demote_from_primary(old PC, src = NP) of §1.13."""
    sw = await resolve(ctx)
    src = await new_source(ctx, sw.target)
    account = await demoted_account(ctx, sw)
    acc = ctx.cluster(sw.old_primary)
    members = await t.online_members(ctx, sw.old_primary)
    for ep, m in members:
        if m.role == "PRIMARY":
            continue
        async with acc.endpoint_session(ep) as s:
            await p.stop_channel(s)
            await s.execute(
                sql.change_source_full(
                    host=src.host,
                    port=src.port,
                    user=account.user,
                    password=account.password,
                    ssl_clause=await t.ssl_clause(s, sw.topo.ssl_mode),
                    auto_failover=False,
                )
            )
    gp = await t.require_primary(ctx, sw.old_primary)
    async with acc.endpoint_session(gp) as s:
        await t.update_replica_settings(s, src, is_primary=False)
        await t.point_member(s, src, primary=True, account=account, ssl_mode=sw.topo.ssl_mode)
    await t.set_maximum_transaction_size_limit(ctx, sw.old_primary)


# ============================================================================ step: lock_and_sync


async def probe_lock(ctx: StepContext) -> bool:
    sw = await resolve(ctx)
    if await target_promoted(ctx, sw):
        return True
    old_set, new_set, old_sro = await _sets(ctx, sw)
    return old_sro and old_set.issubset(new_set)


async def act_lock(ctx: StepContext) -> dict[str, str]:
    """Global_locks (§1.15) on the old GP, then the final sync of NP (2.c steps 11-12)."""
    sw = await resolve(ctx)
    gp = await t.require_primary(ctx, sw.old_primary)
    np_ep = await t.require_primary(ctx, sw.target)
    settings = ctx.settings
    async with ctx.env.pools.dedicated(gp.host, gp.port, creds=ctx.creds, ssl_mode=ctx.ssl_mode) as lock:
        await lock.execute(sql.FLUSH_TABLES_WITH_READ_LOCK)
        try:
            await lock.execute(sql.SRO_ON_GLOBAL)
            await lock.execute(sql.FLUSH_BINARY_LOGS)
            final = await p.gtid_executed(lock)
            async with ctx.cluster(sw.target).endpoint_session(np_ep) as s:
                await p.wait_for_gtids(
                    s, final, within=settings.sync_timeout, poll=settings.sync_poll, where=sw.target
                )
        finally:
            await lock.execute(sql.UNLOCK_TABLES)
    return {"final_gtid_executed": str(final)}


# =========================================================================== step: promote_target


async def probe_promote(ctx: StepContext) -> bool:
    sw = await resolve(ctx)
    return await target_promoted(ctx, sw)


async def act_promote(ctx: StepContext) -> None:
    """promote_to_primary(new PC, preserve_channel=true), only once NP holds all of the fenced old GP."""
    sw = await resolve(ctx)
    if not await switched(ctx):
        raise NotReady(f"the metadata does not name {sw.target} primary yet", where=sw.target)
    old_set, new_set, old_sro = await _sets(ctx, sw)
    if not old_sro or not old_set.issubset(new_set):
        raise NotReady(
            f"{sw.target} cannot be promoted yet: the old global primary is "
            f"{'fenced' if old_sro else 'still writable'} and {sw.target} lacks {old_set.subtract(new_set)}",
            where=sw.target,
        )
    np_ep = await t.require_primary(ctx, sw.target)
    acc = ctx.cluster(sw.target)
    async with acc.endpoint_session(np_ep) as s:
        await p.stop_channel(s)
    gp = await t.require_primary(ctx, sw.old_primary)
    async with ctx.cluster(sw.old_primary).endpoint_session(gp) as md:
        await t.restore_transaction_size_limit(ctx, sw.target, md, sw.topo.cluster_id(sw.target))
    async with acc.endpoint_session(np_ep) as s:
        await t.promote_member(s)


# ========================================================================= step: repoint_replicas


def other_replicas(topo: t.ClusterSetTopology, *, exclude: set[str]) -> list[str]:
    return [n for n in topo.members if n not in exclude and not topo.invalidated(n)]


async def probe_repoint(ctx: StepContext, *, exclude_old: bool = True) -> bool:
    sw = await resolve(ctx)
    src = await new_source(ctx, sw.target)
    for name in other_replicas(sw.topo, exclude={sw.target, sw.old_primary}):
        if name in ctx.req.invalidate_clusters or await t.primary_or_none(ctx, name) is None:
            continue
        if not await t.replica_points_at(ctx, name, src):
            return False
    return True


async def act_repoint(ctx: StepContext) -> dict[str, str]:
    sw = await resolve(ctx)
    src = await new_source(ctx, sw.target)
    skipped = []
    for name in other_replicas(sw.topo, exclude={sw.target, sw.old_primary}):
        if name in ctx.req.invalidate_clusters or await t.primary_or_none(ctx, name) is None:
            skipped.append(name)
            continue
        if not await t.replica_points_at(ctx, name, src):
            await t.update_replica_cluster(ctx, name, src, account=None, ssl_mode=sw.topo.ssl_mode)
    return {"repoint_skipped": ",".join(skipped)} if skipped else {}


# ===================================================================== step: reset_target_channel


async def probe_reset(ctx: StepContext) -> bool:
    sw = await resolve(ctx)
    return not await t.cluster_has_channel(ctx, sw.target)


async def act_reset(ctx: StepContext) -> None:
    sw = await resolve(ctx)
    if not await target_promoted(ctx, sw):
        raise NotReady(f"{sw.target} is not promoted yet; its channel is kept", where=sw.target)
    await t.delete_async_channel(ctx, sw.target)


@operation(OperationKind.SWITCHOVER)
def switchover_steps(req: OperationRequest) -> list[Step]:
    target = req.target_cluster or "?"
    return [
        Step(
            "check",
            f"check that {target} can become the primary cluster (reachability, errant GTIDs)",
            probe=noop_when_primary(probe_check),
            act=act_check,
        ),
        Step(
            "replication_account",
            "the old primary cluster's replication account works on the new primary",
            probe=noop_when_primary(probe_account),
            act=act_account,
        ),
        Step(
            "sync_target",
            f"{target}'s primary catches up with the global primary",
            probe=noop_when_primary(probe_sync),
            act=act_sync,
        ),
        Step(
            "switch_metadata",
            f"metadata: v2_cs_primary_changed to {target}",
            probe=noop_when_primary(switched),
            act=act_metadata,
        ),
        Step(
            "demote_old_primary",
            f"old primary cluster fenced and replicating from {target}",
            probe=noop_when_primary(probe_demote),
            act=act_demote,
        ),
        Step(
            "lock_and_sync",
            f"FLUSH TABLES WITH READ LOCK on the old global primary; {target} applies its last GTIDs",
            probe=noop_when_primary(probe_lock),
            act=act_lock,
        ),
        Step(
            "promote_target",
            f"{target}'s primary becomes the writable global primary",
            probe=noop_when_primary(probe_promote),
            act=act_promote,
        ),
        Step(
            "repoint_replicas",
            f"the other replica clusters replicate from {target}",
            probe=noop_when_primary(probe_repoint),
            act=act_repoint,
        ),
        Step(
            "reset_target_channel",
            f"RESET REPLICA ALL of clusterset_replication on {target}'s members",
            probe=noop_when_primary(probe_reset),
            act=act_reset,
        ),
    ]
