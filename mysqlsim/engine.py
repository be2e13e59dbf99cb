"""The data engine of one instance: a SQLite database holding every MySQL schema, and the translation of
MySQL statements (parsed by sqlglot) into SQLite.

Why it exists: the manual's data statements (CREATE DATABASE/TABLE, INSERT, UPDATE, DELETE, SELECT with
joins, transactions) need a real SQL engine.  All schemas live in one SQLite ``main`` database; MySQL table
``schema.table`` is the SQLite table ``"schema.table"`` (so a whole instance is one file for CLONE:
``serialize``/``deserialize``).  System tables (performance_schema, information_schema, mysql.*) are
materialised into TEMP tables of the same names for the duration of one query.
"""

from __future__ import annotations

import datetime as _dt
import re
import sqlite3
import uuid as _uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from mysqlsim import errors

SCHEMATA = "__sim.schemata"
COLUMNS = "__sim.columns"  # (schema, table, column, position, mysql_type, nullable, key, default, extra)
TABLES = "__sim.tables"  # (schema, table, engine, create_time)

#: schemas whose tables are not user data (never created in SQLite)
VIRTUAL_SCHEMAS = frozenset({"information_schema", "performance_schema", "sys"})
BUILTIN_SCHEMAS = ("information_schema", "mysql", "performance_schema", "sys")


def phys(schema: str, table: str) -> str:
    return f"{schema}.{table}"


def _conv_dt(b: bytes) -> Any:
    s = b.decode()
    try:
        return _dt.datetime.fromisoformat(s)
    except ValueError:
        return s


sqlite3.register_converter("DATETIME", _conv_dt)
sqlite3.register_converter("TIMESTAMP", _conv_dt)


def now_text(fsp: int = 0, ts: float | None = None) -> str:
    d = _dt.datetime.fromtimestamp(ts) if ts is not None else _dt.datetime.now()
    if fsp <= 0:
        return d.strftime("%Y-%m-%d %H:%M:%S")
    return d.strftime("%Y-%m-%d %H:%M:%S.%f")[: 20 + min(fsp, 6)]


def _sqlite_type(dt: exp.DataType) -> str:
    """A SQLite column type that keeps MySQL's affinity and the DATETIME converter."""
    t = dt.this
    T = exp.DataType.Type
    if t in (
        T.TINYINT,
        T.SMALLINT,
        T.MEDIUMINT,
        T.INT,
        T.BIGINT,
        T.UTINYINT,
        T.USMALLINT,
        T.UMEDIUMINT,
        T.UINT,
        T.UBIGINT,
        T.BIT,
        T.BOOLEAN,
    ):
        return "INTEGER"
    if (
        t in (T.FLOAT, T.DOUBLE, T.DECIMAL, T.UDECIMAL, T.UDOUBLE)
        if hasattr(T, "UDOUBLE")
        else (T.FLOAT, T.DOUBLE, T.DECIMAL)
    ):
        return "REAL" if t in (T.FLOAT, T.DOUBLE) else "NUMERIC"
    if t in (T.DATETIME, T.DATETIME64) if hasattr(T, "DATETIME64") else (T.DATETIME,):
        return "DATETIME"
    if t in (T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ):
        return "TIMESTAMP"
    if t in (T.BINARY, T.VARBINARY, T.BLOB, T.MEDIUMBLOB, T.LONGBLOB, T.TINYBLOB):
        return "BLOB"
    return "TEXT"


def _mysql_type_text(dt: exp.DataType) -> str:
    s = dt.sql(dialect="mysql").lower()
    return s.replace("timestamptz", "timestamp")


class Engine:
    """SQLite storage of one instance, with schema bookkeeping."""

    def __init__(self, path: str | None = None) -> None:
        """``path``: a file in WAL mode, so that other sessions read the last committed state (the
        writer connection holds uncommitted changes); None: one in-memory connection (no isolation)."""
        self.path = path
        self.conn = self._connect(path or ":memory:")
        if path is not None:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")
            self._init_meta()
            #: connection of readers outside the writer's transaction
            self.reader = self._connect(path)
        else:
            self._init_meta()
            self.reader = self.conn
        self._functions: list[tuple[str, int, Callable[..., Any]]] = []

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, detect_types=sqlite3.PARSE_DECLTYPES
        )
        return conn

    def _init_meta(self) -> None:
        c = self.conn
        c.execute(f'CREATE TABLE IF NOT EXISTS "{SCHEMATA}" (name TEXT PRIMARY KEY)')
        c.execute(
            f'CREATE TABLE IF NOT EXISTS "{COLUMNS}" (schema_name TEXT, table_name TEXT, column_name TEXT, '
            "position INTEGER, mysql_type TEXT, nullable TEXT, column_key TEXT, column_default TEXT, "
            "extra TEXT)"
        )
        c.execute(
            f'CREATE TABLE IF NOT EXISTS "{TABLES}" (schema_name TEXT, table_name TEXT, engine TEXT, '
            "create_time TEXT, table_type TEXT)"
        )
        for s in ("mysql", "sys"):
            c.execute(f'INSERT OR IGNORE INTO "{SCHEMATA}" VALUES (?)', (s,))

    def install_function(self, name: str, nargs: int, fn: Callable[..., Any]) -> None:
        self.conn.create_function(name, nargs, wrap_function(fn))
        if self.reader is not self.conn:
            self.reader.create_function(name, nargs, wrap_function(fn))

    # --- schemas ----------------------------------------------------------------------------------
    def schemas(self) -> list[str]:
        rows = self.conn.execute(f'SELECT name FROM "{SCHEMATA}"').fetchall()
        names = {r[0] for r in rows} | {"information_schema", "performance_schema"}
        return sorted(names)

    def schema_exists(self, name: str) -> bool:
        if name in VIRTUAL_SCHEMAS:
            return True
        return self.conn.execute(f'SELECT 1 FROM "{SCHEMATA}" WHERE name=?', (name,)).fetchone() is not None

    def tables(self, schema: str) -> list[str]:
        rows = self.conn.execute(
            f'SELECT table_name FROM "{TABLES}" WHERE schema_name=? ORDER BY table_name', (schema,)
        ).fetchall()
        return [r[0] for r in rows]

    def all_tables(self) -> list[tuple[str, str, str, str, str]]:
        rows = self.conn.execute(f'SELECT * FROM "{TABLES}"').fetchall()
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def all_columns(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.conn.execute(f'SELECT * FROM "{COLUMNS}" ORDER BY 1,2,4').fetchall()]

    def table_exists(self, schema: str, table: str) -> bool:
        return (
            self.conn.execute(
                f'SELECT 1 FROM "{TABLES}" WHERE schema_name=? AND table_name=?', (schema, table)
            ).fetchone()
            is not None
        )

    def create_schema(self, name: str) -> None:
        self.conn.execute(f'INSERT INTO "{SCHEMATA}" VALUES (?)', (name,))

    def drop_schema(self, name: str) -> None:
        for t in self.tables(name):
            self.drop_table(name, t)
        self.conn.execute(f'DELETE FROM "{SCHEMATA}" WHERE name=?', (name,))

    def drop_table(self, schema: str, table: str) -> None:
        kind = self.conn.execute(
            f'SELECT table_type FROM "{TABLES}" WHERE schema_name=? AND table_name=?', (schema, table)
        ).fetchone()
        if kind and kind[0] == "VIEW":
            self.conn.execute(f'DROP VIEW IF EXISTS "{phys(schema, table)}"')
        else:
            self.conn.execute(f'DROP TABLE IF EXISTS "{phys(schema, table)}"')
        self.conn.execute(f'DELETE FROM "{TABLES}" WHERE schema_name=? AND table_name=?', (schema, table))
        self.conn.execute(f'DELETE FROM "{COLUMNS}" WHERE schema_name=? AND table_name=?', (schema, table))

    def create_table(self, schema: str, table: str, create: exp.Create, *, if_not_exists: bool) -> None:
        """CREATE TABLE from the MySQL AST: columns with SQLite affinities, PRIMARY KEY, UNIQUE keys."""
        if self.table_exists(schema, table):
            if if_not_exists:
                return
            raise errors.table_exists(table)
        body = create.this
        if not isinstance(body, exp.Schema):
            like = create.args.get("expression")
            if isinstance(like, exp.Select | exp.Union):
                raise errors.not_supported_yet("CREATE TABLE ... SELECT")
            raise errors.syntax_error(create.sql(dialect="mysql"))
        cols: list[tuple[str, str, str, bool, Any, bool]] = []
        pk: list[str] = []
        uniques: list[list[str]] = []
        for item in body.expressions:
            if isinstance(item, exp.ColumnDef):
                name = item.name
                dt = item.args.get("kind")
                if not isinstance(dt, exp.DataType):
                    raise errors.syntax_error(item.sql(dialect="mysql"))
                nullable = True
                default: Any = None
                auto = False
                for c in item.args.get("constraints") or []:
                    k = c.args.get("kind")
                    if isinstance(k, exp.NotNullColumnConstraint):
                        nullable = bool(k.args.get("allow_null"))
                    elif isinstance(k, exp.PrimaryKeyColumnConstraint):
                        pk.append(name)
                        nullable = False
                    elif isinstance(k, exp.UniqueColumnConstraint):
                        uniques.append([name])
                    elif isinstance(k, exp.AutoIncrementColumnConstraint):
                        auto = True
                    elif isinstance(k, exp.DefaultColumnConstraint):
                        default = k.this
                cols.append((name, _sqlite_type(dt), _mysql_type_text(dt), nullable, default, auto))
            elif isinstance(item, exp.PrimaryKey):
                for e in item.expressions:
                    pk.append(e.name)
            elif isinstance(item, exp.UniqueColumnConstraint):
                sch = item.this
                if isinstance(sch, exp.Schema):
                    uniques.append([e.name for e in sch.expressions])
            # plain KEY/INDEX, FOREIGN KEY, CHECK: accepted, not enforced
        pkset = {p.lower() for p in pk}
        defs: list[str] = []
        for name, styp, _mt, nullable, default, auto in cols:
            d = f'"{name}" {styp}'
            if auto and len(pk) == 1 and name.lower() in pkset:
                d = f'"{name}" INTEGER PRIMARY KEY AUTOINCREMENT'
            else:
                if not nullable:
                    d += " NOT NULL"
                if default is not None:
                    d += f" DEFAULT ({_default_sql(default)})"
            defs.append(d)
        if pk and not any(a and n.lower() in pkset and len(pk) == 1 for n, _, _, _, _, a in cols):
            defs.append("PRIMARY KEY (" + ", ".join(f'"{p}"' for p in pk) + ")")
        for u in uniques:
            defs.append("UNIQUE (" + ", ".join(f'"{c}"' for c in u) + ")")
        self.conn.execute(f'CREATE TABLE "{phys(schema, table)}" ({", ".join(defs)})')
        self.conn.execute(
            f'INSERT INTO "{TABLES}" VALUES (?,?,?,?,?)', (schema, table, "InnoDB", now_text(), "BASE TABLE")
        )
        for pos, (name, _styp, mt, nullable, default, auto) in enumerate(cols, start=1):
            key = "PRI" if name.lower() in pkset else ("UNI" if [name] in uniques else "")
            dflt = None if default is None else default.sql(dialect="mysql").strip("'")
            self.conn.execute(
                f'INSERT INTO "{COLUMNS}" VALUES (?,?,?,?,?,?,?,?,?)',
                (
                    schema,
                    table,
                    name,
                    pos,
                    mt,
                    "YES" if nullable and key != "PRI" else "NO",
                    key,
                    dflt,
                    "auto_increment" if auto else "",
                ),
            )

    def has_auto_increment(self, schema: str, table: str) -> bool:
        return (
            self.conn.execute(
                f'SELECT 1 FROM "{COLUMNS}" WHERE schema_name=? AND table_name=? AND extra=?',
                (schema, table, "auto_increment"),
            ).fetchone()
            is not None
        )

    def alter_table(self, schema: str, table: str, alter: exp.Alter) -> None:
        """ALTER TABLE: ADD COLUMN and DROP COLUMN are applied; index changes are accepted (not enforced)."""
        for action in alter.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):
                dt = action.args.get("kind")
                if not isinstance(dt, exp.DataType):
                    raise errors.syntax_error(alter.sql(dialect="mysql"))
                d = f'"{action.name}" {_sqlite_type(dt)}'
                nullable = True
                for c in action.args.get("constraints") or []:
                    k = c.args.get("kind")
                    if isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null"):
                        nullable = False
                    elif isinstance(k, exp.DefaultColumnConstraint):
                        d += f" DEFAULT ({_default_sql(k.this)})"
                if not nullable and "DEFAULT" in d:
                    d += " NOT NULL"
                self.conn.execute(f'ALTER TABLE "{phys(schema, table)}" ADD COLUMN {d}')
                pos = self.conn.execute(
                    f'SELECT COUNT(*) FROM "{COLUMNS}" WHERE schema_name=? AND table_name=?', (schema, table)
                ).fetchone()[0]
                self.conn.execute(
                    f'INSERT INTO "{COLUMNS}" VALUES (?,?,?,?,?,?,?,?,?)',
                    (
                        schema,
                        table,
                        action.name,
                        pos + 1,
                        _mysql_type_text(dt),
                        "YES" if nullable else "NO",
                        "",
                        None,
                        "",
                    ),
                )
            elif isinstance(action, exp.Drop) and str(action.args.get("kind") or "").upper() == "COLUMN":
                col = action.this.name
                self.conn.execute(f'ALTER TABLE "{phys(schema, table)}" DROP COLUMN "{col}"')
                self.conn.execute(
                    f'DELETE FROM "{COLUMNS}" WHERE schema_name=? AND table_name=? AND column_name=?',
                    (schema, table, col),
                )
            elif isinstance(action, exp.AddConstraint | exp.Drop):
                continue
            else:
                raise errors.not_supported_yet(f"ALTER TABLE {action.sql(dialect='mysql')}")

    def create_view(self, schema: str, name: str, select_sql: str, *, replace: bool) -> None:
        if self.table_exists(schema, name):
            if not replace:
                raise errors.table_exists(name)
            self.drop_table(schema, name)
        self.conn.execute(f'CREATE VIEW "{phys(schema, name)}" AS {select_sql}')
        self.conn.execute(
            f'INSERT INTO "{TABLES}" VALUES (?,?,?,?,?)', (schema, name, None, now_text(), "VIEW")
        )

    # --- clone ------------------------------------------------------------------------------------
    def serialize(self) -> bytes:
        """The committed state (CLONE copies committed data only)."""
        return self.reader.serialize()

    def deserialize(self, data: bytes) -> None:
        """Replace the whole database (CLONE) with a serialized image."""
        if self.path is None:
            self.conn.deserialize(data)
            return
        mem = sqlite3.connect(":memory:")
        try:
            image = bytearray(data)
            if len(image) > 19 and image[18] == 2:
                image[18] = image[19] = 1  # a WAL-mode image cannot live in memory: mark it rollback-journal
            mem.deserialize(bytes(image))
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            mem.backup(self.conn)
        finally:
            mem.close()

    def close(self) -> None:
        if self.reader is not self.conn:
            self.reader.close()
        self.conn.close()


def _default_sql(e: exp.Expression) -> str:
    if isinstance(e, exp.CurrentTimestamp):
        return "CURRENT_TIMESTAMP"
    return e.sql(dialect="sqlite")


# --- translation ----------------------------------------------------------------------------------

_SQLITE_NO_TABLE = re.compile(r"no such table: (?:main\.)?\"?([^\"\s]+)\"?")
_SQLITE_NO_COLUMN = re.compile(r"no such column: (\S+)")
_SQLITE_NO_FUNC = re.compile(r"no such function: (\S+)")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\S+)")


def map_sqlite_error(e: sqlite3.Error, *, current_db: str | None) -> errors.MySQLError:
    """Translate a SQLite error into the MySQL error the server would give."""
    if PENDING_ERROR:
        err = PENDING_ERROR[-1]
        PENDING_ERROR.clear()
        return err
    msg = str(e)
    m = _SQLITE_NO_TABLE.search(msg)
    if m:
        name = m.group(1)
        if "." in name:
            s, t = name.split(".", 1)
            return errors.no_such_table(s, t)
        return errors.no_such_table(current_db or "", name)
    m = _SQLITE_NO_COLUMN.search(msg)
    if m:
        return errors.bad_field(m.group(1).split(".")[-1], "field list")
    m = _SQLITE_NO_FUNC.search(msg)
    if m:
        return errors.function_does_not_exist(m.group(1).lower(), schema=current_db)
    m = _SQLITE_UNIQUE.search(msg)
    if m:
        return errors.dup_entry("?", "PRIMARY")
    if "NOT NULL constraint failed" in msg:
        return errors.bad_null(msg.rsplit(".", 1)[-1])
    if "syntax error" in msg or "near " in msg:
        return errors.syntax_error(msg)
    return errors.unknown_error(msg)


_DATETIME_FRACTION = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})\.(\d{1,6})$")


def normalize_datetime_text(s: str) -> str:
    """'2026-11-22 14:11:04.673' -> '2026-11-22 14:11:04.673000': DATETIME(n) values and literals with
    fractional seconds compare as datetimes although SQLite compares them as text."""
    m = _DATETIME_FRACTION.match(s)
    if m is None:
        return s
    return f"{m.group(1)}.{m.group(2).ljust(6, '0')}"


def mysql_to_sqlite(tree: exp.Expression) -> None:
    """Rewrites sqlglot's SQLite output needs: LEFT/RIGHT, LIKE's default escape character '\\',
    datetime literals with fractional seconds."""
    for node in list(tree.walk()):
        if isinstance(node, exp.Left):
            node.replace(
                exp.Anonymous(this="SUBSTR", expressions=[node.this, exp.Literal.number(1), node.expression])
            )
        elif isinstance(node, exp.Right):
            node.replace(exp.Anonymous(this="SUBSTR", expressions=[node.this, exp.Neg(this=node.expression)]))
        elif isinstance(node, exp.Like) and not isinstance(node.parent, exp.Escape):
            node.replace(exp.Escape(this=node.copy(), expression=exp.Literal.string("\\")))
        elif isinstance(node, exp.Literal) and node.is_string and "." in node.this and ":" in node.this:
            norm = normalize_datetime_text(node.this)
            if norm != node.this:
                node.replace(exp.Literal.string(norm))


def table_refs(tree: exp.Expression) -> list[exp.Table]:
    """Table references of a statement, excluding CTE names."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    out = []
    for t in tree.find_all(exp.Table):
        if not t.name:
            continue
        if not t.db and t.name.lower() in ctes:
            continue
        out.append(t)
    return out


def rename_tables(
    tree: exp.Expression,
    *,
    current_db: str | None,
    alias_targets: bool,
    skip: Iterable[exp.Table] = (),
) -> list[tuple[str, str]]:
    """Rewrite every table reference to its physical SQLite name; returns the (schema, table) pairs."""
    skip_ids = {id(s) for s in skip}
    out: list[tuple[str, str]] = []
    for t in table_refs(tree):
        if id(t) in skip_ids:
            continue
        schema = t.db or current_db
        if not schema:
            raise errors.no_db_selected()
        name = t.name
        schema_l = schema.lower() if schema.lower() in BUILTIN_SCHEMAS else schema
        if schema_l in ("information_schema", "performance_schema"):
            name = name.lower()
        out.append((schema_l, name))
        new = exp.Table(this=exp.to_identifier(phys(schema_l, name), quoted=True))
        alias = t.args.get("alias")
        if alias is not None:
            new.set("alias", alias)
        elif alias_targets:
            new.set("alias", exp.TableAlias(this=exp.to_identifier(t.name, quoted=True)))
        t.replace(new)
    mysql_to_sqlite(tree)
    # CAST(x AS JSON) -> JSON(x) (SQLite has no JSON type; its affinity would turn text into 0)
    for cast in list(tree.find_all(exp.Cast)):
        to = cast.args.get("to")
        if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.JSON:
            cast.replace(exp.Anonymous(this="JSON", expressions=[cast.this]))
    # fully qualified columns (db.table.column) lose their db part
    for col in tree.find_all(exp.Column):
        if col.args.get("db") is not None:
            col.set("db", None)
    return out


def literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, _dt.datetime):
        value = value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return exp.Literal.string(str(value))


def parse(sql: str) -> exp.Expression:
    """Parse one MySQL statement; 1064 on a syntax error."""
    try:
        tree = sqlglot.parse_one(sql, read="mysql")
    except sqlglot.errors.ParseError as e:
        near = sql
        if e.errors:
            err = e.errors[0]
            desc = str(err.get("description") or "")
            end = str(err.get("end_context") or "")
            if not end and ("SENTINEL" in desc or desc.startswith("Required keyword")):
                near = ""
            else:
                near = str(err.get("highlight") or "") + end
        raise errors.syntax_error(near.strip()) from None
    except sqlglot.errors.SqlglotError:
        raise errors.syntax_error(sql.strip()) from None
    if not isinstance(tree, exp.Expression):
        raise errors.empty_query()
    return tree


def to_sqlite(tree: exp.Expression) -> str:
    return tree.sql(dialect="sqlite")


#: a MySQLError raised inside a SQLite user function (SQLite only reports "user-defined function raised
#: exception"); the statement re-raises it
PENDING_ERROR: list[errors.MySQLError] = []


def wrap_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except errors.MySQLError as e:
            PENDING_ERROR.append(e)
            raise

    return call


def install_builtin_functions(engine: Engine, *, now: Callable[[], float]) -> None:
    """MySQL functions SQLite lacks (called per row, deterministic per statement is not guaranteed)."""

    def _now(fsp: int = 0) -> str:
        n = int(fsp or 0)
        if n > 6:
            raise errors.MySQLError(
                1426, "42000", f"Too-big precision {n} specified for 'now'. Maximum is 6."
            )
        return now_text(n, now())

    engine.install_function("NOW", -1, lambda *a: _now(a[0] if a else 0))
    engine.install_function("SYSDATE", -1, lambda *a: _now(a[0] if a else 0))
    engine.install_function("CURRENT_TIMESTAMP", -1, lambda *a: _now(a[0] if a else 0))
    engine.install_function(
        "UTC_TIMESTAMP", -1, lambda *a: now_text(int(a[0]) if a else 0, now() - _utcoffset())
    )
    engine.install_function("UUID", 0, lambda: str(_uuid.uuid1()))
    engine.install_function("UNIX_TIMESTAMP", -1, _unix_timestamp(now))
    engine.install_function("JSON_UNQUOTE", 1, _json_unquote)
    engine.install_function(
        "CONCAT_WS",
        -1,
        lambda sep, *a: None if sep is None else str(sep).join(str(x) for x in a if x is not None),
    )
    engine.install_function("GREATEST", -1, lambda *a: None if any(x is None for x in a) else max(a))
    engine.install_function("LEAST", -1, lambda *a: None if any(x is None for x in a) else min(a))
    engine.install_function("JSON_MERGE_PATCH", -1, _json_merge_patch)
    engine.install_function("SUBSTRING_INDEX", 3, _substring_index)
    engine.install_function("FIND_IN_SET", 2, _find_in_set)
    engine.install_function("LOCATE", -1, _locate)
    engine.install_function(
        "FROM_UNIXTIME", -1, lambda t, *a: None if t is None else now_text(6 if float(t) % 1 else 0, float(t))
    )
    engine.install_function("LCASE", 1, lambda s: None if s is None else str(s).lower())
    engine.install_function("UCASE", 1, lambda s: None if s is None else str(s).upper())


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


def _json_merge_patch(*docs: Any) -> Any:
    """JSON_MERGE_PATCH (RFC 7396), n-ary; NULL if any argument is NULL."""
    import json

    if len(docs) < 2:
        raise errors.wrong_paramcount_to_native_fct("json_merge_patch")
    if any(d is None for d in docs):
        return None
    try:
        vals = [json.loads(d) if isinstance(d, str) else d for d in docs]
    except ValueError:
        raise errors.MySQLError(
            3141, "22032", 'Invalid JSON text in argument 1 to function json_merge_patch: "Invalid value."'
        ) from None
    acc = vals[0]
    for v in vals[1:]:
        acc = _merge_patch(acc, v)
    return json.dumps(acc, separators=(", ", ": "))


def _substring_index(s: Any, delim: Any, count: Any) -> Any:
    if s is None or delim is None or count is None:
        return None
    s, delim, n = str(s), str(delim), int(count)
    if not delim or n == 0:
        return ""
    parts = s.split(delim)
    return delim.join(parts[:n]) if n > 0 else delim.join(parts[n:])


def _find_in_set(needle: Any, hay: Any) -> Any:
    if needle is None or hay is None:
        return None
    items = str(hay).split(",") if hay != "" else []
    return items.index(str(needle)) + 1 if str(needle) in items else 0


def _locate(sub: Any, s: Any, pos: Any = 1) -> Any:
    if sub is None or s is None:
        return None
    return str(s).find(str(sub), max(int(pos) - 1, 0)) + 1


def _utcoffset() -> float:
    off = _dt.datetime.now().astimezone().utcoffset()
    return off.total_seconds() if off else 0.0


def _unix_timestamp(now: Callable[[], float]) -> Callable[..., Any]:
    def f(*a: Any) -> Any:
        if not a:
            return int(now())
        v = a[0]
        if v is None:
            return None
        try:
            return _dt.datetime.fromisoformat(str(v)).timestamp()
        except ValueError:
            return 0

    return f


def _json_unquote(v: Any) -> Any:
    if isinstance(v, str) and len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        import json

        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def rows_and_columns(cur: sqlite3.Cursor) -> tuple[list[str], list[tuple[Any, ...]]]:
    cols = [d[0] for d in cur.description or ()]
    return cols, [tuple(r) for r in cur.fetchall()]


def create_temp_table(
    conn: sqlite3.Connection, name: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]
) -> None:
    types = [_temp_type(t) for _, t in columns]
    coldefs = ", ".join(f'"{c}" {t}' for (c, _), t in zip(columns, types, strict=True))
    conn.execute(f'CREATE TEMP TABLE "{name}" ({coldefs})')
    ph = ",".join("?" * len(columns))
    if not any(t == "TIMESTAMP" for t in types):
        plain = (str, int, float, type(None))
        data = [r if all(type(v) in plain for v in r) else tuple(_adapt(v) for v in r) for r in rows]
    else:
        data = [tuple(_adapt(v) for v in r) for r in rows]
    conn.executemany(f'INSERT INTO temp."{name}" VALUES ({ph})', data)


def _temp_type(t: str) -> str:
    u = t.upper()
    if u.startswith(("TIMESTAMP", "DATETIME")):
        return "TIMESTAMP"
    if "INT" in u:
        return "INTEGER"
    if u.startswith(("DOUBLE", "FLOAT", "DECIMAL")):
        return "REAL"
    return "TEXT"


def _adapt(v: Any) -> Any:
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, str) and "." in v and ":" in v:
        return normalize_datetime_text(v)
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dict | list):
        import json

        return json.dumps(v)
    return v
