"""The replication, Group Replication and clone errors of the MySQL 8.0/8.4 error reference.

Kept here (built on :class:`mysqlsim.errors.MySQLError`) so that every refusal of a replication statement
carries the number, SQLSTATE and text a real server sends.
"""

from __future__ import annotations

from mysqlsim.errors import MySQLError, specific_access_denied, syntax_error


def parse_error(near: str) -> MySQLError:
    """ER_PARSE_ERROR 1064."""
    return syntax_error(near)


def access_denied_for(privileges: str) -> MySQLError:
    """ER_SPECIFIC_ACCESS_DENIED_ERROR 1227."""
    return specific_access_denied(privileges)


def channel_does_not_exist(channel: str) -> MySQLError:
    """ER_REPLICA_CHANNEL_DOES_NOT_EXIST 3074 (8.0.26+ text: "Replica channel '%s' does not exist.")."""
    return MySQLError(3074, "HY000", f"Replica channel '{channel}' does not exist.")


def replica_not_configured() -> MySQLError:
    """ER_BAD_REPLICA 1200."""
    return MySQLError(
        1200,
        "HY000",
        "The server is not configured as replica; fix in config file or with CHANGE REPLICATION SOURCE TO",
    )


def replica_must_stop_io(channel: str) -> MySQLError:
    """ER_REPLICA_CHANNEL_IO_THREAD_MUST_STOP 3021 (changing receiver options while the receiver runs)."""
    return MySQLError(
        3021,
        "HY000",
        "This operation cannot be performed with a running replica io thread; "
        f"run STOP REPLICA IO_THREAD FOR CHANNEL '{channel}' first.",
    )


def replica_must_stop_sql(channel: str) -> MySQLError:
    """ER_REPLICA_CHANNEL_SQL_THREAD_MUST_STOP 3084."""
    return MySQLError(
        3084,
        "HY000",
        "This operation cannot be performed with a running replica sql thread; "
        f"run STOP REPLICA SQL_THREAD FOR CHANNEL '{channel}' first.",
    )


def replica_channel_must_stop(channel: str) -> MySQLError:
    """ER_REPLICA_CHANNEL_MUST_STOP 3080."""
    return MySQLError(
        3080,
        "HY000",
        "This operation cannot be performed with a running replica channel; "
        f"run STOP REPLICA FOR CHANNEL '{channel}' first.",
    )


def channel_operation_not_allowed(message: str) -> MySQLError:
    """ER_REPLICA_CHANNEL_OPERATION_NOT_ALLOWED 3139."""
    return MySQLError(3139, "HY000", message)


def auto_position_requires_gtid_mode() -> MySQLError:
    """ER_AUTO_POSITION_REQUIRES_GTID_MODE_NOT_OFF 1777."""
    return MySQLError(
        1777,
        "HY000",
        "CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION = 1 cannot be executed because @@GLOBAL.GTID_MODE "
        "= OFF.",
    )


def auto_failover_needs_auto_position(channel: str) -> MySQLError:
    """ER_RPL_ASYNC_RECONNECT_AUTO_POSITION_OFF 3991: AUTO_FAILOVER=1 needs auto-position."""
    del channel
    return MySQLError(
        3991,
        "HY000",
        "Failed to enable Asynchronous Replication Connection Failover feature. The CHANGE REPLICATION "
        "SOURCE TO SOURCE_AUTO_POSITION = 1 option must be enabled.",
    )


def wrong_value(option: str, value: str) -> MySQLError:
    """ER_WRONG_VALUE 1525."""
    return MySQLError(1525, "HY000", f"Incorrect {option} value: '{value}'")


def source_fatal_reading_binlog(detail: str) -> MySQLError:
    """ER_SERVER_SOURCE_FATAL_ERROR_READING_BINLOG 13114: the receiver error shown for source error 1236."""
    return MySQLError(
        13114, "HY000", f"Got fatal error 1236 from source when reading data from binary log: '{detail}'"
    )


def connect_error(user: str, host: str, port: int, retry: int, retries: int, message: str) -> str:
    """The receiver's LAST_ERROR_MESSAGE for a failed connection (with the client error)."""
    return (
        f"Error connecting to source '{user}@{host}:{port}'. This was attempt {retries}/{retry}, with a "
        "delay of "
        f"{{delay}} seconds between attempts. Message: {message}"
    )


# --- Group Replication --------------------------------------------------------------------------------------


def gr_start_failed() -> MySQLError:
    """ER_GROUP_REPLICATION_CONFIGURATION 3092."""
    return MySQLError(
        3092,
        "HY000",
        "The server is not configured properly to be an active member of the group. Please see more details "
        "on error log.",
    )


def gr_run_error() -> MySQLError:
    """ER_GROUP_REPLICATION_RUNNING 3093."""
    return MySQLError(
        3093, "HY000", "The START GROUP_REPLICATION command failed since the group is already running."
    )


def gr_applier_init() -> MySQLError:
    """ER_GROUP_REPLICATION_APPLIER_INIT_ERROR 3094."""
    return MySQLError(
        3094, "HY000", "The START GROUP_REPLICATION command failed as the applier module failed to start."
    )


def gr_communication_error() -> MySQLError:
    """ER_GROUP_REPLICATION_COMMUNICATION_LAYER_SESSION_ERROR 3096."""
    return MySQLError(
        3096,
        "HY000",
        "The START GROUP_REPLICATION command failed as there was an error when initializing the group "
        "communication layer.",
    )


def gr_not_running_for(fn: str, reason: str) -> MySQLError:
    """ER_GRP_RPL_UDF_ERROR 3910: a Group Replication function failed."""
    return MySQLError(3910, "HY000", f"The function '{fn}' failed. {reason}")


def gr_udf_error(fn: str, reason: str) -> MySQLError:
    """ER_GRP_RPL_UDF_ERROR 3910."""
    return MySQLError(3910, "HY000", f"The function '{fn}' failed. {reason}")


def gr_user_password_mandatory() -> MySQLError:
    """ER_GROUP_REPLICATION_USER_MANDATORY_MSG 3951-ish: PASSWORD given without USER."""
    return MySQLError(3943, "HY000", "The USER option is mandatory when you specify PASSWORD.")


def gr_transaction_rollback_no_quorum() -> MySQLError:
    """ER_RUN_HOOK_ERROR 3100 when a commit cannot be certified (the member left the group)."""
    return MySQLError(3100, "HY000", "Error on observer while running replication hook 'before_commit'.")


def gr_channel_forbidden(channel: str, command: str) -> MySQLError:
    """ER_REPLICA_CHANNEL_OPERATION_NOT_ALLOWED 3139 for GR channels."""
    return MySQLError(
        3139,
        "HY000",
        f"{command} cannot be performed on channel '{channel}'.",
    )


# --- clone --------------------------------------------------------------------------------------------------


def clone_donor(code: int, message: str) -> MySQLError:
    """ER_CLONE_DONOR 3862: an error raised on the donor."""
    return MySQLError(3862, "HY000", f"Clone Donor Error: {code} : {message}.")


def clone_donor_connect(code: int, message: str) -> MySQLError:
    """ER_CLONE_DONOR 3862 for a failed connection to the donor ("Connect failed: 1045 : ...")."""
    return MySQLError(3862, "HY000", f"Clone Donor Error: Connect failed: {code} : {message}")


def clone_sys_config(message: str) -> MySQLError:
    """ER_CLONE_SYS_CONFIG 3869."""
    return MySQLError(3869, "HY000", f"Clone system configuration: {message}")


def clone_donor_version(donor: str, recipient: str) -> MySQLError:
    """ER_CLONE_DONOR_VERSION 3864."""
    return MySQLError(
        3864,
        "HY000",
        f"Clone Donor MySQL version: {donor} is different from Recipient MySQL version {recipient}.",
    )


def clone_os(donor: str, recipient: str) -> MySQLError:
    """ER_CLONE_OS 3865."""
    return MySQLError(3865, "HY000", f"Clone Donor OS: {donor} is different from Recipient OS: {recipient}.")


def clone_platform(donor: str, recipient: str) -> MySQLError:
    """ER_CLONE_PLATFORM 3866."""
    return MySQLError(
        3866, "HY000", f"Clone Donor platform: {donor} is different from Recipient platform: {recipient}."
    )


def clone_plugin_match(plugin: str) -> MySQLError:
    """ER_CLONE_PLUGIN_MATCH 3870."""
    return MySQLError(3870, "HY000", f"Clone Donor plugin {plugin} is not active in Recipient.")


def clone_loopback() -> MySQLError:
    """ER_CLONE_LOOPBACK 3871."""
    return MySQLError(
        3871, "HY000", "Clone cannot use loop back connection while cloning into current data directory."
    )


def clone_too_many() -> MySQLError:
    """ER_CLONE_TOO_MANY_CONCURRENT_CLONES 3634."""
    return MySQLError(3634, "HY000", "Too many concurrent clone operations. Maximum allowed - 1.")


def clone_disallowed(reason: str) -> MySQLError:
    """ER_CLONE_DISALLOWED 3875."""
    return MySQLError(3875, "HY000", f"The clone operation cannot be executed when {reason}.")


def cant_connect(host: str, port: int, errno: int = 111) -> MySQLError:
    """CR_CONN_HOST_ERROR 2003 as the clone plugin reports an unreachable donor."""
    return MySQLError(2003, "HY000", f"Can't connect to MySQL server on '{host}:{port}' ({errno})")


def ssl_connection_error(detail: str) -> MySQLError:
    """CR_SSL_CONNECTION_ERROR 2026."""
    return MySQLError(2026, "HY000", f"SSL connection error: {detail}")
