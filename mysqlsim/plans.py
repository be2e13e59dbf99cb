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
from mysqlsim.registry import SYSTEM_TABLES

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
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
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
            params.append(_decode_string(tok))
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
    tables: tuple[tuple[str, str], ...]


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


def _build_select(template: str, nparams: int, database: str | None) -> SelectPlan | None:
    try:
        tree = eng.parse(template)
    except errors.MySQLError:
        return None
    if not isinstance(tree, exp.Select) or _volatile(tree):
        return None
    if any(isinstance(n, exp.Placeholder) for p in tree.expressions for n in p.walk()):
        return None  # projection names would show '?'
    tables: list[tuple[str, str]] = []
    for t in eng.table_refs(tree):
        schema = t.db or database
        if (
            not schema
            or schema.lower() in eng.BUILTIN_SCHEMAS
            or (schema.lower(), t.name.lower()) in SYSTEM_TABLES
        ):
            return None
        tables.append((schema, t.name))
    if not tables:
        return None
    eng.rename_tables(tree, current_db=database, alias_targets=True)
    sql = eng.to_sqlite(tree)
    if _placeholders(sql) != nparams:
        return None
    return SelectPlan(sql, tuple(tables))


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
