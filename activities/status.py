"""ClusterSet status (spec §3) in one round of queries per site over warm pools.

For every site at once: one session (to the endpoint that was the site's primary last time, so
normally no second connection) reads the group membership, the instance's GTIDs and super_read_only,
the clusterset_replication channel and, from the primary cluster, the metadata. The global primary's
GTID set is read once more at the end (the Shell queries the primary cluster last so that its set is
the freshest), then the per-cluster `globalStatus` and the ClusterSet status are derived exactly as
spec §3 lists them.

`ClusterStatus.channel_state` holds the channel's derived status of spec §1.2 (ON, OFF, CONNECTING,
RECEIVER_OFF, APPLIER_OFF, CONNECTION_ERROR, APPLIER_ERROR) or MISSING when there is no channel.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from activities import primitives as p
from activities import sql
from activities.connections import ClusterAccess, Credentials, Member, Session, group_members
from activities.errors import ClusterSetError, NonRetryableError
from activities.gtid import GtidSet
from activities.models import ClusterSetObservation, ObserveInput
from api.models import ClusterStatus, Endpoint

if TYPE_CHECKING:
    from activities.steps import OperationEnv


@dataclass
class SiteView:
    """What one site's round returned."""

    name: str
    reachable: bool = False
    error: str = ""
    members: list[Member] = field(default_factory=list)
    primary: Member | None = None
    primary_endpoint: Endpoint | None = None
    server_uuid: str = ""
    gtid_executed: GtidSet = field(default_factory=GtidSet)
    super_read_only: bool = False
    view_change_uuid: str = ""
    channel: p.ChannelStatus = field(default_factory=lambda: p.ChannelStatus(exists=False))
    lag_seconds: float | None = None
    cs_members: list[p.CsMember] = field(default_factory=list)
    md_clusters: list[p.MdCluster] = field(default_factory=list)
    domain_name: str | None = None

    @property
    def availability(self) -> str:
        """ONLINE, NO_QUORUM, OFFLINE or UNREACHABLE (enough of the AdminAPI's cluster status)."""
        if not self.reachable:
            return "UNREACHABLE"
        online = [m for m in self.members if m.state == "ONLINE"]
        if not online:
            return "OFFLINE"
        if len(online) * 2 <= len(self.members):
            return "NO_QUORUM"
        return "ONLINE" if self.primary is not None else "NO_QUORUM"


def _ts(value: Any) -> datetime | None:
    if value is None or value == "" or (isinstance(value, str) and value.startswith("0000")):
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _lag(rows: tuple[dict[str, Any], ...], now: datetime | None, *, backlog: bool) -> float | None:
    """Replication lag in seconds, measured on the replica's clock against original commit times:
    while a transaction is applied, now - its original commit; when transactions wait in the relay log
    (`backlog`) but none is being applied (e.g. a delayed or slow applier), now - the original commit
    of the last applied one (the age of the newest data); 0.0 when caught up; None without workers."""
    if not rows or now is None:
        return None
    applying = [_ts(r.get("applying_original_commit")) for r in rows if p.as_str(r.get("applying"))]
    started = [t for t in applying if t is not None]
    if started:
        return max(0.0, (now - min(started)).total_seconds())
    if backlog:
        applied = [
            _ts(r.get("last_applied_original_commit")) for r in rows if p.as_str(r.get("last_applied"))
        ]
        done = [t for t in applied if t is not None]
        return max(0.0, (now - max(done)).total_seconds()) if done else None
    return 0.0


async def _site_round(access: ClusterAccess, hint: str | None, *, metadata: bool) -> SiteView:
    view = SiteView(name=access.name)
    endpoints = list(access.endpoints)
    if hint:
        endpoints.sort(key=lambda e: e.address != hint)
    last_error: ClusterSetError | None = None
    for ep in endpoints:
        try:
            async with access.endpoint_session(ep) as s:
                members = await group_members(s)
                own = await s.fetch_one(
                    "SELECT @@server_uuid AS server_uuid, @@global.gtid_executed AS gtid_executed, "
                    "@@global.super_read_only AS super_read_only, NOW(6) AS now6"
                )
                assert own is not None
                view.reachable = True
                view.members = members
                primary = next((m for m in members if m.role == "PRIMARY" and m.state == "ONLINE"), None)
                view.primary = primary
                if primary is not None and primary.server_uuid != p.as_str(own["server_uuid"]):
                    # Not on the primary: go there (one more session) unless it is unreachable.
                    target = access.endpoint_for(primary) or await access.locate(primary.server_uuid)
                    async with access.endpoint_session(target) as ps:
                        await _primary_queries(ps, view, target, metadata=metadata)
                    return view
                if primary is not None:
                    await _primary_queries(s, view, ep, metadata=metadata, own=own)
                elif metadata:
                    view.cs_members = await p.cs_members(s)
                    view.md_clusters = await p.md_clusters(s)
                return view
        except NonRetryableError:
            raise
        except ClusterSetError as e:
            last_error = e
            if view.reachable:
                view.error = str(e)
                return view
            continue
    view.error = str(last_error) if last_error else "no endpoint answered"
    return view


async def _primary_queries(
    s: Session, view: SiteView, ep: Endpoint, *, metadata: bool, own: dict[str, Any] | None = None
) -> None:
    if own is None:
        own = await s.fetch_one(
            "SELECT @@server_uuid AS server_uuid, @@global.gtid_executed AS gtid_executed, "
            "@@global.super_read_only AS super_read_only, NOW(6) AS now6"
        )
        assert own is not None
    view.primary_endpoint = ep
    view.server_uuid = p.as_str(own["server_uuid"])
    view.gtid_executed = GtidSet.parse(p.as_str(own["gtid_executed"]))
    view.super_read_only = p.as_bool(own["super_read_only"])
    view.channel = await p.channel_status(s)
    if view.channel.exists:
        backlog = bool(view.channel.received.subtract(view.gtid_executed))
        view.lag_seconds = _lag(view.channel.worker_rows, _ts(own.get("now6")), backlog=backlog)
    if metadata:
        view.cs_members = await p.cs_members(s)
        if view.cs_members:
            view.md_clusters = await p.md_clusters(s)
            row = await s.fetch_one(sql.CLUSTERSETS)
            view.domain_name = p.as_str(row["domain_name"]) if row else None


def replication_status(view: SiteView, *, gp_uuid: str, pc_online: bool) -> str:
    """clusterSetReplicationStatus of spec §3."""
    if view.primary is None:
        return "UNKNOWN"
    st = view.channel.status
    if st == "NOT_EXIST":
        return "MISSING"
    if st == "CONNECTING":
        return "CONNECTING"
    if st == "ON":
        if pc_online and gp_uuid and view.channel.source_uuid and view.channel.source_uuid != gp_uuid:
            return "MISCONFIGURED"
        return "OK"
    if st in ("OFF", "RECEIVER_OFF", "APPLIER_OFF"):
        return "STOPPED"
    return "ERROR"


def cluster_global_status(
    view: SiteView, *, role: str, invalidated: bool, repl: str, pc_status: str, errant: GtidSet
) -> str:
    """Per-cluster globalStatus, in spec §3's order of evaluation."""
    if invalidated:
        return "INVALIDATED"
    avail = view.availability
    if avail == "UNREACHABLE":
        return "UNKNOWN"
    if avail in ("NO_QUORUM", "OFFLINE"):
        return "NOT_OK"
    if role == "PRIMARY":
        if repl in ("OK", "CONNECTING", "MISCONFIGURED", "ERROR"):
            return "OK_MISCONFIGURED"
        return "OK_FENCED_WRITES" if view.super_read_only else "OK"
    if repl in ("OK", "CONNECTING"):
        if pc_status != "UNKNOWN" and errant:
            return "OK_NOT_CONSISTENT"
        return "OK"
    if repl in ("STOPPED", "ERROR"):
        return "OK_NOT_REPLICATING"
    if repl in ("MISSING", "MISCONFIGURED"):
        return "OK_MISCONFIGURED"
    return "NOT_OK"


def _view_id(v: SiteView) -> int:
    return max(m.view_id for m in v.cs_members)


def clusterset_status(pc_status: str, others: list[str]) -> str:
    if pc_status == "OK":
        return "HEALTHY" if all(s == "OK" for s in others) else "AVAILABLE"
    if pc_status == "OK_MISCONFIGURED":
        return "AVAILABLE"
    return "UNAVAILABLE"


async def observe(inp: ObserveInput, *, env: OperationEnv, creds: Credentials) -> ClusterSetObservation:
    spec = inp.spec
    hints = env.primary_hints
    accesses = {
        c.innodb_cluster_name: ClusterAccess(env.pools, c, creds=creds, ssl_mode=spec.ssl_mode)
        for c in spec.clusters
    }
    names = list(accesses)
    views = await asyncio.gather(
        *(_site_round(accesses[n], hints.get(n), metadata=True) for n in names), return_exceptions=True
    )
    by_name: dict[str, SiteView] = {}
    for n, v in zip(names, views, strict=True):
        if isinstance(v, NonRetryableError):
            raise v
        if isinstance(v, BaseException):
            by_name[n] = SiteView(name=n, error=str(v))
        else:
            by_name[n] = v
            if v.primary_endpoint is not None:
                hints[n] = v.primary_endpoint.address
    now = datetime.now(UTC)

    # The metadata to trust: the newest view among the sites that answered (Router's rule).
    best: SiteView | None = None
    for v in by_name.values():
        if v.cs_members and (best is None or _view_id(v) > _view_id(best)):
            best = v
    if best is None:
        reachable = any(v.reachable for v in by_name.values())
        errors = "; ".join(f"{n}: {v.error}" for n, v in by_name.items() if v.error)
        pc = by_name.get(spec.primary_cluster)
        return ClusterSetObservation(
            reachable=bool(pc and pc.reachable),
            bootstrapped=False,
            primary_endpoint=pc.primary_endpoint.address if pc and pc.primary_endpoint else None,
            global_status="UNKNOWN" if not reachable else "UNAVAILABLE",
            error=errors or None,
            observed_at=now,
        )
    members = {m.cluster_name: m for m in best.cs_members}
    pc_name = next(
        (m.cluster_name for m in best.cs_members if m.member_role == "PRIMARY" and not m.invalidated), None
    )
    pc_view = by_name.get(pc_name) if pc_name else None
    vcle = {c.view_change_uuid for c in best.md_clusters if c.view_change_uuid}

    # Primary cluster's set, read last (freshest).
    gp_gtids = GtidSet()
    gp_uuid = ""
    if pc_view is not None and pc_view.primary_endpoint is not None:
        gp_uuid = pc_view.server_uuid
        try:
            async with accesses[pc_view.name].endpoint_session(pc_view.primary_endpoint) as s:
                gp_gtids = await p.gtid_executed(s)
        except ClusterSetError:
            gp_gtids = pc_view.gtid_executed
    pc_online = pc_view is not None and pc_view.availability == "ONLINE"

    clusters: dict[str, ClusterStatus] = {}
    pc_status = "UNKNOWN"
    if pc_view is not None and pc_name is not None:
        repl = replication_status(pc_view, gp_uuid=gp_uuid, pc_online=pc_online)
        pc_status = cluster_global_status(
            pc_view, role="PRIMARY", invalidated=False, repl=repl, pc_status="", errant=GtidSet()
        )
    for name, m in members.items():
        v = by_name.get(name) or SiteView(name=name, error="not in spec.clusters")
        role = m.member_role or "REPLICA"
        repl = replication_status(v, gp_uuid=gp_uuid, pc_online=pc_online)
        errant = GtidSet()
        behind: int | None = None
        if v.primary is not None and gp_uuid:
            behind = gp_gtids.subtract(v.gtid_executed).count() if name != pc_name else 0
            if name != pc_name:
                errant = v.gtid_executed.subtract(v.channel.received).without_uuids(vcle).subtract(gp_gtids)
        status = (
            pc_status
            if name == pc_name
            else cluster_global_status(
                v, role=role, invalidated=m.invalidated, repl=repl, pc_status=pc_status, errant=errant
            )
        )
        clusters[name] = ClusterStatus(
            cluster_role=role,
            global_status=status,
            primary=v.primary_endpoint.address if v.primary_endpoint else None,
            channel_state=("MISSING" if not v.channel.exists else v.channel.status) if v.primary else None,
            transactions_behind=behind,
            lag_seconds=v.lag_seconds if name != pc_name else None,
            errant_transactions=str(errant) or None,
        )
    others = [c.global_status for n, c in clusters.items() if n != pc_name]
    errors = "; ".join(f"{n}: {v.error}" for n, v in by_name.items() if v.error)
    return ClusterSetObservation(
        reachable=pc_view is not None and pc_view.reachable,
        bootstrapped=True,
        domain_name=best.domain_name,
        primary_cluster=pc_name,
        primary_endpoint=pc_view.primary_endpoint.address if pc_view and pc_view.primary_endpoint else None,
        global_status=clusterset_status(pc_status, others),
        clusters=clusters,
        gtid_executed_primary=str(gp_gtids) if gp_uuid else None,
        error=errors or None,
        observed_at=now,
    )
