"""Asynchronous connection failover: source lists, managed groups and their functions.

A channel with SOURCE_CONNECTION_AUTO_FAILOVER=1 (and auto-positioning) connects to the source with the
highest weight in its list; a managed group (``asynchronous_connection_failover_add_managed``) contributes its
current members, the primary with primary_weight and the secondaries with secondary_weight, so the channel
follows the managed group's primary. On a Group Replication receiver group the lists are broadcast to all
members. Reference: "Switching Sources with Asynchronous Connection Failover",
"Asynchronous Replication Channel Failover Functions" (MySQL 8.0.22+).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mysqlsim.errors import MySQLError
from mysqlsim.registry import StatementContext, sql_function
from mysqlsim.replication import core
from mysqlsim.replication.state import Channel, FailoverSource, ManagedSource, repl

if TYPE_CHECKING:
    from mysqlsim.instance import Instance

ADMIN = ("REPLICATION_SLAVE_ADMIN", "SUPER")


def _udf_error(fn: str, msg: str) -> MySQLError:
    """ER_UDF_ERROR 3955-style refusal of the failover UDFs: "<fn> UDF failed; <msg>"."""
    return MySQLError(3955, "HY000", f"Can't execute the given '{fn}' command: {msg}")


def _managed_members(replica: Instance, m: ManagedSource) -> list[tuple[str, int, int]]:
    """Current members of a managed group with their weights (primary first)."""
    from mysqlsim.replication import group

    g = group.find_group(core.world_of(replica), m.managed_name)
    out: list[tuple[str, int, int]] = []
    if g is None:
        if m.host:
            out.append((m.host, m.port, m.primary_weight))
        return out
    for mem in g.members:
        if mem.state != "ONLINE":
            continue
        w = m.primary_weight if g.primary is mem.inst else m.secondary_weight
        out.append((core.report_host(mem.inst), core.port_of(mem.inst), w))
    return out


def source_list(replica: Instance, channel: str) -> list[tuple[str, int, int, str]]:
    """(host, port, weight, managed_name) of every source of ``channel``."""
    st = repl(replica)
    out: list[tuple[str, int, int, str]] = []
    for s in st.failover_sources:
        if s.channel == channel:
            out.append((s.host, s.port, s.weight, ""))
    for m in st.managed:
        if m.channel == channel:
            out.extend((h, p, w, m.managed_name) for h, p, w in _managed_members(replica, m))
    return out


def source_rows(inst: Instance) -> Iterable[tuple[Any, ...]]:
    st = repl(inst)
    for s in st.failover_sources:
        yield (s.channel, s.host, s.port, s.network_namespace, s.weight, "")
    for m in st.managed:
        for h, p, w in _managed_members(inst, m):
            yield (m.channel, h, p, "", w, m.managed_name)


def source_candidates(replica: Instance, channel: str) -> list[tuple[str, int, int]]:
    """Sources to try, highest weight first (ties: list order)."""
    lst = source_list(replica, channel)
    indexed = sorted(enumerate(lst), key=lambda e: (-e[1][2], e[0]))
    seen: set[tuple[str, int]] = set()
    out: list[tuple[str, int, int]] = []
    for _, (h, p, w, _m) in indexed:
        if (h, p) in seen:
            continue
        seen.add((h, p))
        out.append((h, p, w))
    return out


def _usable(replica: Instance, host: str, port: int, managed: bool) -> bool:
    from mysqlsim.replication import group

    world = core.world_of(replica)
    src = core.find_instance(world, host, port)
    if src is None or not core.reachable(world, replica, src) or core.fault(src, "stop_source", False):
        return False
    if managed and (group.member_state(src) != "ONLINE" or not group.has_quorum(src)):
        return False
    return True


def should_switch(replica: Instance, ch: Channel, src: Instance) -> bool:
    """The connection moves when the source left its group / lost quorum, or a higher weight appears."""
    from mysqlsim.replication import group

    lst = source_list(replica, ch.name)
    if not lst:
        return False
    cur = (core.report_host(src), core.port_of(src))
    cur_entry = next(
        (e for e in lst if (e[0], e[1]) == cur or (e[0] == core.host_of(src) and e[1] == cur[1])), None
    )
    if cur_entry is not None and cur_entry[3]:
        if group.member_state(src) != "ONLINE" or not group.has_quorum(src):
            return True
    cur_w = cur_entry[2] if cur_entry else -1
    for h, p, w, managed in lst:
        if w > cur_w and _usable(replica, h, p, bool(managed)):
            return True
    return False


def note_source_failed(replica: Instance, channel: str) -> None:
    """Hook for the receiver when its source went away (the candidate order is recomputed each time)."""
    del replica, channel


def forget_channel(inst: Instance, channel: str) -> None:
    """RESET REPLICA ALL deletes the channel's source list too."""
    st = repl(inst)
    st.failover_sources = [s for s in st.failover_sources if s.channel != channel]
    st.managed = [m for m in st.managed if m.channel != channel]


def copy_lists(src: Instance, dst: Instance) -> None:
    """Broadcast of the source lists to a joining member of a receiver group."""
    a, b = repl(src), repl(dst)
    b.failover_sources = [FailoverSource(**vars(s)) for s in a.failover_sources]
    b.managed = [ManagedSource(**vars(m)) for m in a.managed]


def _broadcast(inst: Instance) -> None:
    from mysqlsim.replication import group

    g = group.group_of(inst)
    if g is None:
        return
    for m in g.members:
        if m.inst is not inst:
            copy_lists(inst, m.inst)


def _check_writable(ctx: StatementContext, fn: str) -> None:
    from mysqlsim.replication import group

    g = group.group_of(ctx.instance)
    if g is not None and group.member_state(ctx.instance) == "ONLINE" and g.primary is not ctx.instance:
        raise _udf_error(fn, "This server is not the primary of the group.")


def _str(v: Any) -> str:
    return "" if v is None else str(v)


@sql_function("asynchronous_connection_failover_add_source", privilege=ADMIN, pre_evaluate=True)
def add_source(ctx: StatementContext, *args: Any) -> str:
    fn = "asynchronous_connection_failover_add_source"
    if len(args) not in (3, 4, 5):
        raise _udf_error(fn, "Wrong number of arguments.")
    channel, host, port = _str(args[0]), _str(args[1]), int(args[2])
    netns = _str(args[3]) if len(args) > 3 else ""
    weight = int(args[4]) if len(args) > 4 else 50
    if not 1 <= weight <= 100:
        raise _udf_error(fn, "The weight argument value must be between 1 and 100.")
    _check_writable(ctx, fn)
    st = repl(ctx.instance)
    if any(s.channel == channel and s.host == host and s.port == port for s in st.failover_sources):
        raise _udf_error(fn, "The source already exists.")
    st.failover_sources.append(FailoverSource(channel, host, port, netns, weight))
    _broadcast(ctx.instance)
    return f"The UDF {fn}() executed successfully."


@sql_function("asynchronous_connection_failover_delete_source", privilege=ADMIN, pre_evaluate=True)
def delete_source(ctx: StatementContext, *args: Any) -> str:
    fn = "asynchronous_connection_failover_delete_source"
    if len(args) not in (3, 4):
        raise _udf_error(fn, "Wrong number of arguments.")
    channel, host, port = _str(args[0]), _str(args[1]), int(args[2])
    _check_writable(ctx, fn)
    st = repl(ctx.instance)
    before = len(st.failover_sources)
    st.failover_sources = [
        s for s in st.failover_sources if not (s.channel == channel and s.host == host and s.port == port)
    ]
    if len(st.failover_sources) == before:
        raise _udf_error(fn, "The source does not exist.")
    _broadcast(ctx.instance)
    return f"The UDF {fn}() executed successfully."


@sql_function("asynchronous_connection_failover_add_managed", privilege=ADMIN, pre_evaluate=True)
def add_managed(ctx: StatementContext, *args: Any) -> str:
    fn = "asynchronous_connection_failover_add_managed"
    if len(args) != 8:
        raise _udf_error(fn, "Wrong number of arguments.")
    channel, mtype, name, host = _str(args[0]), _str(args[1]), _str(args[2]).lower(), _str(args[3])
    port, _netns, pw, sw = int(args[4]), _str(args[5]), int(args[6]), int(args[7])
    if mtype != "GroupReplication":
        raise _udf_error(fn, "Wrong value provided for managed type. Valid values are: GroupReplication.")
    if not (1 <= pw <= 100 and 1 <= sw <= 100):
        raise _udf_error(fn, "The weight argument value must be between 1 and 100.")
    _check_writable(ctx, fn)
    st = repl(ctx.instance)
    if any(m.channel == channel and m.managed_name == name for m in st.managed):
        raise _udf_error(fn, "The managed configuration already exists.")
    st.managed.append(ManagedSource(channel, name, mtype, pw, sw, host, port))
    _broadcast(ctx.instance)
    return f"The UDF {fn}() executed successfully."


@sql_function("asynchronous_connection_failover_delete_managed", privilege=ADMIN, pre_evaluate=True)
def delete_managed(ctx: StatementContext, *args: Any) -> str:
    fn = "asynchronous_connection_failover_delete_managed"
    if len(args) != 2:
        raise _udf_error(fn, "Wrong number of arguments.")
    channel, name = _str(args[0]), _str(args[1]).lower()
    _check_writable(ctx, fn)
    st = repl(ctx.instance)
    before = len(st.managed)
    st.managed = [m for m in st.managed if not (m.channel == channel and m.managed_name == name)]
    if len(st.managed) == before:
        raise _udf_error(fn, "The managed configuration does not exist.")
    _broadcast(ctx.instance)
    return f"The UDF {fn}() executed successfully."


@sql_function("asynchronous_connection_failover_reset", privilege=ADMIN, pre_evaluate=True)
def reset(ctx: StatementContext, *args: Any) -> str:
    fn = "asynchronous_connection_failover_reset"
    from mysqlsim.replication import group

    if args:
        raise _udf_error(fn, "Wrong number of arguments.")
    if group.member_state(ctx.instance) in ("ONLINE", "RECOVERING"):
        raise _udf_error(fn, "Group Replication is running.")
    if core.var_on(ctx.instance, "super_read_only") or core.var_on(ctx.instance, "read_only"):
        raise MySQLError(
            1290,
            "HY000",
            "The MySQL server is running with the --super-read-only option so it cannot execute this "
            "statement",
        )
    st = repl(ctx.instance)
    st.failover_sources = []
    st.managed = []
    return f"The UDF {fn}() executed successfully."
