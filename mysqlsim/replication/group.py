"""Group Replication, single-primary mode: groups, views, quorum, election, distributed recovery.

A group lives in the world (all instances share one process): its view is the ordered member list, each
member ONLINE or RECOVERING. Transactions committed on the primary are applied on every reachable ONLINE
member before the client's commit is acknowledged; a member that cannot reach a majority of the view blocks
its commits (loss of quorum). Members that a majority cannot reach are suspected and expelled after
5 s + group_replication_member_expel_timeout; a primary that leaves is replaced by election (lowest version,
then highest group_replication_member_weight, then lowest server_uuid). A joiner recovers incrementally from
a donor's binary log through the group_replication_recovery channel, or by CLONE when the gap exceeds
group_replication_clone_threshold or the needed transactions are purged everywhere.
Reference: MySQL 8.0/8.4 manual chapter 20 (Group Replication), "Cloning for Distributed Recovery".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mysqlsim.errors import MySQLError
from mysqlsim.gtid import GtidSet
from mysqlsim.replication import channels, core
from mysqlsim.replication import errors as rerr
from mysqlsim.replication.state import GR_APPLIER, GR_RECOVERY, Channel, ChannelConfig, new_thread_id, repl

if TYPE_CHECKING:
    from mysqlsim.instance import Instance
    from mysqlsim.world import World

log = logging.getLogger("mysqlsim.replication.group")

DETECTION_S = 5.0
MONITOR_S = 0.1
MAX_MEMBERS = 9


@dataclass
class GMember:
    inst: Instance
    state: str = "RECOVERING"
    joined: float = field(default_factory=time.time)


@dataclass
class Group:
    name: str
    vcle_uuid: str
    members: list[GMember] = field(default_factory=list)
    primary: Instance | None = None
    view_base: int = field(default_factory=lambda: int(time.time() * 10_000_000))
    view_seq: int = 0
    suspect_since: dict[str, float] = field(default_factory=dict)
    #: server_uuid -> the view (instances) an expelled member still believes in while it is cut off
    ghosts: dict[str, list[Instance]] = field(default_factory=dict)
    #: server_uuid of the primary each ghost last knew
    ghost_primary: dict[str, str] = field(default_factory=dict)
    #: transactions a member in the view could not receive yet (unreachable): server_uuid -> txns
    pending: dict[str, list[Any]] = field(default_factory=dict)
    #: channels with SOURCE_CONNECTION_AUTO_FAILOVER=1 configured on members (broadcast to all members)
    failover_channels: set[str] = field(default_factory=set)

    @property
    def view_id(self) -> str:
        return f"{self.view_base}:{self.view_seq}"

    def member(self, inst: Instance) -> GMember | None:
        for m in self.members:
            if m.inst is inst:
                return m
        return None

    def online(self) -> list[GMember]:
        return [m for m in self.members if m.state == "ONLINE"]


_GROUPS: dict[int, list[Group]] = {}
_MONITORS: dict[int, asyncio.Task[None]] = {}


def groups(world: World) -> list[Group]:
    return _GROUPS.setdefault(id(world), [])


def group_of(inst: Instance) -> Group | None:
    g = repl(inst).gr
    return g if isinstance(g, Group) else None


def find_group(world: World, name: str) -> Group | None:
    """The live group with this name (the one with the most members if a split brain made several)."""
    cands = [g for g in groups(world) if g.name == name and g.members]
    if not cands:
        return None
    return max(cands, key=lambda g: len(g.members))


# --- facts --------------------------------------------------------------------------------------------------


def member_state(inst: Instance) -> str:
    """This member's own state: ONLINE, RECOVERING, OFFLINE or ERROR ('' when the plugin is not installed)."""
    if not core.plugin_active(inst, "group_replication"):
        return ""
    g = group_of(inst)
    if g is None:
        return repl(inst).gr_local_state
    m = g.member(inst)
    if m is None:
        return repl(inst).gr_local_state
    return m.state


def is_primary(inst: Instance) -> bool:
    g = group_of(inst)
    return g is not None and g.primary is inst and member_state(inst) == "ONLINE"


def has_quorum(inst: Instance) -> bool:
    g = group_of(inst)
    if g is None or g.member(inst) is None:
        return False
    world = core.world_of(inst)
    seen = sum(1 for m in g.members if m.inst is inst or core.reachable(world, inst, m.inst))
    return seen * 2 > len(g.members)


def _version_key(inst: Instance) -> tuple[int, ...]:
    return tuple(int(p) for p in core.version_of(inst).split(".")[:3])


def _weight(inst: Instance) -> int:
    try:
        return int(core.get_var(inst, "group_replication_member_weight"))
    except Exception:
        return 50


def _comm_stack(inst: Instance) -> str:
    """MEMBER_COMMUNICATION_STACK shows 'XCom' or 'MySQL'."""
    try:
        v = str(core.get_var(inst, "group_replication_communication_stack") or "XCOM")
    except Exception:
        v = "XCOM"
    return "MySQL" if v.upper() == "MYSQL" else "XCom"


def _row(inst: Instance, state: str, role: str) -> tuple[Any, ...]:
    version = core.version_of(inst) if state not in ("OFFLINE", "ERROR") else ""
    return (
        GR_APPLIER,
        core.server_uuid(inst),
        core.report_host(inst),
        core.port_of(inst),
        state,
        role,
        version,
        _comm_stack(inst),
    )


def members_rows(inst: Instance) -> list[tuple[Any, ...]]:
    """replication_group_members as seen from ``inst``."""
    world = core.world_of(inst)
    g = group_of(inst)
    me = core.server_uuid(inst)
    if g is None or g.member(inst) is None:
        ghost = None
        for gg in groups(world):
            if me in gg.ghosts:
                ghost = gg.ghosts[me]
        if ghost is not None and core.is_running(inst):
            known = next((gg.ghost_primary.get(me, "") for gg in groups(world) if me in gg.ghosts), "")
            rows = []
            for other in ghost:
                role = "PRIMARY" if core.server_uuid(other) == known else "SECONDARY"
                if other is inst:
                    rows.append(_row(inst, "ONLINE", role))
                elif core.reachable(world, inst, other) and group_of(other) is None:
                    rows.append(_row(other, "ONLINE", role))
                else:
                    rows.append(_row(other, "UNREACHABLE", role))
            return rows
        return [
            (
                GR_APPLIER,
                me,
                core.report_host(inst),
                core.port_of(inst),
                repl(inst).gr_local_state,
                "",
                "",
                _comm_stack(inst),
            )
        ]
    rows = []
    for m in g.members:
        reach = m.inst is inst or core.reachable(world, inst, m.inst)
        state = m.state if reach else "UNREACHABLE"
        role = "PRIMARY" if g.primary is m.inst else "SECONDARY"
        rows.append(_row(m.inst, state, role))
    return rows


def stats_rows(inst: Instance) -> list[tuple[Any, ...]]:
    g = group_of(inst)
    if g is None:
        return []
    world = core.world_of(inst)
    common: GtidSet | None = None
    for m in g.online():
        ex = core.gtid_executed(m.inst)
        common = ex.copy() if common is None else common.intersection(ex)
    out = []
    for m in g.members:
        if not (m.inst is inst or core.reachable(world, inst, m.inst)):
            continue
        out.append(
            (GR_APPLIER, g.view_id, core.server_uuid(m.inst), 0, 0, 0, 0, str(common or ""), "", 0, 0, 0, 0)
        )
    return out


def applier_channel(inst: Instance) -> Channel | None:
    return repl(inst).channels.get(GR_APPLIER)


# --- GTIDs --------------------------------------------------------------------------------------------------


def commit_uuid(inst: Instance) -> str | None:
    """The UUID of automatic GTIDs on this instance: the group name while it is a member of a group."""
    g = group_of(inst)
    if g is None or g.member(inst) is None:
        return None
    return g.name


def next_gno(inst: Instance, uuid: str) -> int | None:
    """Next GTID number for ``uuid`` in the group: one above what any member has executed."""
    g = group_of(inst)
    if g is None:
        return None
    last = max((core.gtid_executed(m.inst).last(uuid) for m in g.members), default=0)
    last = max(last, core.gtid_executed(inst).last(uuid))
    return last + 1


# --- the commit path ----------------------------------------------------------------------------------------


def _is_ghost(inst: Instance) -> bool:
    """Expelled while cut off: it still believes in its old view (and has no quorum in it)."""
    me = core.server_uuid(inst)
    return any(me in g.ghosts for g in groups(core.world_of(inst)))


async def before_commit(inst: Instance, *args: Any) -> None:
    """A member without quorum blocks commits until it regains it; a member that left refuses them."""
    if core.APPLYING.get():
        return
    if group_of(inst) is None and not _is_ghost(inst):
        return
    while True:
        if _is_ghost(inst):
            await asyncio.sleep(0.05)
            continue
        g = group_of(inst)
        if g is None or g.member(inst) is None:
            raise rerr.gr_transaction_rollback_no_quorum()
        if has_quorum(inst):
            return
        await asyncio.sleep(0.05)


async def after_commit(inst: Instance, txn: Any, *args: Any) -> None:
    """Ship a transaction committed on a member to every other member before the commit is acknowledged."""
    if core.APPLYING.get():
        return
    g = group_of(inst)
    if g is None or g.member(inst) is None:
        return
    world = core.world_of(inst)
    latency = 0.0
    targets = []
    for m in g.members:
        if m.inst is inst:
            continue
        if m.state == "ONLINE" and core.reachable(world, inst, m.inst):
            targets.append(m.inst)
            latency = max(latency, core.latency_s(world, inst, m.inst))
        elif m.state == "ONLINE":
            g.pending.setdefault(core.server_uuid(m.inst), []).append(txn)
    if latency:
        await asyncio.sleep(2 * latency)
    for t in targets:
        await _apply_group_txn(t, txn)


async def _apply_group_txn(target: Instance, txn: Any) -> None:
    uuid, n = GtidSet.parse_gtid(core.txn_gtid(txn))
    if core.gtid_executed(target).contains(uuid, n):
        return
    token = core.APPLYING.set(True)
    try:
        await core.apply_replicated(target, txn)
        ch = applier_channel(target)
        if ch is not None:
            ch.received.add(uuid, n)
    except MySQLError as e:
        log.warning("group applier on %s failed on %s: %s", core.host_of(target), core.txn_gtid(txn), e)
        ch = applier_channel(target)
        if ch is not None:
            ch.worker_error.set(e.code, e.message)
    finally:
        core.APPLYING.reset(token)


# --- views --------------------------------------------------------------------------------------------------


def _new_view(g: Group) -> None:
    g.view_seq += 1


async def _log_view_change(g: Group) -> None:
    """A View_change_log_event, with a GTID, on every ONLINE member (logged when a member joins)."""
    gno = 1 + max((core.gtid_executed(m.inst).last(g.vcle_uuid) for m in g.members), default=0)
    gtid = f"{g.vcle_uuid}:{gno}"
    for m in g.online():
        token = core.APPLYING.set(True)
        try:
            await core.commit_empty(m.inst, gtid)
        finally:
            core.APPLYING.reset(token)


def _elect(g: Group) -> Instance | None:
    cands = [m.inst for m in g.online()]
    if not cands:
        return None
    cands.sort(key=lambda i: (_version_key(i), -_weight(i), core.server_uuid(i)))
    return cands[0]


async def _after_election(g: Group, new_primary: Instance | None, old_primary: Instance | None) -> None:
    """Apply the member actions after a primary election (group-replication-member-actions.html)."""
    for m in g.members:
        m.inst.role_hint = "PRIMARY" if m.inst is new_primary else "SECONDARY"
        if m.inst is not new_primary:
            _set_sro(m.inst, True)
    if new_primary is None:
        return
    actions = repl(new_primary).member_actions
    a = actions.get("mysql_disable_super_read_only_if_primary")
    if a is not None and a.enabled:
        core.set_var(new_primary, "super_read_only", False)
        core.set_var(new_primary, "read_only", False)
    else:
        _set_sro(new_primary, True)
    b = actions.get("mysql_start_failover_channels_if_primary")
    if b is not None and b.enabled:
        for ch in repl(new_primary).channels.values():
            if ch.is_gr or not ch.config.host:
                continue
            if ch.config.auto_failover or ch.name in g.failover_channels:
                if not ch.config.auto_failover and ch.config.auto_position:
                    ch.config.auto_failover = 1
                channels.start_threads(new_primary, ch)
    del old_primary


def _set_sro(inst: Instance, on: bool) -> None:
    if not core.is_running(inst):
        return
    if on:
        core.set_var(inst, "super_read_only", True)
    else:
        core.set_var(inst, "super_read_only", False)


async def _remove_member(g: Group, inst: Instance, *, expelled: bool) -> None:
    m = g.member(inst)
    if m is None:
        return
    g.members.remove(m)
    g.suspect_since.pop(core.server_uuid(inst), None)
    g.pending.pop(core.server_uuid(inst), None)
    if expelled:
        g.ghosts[core.server_uuid(inst)] = [x.inst for x in g.members] + [inst]
        g.ghost_primary[core.server_uuid(inst)] = core.server_uuid(g.primary) if g.primary is not None else ""
    _new_view(g)
    was_primary = g.primary is inst
    if was_primary:
        g.primary = None
        new = _elect(g)
        g.primary = new
        await _after_election(g, new, inst)
    if not g.members:
        with contextlib.suppress(ValueError):
            groups(core.world_of(inst)).remove(g)


# --- monitor: failure detection, expulsion, delivery to reconnected members ---------------------------------


def ensure_monitor(world: World) -> None:
    key = id(world)
    t = _MONITORS.get(key)
    if t is None or t.done():
        _MONITORS[key] = asyncio.get_running_loop().create_task(_monitor(world), name="gr-monitor")


async def _monitor(world: World) -> None:
    while True:
        try:
            for g in list(groups(world)):
                await _check_group(world, g)
            await _check_ghosts(world)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover
            log.exception("group monitor")
        await asyncio.sleep(MONITOR_S)


def _majority(world: World, g: Group) -> list[Instance] | None:
    n = len(g.members)
    insts = [m.inst for m in g.members]
    for a in insts:
        if not core.is_running(a):
            continue
        comp = [b for b in insts if b is a or core.reachable(world, a, b)]
        if len(comp) * 2 > n:
            return comp
    return None


async def _check_group(world: World, g: Group) -> None:
    now = time.monotonic()
    maj = _majority(world, g)
    if maj is None:
        return
    for m in list(g.members):
        uuid = core.server_uuid(m.inst)
        if m.inst in maj:
            g.suspect_since.pop(uuid, None)
            pend = g.pending.pop(uuid, None)
            if pend:
                for txn in pend:
                    await _apply_group_txn(m.inst, txn)
            continue
        since = g.suspect_since.setdefault(uuid, now)
        try:
            expel = float(core.get_var(maj[0], "group_replication_member_expel_timeout"))
        except Exception:
            expel = 5.0
        if now - since >= DETECTION_S + expel:
            log.info("group %s expels %s", g.name, core.host_of(m.inst))
            await _remove_member(g, m.inst, expelled=core.is_running(m.inst))
            st = repl(m.inst)
            if core.is_running(m.inst):
                # it still believes in its old view until it can talk to the group again
                st.gr = None
                st.gr_local_state = "ONLINE"
            else:
                st.gr = None
                st.gr_local_state = "OFFLINE"


async def _check_ghosts(world: World) -> None:
    """An expelled member that can reach the group again learns it was expelled: ERROR, then auto-rejoin."""
    for g in list(groups(world)):
        for uuid, view in list(g.ghosts.items()):
            inst = next((i for i in view if core.server_uuid(i) == uuid), None)
            if inst is None or not core.is_running(inst):
                g.ghosts.pop(uuid, None)
                continue
            if any(core.reachable(world, inst, m.inst) for m in g.members):
                g.ghosts.pop(uuid, None)
                st = repl(inst)
                st.gr_local_state = "ERROR"
                st.gr_error = "Member was expelled from the group due to network failures"
                _set_sro(inst, True)
                _stop_gr_channels(inst)
                tries = int(core.get_var(inst, "group_replication_autorejoin_tries") or 0)
                if tries > 0:
                    asyncio.get_running_loop().create_task(_auto_rejoin(inst, tries))


async def _auto_rejoin(inst: Instance, tries: int) -> None:
    for _ in range(tries):
        if not core.is_running(inst) or member_state(inst) != "ERROR":
            return
        try:
            await start(inst, user=None, password=None)
            return
        except MySQLError:
            await asyncio.sleep(1.0)


# --- START / STOP GROUP_REPLICATION -------------------------------------------------------------------------


def _gr_var(inst: Instance, name: str, default: Any = None) -> Any:
    try:
        return core.get_var(inst, name)
    except MySQLError:
        return default


def _recovery_channel(inst: Instance) -> Channel:
    st = repl(inst)
    ch = st.channels.get(GR_RECOVERY)
    if ch is None:
        ch = Channel(
            name=GR_RECOVERY,
            config=ChannelConfig(host="", port=0, auto_position=1, connect_retry=60, retry_count=1),
        )
        st.channels[GR_RECOVERY] = ch
    return ch


def _applier_channel_on(inst: Instance, group_name: str) -> Channel:
    st = repl(inst)
    ch = st.channels.get(GR_APPLIER)
    if ch is None:
        ch = Channel(
            name=GR_APPLIER,
            config=ChannelConfig(host="<NULL>", port=0, auto_position=1, retry_count=0, connect_retry=0),
        )
        st.channels[GR_APPLIER] = ch
    ch.group_name = group_name
    ch.source_uuid = group_name
    ch.receiver_state = "ON"
    ch.applier_state = "ON"
    ch.applier_thread_id = new_thread_id(inst)
    ch.worker_thread_id = new_thread_id(inst)
    ch.receiver_thread_id = None
    return ch


def _stop_gr_channels(inst: Instance) -> None:
    st = repl(inst)
    for name in (GR_APPLIER, GR_RECOVERY):
        ch = st.channels.get(name)
        if ch is not None:
            ch.receiver_state = "OFF"
            ch.applier_state = "OFF"
            if name == GR_RECOVERY:
                ch.session_user = ch.session_password = None


async def start(inst: Instance, *, user: str | None, password: str | None) -> None:
    """START GROUP_REPLICATION: bootstrap a group or join one; returns once the member is in the view."""
    world = core.world_of(inst)
    ensure_monitor(world)
    if not core.plugin_active(inst, "group_replication"):
        raise MySQLError(3087, "HY000", "Group Replication plugin is not installed.")
    state = member_state(inst)
    if state in ("ONLINE", "RECOVERING"):
        raise rerr.gr_run_error()
    name = str(_gr_var(inst, "group_replication_group_name", "") or "")
    if not name:
        raise rerr.gr_start_failed()
    try:
        name = GtidSet.parse_gtid(name + ":1")[0]
    except MySQLError:
        raise rerr.gr_start_failed() from None
    if core.server_id(inst) == 0:
        raise rerr.gr_start_failed()
    if password is not None and user is None:
        raise rerr.gr_user_password_mandatory()
    rec = _recovery_channel(inst)
    if user is not None:
        rec.session_user, rec.session_password = user, password or ""
    bootstrap = core.var_on(inst, "group_replication_bootstrap_group")
    vcu = str(_gr_var(inst, "group_replication_view_change_uuid", "AUTOMATIC") or "AUTOMATIC")
    st = repl(inst)
    st.gr_error = ""
    _set_sro(inst, True)
    if bootstrap:
        g = Group(name=name, vcle_uuid=name if vcu.upper() == "AUTOMATIC" else vcu.lower())
        groups(world).append(g)
        g.members.append(GMember(inst, state="ONLINE"))
        st.gr = g
        st.gr_local_state = "ONLINE"
        _applier_channel_on(inst, name)
        _new_view(g)
        g.primary = inst
        await _log_view_change(g)
        await _after_election(g, inst, None)
        return
    found = _find_joinable(inst, name)
    if found is None:
        st.gr_local_state = "OFFLINE"
        raise rerr.gr_start_failed()
    g = found
    _validate_joiner(inst, g)
    # the join itself: one round trip to the group
    seed = g.primary or g.members[0].inst
    await asyncio.sleep(2 * core.latency_s(world, inst, seed))
    g.members.append(GMember(inst, state="RECOVERING"))
    st.gr = g
    st.gr_local_state = "RECOVERING"
    _applier_channel_on(inst, name)
    _new_view(g)
    # configuration the group broadcasts to joiners
    if g.primary is not None:
        src = repl(g.primary)
        st.member_actions = {k: type(v)(**vars(v)) for k, v in src.member_actions.items()}
        st.member_actions_version = src.member_actions_version
        from mysqlsim.replication import failover

        failover.copy_lists(g.primary, inst)
    await _log_view_change(g)
    st.clone_task = None
    asyncio.get_running_loop().create_task(_recover(inst, g), name=f"gr-recovery:{core.host_of(inst)}")


def _find_joinable(inst: Instance, name: str) -> Group | None:
    world = core.world_of(inst)
    seeds = str(_gr_var(inst, "group_replication_group_seeds", "") or "")
    seed_hosts = {s.strip().rsplit(":", 1)[0] for s in seeds.split(",") if s.strip()}
    for g in sorted(groups(world), key=lambda g: -len(g.members)):
        if g.name != name:
            continue
        for m in g.online():
            if m.inst is inst or not core.reachable(world, inst, m.inst):
                continue
            if (
                seed_hosts
                and not ({core.host_of(m.inst), core.report_host(m.inst)} & seed_hosts)
                and not any(h in seed_hosts for h in (core.host_of(x.inst) for x in g.members))
            ):
                continue
            if not has_quorum(m.inst):
                continue
            return g
    return None


def _validate_joiner(inst: Instance, g: Group) -> None:
    me = core.server_uuid(inst)
    if any(core.server_uuid(m.inst) == me for m in g.members):
        raise rerr.gr_start_failed()
    if len(g.members) >= MAX_MEMBERS:
        raise rerr.gr_start_failed()
    group_set = GtidSet()
    for m in g.online():
        group_set.update(core.gtid_executed(m.inst))
    if not core.gtid_executed(inst).is_subset(group_set):
        # "This member has more executed transactions than those present in the group."
        repl(inst).gr_error = "This member has more executed transactions than those present in the group."
        raise rerr.gr_start_failed()
    lowest = min((_version_key(m.inst) for m in g.members), default=_version_key(inst))
    if _version_key(inst)[:2] < lowest[:2]:
        raise rerr.gr_start_failed()


async def stop(inst: Instance) -> None:
    """STOP GROUP_REPLICATION: leave the group (a new view; election if this was the primary)."""
    g = group_of(inst)
    st = repl(inst)
    if g is not None and g.member(inst) is not None:
        await _remove_member(g, inst, expelled=False)
    st.gr = None
    st.gr_local_state = "OFFLINE"
    _stop_gr_channels(inst)
    _set_sro(inst, True)
    for gg in groups(core.world_of(inst)):
        gg.ghosts.pop(core.server_uuid(inst), None)


async def _fail(inst: Instance, g: Group, message: str) -> None:
    st = repl(inst)
    if g.member(inst) is not None:
        await _remove_member(g, inst, expelled=False)
    st.gr = None
    st.gr_local_state = "ERROR"
    st.gr_error = message
    _stop_gr_channels(inst)
    _set_sro(inst, True)


# --- distributed recovery -----------------------------------------------------------------------------------


def _needs_clone(inst: Instance, donors: list[Instance]) -> tuple[bool, bool]:
    """(clone wanted, incremental possible) per the threshold and the donors' purged sets."""
    mine = core.gtid_executed(inst)
    missing = GtidSet()
    for d in donors:
        missing.update(core.gtid_executed(d).subtract(mine))
    possible_incremental = any(
        not core.gtid_executed(d).subtract(mine).intersection(core.gtid_purged(d)) for d in donors
    )
    try:
        threshold = int(_gr_var(inst, "group_replication_clone_threshold", 2**63 - 1))
    except (TypeError, ValueError):
        threshold = 2**63 - 1
    return (missing.count() > threshold or not possible_incremental), possible_incremental


def _credentials(inst: Instance) -> tuple[str, str]:
    ch = _recovery_channel(inst)
    if ch.session_user is not None:
        return ch.session_user, ch.session_password or ""
    return ch.config.user, ch.config.password


async def _recover(inst: Instance, g: Group) -> None:
    """Distributed recovery of a joiner: clone or incremental state transfer, then ONLINE."""
    world = core.world_of(inst)
    rec = _recovery_channel(inst)
    try:
        retries = int(_gr_var(inst, "group_replication_recovery_retry_count", 10) or 10)
        interval = float(_gr_var(inst, "group_replication_recovery_reconnect_interval", 60) or 60)
    except (TypeError, ValueError):
        retries, interval = 10, 60.0
    attempts = 0
    tried_clone = False
    while True:
        if group_of(inst) is not g or g.member(inst) is None:
            return
        donors = [m.inst for m in g.online() if m.inst is not inst and core.reachable(world, inst, m.inst)]
        if not donors:
            await asyncio.sleep(0.2)
            continue
        random.shuffle(donors)
        want_clone, incremental_ok = _needs_clone(inst, donors)
        if want_clone and not tried_clone:
            tried_clone = True
            from mysqlsim.replication import clone

            for d in donors:
                if not (core.plugin_active(d, "clone") and core.plugin_active(inst, "clone")):
                    continue
                user, password = _credentials(inst)
                ok = await clone.clone_for_recovery(inst, d, user, password)
                if ok:
                    return  # the instance restarts; GR starts again on boot
            if not incremental_ok:
                await _fail(
                    inst, g, "No valid or ONLINE members exist to get the missing data from the group."
                )
                return
        elif want_clone and not incremental_ok:
            await _fail(inst, g, "No valid or ONLINE members exist to get the missing data from the group.")
            return
        for donor in donors:
            attempts += 1
            rec.config.host, rec.config.port = core.report_host(donor), core.port_of(donor)
            rec.receiver_state = "CONNECTING"
            try:
                channels.connect(inst, rec, core.host_of(donor), core.port_of(donor))
            except channels.ConnectFailure as e:
                rec.io_error.set(
                    e.number,
                    f"Error connecting to source '{_credentials(inst)[0]}@{core.report_host(donor)}:"
                    f"{core.port_of(donor)}'. This was attempt 1/1, with a delay of 60 seconds between "
                    "attempts. "
                    f"Message: {e.message}",
                )
                rec.receiver_state = "OFF"
                if attempts >= retries:
                    await _fail(
                        inst, g, "Maximum number of retries when trying to connect to a donor reached."
                    )
                    return
                continue
            rec.io_error.clear()
            rec.receiver_state = "ON"
            rec.applier_state = "ON"
            rec.source_uuid = core.server_uuid(donor)
            if await _incremental(inst, g, donor, rec):
                rec.receiver_state = "OFF"
                rec.applier_state = "OFF"
                m = g.member(inst)
                if m is None:
                    return
                m.state = "ONLINE"
                repl(inst).gr_local_state = "ONLINE"
                if g.primary is None:
                    g.primary = _elect(g)
                    await _after_election(g, g.primary, None)
                else:
                    _set_sro(inst, g.primary is not inst)
                return
            rec.receiver_state = "OFF"
        if attempts >= retries:
            await _fail(inst, g, "Maximum number of retries when trying to connect to a donor reached.")
            return
        await asyncio.sleep(min(interval, 60.0))


async def _incremental(inst: Instance, g: Group, donor: Instance, rec: Channel) -> bool:
    """Copy what the joiner lacks from the donor's binlog until it has everything the group has."""
    world = core.world_of(inst)
    latency = core.latency_s(world, donor, inst)
    if latency:
        await asyncio.sleep(latency)
    while True:
        if group_of(inst) is not g or g.member(inst) is None:
            return False
        if not core.reachable(world, inst, donor):
            return False
        mine = core.gtid_executed(inst)
        need = core.gtid_executed(donor).subtract(mine)
        if need.intersection(core.gtid_purged(donor)):
            return False
        if not need:
            group_set = GtidSet()
            for m in g.online():
                group_set.update(core.gtid_executed(m.inst))
            if group_set.subtract(core.gtid_executed(inst)):
                await asyncio.sleep(0.02)
                continue
            return True
        for txn in list(core.binlog_transactions(donor)):
            uuid, n = GtidSet.parse_gtid(core.txn_gtid(txn))
            if core.gtid_executed(inst).contains(uuid, n):
                continue
            token = core.APPLYING.set(True)
            try:
                await core.apply_replicated(inst, txn)
            except MySQLError as e:
                rec.worker_error.set(e.code, e.message)
                await _fail(inst, g, f"Error on distributed recovery: {e.message}")
                return False
            finally:
                core.APPLYING.reset(token)
            rec.received.add(uuid, n)
        await asyncio.sleep(0)


# --- server lifecycle ---------------------------------------------------------------------------------------


async def instance_stopped(inst: Instance) -> None:
    """A crash/stop: the member stays in the others' view (UNREACHABLE) until it is expelled."""
    st = repl(inst)
    st.gr_local_state = "OFFLINE"
    _stop_gr_channels(inst)


async def instance_started(inst: Instance) -> None:
    """Boot: drop the old incarnation from any view, then START GROUP_REPLICATION if start_on_boot."""
    world = core.world_of(inst)
    st = repl(inst)
    g = group_of(inst)
    if g is not None and g.member(inst) is not None:
        await _remove_member(g, inst, expelled=False)
    for gg in groups(world):
        gg.ghosts.pop(core.server_uuid(inst), None)
    st.gr = None
    st.gr_local_state = "OFFLINE"
    if not core.plugin_active(inst, "group_replication"):
        return
    if core.var_on(inst, "group_replication_start_on_boot") and _gr_var(
        inst, "group_replication_group_name", ""
    ):
        with contextlib.suppress(MySQLError):
            ensure_monitor(world)
            await start(inst, user=None, password=None)


def channel_configured(inst: Instance, ch: Channel) -> None:
    """CHANGE REPLICATION SOURCE on a member: SOURCE_CONNECTION_AUTO_FAILOVER is broadcast to the group."""
    g = group_of(inst)
    if g is None or ch.is_gr:
        return
    if ch.config.auto_failover:
        g.failover_channels.add(ch.name)


# --- set_as_primary -----------------------------------------------------------------------------------------


async def set_as_primary(inst: Instance, uuid: str, running_timeout: int | None) -> str:
    fn = "group_replication_set_as_primary"
    g = group_of(inst)
    if g is None or member_state(inst) != "ONLINE":
        raise rerr.gr_udf_error(fn, "Member must be ONLINE and in the majority partition.")
    if not has_quorum(inst):
        raise rerr.gr_udf_error(fn, "Member must be ONLINE and in the majority partition.")
    if running_timeout is not None and not 0 <= running_timeout <= 3600:
        raise rerr.gr_udf_error(fn, "Valid range for running_transactions_timeout is 0 to 3600.")
    target = next((m for m in g.members if core.server_uuid(m.inst) == uuid.lower()), None)
    if target is None:
        raise rerr.gr_udf_error(fn, "The requested uuid is not a member of the group.")
    if target.state != "ONLINE":
        raise rerr.gr_udf_error(fn, "The requested member is not ONLINE.")
    if g.primary is target.inst:
        raise rerr.gr_udf_error(fn, "The requested member is already the current group primary.")
    old = g.primary
    if old is not None:
        for ch in repl(old).channels.values():
            if not ch.is_gr and (ch.io_task is not None or ch.sql_task is not None):
                raise rerr.gr_udf_error(
                    fn, "There is a replica channel running in the group's current primary member."
                )
    lowest = min(_version_key(m.inst) for m in g.members)
    if _version_key(target.inst)[:2] > lowest[:2]:
        raise rerr.gr_udf_error(
            fn, "The requested primary is not elegible as its version is not the lowest one in the group."
        )
    g.primary = target.inst
    _new_view(g)
    await _after_election(g, target.inst, old)
    return f"Primary server switched to: {core.server_uuid(target.inst)}"


async def shutdown(world: World) -> None:
    """World stop: the failure-detector task ends, the groups are forgotten."""
    t = _MONITORS.pop(id(world), None)
    if t is not None:
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t
    _GROUPS.pop(id(world), None)


def _local_address(inst: Instance) -> str:
    v = str(_gr_var(inst, "group_replication_local_address", "") or "")
    return v or f"{core.report_host(inst)}:{core.port_of(inst)}"


def force_members(inst: Instance, session: Any, value: Any) -> Any:
    """SET GLOBAL group_replication_force_members='addr,...' on a member that lost quorum: the listed,
    reachable members become the view (RM 20.7.8 "Handling a Network Partition and Loss of Quorum")."""
    from mysqlsim.errors import wrong_value_for_var

    del session
    v = "" if value is None else str(value).strip()
    if not v:
        return ""
    g = group_of(inst)
    if g is None or g.member(inst) is None or member_state(inst) != "ONLINE" or has_quorum(inst):
        raise wrong_value_for_var("group_replication_force_members", v)
    wanted = {a.strip() for a in v.split(",") if a.strip()}
    world = core.world_of(inst)
    keep = [m for m in g.members if _local_address(m.inst) in wanted]
    if inst not in [m.inst for m in keep] or any(
        not (m.inst is inst or core.reachable(world, inst, m.inst)) for m in keep
    ):
        raise wrong_value_for_var("group_replication_force_members", v)
    for m in list(g.members):
        if m not in keep:
            g.members.remove(m)
            g.suspect_since.pop(core.server_uuid(m.inst), None)
            if core.is_running(m.inst):
                g.ghosts[core.server_uuid(m.inst)] = [x.inst for x in keep] + [m.inst]
            st = repl(m.inst)
            st.gr = None
    _new_view(g)
    if g.primary is None or g.member(g.primary) is None:
        old = g.primary
        g.primary = _elect(g)
        asyncio.get_running_loop().create_task(_after_election(g, g.primary, old))
    return v
