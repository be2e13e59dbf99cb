"""The building blocks of spec §1 (fencing, channel, member actions, managed list, accounts, syncs, metadata
reads) as small async functions over a `Session`, each probe read-only and each action idempotent.

Every operation module (ours and H-ops-B's) composes these instead of sending statements of its own.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from activities import sql
from activities.connections import Session
from activities.errors import (
    ER_REPLICA_CHANNEL_DOES_NOT_EXIST,
    ClusterSetError,
    FailedPrecondition,
    InstanceUnreachable,
    MetadataMissing,
    ReplicationBroken,
    SyncTimeout,
)
from activities.gtid import GtidSet

# ================================================================================ instance facts


def as_bool(value: Any) -> bool:
    """MySQL boolean-ish values (1, '1', 'ON', b'1') to bool."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return value.strip().upper() in ("1", "ON", "YES", "TRUE")
    return bool(value)


def as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


@dataclass(frozen=True)
class InstanceInfo:
    server_uuid: str
    server_id: int
    version: str
    report_host: str
    report_port: int
    port: int
    gtid_mode: str
    enforce_gtid_consistency: str
    super_read_only: bool
    read_only: bool
    gtid_executed: GtidSet
    gtid_purged: GtidSet

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        return parse_version(self.version)


def parse_version(text: str) -> tuple[int, int, int]:
    core = text.split("-", 1)[0]
    parts = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in core.split(".")[:3]]
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


async def instance_info(s: Session) -> InstanceInfo:
    r = await s.fetch_one(sql.INSTANCE_INFO)
    assert r is not None
    return InstanceInfo(
        server_uuid=as_str(r["server_uuid"]),
        server_id=int(r["server_id"] or 0),
        version=as_str(r["version"]),
        report_host=as_str(r.get("report_host")),
        report_port=int(r.get("report_port") or r.get("port") or 0),
        port=int(r.get("port") or 0),
        gtid_mode=as_str(r["gtid_mode"]).upper(),
        enforce_gtid_consistency=as_str(r["enforce_gtid_consistency"]).upper(),
        super_read_only=as_bool(r["super_read_only"]),
        read_only=as_bool(r["read_only"]),
        gtid_executed=GtidSet.parse(as_str(r["gtid_executed"])),
        gtid_purged=GtidSet.parse(as_str(r["gtid_purged"])),
    )


async def gtid_executed(s: Session) -> GtidSet:
    return GtidSet.parse(as_str(await s.scalar(sql.GTID_EXECUTED)))


async def plugins(s: Session) -> dict[str, str]:
    rows = await s.fetch_all(sql.PLUGINS)
    return {as_str(r["plugin_name"]).lower(): as_str(r["plugin_status"]).upper() for r in rows}


async def persisted(s: Session, name: str) -> str | None:
    row = await s.fetch_one(sql.persisted_variable(name))
    return None if row is None else as_str(row["value"])


async def gvar(s: Session, name: str) -> str | None:
    """A global variable's value, None when the server has no such variable (never error 1193)."""
    row = await s.fetch_one(sql.global_variable(name))
    return None if row is None else as_str(row["value"])


async def user_schemas(s: Session) -> list[str]:
    return [as_str(r["schema_name"]) for r in await s.fetch_all(sql.USER_SCHEMAS)]


async def super_read_only(s: Session) -> bool:
    return as_bool(await s.scalar(sql.SUPER_READ_ONLY))


# ================================================================================ fencing (§1.1)


async def fence(s: Session) -> None:
    await s.execute(sql.FENCE)


async def unfence(s: Session) -> None:
    await s.execute(sql.UNFENCE_SRO)
    await s.execute(sql.UNFENCE_RO)


# ======================================================================= channel status (§1.2, §1.3)


@dataclass(frozen=True)
class ChannelStatus:
    exists: bool
    host: str = ""
    port: int = 0
    user: str = ""
    auto_failover: bool = False
    source_uuid: str = ""
    io_state: str = ""
    io_errno: int = 0
    io_error: str = ""
    applier_state: str = ""
    worker_states: tuple[str, ...] = ()
    worker_errnos: tuple[int, ...] = ()
    coordinator_state: str = ""
    coordinator_errno: int = 0
    received: GtidSet = field(default_factory=GtidSet)
    worker_rows: tuple[dict[str, Any], ...] = ()  # replication_applier_status_by_worker rows (lag)

    @property
    def status(self) -> str:
        """spec §1.2 derived status: NOT_EXIST, APPLIER_ERROR, CONNECTION_ERROR, OFF, RECEIVER_OFF,
        APPLIER_OFF, CONNECTING, ON."""
        if not self.exists:
            return "NOT_EXIST"
        workers = self.worker_states or ((self.applier_state,) if self.applier_state else ())
        on = [w == "ON" for w in workers]
        appliers_off = not any(on) and (self.coordinator_state in ("", "OFF"))
        if any((not w) and e for w, e in zip(on, self.worker_errnos, strict=False)) or (
            any(on) and not all(on)
        ):
            return "APPLIER_ERROR"
        if self.coordinator_state == "OFF" and (self.coordinator_errno or any(on)):
            return "APPLIER_ERROR"
        io = self.io_state or "OFF"
        if io == "OFF":
            if self.io_errno:
                return "CONNECTION_ERROR"
            return "OFF" if appliers_off else "RECEIVER_OFF"
        if io == "CONNECTING":
            return "APPLIER_OFF" if appliers_off else "CONNECTING"
        if self.io_errno:
            return "CONNECTION_ERROR"
        return "APPLIER_OFF" if appliers_off else "ON"


async def channel_status(s: Session, channel: str = sql.CH) -> ChannelStatus:
    row = await s.fetch_one(sql.channel_status(channel))
    if row is None:
        return ChannelStatus(exists=False)
    workers = await s.fetch_all(sql.channel_workers(channel))
    coord = await s.fetch_one(sql.channel_coordinator(channel))
    return ChannelStatus(
        exists=True,
        host=as_str(row.get("host")),
        port=int(row.get("port") or 0),
        user=as_str(row.get("user")),
        auto_failover=as_bool(row.get("auto_failover")),
        source_uuid=as_str(row.get("source_uuid")),
        io_state=as_str(row.get("io_state")).upper(),
        io_errno=int(row.get("io_errno") or 0),
        io_error=as_str(row.get("io_error")),
        applier_state=as_str(row.get("applier_state")).upper(),
        worker_states=tuple(as_str(w.get("state")).upper() for w in workers),
        worker_errnos=tuple(int(w.get("errno") or 0) for w in workers),
        coordinator_state=as_str(coord.get("state")).upper() if coord else "",
        coordinator_errno=int(coord.get("errno") or 0) if coord else 0,
        received=GtidSet.parse(as_str(row.get("received_transaction_set"))),
        worker_rows=tuple(workers),
    )


async def stop_channel(s: Session, channel: str = sql.CH) -> ChannelStatus:
    """stop_channel (unsafe form): STOP when it exists; RESET (not ALL) when it had not been ON."""
    st = await channel_status(s, channel)
    if not st.exists or st.status == "OFF":
        return st
    try:
        await s.execute(sql.stop_replica(channel))
    except ClusterSetError as e:
        if e.errno != ER_REPLICA_CHANNEL_DOES_NOT_EXIST:
            raise
    if st.status != "ON":
        await s.execute(sql.reset_replica(channel, all_=False))
    return st


async def remove_channel(s: Session, channel: str = sql.CH) -> None:
    st = await channel_status(s, channel)
    if not st.exists:
        return
    if st.status != "OFF":
        try:
            await s.execute(sql.stop_replica(channel))
        except ClusterSetError as e:
            if e.errno != ER_REPLICA_CHANNEL_DOES_NOT_EXIST:
                raise
    try:
        await s.execute(sql.reset_replica(channel, all_=True))
    except ClusterSetError as e:
        if e.errno != ER_REPLICA_CHANNEL_DOES_NOT_EXIST:
            raise


async def channels(s: Session) -> list[str]:
    return [as_str(r["channel_name"]) for r in await s.fetch_all(sql.ALL_CHANNELS)]


# ==================================================================== member actions (§1.5)


async def member_actions(s: Session) -> dict[str, bool]:
    rows = await s.fetch_all(sql.MEMBER_ACTIONS)
    return {
        as_str(r["name"]): as_bool(r["enabled"])
        for r in rows
        if as_str(r.get("event")) in ("", "AFTER_PRIMARY_ELECTION")
    }


async def set_member_action(s: Session, name: str, *, enable: bool) -> None:
    """Change an action with the SRO wrapper of §1.5 (only when it differs)."""
    if (await member_actions(s)).get(name) == enable:
        return
    sro = await super_read_only(s)
    if sro:
        await s.execute(sql.set_global("super_read_only", False))
    try:
        await s.execute(sql.member_action(name, enable=enable))
    finally:
        if sro:
            await s.execute(sql.set_global("super_read_only", True))


# =========================================================== managed failover source list (§1.6)


async def managed_sources(s: Session) -> list[str]:
    return [as_str(r["managed_name"]) for r in await s.fetch_all(sql.MANAGED_SOURCES)]


async def delete_managed(s: Session) -> None:
    for name in await managed_sources(s):
        await s.execute(sql.delete_managed(name))


async def replace_managed(s: Session, *, group_name: str, host: str, port: int) -> None:
    """delete_managed then add_managed (skipped when exactly this group is already the only entry)."""
    current = await managed_sources(s)
    if current == [group_name]:
        return
    for name in current:
        await s.execute(sql.delete_managed(name))
    await s.execute(sql.add_managed(group_name=group_name, host=host, port=port))


# ============================================================================ accounts (§1.7)


async def account_hosts(s: Session, user: str) -> list[str]:
    return [as_str(r["host"]) for r in await s.fetch_all(sql.user_hosts(user))]


async def grants_of(s: Session, user: str, host: str) -> str:
    rows = await s.fetch_all(sql.show_grants(user, host))
    return "\n".join(as_str(next(iter(r.values()))) for r in rows)


async def ensure_account(
    s: Session, user: str, host: str, password: str, grants: tuple[tuple[str, str], ...]
) -> None:
    """CREATE USER IF NOT EXISTS + ALTER (so the derived password is the current one) + GRANTs."""
    await s.execute(sql.create_user(user, host, password))
    await s.execute(sql.alter_user_password(user, host, password))
    for privs, target in grants:
        await s.execute(sql.grant(privs, target, user, host))


# ===================================================================== syncs (§1.8) and waits


async def wait_for_gtids(
    s: Session, target: GtidSet, *, within: float, poll: int = 2, where: str = "", channel: str | None = None
) -> None:
    """WAIT_FOR_EXECUTED_GTID_SET in slices of `poll` seconds until done or `within` is used up.

    With `channel`, after every slice that timed out the channel is checked as the Shell does (1.8): an
    applier error raises ReplicationBroken (non-retryable), a receiver error InstanceUnreachable naming
    the receiver's last error (retryable: the source may come back).
    """
    if not target:
        return
    deadline = time.monotonic() + within
    text = str(target)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            have = await gtid_executed(s)
            raise SyncTimeout(
                f"{where or s.address} did not apply {target.subtract(have)} within {within:.0f}s; "
                "check its replication channel",
                where=where or s.address,
            )
        chunk = max(1, min(poll, int(remaining) or 1))
        result = await s.scalar(sql.wait_for_gtid_set(text, chunk), limit=chunk + s.timeout)
        if int(result or 0) == 0:
            return
        if channel is not None:
            await _check_channel(s, channel, where=where or s.address)


async def _check_channel(s: Session, channel: str, *, where: str) -> None:
    st = await channel_status(s, channel)
    if st.status == "APPLIER_ERROR":
        errnos = [e for e in st.worker_errnos if e] + ([st.coordinator_errno] if st.coordinator_errno else [])
        raise ReplicationBroken(
            f"the applier of channel {channel} on {where} stopped on error {errnos}; fix the conflicting "
            "data (errant or missing rows), then START REPLICA, or re-provision the cluster",
            where=where,
        )
    if st.status == "CONNECTION_ERROR":
        raise InstanceUnreachable(
            f"channel {channel} on {where} cannot reach its source {st.host}:{st.port}: ({st.io_errno}) "
            f"{st.io_error}. The step will be retried.",
            where=where,
        )


async def poll_until(check: Any, *, within: float, interval: float, what: str, where: str) -> Any:
    """Call async `check()` until it returns a truthy value; NotReady-style SyncTimeout on deadline."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise SyncTimeout(f"timed out after {within:.0f}s waiting for {what} on {where}", where=where)
        await asyncio.sleep(interval)


# ============================================================================== metadata reads


@dataclass(frozen=True)
class CsMember:
    cluster_id: str
    cluster_name: str
    member_role: str
    invalidated: bool
    clusterset_id: str
    view_id: int


@dataclass(frozen=True)
class MdCluster:
    cluster_id: str
    cluster_name: str
    clusterset_id: str
    group_name: str
    view_change_uuid: str
    repl_user: str
    repl_host: str


@dataclass(frozen=True)
class MdInstance:
    cluster_id: str
    address: str
    server_uuid: str
    server_id: int


async def metadata_version(s: Session) -> tuple[int, int, int] | None:
    try:
        row = await s.fetch_one(sql.SCHEMA_VERSION)
    except FailedPrecondition:
        return None
    if row is None:
        return None
    return int(row["major"]), int(row["minor"]), int(row["patch"])


async def require_metadata(s: Session, *, where: str) -> tuple[int, int, int]:
    v = await metadata_version(s)
    if v is None or v < (2, 1, 0):
        raise MetadataMissing(
            f"{where} has no InnoDB Cluster metadata schema 2.1+ (found {v}); create the InnoDB Cluster "
            "with MySQL Shell (or the site's operator) first",
            where=where,
        )
    return v


async def cs_members(s: Session) -> list[CsMember]:
    try:
        rows = await s.fetch_all(sql.CS_MEMBERS)
    except FailedPrecondition:
        return []
    return [
        CsMember(
            cluster_id=as_str(r["cluster_id"]),
            cluster_name=as_str(r["cluster_name"]),
            member_role=as_str(r.get("member_role")),
            invalidated=as_bool(r.get("invalidated")),
            clusterset_id=as_str(r.get("clusterset_id")),
            view_id=int(r.get("view_id") or 0),
        )
        for r in rows
    ]


async def md_clusters(s: Session) -> list[MdCluster]:
    try:
        rows = await s.fetch_all(sql.CLUSTERS)
    except FailedPrecondition:
        return []
    return [
        MdCluster(
            cluster_id=as_str(r["cluster_id"]),
            cluster_name=as_str(r["cluster_name"]),
            clusterset_id=as_str(r.get("clusterset_id")),
            group_name=as_str(r.get("group_name")),
            view_change_uuid=as_str(r.get("view_change_uuid")),
            repl_user=as_str(r.get("repl_user")),
            repl_host=as_str(r.get("repl_host")),
        )
        for r in rows
    ]


async def md_instances(s: Session) -> list[MdInstance]:
    try:
        rows = await s.fetch_all(sql.INSTANCES)
    except FailedPrecondition:
        return []
    return [
        MdInstance(
            cluster_id=as_str(r["cluster_id"]),
            address=as_str(r["address"]),
            server_uuid=as_str(r["mysql_server_uuid"]),
            server_id=int(as_str(r.get("server_id")) or 0),
        )
        for r in rows
    ]


async def clusterset_id(s: Session) -> str | None:
    try:
        row = await s.fetch_one(sql.CLUSTERSETS)
    except FailedPrecondition:
        return None
    return None if row is None else as_str(row["clusterset_id"])


async def in_transaction(s: Session, statements: list[str]) -> None:
    """Run statements in one transaction (spec §1.16), rolling back on error."""
    await s.execute(sql.BEGIN)
    try:
        for st in statements:
            await s.execute(st)
        await s.execute(sql.COMMIT)
    except BaseException:
        try:
            await s.execute(sql.ROLLBACK)
        except Exception:  # the original error matters
            pass
        raise
