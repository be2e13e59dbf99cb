"""What H-ops-B's operations share: the freshest ClusterSet metadata, member lists, and the replica-side
building blocks of spec §1.13 (update_replica, promote_to_primary, transaction size limits) and the GTID
consistency check of §1.12.

Why a module of its own: switchover, failover, rejoin, remove and dissolve all need "which cluster is
primary *now*", read like MySQL Router reads it (the reachable metadata copy with the highest view_id,
so an invalidated old primary's stale copy loses), and all re-point replica clusters the same way.
Every function here is either a read-only probe or an idempotent action.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import cast

from activities import primitives as p
from activities import sql
from activities.connections import ClusterAccess, Member, Session
from activities.errors import (
    AccessDenied,
    ClusterSetError,
    DivergedGtids,
    InstanceUnreachable,
    InvalidTopology,
    MissingPrivilege,
    NoPrimary,
    NotReady,
    PurgedTransactions,
)
from activities.gtid import GtidSet
from activities.steps import StepContext
from api.models import Endpoint

ONLINE_STATES = ("ONLINE", "RECOVERING")


@dataclass(frozen=True)
class ClusterSetTopology:
    """One metadata copy, the freshest reachable one (highest view_id)."""

    cs_id: str
    view_id: int
    members: dict[str, p.CsMember]  # by cluster name (members of the ClusterSet, invalidated included)
    clusters: dict[str, p.MdCluster]  # by cluster name (every cluster row of the metadata)
    read_from: str  # the cluster whose copy this is
    ssl_mode: str = "REQUIRED"
    unreachable: tuple[str, ...] = field(default=())

    @property
    def primary_cluster(self) -> str | None:
        for name, m in self.members.items():
            if m.member_role == "PRIMARY" and not m.invalidated:
                return name
        return None

    def cluster_id(self, name: str) -> str:
        c = self.clusters.get(name)
        if c is None:
            raise InvalidTopology(f"cluster {name} is not in the InnoDB Cluster metadata", where=name)
        return c.cluster_id

    def name_of(self, cluster_id: str) -> str | None:
        for name, c in self.clusters.items():
            if c.cluster_id == cluster_id:
                return name
        return None

    def is_member(self, name: str) -> bool:
        return name in self.members

    def invalidated(self, name: str) -> bool:
        m = self.members.get(name)
        return bool(m and m.invalidated)

    def view_change_uuids(self) -> set[str]:
        return {c.view_change_uuid for c in self.clusters.values() if c.view_change_uuid}


async def _read_view(acc: ClusterAccess) -> tuple[int, str, str, Endpoint] | None:
    """(view_id, clusterset_id, ssl mode, endpoint) of a cluster's metadata copy (None: no ClusterSet)."""
    for ep in acc.endpoints:
        try:
            async with acc.endpoint_session(ep) as s:
                row = await s.fetch_one(sql.CLUSTERSETS)
            if row is None:
                return None
            return (
                int(row.get("view_id") or 0),
                p.as_str(row.get("clusterset_id")),
                p.as_str(row.get("ssl_mode")),
                ep,
            )
        except InstanceUnreachable:
            continue
        except ClusterSetError as e:
            if e.retryable:
                continue
            if isinstance(e, (AccessDenied, MissingPrivilege)):
                raise
            return None
    raise InstanceUnreachable(f"no endpoint of cluster {acc.name} answers", where=acc.name)


async def _view_or_unreachable(acc: ClusterAccess) -> tuple[int, str, str, Endpoint] | str | None:
    try:
        return await _read_view(acc)
    except InstanceUnreachable:
        return "unreachable"


async def read_topology(ctx: StepContext, *, refresh: bool = False) -> ClusterSetTopology:
    """The freshest reachable metadata copy; InvalidTopology when no reachable server has a ClusterSet.

    Every cluster's view_id is read concurrently; the member lists come from the copy that wins.
    """
    cached = ctx.cache.get("topology")
    if isinstance(cached, ClusterSetTopology) and not refresh:
        return cached
    names = [c.innodb_cluster_name for c in ctx.spec.clusters]
    views = await asyncio.gather(*(_view_or_unreachable(ctx.cluster(n)) for n in names))
    unreachable = [n for n, v in zip(names, views, strict=True) if v == "unreachable"]
    candidates = [(v, n) for n, v in zip(names, views, strict=True) if isinstance(v, tuple)]
    if not candidates:
        if len(unreachable) == len(names):
            raise InstanceUnreachable("no cluster of the spec answers", where=", ".join(unreachable))
        raise InvalidTopology(
            "no reachable server holds ClusterSet metadata; bootstrap the ClusterSet first",
            where=", ".join(names),
        )
    (view_id, cs_id, ssl_mode, ep), best_name = max(candidates, key=lambda vn: vn[0][0])
    async with ctx.cluster(best_name).endpoint_session(ep) as s:
        members = await p.cs_members(s)
        clusters = await p.md_clusters(s)
    topo = ClusterSetTopology(
        cs_id=cs_id,
        view_id=view_id,
        members={m.cluster_name: m for m in members if m.clusterset_id == cs_id},
        clusters={c.cluster_name: c for c in clusters},
        read_from=best_name,
        ssl_mode=ssl_mode or ctx.spec.ssl_mode.value,
        unreachable=tuple(unreachable),
    )
    ctx.cache["topology"] = topo
    return topo


async def previous_primary(s: Session, topo: ClusterSetTopology, reason: str) -> str | None:
    """Name of the primary cluster of the view before the newest view changed for `reason`."""
    cid = p.as_str(await s.scalar(sql.md_primary_before_last_change(topo.cs_id, reason)))
    return topo.name_of(cid) if cid else None


# ============================================================================= members and primaries


async def primary_or_none(ctx: StepContext, name: str) -> tuple[Endpoint, Member] | None:
    """The cluster's ONLINE primary, or None when the cluster has none or does not answer.

    Cached for the step (probe and act): no H-ops-B step changes a group's own primary.
    """
    key = f"opsb_primary:{name}"
    if key in ctx.cache:
        return cast("tuple[Endpoint, Member] | None", ctx.cache[key])
    try:
        got: tuple[Endpoint, Member] | None = await ctx.cluster(name).primary()
    except (NoPrimary, InstanceUnreachable):
        got = None
    ctx.cache[key] = got
    return got


async def require_primary(ctx: StepContext, name: str) -> Endpoint:
    got = await primary_or_none(ctx, name)
    if got is None:
        raise NoPrimary(f"cluster {name} has no reachable ONLINE primary", where=name)
    return got[0]


async def online_members(ctx: StepContext, name: str) -> list[tuple[Endpoint, Member]]:
    """ONLINE and RECOVERING members with the spec endpoint that reaches each (primary first)."""
    key = f"opsb_online:{name}"
    if key in ctx.cache:
        return list(cast("tuple[tuple[Endpoint, Member], ...]", ctx.cache[key]))
    acc = ctx.cluster(name)
    _, members = await acc.any_member_view()
    out: list[tuple[Endpoint, Member]] = []
    for m in members:
        if m.state not in ONLINE_STATES:
            continue
        ep = acc.endpoint_for(m)
        if ep is None:
            try:
                ep = await acc.locate(m.server_uuid)
            except InstanceUnreachable:
                continue
        out.append((ep, m))
    out.sort(key=lambda em: 0 if em[1].role == "PRIMARY" else 1)
    ctx.cache[key] = tuple(out)
    return out


async def reachable_endpoints(ctx: StepContext, name: str) -> list[Endpoint]:
    return await ctx.cluster(name).reachable_endpoints()


async def source_address(s: Session, ep: Endpoint) -> tuple[str, int]:
    """The address replicas use for an instance: its report_host (else the spec host) and its port."""
    info = await p.instance_info(s)
    return (info.report_host or ep.host), (info.report_port or info.port or ep.port)


async def group_name(s: Session) -> str:
    row = await s.fetch_one(sql.GR_VARIABLES)
    return p.as_str(row["group_name"]) if row else ""


# ============================================================================ replica-side settings


async def ssl_clause(s: Session, mode: str) -> str:
    """spec §1.4 <SSL> for the ClusterSet's mode as resolved on this replica (AUTO: TLS if it has it)."""
    from activities.common import resolve_ssl_mode, ssl_clause_for

    resolved = await resolve_ssl_mode(s, mode)
    version = p.parse_version(p.as_str(await s.scalar("SELECT @@version AS version")))
    return await ssl_clause_for(s, resolved, version)


@dataclass(frozen=True)
class Source:
    """Where a replica cluster replicates from: the source primary and its group."""

    host: str
    port: int
    group_name: str


@dataclass(frozen=True)
class ReplicationAccount:
    user: str
    host: str
    password: str = field(repr=False)


async def point_member(
    s: Session, src: Source, *, primary: bool, account: ReplicationAccount | None, ssl_mode: str
) -> None:
    """update_replica(X, ...) of §1.13 on one member: fence, stop, CHANGE, and on the primary the replica
    settings (member actions, managed list) then START. `account` given = the full CHANGE, else
    host/port only."""
    await p.fence(s)
    await p.stop_channel(s)
    if account is not None:
        statement = sql.change_source_full(
            host=src.host,
            port=src.port,
            user=account.user,
            password=account.password,
            ssl_clause=await ssl_clause(s, ssl_mode),
            auto_failover=primary,
        )
    else:
        statement = sql.change_source_host_port(host=src.host, port=src.port, auto_failover=primary)
    await s.execute(statement)
    if primary:
        # The managed source list goes in before START (the Shell adds it after): a channel started
        # with the old group still listed would fail over back to the old group's primary.
        await update_replica_settings(s, src, is_primary=True)
        await s.execute(sql.start_replica())


async def update_replica_settings(s: Session, src: Source, *, is_primary: bool) -> None:
    """§1.13 update_replica_settings(RP, src, is_primary)."""
    await p.set_member_action(s, sql.ACTION_SRO, enable=False)
    await p.set_member_action(s, sql.ACTION_FAILOVER, enable=True)
    if is_primary:
        await p.replace_managed(s, group_name=src.group_name, host=src.host, port=src.port)
    else:
        await p.delete_managed(s)


async def update_replica_cluster(
    ctx: StepContext, name: str, src: Source, *, account: ReplicationAccount | None, ssl_mode: str
) -> None:
    """§1.13 update_replica(cluster, src): ONLINE secondaries first (no START), then the primary."""
    members = await online_members(ctx, name)
    acc = ctx.cluster(name)
    primaries = [(ep, m) for ep, m in members if m.role == "PRIMARY"]
    if not primaries:
        raise NoPrimary(f"cluster {name} has no ONLINE primary to replicate", where=name)
    for ep, m in members:
        if m.role == "PRIMARY" or m.state != "ONLINE":
            continue
        async with acc.endpoint_session(ep) as s:
            await point_member(s, src, primary=False, account=account, ssl_mode=ssl_mode)
    ep, _ = primaries[0]
    async with acc.endpoint_session(ep) as s:
        await point_member(s, src, primary=True, account=account, ssl_mode=ssl_mode)


async def _member_points_at(acc: ClusterAccess, ep: Endpoint, m: Member, src: Source) -> bool:
    async with acc.endpoint_session(ep) as s:
        st = await p.channel_status(s)
        if not st.exists or st.host != src.host or st.port != src.port:
            return False
        if not await p.super_read_only(s):
            return False
        if m.role == "PRIMARY":
            if not st.auto_failover or st.io_state not in ("ON", "CONNECTING"):
                return False
            if await p.managed_sources(s) != [src.group_name]:
                return False
            actions = await p.member_actions(s)
            if actions.get(sql.ACTION_SRO, True) or not actions.get(sql.ACTION_FAILOVER, False):
                return False
    return True


async def replica_points_at(ctx: StepContext, name: str, src: Source) -> bool:
    """(probe) The cluster's primary replicates from `src` with auto-failover and the managed list of
    src's group, and every ONLINE secondary has the channel to `src` (not started). Members in parallel."""
    acc = ctx.cluster(name)
    members = await online_members(ctx, name)
    return all(await asyncio.gather(*(_member_points_at(acc, ep, m, src) for ep, m in members)))


async def _has_channel(acc: ClusterAccess, ep: Endpoint) -> bool:
    async with acc.endpoint_session(ep) as s:
        return (await p.channel_status(s)).exists


async def cluster_has_channel(ctx: StepContext, name: str) -> bool:
    """(probe) Some ONLINE member of the cluster still has the clusterset_replication channel."""
    acc = ctx.cluster(name)
    members = await online_members(ctx, name)
    return any(await asyncio.gather(*(_has_channel(acc, ep) for ep, _ in members)))


async def delete_async_channel(ctx: StepContext, name: str) -> None:
    """delete_async_channel(cluster): RESET REPLICA ALL for the channel on every ONLINE member."""
    acc = ctx.cluster(name)
    for ep, _ in await online_members(ctx, name):
        async with acc.endpoint_session(ep) as s:
            await p.remove_channel(s)


async def promoted(s: Session) -> bool:
    """(probe) promote_to_primary is done on this cluster primary: writable, channel not running,
    SRO member action enabled, no managed source list."""
    if await p.super_read_only(s):
        return False
    st = await p.channel_status(s)
    if st.exists and st.io_state in ("ON", "CONNECTING"):
        return False
    if not (await p.member_actions(s)).get(sql.ACTION_SRO, True):
        return False
    return not await p.managed_sources(s)


async def promote_member(s: Session) -> None:
    """promote_to_primary steps 3-4 on the new primary: unfence, SRO action back on, managed list gone."""
    await p.unfence(s)
    await p.set_member_action(s, sql.ACTION_SRO, enable=True)
    await p.delete_managed(s)


# ================================================================================ size limits (§1.14)


async def set_maximum_transaction_size_limit(ctx: StepContext, name: str) -> None:
    acc = ctx.cluster(name)
    for ep, _ in await online_members(ctx, name):
        async with acc.endpoint_session(ep) as s:
            if int(await s.scalar(sql.TRANSACTION_SIZE_LIMIT) or 0) != 0:
                await s.execute(sql.set_persist("group_replication_transaction_size_limit", 0))


async def restore_transaction_size_limit(ctx: StepContext, name: str, md: Session, cluster_id: str) -> None:
    """Back to clusters.attributes.opt_transactionSizeLimit where the members have 0 (skipped, unlike the
    Shell, when the attribute is missing: an adopted cluster may not have it)."""
    stored = p.as_str(await md.scalar(sql.md_cluster_transaction_size_limit(cluster_id)))
    if not stored or stored.lower() == "null":
        return
    acc = ctx.cluster(name)
    for ep, _ in await online_members(ctx, name):
        async with acc.endpoint_session(ep) as s:
            if int(await s.scalar(sql.TRANSACTION_SIZE_LIMIT) or 0) == 0 and int(stored) != 0:
                await s.execute(sql.set_persist("group_replication_transaction_size_limit", int(stored)))


# ====================================================================== GTID consistency (§1.12)


@dataclass(frozen=True)
class Consistency:
    errant: GtidSet
    missing: GtidSet
    unrecoverable: GtidSet
    missing_view: GtidSet


async def purged_everywhere(ctx: StepContext, name: str) -> GtidSet:
    """∩ gtid_purged over the reachable members of a cluster (spec §1.12 completely_purged)."""
    acc = ctx.cluster(name)
    result: GtidSet | None = None
    for ep in await acc.reachable_endpoints():
        async with acc.endpoint_session(ep) as s:
            purged = GtidSet.parse(p.as_str(await s.scalar(sql.GTID_PURGED)))
        result = purged if result is None else result.intersection(purged)
    return result or GtidSet()


def consistency(
    *, joining: GtidSet, primary: GtidSet, purged: GtidSet, allowed_uuids: set[str]
) -> Consistency:
    """spec §1.12 in pure Python."""
    errant = joining.subtract(primary)
    missing_view = errant.only_uuids(allowed_uuids)
    return Consistency(
        errant=errant.subtract(missing_view),
        missing=primary.subtract(joining),
        unrecoverable=primary.subtract(joining).intersection(purged),
        missing_view=missing_view,
    )


def raise_if_inconsistent(c: Consistency, *, cluster: str, primary_cluster: str, doing: str) -> None:
    if c.errant:
        raise DivergedGtids(
            f"cluster {cluster} cannot {doing}: it has {c.errant.count()} errant transaction(s) not present "
            f"on the primary cluster {primary_cluster}: {c.errant}. Inspect them; re-provision the cluster "
            "(remove it and join it again with CLONE) to discard them",
            where=cluster,
            errant=str(c.errant),
        )
    if c.unrecoverable:
        raise PurgedTransactions(
            f"cluster {cluster} cannot {doing}: it lacks transactions the primary cluster {primary_cluster} "
            f"has purged from its binary logs: {c.unrecoverable}. Re-provision it with CLONE",
            where=cluster,
        )


async def reconcile_view_changes(md: Session, missing_view: GtidSet) -> None:
    """spec §1.10: inject the view-change GTIDs the global primary lacks as empty transactions."""
    if not missing_view:
        return
    try:
        for uuid, tag, (start, end) in missing_view:
            for n in range(start, end + 1):
                gtid = f"{uuid}:{tag}:{n}" if tag else f"{uuid}:{n}"
                await md.execute(sql.set_gtid_next(gtid))
                await md.execute(sql.BEGIN)
                await md.execute(sql.COMMIT)
    finally:
        await md.execute(sql.GTID_NEXT_AUTOMATIC)


def not_ready(message: str, where: str) -> NotReady:
    return NotReady(message, where=where)
