"""Client-side helpers of the mysqlsim conformance suite: connect, query, expect an error, poll a condition.

The suite talks to the simulator only as a MySQL client would (PyMySQL here, asyncmy in the async tests), so
these helpers know nothing of the simulator's code. Every expected error is checked by number and, where the
manual's error reference gives one, by SQLSTATE and message fragment.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import pymysql

ROOT_USER = "root"
ROOT_PASSWORD = "rootpw"
CS_USER = "clusterset"
CS_PASSWORD = "cspw"

T = TypeVar("T")


class Endpoint(Protocol):
    """What the suite needs of mysqlsim.testing.MemberEndpoint."""

    name: str
    host: str
    port: int
    role: str
    server_uuid: str
    version: str


def connect(
    ep: Endpoint,
    *,
    user: str = ROOT_USER,
    password: str = ROOT_PASSWORD,
    database: str | None = None,
    timeout: float = 10,
    **kwargs: Any,
) -> pymysql.connections.Connection[Any]:
    """A PyMySQL connection to one instance, autocommit on (the server default). Without an ``ssl`` argument
    the connection is unencrypted (sslMode DISABLED); PyMySQL's own default, PREFERRED, is tested on its
    own."""
    if "ssl" not in kwargs and "ssl_disabled" not in kwargs:
        kwargs["ssl_disabled"] = True
    return pymysql.connect(
        host=ep.host,
        port=ep.port,
        user=user,
        password=password,
        database=database,
        connect_timeout=timeout,
        read_timeout=kwargs.pop("read_timeout", 60),
        autocommit=True,
        **kwargs,
    )


@contextmanager
def session(ep: Endpoint, **kwargs: Any) -> Iterator[pymysql.connections.Connection[Any]]:
    conn = connect(ep, **kwargs)
    try:
        yield conn
    finally:
        try:
            conn.close()
        except Exception:
            pass


def run(conn: pymysql.connections.Connection[Any], sql: str, args: Sequence[Any] | None = None) -> list[Any]:
    """Execute one statement and return all rows (tuples)."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def run_dict(
    conn: pymysql.connections.Connection[Any], sql: str, args: Sequence[Any] | None = None
) -> list[Any]:
    """Execute one statement and return rows as dicts keyed by column name."""
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def one(conn: pymysql.connections.Connection[Any], sql: str, args: Sequence[Any] | None = None) -> Any:
    """The first column of the single row a statement returns."""
    rows = run(conn, sql, args)
    assert len(rows) == 1, f"{sql!r} returned {len(rows)} rows: {rows!r}"
    return rows[0][0]


def q(ep: Endpoint, sql: str, args: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """One statement on a fresh connection."""
    with session(ep, **kwargs) as conn:
        return run(conn, sql, args)


def q1(ep: Endpoint, sql: str, args: Sequence[Any] | None = None, **kwargs: Any) -> Any:
    with session(ep, **kwargs) as conn:
        return one(conn, sql, args)


def qd(ep: Endpoint, sql: str, args: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    with session(ep, **kwargs) as conn:
        return run_dict(conn, sql, args)


def expect_error(
    fn: Callable[[], Any],
    code: int | tuple[int, ...],
    sqlstate: str | None = None,
    message: str | None = None,
) -> pymysql.MySQLError:
    """Run fn, which must fail with a server error: number ``code``, and SQLSTATE and message (a regex
    searched in the text) when given. Returns the exception."""
    codes = code if isinstance(code, tuple) else (code,)
    try:
        result = fn()
    except pymysql.MySQLError as exc:
        got = exc.args[0] if exc.args else None
        text = str(exc.args[1]) if len(exc.args) > 1 else ""
        assert got in codes, f"expected error {codes}, got {got}: {text}"
        if sqlstate is not None:
            assert getattr(exc, "sqlstate", None) == sqlstate, (
                f"error {got}: expected SQLSTATE {sqlstate}, got {getattr(exc, 'sqlstate', None)}"
            )
        if message is not None:
            assert re.search(message, text), f"error {got}: message {text!r} does not match {message!r}"
        return exc
    raise AssertionError(f"expected error {codes}, but the statement succeeded with {result!r}")


def expect_sql_error(
    ep_or_conn: Any,
    sql: str,
    code: int | tuple[int, ...],
    sqlstate: str | None = None,
    message: str | None = None,
    **kwargs: Any,
) -> pymysql.MySQLError:
    """expect_error for one statement, on a connection or on a fresh connection to an endpoint."""
    if isinstance(ep_or_conn, pymysql.connections.Connection):
        return expect_error(lambda: run(ep_or_conn, sql), code, sqlstate, message)

    def go() -> Any:
        with session(ep_or_conn, **kwargs) as conn:
            return run(conn, sql)

    return expect_error(go, code, sqlstate, message)


def wait_until(
    probe: Callable[[], T | bool | None],
    *,
    timeout: float = 30,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll probe until it returns something truthy (returned); exceptions count as not yet."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = probe()
            if value:
                return value  # type: ignore[return-value]
            last = value
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def gtid_subset(ep: Endpoint, a: str, b: str) -> bool:
    """Server-side GTID_SUBSET, so that the suite never computes GTID arithmetic itself."""
    return bool(q1(ep, "SELECT GTID_SUBSET(%s, %s)", (a, b)))


def wait_gtids(ep: Endpoint, gtids: str, timeout: int = 30) -> None:
    """Wait until ep has executed gtids (WAIT_FOR_EXECUTED_GTID_SET, RM 14.18.2)."""

    def probe() -> bool:
        with session(ep, read_timeout=timeout + 10) as conn:
            return one(conn, "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s)", (gtids, 2)) == 0

    wait_until(probe, timeout=timeout, what=f"{ep.name} to execute {gtids}")


def plugin_status(ep: Endpoint, name: str) -> str | None:
    rows = q(ep, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME = %s", (name,))
    return rows[0][0] if rows else None


def ensure_plugin(ep: Endpoint, name: str, soname: str) -> None:
    """INSTALL PLUGIN unless information_schema.plugins already lists it ACTIVE."""
    if plugin_status(ep, name) != "ACTIVE":
        q(ep, f"INSTALL PLUGIN {name} SONAME '{soname}'")


def primary_of(eps: Sequence[Endpoint]) -> Endpoint:
    """The member that replication_group_members (seen from any reachable member) calls PRIMARY."""
    for ep in eps:
        try:
            rows = q(
                ep,
                "SELECT MEMBER_ID FROM performance_schema.replication_group_members "
                "WHERE MEMBER_ROLE = 'PRIMARY' AND MEMBER_STATE = 'ONLINE'",
                timeout=3,
            )
        except pymysql.MySQLError:
            continue
        if rows:
            uuid = rows[0][0]
            for cand in eps:
                if cand.server_uuid == uuid:
                    return cand
    raise AssertionError("no ONLINE PRIMARY found")


def unique(prefix: str) -> str:
    """A name no other test uses (tests share worlds)."""
    return f"{prefix}_{time.monotonic_ns() % 10**12}"
