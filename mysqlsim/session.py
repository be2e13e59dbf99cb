"""A client session on one instance: statement dispatch, variables, transactions and privilege checks.

Why it exists: every statement (from a client over the wire, from the control API, or from a replication
applier) goes through :meth:`SimSession.execute`.  Raw SQL is matched against the registry's statement rules
first (mysql-mimic's own parser never sees it); SELECT, DML and DDL fall through to the SQLite engine.
Anything unknown is refused with MySQL's error, never answered with a silent OK.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from mysqlsim import engine as eng
from mysqlsim import errors, plans
from mysqlsim.accounts import Account
from mysqlsim.binlog import BinlogEvent
from mysqlsim.gtid import GtidSet
from mysqlsim.registry import (
    SQL_FUNCTIONS,
    SYSTEM_TABLES,
    Result,
    StatementContext,
    candidate_rules,
)
from mysqlsim.variables import coerce, select_value

if TYPE_CHECKING:
    from mysqlsim.instance import Instance
    from mysqlsim.world import World

logging.getLogger("sqlglot").setLevel(logging.ERROR)

#: the session whose statement is running inside SQLite (for per-row registered functions)
CURRENT_CONTEXT: contextvars.ContextVar[StatementContext | None] = contextvars.ContextVar(
    "mysqlsim_ctx", default=None
)

_FIRST_WORD = re.compile(r"\s*\(*\s*([A-Za-z_]+)")
_COMMENT = re.compile(r"^\s*(/\*(?!!).*?\*/\s*|--[^\n]*\n\s*|#[^\n]*\n\s*)+", re.DOTALL)
_VERSIONED_COMMENT = re.compile(r"/\*!(\d{5})?\s*(.*?)\*/", re.DOTALL)
_SELECT_VARS = re.compile(
    r"^\s*SELECT\s+(@@(?:(?:GLOBAL|SESSION|LOCAL)\.)?[A-Za-z_][\w]*(?:\s+AS\s+`?\w+`?)?"
    r"(?:\s*,\s*@@(?:(?:GLOBAL|SESSION|LOCAL)\.)?[A-Za-z_][\w]*(?:\s+AS\s+`?\w+`?)?)*)\s*(?:LIMIT\s+1)?\s*$",
    re.IGNORECASE,
)
_VAR_ITEM = re.compile(r"@@(?:(GLOBAL|SESSION|LOCAL)\.)?([A-Za-z_]\w*)(?:\s+AS\s+`?(\w+)`?)?", re.IGNORECASE)

NONDETERMINISTIC = {"NOW", "SYSDATE", "UUID", "UNIX_TIMESTAMP", "CURRENT_TIMESTAMP", "UTC_TIMESTAMP", "RAND"}

DML_PRIV = {exp.Insert: "INSERT", exp.Update: "UPDATE", exp.Delete: "DELETE"}


class SimSession:
    """One connection's state.  Also used for internal sessions (control API, appliers)."""

    def __init__(
        self,
        instance: Instance,
        *,
        user: str = "root",
        client_host: str = "localhost",
        account: Account | None = None,
        internal: bool = False,
        applier: bool = False,
    ) -> None:
        self.instance = instance
        self.user = user
        self.client_host = client_host
        self.account = account
        self.internal = internal
        #: replication applier: not blocked by read_only/super_read_only, no privilege checks
        self.applier = applier
        self.database: str | None = None
        self.vars: dict[str, Any] = {}
        self.user_vars: dict[str, Any] = {}
        self.connection_id = instance.next_connection_id()
        self.in_txn = False  # explicit transaction (BEGIN or autocommit=0)
        self.txn_read_only = False  # START TRANSACTION READ ONLY
        self.sqlite_txn = False  # SQLite BEGIN issued (holds the instance's write lock)
        self.events: list[BinlogEvent] = []
        self.gtid_next_used = False
        self.last_insert_id = 0
        self.tls = False
        #: SHOW WARNINGS of the last statement: (level, code, message)
        self.warnings: list[tuple[str, int, str]] = []
        self.tls_cipher = ""
        self.tls_version = ""
        self.command = "Sleep"
        self.state = ""
        self.info: str | None = None
        self.started = time.time()
        self.killed = False
        self.holds_read_lock = False
        self.task: asyncio.Task[Any] | None = None
        #: control API's inject_errant: commit locally, bypassing replication hooks
        self.errant = False
        #: appliers keep the source's original_commit_timestamp
        self.original_commit_ts: float | None = None
        self.kill_hook: Callable[[bool], None] | None = None
        self.ctx = StatementContext(self, instance, instance.world)

    # --- identity / privileges --------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self.client_host

    @property
    def world(self) -> World:
        return self.instance.world

    def current_user(self) -> str:
        if self.account is not None:
            return f"{self.account.user}@{self.account.host}"
        return f"{self.user}@{self.client_host}"

    def has_global(self, privilege: str) -> bool:
        if self.internal or self.applier:
            return True
        acc = self.account
        return bool(acc and acc.has_global(privilege))

    def require_global(self, *privileges: str) -> None:
        if not privileges or any(self.has_global(p) for p in privileges):
            return
        raise errors.specific_access_denied(" or ".join(privileges))

    def require_privilege(self, *privileges: str) -> None:
        self.require_global(*privileges)

    def require_table(self, privilege: str, schema: str, table: str) -> None:
        if self.internal or self.applier:
            return
        acc = self.account
        if acc is not None and acc.has(privilege, schema, table):
            return
        u = acc.user if acc else self.user
        raise errors.table_access_denied(privilege, u, self.client_host, table)

    def require_schema(self, privilege: str, schema: str) -> None:
        if self.internal or self.applier:
            return
        acc = self.account
        if acc is not None and acc.has(privilege, schema):
            return
        u, h = (acc.user, acc.host) if acc else (self.user, self.client_host)
        raise errors.db_access_denied(u, h, schema)

    # --- variables --------------------------------------------------------------------------------
    def get_var(self, name: str, scope: str | None = None) -> Any:
        """``@@name`` / ``@@global.name`` / ``@@session.name`` (typed)."""
        n = name.lower()
        store = self.instance.variables
        vd = store.definition(n)
        if vd is None:
            raise errors.unknown_system_variable(name)
        sc = (scope or "").upper()
        if sc == "LOCAL":
            sc = "SESSION"
        if sc == "GLOBAL":
            if vd.scope == "SESSION":
                raise errors.incorrect_global_local_var(n, "SESSION")
            return store.get_global(n)
        if sc == "SESSION" and vd.scope == "GLOBAL":
            raise errors.incorrect_global_local_var(n, "GLOBAL")
        if vd.scope == "GLOBAL":
            return store.get_global(n)
        return self.session_value(n)

    def session_value(self, n: str) -> Any:
        if n in self.vars:
            return self.vars[n]
        special = self._special_session(n)
        if special is not None:
            return special
        vd = self.instance.variables.definition(n)
        assert vd is not None
        if vd.scope == "BOTH":
            v = self.instance.variables.get_global(n)
        else:
            v = vd.default
        self.vars[n] = v
        return v

    def _special_session(self, n: str) -> Any:
        if n == "warning_count":
            return len(self.warnings)
        if n == "error_count":
            return 0
        if n == "pseudo_thread_id":
            return self.connection_id
        if n == "last_insert_id" or n == "identity":
            return self.last_insert_id
        if n == "external_user":
            return ""
        if n == "timestamp":
            return time.time()
        return None

    # --- execution --------------------------------------------------------------------------------
    async def execute(self, sql: str) -> Result:
        """Run one statement and return its result; raises MySQLError."""
        inst = self.instance
        if not inst.running:
            raise errors.server_shutdown()
        if self.killed:
            raise errors.connection_killed()
        sql = _strip(sql)
        if not sql:
            raise errors.empty_query()
        m = _FIRST_WORD.match(sql)
        if not m:
            raise errors.syntax_error(sql)
        word = m.group(1).upper()
        if word != "SHOW" and not (word == "SELECT" and "warning_count" in sql.lower()):
            self.warnings = []
        self.command = "Query"
        self.info = sql
        try:
            for rule in candidate_rules(word):
                mm = rule.pattern.match(sql)
                if mm is None:
                    continue
                if rule.privilege:
                    self.require_global(*rule.privilege)
                if rule.writes:
                    self.check_read_only()
                if rule.implicit_commit:
                    await self.implicit_commit()
                self._check_gtid_next(word)
                token = CURRENT_CONTEXT.set(self.ctx)
                try:
                    return await rule.handler(self.ctx, sql, mm)
                finally:
                    CURRENT_CONTEXT.reset(token)
            self._check_gtid_next(word)
            if word in ("SELECT", "WITH", "TABLE", "VALUES"):
                return await self.select(sql)
            if word in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
                return await self.dml(sql)
            if word in ("CREATE", "DROP", "ALTER", "TRUNCATE", "RENAME"):
                return await self.ddl(sql)
            raise errors.syntax_error(sql)
        except BaseException:
            # a failed statement outside an explicit transaction leaves nothing behind (SQLite already
            # undid the statement itself inside a transaction)
            if self.sqlite_txn and not self.in_txn and not self.applier:
                await self.rollback()
            raise
        finally:
            self.command = "Sleep"
            self.info = None
            self.state = ""

    def note(self, code: int, message: str, *, level: str = "Note") -> None:
        """Add a note/warning for SHOW WARNINGS (sql_notes=OFF suppresses notes)."""
        if level == "Note" and not self.session_value("sql_notes"):
            return
        self.warnings.append((level, code, message))

    def _check_gtid_next(self, word: str) -> None:
        if self.gtid_next_used and word not in ("SET", "COMMIT", "ROLLBACK", "SHOW"):
            raise errors.gtid_next_type_undefined(str(self.session_value("gtid_next")))

    # --- read-only / locks ------------------------------------------------------------------------
    def check_read_only(self) -> None:
        """Error 1290 when the instance refuses client writes (appliers are never blocked); 1792 inside a
        READ ONLY transaction."""
        if self.txn_read_only and self.in_txn:
            raise errors.MySQLError(1792, "25006", "Cannot execute statement in a READ ONLY transaction.")
        if self.applier or self.internal:
            return
        v = self.instance.variables
        if v.get_raw("super_read_only"):
            raise errors.option_prevents_statement("--super-read-only")
        if v.get_raw("read_only") and not (self.has_global("CONNECTION_ADMIN") or self.has_global("SUPER")):
            raise errors.option_prevents_statement("--read-only")

    async def wait_global_read_lock(self) -> None:
        inst = self.instance
        if inst.read_lock_holder is None or self.applier:
            return
        if inst.read_lock_holder is self:
            raise errors.cant_update_with_readlock()
        timeout = float(self.get_var("lock_wait_timeout"))
        self.state = "Waiting for global read lock"
        deadline = time.monotonic() + timeout
        while inst.read_lock_holder is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.lock_wait_timeout()
            await inst.read_lock_released.wait_for(remaining)
        self.state = ""

    async def begin_write(self) -> None:
        """Take the instance's write lock and open the SQLite transaction (first write of a transaction)."""
        if self.sqlite_txn:
            return
        inst = self.instance
        await self.wait_global_read_lock()
        timeout = float(self.get_var("innodb_lock_wait_timeout"))
        try:
            await asyncio.wait_for(inst.write_lock.acquire(), timeout)
        except TimeoutError:
            raise errors.lock_wait_timeout() from None
        inst.write_lock_owner = self
        inst.engine.conn.execute("BEGIN")
        self.sqlite_txn = True

    def _release_write(self) -> None:
        inst = self.instance
        if self.sqlite_txn:
            self.sqlite_txn = False
            if inst.write_lock_owner is self:
                inst.write_lock_owner = None
                inst.write_lock.release()

    # --- transactions -----------------------------------------------------------------------------
    def explicit_gtid(self) -> str | None:
        gn = str(self.session_value("gtid_next"))
        if gn.upper() in ("AUTOMATIC", "ANONYMOUS", "") or gn.upper().startswith("AUTOMATIC"):
            return None
        return gn

    async def commit(self) -> None:
        """COMMIT: GTID assignment, binlog, hooks (inside Instance.commit)."""
        gtid = self.explicit_gtid()
        if self.events or self.sqlite_txn or gtid is not None:
            if self.events or (gtid is not None and not self.gtid_next_used):
                await self.wait_global_read_lock()
            try:
                await self.instance.commit(
                    self,
                    list(self.events),
                    explicit_gtid=None if self.gtid_next_used else gtid,
                    log_bin=bool(self.session_value("sql_log_bin")),
                    original_commit_timestamp=self.original_commit_ts,
                )
            finally:
                self.events.clear()
                self._release_write()
            if gtid is not None:
                self.gtid_next_used = True
        self.in_txn = False
        self.txn_read_only = False

    async def rollback(self) -> None:
        if self.sqlite_txn:
            try:
                self.instance.engine.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        self.events.clear()
        self._release_write()
        self.in_txn = False
        self.txn_read_only = False
        if self.explicit_gtid() is not None:
            # ROLLBACK with an explicit GTID: the GTID is not consumed, but the manual requires a new SET
            self.gtid_next_used = True

    async def implicit_commit(self) -> None:
        if self.in_txn or self.sqlite_txn or self.events:
            await self.commit()

    async def end_statement(self) -> None:
        """After a data statement: commit in autocommit mode."""
        if not self.in_txn and bool(self.session_value("autocommit")):
            await self.commit()
        elif not self.in_txn:
            self.in_txn = True

    async def abort(self) -> None:
        """Connection closed / killed / server crash: roll back whatever is open."""
        await self.rollback()
        inst = self.instance
        if inst.read_lock_holder is self:
            inst.release_read_lock()

    # --- SELECT -----------------------------------------------------------------------------------
    async def select(self, sql: str) -> Result:
        m = _SELECT_VARS.match(sql)
        if m is not None:
            cols: list[str] = []
            row: list[Any] = []
            for vm in _VAR_ITEM.finditer(m.group(1)):
                scope, name, alias = vm.group(1), vm.group(2), vm.group(3)
                cols.append(alias or vm.group(0).split()[0])
                row.append(select_value(self.get_var(name, scope)))
            return Result(columns=cols, rows=[tuple(row)])
        tp = plans.templatize(sql)
        if tp is not None:
            plan = plans.select_plan(tp[0], len(tp[1]), self.database)
            if plan is not None:
                return self._run_select_plan(plan, tp[1])
        tree = eng.parse(sql)
        if not isinstance(tree, exp.Query):
            raise errors.syntax_error(sql)
        return await self.run_query(tree)

    def _run_select_plan(self, plan: plans.SelectPlan, params: tuple[Any, ...]) -> Result:
        inst = self.instance
        en = inst.engine
        for fname in plan.functions:
            f = SQL_FUNCTIONS[fname]
            if f.plugin and not inst.plugin_active(f.plugin):
                raise errors.function_does_not_exist(fname, schema=self.database)
            if f.privilege:
                self.require_global(*f.privilege)
            inst.ensure_sqlite_function(fname)
        conn = en.conn if self.sqlite_txn else en.reader
        temps = self.materialise_refs(plan.tables, conn)
        token = CURRENT_CONTEXT.set(self.ctx)
        try:
            cur = conn.execute(plan.sqlite_sql, params)
            cols, rows = eng.rows_and_columns(cur)
        except sqlite3.Error as e:
            raise eng.map_sqlite_error(e, current_db=self.database) from None
        finally:
            CURRENT_CONTEXT.reset(token)
            for name in temps:
                conn.execute(f'DROP TABLE IF EXISTS temp."{name}"')
        if plan.aliases:
            names = plan.column_names(params)
            cols = [names.get(c, c) for c in cols]
        return Result(columns=cols, rows=rows)

    async def run_query(self, tree: exp.Expression) -> Result:
        en = self.instance.engine
        # readers outside a write transaction see the last committed state (WAL reader connection)
        conn = en.conn if self.sqlite_txn else en.reader
        temps = self._materialise(tree, conn)
        try:
            if isinstance(tree, exp.Select):
                _alias_projections(tree)
            await self._substitute(tree, deterministic=False)
            eng.rename_tables(tree, current_db=self.database, alias_targets=True)
            sqlite_sql = eng.to_sqlite(tree)
            token = CURRENT_CONTEXT.set(self.ctx)
            try:
                cur = conn.execute(sqlite_sql)
                cols, rows = eng.rows_and_columns(cur)
            except sqlite3.Error as e:
                raise eng.map_sqlite_error(e, current_db=self.database) from None
            finally:
                CURRENT_CONTEXT.reset(token)
            return Result(columns=cols, rows=rows)
        finally:
            for name in temps:
                conn.execute(f'DROP TABLE IF EXISTS temp."{name}"')

    def _materialise(self, tree: exp.Expression, conn: sqlite3.Connection | None = None) -> list[str]:
        """Load the system tables a query reads into TEMP tables; check table privileges."""
        refs: list[tuple[str, str]] = []
        for t in eng.table_refs(tree):
            schema = t.db or self.database
            if not schema:
                raise errors.no_db_selected()
            refs.append((schema, t.name))
        return self.materialise_refs(refs, conn)

    def materialise_refs(
        self, refs: Iterable[tuple[str, str]], conn: sqlite3.Connection | None = None
    ) -> list[str]:
        """Check existence and SELECT privilege of (schema, table) references; system tables become TEMP
        tables on ``conn`` (returned, to be dropped after the query)."""
        inst = self.instance
        made: list[str] = []
        seen: set[tuple[str, str]] = set()
        for schema, name in refs:
            sl = schema.lower()
            key = (sl, name.lower())
            if key in seen:
                continue
            seen.add(key)
            st = SYSTEM_TABLES.get(key)
            if st is not None and st.plugin and not inst.plugin_active(st.plugin):
                st = None
            if st is None:
                if sl in eng.VIRTUAL_SCHEMAS:
                    raise errors.no_such_table(sl, name)
                if sl == "mysql" and not inst.engine.table_exists("mysql", name):
                    raise errors.no_such_table(sl, name)
                if sl not in eng.BUILTIN_SCHEMAS:
                    if not inst.engine.schema_exists(schema):
                        raise errors.no_such_table(schema, name)
                    if not inst.engine.table_exists(schema, name):
                        raise errors.no_such_table(schema, name)
                self.require_table("SELECT", schema, name)
                continue
            if sl != "information_schema":
                self.require_table("SELECT", sl, name)
            rows = st.fn(self.ctx) if st.needs_context else st.fn(inst)
            pname = eng.phys(sl, key[1])
            eng.create_temp_table(conn if conn is not None else inst.engine.conn, pname, st.columns, rows)
            made.append(pname)
        return made

    async def _substitute(self, tree: exp.Expression, *, deterministic: bool) -> None:
        """Replace session-dependent expressions by literals; pre-evaluate registered functions."""
        for node in list(tree.walk()):
            if isinstance(node, exp.SessionParameter):
                kind = node.args.get("kind")
                node.replace(eng.literal(select_value(self.get_var(node.name, str(kind) if kind else None))))
            elif isinstance(node, exp.Parameter):
                node.replace(eng.literal(self.user_vars.get(node.name.lower())))
            elif isinstance(node, exp.CurrentSchema):
                node.replace(eng.literal(self.database))
            elif isinstance(node, exp.CurrentUser):
                node.replace(eng.literal(self.current_user()))
            elif isinstance(node, exp.CurrentVersion):
                node.replace(eng.literal(self.instance.version_string))
            elif isinstance(node, exp.Uuid) and deterministic:
                import uuid as _u

                node.replace(eng.literal(str(_u.uuid1())))
            elif isinstance(node, exp.CurrentTimestamp) and deterministic:
                node.replace(eng.literal(eng.now_text(6)))
            elif isinstance(node, exp.Anonymous):
                fname = str(node.this).upper()
                if fname in ("USER", "SESSION_USER", "SYSTEM_USER"):
                    node.replace(eng.literal(f"{self.user}@{self.client_host}"))
                elif fname == "CONNECTION_ID":
                    node.replace(eng.literal(self.connection_id))
                elif fname == "LAST_INSERT_ID" and not node.expressions:
                    node.replace(eng.literal(self.last_insert_id))
                elif fname == "ROW_COUNT":
                    node.replace(eng.literal(-1))
                elif (
                    deterministic
                    and fname in NONDETERMINISTIC
                    and all(isinstance(a, exp.Literal) for a in node.expressions)
                ):
                    val = self.instance.engine.conn.execute("SELECT " + node.sql(dialect="sqlite")).fetchone()
                    node.replace(eng.literal(val[0] if val else None))
                else:
                    f = SQL_FUNCTIONS.get(fname.lower())
                    if f is None:
                        continue
                    if f.plugin and not self.instance.plugin_active(f.plugin):
                        raise errors.function_does_not_exist(fname.lower(), schema=self.database)
                    if f.privilege:
                        self.require_global(*f.privilege)
                    if f.pre_evaluate:
                        args = [await self._const(a) for a in node.expressions]
                        token = CURRENT_CONTEXT.set(self.ctx)
                        try:
                            r = f.fn(self.ctx, *args)
                            if asyncio.iscoroutine(r):
                                r = await r
                        finally:
                            CURRENT_CONTEXT.reset(token)
                        node.replace(eng.literal(r))
                    else:
                        self.instance.ensure_sqlite_function(f.name)

    async def _const(self, e: exp.Expression) -> Any:
        if isinstance(e, exp.Literal):
            return e.to_py()
        if isinstance(e, exp.Null):
            return None
        # evaluate a constant expression through the engine
        holder = exp.Select(expressions=[e.copy()])
        await self._substitute(holder, deterministic=False)
        sql = holder.sql(dialect="sqlite")
        try:
            row = self.instance.engine.conn.execute(sql).fetchone()
        except sqlite3.Error as err:
            raise eng.map_sqlite_error(err, current_db=self.database) from None
        return row[0] if row else None

    async def eval_expr(self, text: str) -> Any:
        """Evaluate a scalar expression (SET values, CALL arguments)."""
        tree = eng.parse("SELECT " + text)
        if not isinstance(tree, exp.Select) or len(tree.expressions) != 1:
            raise errors.syntax_error(text)
        if tree.args.get("from_") is not None:
            r = await self.run_query(tree)
            return r.rows[0][0] if r.rows else None
        return await self._const(tree.expressions[0])

    # --- DML --------------------------------------------------------------------------------------
    async def dml(self, sql: str) -> Result:
        tp = plans.templatize(sql)
        if tp is not None:
            plan = plans.dml_plan(tp[0], len(tp[1]), self.database)
            if plan is not None:
                return await self._run_dml_plan(plan, tp[1])
        return await self._dml(sql)

    async def _run_dml_plan(self, plan: plans.DmlPlan, params: tuple[Any, ...]) -> Result:
        inst = self.instance
        self.check_read_only()
        if not inst.engine.table_exists(plan.schema, plan.table):
            raise errors.no_such_table(plan.schema, plan.table)
        self.require_table(plan.privilege, plan.schema, plan.table)
        await self.begin_write()
        try:
            cur = inst.engine.conn.execute(plan.sqlite_sql, params)
        except sqlite3.IntegrityError as e:
            if "UNIQUE" in str(e) or "PRIMARY" in str(e):
                raise errors.dup_entry(str(params[0]) if params else "?", f"{plan.table}.PRIMARY") from None
            raise eng.map_sqlite_error(e, current_db=self.database) from None
        except sqlite3.Error as e:
            raise eng.map_sqlite_error(e, current_db=self.database) from None
        affected = max(cur.rowcount, 0)
        last_id = 0
        if plan.is_insert and affected and cur.lastrowid:
            if inst.engine.has_auto_increment(plan.schema, plan.table):
                last_id = int(cur.lastrowid)
                self.last_insert_id = last_id
        if affected:
            self.events.append(BinlogEvent("sqlite", plan.sqlite_sql, self.database, params))
        await self.end_statement()
        return Result.ok(affected, last_insert_id=last_id)

    async def _dml(self, sql: str) -> Result:
        replace = False
        if sql.lstrip()[:7].upper() == "REPLACE":
            replace = True
            sql_to_parse = "INSERT" + sql.lstrip()[7:]
        else:
            sql_to_parse = sql
        tree = eng.parse(sql_to_parse)
        if replace and isinstance(tree, exp.Insert):
            tree.set("alternative", "REPLACE")
        priv = next((p for k, p in DML_PRIV.items() if isinstance(tree, k)), None)
        if priv is None:
            raise errors.syntax_error(sql)
        inst = self.instance
        self.check_read_only()
        target = tree.this
        if isinstance(target, exp.Schema):
            target = target.this
        if not isinstance(target, exp.Table):
            raise errors.syntax_error(sql)
        schema = target.db or self.database
        if not schema:
            raise errors.no_db_selected()
        tname = target.name
        if schema.lower() in eng.VIRTUAL_SCHEMAS or (schema.lower(), tname.lower()) in SYSTEM_TABLES:
            raise (
                errors.table_access_denied(priv, self.user, self.client_host, tname)
                if not (self.internal or self.applier)
                else errors.not_supported_yet(f"{priv} on {schema}.{tname}")
            )
        if not inst.engine.table_exists(schema, tname):
            raise errors.no_such_table(schema, tname)
        self.require_table(priv, schema, tname)
        temps = self._materialise_others(tree, target)
        await self._substitute(tree, deterministic=True)
        upsert = _upsert(tree) if isinstance(tree, exp.Insert) else ""
        eng.rename_tables(tree, current_db=self.database, alias_targets=False)
        sqlite_sql = eng.to_sqlite(tree) + upsert
        await self.begin_write()
        conn = inst.engine.conn
        try:
            cur = conn.execute(sqlite_sql)
        except sqlite3.IntegrityError as e:
            raise _integrity_error(e, tree, sqlite_sql) from None
        except sqlite3.Error as e:
            raise eng.map_sqlite_error(e, current_db=self.database) from None
        finally:
            for name in temps:
                conn.execute(f'DROP TABLE IF EXISTS temp."{name}"')
        affected = max(cur.rowcount, 0)
        last_id = 0
        if isinstance(tree, exp.Insert) and affected and cur.lastrowid:
            last_id = int(cur.lastrowid)
            if inst.engine.has_auto_increment(schema, tname):
                self.last_insert_id = last_id
            else:
                last_id = 0
        if affected:
            self.events.append(BinlogEvent("sqlite", sqlite_sql, self.database))
        await self.end_statement()
        return Result.ok(affected, last_insert_id=last_id)

    def _materialise_others(self, tree: exp.Expression, target: exp.Table) -> list[str]:
        # subqueries reading system tables inside DML
        others = [t for t in eng.table_refs(tree) if t is not target]
        if not others:
            return []
        holder = exp.Select(expressions=[exp.Star()]).from_(others[0].copy())
        for o in others[1:]:
            holder = holder.join(o.copy())
        return self._materialise(holder)

    # --- DDL --------------------------------------------------------------------------------------
    async def ddl(self, sql: str) -> Result:
        tree = eng.parse(sql)
        await self.implicit_commit()
        self.check_read_only()
        inst = self.instance
        e = inst.engine
        if isinstance(tree, exp.Create):
            kind = str(tree.args.get("kind") or "").upper()
            exists = bool(tree.args.get("exists"))
            if kind in ("DATABASE", "SCHEMA"):
                name = tree.this.name
                self.require_schema("CREATE", name)
                if e.schema_exists(name) or name.lower() in eng.BUILTIN_SCHEMAS:
                    if exists:
                        self.note(1007, f"Can't create database '{name}'; database exists")
                        return Result.ok(0)
                    raise errors.db_create_exists(name)
                await self.begin_write()
                e.create_schema(name)
                return await self._finish_ddl(sql, affected=1)
            if kind == "TABLE":
                target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
                schema = target.db or self.database
                if not schema:
                    raise errors.no_db_selected()
                self.require_table("CREATE", schema, target.name)
                if not e.schema_exists(schema) or schema.lower() in eng.VIRTUAL_SCHEMAS:
                    raise errors.bad_db(schema)
                if e.table_exists(schema, target.name) and exists:
                    self.note(1050, f"Table '{target.name}' already exists")
                    return Result.ok(0)
                await self.begin_write()
                try:
                    e.create_table(schema, target.name, tree, if_not_exists=exists)
                except sqlite3.Error as err:
                    await self.rollback()
                    raise eng.map_sqlite_error(err, current_db=self.database) from None
                except errors.MySQLError:
                    await self.rollback()
                    raise
                return await self._finish_ddl(sql)
            if kind == "VIEW":
                target = tree.this
                schema = target.db or self.database
                if not schema:
                    raise errors.no_db_selected()
                self.require_table("CREATE VIEW", schema, target.name)
                select = tree.expression
                temps = self._materialise(select)
                for tn in temps:
                    e.conn.execute(f'DROP TABLE IF EXISTS temp."{tn}"')
                _view_variables(select)
                await self._substitute(select, deterministic=False)
                eng.rename_tables(select, current_db=schema, alias_targets=True)
                await self.begin_write()
                e.create_view(
                    schema, target.name, eng.to_sqlite(select), replace=bool(tree.args.get("replace"))
                )
                return await self._finish_ddl(sql)
            if kind == "INDEX":
                return await self._finish_ddl(sql, noop=True)
            raise errors.syntax_error(sql)
        if isinstance(tree, exp.Drop):
            kind = str(tree.args.get("kind") or "").upper()
            exists = bool(tree.args.get("exists"))
            dropped = list(tree.args.get("tables") or ([tree.this] if tree.this is not None else []))
            if not dropped:
                raise errors.syntax_error(sql)
            if kind in ("DATABASE", "SCHEMA"):
                name = dropped[0].name
                self.require_schema("DROP", name)
                if not e.schema_exists(name) or name.lower() in eng.BUILTIN_SCHEMAS:
                    if exists:
                        self.note(1008, f"Can't drop database '{name}'; database doesn't exist")
                        return Result.ok(0)
                    raise errors.db_drop_exists(name)
                n = len(e.tables(name))
                await self.begin_write()
                e.drop_schema(name)
                return await self._finish_ddl(sql, affected=n)
            if kind in ("TABLE", "VIEW"):
                tables = dropped
                missing = []
                for t in tables:
                    schema = t.db or self.database
                    if not schema:
                        raise errors.no_db_selected()
                    self.require_table("DROP", schema, t.name)
                    if not e.table_exists(schema, t.name):
                        missing.append(f"{schema}.{t.name}")
                if missing and not exists:
                    raise errors.bad_table(",".join(missing))
                for mname in missing:
                    self.note(1051, f"Unknown table '{mname}'")
                await self.begin_write()
                for t in tables:
                    schema = t.db or self.database or ""
                    if e.table_exists(schema, t.name):
                        e.drop_table(schema, t.name)
                return await self._finish_ddl(sql)
            if kind == "INDEX":
                return await self._finish_ddl(sql, noop=True)
            raise errors.syntax_error(sql)
        if isinstance(tree, exp.TruncateTable):
            for t in tree.expressions:
                schema = t.db or self.database
                if not schema:
                    raise errors.no_db_selected()
                self.require_table("DROP", schema, t.name)
                if not e.table_exists(schema, t.name):
                    raise errors.no_such_table(schema, t.name)
            await self.begin_write()
            for t in tree.expressions:
                schema = t.db or self.database or ""
                e.conn.execute(f'DELETE FROM "{eng.phys(schema, t.name)}"')
            return await self._finish_ddl(sql)
        if isinstance(tree, exp.Alter):
            target = tree.this
            schema = target.db or self.database
            if not schema:
                raise errors.no_db_selected()
            self.require_table("ALTER", schema, target.name)
            if not e.table_exists(schema, target.name):
                raise errors.no_such_table(schema, target.name)
            await self.begin_write()
            try:
                e.alter_table(schema, target.name, tree)
            except errors.MySQLError:
                await self.rollback()
                raise
            except sqlite3.Error as err:
                await self.rollback()
                raise eng.map_sqlite_error(err, current_db=self.database) from None
            return await self._finish_ddl(sql)
        raise errors.syntax_error(sql)

    async def _finish_ddl(self, sql: str, *, affected: int = 0, noop: bool = False) -> Result:
        """DDL is its own transaction, binlogged as the statement (re-run by appliers)."""
        if noop:
            await self.begin_write()
        self.events.append(BinlogEvent("mysql", sql, self.database))
        await self.commit()
        return Result.ok(affected)

    async def log_statement(self, sql: str) -> None:
        """Binlog a non-data statement as its own transaction (CREATE USER, GRANT...): implicit commit
        semantics; the applier re-runs it."""
        await self.begin_write()
        self.events.append(BinlogEvent("mysql", sql, self.database))
        await self.commit()


# --- helpers --------------------------------------------------------------------------------------


def _strip(sql: str) -> str:
    s = sql
    if s.lstrip().startswith(("/*", "--", "#")):
        s = _COMMENT.sub("", s)
    if "/*!" in s:
        s = _VERSIONED_COMMENT.sub(lambda m: m.group(2), s)
    s = s.strip()
    while s.endswith(";"):
        s = s[:-1].rstrip()
    return s


def _view_variables(tree: exp.Expression) -> None:
    """In a view, ``@@x`` is read when the view is queried: MYSQLSIM_SYSVAR(name, scope) per query."""
    for node in list(tree.walk()):
        if isinstance(node, exp.SessionParameter):
            kind = node.args.get("kind")
            node.replace(
                exp.Anonymous(
                    this="MYSQLSIM_SYSVAR",
                    expressions=[
                        exp.Literal.string(node.name),
                        exp.Literal.string(str(kind) if kind else ""),
                    ],
                )
            )


def sysvar_function(name: str, scope: str) -> Any:
    ctx = CURRENT_CONTEXT.get()
    if ctx is None:
        return None
    return select_value(ctx.session.get_var(name, scope or None))


def _alias_projections(tree: exp.Select) -> None:
    new: list[Any] = []
    for p in tree.expressions:
        if isinstance(p, exp.Alias | exp.Column | exp.Star):
            new.append(p)
            continue
        # a literal's column is named by its value (SELECT 'abc' -> abc); others by the expression text
        text = str(p.this) if isinstance(p, exp.Literal) else p.sql(dialect="mysql")
        new.append(exp.alias_(p, exp.to_identifier(text, quoted=True)))
    tree.set("expressions", new)


def _upsert(tree: exp.Insert) -> str:
    """INSERT ... ON DUPLICATE KEY UPDATE -> SQLite UPSERT text (VALUES(c) -> excluded.c)."""
    conflict = tree.args.get("conflict")
    if not isinstance(conflict, exp.OnConflict) or not conflict.args.get("duplicate"):
        return ""
    sets = []
    for eq in conflict.expressions:
        for node in list(eq.walk()):
            if isinstance(node, exp.Anonymous) and str(node.this).upper() == "VALUES" and node.expressions:
                node.replace(exp.column(node.expressions[0].name, table="excluded"))
        sets.append(eq.sql(dialect="sqlite"))
    tree.set("conflict", None)
    if isinstance(tree.expression, exp.Select):
        tree.expression.where("1=1", copy=False)
    return " ON CONFLICT DO UPDATE SET " + ", ".join(sets)


def _integrity_error(e: sqlite3.IntegrityError, tree: exp.Expression, sql: str) -> errors.MySQLError:
    msg = str(e)
    if "UNIQUE" in msg or "PRIMARY" in msg:
        val = "?"
        if isinstance(tree, exp.Insert):
            vals = tree.expression
            if isinstance(vals, exp.Values) and vals.expressions:
                first = vals.expressions[0]
                if isinstance(first, exp.Tuple) and first.expressions:
                    v = first.expressions[0]
                    val = v.name if isinstance(v, exp.Literal) else v.sql()
        table = ""
        m = re.search(r"failed: ([^\s,]+)", msg)
        if m:
            table = m.group(1).rsplit(".", 1)[0].split(".")[-1]
        key = f"{table}.PRIMARY" if table else "PRIMARY"
        return errors.dup_entry(val, key)
    return eng.map_sqlite_error(e, current_db=None)


def parse_gtid_set_arg(v: Any) -> GtidSet | None:
    if v is None:
        return None
    return GtidSet.parse(str(v))


def coerce_for(instance: Instance, name: str, value: Any) -> Any:
    vd = instance.variables.definition(name)
    if vd is None:
        raise errors.unknown_system_variable(name)
    return coerce(vd, value)
