"""Per-instance replication state: channels, Group Replication membership, clone status.

Kept in ``instance.extensions["repl"]`` so that the core never needs to know its shape; the control API reads
it through :func:`describe`. Timestamps follow performance_schema's TIMESTAMP(6) text form.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mysqlsim.gtid import GtidSet

if TYPE_CHECKING:
    from mysqlsim.instance import Instance

ZERO_TS = "0000-00-00 00:00:00.000000"

#: channel names reserved by Group Replication
GR_APPLIER = "group_replication_applier"
GR_RECOVERY = "group_replication_recovery"
GR_CHANNELS = (GR_APPLIER, GR_RECOVERY)


def ts(t: float | None) -> str:
    """A wall-clock time as performance_schema prints TIMESTAMP(6)."""
    if not t:
        return ZERO_TS
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def ts_local(t: float | None) -> str:
    """A wall-clock time in the server's time zone (the simulator runs in UTC)."""
    return ts(t)


@dataclass
class ChannelConfig:
    """The connection and applier configuration of a channel (replication_connection_configuration)."""

    host: str = ""
    port: int = 3306
    user: str = ""
    password: str = ""
    network_interface: str = ""
    auto_position: int = 0
    ssl: int = 0
    ssl_ca: str = ""
    ssl_capath: str = ""
    ssl_cert: str = ""
    ssl_key: str = ""
    ssl_crl: str = ""
    ssl_crlpath: str = ""
    ssl_cipher: str = ""
    ssl_verify_server_cert: int = 0
    tls_version: str = ""
    tls_ciphersuites: str | None = None
    public_key_path: str = ""
    get_public_key: int = 0
    connect_retry: int = 60
    retry_count: int = 10
    heartbeat_period: float = 30.0
    auto_failover: int = 0
    delay: int = 0
    compression_algorithms: str = "uncompressed"
    zstd_compression_level: int = 3
    network_namespace: str = ""
    privilege_checks_user: str | None = None
    require_row_format: int = 0
    require_table_primary_key_check: str = "STREAM"
    assign_gtids_to_anonymous_transactions: str = "OFF"
    ignore_server_ids: tuple[int, ...] = ()
    gtid_only: int = 0
    source_log_file: str = ""
    source_log_pos: int = 4


@dataclass
class RelayTxn:
    """A transaction received by a channel and waiting in its relay log."""

    gtid: str
    txn: Any
    original_commit_ts: float
    immediate_commit_ts: float
    received_at: float


@dataclass
class ThreadError:
    number: int = 0
    message: str = ""
    timestamp: float = 0.0

    def set(self, number: int, message: str) -> None:
        self.number, self.message, self.timestamp = number, message, time.time()

    def clear(self) -> None:
        self.number, self.message, self.timestamp = 0, "", 0.0


@dataclass
class Channel:
    """One replication channel: its configuration, receiver (IO) and applier (SQL) thread state."""

    name: str
    config: ChannelConfig = field(default_factory=ChannelConfig)
    receiver_state: str = "OFF"  # ON | OFF | CONNECTING
    applier_state: str = "OFF"  # ON | OFF
    receiver_thread_id: int | None = None
    applier_thread_id: int | None = None
    worker_thread_id: int | None = None
    source_uuid: str = ""
    group_name: str = ""
    received: GtidSet = field(default_factory=GtidSet)
    relay: deque[RelayTxn] = field(default_factory=deque)
    io_error: ThreadError = field(default_factory=ThreadError)
    sql_error: ThreadError = field(default_factory=ThreadError)
    worker_error: ThreadError = field(default_factory=ThreadError)
    last_heartbeat: float = 0.0
    heartbeats: int = 0
    last_queued: RelayTxn | None = None
    last_queued_start: float = 0.0
    last_queued_end: float = 0.0
    last_applied: RelayTxn | None = None
    last_applied_start: float = 0.0
    last_applied_end: float = 0.0
    applying: RelayTxn | None = None
    applying_start: float = 0.0
    io_task: asyncio.Task[None] | None = None
    sql_task: asyncio.Task[None] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    #: START REPLICA ... USER=/PASSWORD= (and START GROUP_REPLICATION USER=) credentials, never stored
    session_user: str | None = None
    session_password: str | None = None
    #: failover: the source currently used when SOURCE_CONNECTION_AUTO_FAILOVER=1
    connect_attempts: int = 0
    #: the receiver state text shown in performance_schema.threads.PROCESSLIST_STATE
    receiver_thread_state: str = ""
    applier_thread_state: str = ""

    @property
    def is_gr(self) -> bool:
        return self.name in GR_CHANNELS


@dataclass
class FailoverSource:
    channel: str
    host: str
    port: int
    network_namespace: str
    weight: int
    managed_name: str = ""


@dataclass
class ManagedSource:
    channel: str
    managed_name: str
    managed_type: str
    primary_weight: int
    secondary_weight: int
    #: the seed member given to add_managed (host, port)
    host: str = ""
    port: int = 0


@dataclass
class MemberAction:
    name: str
    event: str = "AFTER_PRIMARY_ELECTION"
    enabled: int = 1
    type: str = "INTERNAL"
    priority: int = 1
    error_handling: str = "IGNORE"


def default_member_actions() -> dict[str, MemberAction]:
    """The two actions and their defaults (group-replication-member-actions.html)."""
    return {
        "mysql_disable_super_read_only_if_primary": MemberAction(
            "mysql_disable_super_read_only_if_primary", priority=1, error_handling="IGNORE"
        ),
        "mysql_start_failover_channels_if_primary": MemberAction(
            "mysql_start_failover_channels_if_primary", priority=10, error_handling="CRITICAL"
        ),
    }


@dataclass
class CloneStage:
    name: str
    state: str = "Not Started"
    begin: float = 0.0
    end: float = 0.0
    threads: int = 0
    estimate: int = 0
    data: int = 0
    network: int = 0
    data_speed: int = 0
    network_speed: int = 0


CLONE_STAGES = ("DROP DATA", "FILE COPY", "PAGE COPY", "REDO COPY", "FILE SYNC", "RESTART", "RECOVERY")


@dataclass
class CloneRun:
    """clone_status (one row) and clone_progress (seven rows) of the last clone on a recipient."""

    id: int = 1
    pid: int = 0
    state: str = "Not Started"
    begin: float = 0.0
    end: float = 0.0
    source: str = ""
    destination: str = "LOCAL INSTANCE"
    error_no: int = 0
    error_message: str = ""
    binlog_file: str = ""
    binlog_position: int = 0
    gtid_executed: str = ""
    stages: list[CloneStage] = field(default_factory=lambda: [CloneStage(n) for n in CLONE_STAGES])


@dataclass
class ReplState:
    """Everything mysqlsim.replication keeps about one instance."""

    channels: dict[str, Channel] = field(default_factory=dict)
    failover_sources: list[FailoverSource] = field(default_factory=list)
    managed: list[ManagedSource] = field(default_factory=list)
    member_actions: dict[str, MemberAction] = field(default_factory=default_member_actions)
    member_actions_version: int = 1
    clone: CloneRun | None = None
    clone_count: int = 0
    clone_task: asyncio.Task[None] | None = None
    #: Group Replication membership of this instance (None when not in a group)
    gr: Any = None
    #: the GR state shown for this instance after it left or failed: OFFLINE | ERROR
    gr_local_state: str = "OFFLINE"
    gr_error: str = ""
    next_thread_id: int = 1000


def repl(instance: Instance) -> ReplState:
    """This instance's replication state (created on first use)."""
    ext: dict[str, Any] = instance.extensions
    st = ext.get("repl")
    if st is None:
        st = ReplState()
        ext["repl"] = st
    assert isinstance(st, ReplState)
    return st


def new_thread_id(instance: Instance) -> int:
    st = repl(instance)
    st.next_thread_id += 1
    return st.next_thread_id


def describe(instance: Instance) -> dict[str, Any]:
    """The replication part of the control API's instance_state: channels, gr_state, clone_count."""
    st = repl(instance)
    from mysqlsim.replication import group

    chans: dict[str, Any] = {}
    for name, ch in st.channels.items():
        chans[name] = {
            "source": f"{ch.config.host}:{ch.config.port}",
            "source_uuid": ch.source_uuid,
            "receiver": ch.receiver_state,
            "applier": ch.applier_state,
            "received_transaction_set": str(ch.received),
            "io_error": [ch.io_error.number, ch.io_error.message],
            "sql_error": [
                ch.worker_error.number or ch.sql_error.number,
                ch.worker_error.message or ch.sql_error.message,
            ],
            "auto_failover": ch.config.auto_failover,
        }
    gr_state = group.member_state(instance) or "OFFLINE"
    return {"gr_state": gr_state, "channels": chans, "clone_count": st.clone_count}
