"""MySQL server errors as the simulator raises them.

Every refusal of the simulator is a :class:`MySQLError` carrying the error number, SQLSTATE and message text
of the MySQL 8.0/8.4 error reference, so that clients see exactly what a real server would send.  The
constructors below are the errors the manual documents for the statements mysqlsim implements; other
modules (including ``mysqlsim.replication``) build further errors with ``MySQLError(code, sqlstate, msg)``.
"""

from __future__ import annotations


class MySQLError(Exception):
    """An error packet: ``code`` (ER_* number), ``sqlstate`` (5 characters) and ``message``."""

    def __init__(self, code: int, sqlstate: str, message: str) -> None:
        super().__init__(f"({code}, {sqlstate}) {message}")
        self.code = code
        self.sqlstate = sqlstate
        self.message = message

    def __reduce__(self) -> tuple[type[MySQLError], tuple[int, str, str]]:
        return (MySQLError, (self.code, self.sqlstate, self.message))


# --- connection / authentication ------------------------------------------------------------------


def access_denied(user: str, host: str, *, using_password: bool) -> MySQLError:
    """ER_ACCESS_DENIED_ERROR 1045."""
    yes = "YES" if using_password else "NO"
    return MySQLError(1045, "28000", f"Access denied for user '{user}'@'{host}' (using password: {yes})")


def insecure_transport() -> MySQLError:
    """ER_SECURE_TRANSPORT_REQUIRED 3159."""
    return MySQLError(
        3159,
        "HY000",
        "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
    )


def server_shutdown() -> MySQLError:
    """ER_SERVER_SHUTDOWN 1053."""
    return MySQLError(1053, "08S01", "Server shutdown in progress")


def query_interrupted() -> MySQLError:
    """ER_QUERY_INTERRUPTED 1317."""
    return MySQLError(1317, "70100", "Query execution was interrupted")


def connection_killed() -> MySQLError:
    """ER_CONNECTION_KILLED 1927."""
    return MySQLError(1927, "70100", "Connection was killed")


def unknown_thread(thread_id: int) -> MySQLError:
    """ER_NO_SUCH_THREAD 1094."""
    return MySQLError(1094, "HY000", f"Unknown thread id: {thread_id}")


def not_thread_owner(thread_id: int) -> MySQLError:
    """ER_KILL_DENIED_ERROR 1095."""
    return MySQLError(1095, "HY000", f"You are not owner of thread {thread_id}")


# --- parsing / objects ----------------------------------------------------------------------------


def syntax_error(near: str, line: int = 1) -> MySQLError:
    """ER_PARSE_ERROR 1064."""
    return MySQLError(
        1064,
        "42000",
        "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server "
        f"version for the right syntax to use near '{near[:80]}' at line {line}",
    )


def empty_query() -> MySQLError:
    """ER_EMPTY_QUERY 1065."""
    return MySQLError(1065, "42000", "Query was empty")


def no_such_table(schema: str, table: str) -> MySQLError:
    """ER_NO_SUCH_TABLE 1146."""
    return MySQLError(1146, "42S02", f"Table '{schema}.{table}' doesn't exist")


def table_exists(table: str) -> MySQLError:
    """ER_TABLE_EXISTS_ERROR 1050."""
    return MySQLError(1050, "42S01", f"Table '{table}' already exists")


def bad_table(table: str) -> MySQLError:
    """ER_BAD_TABLE_ERROR 1051."""
    return MySQLError(1051, "42S02", f"Unknown table '{table}'")


def bad_db(schema: str) -> MySQLError:
    """ER_BAD_DB_ERROR 1049."""
    return MySQLError(1049, "42000", f"Unknown database '{schema}'")


def db_create_exists(schema: str) -> MySQLError:
    """ER_DB_CREATE_EXISTS 1007."""
    return MySQLError(1007, "HY000", f"Can't create database '{schema}'; database exists")


def db_drop_exists(schema: str) -> MySQLError:
    """ER_DB_DROP_EXISTS 1008."""
    return MySQLError(1008, "HY000", f"Can't drop database '{schema}'; database doesn't exist")


def no_db_selected() -> MySQLError:
    """ER_NO_DB_ERROR 1046."""
    return MySQLError(1046, "3D000", "No database selected")


def bad_field(column: str, where: str) -> MySQLError:
    """ER_BAD_FIELD_ERROR 1054."""
    return MySQLError(1054, "42S22", f"Unknown column '{column}' in '{where}'")


def dup_entry(value: str, key: str) -> MySQLError:
    """ER_DUP_ENTRY 1062."""
    return MySQLError(1062, "23000", f"Duplicate entry '{value}' for key '{key}'")


def bad_null(column: str) -> MySQLError:
    """ER_BAD_NULL_ERROR 1048."""
    return MySQLError(1048, "23000", f"Column '{column}' cannot be null")


def function_does_not_exist(name: str, *, schema: str | None = None) -> MySQLError:
    """ER_SP_DOES_NOT_EXIST 1305 for a function."""
    full = f"{schema}.{name}" if schema else name
    return MySQLError(1305, "42000", f"FUNCTION {full} does not exist")


def procedure_does_not_exist(schema: str, name: str) -> MySQLError:
    """ER_SP_DOES_NOT_EXIST 1305 for a procedure."""
    return MySQLError(1305, "42000", f"PROCEDURE {schema}.{name} does not exist")


def sp_wrong_args(kind: str, name: str, expected: int, got: int) -> MySQLError:
    """ER_SP_WRONG_NO_OF_ARGS 1318."""
    return MySQLError(
        1318, "42000", f"Incorrect number of arguments for {kind} {name}; expected {expected}, got {got}"
    )


def wrong_paramcount_to_native_fct(name: str) -> MySQLError:
    """ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT 1582."""
    return MySQLError(1582, "42000", f"Incorrect parameter count in the call to native function '{name}'")


def wrong_arguments(name: str) -> MySQLError:
    """ER_WRONG_ARGUMENTS 1210."""
    return MySQLError(1210, "HY000", f"Incorrect arguments to {name}")


def not_supported_yet(what: str) -> MySQLError:
    """ER_NOT_SUPPORTED_YET 1235."""
    return MySQLError(1235, "42000", f"This version of MySQL doesn't yet support '{what}'")


def unknown_error(message: str) -> MySQLError:
    """ER_UNKNOWN_ERROR 1105."""
    return MySQLError(1105, "HY000", message)


# --- variables ------------------------------------------------------------------------------------


def unknown_system_variable(name: str) -> MySQLError:
    """ER_UNKNOWN_SYSTEM_VARIABLE 1193."""
    return MySQLError(1193, "HY000", f"Unknown system variable '{name}'")


def global_variable(name: str) -> MySQLError:
    """ER_GLOBAL_VARIABLE 1229: a GLOBAL-only variable set without GLOBAL."""
    return MySQLError(
        1229, "HY000", f"Variable '{name}' is a GLOBAL variable and should be set with SET GLOBAL"
    )


def local_variable(name: str) -> MySQLError:
    """ER_LOCAL_VARIABLE 1228: a SESSION-only variable set with GLOBAL."""
    return MySQLError(
        1228, "HY000", f"Variable '{name}' is a SESSION variable and can't be used with SET GLOBAL"
    )


def incorrect_global_local_var(name: str, scope: str) -> MySQLError:
    """ER_INCORRECT_GLOBAL_LOCAL_VAR 1238: reading a variable in a scope it does not have."""
    return MySQLError(1238, "HY000", f"Variable '{name}' is a {scope} variable")


def read_only_variable(name: str) -> MySQLError:
    """ER_INCORRECT_GLOBAL_LOCAL_VAR 1238 for a read-only variable."""
    return MySQLError(1238, "HY000", f"Variable '{name}' is a read only variable")


def wrong_value_for_var(name: str, value: str) -> MySQLError:
    """ER_WRONG_VALUE_FOR_VAR 1231."""
    return MySQLError(1231, "42000", f"Variable '{name}' can't be set to the value of '{value}'")


def wrong_type_for_var(name: str) -> MySQLError:
    """ER_WRONG_TYPE_FOR_VAR 1232."""
    return MySQLError(1232, "42000", f"Incorrect argument type to variable '{name}'")


def var_not_persisted(name: str) -> MySQLError:
    """ER_VAR_DOES_NOT_EXIST 3615 (RESET PERSIST of a variable that is not persisted)."""
    return MySQLError(3615, "HY000", f"Variable {name} does not exist in persisted config file")


# --- privileges / accounts ------------------------------------------------------------------------


def specific_access_denied(privileges: str) -> MySQLError:
    """ER_SPECIFIC_ACCESS_DENIED_ERROR 1227."""
    return MySQLError(
        1227,
        "42000",
        f"Access denied; you need (at least one of) the {privileges} privilege(s) for this operation",
    )


def table_access_denied(command: str, user: str, host: str, table: str) -> MySQLError:
    """ER_TABLEACCESS_DENIED_ERROR 1142."""
    return MySQLError(
        1142, "42000", f"{command} command denied to user '{user}'@'{host}' for table '{table}'"
    )


def db_access_denied(user: str, host: str, schema: str) -> MySQLError:
    """ER_DBACCESS_DENIED_ERROR 1044."""
    return MySQLError(1044, "42000", f"Access denied for user '{user}'@'{host}' to database '{schema}'")


def cannot_user(operation: str, accounts: str) -> MySQLError:
    """ER_CANNOT_USER 1396 (CREATE USER of an existing account, DROP USER of a missing one...)."""
    return MySQLError(1396, "HY000", f"Operation {operation} failed for {accounts}")


def password_no_match() -> MySQLError:
    """ER_PASSWORD_NO_MATCH 1133."""
    return MySQLError(1133, "42000", "Can't find any matching row in the user table")


def nonexisting_grant(user: str, host: str) -> MySQLError:
    """ER_NONEXISTING_GRANT 1141."""
    return MySQLError(1141, "42000", f"There is no such grant defined for user '{user}' on host '{host}'")


def illegal_grant_for_table() -> MySQLError:
    """ER_ILLEGAL_GRANT_FOR_TABLE 1144."""
    return MySQLError(
        1144,
        "42000",
        "Illegal GRANT/REVOKE command; please consult the manual to see which privileges can be used",
    )


# --- read-only / locks ----------------------------------------------------------------------------


def option_prevents_statement(option: str) -> MySQLError:
    """ER_OPTION_PREVENTS_STATEMENT 1290 (``--read-only`` / ``--super-read-only``...)."""
    return MySQLError(
        1290,
        "HY000",
        f"The MySQL server is running with the {option} option so it cannot execute this statement",
    )


def lock_wait_timeout() -> MySQLError:
    """ER_LOCK_WAIT_TIMEOUT 1205."""
    return MySQLError(1205, "HY000", "Lock wait timeout exceeded; try restarting transaction")


def cant_update_with_readlock() -> MySQLError:
    """ER_CANT_UPDATE_WITH_READLOCK 1223."""
    return MySQLError(1223, "HY000", "Can't execute the query because you have a conflicting read lock")


# --- GTIDs ----------------------------------------------------------------------------------------


def malformed_gtid_set(spec: str) -> MySQLError:
    """ER_MALFORMED_GTID_SET_SPECIFICATION 1772."""
    return MySQLError(1772, "HY000", f"Malformed GTID set specification '{spec}'.")


def malformed_gtid(spec: str) -> MySQLError:
    """ER_MALFORMED_GTID_SPECIFICATION 1774."""
    return MySQLError(1774, "HY000", f"Malformed GTID specification '{spec}'.")


def gtid_next_type_undefined(current: str = "ANONYMOUS") -> MySQLError:
    """ER_GTID_NEXT_TYPE_UNDEFINED_GTID 1837."""
    return MySQLError(
        1837,
        "HY000",
        "When @@SESSION.GTID_NEXT is set to a GTID, you must explicitly set it to a different value after "
        "a COMMIT or ROLLBACK. Please check GTID_NEXT variable manual page for detailed explanation. "
        f"Current @@SESSION.GTID_NEXT is '{current}'.",
    )


def gtid_purged_not_superset() -> MySQLError:
    """ER_CANT_SET_GTID_PURGED_DUE_SETS_CONSTRAINTS 3546."""
    return MySQLError(
        3546,
        "HY000",
        "@@GLOBAL.GTID_PURGED cannot be changed: the new value must be a superset of the old value",
    )


def gtid_purged_not_empty() -> MySQLError:
    """ER_CANT_SET_GTID_PURGED_WHEN_GTID_EXECUTED_IS_NOT_EMPTY 1840."""
    return MySQLError(
        1840, "HY000", "@@GLOBAL.GTID_PURGED can only be set when @@GLOBAL.GTID_EXECUTED is empty."
    )


def variable_not_settable_in_transaction(name: str) -> MySQLError:
    """ER_VARIABLE_NOT_SETTABLE_IN_TRANSACTION 1568."""
    return MySQLError(
        1568, "25000", f"The system variable {name} cannot be set when there is an ongoing transaction."
    )


# --- plugins --------------------------------------------------------------------------------------


def udf_exists(name: str) -> MySQLError:
    """ER_UDF_EXISTS 1125 (INSTALL PLUGIN of a plugin that is installed)."""
    return MySQLError(1125, "HY000", f"Function '{name}' already exists")


def plugin_does_not_exist(name: str) -> MySQLError:
    """ER_SP_DOES_NOT_EXIST 1305 (UNINSTALL PLUGIN of an unknown plugin)."""
    return MySQLError(1305, "42000", f"PLUGIN {name} does not exist")


def cant_open_library(soname: str) -> MySQLError:
    """ER_CANT_OPEN_LIBRARY 1126."""
    return MySQLError(
        1126,
        "HY000",
        f"Can't open shared library '/usr/lib/mysql/plugin/{soname}' "
        f"(errno: 2 cannot open shared object file: No such file or directory)",
    )


def plugin_is_not_loaded(name: str) -> MySQLError:
    """ER_PLUGIN_IS_NOT_LOADED 1524."""
    return MySQLError(1524, "HY000", f"Plugin '{name}' is not loaded")


# --- replication (used by mysqlsim.replication) ---------------------------------------------------


def replica_channel_does_not_exist(channel: str) -> MySQLError:
    """ER_REPLICA_CHANNEL_DOES_NOT_EXIST 3074."""
    return MySQLError(3074, "HY000", f"Replication channel '{channel}' does not exist.")


def restart_server_failed() -> MySQLError:
    """ER_RESTART_SERVER_FAILED 3707."""
    return MySQLError(3707, "HY000", "Restart server failed (mysqld is not managed by supervisor process).")


def source_fatal_error_reading_binlog(detail: str) -> MySQLError:
    """ER_SOURCE_FATAL_ERROR_READING_BINLOG 1236."""
    return MySQLError(
        1236, "HY000", f"Got fatal error 1236 from source when reading data from binary log: '{detail}'"
    )
