"""The core's system tables, materialised from instance state at query time: performance_schema
variables/status/threads, information_schema schemata/tables/columns/plugins/processlist, and the
mysql.* account tables.

Why it exists: the AdminAPI and the orchestrator read server state with ordinary SELECTs (joins included);
registering these tables makes such queries see live values.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any

from mysqlsim.accounts import DB_PRIVILEGES, STATIC_PRIVILEGES
from mysqlsim.registry import (
    SYSTEM_TABLES,
    SYSTEM_VARIABLES,
    StatementContext,
    status_variable,
    system_table,
)
from mysqlsim.statements import plugin_rows, processlist, status_rows, variable_rows
from mysqlsim.variables import show_value

T = "TEXT"
I = "BIGINT"  # noqa: E741
TS = "TIMESTAMP"


@system_table(
    "performance_schema",
    "global_variables",
    columns=[("VARIABLE_NAME", T), ("VARIABLE_VALUE", T)],
    needs_context=True,
)
def global_variables(ctx: StatementContext) -> list[tuple[Any, ...]]:
    return variable_rows(ctx.session, "GLOBAL")


@system_table(
    "performance_schema",
    "session_variables",
    columns=[("VARIABLE_NAME", T), ("VARIABLE_VALUE", T)],
    needs_context=True,
)
def session_variables(ctx: StatementContext) -> list[tuple[Any, ...]]:
    return variable_rows(ctx.session, "SESSION")


@system_table(
    "performance_schema", "persisted_variables", columns=[("VARIABLE_NAME", T), ("VARIABLE_VALUE", T)]
)
def persisted_variables(inst: Any) -> list[tuple[Any, ...]]:
    return [(n, p.value) for n, p in sorted(inst.variables.persisted.items())]


@system_table(
    "performance_schema",
    "variables_info",
    columns=[
        ("VARIABLE_NAME", T),
        ("VARIABLE_SOURCE", T),
        ("VARIABLE_PATH", T),
        ("MIN_VALUE", T),
        ("MAX_VALUE", T),
        ("SET_TIME", TS),
        ("SET_USER", T),
        ("SET_HOST", T),
    ],
)
def variables_info(inst: Any) -> list[tuple[Any, ...]]:
    rows = []
    store = inst.variables
    for n in sorted(SYSTEM_VARIABLES):
        if store.definition(n) is None:
            continue
        src = store.sources.get(n, "COMPILED")
        info = store.set_info.get(n)
        path = (
            "/var/lib/mysql/mysqld-auto.cnf"
            if src == "PERSISTED"
            else ("/etc/my.cnf" if src == "EXPLICIT" else "")
        )
        st = _dt.datetime.fromtimestamp(info[0]) if info else None
        rows.append((n, src, path, "0", "0", st, info[1] if info else None, info[2] if info else None))
    return rows


@system_table("performance_schema", "global_status", columns=[("VARIABLE_NAME", T), ("VARIABLE_VALUE", T)])
def global_status(inst: Any) -> list[tuple[Any, ...]]:
    return status_rows(inst)


@system_table(
    "performance_schema",
    "session_status",
    columns=[("VARIABLE_NAME", T), ("VARIABLE_VALUE", T)],
    needs_context=True,
)
def session_status(ctx: StatementContext) -> list[tuple[Any, ...]]:
    return status_rows(ctx.instance, ctx.session)


@system_table(
    "performance_schema",
    "threads",
    columns=[
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
    ],
)
def threads(inst: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    now = time.time()
    for s in processlist(inst):
        rows.append(
            (
                s.connection_id + 40,
                "thread/sql/one_connection",
                "FOREGROUND",
                s.connection_id,
                s.user,
                s.client_host,
                s.database,
                s.command,
                int(now - s.started),
                s.state or None,
                s.info,
                None,
                None,
                "YES",
                "YES",
                "SSL/TLS" if s.tls else "TCP/IP",
                1000 + s.connection_id,
                "USR_default",
            )
        )
    import sys

    pst = sys.modules.get("mysqlsim.replication.pstables")
    extra = getattr(pst, "thread_rows", None) if pst is not None else None
    if extra is not None:
        ncols = 18
        for r in extra(inst):
            row = tuple(r)
            rows.append(row + (None,) * (ncols - len(row)) if len(row) < ncols else row[:ncols])
    return rows


_PROCESSLIST_COLUMNS = [
    ("ID", I),
    ("USER", T),
    ("HOST", T),
    ("DB", T),
    ("COMMAND", T),
    ("TIME", I),
    ("STATE", T),
    ("INFO", T),
]


@system_table(
    "performance_schema",
    "processlist",
    columns=[*_PROCESSLIST_COLUMNS, ("EXECUTION_ENGINE", T)],
)
def ps_processlist(inst: Any) -> list[tuple[Any, ...]]:
    now = time.time()
    return [
        (
            s.connection_id,
            s.user,
            s.client_host,
            s.database,
            s.command,
            int(now - s.started),
            s.state,
            s.info,
            "PRIMARY",
        )
        for s in processlist(inst)
    ]


@system_table(
    "information_schema",
    "processlist",
    columns=_PROCESSLIST_COLUMNS,
)
def is_processlist(inst: Any) -> list[tuple[Any, ...]]:
    # The same rows as performance_schema.processlist without EXECUTION_ENGINE.
    return [row[:-1] for row in ps_processlist(inst)]


@system_table(
    "information_schema",
    "plugins",
    columns=[
        ("PLUGIN_NAME", T),
        ("PLUGIN_VERSION", T),
        ("PLUGIN_STATUS", T),
        ("PLUGIN_TYPE", T),
        ("PLUGIN_LIBRARY", T),
        ("PLUGIN_LIBRARY_VERSION", T),
        ("PLUGIN_AUTHOR", T),
        ("PLUGIN_DESCRIPTION", T),
        ("PLUGIN_LICENSE", T),
        ("LOAD_OPTION", T),
    ],
)
def plugins(inst: Any) -> list[tuple[Any, ...]]:
    return plugin_rows(inst)


@system_table("mysql", "plugin", columns=[("name", T), ("dl", T)])
def mysql_plugin(inst: Any) -> list[tuple[Any, ...]]:
    return [(r[0], r[4]) for r in plugin_rows(inst) if r[4]]


@system_table(
    "information_schema",
    "schemata",
    columns=[
        ("CATALOG_NAME", T),
        ("SCHEMA_NAME", T),
        ("DEFAULT_CHARACTER_SET_NAME", T),
        ("DEFAULT_COLLATION_NAME", T),
        ("SQL_PATH", T),
        ("DEFAULT_ENCRYPTION", T),
    ],
)
def schemata(inst: Any) -> list[tuple[Any, ...]]:
    return [("def", s, "utf8mb4", "utf8mb4_0900_ai_ci", None, "NO") for s in inst.engine.schemas()]


@system_table(
    "information_schema",
    "tables",
    columns=[
        ("TABLE_CATALOG", T),
        ("TABLE_SCHEMA", T),
        ("TABLE_NAME", T),
        ("TABLE_TYPE", T),
        ("ENGINE", T),
        ("VERSION", I),
        ("ROW_FORMAT", T),
        ("TABLE_ROWS", I),
        ("AVG_ROW_LENGTH", I),
        ("DATA_LENGTH", I),
        ("CREATE_TIME", TS),
        ("TABLE_COLLATION", T),
        ("TABLE_COMMENT", T),
    ],
)
def tables(inst: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for schema, name, engine, created, ttype in inst.engine.all_tables():
        rows.append(
            (
                "def",
                schema,
                name,
                ttype,
                engine,
                10,
                "Dynamic",
                0,
                0,
                16384,
                created,
                "utf8mb4_0900_ai_ci",
                "",
            )
        )
    for schema, name in sorted(SYSTEM_TABLES):
        ttype = "SYSTEM VIEW" if schema == "information_schema" else "BASE TABLE"
        engine = (
            "PERFORMANCE_SCHEMA"
            if schema == "performance_schema"
            else (None if schema == "information_schema" else "InnoDB")
        )
        rows.append(
            ("def", schema, name, ttype, engine, 10, "Dynamic", 0, 0, 0, None, "utf8mb4_0900_ai_ci", "")
        )
    return rows


@system_table(
    "information_schema",
    "columns",
    columns=[
        ("TABLE_CATALOG", T),
        ("TABLE_SCHEMA", T),
        ("TABLE_NAME", T),
        ("COLUMN_NAME", T),
        ("ORDINAL_POSITION", I),
        ("COLUMN_DEFAULT", T),
        ("IS_NULLABLE", T),
        ("DATA_TYPE", T),
        ("COLUMN_TYPE", T),
        ("COLUMN_KEY", T),
        ("EXTRA", T),
    ],
)
def columns(inst: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for schema, table, col, pos, mtype, nullable, key, dflt, extra in inst.engine.all_columns():
        rows.append(
            (
                "def",
                schema,
                table,
                col,
                pos,
                dflt,
                nullable,
                str(mtype).split("(")[0].split()[0],
                mtype,
                key,
                extra,
            )
        )
    return rows


@system_table(
    "information_schema",
    "statistics",
    columns=[
        ("TABLE_SCHEMA", T),
        ("TABLE_NAME", T),
        ("NON_UNIQUE", I),
        ("INDEX_NAME", T),
        ("SEQ_IN_INDEX", I),
        ("COLUMN_NAME", T),
        ("NULLABLE", T),
    ],
)
def statistics(inst: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    seq: dict[tuple[str, str], int] = {}
    for schema, table, col, _pos, _t, _n, key, _d, _e in inst.engine.all_columns():
        if key == "PRI":
            k = (schema, table)
            seq[k] = seq.get(k, 0) + 1
            rows.append((schema, table, 0, "PRIMARY", seq[k], col, ""))
    return rows


@system_table("information_schema", "engines", columns=[("ENGINE", T), ("SUPPORT", T), ("TRANSACTIONS", T)])
def engines(inst: Any) -> list[tuple[Any, ...]]:
    return [("InnoDB", "DEFAULT", "YES"), ("MEMORY", "YES", "NO"), ("PERFORMANCE_SCHEMA", "YES", "NO")]


def _yn(b: bool) -> str:
    return "Y" if b else "N"


_USER_PRIV_COLS = [
    ("Select_priv", "SELECT"),
    ("Insert_priv", "INSERT"),
    ("Update_priv", "UPDATE"),
    ("Delete_priv", "DELETE"),
    ("Create_priv", "CREATE"),
    ("Drop_priv", "DROP"),
    ("Reload_priv", "RELOAD"),
    ("Shutdown_priv", "SHUTDOWN"),
    ("Process_priv", "PROCESS"),
    ("File_priv", "FILE"),
    ("References_priv", "REFERENCES"),
    ("Index_priv", "INDEX"),
    ("Alter_priv", "ALTER"),
    ("Show_db_priv", "SHOW DATABASES"),
    ("Super_priv", "SUPER"),
    ("Create_tmp_table_priv", "CREATE TEMPORARY TABLES"),
    ("Lock_tables_priv", "LOCK TABLES"),
    ("Execute_priv", "EXECUTE"),
    ("Repl_slave_priv", "REPLICATION SLAVE"),
    ("Repl_client_priv", "REPLICATION CLIENT"),
    ("Create_view_priv", "CREATE VIEW"),
    ("Show_view_priv", "SHOW VIEW"),
    ("Create_routine_priv", "CREATE ROUTINE"),
    ("Alter_routine_priv", "ALTER ROUTINE"),
    ("Create_user_priv", "CREATE USER"),
    ("Event_priv", "EVENT"),
    ("Trigger_priv", "TRIGGER"),
    ("Create_tablespace_priv", "CREATE TABLESPACE"),
    ("Create_role_priv", "CREATE ROLE"),
    ("Drop_role_priv", "DROP ROLE"),
]
assert {p for _, p in _USER_PRIV_COLS} == set(STATIC_PRIVILEGES)


@system_table(
    "mysql",
    "user",
    columns=[
        ("Host", T),
        ("User", T),
        *[(c, T) for c, _ in _USER_PRIV_COLS],
        ("Grant_priv", T),
        ("plugin", T),
        ("authentication_string", T),
        ("password_expired", T),
        ("account_locked", T),
        ("User_attributes", T),
    ],
)
def mysql_user(inst: Any) -> list[tuple[Any, ...]]:
    rows = []
    for acc in sorted(inst.accounts.accounts.values(), key=lambda a: (a.host, a.user)):
        privs = [_yn(p in acc.global_privs) for _, p in _USER_PRIV_COLS]
        auth = ("*" + acc.auth_string.upper()) if acc.auth_string else ""
        rows.append(
            (
                acc.host,
                acc.user,
                *privs,
                _yn(acc.global_grant_option),
                acc.plugin,
                auth,
                _yn(acc.password_expired),
                _yn(acc.locked),
                acc.attributes,
            )
        )
    return rows


@system_table(
    "mysql",
    "db",
    columns=[
        ("Host", T),
        ("Db", T),
        ("User", T),
        *[(p.title().replace(" ", "_") + "_priv", T) for p in DB_PRIVILEGES],
        ("Grant_priv", T),
    ],
)
def mysql_db(inst: Any) -> list[tuple[Any, ...]]:
    rows = []
    for acc in inst.accounts.accounts.values():
        for db, privs in sorted(acc.db_privs.items()):
            rows.append(
                (
                    acc.host,
                    db,
                    acc.user,
                    *[_yn(p in privs) for p in DB_PRIVILEGES],
                    _yn(db in acc.db_grant_option),
                )
            )
    return rows


@system_table(
    "mysql", "global_grants", columns=[("USER", T), ("HOST", T), ("PRIV", T), ("WITH_GRANT_OPTION", T)]
)
def global_grants(inst: Any) -> list[tuple[Any, ...]]:
    rows = []
    for acc in inst.accounts.accounts.values():
        for p in sorted(acc.global_privs - set(STATIC_PRIVILEGES)):
            rows.append((acc.user, acc.host, p, _yn(acc.global_grant_option)))
    return rows


@system_table(
    "mysql",
    "tables_priv",
    columns=[("Host", T), ("Db", T), ("User", T), ("Table_name", T), ("Grantor", T), ("Table_priv", T)],
)
def tables_priv(inst: Any) -> list[tuple[Any, ...]]:
    rows = []
    for acc in inst.accounts.accounts.values():
        for (db, t), privs in sorted(acc.table_privs.items()):
            rows.append(
                (acc.host, db, acc.user, t, "root@localhost", ",".join(p.title() for p in sorted(privs)))
            )
    return rows


@system_table(
    "performance_schema",
    "log_status",
    columns=[("SERVER_UUID", T), ("LOCAL", T), ("REPLICATION", T), ("STORAGE_ENGINES", T)],
)
def log_status(inst: Any) -> list[tuple[Any, ...]]:
    import json

    local = {
        "gtid_executed": inst.gtid_executed.format(",\n"),
        "binary_log_file": inst.binlog.current.name,
        "binary_log_position": inst.binlog.current.size,
    }
    return [(inst.server_uuid, json.dumps(local), json.dumps({"channels": []}), json.dumps({}))]


# --- status variables -----------------------------------------------------------------------------


@status_variable("Uptime")
def _uptime(inst: Any) -> int:
    return int(time.time() - inst.started_at)


@status_variable("Threads_connected")
def _threads_connected(inst: Any) -> int:
    return len(inst.sessions)


@status_variable("Slave_open_temp_tables")
def _slave_open_temp_tables(inst: Any) -> int:
    return 0


@status_variable("Replica_open_temp_tables")
def _replica_open_temp_tables(inst: Any) -> int:
    return 0


@status_variable("Ssl_cipher")
def _ssl_cipher(inst: Any) -> str:
    return ""


@status_variable("Ssl_version")
def _ssl_version(inst: Any) -> str:
    return ""


@status_variable("Questions")
def _questions(inst: Any) -> int:
    return int(inst.extensions.get("core.questions", 0))


@status_variable("Com_commit")
def _com_commit(inst: Any) -> int:
    return len(inst.binlog.current.transactions)


def _show(v: Any) -> str:
    return show_value(v)


def _grantee(acc: Any) -> str:
    return f"'{acc.user}'@'{acc.host}'"


@system_table(
    "information_schema",
    "user_privileges",
    columns=[("GRANTEE", T), ("TABLE_CATALOG", T), ("PRIVILEGE_TYPE", T), ("IS_GRANTABLE", T)],
)
def user_privileges(inst: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for acc in inst.accounts.accounts.values():
        g = "YES" if acc.global_grant_option else "NO"
        privs = [p for p in STATIC_PRIVILEGES if p in acc.global_privs] + sorted(
            acc.global_privs - set(STATIC_PRIVILEGES)
        )
        if not privs:
            rows.append((_grantee(acc), "def", "USAGE", g))
        rows.extend((_grantee(acc), "def", p, g) for p in privs)
    return rows


@system_table(
    "information_schema",
    "schema_privileges",
    columns=[
        ("GRANTEE", T),
        ("TABLE_CATALOG", T),
        ("TABLE_SCHEMA", T),
        ("PRIVILEGE_TYPE", T),
        ("IS_GRANTABLE", T),
    ],
)
def schema_privileges(inst: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for acc in inst.accounts.accounts.values():
        for db, privs in sorted(acc.db_privs.items()):
            g = "YES" if db in acc.db_grant_option else "NO"
            rows.extend((_grantee(acc), "def", db, p, g) for p in DB_PRIVILEGES if p in privs)
    return rows


@system_table(
    "information_schema",
    "table_privileges",
    columns=[
        ("GRANTEE", T),
        ("TABLE_CATALOG", T),
        ("TABLE_SCHEMA", T),
        ("TABLE_NAME", T),
        ("PRIVILEGE_TYPE", T),
        ("IS_GRANTABLE", T),
    ],
)
def table_privileges(inst: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for acc in inst.accounts.accounts.values():
        for (db, t), privs in sorted(acc.table_privs.items()):
            g = "YES" if (db, t) in acc.table_grant_option else "NO"
            rows.extend((_grantee(acc), "def", db, t, p, g) for p in sorted(privs))
    return rows
