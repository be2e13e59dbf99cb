"""Helpers shared by the operations that need a `StepContext`: finding the global primary from the
metadata, a cluster's ONLINE members, the resolved replication SSL mode, and update_replica (spec §1.13).

Results are cached in `ctx.cache` for the duration of one probe+act, never across activities.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from activities import primitives as p
from activities import sql
from activities.connections import ClusterAccess, Member, Session, group_members
from activities.errors import ClusterSetError, InstanceUnreachable, InvalidTopology, NoPrimary
from activities.steps import StepContext
from api.models import Endpoint, SslMode


@dataclass(frozen=True)
class Primary:
    """A cluster's primary: the access object, the endpoint reaching it and its GR member row."""

    access: ClusterAccess
    endpoint: Endpoint
    member: Member

    @property
    def name(self) -> str:
        return self.access.name

    def session(self) -> Any:
        """`async with prim.session() as s:` a pooled session to the primary."""
        return self.access.endpoint_session(self.endpoint)


async def cluster_primary(ctx: StepContext, name: str) -> Primary:
    key = f"primary:{name}"
    cached = ctx.cache.get(key)
    if isinstance(cached, Primary):
        return cached
    access = ctx.cluster(name)
    ep, member = await access.primary()
    prim = Primary(access, ep, member)
    ctx.cache[key] = prim
    return prim


async def primary_cluster_name(ctx: StepContext) -> str:
    """The PRIMARY cluster per the metadata: the copy with the highest view_id among all the sites that
    answer (MySQL Router's rule: a stale copy, e.g. an invalidated old primary's, never wins); the spec's
    primaryCluster when no site holds ClusterSet metadata yet."""
    cached = ctx.cache.get("pc_name")
    if isinstance(cached, str):
        return cached
    best: tuple[int, str] | None = None
    order = [ctx.spec.primary_cluster] + [n for n in ctx.spec.replica_cluster_names]
    for name in order:
        try:
            prim = await cluster_primary(ctx, name)
            async with prim.access.endpoint_session(prim.endpoint) as s:
                members = await p.cs_members(s)
        except ClusterSetError:
            continue
        live = [m for m in members if m.member_role == "PRIMARY" and not m.invalidated]
        if live:
            view = max(m.view_id for m in members)
            if best is None or view > best[0]:
                best = (view, live[0].cluster_name)
    result = best[1] if best else ctx.spec.primary_cluster
    ctx.cache["pc_name"] = result
    return result


async def global_primary(ctx: StepContext) -> Primary:
    return await cluster_primary(ctx, await primary_cluster_name(ctx))


async def online_members(access: ClusterAccess) -> list[tuple[Endpoint, Member]]:
    """Every ONLINE member of a cluster with the endpoint that reaches it."""
    _, members = await access.any_member_view()
    out: list[tuple[Endpoint, Member]] = []
    for m in members:
        if m.state != "ONLINE":
            continue
        ep = access.endpoint_for(m)
        if ep is None:
            try:
                ep = await access.locate(m.server_uuid)
            except InstanceUnreachable:
                continue
        out.append((ep, m))
    if not out:
        raise NoPrimary(f"cluster {access.name} has no ONLINE member", where=access.name)
    return out


async def has_tls(s: Session) -> bool:
    rows = await s.fetch_all(
        "SELECT VARIABLE_NAME AS name, VARIABLE_VALUE AS value FROM performance_schema.global_variables "
        "WHERE VARIABLE_NAME IN ('have_ssl', 'ssl_cert')"
    )
    vals = {p.as_str(r["name"]).lower(): p.as_str(r["value"]) for r in rows}
    if vals.get("have_ssl", "").upper() == "YES":
        return True
    return bool(vals.get("ssl_cert"))


async def resolve_ssl_mode(s: Session, mode: SslMode | str) -> str:
    """AUTO -> REQUIRED when the server has TLS, else DISABLED (common.cc:resolve_ssl_mode_option)."""
    m = mode.value if isinstance(mode, SslMode) else str(mode)
    if m in ("", "AUTO", "NONE"):
        return "REQUIRED" if await has_tls(s) else "DISABLED"
    return m


async def ssl_clause_for(s: Session, mode: str, version: tuple[int, int, int]) -> str:
    ca: str | None = None
    if mode in ("VERIFY_CA", "VERIFY_IDENTITY"):
        row = await s.fetch_one(
            "SELECT VARIABLE_VALUE AS value FROM performance_schema.global_variables "
            "WHERE VARIABLE_NAME = 'ssl_ca'"
        )
        ca = p.as_str(row["value"]) if row else None
    return sql.replication_ssl_clause(mode, replica_version=version, ssl_ca=ca or None)


async def clusterset_ssl_mode(ctx: StepContext, gp_session: Session) -> str:
    """The ClusterSet's replication SSL mode from the metadata attribute, else the spec's."""
    row = await gp_session.fetch_one(sql.CLUSTERSETS)
    mode = p.as_str(row.get("ssl_mode")) if row else ""
    return mode or ctx.spec.ssl_mode.value


def derived_uuid(ctx: StepContext, *parts: str) -> str:
    """A stable UUID for names the Shell takes from SELECT UUID() (group name, view_change_uuid)."""
    return str(
        uuid.uuid5(
            uuid.NAMESPACE_URL, "clusterset-orchestrator:" + "/".join((ctx.req.clusterset.uid, *parts))
        )
    )


async def md_cluster_by_name(s: Session, name: str) -> p.MdCluster | None:
    for c in await p.md_clusters(s):
        if c.cluster_name.lower() == name.lower():
            return c
    return None


async def require_md_cluster(s: Session, name: str, *, where: str) -> p.MdCluster:
    c = await md_cluster_by_name(s, name)
    if c is None:
        raise InvalidTopology(
            f"cluster {name} is not in the InnoDB Cluster metadata on {where}; spec.clusters names must be "
            "the InnoDB Cluster names (innodbClusterName)",
            where=where,
        )
    return c


async def is_online_in_group(s: Session, *, group_name: str | None = None) -> bool:
    """This instance is ONLINE in a group (the given one when `group_name`)."""
    uuid_ = p.as_str(await s.scalar(sql.SERVER_UUID))
    members = await group_members(s)
    me = next((m for m in members if m.server_uuid == uuid_), None)
    if me is None or me.state != "ONLINE":
        return False
    if group_name:
        gn = await p.gvar(s, "group_replication_group_name") or ""
        return gn.lower() == group_name.lower()
    return True
