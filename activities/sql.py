"""Every SQL statement the operations send, in one place, with one escaping helper.

Why one module: reviewers check statement text against adminapi-clusterset.md, and every statement must
be valid on MySQL 8.0.27+ and 8.4 (so only the REPLICA / SOURCE keywords). Values are never
interpolated by hand: `lit()` quotes a literal, `ident()` an identifier, `account()` a 'user'@'host'.
Statements are sent without driver parameters, so a ``%`` in text needs no doubling.

Layout: sections, each introduced by a banner comment.
  1. escaping helpers
  2. instance / group / plugin probes          (H-ops-A)
  3. channel and failover-list primitives      (H-ops-A, spec §1.2-§1.6, §1.13)
  4. accounts                                  (H-ops-A, spec §1.7)
  5. GTID waits and arithmetic                 (H-ops-A, spec §1.8-§1.9)
  6. metadata                                  (H-ops-A, spec §2.a, §2.b, §5)
  7. clone                                     (H-ops-A, spec §2.b.3, §7)
  8. group bootstrap and join                  (H-ops-A, spec §2.b.4, "Further members")
  9. status                                    (H-ops-A, spec §3)
 10. switchover / failover / fence / rejoin / reboot / remove / dissolve   (H-ops-B adds here)
"""

from __future__ import annotations

from collections.abc import Iterable

# =============================================================================== 1. escaping helpers


def lit(value: str | int | float | bool | None) -> str:
    """A SQL literal: strings single-quoted (quote doubled, backslash escaped), numbers as is, NULL.

    Booleans become the strings 'ON'/'OFF', the form the Shell sends for boolean system variables.
    Our sessions never set NO_BACKSLASH_ESCAPES, so backslash escaping holds.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "'ON'" if value else "'OFF'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = (
        value.replace("\\", "\\\\")
        .replace("'", "''")
        .replace("\0", "\\0")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\x1a", "\\Z")
    )
    return f"'{text}'"


def ident(name: str) -> str:
    """A back-quoted identifier (back-quotes doubled)."""
    if not name or "\0" in name:
        raise ValueError(f"invalid SQL identifier {name!r}")
    return "`" + name.replace("`", "``") + "`"


def account(user: str, host: str = "%") -> str:
    """'user'@'host'."""
    return f"{lit(user)}@{lit(host)}"


def in_list(values: Iterable[str]) -> str:
    """(lit, lit, ...) for IN clauses; never empty (an impossible value stands in for none)."""
    items = [lit(v) for v in values]
    return "(" + (", ".join(items) if items else "NULL") + ")"


CH = "clusterset_replication"  # k_clusterset_async_channel_name
GR_APPLIER = "group_replication_applier"
GR_RECOVERY = "group_replication_recovery"
CREATING_CHANNEL = "__mysql_innodb_cluster_creating_cluster__"
MD = "mysql_innodb_cluster_metadata"
SYSTEM_SCHEMAS = ("mysql", "sys", "performance_schema", "information_schema", MD)

# ==================================================================== 2. instance / group / plugin probes

INSTANCE_INFO = (
    "SELECT @@server_uuid AS server_uuid, @@server_id AS server_id, @@version AS version, "
    "@@report_host AS report_host, @@report_port AS report_port, @@port AS port, "
    "@@gtid_mode AS gtid_mode, @@enforce_gtid_consistency AS enforce_gtid_consistency, "
    "@@global.super_read_only AS super_read_only, @@global.read_only AS read_only, "
    "@@global.gtid_executed AS gtid_executed, @@global.gtid_purged AS gtid_purged"
)
GTID_EXECUTED = "SELECT @@global.gtid_executed AS gtid_executed"
GTID_PURGED = "SELECT @@global.gtid_purged AS gtid_purged"
SERVER_UUID = "SELECT @@server_uuid AS server_uuid"
SUPER_READ_ONLY = "SELECT @@global.super_read_only AS super_read_only"
NOW3 = "SELECT NOW(3) AS now3"
GR_VARIABLES = (
    "SELECT @@group_replication_group_name AS group_name, "
    "@@group_replication_single_primary_mode AS single_primary_mode, "
    "@@group_replication_local_address AS local_address, "
    "@@group_replication_group_seeds AS group_seeds"
)
VIEW_CHANGE_UUID = "SELECT @@group_replication_view_change_uuid AS view_change_uuid"
GR_MEMBERS = (
    "SELECT MEMBER_ID AS member_id, MEMBER_HOST AS member_host, MEMBER_PORT AS member_port, "
    "MEMBER_STATE AS member_state, MEMBER_ROLE AS member_role, MEMBER_VERSION AS member_version "
    "FROM performance_schema.replication_group_members WHERE CHANNEL_NAME = 'group_replication_applier'"
)
PLUGINS = (
    "SELECT PLUGIN_NAME AS plugin_name, PLUGIN_STATUS AS plugin_status FROM information_schema.PLUGINS "
    "WHERE PLUGIN_NAME IN ('clone', 'group_replication')"
)
USER_SCHEMAS = (
    "SELECT SCHEMA_NAME AS schema_name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN "
    + in_list(SYSTEM_SCHEMAS)
)
ALL_CHANNELS = (
    "SELECT CHANNEL_NAME AS channel_name FROM performance_schema.replication_connection_configuration"
)


def persisted_variable(name: str) -> str:
    """(probe) The persisted value of a variable, from performance_schema.persisted_variables."""
    return (
        "SELECT VARIABLE_VALUE AS value FROM performance_schema.persisted_variables "
        f"WHERE VARIABLE_NAME = {lit(name)}"
    )


def global_variable(name: str) -> str:
    return (
        "SELECT VARIABLE_VALUE AS value FROM performance_schema.global_variables "
        f"WHERE VARIABLE_NAME = {lit(name)}"
    )


def set_global(name: str, value: str | int | bool | None) -> str:
    return f"SET GLOBAL {ident(name)} = {lit(value)}"


def set_persist(name: str, value: str | int | bool | None) -> str:
    return f"SET PERSIST {ident(name)} = {lit(value)}"


def set_persist_only(name: str, value: str | int | bool | None) -> str:
    return f"SET PERSIST_ONLY {ident(name)} = {lit(value)}"


def set_global_default(name: str) -> str:
    return f"SET GLOBAL {ident(name)} = DEFAULT"


SQL_LOG_BIN_OFF = "SET SESSION sql_log_bin = 0"
SQL_LOG_BIN_ON = "SET SESSION sql_log_bin = 1"
FENCE = set_persist("super_read_only", True)  # spec §1.1 fence(X)
UNFENCE_SRO = set_global("super_read_only", False)
UNFENCE_RO = set_global("read_only", False)
SRO_ON_GLOBAL = set_global("super_read_only", True)
INSTALL_CLONE = "INSTALL PLUGIN clone SONAME 'mysql_clone.so'"
INSTALL_GR = "INSTALL PLUGIN group_replication SONAME 'group_replication.so'"

# ========================================================= 3. channel and failover-list primitives

CHANNEL_STATUS = (
    "SELECT c.CHANNEL_NAME AS channel_name, c.HOST AS host, c.PORT AS port, c.USER AS user, "
    "c.SOURCE_CONNECTION_AUTO_FAILOVER AS auto_failover, c.AUTO_POSITION AS auto_position, "
    "c.SSL_ALLOWED AS ssl_allowed, "
    "s.SOURCE_UUID AS source_uuid, s.SERVICE_STATE AS io_state, s.LAST_ERROR_NUMBER AS io_errno, "
    "s.LAST_ERROR_MESSAGE AS io_error, s.RECEIVED_TRANSACTION_SET AS received_transaction_set, "
    "s.LAST_HEARTBEAT_TIMESTAMP AS last_heartbeat, "
    "a.SERVICE_STATE AS applier_state "
    "FROM performance_schema.replication_connection_configuration c "
    "JOIN performance_schema.replication_connection_status s ON s.CHANNEL_NAME = c.CHANNEL_NAME "
    "JOIN performance_schema.replication_applier_status a ON a.CHANNEL_NAME = c.CHANNEL_NAME "
    "WHERE c.CHANNEL_NAME = {channel}"
)


def channel_status(channel: str = CH) -> str:
    """(probe) spec §1.2: configuration, receiver and applier of one channel; no row = no channel."""
    return CHANNEL_STATUS.format(channel=lit(channel))


def channel_workers(channel: str = CH) -> str:
    """Applier workers of a channel (state, errors, last applied transaction timestamps for lag)."""
    return (
        "SELECT SERVICE_STATE AS state, LAST_ERROR_NUMBER AS errno, LAST_ERROR_MESSAGE AS error, "
        "LAST_APPLIED_TRANSACTION AS last_applied, "
        "LAST_APPLIED_TRANSACTION_ORIGINAL_COMMIT_TIMESTAMP AS last_applied_original_commit, "
        "LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP AS last_applied_end_apply, "
        "APPLYING_TRANSACTION AS applying, "
        "APPLYING_TRANSACTION_ORIGINAL_COMMIT_TIMESTAMP AS applying_original_commit "
        "FROM performance_schema.replication_applier_status_by_worker "
        f"WHERE CHANNEL_NAME = {lit(channel)}"
    )


def channel_coordinator(channel: str = CH) -> str:
    return (
        "SELECT SERVICE_STATE AS state, LAST_ERROR_NUMBER AS errno, LAST_ERROR_MESSAGE AS error "
        "FROM performance_schema.replication_applier_status_by_coordinator "
        f"WHERE CHANNEL_NAME = {lit(channel)}"
    )


def start_replica(channel: str = CH) -> str:
    return f"START REPLICA FOR CHANNEL {lit(channel)}"


def stop_replica(channel: str = CH) -> str:
    return f"STOP REPLICA FOR CHANNEL {lit(channel)}"


def reset_replica(channel: str = CH, *, all_: bool) -> str:
    return f"RESET REPLICA {'ALL ' if all_ else ''}FOR CHANNEL {lit(channel)}"


def change_source_full(
    *,
    host: str,
    port: int,
    user: str,
    password: str,
    ssl_clause: str,
    auto_failover: bool,
    connect_retry: int = 3,
    retry_count: int = 10,
    channel: str = CH,
) -> str:
    """spec §1.4 full form, options in the Shell's order; `ssl_clause` from `replication_ssl_clause`."""
    parts = [
        f"SOURCE_HOST = {lit(host)}",
        f"SOURCE_PORT = {int(port)}",
        f"SOURCE_USER = {lit(user)}",
        f"SOURCE_PASSWORD = {lit(password)}",
        f"SOURCE_CONNECT_RETRY = {int(connect_retry)}",
        f"SOURCE_RETRY_COUNT = {int(retry_count)}",
    ]
    if auto_failover:
        parts.append("SOURCE_CONNECTION_AUTO_FAILOVER = 1")
    parts.append("SOURCE_AUTO_POSITION = 1")
    return f"CHANGE REPLICATION SOURCE TO {', '.join(parts)}{ssl_clause} FOR CHANNEL {lit(channel)}"


def replication_ssl_clause(mode: str, *, replica_version: tuple[int, int, int], ssl_ca: str | None) -> str:
    """spec §1.4 <SSL> for a resolved mode (DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY).

    The CA path is the *replica's* own @@ssl_ca, as the Shell reads it.
    """
    if mode == "DISABLED":
        key = "get_source_public_key" if replica_version >= (8, 4, 0) else "get_master_public_key"
        return f", SOURCE_SSL = 0 /*!80011 , {key} = 1 */"
    clause = ", SOURCE_SSL = 1"
    if mode in ("VERIFY_CA", "VERIFY_IDENTITY"):
        if ssl_ca:
            clause += f", SOURCE_SSL_CA = {lit(ssl_ca)}"
        if mode == "VERIFY_IDENTITY":
            clause += ", SOURCE_SSL_VERIFY_SERVER_CERT = 1"
    return clause


def change_recovery_credentials(*, user: str, password: str) -> str:
    """Credentials-only form for the GR recovery channel."""
    return (
        f"CHANGE REPLICATION SOURCE TO SOURCE_USER = {lit(user)}, SOURCE_PASSWORD = {lit(password)} "
        f"FOR CHANNEL {lit(GR_RECOVERY)}"
    )


def change_creating_indicator(iso_time: str) -> str:
    """The Shell's '__mysql_innodb_cluster_creating_cluster__' tag (spec 2.b.4.4)."""
    return (
        f"CHANGE REPLICATION SOURCE TO SOURCE_USER = {lit(iso_time)}, SOURCE_HOST = 'foo.bar' "
        f"FOR CHANNEL {lit(CREATING_CHANNEL)}"
    )


SSL_CA = "SELECT @@global.ssl_ca AS ssl_ca, @@global.have_ssl AS have_ssl"

# member actions (spec §1.5)
MEMBER_ACTIONS = (
    "SELECT NAME AS name, EVENT AS event, ENABLED AS enabled "
    "FROM performance_schema.replication_group_member_actions"
)
ACTION_SRO = "mysql_disable_super_read_only_if_primary"
ACTION_FAILOVER = "mysql_start_failover_channels_if_primary"


def member_action(name: str, *, enable: bool) -> str:
    fn = "group_replication_enable_member_action" if enable else "group_replication_disable_member_action"
    return f"SELECT {fn}({lit(name)}, 'AFTER_PRIMARY_ELECTION') AS result"


RESET_MEMBER_ACTIONS = "SELECT group_replication_reset_member_actions() AS result"

# managed failover list (spec §1.6)
MANAGED_SOURCES = (
    "SELECT CHANNEL_NAME AS channel_name, MANAGED_NAME AS managed_name, MANAGED_TYPE AS managed_type "
    "FROM performance_schema.replication_asynchronous_connection_failover_managed "
    f"WHERE MANAGED_TYPE = 'GroupReplication' AND CHANNEL_NAME = {lit(CH)}"
)


def delete_managed(managed_name: str) -> str:
    return f"SELECT asynchronous_connection_failover_delete_managed({lit(CH)}, {lit(managed_name)}) AS result"


def add_managed(*, group_name: str, host: str, port: int) -> str:
    return (
        f"SELECT asynchronous_connection_failover_add_managed({lit(CH)}, 'GroupReplication', "
        f"{lit(group_name)}, {lit(host)}, {int(port)}, '', 80, 60) AS result"
    )


# ================================================================================= 4. accounts

CS_ACCOUNT_PREFIX = "mysql_innodb_cs_"
RECOVERY_ACCOUNT_PREFIX = "mysql_innodb_cluster_"


def cs_account_name(server_id: int) -> str:
    """`mysql_innodb_cs_<server_id as lower-case hex>` (spec §1.7)."""
    return f"{CS_ACCOUNT_PREFIX}{server_id:x}"


def recovery_account_name(server_id: int) -> str:
    return f"{RECOVERY_ACCOUNT_PREFIX}{server_id}"


def user_hosts(user: str) -> str:
    """(probe) accounts: mysql.user rows of a user."""
    return f"SELECT Host AS host FROM mysql.user WHERE User = {lit(user)}"


def create_user(user: str, host: str, password: str) -> str:
    return (
        f"CREATE USER IF NOT EXISTS {account(user, host)} IDENTIFIED BY {lit(password)} "
        "REQUIRE NONE PASSWORD EXPIRE NEVER"
    )


def alter_user_password(user: str, host: str, password: str) -> str:
    return f"ALTER USER {account(user, host)} IDENTIFIED BY {lit(password)}"


def drop_user(user: str, host: str) -> str:
    return f"DROP USER IF EXISTS {account(user, host)}"


def grant(privileges: str, target: str, user: str, host: str) -> str:
    """GRANT <privileges> ON <target> TO 'u'@'h'; privileges and target are fixed text from this module."""
    return f"GRANT {privileges} ON {target} TO {account(user, host)}"


def revoke(privileges: str, target: str, user: str, host: str) -> str:
    return f"REVOKE {privileges} ON {target} FROM {account(user, host)}"


def show_grants(user: str, host: str) -> str:
    return f"SHOW GRANTS FOR {account(user, host)}"


CS_ACCOUNT_GRANTS: tuple[tuple[str, str], ...] = (
    ("REPLICATION SLAVE", "*.*"),
    ("SELECT", "performance_schema.*"),
    ("CONNECTION_ADMIN", "*.*"),
)
RECOVERY_ACCOUNT_GRANTS: tuple[tuple[str, str], ...] = (
    ("REPLICATION SLAVE, BACKUP_ADMIN", "*.*"),
    ("GROUP_REPLICATION_STREAM", "*.*"),
    ("CONNECTION_ADMIN", "*.*"),
)
CLONE_RECIPIENT_GRANTS: tuple[tuple[str, str], ...] = (
    ("CLONE_ADMIN, EXECUTE", "*.*"),
    ("SELECT", "performance_schema.*"),
)

# ==================================================================== 5. GTID waits and arithmetic


def wait_for_gtid_set(gtid_set: str, timeout_s: int) -> str:
    """0 when reached, 1 on timeout (spec §7); the timeout is always > 0 (0 is unconfirmed, §10.3)."""
    return f"SELECT WAIT_FOR_EXECUTED_GTID_SET({lit(gtid_set)}, {max(1, int(timeout_s))}) AS result"


def gtid_subset(a: str, b: str) -> str:
    return f"SELECT GTID_SUBSET({lit(a)}, {lit(b)}) AS result"


def gtid_subtract(a: str, b: str) -> str:
    return f"SELECT GTID_SUBTRACT({lit(a)}, {lit(b)}) AS result"


def received_transaction_set(channel: str = CH) -> str:
    return (
        "SELECT RECEIVED_TRANSACTION_SET AS received FROM performance_schema.replication_connection_status "
        f"WHERE CHANNEL_NAME = {lit(channel)}"
    )


# ================================================================================= 6. metadata

SCHEMA_VERSION = f"SELECT major, minor, patch FROM {MD}.schema_version"
CS_MEMBERS = (
    "SELECT m.view_id AS view_id, m.clusterset_id AS clusterset_id, m.cluster_id AS cluster_id, "
    "m.cluster_name AS cluster_name, m.member_role AS member_role, "
    "m.master_cluster_id AS master_cluster_id, m.invalidated AS invalidated "
    f"FROM {MD}.v2_cs_members m"
)
CLUSTERSETS = (
    "SELECT clusterset_id, domain_name, view_id, "
    "JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.opt_clusterSetReplicationSslMode')) AS ssl_mode "
    f"FROM {MD}.v2_cs_clustersets"
)
CLUSTERS = (
    "SELECT cluster_id, cluster_name, clusterset_id, "
    "JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.group_replication_group_name')) AS group_name, "
    "JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.group_replication_view_change_uuid')) AS view_change_uuid, "
    "JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.replicationAccountUser')) AS repl_user, "
    "JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.replicationAccountHost')) AS repl_host "
    f"FROM {MD}.clusters"
)
INSTANCES = (
    "SELECT instance_id, cluster_id, address, mysql_server_uuid, instance_name, "
    "JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.server_id')) AS server_id "
    f"FROM {MD}.instances"
)
MAX_VIEW_ID = f"SELECT MAX(view_id) AS view_id FROM {MD}.clusterset_views"
THIS_INSTANCE = f"SELECT cluster_id, cluster_name FROM {MD}.v2_this_instance"

BEGIN = "START TRANSACTION"
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"


def json_value_sql(json_text: str) -> str:
    """SQL for a JSON value given as JSON text: CAST('<json>' AS JSON), the Shell's form."""
    return f"CAST({lit(json_text)} AS JSON)"


def md_set_cluster_account(cluster_id: str, user: str, host: str) -> str:
    return (
        f"UPDATE {MD}.clusters SET attributes = JSON_SET(COALESCE(attributes, '{{}}'), "
        f"'$.replicationAccountUser', {lit(user)}, '$.replicationAccountHost', {lit(host)}) "
        f"WHERE cluster_id = {lit(cluster_id)}"
    )


def md_cleanup_for_cluster(cluster_id: str) -> list[str]:
    """spec 2.a step 6.1."""
    c = lit(cluster_id)
    return [
        f"DELETE FROM {MD}.clusterset_members",
        f"DELETE FROM {MD}.clusterset_views",
        f"DELETE FROM {MD}.instances WHERE cluster_id <> {c}",
        f"DELETE FROM {MD}.clusters WHERE cluster_id <> {c}",
        f"DELETE FROM {MD}.clustersets",
    ]


def md_cs_created(domain: str, cluster_id: str) -> str:
    return f"CALL {MD}.v2_cs_created({lit(domain)}, {lit(cluster_id)}, '{{}}', @_cs_id)"


SELECT_CS_ID = "SELECT @_cs_id AS cs_id"


def md_clusterset_attribute(cs_id: str, key: str, json_value: str) -> str:
    """`json_value` is JSON text, e.g. '"REQUIRED"'."""
    return (
        f"UPDATE {MD}.clustersets SET attributes = JSON_SET(attributes, {lit('$.' + key)}, "
        f"{json_value_sql(json_value)}) WHERE clusterset_id = {lit(cs_id)}"
    )


def md_routers_to_clusterset(cs_id: str, cluster_id: str) -> str:
    return (
        f"UPDATE {MD}.routers SET clusterset_id = {lit(cs_id)}, cluster_id = NULL "
        f"WHERE cluster_id = {lit(cluster_id)}"
    )


def md_clusterset_router_option(cs_id: str, key: str, json_value: str | None) -> str:
    if json_value is None:
        return (
            f"UPDATE {MD}.clustersets SET router_options = JSON_REMOVE(IFNULL(router_options, '{{}}'), "
            f"{lit('$.' + key)}) WHERE clusterset_id = {lit(cs_id)}"
        )
    return (
        f"UPDATE {MD}.clustersets SET router_options = JSON_SET(IFNULL(router_options, '{{}}'), "
        f"{lit('$.' + key)}, {json_value_sql(json_value)}) WHERE clusterset_id = {lit(cs_id)}"
    )


CLUSTERSET_ROUTER_DEFAULTS: tuple[tuple[str, str | None], ...] = (
    ("invalidated_cluster_policy", '"drop_all"'),
    ("target_cluster", '"primary"'),
    ("stats_updates_frequency", None),
    ("use_replica_primary_as_rw", "false"),
    ("tags", "{}"),
    ("read_only_targets", '"secondaries"'),
)


def md_insert_cluster(*, cluster_id: str, name: str, group_name: str, stack: str = "MYSQL") -> str:
    """The clusters row of a new replica cluster; `capabilities` is written here, in the INSERT, instead of
    the Shell's later JSON_MERGE_PATCH (same document for a new row)."""
    return (
        f"INSERT INTO {MD}.clusters (cluster_id, cluster_name, description, cluster_type, primary_mode, "
        f"attributes) VALUES ({lit(cluster_id)}, {lit(name)}, 'Default Cluster', 'gr', 'pm', "
        f"JSON_OBJECT('adopted', 0, 'group_replication_group_name', {lit(group_name)}, "
        "'capabilities', JSON_OBJECT('communicationStack', "
        f"JSON_OBJECT('value', {lit(stack)}, 'allow', JSON_ARRAY()))))"
    )


def md_cluster_attribute(cluster_id: str, key: str, json_value: str) -> str:
    return (
        f"UPDATE {MD}.clusters SET attributes = JSON_SET(attributes, {lit('$.' + key)}, "
        f"{json_value_sql(json_value)}) WHERE cluster_id = {lit(cluster_id)}"
    )


def md_cluster_router_options(cluster_id: str) -> str:
    return (
        f"UPDATE {MD}.clusters SET router_options = JSON_SET(IFNULL(router_options, '{{}}'), "
        f"'$.tags', CAST('{{}}' AS JSON), '$.read_only_targets', 'secondaries') "
        f"WHERE cluster_id = {lit(cluster_id)}"
    )


def md_insert_instance(
    *, cluster_id: str, address: str, server_uuid: str, server_id: int, x_address: str, gr_local: str
) -> str:
    return (
        f"INSERT INTO {MD}.instances (cluster_id, address, mysql_server_uuid, instance_name, addresses, "
        f"attributes, instance_type) VALUES ({lit(cluster_id)}, {lit(address)}, {lit(server_uuid)}, "
        f"{lit(address)}, JSON_OBJECT('mysqlClassic', {lit(address)}, 'mysqlX', {lit(x_address)}, "
        f"'grLocal', {lit(gr_local)}), JSON_OBJECT('server_id', {int(server_id)}), 'group-member')"
    )


def md_instance_recovery_account(server_uuid: str, user: str, host: str) -> str:
    return (
        f"UPDATE {MD}.instances SET attributes = JSON_SET(COALESCE(attributes, '{{}}'), "
        f"'$.recoveryAccountUser', {lit(user)}, '$.recoveryAccountHost', {lit(host)}) "
        f"WHERE mysql_server_uuid = {lit(server_uuid)}"
    )


def md_instance_join_time(server_uuid: str) -> str:
    return (
        f"UPDATE {MD}.instances SET attributes = JSON_SET(COALESCE(attributes, '{{}}'), "
        f"'$.joinTime', CAST(NOW(6) AS CHAR)) WHERE mysql_server_uuid = {lit(server_uuid)}"
    )


def md_cs_member_added(cs_id: str, cluster_id: str, primary_cluster_id: str) -> str:
    return f"CALL {MD}.v2_cs_member_added({lit(cs_id)}, {lit(cluster_id)}, {lit(primary_cluster_id)}, '{{}}')"


SELECT_UUID = "SELECT UUID() AS uuid"

# ==================================================================================== 7. clone


def clone_status_since(begin_time: str | None) -> str:
    """(probe) spec §2.b.3.9: the newest clone_status row, begun at or after `begin_time` (any when None)."""
    where = f" WHERE BEGIN_TIME >= {lit(begin_time)}" if begin_time else ""
    return (
        "SELECT ID AS id, PID AS pid, STATE AS state, BEGIN_TIME AS begin_time, END_TIME AS end_time, "
        "SOURCE AS source, ERROR_NO AS error_no, ERROR_MESSAGE AS error_message, "
        "GTID_EXECUTED AS gtid_executed "
        f"FROM performance_schema.clone_status{where} ORDER BY ID DESC LIMIT 1"
    )


def clone_progress(clone_id: int) -> str:
    return (
        "SELECT STAGE AS stage, STATE AS state, BEGIN_TIME AS begin_time, END_TIME AS end_time, "
        "ESTIMATE AS estimate, DATA AS data, NETWORK AS network, DATA_SPEED AS data_speed, "
        "NETWORK_SPEED AS network_speed "
        f"FROM performance_schema.clone_progress WHERE ID = {int(clone_id)}"
    )


def clone_instance(*, user: str, host: str, port: int, password: str) -> str:
    return f"CLONE INSTANCE FROM {account(user, host)}:{int(port)} IDENTIFIED BY {lit(password)}"


def clone_valid_donor_list(donor: str) -> str:
    return set_global("clone_valid_donor_list", donor)


def kill_query(pid: int) -> str:
    return f"KILL QUERY {int(pid)}"


# ======================================================================= 8. group bootstrap and join

START_GR = "START GROUP_REPLICATION"
STOP_GR = "STOP GROUP_REPLICATION"
BOOTSTRAP_ON = set_global("group_replication_bootstrap_group", True)
BOOTSTRAP_OFF = set_global("group_replication_bootstrap_group", False)

# ===================================================================================== 9. status

STATUS_INSTANCE = (
    "SELECT @@server_uuid AS server_uuid, @@global.gtid_executed AS gtid_executed, "
    "@@global.super_read_only AS super_read_only"
)

# ========================================================================= 10. H-ops-B operations
# switchover / failover / fence / rejoin / reboot / remove / dissolve: H-ops-B adds its statements below
# this banner, in sub-sections of its own (e.g. "# ---- 10.1 switchover"), reusing the helpers above.

# ---- 10.1 channel forms and waits shared by switchover / failover / rejoin (spec §1.3, §1.4, §1.13)


def change_source_host_port(
    *,
    host: str,
    port: int,
    auto_failover: bool,
    connect_retry: int = 3,
    retry_count: int = 10,
    channel: str = CH,
) -> str:
    """spec §1.4 host/port-only form: user, password and SSL settings of the channel are kept."""
    parts = [
        f"SOURCE_HOST = {lit(host)}",
        f"SOURCE_PORT = {int(port)}",
        f"SOURCE_CONNECT_RETRY = {int(connect_retry)}",
        f"SOURCE_RETRY_COUNT = {int(retry_count)}",
    ]
    if auto_failover:
        parts.append("SOURCE_CONNECTION_AUTO_FAILOVER = 1")
    parts.append("SOURCE_AUTO_POSITION = 1")
    return f"CHANGE REPLICATION SOURCE TO {', '.join(parts)} FOR CHANNEL {lit(channel)}"


def start_replica_applier(channel: str = CH) -> str:
    """Start only the applier (SQL) thread, to apply a relay log whose receiver is stopped."""
    return f"START REPLICA SQL_THREAD FOR CHANNEL {lit(channel)}"


def stop_replica_receiver(channel: str = CH) -> str:
    """Stop only the receiver (IO) thread, so the relay log can be applied before the channel goes."""
    return f"STOP REPLICA IO_THREAD FOR CHANNEL {lit(channel)}"


def alter_user_password_of(user: str, host: str, password: str) -> str:
    """The password refresh of spec 2.c step 6 (the Shell's SET PASSWORD FOR, as ALTER USER)."""
    return f"ALTER USER {account(user, host)} IDENTIFIED BY {lit(password)}"


OFFLINE_MODE = "SELECT @@global.offline_mode AS offline_mode"
TRANSACTION_SIZE_LIMIT = "SELECT @@global.group_replication_transaction_size_limit AS value"
MY_GR_STATE = (
    "SELECT MEMBER_STATE AS member_state, MEMBER_ROLE AS member_role "
    "FROM performance_schema.replication_group_members "
    "WHERE CHANNEL_NAME = 'group_replication_applier' AND MEMBER_ID = @@server_uuid"
)

# ---- 10.2 switchover global lock (spec §1.15)

FLUSH_TABLES_WITH_READ_LOCK = "FLUSH TABLES WITH READ LOCK"
FLUSH_BINARY_LOGS = "FLUSH BINARY LOGS"
UNLOCK_TABLES = "UNLOCK TABLES"

# ---- 10.3 metadata topology changes (spec §5 procedures) and reads


def md_cs_primary_changed(cs_id: str, cluster_id: str) -> str:
    return f"CALL {MD}.v2_cs_primary_changed({lit(cs_id)}, {lit(cluster_id)}, '{{}}')"


def md_cs_primary_force_changed(cs_id: str, cluster_id: str) -> str:
    return f"CALL {MD}.v2_cs_primary_force_changed({lit(cs_id)}, {lit(cluster_id)}, '{{}}')"


def md_cs_add_invalidated_member(cs_id: str, cluster_id: str) -> str:
    return f"CALL {MD}.v2_cs_add_invalidated_member({lit(cs_id)}, {lit(cluster_id)})"


def md_cs_member_rejoined(cs_id: str, cluster_id: str, primary_cluster_id: str) -> str:
    return (
        f"CALL {MD}.v2_cs_member_rejoined({lit(cs_id)}, {lit(cluster_id)}, {lit(primary_cluster_id)}, '{{}}')"
    )


def md_cs_member_removed(cs_id: str, cluster_id: str) -> str:
    return f"CALL {MD}.v2_cs_member_removed({lit(cs_id)}, {lit(cluster_id)})"


def md_primary_before_last_change(cs_id: str, reason: str) -> str:
    """(probe) The primary cluster of the view just before the newest view with `reason`
    ('SWITCH_PRIMARY' or 'FORCE_PRIMARY'): finds the old primary cluster of a resumed switch."""
    c = lit(cs_id)
    return (
        f"SELECT m.cluster_id AS cluster_id FROM {MD}.clusterset_members m "
        f"WHERE m.clusterset_id = {c} AND m.primary_cluster = 1 AND m.view_id = ("
        f"SELECT MAX(v.view_id) FROM {MD}.clusterset_views v WHERE v.clusterset_id = {c} AND v.view_id < ("
        f"SELECT MAX(w.view_id) FROM {MD}.clusterset_views w WHERE w.clusterset_id = {c} "
        f"AND w.view_change_reason = {lit(reason)}))"
    )


def md_cluster_transaction_size_limit(cluster_id: str) -> str:
    return (
        "SELECT JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.opt_transactionSizeLimit')) AS value "
        f"FROM {MD}.clusters WHERE cluster_id = {lit(cluster_id)}"
    )


def md_recovery_accounts(cluster_id: str) -> str:
    return (
        "SELECT JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.recoveryAccountUser')) AS user, "
        "JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.recoveryAccountHost')) AS host, "
        "JSON_UNQUOTE(JSON_EXTRACT(attributes, '$.server_id')) AS server_id "
        f"FROM {MD}.instances WHERE cluster_id = {lit(cluster_id)}"
    )


def md_routers_targeting(group_name: str) -> str:
    """spec 2.e removeCluster step 1: routers whose target_cluster is the removed cluster's group."""
    return (
        f"SELECT router_id, router_name FROM {MD}.routers "
        f"WHERE JSON_UNQUOTE(JSON_EXTRACT(options, '$.target_cluster')) = {lit(group_name)}"
    )


def md_clear_cluster_account(cluster_id: str) -> str:
    return (
        f"UPDATE {MD}.clusters SET attributes = JSON_REMOVE(attributes, '$.replicationAccountUser', "
        f"'$.replicationAccountHost') WHERE cluster_id = {lit(cluster_id)}"
    )


def md_delete_cluster(cluster_id: str) -> list[str]:
    """spec 2.e removeCluster step 7, last transaction."""
    c = lit(cluster_id)
    return [
        f"DELETE FROM {MD}.instances WHERE cluster_id = {c}",
        f"DELETE FROM {MD}.clusters WHERE cluster_id = {c}",
    ]


def md_dissolve_clusterset(cs_id: str, primary_cluster_id: str) -> list[str]:
    """Dissolve on the primary while keeping its InnoDB Cluster: the reverse of createClusterSet (2.a 6)."""
    c = lit(cs_id)
    return [
        f"UPDATE {MD}.routers SET cluster_id = {lit(primary_cluster_id)}, clusterset_id = NULL "
        f"WHERE clusterset_id = {c}",
        f"DELETE FROM {MD}.clusterset_members WHERE clusterset_id = {c}",
        f"DELETE FROM {MD}.clusterset_views WHERE clusterset_id = {c}",
        f"UPDATE {MD}.clusters SET clusterset_id = NULL WHERE clusterset_id = {c}",
        f"DELETE FROM {MD}.clustersets WHERE clusterset_id = {c}",
        f"DELETE FROM {MD}.instances WHERE cluster_id <> {lit(primary_cluster_id)}",
        f"DELETE FROM {MD}.clusters WHERE cluster_id <> {lit(primary_cluster_id)}",
    ]


ALL_ACCOUNTS = "SELECT User AS user, Host AS host FROM mysql.user"  # filtered by name prefix in Python


# ---- 10.4 view-change GTID reconciliation (spec §1.10)


def set_gtid_next(gtid: str) -> str:
    return f"SET gtid_next = {lit(gtid)}"


GTID_NEXT_AUTOMATIC = "SET gtid_next = 'AUTOMATIC'"

# ---- 10.5 leaving a group (spec 2.e leave_cluster) and rebooting one (rebootClusterFromCompleteOutage)


def set_persist_default(name: str) -> str:
    return f"SET PERSIST {ident(name)} = DEFAULT"


def leave_cluster() -> list[str]:
    """leave_cluster(X) after STOP GROUP_REPLICATION (MYSQL communication stack: recovery kept)."""
    return [
        set_persist("group_replication_start_on_boot", False),
        set_persist("group_replication_enforce_update_everywhere_checks", False),
        set_persist_default("group_replication_bootstrap_group"),
        set_persist_default("group_replication_group_seeds"),
        set_persist_default("group_replication_local_address"),
    ]


GR_APPLIER_AND_CH_RECEIVED = (
    "SELECT CHANNEL_NAME AS channel_name, RECEIVED_TRANSACTION_SET AS received "
    "FROM performance_schema.replication_connection_status "
    f"WHERE CHANNEL_NAME IN ({lit(GR_APPLIER)}, {lit(CH)})"
)
