"""Asynchronous replication channels: the receiver (IO) and applier (SQL) threads of a replica.

The receiver "connects" to the source instance in the same world (honouring partitions, stopped instances,
the stop_source fault, the source's accounts and TLS), asks for everything not in
``gtid_executed ∪ received_transaction_set`` (auto-positioning) and queues it in the relay log after the
link's latency; error 13114 (source error 1236) when the source purged what is needed. The applier applies
the relay log in order, not blocked by super_read_only, after SOURCE_DELAY and the control API's apply lag.
Reference: MySQL 8.0/8.4 manual, "Replication Threads", "CHANGE REPLICATION SOURCE TO",
"Switching Sources with Asynchronous Connection Failover".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from mysqlsim.errors import MySQLError
from mysqlsim.gtid import GtidSet
from mysqlsim.replication import core, tlscheck
from mysqlsim.replication.state import Channel, RelayTxn, new_thread_id, repl

if TYPE_CHECKING:
    from mysqlsim.instance import Instance

log = logging.getLogger("mysqlsim.replication")

POLL_S = 0.02


class ConnectFailure(Exception):
    """The receiver could not connect: ``number``/``message`` as replication_connection_status shows."""

    def __init__(self, number: int, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.number = number
        self.message = message
        self.fatal = fatal


def _source_label(ch: Channel, host: str, port: int) -> str:
    user = ch.session_user if ch.session_user is not None else ch.config.user
    return f"{user}@{host}:{port}"


def connect(replica: Instance, ch: Channel, host: str, port: int) -> Instance:
    """Simulate the receiver's client connection and handshake to ``host:port``; raise ConnectFailure."""
    world = core.world_of(replica)
    src = core.find_instance(world, host, port)
    if src is None or not core.reachable(world, replica, src) or core.fault(src, "stop_source", False):
        # an unreachable address (partition) times out rather than being refused; the text is the same class
        raise ConnectFailure(2003, f"Can't connect to MySQL server on '{host}:{port}' (111)")
    user = ch.session_user if ch.session_user is not None else ch.config.user
    password = ch.session_password if ch.session_password is not None else ch.config.password
    if not user:
        raise ConnectFailure(
            13117,
            "Fatal error: Invalid (empty) username when attempting to connect to the source server. "
            "Connection attempt terminated.",
            fatal=True,
        )
    use_ssl = bool(ch.config.ssl) or bool(ch.config.ssl_ca) or bool(ch.config.ssl_verify_server_cert)
    if use_ssl:
        problem = tlscheck.verify_source(
            replica,
            src,
            host=host,
            ca_file=ch.config.ssl_ca,
            capath=ch.config.ssl_capath,
            verify_identity=bool(ch.config.ssl_verify_server_cert),
        )
        if problem:
            raise ConnectFailure(2026, f"SSL connection error: {problem}")
    client_host = core.host_of(replica)
    try:
        ok = core.authenticate(src, user, client_host, password)
    except MySQLError as e:
        raise ConnectFailure(e.code, e.message) from None
    if not ok:
        using = "YES" if password else "NO"
        raise ConnectFailure(
            1045, f"Access denied for user '{user}'@'{client_host}' (using password: {using})"
        )
    if not use_ssl and tlscheck.account_requires_ssl(src, user, client_host):
        raise ConnectFailure(1045, f"Access denied for user '{user}'@'{client_host}' (using password: YES)")
    if not use_ssl and core.var_on(src, "require_secure_transport"):
        raise ConnectFailure(
            3159, "Connections using insecure transport are prohibited while --require_secure_transport=ON."
        )
    if not core.has_global_privilege(src, user, client_host, "REPLICATION SLAVE"):
        raise ConnectFailure(
            1227,
            "Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s) for this operation",
        )
    if core.server_uuid(src) == core.server_uuid(replica):
        raise ConnectFailure(
            13117,
            "Fatal error: The replica I/O thread stops because source and replica have equal MySQL server "
            "UUIDs; "
            "these UUIDs must be different for replication to work.",
            fatal=True,
        )
    return src


def wanted_from(src: Instance, have: GtidSet) -> GtidSet:
    """What auto-positioning asks the source for, raising the 1236 condition when it was purged."""
    missing = core.gtid_executed(src).subtract(have)
    purged_needed = missing.intersection(core.gtid_purged(src))
    if purged_needed:
        raise ConnectFailure(
            13114,
            "Got fatal error 1236 from source when reading data from binary log: 'Cannot replicate because "
            "the "
            "source purged required binary logs. Replicate the missing transactions from elsewhere, or "
            "provision "
            "a new replica from backup. Consider increasing the source's binary log expiration period. The "
            "GTID "
            f"set sent by the replica is '{have}', and the missing transactions are '{purged_needed}''",
            fatal=True,
        )
    src_uuid = core.server_uuid(src)
    mine = GtidSet.parse(f"{src_uuid}:1-{have.last(src_uuid)}") if have.last(src_uuid) else GtidSet()
    if mine and not mine.intersection(have).is_subset(core.gtid_executed(src)):
        raise ConnectFailure(
            13114,
            "Got fatal error 1236 from source when reading data from binary log: 'Replica has more GTIDs "
            "than "
            "the source has, using the source's SERVER_UUID. This may indicate that the end of the binary "
            "log was "
            "truncated or that the last binary log file was lost, e.g., after a power or disk failure when "
            "sync_binlog != 1. The source may or may not have rolled back transactions that were already "
            "replicated to the replica. Suggest to replicate any transactions that source has rolled back "
            "from "
            "replica to source, and/or commit empty transactions on source to account for transactions that "
            "have "
            "been committed on source but are not included in GTID_EXECUTED.'",
            fatal=True,
        )
    return missing


# --- receiver -----------------------------------------------------------------------------------------------


def _candidates(replica: Instance, ch: Channel) -> list[tuple[str, int, int]]:
    """Sources to try, best first: the channel's own source, then (auto failover) the weighted list."""
    from mysqlsim.replication import failover

    if ch.config.auto_failover and ch.config.auto_position:
        cands = failover.source_candidates(replica, ch.name)
        if cands:
            return cands
    return [(ch.config.host, ch.config.port, 0)]


async def receiver_loop(replica: Instance, ch: Channel) -> None:
    """The IO thread: connect with retries, then stream transactions until stopped or disconnected."""
    from mysqlsim.replication import failover

    attempts = 0
    cfg = ch.config
    try:
        while True:
            ch.receiver_state = "CONNECTING"
            ch.receiver_thread_state = "Connecting to source"
            cands = _candidates(replica, ch)
            src: Instance | None = None
            last_fail: ConnectFailure | None = None
            for host, port, _w in cands:
                try:
                    src = connect(replica, ch, host, port)
                except ConnectFailure as e:
                    last_fail = e
                    if e.fatal:
                        break
                    continue
                if (host, port) != (cfg.host, cfg.port):
                    cfg.host, cfg.port = host, port
                break
            if src is None:
                assert last_fail is not None
                attempts += 1
                label = _source_label(ch, cfg.host, cfg.port)
                if last_fail.fatal:
                    ch.io_error.set(last_fail.number, last_fail.message)
                    return
                ch.io_error.set(
                    last_fail.number,
                    f"Error connecting to source '{label}'. This was attempt {attempts}/{cfg.retry_count}, "
                    "with a "
                    f"delay of {cfg.connect_retry} seconds between attempts. Message: {last_fail.message}",
                )
                if attempts > cfg.retry_count and not (cfg.auto_failover and len(cands) > 1):
                    return
                await _wait(ch, float(cfg.connect_retry))
                continue
            # connected
            attempts = 0
            ch.io_error.clear()
            ch.receiver_state = "ON"
            ch.source_uuid = core.server_uuid(src)
            ch.last_heartbeat = time.time()
            ch.receiver_thread_state = "Waiting for source to send event"
            try:
                await _stream(replica, ch, src)
            except ConnectFailure as e:
                ch.io_error.set(e.number, e.message)
                if e.fatal:
                    return
                failover.note_source_failed(replica, ch.name)
                await _wait(ch, float(cfg.connect_retry) if not cfg.auto_failover else 0.05)
    except asyncio.CancelledError:
        raise
    except Exception:  # pragma: no cover - a bug must not kill the world silently
        log.exception("receiver of channel %r on %s crashed", ch.name, core.host_of(replica))
        ch.io_error.set(1105, "receiver crashed (simulator bug)")
    finally:
        ch.receiver_state = "OFF"
        ch.receiver_thread_state = ""
        ch.io_task = None


async def _wait(ch: Channel, seconds: float) -> None:
    ch.wake.clear()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(ch.wake.wait(), timeout=seconds)


async def _stream(replica: Instance, ch: Channel, src: Instance) -> None:
    """Ship what the replica lacks, then follow the source's binlog until the connection breaks."""
    from mysqlsim.replication import failover

    world = core.world_of(replica)
    have = core.gtid_executed(replica).union(ch.received)
    wanted_from(src, have)
    # GROUP_NAME: the group this (replica) server belongs to, if any
    ch.group_name = (
        str(core.get_var(replica, "group_replication_group_name") or "") if _src_in_group(replica) else ""
    )
    last_beat = time.monotonic()
    cursor: list[Any] = [None, 0]
    while True:
        if not core.reachable(world, replica, src) or core.fault(src, "stop_source", False):
            raise ConnectFailure(2013, "Lost connection to MySQL server during query")
        if ch.config.auto_failover and failover.should_switch(replica, ch, src):
            raise ConnectFailure(0, "")
        have = core.gtid_executed(replica).union(ch.received)
        latency = core.latency_s(world, src, replica)
        sent_any = False
        for txn in core.binlog_since(src, cursor):
            gtid = core.txn_gtid(txn)
            uuid, n = GtidSet.parse_gtid(gtid)
            if have.contains(uuid, n):
                continue
            ch.receiver_thread_state = "Queueing source event to the relay log"
            commit_ts = core.txn_commit_ts(txn)
            arrive = commit_ts + latency
            now = time.time()
            if arrive > now:
                await asyncio.sleep(arrive - now)
            if not core.reachable(world, replica, src):
                raise ConnectFailure(2013, "Lost connection to MySQL server during query")
            start = time.time()
            rt = RelayTxn(
                gtid=gtid,
                txn=txn,
                original_commit_ts=commit_ts,
                immediate_commit_ts=commit_ts,
                received_at=start,
            )
            ch.relay.append(rt)
            ch.received.add(uuid, n)
            have.add(uuid, n)
            ch.last_queued = rt
            ch.last_queued_start = start
            ch.last_queued_end = time.time()
            sent_any = True
        if sent_any:
            ch.wake.set()
        ch.receiver_thread_state = "Waiting for source to send event"
        if time.monotonic() - last_beat >= min(ch.config.heartbeat_period or 30.0, 30.0):
            ch.last_heartbeat = time.time()
            ch.heartbeats += 1
            last_beat = time.monotonic()
        await asyncio.sleep(POLL_S)


def _src_in_group(src: Instance) -> bool:
    from mysqlsim.replication import group

    return group.member_state(src) == "ONLINE"


# --- applier ------------------------------------------------------------------------------------------------


async def applier_loop(replica: Instance, ch: Channel) -> None:
    """The SQL thread (coordinator + one worker): apply the relay log in order."""
    world = core.world_of(replica)
    try:
        while True:
            if not ch.relay:
                ch.applier_thread_state = "Replica has read all relay log; waiting for more updates"
                await _wait(ch, 0.05)
                continue
            rt = ch.relay[0]
            uuid, n = GtidSet.parse_gtid(rt.gtid)
            if core.gtid_executed(replica).contains(uuid, n):
                ch.relay.popleft()
                continue
            lag = float(core.fault(replica, "apply_lag", 0.0) or 0.0) / core.time_scale(world)
            due = max(rt.original_commit_ts + ch.config.delay, rt.received_at + lag)
            now = time.time()
            if due > now:
                ch.applier_thread_state = "Waiting until SOURCE_DELAY seconds after source executed event"
                await asyncio.sleep(min(due - now, 0.2))
                continue
            ch.applying = rt
            ch.applying_start = time.time()
            ch.applier_thread_state = "Executing event"
            try:
                await core.apply_replicated(replica, rt.txn)
            except MySQLError as e:
                msg = (
                    f"Worker 1 failed executing transaction '{rt.gtid}' at source log binlog.000001, "
                    f"end_log_pos 0; {e.message}"
                )
                ch.worker_error.set(e.code, msg)
                ch.sql_error.set(
                    e.code,
                    "Coordinator stopped because there were error(s) in the worker(s). The most recent "
                    "failure "
                    f"being: {msg}. See error log and/or "
                    "performance_schema.replication_applier_status_by_worker "
                    "table for more details about this failure or others, if any.",
                )
                ch.applying = None
                return
            ch.relay.popleft()
            ch.last_applied = rt
            ch.last_applied_start = ch.applying_start
            ch.last_applied_end = time.time()
            ch.applying = None
    except asyncio.CancelledError:
        raise
    except Exception:  # pragma: no cover
        log.exception("applier of channel %r on %s crashed", ch.name, core.host_of(replica))
        ch.sql_error.set(1105, "applier crashed (simulator bug)")
    finally:
        ch.applier_state = "OFF"
        ch.applier_thread_state = ""
        ch.sql_task = None


# --- thread control -----------------------------------------------------------------------------------------


def start_threads(replica: Instance, ch: Channel, *, io: bool = True, sql: bool = True) -> None:
    """START REPLICA for one channel: clears the thread's error and starts the missing threads."""
    if io and ch.io_task is None:
        ch.io_error.clear()
        ch.receiver_state = "CONNECTING"
        ch.receiver_thread_id = new_thread_id(replica)
        ch.io_task = asyncio.get_running_loop().create_task(receiver_loop(replica, ch), name=f"io:{ch.name}")
    if sql and ch.sql_task is None:
        ch.sql_error.clear()
        ch.worker_error.clear()
        ch.applier_state = "ON"
        ch.applying = None
        ch.applier_thread_id = new_thread_id(replica)
        ch.worker_thread_id = new_thread_id(replica)
        ch.sql_task = asyncio.get_running_loop().create_task(applier_loop(replica, ch), name=f"sql:{ch.name}")


async def stop_threads(ch: Channel, *, io: bool = True, sql: bool = True) -> None:
    """STOP REPLICA for one channel."""
    tasks: list[asyncio.Task[Any]] = []
    if io and ch.io_task is not None:
        tasks.append(ch.io_task)
        ch.io_task.cancel()
    if sql and ch.sql_task is not None:
        tasks.append(ch.sql_task)
        ch.sql_task.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t
    if io:
        ch.receiver_state = "OFF"
        ch.io_task = None
    if sql:
        ch.applier_state = "OFF"
        ch.sql_task = None


def reset_channel(ch: Channel) -> None:
    """RESET REPLICA: relay log, received set and errors go; the configuration stays."""
    ch.relay.clear()
    ch.received = GtidSet()
    ch.io_error.clear()
    ch.sql_error.clear()
    ch.worker_error.clear()
    ch.last_queued = None
    ch.last_applied = None
    ch.applying = None
    ch.source_uuid = ""
    ch.heartbeats = 0
    ch.last_heartbeat = 0.0


async def stop_all(replica: Instance) -> None:
    """The server stops: every channel's threads stop (their configuration and relay log stay)."""
    for ch in list(repl(replica).channels.values()):
        await stop_threads(ch)


def start_on_boot(replica: Instance) -> None:
    """Server start: channels restart unless skip_replica_start=ON (GR channels are handled by GR)."""
    if core.var_on(replica, "skip_replica_start"):
        return
    for ch in repl(replica).channels.values():
        if ch.is_gr or not ch.config.host:
            continue
        start_threads(replica, ch)
