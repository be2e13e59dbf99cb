"""System variables: the core's definitions and each instance's GLOBAL / PERSIST store.

Values are kept typed (bool, int, str); ``SELECT @@x`` shows booleans as 1/0 and SHOW VARIABLES /
performance_schema as ON/OFF, like the server.  SET PERSIST writes the runtime value and the persisted
config (``mysqld-auto.cnf``, kept across restarts); SET PERSIST_ONLY only the latter; RESET PERSIST removes
entries.  Session values live in the session (:mod:`mysqlsim.session`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mysqlsim import errors
from mysqlsim.registry import SYSTEM_VARIABLES, VariableDef, define_variable

if TYPE_CHECKING:
    from mysqlsim.instance import Instance

#: variables the 8.4 server no longer has (1193 there)
REMOVED_IN_84 = frozenset(
    {
        "master_info_repository",
        "relay_log_info_repository",
        "transaction_write_set_extraction",
        "binlog_transaction_dependency_tracking",
        "default_authentication_plugin",
    }
)

_TRUE = {"ON", "1", "TRUE", "YES"}
_FALSE = {"OFF", "0", "FALSE", "NO"}


def coerce(vd: VariableDef, value: Any) -> Any:
    """Convert a SET value to the variable's type; 1231/1232 on a bad value."""
    if value is None:
        if vd.type is str:
            return ""
        raise errors.wrong_value_for_var(vd.name, "NULL")
    if vd.type is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            if value in (0, 1):
                return bool(value)
            raise errors.wrong_value_for_var(vd.name, str(value))
        s = str(value).strip().upper()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise errors.wrong_value_for_var(vd.name, str(value))
    if vd.type is int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        s = str(value).strip()
        try:
            return int(s)
        except ValueError:
            raise errors.wrong_type_for_var(vd.name) from None
    if vd.type is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise errors.wrong_type_for_var(vd.name) from None
    s = str(value) if not isinstance(value, bool) else ("ON" if value else "OFF")
    if vd.choices is not None:
        if s.upper() not in vd.choices:
            if s.isdigit() and int(s) < len(vd.choices):
                return vd.choices[int(s)]
            raise errors.wrong_value_for_var(vd.name, s)
        return s.upper()
    return s


def show_value(value: Any) -> str:
    """The text form used by SHOW VARIABLES and performance_schema tables."""
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    if value is None:
        return ""
    return str(value)


def select_value(value: Any) -> Any:
    """The value of ``SELECT @@x`` (booleans are integers)."""
    if isinstance(value, bool):
        return int(value)
    return value


@dataclass
class Persisted:
    value: str
    set_time: float
    set_user: str
    set_host: str
    only: bool  # PERSIST_ONLY


class VariableStore:
    """GLOBAL values, their sources and the persisted config of one instance."""

    def __init__(self, instance: Instance, config: dict[str, Any]) -> None:
        self.instance = instance
        #: option-file values (from the topology); re-applied at each start
        self.config = dict(config)
        self.persisted: dict[str, Persisted] = {}
        self.values: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.set_info: dict[str, tuple[float, str, str]] = {}
        self.load()

    def load(self) -> None:
        """(Re)initialise runtime values: compiled defaults, option file, then persisted (server start)."""
        self.values.clear()
        self.sources.clear()
        self.set_info.clear()
        for name, vd in SYSTEM_VARIABLES.items():
            if vd.scope != "SESSION":
                self.values[name] = vd.default
                self.sources[name] = "COMPILED"
        for name, v in self.config.items():
            cvd = SYSTEM_VARIABLES.get(name)
            self.values[name] = coerce(cvd, v) if cvd else v
            self.sources[name] = "EXPLICIT"
        if self.get_raw("persisted_globals_load") is not False:
            for name, p in self.persisted.items():
                pvd = SYSTEM_VARIABLES.get(name)
                if pvd is None:
                    continue
                self.values[name] = coerce(pvd, p.value)
                self.sources[name] = "PERSISTED"
                self.set_info[name] = (p.set_time, p.set_user, p.set_host)
        # documented coupling at startup
        if self.values.get("super_read_only"):
            self.values["read_only"] = True

    def get_raw(self, name: str) -> Any:
        return self.values.get(name)

    def definition(self, name: str) -> VariableDef | None:
        vd = SYSTEM_VARIABLES.get(name.lower())
        if vd is None:
            return None
        if vd.name in REMOVED_IN_84 and self.instance.version_tuple >= (8, 4, 0):
            return None
        if vd.plugin and not self.instance.plugin_active(vd.plugin):
            return None
        return vd

    def get_global(self, name: str) -> Any:
        """Typed GLOBAL value; 1193 if the variable does not exist (or its plugin is not loaded)."""
        n = name.lower()
        vd = self.definition(n)
        if vd is None:
            raise errors.unknown_system_variable(name)
        if vd.getter is not None:
            return vd.getter(self.instance)
        if vd.scope == "SESSION":
            return vd.default
        if n not in self.values:
            self.values[n] = vd.default
        return self.values[n]

    def set_global_internal(self, name: str, value: Any, *, source: str = "DYNAMIC") -> None:
        """Set a GLOBAL value from inside the server (no privilege check), with the read_only coupling."""
        n = name.lower()
        vd = self.definition(n)
        v = coerce(vd, value) if vd else value
        self.values[n] = v
        self.sources[n] = source
        if n == "super_read_only" and v:
            self.values["read_only"] = True
        elif n == "read_only" and not v:
            self.values["super_read_only"] = False

    def persist(self, name: str, value: Any, *, user: str, host: str, only: bool) -> None:
        self.persisted[name.lower()] = Persisted(show_value(value), time.time(), user, host, only)

    def reset_persist(self, name: str | None, *, if_exists: bool) -> None:
        if name is None:
            self.persisted.clear()
            return
        n = name.lower()
        if n not in self.persisted:
            if if_exists:
                return
            raise errors.var_not_persisted(name)
        del self.persisted[n]

    def persisted_value(self, name: str) -> str | None:
        p = self.persisted.get(name.lower())
        return p.value if p else None


# --- core variable definitions --------------------------------------------------------------------


#: read-only variables that cannot be persisted (identity, build and path facts)
NOT_PERSISTABLE = frozenset(
    {
        "server_uuid",
        "version",
        "version_comment",
        "version_compile_os",
        "version_compile_machine",
        "hostname",
        "datadir",
        "basedir",
        "socket",
        "plugin_dir",
        "log_bin_basename",
        "have_ssl",
        "have_openssl",
        "protocol_version",
        "license",
        "system_time_zone",
        "lower_case_table_names",
        "innodb_page_size",
        "log_bin",
    }
)


def _ro(name: str, default: Any, typ: type = str, scope: str = "GLOBAL") -> None:
    """A read-only (startup) variable: SET GLOBAL gives 1238; SET PERSIST_ONLY persists it."""
    define_variable(
        name, default=default, scope=scope, dynamic=False, type=typ, persistable=name not in NOT_PERSISTABLE
    )


def _dyn(name: str, default: Any, typ: type = str, scope: str = "GLOBAL", **kw: Any) -> None:
    define_variable(name, default=default, scope=scope, dynamic=True, type=typ, **kw)


def _gtid_executed(inst: Instance) -> str:
    return inst.gtid_executed.format(",\n")


def _gtid_purged(inst: Instance) -> str:
    return inst.gtid_purged.format(",\n")


def _define_core_variables() -> None:
    # identity (option file values are filled per instance from the topology)
    _ro("server_uuid", "")
    _dyn("server_id", 1, int)
    _ro("version", "8.0.36")
    _ro("version_comment", "MySQL Community Server - GPL (mysqlsim)")
    _ro("version_compile_os", "Linux")
    _ro("version_compile_machine", "x86_64")
    _ro("hostname", "")
    _ro("port", 3306, int)
    _ro("admin_port", 33062, int)
    _ro("report_host", "")
    _ro("report_port", 3306, int)
    _ro("datadir", "/var/lib/mysql/")
    _ro("socket", "/var/lib/mysql/mysql.sock")
    _ro("basedir", "/usr/")
    _ro("plugin_dir", "/usr/lib/mysql/plugin/")
    _ro("lower_case_table_names", 0, int)
    _ro("license", "GPL")
    _ro("innodb_page_size", 16384, int)
    _ro("performance_schema", True, bool)
    _ro("log_bin", True, bool)
    _ro("log_bin_basename", "/var/lib/mysql/binlog")
    _ro("log_replica_updates", True, bool)
    _ro("log_slave_updates", True, bool)
    _ro("relay_log", "relay-log")
    _ro("have_ssl", "YES")
    _ro("have_openssl", "YES")
    _ro("ssl_ca", "")
    _ro("ssl_cert", "")
    _ro("ssl_key", "")
    _ro("protocol_version", 10, int)
    _ro("system_time_zone", "UTC")
    _ro("default_authentication_plugin", "mysql_native_password")
    _ro("server_id_bits", 32, int)
    # replication / GTIDs
    _dyn("gtid_mode", "ON", choices=("OFF", "OFF_PERMISSIVE", "ON_PERMISSIVE", "ON"))
    _dyn("enforce_gtid_consistency", "ON", choices=("OFF", "ON", "WARN"))
    define_variable(
        "gtid_executed", default="", scope="GLOBAL", dynamic=False, persistable=False, getter=_gtid_executed
    )
    # value computed by the instance; SET handled by the SET statement (+gtid_set / superset rules)
    _dyn("gtid_purged", "", persistable=False, getter=_gtid_purged)
    _dyn("gtid_next", "AUTOMATIC", scope="SESSION", persistable=False)
    _dyn("gtid_owned", "", scope="BOTH", persistable=False)
    _dyn("sql_log_bin", True, bool, scope="SESSION", persistable=False)
    _dyn("binlog_format", "ROW", scope="BOTH", choices=("ROW", "STATEMENT", "MIXED"))
    _dyn("binlog_row_image", "FULL", scope="BOTH", choices=("FULL", "MINIMAL", "NOBLOB"))
    _dyn("binlog_checksum", "CRC32", choices=("NONE", "CRC32"))
    _dyn("binlog_expire_logs_seconds", 2592000, int)
    _dyn(
        "binlog_transaction_dependency_tracking",
        "WRITESET",
        choices=("COMMIT_ORDER", "WRITESET", "WRITESET_SESSION"),
    )
    _dyn(
        "transaction_write_set_extraction", "XXHASH64", scope="BOTH", choices=("OFF", "MURMUR32", "XXHASH64")
    )
    _dyn("master_info_repository", "TABLE", choices=("FILE", "TABLE"))
    _dyn("relay_log_info_repository", "TABLE", choices=("FILE", "TABLE"))
    _dyn("replica_preserve_commit_order", True, bool)
    _dyn("slave_preserve_commit_order", True, bool)
    _dyn("replica_parallel_type", "LOGICAL_CLOCK", choices=("DATABASE", "LOGICAL_CLOCK"))
    _dyn("slave_parallel_type", "LOGICAL_CLOCK", choices=("DATABASE", "LOGICAL_CLOCK"))
    _dyn("replica_parallel_workers", 4, int)
    _dyn("slave_parallel_workers", 4, int)
    _ro("skip_replica_start", False, bool)
    _ro("skip_slave_start", False, bool)
    _dyn("replica_net_timeout", 60, int)
    _dyn("binlog_transaction_compression", False, bool, scope="BOTH")
    _dyn("persisted_globals_load", True, bool)
    # read-only
    _dyn("read_only", False, bool)
    _dyn("super_read_only", False, bool)
    _dyn("offline_mode", False, bool)
    # sessions / misc
    _dyn("autocommit", True, bool, scope="BOTH")
    _dyn(
        "transaction_isolation",
        "REPEATABLE-READ",
        scope="BOTH",
        choices=("READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ", "SERIALIZABLE"),
    )
    _dyn("transaction_read_only", False, bool, scope="BOTH")
    _dyn("lock_wait_timeout", 31536000, int, scope="BOTH")
    _dyn("innodb_lock_wait_timeout", 50, int, scope="BOTH")
    _dyn("wait_timeout", 28800, int, scope="BOTH")
    _dyn("interactive_timeout", 28800, int, scope="BOTH")
    _dyn("net_read_timeout", 30, int, scope="BOTH")
    _dyn("net_write_timeout", 60, int, scope="BOTH")
    _dyn("max_allowed_packet", 67108864, int, scope="BOTH")
    _dyn("max_connections", 151, int)
    _dyn("max_execution_time", 0, int, scope="BOTH")
    _dyn(
        "sql_mode",
        "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
        "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
        scope="BOTH",
    )
    _dyn("time_zone", "SYSTEM", scope="BOTH")
    _dyn("character_set_client", "utf8mb4", scope="BOTH")
    _dyn("character_set_connection", "utf8mb4", scope="BOTH")
    _dyn("character_set_results", "utf8mb4", scope="BOTH")
    _dyn("character_set_server", "utf8mb4", scope="BOTH")
    _dyn("character_set_database", "utf8mb4", scope="BOTH")
    _dyn("collation_connection", "utf8mb4_0900_ai_ci", scope="BOTH")
    _dyn("collation_server", "utf8mb4_0900_ai_ci", scope="BOTH")
    _dyn("collation_database", "utf8mb4_0900_ai_ci", scope="BOTH")
    _dyn("default_storage_engine", "InnoDB", scope="BOTH")
    _dyn("session_track_gtids", "OFF", scope="BOTH", choices=("OFF", "OWN_GTID", "ALL_GTIDS"))
    _dyn(
        "session_track_system_variables",
        "time_zone,autocommit,character_set_client,character_set_results,character_set_connection",
        scope="BOTH",
    )
    _dyn("session_track_schema", True, bool, scope="BOTH")
    _dyn("session_track_state_change", False, bool, scope="BOTH")
    _dyn("sql_select_limit", 18446744073709551615, int, scope="BOTH")
    _dyn("sql_safe_updates", False, bool, scope="BOTH")
    _dyn("sql_require_primary_key", False, bool, scope="BOTH")
    _dyn("sql_notes", True, bool, scope="BOTH")
    _dyn("sql_warnings", False, bool, scope="BOTH")
    _dyn("sql_auto_is_null", False, bool, scope="BOTH")
    _dyn("foreign_key_checks", True, bool, scope="BOTH")
    _dyn("unique_checks", True, bool, scope="BOTH")
    _dyn("net_buffer_length", 16384, int, scope="BOTH")
    _dyn("group_concat_max_len", 1024, int, scope="BOTH")
    _dyn("auto_increment_increment", 1, int, scope="BOTH")
    _dyn("auto_increment_offset", 1, int, scope="BOTH")
    _dyn("require_secure_transport", False, bool)
    _dyn("tls_version", "TLSv1.2,TLSv1.3")
    _dyn("log_error_verbosity", 2, int)
    _dyn("general_log", False, bool)
    _dyn("slow_query_log", False, bool)
    _dyn("long_query_time", 10.0, float, scope="BOTH")
    _dyn("event_scheduler", "ON", choices=("ON", "OFF", "DISABLED"))
    _dyn("innodb_flush_log_at_trx_commit", 1, int)
    _dyn("sync_binlog", 1, int)
    _dyn("innodb_buffer_pool_size", 134217728, int)
    _dyn("max_binlog_size", 1073741824, int)
    _dyn("partial_revokes", False, bool)
    _dyn("mandatory_roles", "")
    _dyn("activate_all_roles_on_login", False, bool)
    _dyn("default_password_lifetime", 0, int)
    _dyn("password_history", 0, int)
    _dyn("password_reuse_interval", 0, int)
    _dyn("disabled_storage_engines", "")
    _dyn("table_open_cache", 4000, int)
    _dyn("thread_cache_size", 9, int)
    _dyn("pseudo_thread_id", 0, int, scope="SESSION", persistable=False)
    _dyn("timestamp", 0.0, float, scope="SESSION", persistable=False)
    _dyn("last_insert_id", 0, int, scope="SESSION", persistable=False)
    _dyn("identity", 0, int, scope="SESSION", persistable=False)
    _dyn("insert_id", 0, int, scope="SESSION", persistable=False)
    _dyn("warning_count", 0, int, scope="SESSION", persistable=False)
    _dyn("error_count", 0, int, scope="SESSION", persistable=False)
    _dyn("original_commit_timestamp", 0, int, scope="SESSION", persistable=False)
    _dyn("external_user", "", scope="SESSION", persistable=False)
    _dyn("proxy_user", "", scope="SESSION", persistable=False)
    _dyn("default_collation_for_utf8mb4", "utf8mb4_0900_ai_ci", scope="BOTH")
    _dyn("explicit_defaults_for_timestamp", True, bool, scope="BOTH")
    _dyn("div_precision_increment", 4, int, scope="BOTH")
    _dyn("init_connect", "")


_define_core_variables()
