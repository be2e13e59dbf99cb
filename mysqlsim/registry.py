"""Extension points of the simulator: statements, system tables, functions, variables, events, modes.

Why it exists: the SQL surface of mysqlsim is built by two parts (the core and ``mysqlsim.replication``)
that must not edit each other's code.  Both register here with decorators; the session dispatcher, the
SELECT engine, the variable store and the world runner consult these registries.  Names are stable:
add, don't break.

- ``@statement(regex, privilege=...)``: a raw-SQL statement handler ``async (ctx, sql, match) -> Result``.
  Tried before the core's generic handling (SELECT/DML/DDL through SQLite).  Rules are indexed by the
  leading keyword of the pattern, so per-statement overhead stays small.
- ``@system_table(schema, table, columns=[(name, type), ...])``: ``(instance) -> rows``; materialised at
  query time so any SELECT (joins included) sees the instance's live state.
- ``@sql_function(name)``: ``(ctx, *args) -> value`` (sync or async) usable in SELECT.
- ``@system_variable(name, default=..., scope=..., dynamic=..., type=...)``.
- ``@status_variable(name)``: ``(instance) -> value`` for SHOW STATUS / performance_schema.global_status.
- ``on_event(name, fn)`` or ``@on_event(name)``: ``transaction_committed(instance, txn)``,
  ``instance_started(instance)``, ``instance_stopped(instance)``, ``variable_changed(instance, name, value)``,
  ``plugin_installed(instance, name)``, ``plugin_uninstalled(instance, name)``, ``world_started(world)``,
  ``world_stopping(world)``, ``topology_changed(world)`` (partition/heal/slow_link).
- ``@topology_mode(name)``: ``async (world, site) -> None`` builds a site's initial state.
- ``@procedure(schema, name)``: ``async (ctx, *args) -> Result | None`` for ``CALL schema.name(...)``.
- ``@control_action(name)``: ``async (world, params: dict) -> JSON`` extra control-API actions.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mysqlsim.instance import Instance
    from mysqlsim.session import SimSession
    from mysqlsim.world import Site, World

Row = tuple[Any, ...]


@dataclass
class Result:
    """What a statement returns: a result set (``columns`` non-empty) or an OK packet."""

    columns: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    affected_rows: int = 0
    last_insert_id: int = 0

    @property
    def is_ok(self) -> bool:
        return not self.columns

    @classmethod
    def ok(cls, affected_rows: int = 0, *, last_insert_id: int = 0) -> Result:
        return cls(affected_rows=affected_rows, last_insert_id=last_insert_id)

    @classmethod
    def single(cls, column: str, value: Any) -> Result:
        return cls(columns=[column], rows=[(value,)])


@dataclass
class StatementContext:
    """Everything a handler may need: the client session, its instance and the world."""

    session: SimSession
    instance: Instance
    world: World

    @property
    def user(self) -> str:
        return self.session.user

    @property
    def host(self) -> str:
        return self.session.client_host

    def require(self, *privileges: str) -> None:
        """Raise 1227 unless the session's account holds one of ``privileges`` globally."""
        self.session.require_global(*privileges)

    def has_privilege(self, privilege: str) -> bool:
        return self.session.has_global(privilege)

    async def query(self, sql: str) -> Result:
        """Run another statement in this same session (privileges and read-only rules apply)."""
        return await self.session.execute(sql)


@dataclass
class UserVariable:
    """A ``@name`` argument of CALL (OUT/INOUT parameters): ``value`` is its value before the call; a
    procedure assigns ``ctx.session.user_vars[name]``."""

    name: str
    value: Any = None

    def __str__(self) -> str:
        return "" if self.value is None else str(self.value)


StatementHandler = Callable[[StatementContext, str, "re.Match[str]"], Awaitable[Result]]


@dataclass
class StatementRule:
    pattern: re.Pattern[str]
    handler: StatementHandler
    privilege: tuple[str, ...]
    keyword: str | None
    #: blocked by read_only / super_read_only for client sessions (error 1290)
    writes: bool = False
    #: the statement implicitly commits an open transaction (DDL, account management...)
    implicit_commit: bool = False


_KEYWORD_RX = re.compile(r"^\^?(?:\\s[*+])?(?:\(\?[a-z]+\))?([A-Za-z_]+)")

STATEMENTS: list[StatementRule] = []
STATEMENTS_BY_KEYWORD: dict[str, list[StatementRule]] = {}
STATEMENTS_ANY_KEYWORD: list[StatementRule] = []

F = TypeVar("F", bound=Callable[..., Any])


def statement(
    pattern: str,
    *,
    privilege: str | Sequence[str] | None = None,
    writes: bool = False,
    implicit_commit: bool = False,
    flags: int = re.IGNORECASE | re.DOTALL,
) -> Callable[[StatementHandler], StatementHandler]:
    """Register a raw-SQL statement handler; ``privilege`` is one name or alternatives (any suffices)."""

    def deco(fn: StatementHandler) -> StatementHandler:
        privs: tuple[str, ...]
        if privilege is None:
            privs = ()
        elif isinstance(privilege, str):
            privs = (privilege,)
        else:
            privs = tuple(privilege)
        km = _KEYWORD_RX.match(pattern)
        keyword = km.group(1).upper() if km else None
        rule = StatementRule(re.compile(pattern, flags), fn, privs, keyword, writes, implicit_commit)
        STATEMENTS.append(rule)
        if keyword is None:
            STATEMENTS_ANY_KEYWORD.append(rule)
        else:
            STATEMENTS_BY_KEYWORD.setdefault(keyword, []).append(rule)
        return fn

    return deco


def candidate_rules(first_word: str) -> Iterable[StatementRule]:
    """Rules that may match a statement starting with ``first_word`` (upper case)."""
    yield from STATEMENTS_BY_KEYWORD.get(first_word, ())
    yield from STATEMENTS_ANY_KEYWORD


# --- system tables --------------------------------------------------------------------------------

TableFn = Callable[..., Iterable[Row]]


@dataclass
class SystemTable:
    schema: str
    name: str
    columns: list[tuple[str, str]]
    fn: TableFn
    #: the function takes a StatementContext instead of an Instance (session-dependent tables)
    needs_context: bool = False
    #: the table only exists while this plugin is installed (else 1146)
    plugin: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]


SYSTEM_TABLES: dict[tuple[str, str], SystemTable] = {}


def system_table(
    schema: str,
    name: str,
    *,
    columns: Sequence[tuple[str, str]],
    needs_context: bool = False,
    plugin: str | None = None,
) -> Callable[[F], F]:
    """Register a table materialised at query time: ``fn(instance) -> rows`` (or ``fn(ctx)``)."""

    def deco(fn: F) -> F:
        SYSTEM_TABLES[(schema.lower(), name.lower())] = SystemTable(
            schema.lower(), name.lower(), list(columns), fn, needs_context, plugin
        )
        return fn

    return deco


def system_schemas() -> set[str]:
    return {s for s, _ in SYSTEM_TABLES}


# --- functions / procedures -----------------------------------------------------------------------


@dataclass
class SqlFunction:
    name: str
    fn: Callable[..., Any]
    is_async: bool
    privilege: tuple[str, ...] = ()
    plugin: str | None = None
    #: evaluated once per statement before the SELECT runs (side effects, blocking); arguments must be
    #: constants.  Otherwise the function is called per row by the SQL engine (must be sync).
    pre_evaluate: bool = True


SQL_FUNCTIONS: dict[str, SqlFunction] = {}


def sql_function(
    name: str,
    *,
    privilege: str | Sequence[str] | None = None,
    plugin: str | None = None,
    pre_evaluate: bool | None = None,
) -> Callable[[F], F]:
    """Register a function usable in SELECT: ``fn(ctx, *args)``, sync or ``async``."""

    def deco(fn: F) -> F:
        privs = (
            () if privilege is None else ((privilege,) if isinstance(privilege, str) else tuple(privilege))
        )
        is_async = inspect.iscoroutinefunction(fn)
        pre = is_async if pre_evaluate is None else pre_evaluate
        SQL_FUNCTIONS[name.lower()] = SqlFunction(name.lower(), fn, is_async, privs, plugin, pre or is_async)
        return fn

    return deco


ProcedureFn = Callable[..., Awaitable["Result | None"]]


@dataclass
class Procedure:
    schema: str
    name: str
    fn: ProcedureFn
    #: schema must exist on the instance for the procedure to be callable (else 1305)
    requires_schema: bool = True


PROCEDURES: dict[tuple[str, str], Procedure] = {}


def procedure(schema: str, name: str, *, requires_schema: bool = True) -> Callable[[F], F]:
    """Register a stored procedure ``async (ctx, *args) -> Result | None`` for ``CALL schema.name(...)``."""

    def deco(fn: F) -> F:
        PROCEDURES[(schema.lower(), name.lower())] = Procedure(
            schema.lower(), name.lower(), fn, requires_schema
        )
        return fn

    return deco


# --- variables ------------------------------------------------------------------------------------


@dataclass
class VariableDef:
    name: str
    default: Any
    #: "GLOBAL", "SESSION" (session only) or "BOTH"
    scope: str
    dynamic: bool
    type: type
    persistable: bool = True
    plugin: str | None = None
    choices: tuple[str, ...] | None = None
    #: privileges to SET GLOBAL (any of); SYSTEM_VARIABLES_ADMIN / SUPER by default
    privilege: tuple[str, ...] = ("SUPER", "SYSTEM_VARIABLES_ADMIN")
    #: validator/side effect ``(instance, session_or_None, value) -> value``; may raise MySQLError
    on_set: Callable[..., Any] | None = None
    #: ``(instance) -> value``: computed read-only value (e.g. gtid_executed)
    getter: Callable[..., Any] | None = None


SYSTEM_VARIABLES: dict[str, VariableDef] = {}


def system_variable(
    name: str,
    *,
    default: Any,
    scope: str = "GLOBAL",
    dynamic: bool = True,
    type: type = str,
    persistable: bool = True,
    plugin: str | None = None,
    choices: Sequence[str] | None = None,
    privilege: Sequence[str] | None = None,
    on_set: Callable[..., Any] | None = None,
    getter: Callable[..., Any] | None = None,
) -> Callable[[F], F]:
    """Declare a system variable.  Usable as a decorator (the decorated fn becomes ``on_set``) or via
    :func:`define_variable`."""

    def deco(fn: F) -> F:
        define_variable(
            name,
            default=default,
            scope=scope,
            dynamic=dynamic,
            type=type,
            persistable=persistable,
            plugin=plugin,
            choices=choices,
            privilege=privilege,
            on_set=fn if on_set is None else on_set,
            getter=getter,
        )
        return fn

    return deco


def define_variable(
    name: str,
    *,
    default: Any,
    scope: str = "GLOBAL",
    dynamic: bool = True,
    type: type = str,
    persistable: bool = True,
    plugin: str | None = None,
    choices: Sequence[str] | None = None,
    privilege: Sequence[str] | None = None,
    on_set: Callable[..., Any] | None = None,
    getter: Callable[..., Any] | None = None,
) -> VariableDef:
    scope = scope.upper()
    if scope not in ("GLOBAL", "SESSION", "BOTH"):
        raise ValueError(f"scope must be GLOBAL, SESSION or BOTH, not {scope!r}")
    vd = VariableDef(
        name=name.lower(),
        default=default,
        scope=scope,
        dynamic=dynamic,
        type=type,
        persistable=persistable,
        plugin=plugin,
        choices=tuple(c.upper() for c in choices) if choices else None,
        privilege=tuple(privilege) if privilege else ("SUPER", "SYSTEM_VARIABLES_ADMIN"),
        on_set=on_set,
        getter=getter,
    )
    SYSTEM_VARIABLES[vd.name] = vd
    return vd


STATUS_VARIABLES: dict[str, Callable[..., Any]] = {}


def status_variable(name: str) -> Callable[[F], F]:
    """Register a status variable ``fn(instance) -> value`` (SHOW STATUS, global_status)."""

    def deco(fn: F) -> F:
        STATUS_VARIABLES[name] = fn
        return fn

    return deco


# --- events ---------------------------------------------------------------------------------------

EVENTS: dict[str, list[Callable[..., Any]]] = {}


def on_event(name: str, fn: Callable[..., Any] | None = None) -> Any:
    """Subscribe ``fn`` to event ``name``; handlers may be sync or async.  Usable as a decorator."""

    def add(f: F) -> F:
        EVENTS.setdefault(name, []).append(f)
        return f

    if fn is not None:
        return add(fn)
    return add


async def emit(name: str, *args: Any) -> None:
    """Run the handlers of ``name`` in registration order (async ones are awaited)."""
    for fn in EVENTS.get(name, ()):
        r = fn(*args)
        if inspect.isawaitable(r):
            await r


# --- topology modes / control actions -------------------------------------------------------------

TopologyModeFn = Callable[["World", "Site"], Awaitable[None]]
TOPOLOGY_MODES: dict[str, TopologyModeFn] = {}


def topology_mode(name: str) -> Callable[[TopologyModeFn], TopologyModeFn]:
    """Register the setup of a site mode (``innodb_cluster``; ``empty`` has a core default + this hook)."""

    def deco(fn: TopologyModeFn) -> TopologyModeFn:
        TOPOLOGY_MODES[name] = fn
        return fn

    return deco


ControlActionFn = Callable[["World", dict[str, Any]], Awaitable[Any]]
CONTROL_ACTIONS: dict[str, ControlActionFn] = {}


def control_action(name: str) -> Callable[[ControlActionFn], ControlActionFn]:
    """Register an extra control-API action (POST /action/<name> with a JSON body)."""

    def deco(fn: ControlActionFn) -> ControlActionFn:
        CONTROL_ACTIONS[name] = fn
        return fn

    return deco


# --- plugins --------------------------------------------------------------------------------------


@dataclass
class PluginDef:
    name: str
    soname: str
    type: str
    library_version: str = "1.0"
    author: str = "Oracle Corporation"
    description: str = ""


PLUGINS: dict[str, PluginDef] = {}


def plugin(name: str, *, soname: str, type: str, description: str = "") -> PluginDef:
    """Declare a loadable plugin (``INSTALL PLUGIN name SONAME 'soname'``)."""
    pd = PluginDef(name.lower(), soname, type, description=description)
    PLUGINS[pd.name] = pd
    return pd
