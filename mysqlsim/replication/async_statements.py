"""CHANGE REPLICATION SOURCE TO, START/STOP/RESET REPLICA and SHOW REPLICA STATUS.

Statement semantics from the MySQL 8.0/8.4 Reference Manual (15.4.2 "SQL Statements for Controlling Replica
Servers"): which options need which thread stopped, what RESET REPLICA [ALL] keeps, the Group Replication
channels' restrictions, and the errors (1064, 1200, 3021, 3074, 3080, 3084, 3139).
"""

from __future__ import annotations

import re
from typing import Any

from mysqlsim.errors import MySQLError
from mysqlsim.gtid import GtidSet
from mysqlsim.registry import Result, StatementContext, statement
from mysqlsim.replication import channels, core
from mysqlsim.replication import errors as rerr
from mysqlsim.replication.sqlparse import parse_change_source, parse_replica_command
from mysqlsim.replication.state import GR_APPLIER, GR_CHANNELS, GR_RECOVERY, Channel, ChannelConfig, repl, ts

ADMIN = ("REPLICATION_SLAVE_ADMIN", "SUPER")

#: CHANGE options that configure the receiver (need the IO thread stopped)
_RECEIVER_OPTS = {
    "SOURCE_BIND",
    "SOURCE_HOST",
    "SOURCE_USER",
    "SOURCE_PASSWORD",
    "SOURCE_PORT",
    "SOURCE_LOG_FILE",
    "SOURCE_LOG_POS",
    "SOURCE_HEARTBEAT_PERIOD",
    "SOURCE_CONNECT_RETRY",
    "SOURCE_RETRY_COUNT",
    "SOURCE_CONNECTION_AUTO_FAILOVER",
    "SOURCE_COMPRESSION_ALGORITHMS",
    "SOURCE_ZSTD_COMPRESSION_LEVEL",
    "SOURCE_SSL",
    "SOURCE_SSL_CA",
    "SOURCE_SSL_CAPATH",
    "SOURCE_SSL_CERT",
    "SOURCE_SSL_CRL",
    "SOURCE_SSL_CRLPATH",
    "SOURCE_SSL_KEY",
    "SOURCE_SSL_CIPHER",
    "SOURCE_SSL_VERIFY_SERVER_CERT",
    "SOURCE_TLS_VERSION",
    "SOURCE_TLS_CIPHERSUITES",
    "SOURCE_PUBLIC_KEY_PATH",
    "GET_SOURCE_PUBLIC_KEY",
    "NETWORK_NAMESPACE",
    "IGNORE_SERVER_IDS",
}
#: options that need both threads stopped
_BOTH_OPTS = {"SOURCE_AUTO_POSITION", "GTID_ONLY", "ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS"}
#: what may be changed on group_replication_recovery
_GR_RECOVERY_OPTS = {
    "SOURCE_USER",
    "SOURCE_PASSWORD",
    "PRIVILEGE_CHECKS_USER",
    "REQUIRE_ROW_FORMAT",
    "REQUIRE_TABLE_PRIMARY_KEY_CHECK",
}
#: what may be changed on group_replication_applier
_GR_APPLIER_OPTS = {"PRIVILEGE_CHECKS_USER", "REQUIRE_ROW_FORMAT", "REQUIRE_TABLE_PRIMARY_KEY_CHECK"}

_FIELD = {
    "SOURCE_BIND": "network_interface",
    "SOURCE_HOST": "host",
    "SOURCE_USER": "user",
    "SOURCE_PASSWORD": "password",
    "SOURCE_PORT": "port",
    "PRIVILEGE_CHECKS_USER": "privilege_checks_user",
    "REQUIRE_ROW_FORMAT": "require_row_format",
    "REQUIRE_TABLE_PRIMARY_KEY_CHECK": "require_table_primary_key_check",
    "ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS": "assign_gtids_to_anonymous_transactions",
    "SOURCE_LOG_FILE": "source_log_file",
    "SOURCE_LOG_POS": "source_log_pos",
    "SOURCE_AUTO_POSITION": "auto_position",
    "SOURCE_HEARTBEAT_PERIOD": "heartbeat_period",
    "SOURCE_CONNECT_RETRY": "connect_retry",
    "SOURCE_RETRY_COUNT": "retry_count",
    "SOURCE_CONNECTION_AUTO_FAILOVER": "auto_failover",
    "SOURCE_DELAY": "delay",
    "SOURCE_COMPRESSION_ALGORITHMS": "compression_algorithms",
    "SOURCE_ZSTD_COMPRESSION_LEVEL": "zstd_compression_level",
    "SOURCE_SSL": "ssl",
    "SOURCE_SSL_CA": "ssl_ca",
    "SOURCE_SSL_CAPATH": "ssl_capath",
    "SOURCE_SSL_CERT": "ssl_cert",
    "SOURCE_SSL_CRL": "ssl_crl",
    "SOURCE_SSL_CRLPATH": "ssl_crlpath",
    "SOURCE_SSL_KEY": "ssl_key",
    "SOURCE_SSL_CIPHER": "ssl_cipher",
    "SOURCE_SSL_VERIFY_SERVER_CERT": "ssl_verify_server_cert",
    "SOURCE_TLS_VERSION": "tls_version",
    "SOURCE_TLS_CIPHERSUITES": "tls_ciphersuites",
    "SOURCE_PUBLIC_KEY_PATH": "public_key_path",
    "GET_SOURCE_PUBLIC_KEY": "get_public_key",
    "NETWORK_NAMESPACE": "network_namespace",
    "IGNORE_SERVER_IDS": "ignore_server_ids",
    "GTID_ONLY": "gtid_only",
}

_COMPRESSION = {"zlib", "zstd", "uncompressed"}


def _validate(opts: dict[str, Any]) -> None:
    algos = opts.get("SOURCE_COMPRESSION_ALGORITHMS")
    if isinstance(algos, str):
        parts = [a.strip().lower() for a in algos.split(",")]
        if not parts or len(parts) > 3 or any(p not in _COMPRESSION for p in parts):
            raise rerr.wrong_value("compression algorithm", algos)
    lvl = opts.get("SOURCE_ZSTD_COMPRESSION_LEVEL")
    if isinstance(lvl, int) and not 1 <= lvl <= 22:
        raise rerr.wrong_value("zstd compression level", str(lvl))
    port = opts.get("SOURCE_PORT")
    if isinstance(port, int) and not 0 <= port <= 65535:
        raise rerr.parse_error(str(port))
    hb = opts.get("SOURCE_HEARTBEAT_PERIOD")
    if isinstance(hb, (int, float)) and not 0 <= hb <= 4294967:
        raise rerr.wrong_value("SOURCE_HEARTBEAT_PERIOD", str(hb))
    delay = opts.get("SOURCE_DELAY")
    if isinstance(delay, int) and delay > 2**31 - 1:
        raise rerr.wrong_value("SOURCE_DELAY", str(delay))


def change_source(ctx: StatementContext, sql: str) -> Result:
    inst = ctx.instance
    cs = parse_change_source(sql, version=core.version_of(inst))
    _validate(cs.options)
    st = repl(inst)
    name = cs.channel
    keys = set(cs.options)
    if name == GR_APPLIER and not keys <= _GR_APPLIER_OPTS:
        raise rerr.channel_operation_not_allowed(
            f"CHANGE REPLICATION SOURCE with the given parameters cannot be performed on channel '{name}'."
        )
    if name == GR_RECOVERY and not keys <= _GR_RECOVERY_OPTS:
        raise rerr.channel_operation_not_allowed(
            f"CHANGE REPLICATION SOURCE with the given parameters cannot be performed on channel '{name}'."
        )
    ch = st.channels.get(name)
    if ch is not None:
        io_on = ch.io_task is not None
        sql_on = ch.sql_task is not None
        if keys & _BOTH_OPTS and (io_on or sql_on):
            raise rerr.replica_channel_must_stop(name)
        if keys & _RECEIVER_OPTS and io_on:
            raise rerr.replica_must_stop_io(name)
        if keys - _RECEIVER_OPTS - _BOTH_OPTS and sql_on:
            raise rerr.replica_must_stop_sql(name)
    cfg = ch.config if ch is not None else ChannelConfig(retry_count=_default_retry_count(inst))
    new = ChannelConfig(**vars(cfg))
    for k, v in cs.options.items():
        if k == "SOURCE_HEARTBEAT_PERIOD":
            new.heartbeat_period = float(v)  # type: ignore[arg-type]
        elif k == "SOURCE_TLS_CIPHERSUITES":
            new.tls_ciphersuites = v  # type: ignore[assignment]
        elif k == "IGNORE_SERVER_IDS":
            new.ignore_server_ids = v  # type: ignore[assignment]
        else:
            setattr(new, _FIELD[k], v)
    if "SOURCE_HOST" in keys and "SOURCE_PORT" not in keys and ch is None:
        new.port = 3306
    if new.auto_failover and not new.auto_position:
        raise rerr.auto_failover_needs_auto_position(name)
    if (
        "SOURCE_AUTO_POSITION" in keys
        and new.auto_position
        and str(core.get_var(inst, "gtid_mode")).upper() == "OFF"
    ):
        raise rerr.auto_position_requires_gtid_mode()
    if ch is None:
        ch = Channel(name=name, config=new)
        st.channels[name] = ch
    else:
        ch.config = new
        # A new source (or position mode) discards the relay log when both threads are stopped; with
        # auto-positioning the receiver asks again for whatever was not applied.
        if keys & {
            "SOURCE_HOST",
            "SOURCE_PORT",
            "SOURCE_AUTO_POSITION",
            "SOURCE_LOG_FILE",
            "SOURCE_LOG_POS",
        } and (ch.io_task is None and ch.sql_task is None):
            ch.relay.clear()
            ch.received = GtidSet()
    from mysqlsim.replication import group

    group.channel_configured(inst, ch)
    return Result.ok()


def _default_retry_count(inst: Any) -> int:
    """SOURCE_RETRY_COUNT default: 86400 in 8.0, 10 from 8.0.? docs for 8.4 (both documented per version)."""
    return 10 if core.version_of(inst).startswith("8.4") else 86400


@statement(r"^\s*CHANGE\s+(?:REPLICATION\s+SOURCE|MASTER)\s+TO\b", privilege=ADMIN, implicit_commit=True)
async def change_replication_source(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    return change_source(ctx, sql)


def _targets(ctx: StatementContext, channel: str | None, verb: str) -> list[Channel]:
    st = repl(ctx.instance)
    if channel is None:
        chans = [c for c in st.channels.values() if not c.is_gr]
        if not chans and verb == "START":
            raise rerr.replica_not_configured()
        return chans
    if channel in GR_CHANNELS and verb in ("START", "STOP"):
        raise rerr.channel_operation_not_allowed(
            f"{verb} REPLICA cannot be performed on channel '{channel}'."
        )
    ch = st.channels.get(channel)
    if ch is None:
        if channel == "" and verb == "START":
            raise rerr.replica_not_configured()
        if channel == "" and verb in ("STOP", "RESET"):
            return []
        raise rerr.channel_does_not_exist(channel)
    return [ch]


@statement(r"^\s*START\s+(?:REPLICA|SLAVE)\b", privilege=ADMIN, implicit_commit=True)
async def start_replica(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    cmd = parse_replica_command(sql, version=core.version_of(ctx.instance))
    chans = _targets(ctx, cmd.channel, "START")
    for ch in chans:
        if cmd.io_thread and not ch.config.host:
            raise rerr.replica_not_configured()
    for ch in chans:
        if cmd.user is not None:
            ch.session_user, ch.session_password = cmd.user, cmd.password or ""
        channels.start_threads(ctx.instance, ch, io=cmd.io_thread, sql=cmd.sql_thread)
    return Result.ok()


@statement(r"^\s*STOP\s+(?:REPLICA|SLAVE)\b", privilege=ADMIN, implicit_commit=True)
async def stop_replica(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    cmd = parse_replica_command(sql, version=core.version_of(ctx.instance))
    for ch in _targets(ctx, cmd.channel, "STOP"):
        await channels.stop_threads(ch, io=cmd.io_thread, sql=cmd.sql_thread)
        ch.session_user = ch.session_password = None
    return Result.ok()


@statement(r"^\s*RESET\s+(?:REPLICA|SLAVE)\b", privilege=ADMIN, implicit_commit=True)
async def reset_replica(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    from mysqlsim.replication import group

    cmd = parse_replica_command(sql, version=core.version_of(ctx.instance))
    st = repl(ctx.instance)
    gr_running = group.member_state(ctx.instance) not in ("OFFLINE", "")
    if cmd.channel is not None:
        targets = _targets(ctx, cmd.channel, "RESET")
    else:
        targets = [c for c in st.channels.values() if not (c.is_gr and gr_running)]
    for ch in targets:
        if ch.is_gr and gr_running:
            raise rerr.channel_operation_not_allowed(
                f"RESET REPLICA{' ALL' if cmd.all else ''} cannot be performed on channel '{ch.name}'."
            )
        if ch.io_task is not None or ch.sql_task is not None:
            if cmd.channel is None:
                raise MySQLError(
                    1198,
                    "HY000",
                    "This operation cannot be performed with a running replica; run STOP REPLICA first",
                )
            raise rerr.replica_channel_must_stop(ch.name)
    for ch in targets:
        channels.reset_channel(ch)
        if cmd.all:
            st.channels.pop(ch.name, None)
            from mysqlsim.replication import failover

            failover.forget_channel(ctx.instance, ch.name)
    return Result.ok()


# --- SHOW REPLICA STATUS ------------------------------------------------------------------------------------

SHOW_COLUMNS = [
    "Replica_IO_State",
    "Source_Host",
    "Source_User",
    "Source_Port",
    "Connect_Retry",
    "Source_Log_File",
    "Read_Source_Log_Pos",
    "Relay_Log_File",
    "Relay_Log_Pos",
    "Relay_Source_Log_File",
    "Replica_IO_Running",
    "Replica_SQL_Running",
    "Replicate_Do_DB",
    "Replicate_Ignore_DB",
    "Replicate_Do_Table",
    "Replicate_Ignore_Table",
    "Replicate_Wild_Do_Table",
    "Replicate_Wild_Ignore_Table",
    "Last_Errno",
    "Last_Error",
    "Skip_Counter",
    "Exec_Source_Log_Pos",
    "Relay_Log_Space",
    "Until_Condition",
    "Until_Log_File",
    "Until_Log_Pos",
    "Source_SSL_Allowed",
    "Source_SSL_CA_File",
    "Source_SSL_CA_Path",
    "Source_SSL_Cert",
    "Source_SSL_Cipher",
    "Source_SSL_Key",
    "Seconds_Behind_Source",
    "Source_SSL_Verify_Server_Cert",
    "Last_IO_Errno",
    "Last_IO_Error",
    "Last_SQL_Errno",
    "Last_SQL_Error",
    "Replicate_Ignore_Server_Ids",
    "Source_Server_Id",
    "Source_UUID",
    "Source_Info_File",
    "SQL_Delay",
    "SQL_Remaining_Delay",
    "Replica_SQL_Running_State",
    "Source_Retry_Count",
    "Source_Bind",
    "Last_IO_Error_Timestamp",
    "Last_SQL_Error_Timestamp",
    "Source_SSL_Crl",
    "Source_SSL_Crlpath",
    "Retrieved_Gtid_Set",
    "Executed_Gtid_Set",
    "Auto_Position",
    "Replicate_Rewrite_DB",
    "Channel_Name",
    "Source_TLS_Version",
    "Source_public_key_path",
    "Get_Source_public_key",
    "Network_Namespace",
]


def _legacy(col: str) -> str:
    return (
        col.replace("Replica", "Slave")
        .replace("Source", "Master")
        .replace("source", "master")
        .replace("Seconds_Behind_Master", "Seconds_Behind_Master")
    )


def _yes_no(state: str) -> str:
    return {"ON": "Yes", "CONNECTING": "Connecting"}.get(state, "No")


def _short_ts(t: float) -> str:
    if not t:
        return ""
    s = ts(t)
    return s[2:4] + s[5:7] + s[8:10] + " " + s[11:19]


def show_rows(inst: Any, channel: str | None) -> list[tuple[Any, ...]]:
    st = repl(inst)
    chans = [c for c in st.channels.values() if c.name != GR_APPLIER]
    if channel is not None:
        if channel not in st.channels:
            raise rerr.channel_does_not_exist(channel)
        chans = [st.channels[channel]]
    executed = core.gtid_executed(inst).format(",\n")
    rows = []
    for ch in chans:
        c = ch.config
        lag: Any = None
        if ch.receiver_state == "ON" and ch.applier_state == "ON":
            lag = 0
            if ch.relay:
                import time

                lag = max(0, int(time.time() - ch.relay[0].original_commit_ts))
        err_sql = ch.sql_error
        src_server_id = 0
        if ch.source_uuid:
            for other in core.instances(core.world_of(inst)):
                if core.server_uuid(other) == ch.source_uuid:
                    src_server_id = core.server_id(other)
        row = (
            ch.receiver_thread_state if ch.receiver_state != "OFF" else "",
            c.host,
            c.user,
            c.port,
            c.connect_retry,
            "binlog.000001" if ch.received else "",
            4,
            f"relay-log-{ch.name or 'default'}.000001",
            4,
            "binlog.000001" if ch.received else "",
            _yes_no(ch.receiver_state),
            "Yes" if ch.applier_state == "ON" else "No",
            "",
            "",
            "",
            "",
            "",
            "",
            err_sql.number,
            err_sql.message,
            0,
            4,
            0,
            "None",
            "",
            0,
            "Yes" if c.ssl else "No",
            c.ssl_ca,
            c.ssl_capath,
            c.ssl_cert,
            c.ssl_cipher,
            c.ssl_key,
            lag,
            "Yes" if c.ssl_verify_server_cert else "No",
            ch.io_error.number,
            ch.io_error.message,
            err_sql.number,
            err_sql.message,
            ",".join(str(i) for i in c.ignore_server_ids),
            src_server_id,
            ch.source_uuid,
            "mysql.slave_master_info",
            c.delay,
            None,
            ch.applier_thread_state if ch.applier_state == "ON" else "",
            c.retry_count,
            c.network_interface,
            _short_ts(ch.io_error.timestamp),
            _short_ts(err_sql.timestamp),
            c.ssl_crl,
            c.ssl_crlpath,
            ch.received.format(",\n"),
            executed,
            c.auto_position,
            "",
            ch.name,
            c.tls_version,
            c.public_key_path,
            c.get_public_key,
            c.network_namespace,
        )
        rows.append(row)
    return rows


@statement(
    r"^\s*SHOW\s+(?:REPLICA|SLAVE)\s+STATUS\b",
    privilege=("REPLICATION CLIENT", "REPLICATION_SLAVE_ADMIN", "SUPER"),
)
async def show_replica_status(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    from mysqlsim.replication.sqlparse import Cursor, strip_comments, version_number

    version = core.version_of(ctx.instance)
    cur = Cursor(strip_comments(sql, version=version))
    cur.expect_word("SHOW")
    legacy = False
    if not cur.word("REPLICA"):
        if version_number(version) >= 80400:
            raise cur.error()
        cur.expect_word("SLAVE")
        legacy = True
    cur.expect_word("STATUS")
    channel: str | None = None
    if cur.word("FOR"):
        cur.expect_word("CHANNEL")
        channel = cur.string()
    cur.end()
    cols = [_legacy(c) for c in SHOW_COLUMNS] if legacy else list(SHOW_COLUMNS)
    return Result(columns=cols, rows=show_rows(ctx.instance, channel))
