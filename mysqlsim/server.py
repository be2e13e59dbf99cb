"""The MySQL protocol front of one instance, built on mysql-mimic's connection layer.

Why it exists: mysql-mimic supplies the wire protocol (handshake, TLS upgrade, mysql_native_password,
result sets); everything above it is mysqlsim's.  The session class given to mimic hands the raw SQL to
:class:`mysqlsim.session.SimSession`, so mimic's parser and its silent shortcuts are never used.  Error
packets carry the error's own SQLSTATE; OK packets carry affected rows and the last insert id.
Connections are refused while the instance is down or its host is cut off from the client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import TYPE_CHECKING, Any

from mysql_mimic import packets
from mysql_mimic.auth import IdentityProvider, NativePasswordAuthPlugin, User
from mysql_mimic.connection import Connection
from mysql_mimic.constants import KillKind
from mysql_mimic.control import LocalControl
from mysql_mimic.errors import ErrorCode, MysqlError
from mysql_mimic.packets import SSLRequest
from mysql_mimic.results import ResultColumn, ResultSet, infer_type
from mysql_mimic.server import MysqlServer
from mysql_mimic.session import BaseSession
from mysql_mimic.stream import MysqlStream
from mysql_mimic.types import ColumnType

from mysqlsim import errors
from mysqlsim.registry import Result
from mysqlsim.session import SimSession

if TYPE_CHECKING:
    from mysqlsim.instance import Instance

logging.getLogger("mysql_mimic").setLevel(logging.CRITICAL)
log = logging.getLogger("mysqlsim.server")


class _WireError(MysqlError):  # type: ignore[misc]
    """Carries a MySQLError through mimic's command loop (which catches MysqlError quietly)."""

    def __init__(self, err: errors.MySQLError) -> None:
        super().__init__(err.message, ErrorCode.UNKNOWN_ERROR)
        self.msg = err


class _Vars:
    """The little of mimic's Variables interface its Connection uses."""

    def __init__(self, version: str) -> None:
        self._d: dict[str, Any] = {
            "character_set_results": "utf8mb4",
            "character_set_client": "utf8mb4",
            "version": version,
            "external_user": "",
        }

    def get(self, name: str) -> Any:
        return self._d.get(name)

    def set(self, name: str, value: Any, force: bool = False) -> None:
        self._d[name] = value


class MimicSession(BaseSession):  # type: ignore[misc]
    """Adapter between mimic's Connection and a SimSession."""

    def __init__(self, sim: SimSession) -> None:
        self.sim = sim
        self.variables = _Vars(sim.instance.version)
        self.username: str | None = None
        self.database: str | None = None
        self.pending_account: Any = None

    async def handle_query(self, sql: str, attrs: dict[str, str]) -> Any:
        r = await self.run(sql)
        if r.is_ok:
            return None
        return r.rows, r.columns

    async def run(self, sql: str) -> Result:
        self.sim.database = self.database
        try:
            return await self.sim.execute(sql)
        except errors.MySQLError as e:
            raise _WireError(e) from None
        finally:
            self.database = self.sim.database

    async def use(self, database: str) -> None:
        if not self.sim.instance.engine.schema_exists(database):
            raise _WireError(errors.bad_db(database))
        self.database = database
        self.sim.database = database

    async def close(self) -> None:
        await self.sim.abort()
        self.sim.instance.sessions.pop(self.sim.connection_id, None)


class _Identity(IdentityProvider):  # type: ignore[misc]
    """Per-connection identity provider: accounts of the instance, matched with the client's host."""

    def __init__(self, session: MimicSession) -> None:
        self.session = session
        self._plugin = NativePasswordAuthPlugin()

    def get_plugins(self) -> list[Any]:
        return [self._plugin]

    def get_default_plugin(self) -> Any:
        return self._plugin

    def get_plugin(self, name: str) -> Any:
        return self._plugin

    async def get_user(self, username: str) -> User | None:
        sim = self.session.sim
        acc = sim.instance.accounts.match(username, sim.client_host)
        self.session.pending_account = acc
        if acc is None or acc.locked:
            # unknown user: authentication fails like a wrong password (1045, not mimic's 3162)
            return User(name=username, auth_string="00" * 20, auth_plugin="mysql_native_password")
        return User(name=username, auth_string=acc.auth_string, auth_plugin="mysql_native_password")


async def start_tls(stream: MysqlStream, ssl: Any) -> None:
    """TLS upgrade of a mimic stream that keeps bytes the client sent right after its SSLRequest.

    asyncio's ``loop.start_tls`` ignores data already buffered in the StreamReader; when the ClientHello
    arrives in the same read as the SSLRequest (a loaded machine), the handshake would hang.  Here the
    buffered bytes are handed to the TLS protocol before reading resumes."""
    from asyncio import sslproto

    transport = stream.writer.transport
    protocol = transport.get_protocol()
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    ssl_protocol = sslproto.SSLProtocol(loop, protocol, ssl, waiter, True, None, call_connection_made=False)
    transport.pause_reading()
    buf = stream.reader._buffer
    pending = bytes(buf)
    buf.clear()
    transport.set_protocol(ssl_protocol)
    ssl_protocol.connection_made(transport)
    if pending:
        mem = ssl_protocol.get_buffer(len(pending))
        mem[: len(pending)] = pending
        ssl_protocol.buffer_updated(len(pending))
    transport.resume_reading()
    try:
        await waiter
    except BaseException:
        transport.close()
        raise
    new_transport = ssl_protocol._app_transport
    stream.writer._transport = new_transport
    stream.reader._transport = new_transport


def result_set(r: Result) -> ResultSet:
    """A mimic ResultSet; column types from the first non-NULL value (duplicate names allowed)."""
    cols = []
    for i, name in enumerate(r.columns):
        val = next((row[i] for row in r.rows if row[i] is not None), None)
        cols.append(ResultColumn(name=name, type=infer_type(val) if val is not None else ColumnType.NULL))
    return ResultSet(rows=r.rows, columns=cols)


def _error_packet(capabilities: Any, code: int, sqlstate: str, message: str) -> bytes:
    from mysql_mimic.types import Capabilities

    out = b"\xff" + struct.pack("<H", code)
    if Capabilities.CLIENT_PROTOCOL_41 in capabilities:
        out += b"#" + sqlstate.encode()[:5].ljust(5, b"0")
    return out + message.encode("utf-8", errors="replace")


class SimConnection(Connection):  # type: ignore[misc]
    """mimic Connection with MySQL-accurate errors, OK packets and a TLS / host check after login."""

    session: MimicSession

    def error(self, **kwargs: Any) -> bytes:
        msg = kwargs.get("msg", "")
        code = int(kwargs.get("code", ErrorCode.UNKNOWN_ERROR))
        if isinstance(msg, errors.MySQLError):
            return _error_packet(self.capabilities, msg.code, msg.sqlstate, msg.message)
        sim = self.session.sim
        if code == ErrorCode.ACCESS_DENIED_ERROR:
            e = errors.access_denied(
                str(self.session.variables.get("external_user") or ""),
                sim.client_host,
                using_password=getattr(self, "_used_password", True),
            )
            return _error_packet(self.capabilities, e.code, e.sqlstate, e.message)
        if code == ErrorCode.SESSION_WAS_KILLED:
            e = errors.query_interrupted() if str(msg) == "Query was killed" else errors.connection_killed()
            return _error_packet(self.capabilities, e.code, e.sqlstate, e.message)
        return _error_packet(
            self.capabilities,
            code,
            packets.get_sqlstate(ErrorCode(code)).decode()
            if code in ErrorCode._value2member_map_
            else "HY000",
            str(msg),
        )

    async def handle_query(self, data: bytes) -> None:
        com_query = packets.parse_com_query(
            capabilities=self.capabilities, client_charset=self.client_charset, data=data
        )
        r = await self.session.run(com_query.sql)
        if r.is_ok:
            await self.stream.write(
                self.ok(
                    affected_rows=r.affected_rows,
                    last_insert_id=r.last_insert_id,
                    warnings=min(len(self.session.sim.warnings), 65535),
                )
            )
            return
        await self.write_text_resultset(result_set(r))

    async def connection_phase(self) -> None:
        """mimic's handshake, with :func:`start_tls` for the TLS upgrade."""
        from mysql_mimic.types import Capabilities  # noqa: F401

        default_auth_plugin = self.identity_provider.get_default_plugin()
        auth_data, auth_state = await default_auth_plugin.start()
        assert isinstance(auth_data, bytes)
        self.handshake_auth_data = auth_data
        self.handshake_auth_plugin = default_auth_plugin.name
        await self.stream.write(
            packets.make_handshake_v10(
                capabilities=self.server_capabilities,
                server_charset=self.server_charset,
                server_version=str(self.session.variables.get("version")),
                connection_id=self.connection_id,
                auth_data=auth_data,
                status_flags=self.status_flags,
                auth_plugin_name=default_auth_plugin.name,
            )
        )
        response = packets.parse_handshake_response(
            capabilities=self.server_capabilities, data=await self.stream.read()
        )
        if isinstance(response, SSLRequest):
            assert self.ssl is not None
            await start_tls(self.stream, self.ssl)
            response = packets.parse_handshake_response_41(
                capabilities=self.server_capabilities, data=await self.stream.read()
            )
        self.capabilities = response.capabilities
        self.max_packet_size = response.max_packet_size
        self.session.variables.set("character_set_client", response.client_charset.name)
        self.session.database = response.database
        self.client_plugin_name = response.client_plugin
        self.client_connect_attrs = response.connect_attrs
        self.zstd_compression_level = response.zstd_compression_level
        self.session.variables.set("external_user", response.username, force=True)
        await self.authenticate(
            auth_state=auth_state,
            server_plugin=default_auth_plugin,
            username=response.username,
            client_plugin_name=response.client_plugin,
            auth_response=response.auth_response,
            connect_attrs=response.connect_attrs,
        )
        self.stream.reset_seq()

    async def _start(self) -> None:
        sim = self.session.sim
        try:
            await self.connection_phase()
        except Exception:
            return
        if self.session.username is None:
            return  # authentication failed; the error packet was sent
        sim.account = self.session.pending_account
        sim.user = self.session.username
        ssl_obj = self.stream.writer.get_extra_info("ssl_object")
        sim.tls = ssl_obj is not None
        if ssl_obj is not None:
            cipher = ssl_obj.cipher()
            sim.tls_cipher = cipher[0] if cipher else ""
            sim.tls_version = ssl_obj.version() or ""
        inst = sim.instance
        if not inst.running:
            await self.stream.write(self.error(msg=errors.server_shutdown()))
            return
        inst.sessions[sim.connection_id] = sim
        sim.kill_hook = self._kill_from_sim
        try:
            await self.command_phase()
        except asyncio.CancelledError:
            if self._kill == KillKind.CONNECTION:
                with contextlib.suppress(Exception):
                    await self.stream.write(self.error(msg=errors.connection_killed()))
        finally:
            await self.session.close()

    def _login_refusal(self, sim: SimSession, tls: bool) -> errors.MySQLError | None:
        """Checks after the password: REQUIRE SSL accounts, the default schema of the handshake."""
        acc = sim.account
        if sim.instance.variables.get_raw("require_secure_transport") and not tls:
            return errors.insecure_transport()
        if acc is not None and acc.require_ssl and not tls:
            return errors.access_denied(acc.user, sim.client_host, using_password=self._used_password)
        db = self.session.database
        if db:
            inst = sim.instance
            if not inst.engine.schema_exists(db):
                return errors.bad_db(db)
            if (
                acc is not None
                and db.lower() not in ("information_schema", "performance_schema")
                and not (acc.has_any_in_schema(db))
            ):
                return errors.db_access_denied(acc.user, sim.client_host, db)
            sim.database = db
        return None

    async def authenticate(self, username: str, auth_response: bytes, *args: Any, **kwargs: Any) -> None:
        self._used_password = bool(auth_response)
        self._authenticating = True
        try:
            await super().authenticate(username, auth_response, *args, **kwargs)
        finally:
            self._authenticating = False

    def ok(self, **kwargs: Any) -> bytes:
        """During authentication mimic sends OK right after the password check; the account's other
        conditions (REQUIRE SSL, the handshake's schema) may turn it into an error packet instead."""
        if getattr(self, "_authenticating", False) and self.session.username is not None:
            sim = self.session.sim
            sim.account = self.session.pending_account
            tls = self.stream.writer.get_extra_info("ssl_object") is not None
            err = self._login_refusal(sim, tls)
            if err is not None:
                self.session.username = None
                return self.error(msg=err)
        return bytes(super().ok(**kwargs))

    def _kill_from_sim(self, connection: bool) -> None:
        self.kill(KillKind.CONNECTION if connection else KillKind.QUERY)
        if connection:
            with contextlib.suppress(Exception):
                self.stream.writer.transport.abort()


class InstanceServer(MysqlServer):  # type: ignore[misc]
    """The listener of one instance on ``host:port``."""

    def __init__(self, instance: Instance) -> None:
        super().__init__(control=LocalControl(server_id=instance.server_id % 65536), ssl=instance.ssl_context)
        self.instance = instance
        self.ssl = instance.ssl_context

    async def _client_connected_cb(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        inst = self.instance
        peer = writer.get_extra_info("peername")
        client_host = peer[0] if peer else "localhost"
        stream = MysqlStream(reader, writer)
        if not inst.running or not inst.world.reachable(client_host, inst.host):
            writer.transport.abort()
            return
        sim = SimSession(inst, user="", client_host=client_host)
        session = MimicSession(sim)
        from mysqlsim.instance import Instance as _I  # noqa: F401 - typing aid only

        connection = SimConnection(
            stream=stream,
            session=session,
            control=self.control,
            server_capabilities=self.capabilities,
            identity_provider=_Identity(session),
            ssl=self.ssl,
        )
        connection.connection_id = sim.connection_id
        try:
            await connection.start()
        except Exception:
            log.debug("connection %s ended with an error", sim.connection_id, exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def start(self) -> None:
        await self.start_server(host=self.instance.host, port=self.instance.port, reuse_address=True)

    async def stop(self) -> None:
        self.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.wait_closed(), 2)
