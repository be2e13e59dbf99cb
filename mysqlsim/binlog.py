"""The binary log of one instance: committed transactions with their GTIDs, in files.

Why it exists: replication ships transactions from here (``mysqlsim.replication`` reads
``binlog.transactions()``), PURGE BINARY LOGS removes files and moves their GTIDs into gtid_purged, and
SHOW BINARY LOGS / SHOW BINARY LOG STATUS report the files.  Events are kept statement-based: each event is
the SQLite statement (already translated, with non-deterministic values resolved) or a MySQL statement
that the applier re-runs (DDL, accounts), plus the default schema.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BinlogEvent:
    #: "sqlite": ``text`` runs on the engine as is; "mysql": ``text`` is dispatched as a MySQL statement
    kind: str
    text: str
    schema: str | None = None
    params: tuple[object, ...] = ()


@dataclass
class Transaction:
    """One committed transaction as it sits in the binary log; copyable between instances."""

    gtid: str
    events: list[BinlogEvent] = field(default_factory=list)
    original_commit_timestamp: float = field(default_factory=time.time)
    immediate_commit_timestamp: float = field(default_factory=time.time)
    size: int = 0
    #: server_uuid of the server where it was originally committed
    origin_uuid: str = ""

    @property
    def uuid(self) -> str:
        return self.gtid.rsplit(":", 1)[0]

    @property
    def gno(self) -> int:
        return int(self.gtid.rsplit(":", 1)[1])

    def is_empty(self) -> bool:
        return not self.events


@dataclass
class BinlogFile:
    name: str
    transactions: list[Transaction] = field(default_factory=list)
    size: int = 157  # header

    def add(self, txn: Transaction) -> None:
        self.transactions.append(txn)
        self.size += txn.size or 200


class Binlog:
    """Binary log files of one instance (``binlog.000001``...)."""

    def __init__(self, basename: str = "binlog") -> None:
        self.basename = basename
        self.seq = 1
        self.files: list[BinlogFile] = [BinlogFile(self._name(1))]

    def _name(self, n: int) -> str:
        return f"{self.basename}.{n:06d}"

    @property
    def current(self) -> BinlogFile:
        return self.files[-1]

    def append(self, txn: Transaction) -> None:
        self.current.add(txn)

    def rotate(self) -> None:
        """FLUSH BINARY LOGS / server restart: start a new file."""
        self.seq += 1
        self.files.append(BinlogFile(self._name(self.seq)))

    def transactions(self) -> list[Transaction]:
        """All transactions still in the log, oldest first."""
        out: list[Transaction] = []
        for f in self.files:
            out.extend(f.transactions)
        return out

    def purge_to(self, name: str) -> list[Transaction]:
        """PURGE BINARY LOGS TO 'name': remove the files before ``name``; returns the purged transactions."""
        idx = next((i for i, f in enumerate(self.files) if f.name == name), None)
        if idx is None:
            raise KeyError(name)
        gone = self.files[:idx]
        self.files = self.files[idx:]
        return [t for f in gone for t in f.transactions]

    def purge_before(self, ts: float) -> list[Transaction]:
        """PURGE BINARY LOGS BEFORE datetime: drop files whose last transaction is older (not the current)."""
        gone: list[BinlogFile] = []
        while len(self.files) > 1:
            f = self.files[0]
            last = f.transactions[-1].immediate_commit_timestamp if f.transactions else 0.0
            if last < ts:
                gone.append(self.files.pop(0))
            else:
                break
        return [t for f in gone for t in f.transactions]

    def reset(self) -> None:
        """RESET BINARY LOGS AND GTIDS / RESET MASTER / after CLONE: one empty file, numbering restarts."""
        self.seq = 1
        self.files = [BinlogFile(self._name(1))]
