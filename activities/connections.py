"""asyncmy connections for the operations: warm pools per endpoint, TLS per spec.sslMode, timeouts.

Why it exists: every step opens sessions to several servers of several sites. Pools keep the TCP/TLS
handshakes out of each status round; `Session` puts a timeout on every call and turns every driver
error into the typed hierarchy of `activities.errors`; `find_primary` tries *all* of a cluster's
endpoints with their own ports (Percona's controller uses only the first endpoint and ignores the
port) and asks `performance_schema.replication_group_members` which member is the GR PRIMARY.

TLS of our own connections follows `spec.sslMode`:
  DISABLED        no TLS
  REQUIRED        TLS, certificate not verified
  VERIFY_CA       TLS, certificate verified against the CA bundle of `ConnectionSettings.ca_path`
  VERIFY_IDENTITY VERIFY_CA plus the host name (IP SAN) check
  AUTO            TLS without verification when the server offers it, else plain (remembered per endpoint)
The CA bundle path comes from configuration (env CLUSTERSET_MYSQL_CA_PATH or a worker option).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncmy
from asyncmy.cursors import DictCursor

from activities.errors import (
    ClusterSetError,
    InstanceUnreachable,
    NoPrimary,
    classify_mysql_error,
)
from api.models import ClusterSpec, Endpoint, SslMode

Row = dict[str, Any]


@dataclass(frozen=True)
class ConnectionSettings:
    """Timeouts and TLS material for our own connections."""

    connect_timeout: float = 5.0
    query_timeout: float = 30.0
    ca_path: str | None = None
    pool_maxsize: int = 4
    pool_recycle: int = 600
    connect_attempts: int = 3  # a connect (TCP + TLS handshake) that times out is tried again

    @classmethod
    def from_env(cls) -> ConnectionSettings:
        return cls(
            connect_timeout=float(os.environ.get("CLUSTERSET_MYSQL_CONNECT_TIMEOUT", "5")),
            query_timeout=float(os.environ.get("CLUSTERSET_MYSQL_QUERY_TIMEOUT", "30")),
            ca_path=os.environ.get("CLUSTERSET_MYSQL_CA_PATH") or None,
        )


@dataclass(frozen=True)
class Credentials:
    """User and password for one round of work. `repr` hides the password."""

    user: str
    password: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.user}\0{self.password}".encode()).hexdigest()[:16]


def endpoint_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def tls_context(mode: SslMode, *, ca_path: str | None) -> ssl.SSLContext | None:
    """The client TLS context for a mode (None = plain TCP)."""
    if mode == SslMode.DISABLED:
        return None
    if mode in (SslMode.REQUIRED, SslMode.AUTO):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if not ca_path:
        raise InstanceUnreachable(
            f"sslMode {mode.value} needs a CA bundle: set CLUSTERSET_MYSQL_CA_PATH (or the worker's ca_path)"
        )
    ctx = ssl.create_default_context(cafile=ca_path)
    ctx.check_hostname = mode == SslMode.VERIFY_IDENTITY
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class Session:
    """One checked-out connection; every call has a timeout and raises typed errors."""

    def __init__(self, conn: Any, *, address: str, timeout: float) -> None:
        self._conn = conn
        self.address = address
        self.timeout = timeout
        self.broken = False

    @property
    def tls_version(self) -> str | None:
        """The TLS version of this connection (client side), None when plain."""
        transport = getattr(self._conn, "_transport", None)
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        return ssl_object.version() if ssl_object is not None else None

    async def _run(self, sql: str, *, fetch: bool, limit: float | None) -> list[Row]:
        t = self.timeout if limit is None else limit
        try:
            async with self._conn.cursor(DictCursor) as cur:
                await asyncio.wait_for(cur.execute(sql), t)
                if fetch:
                    rows = await asyncio.wait_for(cur.fetchall(), t)
                    return [dict(r) for r in rows or ()]
                return []
        except asyncio.CancelledError:
            self.broken = True
            raise
        except ClusterSetError:
            raise
        except Exception as e:  # driver and transport errors
            err = classify_mysql_error(e, where=self.address, doing=_describe(sql))
            if err.args:
                err.args = (redact(str(err.args[0]), sql), *err.args[1:])
            if isinstance(err, InstanceUnreachable) or isinstance(e, (asyncio.TimeoutError, TimeoutError)):
                self.broken = True
            raise err from e

    async def fetch_all(self, sql: str, *, limit: float | None = None) -> list[Row]:
        return await self._run(sql, fetch=True, limit=limit)

    async def fetch_one(self, sql: str, *, limit: float | None = None) -> Row | None:
        rows = await self._run(sql, fetch=True, limit=limit)
        return rows[0] if rows else None

    async def scalar(self, sql: str, *, limit: float | None = None) -> Any:
        row = await self.fetch_one(sql, limit=limit)
        if not row:
            return None
        return next(iter(row.values()))

    async def execute(self, sql: str, *, limit: float | None = None) -> None:
        await self._run(sql, fetch=False, limit=limit)

    async def execute_all(self, statements: Iterable[str], *, limit: float | None = None) -> None:
        for s in statements:
            await self.execute(s, limit=limit)


_SECRET_LITERAL = re.compile(
    r"(?:IDENTIFIED\s+BY|SOURCE_PASSWORD\s*=|PASSWORD\s*=)\s*'((?:[^'\\]|\\.|'')*)'", re.IGNORECASE
)


def redact(message: str, sql: str) -> str:
    """Remove the passwords a statement carries from a (server) message about it.

    A server echoes part of a failing statement ("... near '<text>'"), possibly cutting a password in
    the middle: when any 6-character piece of a password shows, the server's text is withheld entirely.
    """
    secrets = [m.group(1) for m in _SECRET_LITERAL.finditer(sql) if m.group(1)]
    secrets += [s.replace("''", "'").replace("\\\\", "\\") for s in secrets]
    for secret in secrets:
        pieces = {secret[i : i + 6] for i in range(max(1, len(secret) - 5))}
        if secret in message or any(piece in message for piece in pieces):
            m = re.search(r"\(\d+\) ", message)
            head = message[: m.end()] if m else ""
            return f"{head}(server text withheld: the statement carries a password)"
    return message


def _describe(sql: str) -> str:
    """The first words of a statement, never its literals (which may hold a password)."""
    head = sql.strip().split("'", 1)[0]
    words = head.split()
    return "running " + " ".join(words[:6]) if words else ""


@dataclass
class _PoolEntry:
    pool: Any
    plain: bool


class Pools:
    """asyncmy pools keyed by (host, port, user, password fingerprint, ssl mode); reused across steps."""

    def __init__(self, settings: ConnectionSettings | None = None) -> None:
        self.settings = settings or ConnectionSettings()
        self._pools: dict[tuple[str, int, str, str, str], _PoolEntry] = {}
        self._auto_plain: set[tuple[str, int]] = set()
        self._lock = asyncio.Lock()
        self.connects = 0  # pools created (tests and benches read it)

    async def _connect_pool(
        self, host: str, port: int, creds: Credentials, tls: ssl.SSLContext | None
    ) -> Any:
        kwargs: dict[str, Any] = dict(
            host=host,
            port=port,
            user=creds.user,
            password=creds.password,
            connect_timeout=self.settings.connect_timeout,
            autocommit=True,
            minsize=0,
            maxsize=self.settings.pool_maxsize,
            pool_recycle=self.settings.pool_recycle,
        )
        if tls is not None:
            kwargs["ssl"] = tls
        pool = await asyncio.wait_for(asyncmy.create_pool(**kwargs), self.settings.connect_timeout + 1)
        self.connects += 1
        return pool

    async def _entry(self, host: str, port: int, creds: Credentials, mode: SslMode) -> _PoolEntry:
        key = (host, port, creds.user, creds.fingerprint, mode.value)
        entry = self._pools.get(key)
        if entry is not None:
            return entry
        async with self._lock:
            entry = self._pools.get(key)
            if entry is None:
                plain = mode == SslMode.DISABLED or (
                    mode == SslMode.AUTO and (host, port) in self._auto_plain
                )
                tls = None if plain else tls_context(mode, ca_path=self.settings.ca_path)
                pool = await self._connect_pool(host, port, creds, tls)
                entry = _PoolEntry(pool=pool, plain=plain)
                self._pools[key] = entry
        return entry

    async def _acquire(self, entry: _PoolEntry, address: str) -> Any:
        attempts = max(1, self.settings.connect_attempts)
        for attempt in range(attempts):
            try:
                return await asyncio.wait_for(entry.pool.acquire(), self.settings.connect_timeout + 1)
            except TimeoutError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def session(
        self,
        host: str,
        port: int,
        *,
        creds: Credentials,
        ssl_mode: SslMode = SslMode.AUTO,
        limit: float | None = None,
    ) -> AsyncIterator[Session]:
        """A pooled session to host:port; the connection is dropped instead of reused when it broke."""
        address = endpoint_address(host, port)
        try:
            entry = await self._entry(host, port, creds, ssl_mode)
            try:
                conn = await self._acquire(entry, address)
            except ssl.SSLError:
                if ssl_mode != SslMode.AUTO:
                    raise
                # AUTO: the server offers no TLS; remember and go plain.
                self._auto_plain.add((host, port))
                await self._drop(host, port, creds, ssl_mode)
                entry = await self._entry(host, port, creds, ssl_mode)
                conn = await self._acquire(entry, address)
        except ClusterSetError:
            raise
        except Exception as e:
            raise classify_mysql_error(e, where=address, doing="connecting") from e
        session = Session(conn, address=address, timeout=limit or self.settings.query_timeout)
        try:
            yield session
        finally:
            if session.broken:
                conn.close()
            entry.pool.release(conn)

    @asynccontextmanager
    async def dedicated(
        self, host: str, port: int, *, creds: Credentials, ssl_mode: SslMode = SslMode.AUTO
    ) -> AsyncIterator[Session]:
        """A connection outside the pools, for a statement that runs long (CLONE INSTANCE)."""
        address = endpoint_address(host, port)
        plain = ssl_mode == SslMode.DISABLED or (
            ssl_mode == SslMode.AUTO and (host, port) in self._auto_plain
        )
        kwargs: dict[str, Any] = dict(
            host=host,
            port=port,
            user=creds.user,
            password=creds.password,
            connect_timeout=self.settings.connect_timeout,
            autocommit=True,
        )
        if not plain:
            kwargs["ssl"] = tls_context(ssl_mode, ca_path=self.settings.ca_path)
        conn: Any = None
        for attempt in range(max(1, self.settings.connect_attempts)):
            try:
                conn = await asyncio.wait_for(asyncmy.connect(**kwargs), self.settings.connect_timeout + 1)
                break
            except TimeoutError as e:
                if attempt == max(1, self.settings.connect_attempts) - 1:
                    raise classify_mysql_error(e, where=address, doing="connecting") from e
            except Exception as e:
                raise classify_mysql_error(e, where=address, doing="connecting") from e
        try:
            yield Session(conn, address=address, timeout=self.settings.query_timeout)
        finally:
            conn.close()

    async def _drop(self, host: str, port: int, creds: Credentials, mode: SslMode) -> None:
        entry = self._pools.pop((host, port, creds.user, creds.fingerprint, mode.value), None)
        if entry is not None:
            entry.pool.close()
            await entry.pool.wait_closed()

    async def discard_host(self, host: str, port: int) -> None:
        """Forget every pool of an endpoint (after a restart, e.g. at the end of a CLONE)."""
        for key in [k for k in self._pools if k[0] == host and k[1] == port]:
            entry = self._pools.pop(key)
            entry.pool.terminate()

    async def close(self) -> None:
        entries = list(self._pools.values())
        self._pools.clear()
        for entry in entries:
            entry.pool.close()
        for entry in entries:
            try:
                await asyncio.wait_for(entry.pool.wait_closed(), 5)
            except Exception:  # closing is best effort
                pass


@dataclass(frozen=True)
class Member:
    """A Group Replication member as seen from replication_group_members, with a reachable address."""

    server_uuid: str
    host: str
    port: int
    state: str
    role: str
    version: str = ""

    @property
    def address(self) -> str:
        return endpoint_address(self.host, self.port)


async def group_members(session: Session) -> list[Member]:
    from activities import sql

    rows = await session.fetch_all(sql.GR_MEMBERS)
    out = []
    for r in rows:
        if not r.get("member_id"):
            continue
        out.append(
            Member(
                server_uuid=str(r["member_id"]),
                host=str(r.get("member_host") or ""),
                port=int(r.get("member_port") or 0),
                state=str(r.get("member_state") or ""),
                role=str(r.get("member_role") or ""),
                version=str(r.get("member_version") or ""),
            )
        )
    return out


class ClusterAccess:
    """Sessions to one member cluster of the spec: any endpoint, its GR primary, a given member."""

    def __init__(self, pools: Pools, cluster: ClusterSpec, *, creds: Credentials, ssl_mode: SslMode) -> None:
        self.pools = pools
        self.cluster = cluster
        self.creds = creds
        self.ssl_mode = ssl_mode

    @property
    def name(self) -> str:
        return self.cluster.innodb_cluster_name

    @property
    def endpoints(self) -> list[Endpoint]:
        return list(self.cluster.endpoints)

    def session(self, host: str, port: int, *, limit: float | None = None) -> Any:
        return self.pools.session(host, port, creds=self.creds, ssl_mode=self.ssl_mode, limit=limit)

    def endpoint_session(self, endpoint: Endpoint, *, limit: float | None = None) -> Any:
        return self.session(endpoint.host, endpoint.port, limit=limit)

    async def reachable_endpoints(self) -> list[Endpoint]:
        """Endpoints that answer, in spec order (all are tried)."""
        out: list[Endpoint] = []
        for ep in self.endpoints:
            try:
                async with self.endpoint_session(ep) as s:
                    await s.scalar("SELECT 1 AS one")
                out.append(ep)
            except InstanceUnreachable:
                continue
        return out

    async def any_member_view(self) -> tuple[Endpoint, list[Member]]:
        """The first endpoint that answers and the group membership it sees (ONLINE members only count).

        Every endpoint is tried; non-retryable errors (access denied) propagate at once.
        """
        last: ClusterSetError | None = None
        fallback: tuple[Endpoint, list[Member]] | None = None
        for ep in self.endpoints:
            try:
                async with self.endpoint_session(ep) as s:
                    members = await group_members(s)
            except InstanceUnreachable as e:
                last = e
                continue
            online = [m for m in members if m.state == "ONLINE"]
            if any(m.role == "PRIMARY" for m in online):
                return ep, members
            if fallback is None:
                fallback = (ep, members)
        if fallback is not None:
            return fallback
        raise InstanceUnreachable(
            f"no endpoint of cluster {self.name} answers "
            f"({', '.join(e.address for e in self.endpoints)}): {last}",
            where=self.name,
        )

    def endpoint_for(self, member: Member) -> Endpoint | None:
        for ep in self.endpoints:
            if ep.host == member.host and ep.port == member.port:
                return ep
        return None

    async def locate(self, server_uuid: str) -> Endpoint:
        """The spec endpoint whose @@server_uuid is `server_uuid` (report_host may differ)."""
        from activities import sql

        for ep in self.endpoints:
            try:
                async with self.endpoint_session(ep) as s:
                    if str(await s.scalar(sql.SERVER_UUID)) == server_uuid:
                        return ep
            except InstanceUnreachable:
                continue
        raise InstanceUnreachable(
            f"member {server_uuid} of cluster {self.name} is not reachable through any endpoint",
            where=self.name,
        )

    async def primary(self) -> tuple[Endpoint, Member]:
        """The cluster's current GR PRIMARY (ONLINE) and the endpoint that reaches it."""
        _, members = await self.any_member_view()
        for m in members:
            if m.role == "PRIMARY" and m.state == "ONLINE":
                ep = self.endpoint_for(m) or await self.locate(m.server_uuid)
                return ep, m
        raise NoPrimary(
            f"cluster {self.name} has no ONLINE PRIMARY member right now; wait for the group to elect one "
            "or reboot it (rejoin)",
            where=self.name,
        )
