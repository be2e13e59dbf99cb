"""CLONE INSTANCE FROM (remote clone) and the clone used by Group Replication's distributed recovery.

Checks every documented precondition with its error (clone plugin on both sides, CLONE_ADMIN,
clone_valid_donor_list, BACKUP_ADMIN of the donor account, same series/version rules, matching active
plugins, donor reachable, one clone at a time, Group Replication not running), then plays the stages
DROP DATA, FILE COPY, PAGE COPY, REDO COPY, FILE SYNC, RESTART, RECOVERY over time: the copy lasts
``dataset_bytes / min(link bandwidth, clone_max_network_bandwidth, clone_max_data_bandwidth)`` simulated
seconds, divided by the world's time_scale. At FILE SYNC the recipient's data, accounts and GTID state
become the donor's (server_uuid kept); the supervisor then restarts the server, which drops the client
connection. Reference: MySQL 8.0/8.4 manual 7.6.7 "The Clone Plugin", clone_status / clone_progress tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from mysqlsim import errors
from mysqlsim.errors import MySQLError
from mysqlsim.registry import Result, StatementContext, statement
from mysqlsim.replication import core
from mysqlsim.replication import errors as rerr
from mysqlsim.replication.sqlparse import parse_clone
from mysqlsim.replication.state import GR_RECOVERY, Channel, ChannelConfig, CloneRun, CloneStage, repl

if TYPE_CHECKING:
    from mysqlsim.instance import Instance

log = logging.getLogger("mysqlsim.replication.clone")

MIB = 1024 * 1024
#: the server's own schemas, which DROP DATA keeps
SYSTEM_SCHEMAS = {"mysql", "sys", "performance_schema", "information_schema"}
#: detached restart tasks (kept referenced until done)
_BACKGROUND: set[asyncio.Task[Any]] = set()


def _series(version: str) -> tuple[int, int, int]:
    p = [int(x) for x in re.findall(r"\d+", version)[:3]]
    while len(p) < 3:
        p.append(0)
    return p[0], p[1], p[2]


def versions_compatible(donor: str, recipient: str) -> bool:
    """Same series; before 8.0.37 the point release must match too (clone-plugin-limitations.html)."""
    d, r = _series(donor), _series(recipient)
    if d[:2] != r[:2]:
        return False
    if d[:2] == (8, 0) and (d[2] < 37 or r[2] < 37):
        return d == r
    return True


def _var(inst: Instance, name: str, default: Any) -> Any:
    try:
        v = core.get_var(inst, name)
    except MySQLError:
        return default
    return default if v is None else v


def _speed_bps(recipient: Instance, donor: Instance) -> float:
    """Bytes per simulated second: the link, capped by clone_max_network/data_bandwidth (MiB/s)."""
    world = core.world_of(recipient)
    speed = core.bandwidth_bps(world, donor, recipient)
    for name in ("clone_max_network_bandwidth", "clone_max_data_bandwidth"):
        cap = int(_var(recipient, name, 0) or 0)
        if cap > 0:
            speed = min(speed, cap * MIB)
    return max(speed, 1.0)


def _dataset(donor: Instance) -> int:
    n = core.dataset_bytes(donor)
    if n <= 0:
        n = 64 * MIB
    return n


# --- preconditions ------------------------------------------------------------------------------------------


def check_preconditions(
    ctx: StatementContext,
    host: str,
    port: int,
    user: str,
    password: str,
    require_ssl: bool | None,
    data_directory: str | None,
) -> Instance:
    """Remote Cloning Prerequisites (clone-plugin-remote.html), in the order the server checks them."""
    from mysqlsim.replication import group

    rec = ctx.instance
    if not core.plugin_active(rec, "clone"):
        raise errors.plugin_is_not_loaded("clone")
    ctx.require("CLONE_ADMIN")
    if data_directory is None and group.member_state(rec) in ("ONLINE", "RECOVERING"):
        raise rerr.clone_disallowed("Group Replication is running")
    if data_directory is None and core.var_on(rec, "super_read_only"):
        raise errors.option_prevents_statement("--super-read-only")
    st = repl(rec)
    if st.clone is not None and st.clone.state == "In Progress":
        raise rerr.clone_too_many()
    valid = str(_var(rec, "clone_valid_donor_list", "") or "")
    allowed = {v.strip().lower() for v in valid.split(",") if v.strip()}
    if f"{host}:{port}".lower() not in allowed:
        raise rerr.clone_sys_config(f"{host}:{port} is not found in clone_valid_donor_list: {valid}")
    world = core.world_of(rec)
    donor = core.find_instance(world, host, port)
    if donor is None or not core.reachable(world, rec, donor):
        raise rerr.clone_donor_connect(2003, f"Can't connect to MySQL server on '{host}:{port}' (111)")
    if donor is rec and data_directory is None:
        raise rerr.clone_loopback()
    client_host = core.host_of(rec)
    if require_ssl:
        from mysqlsim.replication import tlscheck

        ca = str(_var(rec, "clone_ssl_ca", "") or "")
        problem = tlscheck.verify_source(rec, donor, host=host, ca_file=ca, capath="", verify_identity=False)
        if problem:
            raise rerr.ssl_connection_error(problem)
    if not core.authenticate(donor, user, client_host, password):
        denied = errors.access_denied(user, client_host, using_password=bool(password))
        raise rerr.clone_donor_connect(denied.code, denied.message)
    if require_ssl is False:
        from mysqlsim.replication import tlscheck

        if tlscheck.account_requires_ssl(donor, user, client_host):
            denied = errors.access_denied(user, client_host, using_password=bool(password))
            raise rerr.clone_donor_connect(denied.code, denied.message)
    if not core.plugin_active(donor, "clone"):
        raise rerr.clone_donor(1524, "Plugin 'clone' is not loaded")
    if not core.has_global_privilege(donor, user, client_host, "BACKUP_ADMIN"):
        raise rerr.clone_donor(
            1227, "Access denied; you need (at least one of) the BACKUP_ADMIN privilege(s) for this operation"
        )
    dv, rv = core.version_of(donor), core.version_of(rec)
    if not versions_compatible(dv, rv):
        raise rerr.clone_donor_version(dv, rv)
    for p in ("group_replication",):
        if core.plugin_active(donor, p) and not core.plugin_active(rec, p):
            raise rerr.clone_plugin_match(p)
    return donor


# --- the clone itself ---------------------------------------------------------------------------------------


def refresh_progress(inst: Instance) -> None:
    """clone_progress is updated by the running clone; nothing to compute at query time."""
    del inst


def _stage(run: CloneRun, name: str) -> CloneStage:
    return next(s for s in run.stages if s.name == name)


def _begin(s: CloneStage, *, threads: int = 1, estimate: int = 0) -> None:
    s.state = "In Progress"
    s.begin = time.time()
    s.threads = threads
    s.estimate = estimate


def _end(s: CloneStage) -> None:
    s.state = "Completed"
    s.end = time.time()
    s.data = s.estimate
    s.network = s.estimate
    s.threads = 0
    s.data_speed = 0
    s.network_speed = 0


async def _transfer(rec: Instance, donor: Instance, s: CloneStage, nbytes: int, *, threads: int) -> None:
    """Move ``nbytes`` at the clone's speed, updating DATA/NETWORK; stalls while the donor is unreachable."""
    world = core.world_of(rec)
    _begin(s, threads=threads, estimate=nbytes)
    done = 0.0
    last = time.monotonic()
    stalled_since: float | None = None
    timeout_min = float(_var(rec, "clone_donor_timeout_after_network_failure", 5) or 5)
    while done < nbytes:
        await asyncio.sleep(0.05)
        now = time.monotonic()
        dt_real = now - last
        last = now
        if not core.reachable(world, rec, donor):
            stalled_since = stalled_since or now
            s.data_speed = s.network_speed = 0
            if now - stalled_since > timeout_min * 60:
                raise MySQLError(2013, "HY000", "Lost connection to MySQL server during query")
            continue
        stalled_since = None
        speed = _speed_bps(rec, donor)
        done = min(float(nbytes), done + speed * dt_real * core.time_scale(world))
        s.data = int(done)
        s.network = int(done)
        s.data_speed = int(speed)
        s.network_speed = int(speed)
    _end(s)


async def _pause(seconds_simulated: float, rec: Instance) -> None:
    await asyncio.sleep(max(0.02, seconds_simulated / core.time_scale(core.world_of(rec))))


def _drop_user_data(rec: Instance) -> None:
    """DROP DATA: user-created schemas and the binary logs of the recipient go."""
    eng = rec.engine
    for schema in list(eng.schemas()):
        if schema.lower() not in SYSTEM_SCHEMAS:
            with contextlib.suppress(Exception):
                eng.drop_schema(schema)
    rec.binlog.reset()


def _cloned_channels(rec: Instance, donor: Instance) -> None:
    """Replication metadata tables are cloned: the donor's channel configurations, stopped, no relay log.
    Group Replication keeps the recipient's own SSL settings of its recovery channel."""
    st, dst = repl(donor), repl(rec)
    own_recovery = dst.channels.get(GR_RECOVERY)
    new: dict[str, Channel] = {}
    for name, ch in st.channels.items():
        if name == "group_replication_applier":
            continue
        cfg = ChannelConfig(**vars(ch.config))
        if name == GR_RECOVERY and own_recovery is not None:
            for k, v in vars(own_recovery.config).items():
                if k.startswith(("ssl", "tls")):
                    setattr(cfg, k, v)
        new[name] = Channel(name=name, config=cfg)
    for name, ch in dst.channels.items():
        if name == "group_replication_applier":
            new[name] = ch
    dst.channels = new
    dst.failover_sources = [type(s)(**vars(s)) for s in st.failover_sources]
    dst.managed = [type(m)(**vars(m)) for m in st.managed]


async def run_clone(rec: Instance, donor: Instance, run: CloneRun) -> None:
    """Stages up to FILE SYNC; data replaced at the end. Raises on failure (the caller marks it Failed)."""
    total = _dataset(donor)
    s = _stage(run, "DROP DATA")
    _begin(s)
    await _pause(0.5, rec)
    _drop_user_data(rec)
    _end(s)
    conc = int(_var(rec, "clone_max_concurrency", 16) or 16)
    await _transfer(rec, donor, _stage(run, "FILE COPY"), int(total * 0.95), threads=min(4, conc))
    await _transfer(rec, donor, _stage(run, "PAGE COPY"), max(1, int(total * 0.03)), threads=1)
    await _transfer(rec, donor, _stage(run, "REDO COPY"), max(1, int(total * 0.02)), threads=1)
    s = _stage(run, "FILE SYNC")
    _begin(s)
    snap = donor.snapshot_data()
    rec.replace_data(snap)
    _cloned_channels(rec, donor)
    run.gtid_executed = snap.gtid_executed.format(",\n")
    run.binlog_file = donor.binlog.current.name
    run.binlog_position = donor.binlog.current.size
    await _pause(1.0, rec)
    _end(s)


async def _restart_and_recover(rec: Instance, run: CloneRun) -> None:
    s = _stage(run, "RESTART")
    _begin(s)
    try:
        await core.restart_by_supervisor(rec)
    except Exception:  # pragma: no cover
        log.exception("restart after clone failed")
        run.state = "Failed"
        run.error_no = 3707
        run.error_message = "Restart server failed."


def on_started(rec: Instance) -> None:
    """Server start after a clone: RESTART and RECOVERY complete before anything else runs (GR start)."""
    run = repl(rec).clone
    if run is None or run.state != "In Progress":
        return
    restart = _stage(run, "RESTART")
    if restart.state != "In Progress":
        return
    _end(restart)
    rec_stage = _stage(run, "RECOVERY")
    _begin(rec_stage)
    _end(rec_stage)
    run.state = "Completed"
    run.end = time.time()


def _new_run(rec: Instance, source: str, pid: int) -> CloneRun:
    st = repl(rec)
    run = CloneRun(id=1, pid=pid, state="In Progress", begin=time.time(), source=source)
    st.clone = run
    st.clone_count += 1
    return run


def _fail(run: CloneRun, code: int, message: str) -> None:
    run.state = "Failed"
    run.end = time.time()
    run.error_no = code
    run.error_message = message
    for s in run.stages:
        if s.state == "In Progress":
            s.state = "Failed"
            s.end = time.time()


def _spawn(coro: Any) -> asyncio.Task[Any]:
    t: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
    _BACKGROUND.add(t)
    t.add_done_callback(_BACKGROUND.discard)
    return t


@statement(r"^\s*CLONE\s+INSTANCE\b")
async def clone_instance(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    rec = ctx.instance
    c = parse_clone(sql, version=core.version_of(rec))
    donor = check_preconditions(ctx, c.host, c.port, c.user, c.password, c.require_ssl, c.data_directory)
    pid = int(getattr(ctx.session, "connection_id", 0) or 0)
    run = _new_run(rec, f"{c.host}:{c.port}", pid)
    if c.data_directory is not None:
        run.destination = c.data_directory
    try:
        if c.data_directory is not None:
            total = _dataset(donor)
            for name in ("DROP DATA",):
                s = _stage(run, name)
                _begin(s)
                _end(s)
            await _transfer(rec, donor, _stage(run, "FILE COPY"), int(total * 0.95), threads=4)
            await _transfer(rec, donor, _stage(run, "PAGE COPY"), max(1, int(total * 0.03)), threads=1)
            await _transfer(rec, donor, _stage(run, "REDO COPY"), max(1, int(total * 0.02)), threads=1)
            for name in ("FILE SYNC", "RESTART", "RECOVERY"):
                s = _stage(run, name)
                _begin(s)
                _end(s)
            run.state = "Completed"
            run.end = time.time()
            return Result.ok()
        await run_clone(rec, donor, run)
    except asyncio.CancelledError:
        _fail(run, 1317, "Query execution was interrupted")
        raise
    except MySQLError as e:
        _fail(run, e.code, e.message)
        raise
    if not core.supervised(rec):
        _fail(run, 3707, "Restart server failed (mysqld is not managed by supervisor process).")
        raise errors.restart_server_failed()
    task = _spawn(_restart_and_recover(rec, run))
    # The restart kills this session; the client sees its connection drop, as with a real server.
    await asyncio.shield(task)
    raise errors.server_shutdown()


async def clone_for_recovery(rec: Instance, donor: Instance, user: str, password: str) -> bool:
    """Group Replication's remote clone during distributed recovery (as mysql.session, recovery credentials).

    Returns True once the clone has copied the data and the restart is under way."""
    client_host = core.host_of(rec)
    source = f"{core.report_host(donor)}:{core.port_of(donor)}"
    refusal: MySQLError | None = None
    if not core.authenticate(donor, user, client_host, password):
        denied = errors.access_denied(user, client_host, using_password=bool(password))
        refusal = rerr.clone_donor_connect(denied.code, denied.message)
    elif not core.has_global_privilege(donor, user, client_host, "BACKUP_ADMIN"):
        refusal = rerr.clone_donor(
            1227, "Access denied; you need (at least one of) the BACKUP_ADMIN privilege(s) for this operation"
        )
    elif not versions_compatible(core.version_of(donor), core.version_of(rec)):
        refusal = rerr.clone_donor_version(core.version_of(donor), core.version_of(rec))
    if refusal is not None:
        # the attempt is recorded in clone_status, but it never reached the running state
        failed = CloneRun(id=1, pid=0, state="Failed", begin=time.time(), source=source)
        _fail(failed, refusal.code, refusal.message)
        repl(rec).clone = failed
        return False
    run = _new_run(rec, source, 0)
    try:
        await run_clone(rec, donor, run)
    except asyncio.CancelledError:
        _fail(run, 1317, "Query execution was interrupted")
        raise
    except MySQLError as e:
        _fail(run, e.code, e.message)
        return False
    _spawn(_restart_and_recover(rec, run))
    return True
