"""performance_schema tables of replication, Group Replication, connection failover and clone.

Materialised at query time from the instance's replication state, with the columns of the MySQL 8.0/8.4
manual's table descriptions (29.12.11 "Performance Schema Replication Tables", 29.12.19 clone tables), so
that the AdminAPI's joins (spec §1.2, §3) work unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mysqlsim.registry import status_variable, system_table
from mysqlsim.replication import core
from mysqlsim.replication.state import GR_APPLIER, GR_RECOVERY, ZERO_TS, Channel, repl, ts

if TYPE_CHECKING:
    from mysqlsim.instance import Instance

Row = tuple[Any, ...]
PS = "performance_schema"

T = "TEXT"
I = "BIGINT"  # noqa: E741
TS = "TIMESTAMP(6)"


def _channels(inst: Instance) -> list[Channel]:
    """Channels in name order, the GR applier channel included while GR runs."""
    from mysqlsim.replication import group

    st = repl(inst)
    chans = [c for c in st.channels.values() if c.name != GR_APPLIER]
    gr = group.applier_channel(inst)
    if gr is not None:
        chans.append(gr)
    return sorted(chans, key=lambda c: c.name)


def _yn(v: int | bool) -> str:
    return "YES" if v else "NO"


@system_table(
    PS,
    "replication_connection_configuration",
    columns=[
        ("CHANNEL_NAME", T),
        ("HOST", T),
        ("PORT", I),
        ("USER", T),
        ("NETWORK_INTERFACE", T),
        ("AUTO_POSITION", I),
        ("SSL_ALLOWED", T),
        ("SSL_CA_FILE", T),
        ("SSL_CA_PATH", T),
        ("SSL_CERTIFICATE", T),
        ("SSL_CIPHER", T),
        ("SSL_KEY", T),
        ("SSL_VERIFY_SERVER_CERTIFICATE", T),
        ("SSL_CRL_FILE", T),
        ("SSL_CRL_PATH", T),
        ("CONNECTION_RETRY_INTERVAL", I),
        ("CONNECTION_RETRY_COUNT", I),
        ("HEARTBEAT_INTERVAL", "DOUBLE"),
        ("TLS_VERSION", T),
        ("PUBLIC_KEY_PATH", T),
        ("GET_PUBLIC_KEY", T),
        ("NETWORK_NAMESPACE", T),
        ("COMPRESSION_ALGORITHM", T),
        ("ZSTD_COMPRESSION_LEVEL", I),
        ("TLS_CIPHERSUITES", T),
        ("SOURCE_CONNECTION_AUTO_FAILOVER", T),
        ("GTID_ONLY", T),
    ],
)
def connection_configuration(inst: Instance) -> Iterable[Row]:
    for ch in _channels(inst):
        c = ch.config
        host = "<NULL>" if ch.name == GR_APPLIER else c.host
        port = 0 if ch.name == GR_APPLIER else c.port
        yield (
            ch.name,
            host,
            port,
            c.user,
            c.network_interface,
            c.auto_position,
            _yn(c.ssl),
            c.ssl_ca,
            c.ssl_capath,
            c.ssl_cert,
            c.ssl_cipher,
            c.ssl_key,
            _yn(c.ssl_verify_server_cert),
            c.ssl_crl,
            c.ssl_crlpath,
            c.connect_retry,
            c.retry_count,
            c.heartbeat_period,
            c.tls_version,
            c.public_key_path,
            _yn(c.get_public_key),
            c.network_namespace,
            c.compression_algorithms,
            c.zstd_compression_level,
            c.tls_ciphersuites,
            str(c.auto_failover),
            str(c.gtid_only),
        )


@system_table(
    PS,
    "replication_connection_status",
    columns=[
        ("CHANNEL_NAME", T),
        ("GROUP_NAME", T),
        ("SOURCE_UUID", T),
        ("THREAD_ID", I),
        ("SERVICE_STATE", T),
        ("COUNT_RECEIVED_HEARTBEATS", I),
        ("LAST_HEARTBEAT_TIMESTAMP", TS),
        ("RECEIVED_TRANSACTION_SET", T),
        ("LAST_ERROR_NUMBER", I),
        ("LAST_ERROR_MESSAGE", T),
        ("LAST_ERROR_TIMESTAMP", TS),
        ("LAST_QUEUED_TRANSACTION", T),
        ("LAST_QUEUED_TRANSACTION_ORIGINAL_COMMIT_TIMESTAMP", TS),
        ("LAST_QUEUED_TRANSACTION_IMMEDIATE_COMMIT_TIMESTAMP", TS),
        ("LAST_QUEUED_TRANSACTION_START_QUEUE_TIMESTAMP", TS),
        ("LAST_QUEUED_TRANSACTION_END_QUEUE_TIMESTAMP", TS),
        ("QUEUEING_TRANSACTION", T),
        ("QUEUEING_TRANSACTION_ORIGINAL_COMMIT_TIMESTAMP", TS),
        ("QUEUEING_TRANSACTION_IMMEDIATE_COMMIT_TIMESTAMP", TS),
        ("QUEUEING_TRANSACTION_START_QUEUE_TIMESTAMP", TS),
    ],
)
def connection_status(inst: Instance) -> Iterable[Row]:
    for ch in _channels(inst):
        lq = ch.last_queued
        running = ch.receiver_state != "OFF"
        yield (
            ch.name,
            ch.group_name,
            ch.source_uuid,
            ch.receiver_thread_id if running else None,
            ch.receiver_state,
            ch.heartbeats,
            ts(ch.last_heartbeat),
            ch.received.format(",\n"),
            ch.io_error.number,
            ch.io_error.message,
            ts(ch.io_error.timestamp),
            lq.gtid if lq else "",
            ts(lq.original_commit_ts) if lq else ZERO_TS,
            ts(lq.immediate_commit_ts) if lq else ZERO_TS,
            ts(ch.last_queued_start) if lq else ZERO_TS,
            ts(ch.last_queued_end) if lq else ZERO_TS,
            "",
            ZERO_TS,
            ZERO_TS,
            ZERO_TS,
        )


@system_table(
    PS,
    "replication_applier_configuration",
    columns=[
        ("CHANNEL_NAME", T),
        ("DESIRED_DELAY", I),
        ("PRIVILEGE_CHECKS_USER", T),
        ("REQUIRE_ROW_FORMAT", T),
        ("REQUIRE_TABLE_PRIMARY_KEY_CHECK", T),
        ("ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS_TYPE", T),
        ("ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS_VALUE", T),
    ],
)
def applier_configuration(inst: Instance) -> Iterable[Row]:
    for ch in _channels(inst):
        c = ch.config
        anon = c.assign_gtids_to_anonymous_transactions
        atype = anon if anon in ("OFF", "LOCAL") else "UUID"
        aval = core.server_uuid(inst) if anon == "LOCAL" else (None if anon == "OFF" else anon)
        pcu = None
        if c.privilege_checks_user:
            u, _, h = c.privilege_checks_user.partition("@")
            pcu = f"'{u}'@'{h}'"
        yield (
            ch.name,
            c.delay,
            pcu,
            _yn(c.require_row_format or ch.is_gr),
            c.require_table_primary_key_check,
            atype,
            aval,
        )


@system_table(
    PS,
    "replication_applier_status",
    columns=[
        ("CHANNEL_NAME", T),
        ("SERVICE_STATE", T),
        ("REMAINING_DELAY", I),
        ("COUNT_TRANSACTIONS_RETRIES", I),
    ],
)
def applier_status(inst: Instance) -> Iterable[Row]:
    import time

    for ch in _channels(inst):
        remaining = None
        if ch.applier_state == "ON" and ch.config.delay and ch.relay:
            remaining = max(0, int(ch.relay[0].original_commit_ts + ch.config.delay - time.time()))
        yield (ch.name, ch.applier_state, remaining, 0)


@system_table(
    PS,
    "replication_applier_status_by_coordinator",
    columns=[
        ("CHANNEL_NAME", T),
        ("THREAD_ID", I),
        ("SERVICE_STATE", T),
        ("LAST_ERROR_NUMBER", I),
        ("LAST_ERROR_MESSAGE", T),
        ("LAST_ERROR_TIMESTAMP", TS),
        ("LAST_PROCESSED_TRANSACTION", T),
        ("LAST_PROCESSED_TRANSACTION_ORIGINAL_COMMIT_TIMESTAMP", TS),
        ("LAST_PROCESSED_TRANSACTION_IMMEDIATE_COMMIT_TIMESTAMP", TS),
        ("LAST_PROCESSED_TRANSACTION_START_BUFFER_TIMESTAMP", TS),
        ("LAST_PROCESSED_TRANSACTION_END_BUFFER_TIMESTAMP", TS),
        ("PROCESSING_TRANSACTION", T),
        ("PROCESSING_TRANSACTION_ORIGINAL_COMMIT_TIMESTAMP", TS),
        ("PROCESSING_TRANSACTION_IMMEDIATE_COMMIT_TIMESTAMP", TS),
        ("PROCESSING_TRANSACTION_START_BUFFER_TIMESTAMP", TS),
    ],
)
def applier_by_coordinator(inst: Instance) -> Iterable[Row]:
    for ch in _channels(inst):
        if ch.name == GR_RECOVERY and ch.applier_thread_id is None and not ch.sql_error.number:
            pass
        la = ch.last_applied
        running = ch.applier_state == "ON"
        yield (
            ch.name,
            ch.applier_thread_id if running else None,
            ch.applier_state,
            ch.sql_error.number,
            ch.sql_error.message,
            ts(ch.sql_error.timestamp),
            la.gtid if la else "",
            ts(la.original_commit_ts) if la else ZERO_TS,
            ts(la.immediate_commit_ts) if la else ZERO_TS,
            ts(la.received_at) if la else ZERO_TS,
            ts(la.received_at) if la else ZERO_TS,
            "",
            ZERO_TS,
            ZERO_TS,
            ZERO_TS,
        )


def _workers(inst: Instance) -> int:
    try:
        n = int(core.get_var(inst, "replica_parallel_workers") or 0)
    except Exception:
        n = 4
    return max(1, n)


@system_table(
    PS,
    "replication_applier_status_by_worker",
    columns=[
        ("CHANNEL_NAME", T),
        ("WORKER_ID", I),
        ("THREAD_ID", I),
        ("SERVICE_STATE", T),
        ("LAST_ERROR_NUMBER", I),
        ("LAST_ERROR_MESSAGE", T),
        ("LAST_ERROR_TIMESTAMP", TS),
        ("LAST_APPLIED_TRANSACTION", T),
        ("LAST_APPLIED_TRANSACTION_ORIGINAL_COMMIT_TIMESTAMP", TS),
        ("LAST_APPLIED_TRANSACTION_IMMEDIATE_COMMIT_TIMESTAMP", TS),
        ("LAST_APPLIED_TRANSACTION_START_APPLY_TIMESTAMP", TS),
        ("LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP", TS),
        ("APPLYING_TRANSACTION", T),
        ("APPLYING_TRANSACTION_ORIGINAL_COMMIT_TIMESTAMP", TS),
        ("APPLYING_TRANSACTION_IMMEDIATE_COMMIT_TIMESTAMP", TS),
        ("APPLYING_TRANSACTION_START_APPLY_TIMESTAMP", TS),
        ("LAST_APPLIED_TRANSACTION_RETRIES_COUNT", I),
        ("LAST_APPLIED_TRANSACTION_LAST_TRANSIENT_ERROR_NUMBER", I),
        ("LAST_APPLIED_TRANSACTION_LAST_TRANSIENT_ERROR_MESSAGE", T),
        ("LAST_APPLIED_TRANSACTION_LAST_TRANSIENT_ERROR_TIMESTAMP", TS),
        ("APPLYING_TRANSACTION_RETRIES_COUNT", I),
        ("APPLYING_TRANSACTION_LAST_TRANSIENT_ERROR_NUMBER", I),
        ("APPLYING_TRANSACTION_LAST_TRANSIENT_ERROR_MESSAGE", T),
        ("APPLYING_TRANSACTION_LAST_TRANSIENT_ERROR_TIMESTAMP", TS),
    ],
)
def applier_by_worker(inst: Instance) -> Iterable[Row]:
    n = _workers(inst)
    for ch in _channels(inst):
        running = ch.applier_state == "ON"
        for wid in range(1, n + 1):
            first = wid == 1
            la = ch.last_applied if first else None
            ap = ch.applying if first and running else None
            err = ch.worker_error if first else None
            yield (
                ch.name,
                wid,
                (ch.worker_thread_id or 0) + wid - 1 if running else None,
                ch.applier_state,
                err.number if err else 0,
                err.message if err else "",
                ts(err.timestamp) if err else ZERO_TS,
                la.gtid if la else "",
                ts(la.original_commit_ts) if la else ZERO_TS,
                ts(la.immediate_commit_ts) if la else ZERO_TS,
                ts(ch.last_applied_start) if la else ZERO_TS,
                ts(ch.last_applied_end) if la else ZERO_TS,
                ap.gtid if ap else "",
                ts(ap.original_commit_ts) if ap else ZERO_TS,
                ts(ap.immediate_commit_ts) if ap else ZERO_TS,
                ts(ch.applying_start) if ap else ZERO_TS,
                0,
                0,
                "",
                ZERO_TS,
                0,
                0,
                "",
                ZERO_TS,
            )


THREAD_COLUMNS = [
    ("THREAD_ID", I),
    ("NAME", T),
    ("TYPE", T),
    ("PROCESSLIST_ID", I),
    ("PROCESSLIST_USER", T),
    ("PROCESSLIST_HOST", T),
    ("PROCESSLIST_DB", T),
    ("PROCESSLIST_COMMAND", T),
    ("PROCESSLIST_TIME", I),
    ("PROCESSLIST_STATE", T),
    ("PROCESSLIST_INFO", T),
    ("PARENT_THREAD_ID", I),
    ("ROLE", T),
    ("INSTRUMENTED", T),
    ("HISTORY", T),
    ("CONNECTION_TYPE", T),
    ("THREAD_OS_ID", I),
    ("RESOURCE_GROUP", T),
]


def thread_rows(inst: Instance) -> list[Row]:
    """Rows of performance_schema.threads for the replication threads (the core adds the client sessions)."""
    rows: list[Row] = []
    for ch in _channels(inst):
        if ch.name == GR_APPLIER:
            continue
        if ch.receiver_state != "OFF" and ch.receiver_thread_id:
            rows.append(_thread(ch.receiver_thread_id, "thread/sql/replica_io", ch.receiver_thread_state))
        if ch.applier_state == "ON" and ch.applier_thread_id:
            rows.append(_thread(ch.applier_thread_id, "thread/sql/replica_sql", ch.applier_thread_state))
            for w in range(_workers(inst)):
                rows.append(
                    _thread(
                        (ch.worker_thread_id or 0) + w,
                        "thread/sql/replica_worker",
                        "Waiting for an event from Coordinator",
                    )
                )
    return rows


def _thread(tid: int, name: str, state: str) -> Row:
    return (
        tid,
        name,
        "FOREGROUND",
        tid,
        "system user",
        None,
        None,
        "Connect",
        0,
        state,
        None,
        None,
        None,
        "YES",
        "YES",
        None,
        tid,
        "SYS_default",
    )


# --- Group Replication --------------------------------------------------------------------------------------


@system_table(
    PS,
    "replication_group_members",
    columns=[
        ("CHANNEL_NAME", T),
        ("MEMBER_ID", T),
        ("MEMBER_HOST", T),
        ("MEMBER_PORT", I),
        ("MEMBER_STATE", T),
        ("MEMBER_ROLE", T),
        ("MEMBER_VERSION", T),
        ("MEMBER_COMMUNICATION_STACK", T),
    ],
)
def group_members(inst: Instance) -> Iterable[Row]:
    # A Performance Schema table of the server itself (RM "The replication_group_members Table"): it exists
    # whether or not the plugin is installed, and has no rows until the plugin is.
    from mysqlsim.replication import group

    return group.members_rows(inst) if core.plugin_active(inst, "group_replication") else []


@system_table(
    PS,
    "replication_group_member_stats",
    columns=[
        ("CHANNEL_NAME", T),
        ("VIEW_ID", T),
        ("MEMBER_ID", T),
        ("COUNT_TRANSACTIONS_IN_QUEUE", I),
        ("COUNT_TRANSACTIONS_CHECKED", I),
        ("COUNT_CONFLICTS_DETECTED", I),
        ("COUNT_TRANSACTIONS_ROWS_VALIDATING", I),
        ("TRANSACTIONS_COMMITTED_ALL_MEMBERS", T),
        ("LAST_CONFLICT_FREE_TRANSACTION", T),
        ("COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE", I),
        ("COUNT_TRANSACTIONS_REMOTE_APPLIED", I),
        ("COUNT_TRANSACTIONS_LOCAL_PROPOSED", I),
        ("COUNT_TRANSACTIONS_LOCAL_ROLLBACK", I),
    ],
)
def group_member_stats(inst: Instance) -> Iterable[Row]:
    # Server-owned like replication_group_members: present without the plugin, then empty.
    from mysqlsim.replication import group

    return group.stats_rows(inst) if core.plugin_active(inst, "group_replication") else []


@system_table(
    PS,
    "replication_group_member_actions",
    columns=[("NAME", T), ("EVENT", T), ("ENABLED", I), ("TYPE", T), ("PRIORITY", I), ("ERROR_HANDLING", T)],
    plugin="group_replication",
)
def group_member_actions(inst: Instance) -> Iterable[Row]:
    for a in sorted(repl(inst).member_actions.values(), key=lambda a: a.priority):
        yield (a.name, a.event, a.enabled, a.type, a.priority, a.error_handling)


@system_table(
    PS,
    "replication_group_configuration_version",
    columns=[("NAME", T), ("VERSION", I)],
    plugin="group_replication",
)
def group_configuration_version(inst: Instance) -> Iterable[Row]:
    st = repl(inst)
    yield ("replication_group_member_actions", st.member_actions_version)


# --- asynchronous connection failover -----------------------------------------------------------------------


@system_table(
    PS,
    "replication_asynchronous_connection_failover",
    columns=[
        ("CHANNEL_NAME", T),
        ("HOST", T),
        ("PORT", I),
        ("NETWORK_NAMESPACE", T),
        ("WEIGHT", I),
        ("MANAGED_NAME", T),
    ],
)
def async_failover(inst: Instance) -> Iterable[Row]:
    from mysqlsim.replication import failover

    return failover.source_rows(inst)


@system_table(
    PS,
    "replication_asynchronous_connection_failover_managed",
    columns=[("CHANNEL_NAME", T), ("MANAGED_NAME", T), ("MANAGED_TYPE", T), ("CONFIGURATION", "JSON")],
)
def async_failover_managed(inst: Instance) -> Iterable[Row]:
    for m in repl(inst).managed:
        conf = json.dumps({"Primary_weight": m.primary_weight, "Secondary_weight": m.secondary_weight})
        yield (m.channel, m.managed_name, m.managed_type, conf)


# --- clone --------------------------------------------------------------------------------------------------


def _ts3(t: float) -> str | None:
    if not t:
        return None
    return ts(t)[:23]


@system_table(
    PS,
    "clone_status",
    columns=[
        ("ID", I),
        ("PID", I),
        ("STATE", T),
        ("BEGIN_TIME", "TIMESTAMP(3)"),
        ("END_TIME", "TIMESTAMP(3)"),
        ("SOURCE", T),
        ("DESTINATION", T),
        ("ERROR_NO", I),
        ("ERROR_MESSAGE", T),
        ("BINLOG_FILE", T),
        ("BINLOG_POSITION", I),
        ("GTID_EXECUTED", T),
    ],
    plugin="clone",
)
def clone_status(inst: Instance) -> Iterable[Row]:
    run = repl(inst).clone
    if run is None:
        return []
    return [
        (
            run.id,
            run.pid,
            run.state,
            _ts3(run.begin),
            _ts3(run.end),
            run.source,
            run.destination,
            run.error_no,
            run.error_message,
            run.binlog_file,
            run.binlog_position,
            run.gtid_executed,
        )
    ]


@system_table(
    PS,
    "clone_progress",
    columns=[
        ("ID", I),
        ("STAGE", T),
        ("STATE", T),
        ("BEGIN_TIME", "TIMESTAMP(6)"),
        ("END_TIME", "TIMESTAMP(6)"),
        ("THREADS", I),
        ("ESTIMATE", I),
        ("DATA", I),
        ("NETWORK", I),
        ("DATA_SPEED", I),
        ("NETWORK_SPEED", I),
    ],
    plugin="clone",
)
def clone_progress(inst: Instance) -> Iterable[Row]:
    run = repl(inst).clone
    if run is None:
        return []
    from mysqlsim.replication import clone

    clone.refresh_progress(inst)
    return [
        (
            run.id,
            s.name,
            s.state,
            ts(s.begin) if s.begin else None,
            ts(s.end) if s.end else None,
            s.threads,
            s.estimate,
            s.data,
            s.network,
            s.data_speed,
            s.network_speed,
        )
        for s in run.stages
    ]


@status_variable("group_replication_primary_member")
def _gr_primary_member(inst: Instance) -> str:
    """SHOW STATUS LIKE 'group_replication_primary_member' (read by older MySQL Routers)."""
    from mysqlsim.replication import group

    g = group.group_of(inst)
    if g is None or g.primary is None or not core.plugin_active(inst, "group_replication"):
        return ""
    return core.server_uuid(g.primary)
