"""The core's statements (registered through :mod:`mysqlsim.registry`): SET, USE, transactions, SHOW,
account management, plugins, locks, KILL, binary-log administration, RESET PERSIST, CALL, RESTART.

Why it exists: these are the server statements the orchestrator and the AdminAPI run that are not plain
data statements; each follows the manual's syntax, privileges and errors.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import re
import time
from typing import Any

from mysqlsim import engine as eng
from mysqlsim import errors
from mysqlsim.accounts import DB_PRIVILEGES, STATIC_PRIVILEGES, Account
from mysqlsim.gtid import GtidSet
from mysqlsim.registry import (
    PLUGINS,
    PROCEDURES,
    STATUS_VARIABLES,
    SYSTEM_VARIABLES,
    Result,
    StatementContext,
    UserVariable,
    emit,
    plugin,
    sql_function,
    statement,
)
from mysqlsim.session import SimSession
from mysqlsim.variables import coerce, show_value

plugin("clone", soname="mysql_clone.so", type="CLONE", description="CLONE PLUGIN")
plugin(
    "group_replication",
    soname="group_replication.so",
    type="GROUP REPLICATION",
    description="Group Replication (1.1.0)",
)

# --- splitting helpers ----------------------------------------------------------------------------


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside quotes and parentheses."""
    out: list[str] = []
    depth = 0
    quote: str | None = None
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            cur.append(ch)
        elif ch == "(":
            depth += 1
            cur.append(ch)
        elif ch == ")":
            depth -= 1
            cur.append(ch)
        elif ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return [p.strip() for p in out]


_STRING = re.compile(r"""^(?:'((?:[^'\\]|\\.|'')*)'|"((?:[^"\\]|\\.|"")*)")$""", re.DOTALL)
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")


def unquote(s: str) -> str:
    s = s.strip()
    m = _STRING.match(s)
    if m:
        body = m.group(1) if m.group(1) is not None else m.group(2)
        return (
            body.replace("''", "'")
            .replace('""', '"')
            .replace("\\'", "'")
            .replace('\\"', '"')
            .replace("\\\\", "\\")
        )
    if len(s) >= 2 and s[0] == "`" and s[-1] == "`":
        return s[1:-1]
    return s


async def value_of(s: SimSession, text: str) -> tuple[Any, bool]:
    """The value of a SET right-hand side; returns (value, is_default)."""
    t = text.strip()
    if t.upper() == "DEFAULT":
        return None, True
    if _STRING.match(t):
        return unquote(t), False
    if _NUMBER.match(t):
        return (float(t) if ("." in t or "e" in t.lower()) else int(t)), False
    if re.fullmatch(r"[A-Za-z_][\w-]*", t) and t.upper() not in ("NULL", "TRUE", "FALSE"):
        return t, False  # bare word: SET GLOBAL binlog_format = ROW
    if t.upper() == "TRUE":
        return 1, False
    if t.upper() == "FALSE":
        return 0, False
    return await s.eval_expr(t), False


def account_name(text: str) -> tuple[str, str]:
    """``'u'@'h'`` / ``u@h`` / ``u`` -> (user, host)."""
    t = text.strip()
    m = re.match(
        r"""^((?:'[^']*'|"[^"]*"|`[^`]*`|[^@\s]+))(?:\s*@\s*((?:'[^']*'|"[^"]*"|`[^`]*`|\S+)))?$""", t
    )
    if not m:
        raise errors.syntax_error(t)
    return unquote(m.group(1)), unquote(m.group(2)) if m.group(2) else "%"


# --- SET ------------------------------------------------------------------------------------------

_SET_ITEM = re.compile(
    r"^(?:(GLOBAL|SESSION|LOCAL|PERSIST_ONLY|PERSIST)\s+)?"
    r"(?:@@(?:(GLOBAL|SESSION|LOCAL|PERSIST_ONLY|PERSIST)\.)?|(@))?"
    r"`?([A-Za-z_][\w$]*)`?(?:\.`?([A-Za-z_][\w$]*)`?)?\s*(?::=|=)\s*(.*)$",
    re.IGNORECASE | re.DOTALL,
)


@statement(r"^SET\s+(?:NAMES|CHARACTER\s+SET|CHARSET)\b")
async def set_names(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    return Result.ok()


@statement(r"^SET\s+(?:(GLOBAL|SESSION|LOCAL)\s+)?TRANSACTION\s+(.*)$")
async def set_transaction(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    body = m.group(2).upper()
    lm = re.search(
        r"ISOLATION\s+LEVEL\s+(READ\s+UNCOMMITTED|READ\s+COMMITTED|REPEATABLE\s+READ|SERIALIZABLE)", body
    )
    if lm is None and not re.search(r"READ\s+(ONLY|WRITE)", body):
        raise errors.syntax_error(sql)
    if lm and (m.group(1) or "").upper() == "GLOBAL":
        ctx.require("SUPER", "SYSTEM_VARIABLES_ADMIN")
        ctx.instance.variables.set_global_internal("transaction_isolation", re.sub(r"\s+", "-", lm.group(1)))
    return Result.ok()


@statement(r"^SET\s+PASSWORD\b(?:\s+FOR\s+(.+?))?\s*=\s*(.+)$")
async def set_password(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    await s.implicit_commit()
    s.check_read_only()
    if m.group(1):
        user, host = account_name(m.group(1))
        acc = ctx.instance.accounts.get(user, host)
        if not (s.account is not None and acc is s.account):
            s.require_table("UPDATE", "mysql", "user") if not s.has_global("CREATE USER") else None
    else:
        acc = s.account
    if acc is None:
        raise errors.password_no_match()
    acc.auth_string = __import__("mysqlsim.accounts", fromlist=["x"]).native_auth_string(unquote(m.group(2)))
    acc.password_expired = False
    await s.log_statement(sql)
    return Result.ok()


@statement(r"^SET\s+(.*)$")
async def set_statement(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    scope_kw: str | None = None
    for item in split_top(m.group(1)):
        im = _SET_ITEM.match(item)
        if im is None:
            raise errors.syntax_error(item)
        kw, at_scope, user_var, name, sub, rhs = im.groups()
        if kw:
            scope_kw = kw.upper()
        if user_var:
            val, _ = await value_of(s, rhs)
            s.user_vars[name.lower()] = val
            continue
        scope = (at_scope.upper() if at_scope else None) or scope_kw or "SESSION"
        if scope == "LOCAL":
            scope = "SESSION"
        if sub:  # @@global.x written with the scope as a prefix of a dotted name is not valid here
            raise errors.syntax_error(item)
        await set_variable(s, name, rhs, scope)
    return Result.ok()


async def set_variable(s: SimSession, name: str, rhs: str, scope: str) -> None:
    inst = s.instance
    store = inst.variables
    n = name.lower()
    vd = store.definition(n)
    if vd is None:
        raise errors.unknown_system_variable(name)
    value, is_default = await value_of(s, rhs)
    if is_default:
        value = vd.default if scope != "SESSION" or vd.scope == "SESSION" else store.get_global(n)
    # special variables
    if n == "gtid_next":
        if scope != "SESSION":
            raise errors.local_variable(n)
        s.require_global("REPLICATION_APPLIER", "SYSTEM_VARIABLES_ADMIN", "SESSION_VARIABLES_ADMIN", "SUPER")
        txt = str(value).strip()
        if txt.upper() in ("AUTOMATIC", "ANONYMOUS"):
            s.vars["gtid_next"] = txt.upper()
        else:
            u, gno = GtidSet.parse_gtid(txt)
            if s.in_txn or s.sqlite_txn:
                raise errors.variable_not_settable_in_transaction("gtid_next")
            s.vars["gtid_next"] = f"{u}:{gno}"
        s.gtid_next_used = False
        return
    if n == "sql_log_bin":
        if scope != "SESSION":
            raise errors.local_variable(n)
        s.require_global("SYSTEM_VARIABLES_ADMIN", "SESSION_VARIABLES_ADMIN", "SUPER")
        if s.in_txn or s.sqlite_txn:
            raise errors.variable_not_settable_in_transaction("sql_log_bin")
        s.vars[n] = coerce(vd, value)
        return
    if n == "gtid_purged":
        if scope not in ("GLOBAL", "PERSIST"):
            raise errors.global_variable(n)
        s.require_global("SUPER", "SYSTEM_VARIABLES_ADMIN")
        txt = str(value).strip()
        plus = txt.startswith("+")
        new = GtidSet.parse(txt[1:] if plus else txt)
        if plus:
            if not new.intersection(inst.gtid_executed).is_empty():
                raise errors.MySQLError(
                    3546,
                    "HY000",
                    "@@GLOBAL.GTID_PURGED cannot be changed: the added gtid "
                    "set must not overlap with @@GLOBAL.GTID_EXECUTED",
                )
            inst.gtid_purged = inst.gtid_purged.union(new)
        else:
            if not inst.gtid_purged.is_subset(new):
                raise errors.gtid_purged_not_superset()
            overlap = new.subtract(inst.gtid_purged).intersection(inst.gtid_executed)
            if not overlap.is_empty():
                raise errors.MySQLError(
                    3546,
                    "HY000",
                    "@@GLOBAL.GTID_PURGED cannot be changed: the new value "
                    "must be a superset of the old value and not overlap with "
                    "@@GLOBAL.GTID_EXECUTED",
                )
            inst.gtid_purged = new
        inst.gtid_executed = inst.gtid_executed.union(inst.gtid_purged)
        inst.gtid_changed.fire()
        return
    if vd.getter is not None or (not vd.dynamic and scope != "PERSIST_ONLY"):
        raise errors.read_only_variable(n)
    if scope == "SESSION":
        if vd.scope == "GLOBAL":
            raise errors.global_variable(n)
        v = coerce(vd, value)
        if vd.on_set is not None:
            r = vd.on_set(inst, s, v)
            v = v if r is None else r
        if n == "autocommit" and v and not s.session_value("autocommit"):
            s.vars[n] = v
            await s.implicit_commit()
        s.vars[n] = v
        return
    # GLOBAL / PERSIST / PERSIST_ONLY
    if vd.scope == "SESSION":
        raise errors.local_variable(n)
    s.require_global(*vd.privilege)
    if scope == "PERSIST_ONLY":
        s.require_global("PERSIST_RO_VARIABLES_ADMIN")
        if not vd.persistable:
            raise errors.read_only_variable(n)
    if scope in ("PERSIST", "PERSIST_ONLY") and not vd.persistable:
        raise errors.read_only_variable(n)
    v = coerce(vd, value)
    if scope != "PERSIST_ONLY":
        if vd.on_set is not None:
            r = vd.on_set(inst, s, v)
            v = v if r is None else r
        store.set_global_internal(n, v)
        store.set_info[n] = (time.time(), s.user, s.client_host)
        await emit("variable_changed", inst, n, v)
    if scope in ("PERSIST", "PERSIST_ONLY"):
        store.persist(n, v, user=s.user, host=s.client_host, only=scope == "PERSIST_ONLY")
        if n == "super_read_only" and v and scope == "PERSIST":
            # the documented coupling is persisted as well
            store.persist("read_only", True, user=s.user, host=s.client_host, only=False)
        if n == "read_only" and not v and scope == "PERSIST":
            store.persist("super_read_only", False, user=s.user, host=s.client_host, only=False)


@statement(r"^RESET\s+PERSIST(?:\s+(IF\s+EXISTS))?(?:\s+`?([A-Za-z_][\w$]*)`?)?$")
async def reset_persist(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ctx.require("SUPER", "SYSTEM_VARIABLES_ADMIN")
    name = m.group(2)
    store = ctx.instance.variables
    if name is not None and m.group(1) and name.lower() not in store.persisted:
        ctx.session.note(3615, f"Variable {name} does not exist in persisted config file", level="Warning")
        return Result.ok()
    store.reset_persist(name, if_exists=bool(m.group(1)))
    return Result.ok()


# --- USE / transactions ---------------------------------------------------------------------------


@statement(r"^USE\s+`?([^`\s;]+)`?$")
async def use(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    name = m.group(1)
    if not ctx.instance.engine.schema_exists(name):
        raise errors.bad_db(name)
    if (
        name.lower() not in eng.BUILTIN_SCHEMAS
        and ctx.session.account is not None
        and not (ctx.session.internal or ctx.session.account.has_any_in_schema(name))
    ):
        acc = ctx.session.account
        raise errors.db_access_denied(acc.user, acc.host, name)
    ctx.session.database = name
    return Result.ok()


@statement(
    r"^(?:BEGIN(?:\s+WORK)?|START\s+TRANSACTION(?:\s+(?:READ\s+ONLY|READ\s+WRITE|WITH\s+CONSISTENT\s+SNAPSHOT)"
    r"(?:\s*,\s*(?:READ\s+ONLY|READ\s+WRITE|WITH\s+CONSISTENT\s+SNAPSHOT))*)?)$"
)
async def begin(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    await s.implicit_commit()
    s.in_txn = True
    s.txn_read_only = bool(re.search(r"READ\s+ONLY", sql, re.IGNORECASE))
    return Result.ok()


@statement(r"^COMMIT(?:\s+WORK)?(?:\s+AND\s+NO\s+CHAIN)?(?:\s+NO\s+RELEASE)?$")
async def commit(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    await ctx.session.commit()
    return Result.ok()


@statement(r"^ROLLBACK(?:\s+WORK)?(?:\s+AND\s+NO\s+CHAIN)?(?:\s+NO\s+RELEASE)?$")
async def rollback(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    await ctx.session.rollback()
    return Result.ok()


@statement(r"^DO\s+(.+)$")
async def do(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    await ctx.session.select("SELECT " + m.group(1))
    return Result.ok()


# --- SHOW -----------------------------------------------------------------------------------------


def _like_rx(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE | re.DOTALL)


async def _filter(
    ctx: StatementContext, cols: list[str], rows: list[tuple[Any, ...]], cond: str | None, like_col: int = 0
) -> Result:
    if not cond:
        return Result(columns=cols, rows=rows)
    cm = re.match(r"^LIKE\s+(.+)$", cond.strip(), re.IGNORECASE | re.DOTALL)
    if cm:
        rx = _like_rx(unquote(cm.group(1)))
        return Result(columns=cols, rows=[r for r in rows if rx.match(str(r[like_col]))])
    wm = re.match(r"^WHERE\s+(.+)$", cond.strip(), re.IGNORECASE | re.DOTALL)
    if not wm:
        raise errors.syntax_error(cond)
    conn = ctx.instance.engine.conn
    name = "__show"
    eng.create_temp_table(conn, name, [(c, "TEXT") for c in cols], rows)
    try:
        tree = eng.parse(f"SELECT * FROM `{name}` WHERE {wm.group(1)}")
        await ctx.session._substitute(tree, deterministic=False)
        cur = conn.execute(
            tree.sql(dialect="sqlite")
            .replace(f'FROM "{name}"', f'FROM temp."{name}"')
            .replace(f"FROM {name}", f'FROM temp."{name}"')
        )
        return Result(columns=cols, rows=[tuple(r) for r in cur.fetchall()])
    finally:
        conn.execute(f'DROP TABLE IF EXISTS temp."{name}"')


_SORTED_VARIABLES: tuple[int, list[str]] = (0, [])


def variable_rows(s: SimSession, scope: str) -> list[tuple[str, str]]:
    global _SORTED_VARIABLES
    if _SORTED_VARIABLES[0] != len(SYSTEM_VARIABLES):
        _SORTED_VARIABLES = (len(SYSTEM_VARIABLES), sorted(SYSTEM_VARIABLES))
    inst = s.instance
    store = inst.variables
    values = store.values
    rows = []
    for n in _SORTED_VARIABLES[1]:
        vd = store.definition(n)
        if vd is None:
            continue
        if scope == "GLOBAL":
            if vd.scope == "SESSION":
                continue
            if vd.getter is not None:
                v = vd.getter(inst)
            else:
                v = values.get(n, vd.default)
        else:
            v = s.get_var(n)
        rows.append((n, show_value(v)))
    return rows


def status_rows(inst: Any, session: SimSession | None = None) -> list[tuple[str, str]]:
    """Status variables; with a session, the session-scoped ones (Ssl_cipher, Ssl_version) are its own."""
    rows = []
    for n in sorted(STATUS_VARIABLES, key=str.lower):
        try:
            v = STATUS_VARIABLES[n](inst)
        except Exception:
            continue
        if session is not None and n == "Ssl_cipher":
            v = session.tls_cipher
        elif session is not None and n == "Ssl_version":
            v = session.tls_version
        rows.append((n, show_value(v)))
    return rows


@statement(r"^SHOW\s+(?:(GLOBAL|SESSION|LOCAL)\s+)?VARIABLES(?:\s+(.+))?$")
async def show_variables(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    scope = (m.group(1) or "SESSION").upper()
    rows = variable_rows(ctx.session, "GLOBAL" if scope == "GLOBAL" else "SESSION")
    return await _filter(ctx, ["Variable_name", "Value"], list(rows), m.group(2))


@statement(r"^SHOW\s+(?:(GLOBAL|SESSION|LOCAL)\s+)?STATUS(?:\s+(.+))?$")
async def show_status(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    session = None if (m.group(1) or "").upper() == "GLOBAL" else ctx.session
    return await _filter(
        ctx, ["Variable_name", "Value"], list(status_rows(ctx.instance, session)), m.group(2)
    )


@statement(r"^SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+(.+))?$")
async def show_databases(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    names = ctx.instance.engine.schemas()
    if not (s.internal or s.has_global("SHOW DATABASES")) and s.account is not None:
        acc = s.account
        names = [
            n for n in names if n in ("information_schema", "performance_schema") or acc.has_any_in_schema(n)
        ]
    return await _filter(ctx, ["Database"], [(n,) for n in names], m.group(1))


@statement(r"^SHOW\s+(FULL\s+)?TABLES(?:\s+(?:FROM|IN)\s+`?(\w+)`?)?(?:\s+(.+))?$")
async def show_tables(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    db = m.group(2) or ctx.session.database
    if not db:
        raise errors.no_db_selected()
    e = ctx.instance.engine
    from mysqlsim.registry import SYSTEM_TABLES

    if db.lower() in eng.VIRTUAL_SCHEMAS or db.lower() == "mysql":
        names = sorted({t for (sc, t) in SYSTEM_TABLES if sc == db.lower()} | set(e.tables(db.lower())))
    else:
        if not e.schema_exists(db):
            raise errors.bad_db(db)
        names = e.tables(db)
    col = f"Tables_in_{db}"
    if m.group(1):
        return await _filter(ctx, [col, "Table_type"], [(n, "BASE TABLE") for n in names], m.group(3))
    return await _filter(ctx, [col], [(n,) for n in names], m.group(3))


@statement(
    r"^SHOW\s+(?:FULL\s+)?(?:COLUMNS|FIELDS)\s+(?:FROM|IN)\s+(\S+)(?:\s+(?:FROM|IN)\s+`?(\w+)`?)?(?:\s+(.+))?$"
)
async def show_columns(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ref = m.group(1).replace("`", "")
    schema, _, table = ref.rpartition(".")
    schema = m.group(2) or schema or ctx.session.database or ""
    if not schema:
        raise errors.no_db_selected()
    from mysqlsim.registry import SYSTEM_TABLES

    st = SYSTEM_TABLES.get((schema.lower(), table.lower()))
    if st is not None:
        rows = [(c, t.lower(), "YES", "", None, "") for c, t in st.columns]
    else:
        if not ctx.instance.engine.table_exists(schema, table):
            raise errors.no_such_table(schema, table)
        rows = [
            (r[2], r[4], r[5], r[6], r[7], r[8])
            for r in ctx.instance.engine.all_columns()
            if r[0] == schema and r[1] == table
        ]
    return await _filter(ctx, ["Field", "Type", "Null", "Key", "Default", "Extra"], rows, m.group(3))


@statement(r"^SHOW\s+GRANTS(?:\s+FOR\s+(.+?))?(?:\s+USING\s+.+)?$")
async def show_grants(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    store = ctx.instance.accounts
    if m.group(1) and m.group(1).strip().upper() not in ("CURRENT_USER", "CURRENT_USER()"):
        user, host = account_name(m.group(1))
        acc = store.get(user, host)
        if acc is None:
            raise errors.nonexisting_grant(user, host)
        if acc is not s.account and not (s.internal or (s.account and s.account.has("SELECT", "mysql"))):
            raise errors.db_access_denied(s.user, s.client_host, "mysql")
    else:
        acc = s.account
        if acc is None:
            raise errors.nonexisting_grant(s.user, s.client_host)
    lines = store.show_grants(acc)
    return Result(columns=[f"Grants for {acc.user}@{acc.host}"], rows=[(line,) for line in lines])


@statement(r"^SHOW\s+CREATE\s+USER\s+(.+)$")
async def show_create_user(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    user, host = account_name(m.group(1))
    acc = ctx.instance.accounts.get(user, host)
    if acc is None:
        raise errors.cannot_user("SHOW CREATE USER", f"'{user}'@'{host}'")
    text = (
        f"CREATE USER `{acc.user}`@`{acc.host}` IDENTIFIED WITH '{acc.plugin}' "
        f"AS '*{acc.auth_string.upper()}' "
        f"REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT {'LOCK' if acc.locked else 'UNLOCK'}"
    )
    return Result(columns=[f"CREATE USER for {acc.user}@{acc.host}"], rows=[(text,)])


@statement(r"^SHOW\s+(?:BINARY|MASTER)\s+LOGS$")
async def show_binary_logs(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ctx.require("REPLICATION CLIENT", "SUPER")
    rows = [(f.name, f.size, "No") for f in ctx.instance.binlog.files]
    return Result(columns=["Log_name", "File_size", "Encrypted"], rows=rows)


@statement(r"^SHOW\s+(MASTER\s+STATUS|BINARY\s+LOG\s+STATUS)$")
async def show_binlog_status(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    inst = ctx.instance
    which = m.group(1).upper().split()[0]
    if which == "MASTER" and inst.version_tuple >= (8, 4, 0):
        raise errors.syntax_error("MASTER STATUS")
    if which == "BINARY" and inst.version_tuple < (8, 2, 0):
        raise errors.syntax_error("BINARY LOG STATUS")
    ctx.require("REPLICATION CLIENT", "SUPER")
    f = inst.binlog.current
    return Result(
        columns=["File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB", "Executed_Gtid_Set"],
        rows=[(f.name, f.size, "", "", inst.gtid_executed.format(",\n"))],
    )


@statement(r"^SHOW\s+(FULL\s+)?PROCESSLIST$")
async def show_processlist(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    rows = []
    s = ctx.session
    for sess in processlist(ctx.instance):
        if not (s.internal or s.has_global("PROCESS")) and sess.user != s.user:
            continue
        info = sess.info if m.group(1) or sess.info is None else sess.info[:100]
        rows.append(
            (
                sess.connection_id,
                sess.user,
                sess.client_host,
                sess.database,
                sess.command,
                int(time.time() - sess.started),
                sess.state,
                info,
            )
        )
    return Result(columns=["Id", "User", "Host", "db", "Command", "Time", "State", "Info"], rows=rows)


def processlist(inst: Any) -> list[SimSession]:
    return sorted(inst.sessions.values(), key=lambda x: x.connection_id)


@statement(r"^SHOW\s+PLUGINS$")
async def show_plugins(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    rows = [(r[0], r[2], r[3], r[5], "GPL") for r in plugin_rows(ctx.instance)]
    return Result(columns=["Name", "Status", "Type", "Library", "License"], rows=rows)


@statement(r"^SHOW\s+(?:COUNT\(\*\)\s+)?(WARNINGS|ERRORS)(?:\s+LIMIT\s+.+)?$")
async def show_warnings(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ws = ctx.session.warnings if m.group(1).upper() == "WARNINGS" else []
    if "COUNT" in sql.upper():
        return Result(columns=[f"@@session.{m.group(1).lower()[:-1]}_count"], rows=[(len(ws),)])
    return Result(columns=["Level", "Code", "Message"], rows=list(ws))


@statement(r"^SHOW\s+ENGINES$")
async def show_engines(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    return Result(
        columns=["Engine", "Support", "Comment", "Transactions", "XA", "Savepoints"],
        rows=[
            (
                "InnoDB",
                "DEFAULT",
                "Supports transactions, row-level locking, and foreign keys",
                "YES",
                "YES",
                "YES",
            ),
            ("MEMORY", "YES", "Hash based, stored in memory", "NO", "NO", "NO"),
        ],
    )


@statement(r"^SHOW\s+CREATE\s+TABLE\s+(\S+)$")
async def show_create_table(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ref = m.group(1).replace("`", "")
    schema, _, table = ref.rpartition(".")
    schema = schema or ctx.session.database or ""
    if not ctx.instance.engine.table_exists(schema, table):
        raise errors.no_such_table(schema, table)
    cols = [r for r in ctx.instance.engine.all_columns() if r[0] == schema and r[1] == table]
    parts = []
    pk = []
    for r in cols:
        d = f"  `{r[2]}` {r[4]}" + (" NOT NULL" if r[5] == "NO" else "")
        if r[8]:
            d += " AUTO_INCREMENT"
        parts.append(d)
        if r[6] == "PRI":
            pk.append(f"`{r[2]}`")
    if pk:
        parts.append(f"  PRIMARY KEY ({','.join(pk)})")
    text = (
        f"CREATE TABLE `{table}` (\n" + ",\n".join(parts) + "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
        "COLLATE=utf8mb4_0900_ai_ci"
    )
    return Result(columns=["Table", "Create Table"], rows=[(table, text)])


# --- accounts -------------------------------------------------------------------------------------

_IDENT = r"""(?:'[^']*'|"[^"]*"|`[^`]*`|[\w.\-%]+)(?:\s*@\s*(?:'[^']*'|"[^"]*"|`[^`]*`|[\w.\-%:]+))?"""


def _user_specs(text: str) -> list[tuple[str, str, str | None, str | None]]:
    """``u@h IDENTIFIED BY 'pw', ...`` -> [(user, host, password, auth_string)]."""
    out = []
    for part in split_top(text):
        m = re.match(
            rf"^({_IDENT})(?:\s+IDENTIFIED\s+(?:WITH\s+['`\"]?(\w+)['`\"]?\s*)?(?:BY\s+('(?:[^'\\]|\\.)*'|\"[^\"]*\")"
            rf"|AS\s+('[^']*'))?)?(.*)$",
            part.strip(),
            re.IGNORECASE | re.DOTALL,
        )
        if not m:
            raise errors.syntax_error(part)
        user, host = account_name(m.group(1))
        pw = unquote(m.group(3)) if m.group(3) else None
        auth = unquote(m.group(4)).lstrip("*").lower() if m.group(4) else None
        out.append((user, host, pw, auth))
    return out


def _strip_user_options(text: str) -> str:
    # drop the options after the user list that mysqlsim does not model
    return re.split(
        r"\s+(?:REQUIRE|WITH\s+MAX_|PASSWORD\s+EXPIRE|PASSWORD\s+HISTORY|PASSWORD\s+REUSE|PASSWORD\s+REQUIRE|"
        r"FAILED_LOGIN|ACCOUNT\s+(?:LOCK|UNLOCK)|COMMENT|ATTRIBUTE|DEFAULT\s+ROLE)\b",
        text,
        maxsplit=1,
        flags=re.IGNORECASE,
    )[0]


def _require_ssl(text: str) -> bool | None:
    m = re.search(r"\bREQUIRE\s+(NONE|SSL|X509|ISSUER|SUBJECT|CIPHER)\b", text, re.IGNORECASE)
    if m is None:
        return None
    return m.group(1).upper() != "NONE"


async def _account_admin(ctx: StatementContext) -> None:
    s = ctx.session
    await s.implicit_commit()
    s.check_read_only()
    if not s.has_global("CREATE USER"):
        raise errors.specific_access_denied("CREATE USER")


@statement(r"^CREATE\s+USER\s+(IF\s+NOT\s+EXISTS\s+)?(.+)$")
async def create_user(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    await _account_admin(ctx)
    store = ctx.instance.accounts
    specs = _user_specs(_strip_user_options(m.group(2)))
    lock = bool(re.search(r"\bACCOUNT\s+LOCK\b", m.group(2), re.IGNORECASE))
    existing = [f"'{u}'@'{h}'" for u, h, _, _ in specs if store.get(u, h) is not None]
    if existing and not m.group(1):
        raise errors.cannot_user("CREATE USER", ",".join(existing))
    for ident in existing:
        ctx.session.note(3163, f"Authorization ID {ident} already exists.")
    require_ssl = _require_ssl(m.group(2))
    for u, h, pw, auth in specs:
        if store.get(u, h) is None:
            acc = store.create(
                u, h, pw if pw is not None else ("" if auth is None else None), auth_string=auth
            )
            acc.locked = lock
            acc.require_ssl = bool(require_ssl)
    await ctx.session.log_statement(sql)
    return Result.ok()


@statement(r"^DROP\s+USER\s+(IF\s+EXISTS\s+)?(.+)$")
async def drop_user(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    await _account_admin(ctx)
    store = ctx.instance.accounts
    names = [account_name(p) for p in split_top(m.group(2))]
    missing = [f"'{u}'@'{h}'" for u, h in names if store.get(u, h) is None]
    if missing and not m.group(1):
        raise errors.cannot_user("DROP USER", ",".join(missing))
    for ident in missing:
        ctx.session.note(3162, f"Authorization ID {ident} does not exist.")
    for u, h in names:
        store.drop(u, h)
    await ctx.session.log_statement(sql)
    return Result.ok()


@statement(r"^ALTER\s+USER\s+(IF\s+EXISTS\s+)?(.+)$")
async def alter_user(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    await s.implicit_commit()
    s.check_read_only()
    store = ctx.instance.accounts
    body = m.group(2)
    lock = re.search(r"\bACCOUNT\s+(LOCK|UNLOCK)\b", body, re.IGNORECASE)
    specs = _user_specs(_strip_user_options(body))
    for u, h, pw, auth in specs:
        if u.upper() in ("USER()", "CURRENT_USER()", "CURRENT_USER") and s.account is not None:
            acc: Account | None = s.account
        else:
            acc = store.get(u, h)
            if acc is not s.account and not s.has_global("CREATE USER"):
                raise errors.specific_access_denied("CREATE USER")
        if acc is None:
            if m.group(1):
                continue
            raise errors.cannot_user("ALTER USER", f"'{u}'@'{h}'")
        if pw is not None:
            from mysqlsim.accounts import native_auth_string

            acc.auth_string = native_auth_string(pw)
            acc.password_expired = False
        elif auth is not None:
            acc.auth_string = auth
        if lock:
            acc.locked = lock.group(1).upper() == "LOCK"
        rs = _require_ssl(body)
        if rs is not None:
            acc.require_ssl = rs
    await s.log_statement(sql)
    return Result.ok()


_PRIV_LIST = re.compile(
    r"^(.*?)\s+ON\s+(?:(TABLE|FUNCTION|PROCEDURE)\s+)?(\S+)\s+(TO|FROM)\s+(.+)$", re.IGNORECASE | re.DOTALL
)


def _parse_privs(text: str, store: Any) -> list[str]:
    out = []
    for p in split_top(text):
        name = re.sub(r"\s+", " ", p.strip().upper())
        name = re.sub(r"\s*\(.*\)$", "", name)  # column lists are not modelled
        if name in ("ALL", "ALL PRIVILEGES", "USAGE"):
            out.append(name)
            continue
        if (
            name not in STATIC_PRIVILEGES
            and name not in store.valid_dynamic()
            and name != "GRANT OPTION"
            and name != "PROXY"
        ):
            raise errors.syntax_error(p)
        out.append(name)
    return out


def _target(text: str, s: SimSession) -> tuple[str, str]:
    t = text.replace("`", "").strip()
    if t == "*":
        if not s.database:
            raise errors.no_db_selected()
        return s.database, "*"
    if t == "*.*":
        return "*", "*"
    schema, _, table = t.partition(".")
    if not table:
        if not s.database:
            raise errors.no_db_selected()
        return s.database, schema
    return schema, table


@statement(r"^GRANT\s+(.+)$")
async def grant(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    await s.implicit_commit()
    s.check_read_only()
    store = ctx.instance.accounts
    body = m.group(1)
    wgo = bool(re.search(r"\s+WITH\s+GRANT\s+OPTION\s*$", body, re.IGNORECASE))
    body = re.sub(r"\s+WITH\s+GRANT\s+OPTION\s*$", "", body, flags=re.IGNORECASE)
    pm = _PRIV_LIST.match(body)
    if pm is None or pm.group(4).upper() != "TO":
        raise (
            errors.not_supported_yet("GRANT of roles / PROXY")
            if pm is None and " ON " not in body.upper()
            else errors.syntax_error(body)
        )
    privs = _parse_privs(pm.group(1), store)
    schema, table = _target(pm.group(3), s)
    if schema != "*" and table == "*":
        bad = [
            p
            for p in privs
            if p not in DB_PRIVILEGES and p not in ("ALL", "ALL PRIVILEGES", "USAGE", "GRANT OPTION")
        ]
        if bad:
            raise errors.illegal_grant_for_table()
    if table != "*":
        bad = [
            p
            for p in privs
            if p
            not in (
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "CREATE",
                "DROP",
                "REFERENCES",
                "INDEX",
                "ALTER",
                "CREATE VIEW",
                "SHOW VIEW",
                "TRIGGER",
                "ALL",
                "ALL PRIVILEGES",
                "USAGE",
                "GRANT OPTION",
            )
        ]
        if bad:
            raise errors.illegal_grant_for_table()
        if (
            schema not in eng.BUILTIN_SCHEMAS
            and not ctx.instance.engine.table_exists(schema, table)
            and schema != "mysql_innodb_cluster_metadata"
        ):
            raise errors.no_such_table(schema, table)
    # the grantor needs the privileges WITH GRANT OPTION (global grant option suffices here)
    if not s.internal:
        acc = s.account
        if acc is None or not (acc.global_grant_option or (schema in acc.db_grant_option)):
            raise errors.specific_access_denied("GRANT OPTION")
        missing = [
            p
            for p in privs
            if p not in ("ALL", "ALL PRIVILEGES", "USAGE", "GRANT OPTION")
            and not acc.has(p, None if schema == "*" else schema, None if table == "*" else table)
        ]
        if missing:
            if schema == "*":
                raise errors.specific_access_denied(missing[0])
            raise errors.db_access_denied(acc.user, acc.host, schema)
    grantees = [account_name(x) for x in split_top(pm.group(5))]
    for u, h in grantees:
        if store.get(u, h) is None:
            raise errors.MySQLError(1410, "42000", "You are not allowed to create a user with GRANT")
    for u, h in grantees:
        acc2 = store.get(u, h)
        assert acc2 is not None
        store.grant(
            acc2,
            [p for p in privs if p != "GRANT OPTION"],
            schema,
            table,
            grant_option=wgo or "GRANT OPTION" in privs,
        )
    await s.log_statement(sql)
    return Result.ok()


@statement(r"^REVOKE\s+(IF\s+EXISTS\s+)?(.+)$")
async def revoke(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    await s.implicit_commit()
    s.check_read_only()
    store = ctx.instance.accounts
    body = re.sub(r"\s+IGNORE\s+UNKNOWN\s+USER\s*$", "", m.group(2), flags=re.IGNORECASE)
    am = re.match(
        r"^ALL(?:\s+PRIVILEGES)?\s*,\s*GRANT\s+OPTION\s+FROM\s+(.+)$", body, re.IGNORECASE | re.DOTALL
    )
    if am:
        if not s.has_global("CREATE USER"):
            raise errors.specific_access_denied("CREATE USER")
        for u, h in (account_name(x) for x in split_top(am.group(1))):
            acc = store.get(u, h)
            if acc is None:
                raise errors.cannot_user("REVOKE", f"'{u}'@'{h}'")
            acc.global_privs.clear()
            acc.global_grant_option = False
            acc.db_privs.clear()
            acc.db_grant_option.clear()
            acc.table_privs.clear()
            acc.table_grant_option.clear()
        await s.log_statement(sql)
        return Result.ok()
    pm = _PRIV_LIST.match(body)
    if pm is None or pm.group(4).upper() != "FROM":
        raise errors.syntax_error(body)
    privs = _parse_privs(pm.group(1), store)
    schema, table = _target(pm.group(3), s)
    if not s.internal:
        acc0 = s.account
        if acc0 is None or not acc0.global_grant_option:
            raise errors.specific_access_denied("GRANT OPTION")
    for u, h in (account_name(x) for x in split_top(pm.group(5))):
        acc = store.get(u, h)
        if acc is None:
            raise errors.nonexisting_grant(u, h)
        try:
            store.revoke(
                acc,
                [p for p in privs if p != "GRANT OPTION"],
                schema,
                table,
                grant_option="GRANT OPTION" in privs,
            )
        except errors.MySQLError:
            if not m.group(1):
                raise
    await s.log_statement(sql)
    return Result.ok()


@statement(r"^RENAME\s+USER\s+(.+)$")
async def rename_user(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    await _account_admin(ctx)
    store = ctx.instance.accounts
    for pair in split_top(m.group(1)):
        pm = re.match(r"^(.+?)\s+TO\s+(.+)$", pair, re.IGNORECASE)
        if not pm:
            raise errors.syntax_error(pair)
        (u1, h1), (u2, h2) = account_name(pm.group(1)), account_name(pm.group(2))
        acc = store.get(u1, h1)
        if acc is None or store.get(u2, h2) is not None:
            raise errors.cannot_user("RENAME USER", f"'{u1}'@'{h1}'")
        store.drop(u1, h1)
        acc.user, acc.host = u2, h2
        store.accounts[(u2, h2)] = acc
    await ctx.session.log_statement(sql)
    return Result.ok()


@statement(r"^FLUSH\s+(?:LOCAL\s+|NO_WRITE_TO_BINLOG\s+)?PRIVILEGES$")
async def flush_privileges(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ctx.require("RELOAD", "FLUSH_PRIVILEGES")
    return Result.ok()


# --- plugins --------------------------------------------------------------------------------------


def plugin_rows(inst: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        (
            "binlog",
            "1.0",
            "ACTIVE",
            "STORAGE ENGINE",
            None,
            None,
            "Oracle Corporation",
            "This is a pseudo storage engine to represent the binlog in a transaction",
            "GPL",
            "FORCE",
        ),
        (
            "mysql_native_password",
            "1.1",
            "ACTIVE",
            "AUTHENTICATION",
            None,
            None,
            "Oracle Corporation",
            "Native MySQL authentication",
            "GPL",
            "FORCE",
        ),
        (
            "InnoDB",
            "8.0",
            "ACTIVE",
            "STORAGE ENGINE",
            None,
            None,
            "Oracle Corporation",
            "Supports transactions, row-level locking, and foreign keys",
            "GPL",
            "FORCE",
        ),
        (
            "PERFORMANCE_SCHEMA",
            "0.1",
            "ACTIVE",
            "STORAGE ENGINE",
            None,
            None,
            "Marc Alff, Oracle",
            "Performance Schema",
            "GPL",
            "FORCE",
        ),
    ]
    for name, status in sorted(inst.plugins.items()):
        pd = PLUGINS.get(name)
        if pd is None:
            continue
        rows.append(
            (
                pd.name,
                "1.1" if name == "group_replication" else "1.0",
                status,
                pd.type,
                pd.soname,
                None,
                pd.author,
                pd.description,
                "GPL",
                "ON",
            )
        )
    return rows


@statement(r"^INSTALL\s+PLUGIN\s+`?(\w+)`?\s+SONAME\s+('[^']*'|\"[^\"]*\")$")
async def install_plugin(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    inst = ctx.instance
    s.check_read_only()
    s.require_table("INSERT", "mysql", "plugin")
    name = m.group(1).lower()
    soname = unquote(m.group(2))
    pd = PLUGINS.get(name)
    if pd is None or pd.soname != soname:
        raise errors.cant_open_library(soname)
    if inst.plugin_active(name):
        raise errors.udf_exists(name)
    inst.install_plugin(name)
    store = inst.variables
    for vn, vd in SYSTEM_VARIABLES.items():
        if vd.plugin == name and vd.scope != "SESSION":
            pv = store.persisted.get(vn)
            store.values[vn] = coerce(vd, pv.value) if pv is not None else vd.default
            store.sources[vn] = "PERSISTED" if pv is not None else "COMPILED"
    await emit("plugin_installed", inst, name)
    return Result.ok()


@statement(r"^UNINSTALL\s+PLUGIN\s+`?(\w+)`?$")
async def uninstall_plugin(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    inst = ctx.instance
    s.check_read_only()
    s.require_table("DELETE", "mysql", "plugin")
    name = m.group(1).lower()
    if name not in inst.plugins:
        raise errors.plugin_does_not_exist(name)
    await emit("plugin_uninstalling", inst, name)
    del inst.plugins[name]
    await emit("plugin_uninstalled", inst, name)
    return Result.ok()


# --- locks / kill ---------------------------------------------------------------------------------


@statement(r"^FLUSH\s+TABLES\s+WITH\s+READ\s+LOCK$")
async def ftwrl(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    ctx.require("RELOAD")
    inst = ctx.instance
    await s.implicit_commit()
    if inst.read_lock_holder is s:
        return Result.ok()
    timeout = float(s.get_var("lock_wait_timeout"))
    deadline = time.monotonic() + timeout
    s.state = "Waiting for global read lock"
    while inst.read_lock_holder is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise errors.lock_wait_timeout()
        await inst.read_lock_released.wait_for(left)
    # waits for open transactions (holders of the write lock) to finish
    s.state = "Waiting for commit lock"
    while inst.write_lock.locked():
        left = deadline - time.monotonic()
        if left <= 0:
            raise errors.lock_wait_timeout()
        await asyncio.sleep(0.01)
    s.state = ""
    inst.read_lock_holder = s
    s.holds_read_lock = True
    return Result.ok()


@statement(r"^UNLOCK\s+(?:TABLES|TABLE)$")
async def unlock_tables(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    if ctx.instance.read_lock_holder is s:
        ctx.instance.release_read_lock()
        s.holds_read_lock = False
    return Result.ok()


@statement(r"^KILL\s+(?:(CONNECTION|QUERY)\s+)?(\d+)$")
async def kill(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    tid = int(m.group(2))
    target = ctx.instance.sessions.get(tid)
    if target is None:
        raise errors.unknown_thread(tid)
    if target.user != s.user and not (s.has_global("CONNECTION_ADMIN") or s.has_global("SUPER")):
        raise errors.not_thread_owner(tid)
    query_only = (m.group(1) or "").upper() == "QUERY"
    if target is s and not query_only:
        target.killed = True
        if target.kill_hook is not None:
            asyncio.get_running_loop().call_soon(target.kill_hook, True)
        return Result.ok()
    if target.kill_hook is not None:
        if query_only:
            if target.command != "Sleep":
                target.kill_hook(False)
        else:
            target.killed = True
            target.kill_hook(True)
    return Result.ok()


# --- binary logs ----------------------------------------------------------------------------------


@statement(r"^PURGE\s+(?:BINARY|MASTER)\s+LOGS\s+(TO|BEFORE)\s+(.+)$")
async def purge_binary_logs(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ctx.require("BINLOG_ADMIN", "SUPER")
    inst = ctx.instance
    arg = m.group(2).strip()
    if m.group(1).upper() == "TO":
        name = unquote(arg)
        try:
            gone = inst.binlog.purge_to(name)
        except KeyError:
            raise errors.MySQLError(1373, "HY000", "Target log not found in binlog index") from None
    else:
        val = await ctx.session.eval_expr(arg)
        try:
            ts = _dt.datetime.fromisoformat(str(val)).timestamp()
        except ValueError:
            raise errors.wrong_arguments("PURGE LOGS BEFORE") from None
        gone = inst.binlog.purge_before(ts)
    inst.purge_transactions(gone)
    return Result.ok()


@statement(r"^FLUSH\s+(?:LOCAL\s+|NO_WRITE_TO_BINLOG\s+)?(?:BINARY\s+LOGS|LOGS)$")
async def flush_binary_logs(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ctx.require("RELOAD")
    ctx.instance.binlog.rotate()
    return Result.ok()


@statement(
    r"^FLUSH\s+(?:LOCAL\s+|NO_WRITE_TO_BINLOG\s+)?(?:STATUS|TABLES|HOSTS|USER_RESOURCES|OPTIMIZER_COSTS)$"
)
async def flush_misc(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ctx.require("RELOAD")
    return Result.ok()


@statement(r"^RESET\s+(MASTER|BINARY\s+LOGS\s+AND\s+GTIDS)$")
async def reset_master(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    inst = ctx.instance
    kw = m.group(1).upper()
    if kw == "MASTER" and inst.version_tuple >= (8, 4, 0):
        raise errors.syntax_error("MASTER")
    if kw != "MASTER" and inst.version_tuple < (8, 2, 0):
        raise errors.syntax_error(m.group(1))
    ctx.require("RELOAD")
    inst.binlog.reset()
    inst.gtid_executed = GtidSet()
    inst.gtid_purged = GtidSet()
    inst._reserved_gno = {}
    inst.gtid_changed.fire()
    await emit("binlog_reset", inst)
    return Result.ok()


# --- CALL / RESTART / SHUTDOWN --------------------------------------------------------------------


@statement(r"^CALL\s+(?:`?(\w+)`?\.)?`?(\w+)`?\s*(?:\((.*)\))?$")
async def call(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    s = ctx.session
    schema = m.group(1) or s.database
    if not schema:
        raise errors.no_db_selected()
    name = m.group(2)
    proc = PROCEDURES.get((schema.lower(), name.lower()))
    if proc is None or (proc.requires_schema and not ctx.instance.engine.schema_exists(schema)):
        raise errors.procedure_does_not_exist(schema, name)
    if not s.internal and s.account is not None and not s.account.has("EXECUTE", schema):
        raise errors.MySQLError(
            1370,
            "42000",
            f"execute command denied to user '{s.account.user}'@"
            f"'{s.account.host}' for routine '{schema}.{name}'",
        )
    args: list[Any] = []
    if m.group(3) and m.group(3).strip():
        for a in split_top(m.group(3)):
            a = a.strip()
            um = re.fullmatch(r"@`?([\w$.]+)`?", a)
            if um is not None:
                args.append(UserVariable(um.group(1).lower(), s.user_vars.get(um.group(1).lower())))
            elif _STRING.match(a):
                args.append(unquote(a))
            else:
                args.append((await value_of(s, a))[0])
    r = await proc.fn(ctx, *args)
    return r if r is not None else Result.ok()


@statement(r"^RESTART$")
async def restart(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ctx.require("SHUTDOWN")
    world = ctx.world
    host = ctx.instance.host
    asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(world.restart(host)))
    return Result.ok()


@statement(r"^SHUTDOWN$")
async def shutdown(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    ctx.require("SHUTDOWN")
    world = ctx.world
    host = ctx.instance.host
    asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(world.kill(host)))
    return Result.ok()


# --- GTID functions -------------------------------------------------------------------------------


@sql_function("gtid_subset", pre_evaluate=False)
def gtid_subset(ctx: StatementContext | None, a: Any = None, b: Any = None, *rest: Any) -> Any:
    if rest:
        raise errors.wrong_paramcount_to_native_fct("GTID_SUBSET")
    if a is None or b is None:
        return None
    return int(GtidSet.parse(str(a)).is_subset(GtidSet.parse(str(b))))


@sql_function("gtid_subtract", pre_evaluate=False)
def gtid_subtract(ctx: StatementContext | None, a: Any = None, b: Any = None, *rest: Any) -> Any:
    if rest:
        raise errors.wrong_paramcount_to_native_fct("GTID_SUBTRACT")
    if a is None or b is None:
        return None
    return GtidSet.parse(str(a)).subtract(GtidSet.parse(str(b))).format(",\n")


@sql_function("wait_for_executed_gtid_set")
async def wait_for_executed_gtid_set(
    ctx: StatementContext, gtids: Any = None, seconds: Any = None, *rest: Any
) -> Any:
    """0 when the set is executed, 1 on timeout (seconds; no timeout or 0 waits indefinitely)."""
    if rest or (gtids is None and seconds is None):
        raise errors.wrong_paramcount_to_native_fct("WAIT_FOR_EXECUTED_GTID_SET")
    if gtids is None:
        return None
    target = GtidSet.parse(str(gtids))
    inst = ctx.instance
    t = float(seconds) if seconds is not None else 0.0
    if t < 0:
        raise errors.wrong_arguments("WAIT_FOR_EXECUTED_GTID_SET.")
    deadline = None if t == 0 else time.monotonic() + t
    s = ctx.session
    s.state = "Waiting for GTID to be committed"
    while not target.is_subset(inst.gtid_executed):
        if not inst.running:
            raise errors.server_shutdown()
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return 1
        await inst.gtid_changed.wait_for(min(left, 1.0) if left is not None else 1.0)
    return 0


@statement(
    r"^SHOW\s+(?:INDEX|INDEXES|KEYS)\s+(?:FROM|IN)\s+(\S+)(?:\s+(?:FROM|IN)\s+`?(\w+)`?)?(?:\s+(.+))?$"
)
async def show_index(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    """SHOW INDEX: the PRIMARY key (other indexes are accepted by CREATE TABLE but not modelled)."""
    ref = m.group(1).replace("`", "")
    schema, _, table = ref.rpartition(".")
    schema = m.group(2) or schema or ctx.session.database or ""
    if not schema:
        raise errors.no_db_selected()
    if not ctx.instance.engine.table_exists(schema, table):
        raise errors.no_such_table(schema, table)
    cols = [
        "Table",
        "Non_unique",
        "Key_name",
        "Seq_in_index",
        "Column_name",
        "Collation",
        "Cardinality",
        "Sub_part",
        "Packed",
        "Null",
        "Index_type",
        "Comment",
        "Index_comment",
        "Visible",
        "Expression",
    ]
    rows: list[tuple[Any, ...]] = []
    seq = 0
    for r in ctx.instance.engine.all_columns():
        if r[0] == schema and r[1] == table and r[6] == "PRI":
            seq += 1
            rows.append(
                (table, 0, "PRIMARY", seq, r[2], "A", 0, None, None, "", "BTREE", "", "", "YES", None)
            )
    return await _filter(ctx, cols, rows, m.group(3), like_col=2)


@sql_function("sleep")
async def sleep(ctx: StatementContext, seconds: Any = None, *rest: Any) -> Any:
    """SLEEP(n): pauses the statement (0); interrupted by KILL QUERY."""
    if rest:
        raise errors.wrong_paramcount_to_native_fct("sleep")
    if seconds is None:
        raise errors.wrong_arguments("sleep.")
    s = float(seconds)
    if s < 0:
        raise errors.wrong_arguments("sleep.")
    ctx.session.state = "User sleep"
    await asyncio.sleep(s)
    return 0
