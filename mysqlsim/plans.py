"""Cached translations of plain data statements (per-statement overhead).

Why it exists: parsing with sqlglot and generating SQLite text costs about a millisecond, which dominates
a point SELECT or a one-row INSERT.  Literals are lifted out of the statement text (``id = 5`` becomes
``id = ?``), and the translation of the resulting template is cached per (template, default schema).
Only statements whose translation cannot depend on the session or on server state are cached: no
variables, no functions, no system tables, no subqueries over other tables, no LIMIT offsets.  Everything
else takes the ordinary path in :mod:`mysqlsim.session`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from mysqlsim import engine as eng
from mysqlsim import errors

_LITERAL = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`[^`]*`|(?<![\w.@$])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])"""
)
_ESCAPES = {
    "0": "\0",
    "b": "\b",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "Z": "\x1a",
    "\\": "\\",
    "'": "'",
    '"': '"',
}
_VOLATILE = (
    exp.SessionParameter,
    exp.Parameter,
    exp.CurrentSchema,
    exp.CurrentUser,
    exp.CurrentVersion,
    exp.Uuid,
    exp.CurrentTimestamp,
    exp.Anonymous,
    exp.Offset,
    exp.Subquery,
)
_MAX = 4096


def _decode_string(tok: str) -> str:
    q = tok[0]
    body = tok[1:-1].replace(q + q, q)
    if "\\" not in body:
        return body
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            # \% and \_ keep their backslash (they are LIKE escapes, RM 'String Literals')
            out.append("\\" + nxt if nxt in "%_" else _ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def templatize(sql: str) -> tuple[str, tuple[Any, ...]] | None:
    """(template with ``?``, literal values) or None when the text has no literal to lift."""
    parts: list[str] = []
    params: list[Any] = []
    pos = 0
    for m in _LITERAL.finditer(sql):
        tok = m.group(0)
        if tok[0] == "`":
            continue
        parts.append(sql[pos : m.start()])
        parts.append("?")
        pos = m.end()
        if tok[0] in "'\"":
            params.append(eng.normalize_datetime_text(_decode_string(tok)))
        elif "." in tok or "e" in tok or "E" in tok:
            params.append(float(tok))
        else:
            params.append(int(tok))
    if "?" in sql:
        return None  # a client placeholder: never mix with ours
    parts.append(sql[pos:])
    return "".join(parts), tuple(params)


@dataclass(frozen=True)
class SelectPlan:
    sqlite_sql: str
    #: every table reference (schema, table): user tables are checked, system tables materialised
    tables: tuple[tuple[str, str], ...]
    #: registry functions evaluated per row by SQLite (installed, plugin/privilege-checked at run time)
    functions: tuple[str, ...] = ()
    #: (generated column name, MySQL column name with '?' for the literals, offset of its first literal)
    aliases: tuple[tuple[str, str, int], ...] = ()

    def column_names(self, params: tuple[Any, ...]) -> dict[str, str]:
        out = {}
        for col, text, offset in self.aliases:
            if text == "":  # a bare literal: the column is named by its value
                v = params[offset] if offset < len(params) else ""
                out[col] = str(v)
                continue
            i = offset
            parts = text.split("?")
            rendered = [parts[0]]
            for rest in parts[1:]:
                rendered.append(_render(params[i]) if i < len(params) else "?")
                rendered.append(rest)
                i += 1
            out[col] = "".join(rendered)
        return out


def _render(v: Any) -> str:
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(v)


@dataclass(frozen=True)
class DmlPlan:
    sqlite_sql: str
    privilege: str
    schema: str
    table: str
    is_insert: bool


class _NotCacheable:
    pass


NOT_CACHEABLE = _NotCacheable()
PLANS: dict[tuple[str, str | None], SelectPlan | DmlPlan | _NotCacheable] = {}


def _store(key: tuple[str, str | None], plan: SelectPlan | DmlPlan | _NotCacheable) -> None:
    if len(PLANS) >= _MAX:
        PLANS.clear()
    PLANS[key] = plan


def _volatile(tree: exp.Expression) -> bool:
    return any(isinstance(n, _VOLATILE) for n in tree.walk())


def _placeholders(sql: str) -> int:
    return sql.count("?")


def select_plan(template: str, nparams: int, database: str | None) -> SelectPlan | None:
    key = (template, database)
    plan = PLANS.get(key)
    if plan is not None:
        return plan if isinstance(plan, SelectPlan) else None
    built = _build_select(template, nparams, database)
    _store(key, built if built is not None else NOT_CACHEABLE)
    return built


#: functions whose value depends on the session: evaluated by the ordinary path
_SESSION_FUNCTIONS = frozenset(
    {"USER", "SESSION_USER", "SYSTEM_USER", "CONNECTION_ID", "LAST_INSERT_ID", "ROW_COUNT"}
)


def _build_select(template: str, nparams: int, database: str | None) -> SelectPlan | None:
    from mysqlsim.registry import SQL_FUNCTIONS

    try:
        tree = eng.parse(template)
    except errors.MySQLError:
        return None
    if not isinstance(tree, exp.Select):
        return None
    functions: list[str] = []
    for n in tree.walk():
        if isinstance(n, exp.Parameter | exp.CurrentUser | exp.Offset):
            return None
        if isinstance(n, exp.Anonymous):
            name = str(n.this)
            if name.upper() in _SESSION_FUNCTIONS:
                return None
            f = SQL_FUNCTIONS.get(name.lower())
            if f is not None:
                if f.pre_evaluate:
                    return None
                functions.append(f.name)
    refs: list[tuple[str, str]] = []
    for t in eng.table_refs(tree):
        schema = t.db or database
        if not schema:
            return None
        refs.append((schema, t.name))
    # column names as the ordinary path gives them (the literals are rendered back at run time)
    aliases: list[tuple[str, str, int]] = []
    offset = 0
    new: list[Any] = []
    has_cte = tree.args.get("with_") is not None or tree.args.get("with") is not None
    for i, p in enumerate(tree.expressions):
        text = p.sql(dialect="mysql")
        k = text.count("?")
        if isinstance(p, exp.Alias | exp.Column | exp.Star):
            new.append(p)
        else:
            if k and has_cte:
                return None
            col = f"__mysqlsim_c{i}"
            aliases.append((col, "" if isinstance(p, exp.Placeholder) else text, offset))
            new.append(exp.alias_(p, exp.to_identifier(col, quoted=True), copy=False))
        offset += k
    tree.set("expressions", new)
    for n in list(tree.walk()):
        if isinstance(n, exp.SessionParameter):
            kind = n.args.get("kind")
            n.replace(_sysvar(n.name, str(kind) if kind else ""))
        elif isinstance(n, exp.CurrentVersion):
            n.replace(_sysvar("version", ""))
        elif isinstance(n, exp.CurrentSchema):
            n.replace(eng.literal(database))
    eng.rename_tables(tree, current_db=database, alias_targets=True)
    sql = eng.to_sqlite(tree)
    if _placeholders(sql) != nparams:
        return None
    return SelectPlan(sql, tuple(refs), tuple(dict.fromkeys(functions)), tuple(aliases))


def _sysvar(name: str, scope: str) -> exp.Expression:
    return exp.Anonymous(
        this="MYSQLSIM_SYSVAR", expressions=[exp.Literal.string(name), exp.Literal.string(scope)]
    )


def dml_plan(template: str, nparams: int, database: str | None) -> DmlPlan | None:
    key = (template, database)
    plan = PLANS.get(key)
    if plan is not None:
        return plan if isinstance(plan, DmlPlan) else None
    built = _build_dml(template, nparams, database)
    _store(key, built if built is not None else NOT_CACHEABLE)
    return built


def _build_dml(template: str, nparams: int, database: str | None) -> DmlPlan | None:
    from mysqlsim.session import DML_PRIV, _upsert

    replace = template.lstrip()[:7].upper() == "REPLACE"
    text = "INSERT" + template.lstrip()[7:] if replace else template
    try:
        tree = eng.parse(text)
    except errors.MySQLError:
        return None
    priv = next((p for k, p in DML_PRIV.items() if isinstance(tree, k)), None)
    if priv is None or _volatile(tree):
        return None
    if replace and isinstance(tree, exp.Insert):
        tree.set("alternative", "REPLACE")
    target = tree.this
    if isinstance(target, exp.Schema):
        target = target.this
    if not isinstance(target, exp.Table):
        return None
    refs = eng.table_refs(tree)
    if len(refs) != 1:
        return None
    schema = target.db or database
    if not schema or schema.lower() in eng.BUILTIN_SCHEMAS:
        return None
    upsert = _upsert(tree) if isinstance(tree, exp.Insert) else ""
    eng.rename_tables(tree, current_db=database, alias_targets=False)
    sql = eng.to_sqlite(tree) + upsert
    if _placeholders(sql) != nparams:
        return None
    return DmlPlan(sql, priv, schema, target.name, isinstance(tree, exp.Insert))
