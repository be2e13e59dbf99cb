"""Forced failover: `clusterSet.forcePrimaryCluster(target)` (spec §2.d) as resumable steps.

Why it exists: when the primary cluster is gone, a replica cluster must become primary on an operator's
command, with the old primary invalidated, its listed unreachable replicas invalidated, and an honest
account of what was lost. Two things differ from MySQL Shell on purpose:

* before the channel of the new primary is reset, the receiver is stopped and every transaction it had
  received is applied (`WAIT_FOR_EXECUTED_GTID_SET(received_transaction_set)`); the Shell only waits
  for group_replication_applier and its `RESET REPLICA ALL` drops the rest (spec §8);
* the step `report_lost` returns the transactions the new primary lacks compared with the last state
  seen of the old global primary, passed in `OperationRequest.context[CTX_LAST_SEEN]`.

The failover is refused (PrimaryClusterReachable) while any member of the primary cluster answers.
"""

from __future__ import annotations

from activities import cs_topology as t
from activities import fence, sql
from activities import primitives as p
from activities.connections import Session
from activities.errors import (
    ClusterNotPrimaryCapable,
    FailedPrecondition,
    InstanceUnreachable,
    InvalidRequest,
    InvalidTopology,
    PrimaryClusterReachable,
)
from activities.gtid import GtidSet
from activities.models import OperationKind, OperationRequest
from activities.steps import Step, StepContext, operation
from activities.switchover import (
    CTX_OLD_PRIMARY,
    AlreadyPrimary,
    new_source,
    noop_when_primary,
    other_replicas,
    wait_group_applier,
)

CTX_LAST_SEEN = "last_seen_primary_gtid_executed"


async def _old_primary(ctx: StepContext, topo: t.ClusterSetTopology) -> str:
    old = ctx.context(CTX_OLD_PRIMARY)
    if not old:
        current = topo.primary_cluster
        if current and current != ctx.target:
            old = current
        else:
            acc = ctx.cluster(topo.read_from)
            ep, _ = await acc.any_member_view()
            async with acc.endpoint_session(ep) as s:
                old = await t.previous_primary(s, topo, "FORCE_PRIMARY") or ""
    if not old or old == ctx.target:
        if topo.primary_cluster == ctx.target:
            raise AlreadyPrimary(ctx.target)
        raise InvalidTopology(f"cannot tell which cluster was primary before {ctx.target}", where=ctx.target)
    ctx.outputs[CTX_OLD_PRIMARY] = old
    ctx.outputs["old_primary"] = old  # the key workflows/clusterset.py reads
    return old


async def forced(ctx: StepContext) -> bool:
    """(probe) the freshest metadata names the target primary."""
    return (await t.read_topology(ctx)).primary_cluster == ctx.target


async def refuse_if_reachable(ctx: StepContext, old: str) -> None:
    reachable = await t.reachable_endpoints(ctx, old)
    if not reachable:
        return
    has_primary = await t.primary_or_none(ctx, old) is not None
    hint = (
        "it still has a primary: change spec.primaryCluster for a controlled switchover instead"
        if has_primary
        else "restore its quorum or reboot it, then switch over; or stop it for good before forcing"
    )
    raise PrimaryClusterReachable(
        f"refusing to force a failover: the primary cluster {old} is reachable at "
        f"{', '.join(e.address for e in reachable)}; {hint}",
        where=old,
    )


def _invalidated_set(ctx: StepContext, old: str) -> list[str]:
    return [old, *[n for n in ctx.req.invalidate_clusters if n != old]]


# ===================================================================================== step: check


async def probe_check(ctx: StepContext) -> bool:
    if await forced(ctx):
        await _old_primary(ctx, await t.read_topology(ctx))
        return True
    return False


async def act_check(ctx: StepContext) -> dict[str, str]:
    if not ctx.req.force:
        raise InvalidRequest(
            "a forced failover can lose transactions and needs force (spec.unsafeFlags.forcedFailover or "
            "`csctl failover --force`)",
            where=ctx.target,
        )
    topo = await t.read_topology(ctx)
    target = ctx.target
    if not topo.is_member(target) or topo.invalidated(target):
        raise ClusterNotPrimaryCapable(
            f"cluster {target} is not a valid (non-invalidated) member of the ClusterSet", where=target
        )
    old = await _old_primary(ctx, topo)
    await refuse_if_reachable(ctx, old)
    np = await t.primary_or_none(ctx, target)
    if np is None:
        raise InstanceUnreachable(f"the target cluster {target} has no reachable primary", where=target)
    listed = set(ctx.req.invalidate_clusters)
    candidates: dict[str, GtidSet] = {}
    for name in topo.members:
        if name in (target, old) or topo.invalidated(name):
            continue
        got = await t.primary_or_none(ctx, name)
        if got is None and name not in listed:
            raise InstanceUnreachable(
                f"replica cluster {name} is unreachable too; bring it back or list it in invalidate_clusters",
                where=name,
            )
        if got is not None and name in listed:
            raise InvalidRequest(
                f"cluster {name} is listed in invalidate_clusters but is reachable", where=name
            )
        if got is not None:
            async with ctx.cluster(name).endpoint_session(got[0]) as s:
                candidates[name] = await p.gtid_executed(s)
    # check_gtid_set_most_recent (2.d step 6): no reachable replica may have GTIDs the target lacks.
    vcle = topo.view_change_uuids()
    async with ctx.cluster(target).endpoint_session(np[0]) as s:
        mine = (await p.gtid_executed(s)).union((await p.channel_status(s)).received).without_uuids(vcle)
    for name, theirs in candidates.items():
        ahead = theirs.without_uuids(vcle).subtract(mine)
        if ahead:
            raise ClusterNotPrimaryCapable(
                f"target cluster {target} is behind replica cluster {name}, which has {ahead}; "
                f"fail over to {name} instead",
                where=target,
            )
    return {CTX_OLD_PRIMARY: old}


# ============================================================================ step: promote_target


async def probe_promote(ctx: StepContext) -> bool:
    np_ep = await t.require_primary(ctx, ctx.target)
    async with ctx.cluster(ctx.target).endpoint_session(np_ep) as s:
        if not await t.promoted(s):
            return False
    return not await t.cluster_has_channel(ctx, ctx.target)


async def drain_channel(s: Session, *, within: float, poll: int, where: str) -> GtidSet:
    """Stop the receiver and apply everything it received; returns what had still to be applied."""
    st = await p.channel_status(s)
    if not st.exists:
        return GtidSet()
    if st.io_state in ("ON", "CONNECTING"):
        await s.execute(sql.stop_replica_receiver())
    st = await p.channel_status(s)
    executed = await p.gtid_executed(s)
    pending = st.received.subtract(executed)
    if not pending:
        return pending
    applier_on = any(w == "ON" for w in st.worker_states or (st.applier_state,))
    if not applier_on and st.status != "APPLIER_ERROR":
        await s.execute(sql.start_replica_applier())
    elif st.status == "APPLIER_ERROR":
        raise FailedPrecondition(
            f"the channel applier on {where} is stopped (status {st.status}) with {pending} received but not "
            "applied; fix the applier error and retry, so that these transactions are not lost",
            where=where,
        )
    await p.wait_for_gtids(s, st.received, within=within, poll=poll, where=where)
    return pending


async def act_promote(ctx: StepContext) -> dict[str, str]:
    topo = await t.read_topology(ctx)
    out: dict[str, str] = {}
    if not await forced(ctx):
        await refuse_if_reachable(ctx, await _old_primary(ctx, topo))
    np_ep = await t.require_primary(ctx, ctx.target)
    acc = ctx.cluster(ctx.target)
    settings = ctx.settings
    async with acc.endpoint_session(np_ep) as s:
        await wait_group_applier(s, within=settings.sync_timeout, poll=settings.sync_poll, where=ctx.target)
        drained = await drain_channel(
            s, within=settings.sync_timeout, poll=settings.sync_poll, where=ctx.target
        )
        if drained:
            out["applied_before_reset"] = str(drained)
        await p.stop_channel(s)
    await t.delete_async_channel(ctx, ctx.target)
    async with acc.endpoint_session(np_ep) as s:
        await t.restore_transaction_size_limit(ctx, ctx.target, s, topo.cluster_id(ctx.target))
        await t.promote_member(s)
    return out


# =========================================================================== step: force_metadata


async def probe_metadata(ctx: StepContext) -> bool:
    topo = await t.read_topology(ctx)
    if topo.primary_cluster != ctx.target:
        return False
    old = await _old_primary(ctx, topo)
    return all(topo.invalidated(n) for n in _invalidated_set(ctx, old) if topo.is_member(n))


async def act_metadata(ctx: StepContext) -> None:
    topo = await t.read_topology(ctx)
    np_ep = await t.require_primary(ctx, ctx.target)
    async with ctx.cluster(ctx.target).endpoint_session(np_ep) as s:
        members = {m.cluster_name: m for m in await p.cs_members(s)}
        current = next(
            (n for n, m in members.items() if m.member_role == "PRIMARY" and not m.invalidated), None
        )
        statements: list[str] = []
        if current != ctx.target:
            old = current or await _old_primary(ctx, topo)
            ctx.outputs[CTX_OLD_PRIMARY] = old
            statements.append(sql.md_cs_primary_force_changed(topo.cs_id, topo.cluster_id(ctx.target)))
        else:
            old = await _old_primary(ctx, topo)
        for name in _invalidated_set(ctx, old):
            if name in members and not members[name].invalidated:
                statements.append(sql.md_cs_add_invalidated_member(topo.cs_id, topo.cluster_id(name)))
        if statements:
            await p.in_transaction(s, statements)
    ctx.cache.pop("topology", None)


# ========================================================================= step: repoint_replicas


async def _replicas(ctx: StepContext) -> list[str]:
    topo = await t.read_topology(ctx)
    old = await _old_primary(ctx, topo)
    excluded = {ctx.target, old, *ctx.req.invalidate_clusters}
    return [n for n in other_replicas(topo, exclude=excluded) if await t.primary_or_none(ctx, n) is not None]


async def probe_repoint(ctx: StepContext) -> bool:
    src = await new_source(ctx, ctx.target)
    for name in await _replicas(ctx):
        if not await t.replica_points_at(ctx, name, src):
            return False
    return True


async def act_repoint(ctx: StepContext) -> None:
    topo = await t.read_topology(ctx)
    src = await new_source(ctx, ctx.target)
    for name in await _replicas(ctx):
        if not await t.replica_points_at(ctx, name, src):
            await t.update_replica_cluster(ctx, name, src, account=None, ssl_mode=topo.ssl_mode)


# ============================================================================== step: report_lost


async def probe_never(ctx: StepContext) -> bool:
    return False


async def act_report(ctx: StepContext) -> dict[str, str]:
    """lost = last seen gtid_executed of the old GP − gtid_executed of the new primary (no view changes)."""
    last_seen = ctx.req.context.get(CTX_LAST_SEEN)
    if last_seen is None:
        return {
            "lost_gtid_set": "",
            "lost_transaction_count": "",
            "lost_unknown": f"no {CTX_LAST_SEEN} was given: the lost transactions cannot be computed",
        }
    topo = await t.read_topology(ctx)
    np_ep = await t.require_primary(ctx, ctx.target)
    async with ctx.cluster(ctx.target).endpoint_session(np_ep) as s:
        have = await p.gtid_executed(s)
    missing = GtidSet.parse(last_seen).subtract(have)
    vcle = topo.view_change_uuids()
    lost = missing.without_uuids(vcle)
    count = str(lost.count())
    out = {"lost_gtid_set": str(lost), "lost_transaction_count": count, "lost_count": count}
    if missing.only_uuids(vcle):
        out["lost_view_change_gtids"] = str(missing.only_uuids(vcle))
    return out


# ======================================================================== step: fence_old_primary


async def probe_fence(ctx: StepContext) -> bool:
    old = await _old_primary(ctx, await t.read_topology(ctx))
    return await fence.cluster_fenced(ctx, old)


async def act_fence(ctx: StepContext) -> dict[str, str]:
    old = await _old_primary(ctx, await t.read_topology(ctx))
    reached = await fence.fence_cluster(ctx, old)
    if not reached:
        return {"fence_pending": old}
    await fence.disable_sro_action(ctx, old)
    return {"fenced": old}


@operation(OperationKind.FAILOVER)
def failover_steps(req: OperationRequest) -> list[Step]:
    target = req.target_cluster or "?"
    return [
        Step(
            "check",
            f"the primary cluster is unreachable and {target} is the most recent candidate",
            probe=noop_when_primary(probe_check),
            act=act_check,
        ),
        Step(
            "promote_target",
            f"{target}: apply every received transaction, reset its channel, make it writable",
            probe=noop_when_primary(probe_promote),
            act=act_promote,
        ),
        Step(
            "force_metadata",
            f"metadata on {target}: v2_cs_primary_force_changed, invalidate the old primary",
            probe=noop_when_primary(probe_metadata),
            act=act_metadata,
        ),
        Step(
            "repoint_replicas",
            f"the reachable replica clusters replicate from {target}",
            probe=noop_when_primary(probe_repoint),
            act=act_repoint,
        ),
        Step(
            "report_lost",
            "transactions of the old primary's last seen state that the new primary lacks",
            probe=noop_when_primary(probe_never),
            act=act_report,
        ),
        Step(
            "fence_old_primary",
            "fence the old primary cluster if it already answers (else fence later)",
            probe=noop_when_primary(probe_fence),
            act=act_fence,
        ),
    ]
