"""The one place where mysqlsim.replication touches the core's Instance and World objects.

The core (H-core) owns instances, accounts, the binlog and the world; replication only needs a handful of
capabilities from them. Going through these functions keeps the rest of the package independent of the
core's internal names (they are adapted here when they change).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mysqlsim.gtid import GtidSet

if TYPE_CHECKING:
    from mysqlsim.instance import Instance
    from mysqlsim.world import World


# --- instance facts -----------------------------------------------------------------------------------------


def is_running(inst: Instance) -> bool:
    return bool(inst.running)


def world_of(inst: Instance) -> World:
    return inst.world


def host_of(inst: Instance) -> str:
    return str(inst.host)


def port_of(inst: Instance) -> int:
    return int(inst.port)


def report_host(inst: Instance) -> str:
    v = get_var(inst, "report_host")
    return str(v) if v else host_of(inst)


def version_of(inst: Instance) -> str:
    return str(inst.version)


def server_uuid(inst: Instance) -> str:
    return str(inst.server_uuid)


def server_id(inst: Instance) -> int:
    return int(inst.server_id)


def get_var(inst: Instance, name: str) -> Any:
    return inst.variables.get_global(name)


def set_var(inst: Instance, name: str, value: Any) -> None:
    """Set a GLOBAL variable from inside the server (GR setting super_read_only, for instance)."""
    inst.variables.set_global_internal(name, value)


def var_on(inst: Instance, name: str) -> bool:
    v = get_var(inst, name)
    if isinstance(v, str):
        return v.upper() in ("ON", "1", "TRUE", "YES")
    return bool(v)


def plugin_active(inst: Instance, name: str) -> bool:
    return bool(inst.plugin_active(name))


# --- GTIDs and binlog ---------------------------------------------------------------------------------------


def gtid_executed(inst: Instance) -> GtidSet:
    g = inst.gtid_executed
    assert isinstance(g, GtidSet)
    return g


def gtid_purged(inst: Instance) -> GtidSet:
    g = inst.gtid_purged
    assert isinstance(g, GtidSet)
    return g


def binlog_transactions(inst: Instance) -> Iterable[Any]:
    """The transactions still in the binary log, oldest first (each has ``.gtid`` text 'uuid:n')."""
    return inst.binlog.transactions()


def txn_gtid(txn: Any) -> str:
    return str(txn.gtid)


def txn_commit_ts(txn: Any) -> float:
    return float(getattr(txn, "original_commit_timestamp", 0.0) or getattr(txn, "timestamp", 0.0))


def txn_size(txn: Any) -> int:
    return int(getattr(txn, "size", 0) or 200)


async def apply_replicated(inst: Instance, txn: Any) -> None:
    """Apply a transaction received from another server as a replication applier would."""
    await inst.apply_replicated(txn)


async def commit_empty(inst: Instance, gtid: str) -> None:
    """Log an empty transaction with this GTID (view change events, VCLE)."""
    await inst.commit_empty_transaction(gtid)


# --- accounts -----------------------------------------------------------------------------------------------


def authenticate(inst: Instance, user: str, client_host: str, password: str) -> bool:
    """Whether ``user`` with ``password`` may connect from ``client_host`` to ``inst``."""
    return bool(inst.accounts.authenticate(user, client_host, password))


def has_global_privilege(inst: Instance, user: str, client_host: str, privilege: str) -> bool:
    return bool(inst.accounts.has_global_privilege(user, client_host, privilege))


# --- world --------------------------------------------------------------------------------------------------


def instances(world: World) -> list[Instance]:
    return list(world.instances.values())


def find_instance(world: World, host: str, port: int) -> Instance | None:
    direct = world.instances.get(host)
    if direct is not None and port_of(direct) == port:
        return direct
    for inst in instances(world):
        if (host_of(inst) == host or report_host(inst) == host) and port_of(inst) == port:
            return inst
    return None


def reachable(world: World, a: Instance, b: Instance) -> bool:
    """Can a talk to b (both directions are cut by partitions)? A stopped instance is never reachable."""
    if not is_running(b) or not is_running(a):
        return False
    return bool(world.reachable(host_of(a), host_of(b)))


def latency_s(world: World, a: Instance, b: Instance) -> float:
    """One-way latency of the link between the two instances' sites, in seconds."""
    ms = float(world.link_latency_ms(host_of(a), host_of(b)))
    return ms / 1000.0


def bandwidth_bps(world: World, a: Instance, b: Instance) -> float:
    """Bandwidth in bytes per second between the two instances."""
    mbit = float(world.link_bandwidth_mbit(host_of(a), host_of(b)))
    return mbit * 1_000_000 / 8


def time_scale(world: World) -> float:
    return float(getattr(world, "time_scale", 1.0) or 1.0)


def dataset_bytes(inst: Instance) -> int:
    return int(getattr(inst, "dataset_bytes", 0) or 0)


def fault(inst: Instance, name: str, default: Any = None) -> Any:
    """A fault flag set by the control API (``stop_source``, ``apply_lag``)."""
    faults: dict[str, Any] = inst.faults
    return faults.get(name, default)


async def sleep(seconds: float) -> None:
    await asyncio.sleep(max(0.0, seconds))


#: set while mysqlsim.replication applies a replicated transaction (group applier, recovery), so that the
#: commit hooks do not treat it as a new client transaction of this member.
APPLYING: contextvars.ContextVar[bool] = contextvars.ContextVar("mysqlsim_repl_applying", default=False)


async def restart_by_supervisor(inst: Instance) -> None:
    """The supervisor (systemd / mysqld_safe / the pod) restarts the server."""
    await inst.world.restart(host_of(inst))


def supervised(inst: Instance) -> bool:
    return bool(getattr(inst.world, "supervised", True))


def binlog_since(inst: Instance, cursor: list[Any]) -> list[Any]:
    """Transactions appended to ``inst``'s binlog since ``cursor`` ([file object id, index]; [None, 0] = all);
    the cursor is advanced. A purge or reset of the scanned file restarts from the oldest file."""
    files = inst.binlog.files
    start_f, start_i = 0, 0
    if cursor[0] is not None:
        for k, f in enumerate(files):
            if id(f) == cursor[0]:
                start_f, start_i = k, int(cursor[1])
                break
    out: list[Any] = []
    for k in range(start_f, len(files)):
        txns = files[k].transactions
        out.extend(txns[start_i if k == start_f else 0 :])
    if files:
        cursor[0] = id(files[-1])
        cursor[1] = len(files[-1].transactions)
    return out
