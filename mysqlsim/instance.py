"""One simulated mysqld: identity, variables, accounts, plugins, data engine, GTID state and binary log.

Why it exists: it is the state every statement handler and ``mysqlsim.replication`` reads and changes.
The commit path (:meth:`Instance.commit`) assigns GTIDs, runs the ``before_commit`` hooks (GR certifies
there), writes the binary log and fires ``transaction_committed``.  :meth:`apply_replicated` is the
applier path (not blocked by read_only/super_read_only).  Lifecycle (kill/start/restart) keeps data,
GTIDs, binary logs and persisted variables; runtime variables and sessions are lost, like a real restart.
"""

from __future__ import annotations

import asyncio
import copy
import time
import uuid as _uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mysqlsim import engine as eng
from mysqlsim import errors
from mysqlsim.accounts import AccountStore
from mysqlsim.binlog import Binlog, BinlogEvent, Transaction
from mysqlsim.gtid import GtidSet
from mysqlsim.registry import PLUGINS, SQL_FUNCTIONS, emit
from mysqlsim.variables import VariableStore

if TYPE_CHECKING:
    from mysqlsim.session import SimSession
    from mysqlsim.world import World


_GROUP: Any = None


def _group_module() -> Any:
    """mysqlsim.replication.group when it is loaded (GTIDs of group members use the group name)."""
    global _GROUP
    if _GROUP is None:
        import sys

        _GROUP = sys.modules.get("mysqlsim.replication.group", False)
    return _GROUP or None


class _Signal:
    """A broadcast 'something changed' signal: waiters wake on every ``fire()``."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, seconds: float | None) -> bool:
        ev = self._event
        try:
            await asyncio.wait_for(ev.wait(), seconds)
            return True
        except TimeoutError:
            return False


@dataclass
class CloneSnapshot:
    """What CLONE copies from a donor: data (incl. the mysql schema), accounts, GTID state."""

    data: bytes
    accounts: Any
    gtid_executed: GtidSet
    gtid_purged: GtidSet
    plugins: dict[str, str]
    extra: dict[str, Any]


class Instance:
    def __init__(
        self,
        world: World,
        *,
        name: str,
        site: str,
        index: int,
        host: str,
        port: int,
        version: str,
        server_id: int,
        dataset_bytes: int = 0,
        server_uuid: str | None = None,
        data_path: str | None = None,
    ) -> None:
        self.world = world
        self.name = name
        self.site = site
        self.index = index
        self.host = host
        self.port = port
        self.version = version
        parts = [int(p) for p in version.split(".")[:3]]
        while len(parts) < 3:
            parts.append(0)
        self.version_tuple: tuple[int, int, int] = (parts[0], parts[1], parts[2])
        self.server_uuid = server_uuid or str(_uuid.uuid4())
        self.server_id = server_id
        self.dataset_bytes = dataset_bytes
        self.running = False
        self.started_at = 0.0
        self.engine = eng.Engine(data_path)
        eng.install_builtin_functions(self.engine, now=time.time)
        self._install_session_functions()
        self._sqlite_functions: set[str] = set()
        self.accounts = AccountStore(self.version_tuple)
        self.gtid_executed = GtidSet()
        self.gtid_purged = GtidSet()
        self.binlog = Binlog()
        #: INSTALL PLUGIN state: name -> status ("ACTIVE"); survives restarts (mysql.plugin)
        self.plugins: dict[str, str] = {}
        #: mysqlsim.replication keeps its state here (channels, GR membership, clone state...)
        self.extensions: dict[str, Any] = {}
        #: fault flags set by the control API (stop_source, apply_lag)
        self.faults: dict[str, Any] = {}
        #: role reported in endpoints.json (PRIMARY/SECONDARY/STANDALONE); replication keeps it current
        self.role_hint = "STANDALONE"
        self.sessions: dict[int, SimSession] = {}
        self._conn_seq = 7
        self.write_lock = asyncio.Lock()
        self.write_lock_owner: SimSession | None = None
        self.read_lock_holder: SimSession | None = None
        self.read_lock_released = _Signal()
        #: fired after every commit/apply (WAIT_FOR_EXECUTED_GTID_SET waits on it)
        self.gtid_changed = _Signal()
        self._reserved_gno: dict[str, int] = {}
        #: kept for mysqlsim.replication's older re-numbering code (no effect on allocation)
        self._next_gno = 1
        self.tls_cert_path: str | None = None
        self.tls_key_path: str | None = None
        self.ca_path: str | None = None
        self.ssl_context: Any = None
        self.variables = VariableStore(self, self._config())

    # --- identity ---------------------------------------------------------------------------------
    @property
    def version_string(self) -> str:
        return self.version

    @property
    def cert_path(self) -> str | None:
        """PEM certificate of this instance's server (SAN = its host IP); ``ca_path`` is the world's CA."""
        return self.tls_cert_path

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _config(self) -> dict[str, Any]:
        return {
            "server_uuid": self.server_uuid,
            "server_id": self.server_id,
            "version": self.version,
            "hostname": self.name,
            "port": self.port,
            "report_host": self.host,
            "report_port": self.port,
        }

    def next_connection_id(self) -> int:
        self._conn_seq += 1
        return self._conn_seq

    def plugin_active(self, name: str) -> bool:
        return self.plugins.get(name.lower()) == "ACTIVE"

    def _install_session_functions(self) -> None:
        from mysqlsim.session import sysvar_function

        self.engine.install_function("MYSQLSIM_SYSVAR", 2, sysvar_function)

    def ensure_sqlite_function(self, name: str) -> None:
        """Register a per-row registry function with SQLite (called with the running statement's context)."""
        if name in self._sqlite_functions:
            return
        f = SQL_FUNCTIONS[name]

        def call(*args: Any) -> Any:
            from mysqlsim.session import CURRENT_CONTEXT

            ctx = CURRENT_CONTEXT.get()
            r = f.fn(ctx, *args)
            if isinstance(r, bool):
                return int(r)
            return r

        self.engine.install_function(name, -1, call)
        self._sqlite_functions.add(name)

    # --- lifecycle --------------------------------------------------------------------------------
    async def on_start(self) -> None:
        """Server start: runtime variables from defaults, option file and persisted config."""
        self.variables.load()
        self.running = True
        self.started_at = time.time()
        self.binlog.rotate() if self.binlog.current.transactions else None
        await emit("instance_started", self)

    async def on_stop(self) -> None:
        """Server stop or crash: sessions are gone; open transactions roll back."""
        self.running = False
        for s in list(self.sessions.values()):
            s.killed = True
            await s.abort()
            if s.kill_hook is not None:
                s.kill_hook(True)
        self.sessions.clear()
        if self.read_lock_holder is not None:
            self.release_read_lock()
        await emit("instance_stopped", self)

    def release_read_lock(self) -> None:
        self.read_lock_holder = None
        self.read_lock_released.fire()

    # --- commit path ------------------------------------------------------------------------------
    def _assign_gtid(self) -> str:
        """The next automatic GTID: ``server_uuid:n``, or ``group_name:n`` on a Group Replication member."""
        uuid = self.server_uuid
        hinted: int | None = None
        group = _group_module()
        if group is not None:
            u = group.commit_uuid(self)
            if u:
                uuid = u
                hinted = group.next_gno(self, u)
        n = max(self._reserved_gno.get(uuid, 0) + 1, self.gtid_executed.last(uuid) + 1, hinted or 0)
        self._reserved_gno[uuid] = n
        return f"{uuid}:{n}"

    async def commit(
        self,
        session: SimSession | None,
        events: list[BinlogEvent],
        *,
        explicit_gtid: str | None,
        log_bin: bool,
        original_commit_timestamp: float | None = None,
    ) -> Transaction | None:
        """Commit the open SQLite transaction; binlog it with a GTID when binlogging applies."""
        conn = self.engine.conn
        if explicit_gtid is not None:
            u, n = GtidSet.parse_gtid(explicit_gtid)
            if self.gtid_executed.contains(u, n):
                # already executed: the server skips the transaction
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return None
            gtid = f"{u}:{n}"
        elif not log_bin or not events:
            if conn.in_transaction:
                conn.execute("COMMIT")
            return None
        else:
            gtid = self._assign_gtid()
        if not log_bin:
            # sql_log_bin=0 with an explicit GTID: the GTID is still added to gtid_executed
            if conn.in_transaction:
                conn.execute("COMMIT")
            u, n = GtidSet.parse_gtid(gtid)
            self.gtid_executed.add(u, n)
            self.gtid_changed.fire()
            return None
        now = time.time()
        txn = Transaction(
            gtid=gtid,
            events=events,
            original_commit_timestamp=original_commit_timestamp or now,
            immediate_commit_timestamp=now,
            size=sum(len(e.text) for e in events) + 100,
            origin_uuid=gtid.rsplit(":", 1)[0],
        )
        # an injected errant transaction is local: replication hooks (GR certification/shipping) skip it
        hooks = not (session is not None and session.errant)
        try:
            if hooks:
                await emit("before_commit", self, txn, session)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if conn.in_transaction:
            conn.execute("COMMIT")
        u, n = GtidSet.parse_gtid(txn.gtid)  # a before_commit hook may have re-numbered it
        self.gtid_executed.add(u, n)
        self.binlog.append(txn)
        self.gtid_changed.fire()
        if hooks:
            await emit("transaction_committed", self, txn)
        return txn

    async def apply_replicated(self, txn: Transaction) -> bool:
        """Apply a transaction received from another server (applier: not blocked by read-only).

        Skipped when its GTID is already executed.  Logged to this server's binlog with the same GTID
        and original commit timestamp (log_replica_updates=ON).  Returns whether it was applied."""
        from mysqlsim.session import SimSession

        u, n = GtidSet.parse_gtid(txn.gtid)
        if self.gtid_executed.contains(u, n):
            return False
        s = SimSession(self, user="system user", client_host="", internal=True, applier=True)
        s.vars["gtid_next"] = txn.gtid
        s.original_commit_ts = txn.original_commit_timestamp
        try:
            for ev in txn.events:
                s.database = ev.schema
                if ev.kind == "sqlite":
                    await s.begin_write()
                    self.engine.conn.execute(ev.text, ev.params)
                else:
                    # statement-form events (DDL, accounts) run through the dispatcher as the applier and
                    # commit with the session's gtid_next (= this transaction's GTID)
                    await s.execute(ev.text)
            if not s.gtid_next_used:
                await s.begin_write()
                try:
                    await self._commit_applied(
                        Transaction(
                            gtid=txn.gtid,
                            events=list(txn.events),
                            original_commit_timestamp=txn.original_commit_timestamp,
                            immediate_commit_timestamp=time.time(),
                            size=txn.size,
                            origin_uuid=txn.origin_uuid,
                        )
                    )
                finally:
                    s._release_write()
        except BaseException:
            await s.rollback()
            raise
        return True

    async def _commit_applied(self, txn: Transaction) -> None:
        conn = self.engine.conn
        try:
            await emit("before_commit", self, txn, None)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if conn.in_transaction:
            conn.execute("COMMIT")
        u, n = GtidSet.parse_gtid(txn.gtid)
        self.gtid_executed.add(u, n)
        self.binlog.append(txn)
        self.gtid_changed.fire()
        await emit("transaction_committed", self, txn)

    async def commit_empty_transaction(self, gtid: str) -> None:
        """Log an empty transaction with this GTID (view-change events; ``SET gtid_next; BEGIN; COMMIT``)."""
        u, n = GtidSet.parse_gtid(gtid)
        if self.gtid_executed.contains(u, n):
            return
        await self._commit_applied(Transaction(gtid=f"{u}:{n}", events=[], origin_uuid=u))

    # --- binary log -------------------------------------------------------------------------------
    def purge_transactions(self, gone: list[Transaction]) -> None:
        for t in gone:
            u, n = GtidSet.parse_gtid(t.gtid)
            self.gtid_purged.add(u, n)

    def purge_all_but_newest(self) -> None:
        """The control API's purge: rotate, then purge every file but the new one (gtid_purged = executed)."""
        self.binlog.rotate()
        gone = self.binlog.purge_to(self.binlog.current.name)
        self.purge_transactions(gone)
        self.gtid_purged = self.gtid_purged.union(self.gtid_executed)

    # --- CLONE ------------------------------------------------------------------------------------
    def snapshot_data(self) -> CloneSnapshot:
        """A donor's state as CLONE copies it."""
        return CloneSnapshot(
            data=self.engine.serialize(),
            accounts=self.accounts.snapshot(),
            gtid_executed=self.gtid_executed.copy(),
            gtid_purged=self.gtid_purged.copy(),
            plugins=dict(self.plugins),
            extra={},
        )

    def replace_data(self, snap: CloneSnapshot) -> None:
        """Recipient side of CLONE: data, accounts and GTID state become the donor's; binlogs removed.
        server_uuid, server_id and persisted variables are kept."""
        self.engine.deserialize(snap.data)
        self._sqlite_functions.clear()
        eng.install_builtin_functions(self.engine, now=time.time)
        self._install_session_functions()
        self.accounts.restore(snap.accounts)
        self.gtid_executed = snap.gtid_executed.copy()
        self.gtid_purged = snap.gtid_executed.copy()
        self.binlog.reset()
        self._reserved_gno = {}
        self.gtid_changed.fire()

    # --- misc -------------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "role": self.role_hint,
            "server_uuid": self.server_uuid,
            "version": self.version,
        }

    def install_plugin(self, name: str) -> None:
        self.plugins[name.lower()] = "ACTIVE"

    def known_plugin(self, name: str) -> bool:
        return name.lower() in PLUGINS

    def copy_accounts_from(self, other: Instance) -> None:
        self.accounts.accounts = copy.deepcopy(other.accounts.accounts)

    def check_running(self) -> None:
        if not self.running:
            raise errors.server_shutdown()
