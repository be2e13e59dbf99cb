"""Driving a CLONE INSTANCE on a recipient and following it to the end, across the recipient's restart.

Why a module of its own: the clone is the one step that runs for hours. It must (1) never start a
second clone while one ran or runs — a retried step first looks at `performance_schema.clone_status`
(since the start recorded in the last heartbeat, `resume.started_at`, or the newest row) and
RE-ATTACHES to an 'In Progress' clone, or to one that finished between the step's probe and its act
(see `follows`); a new CLONE names the donor that `set_up_donor` just put in clone_valid_donor_list;
(2) report progress (stage, bytes, percent, estimated end)
through `on_progress` on every poll, which the Temporal wrapper heartbeats; (3) survive the restart
that ends a clone: connection errors and ER_SERVER_SHUTDOWN mean "restarting", the pools of the
recipient are dropped and polling resumes until the restart wait runs out (spec 2.b.3.9).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from activities import primitives as p
from activities import sql
from activities.connections import ClusterAccess, Session
from activities.errors import (
    ER_RESTART_SERVER_FAILED,
    CloneFailed,
    ClusterSetError,
    FailedPrecondition,
    InstanceUnreachable,
    NonRetryableError,
    SyncTimeout,
)
from activities.models import CloneProgress, CloneStage
from activities.steps import StepContext
from api.models import Endpoint

_STAGES = [s.value for s in CloneStage]
_RUNNING: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class CloneRow:
    id: int
    pid: int
    state: str
    begin_time: str
    source: str
    error_no: int
    error_message: str

    @classmethod
    def of(cls, r: dict[str, Any]) -> CloneRow:
        return cls(
            id=int(r.get("id") or 0),
            pid=int(r.get("pid") or 0),
            state=p.as_str(r.get("state")),
            begin_time=p.as_str(r.get("begin_time")),
            source=p.as_str(r.get("source")),
            error_no=int(r.get("error_no") or 0),
            error_message=p.as_str(r.get("error_message")),
        )


async def latest_clone(s: Session, since: str | None = None) -> CloneRow | None:
    """The newest clone_status row (None when none, or when the clone plugin and its table are absent)."""
    try:
        row = await s.fetch_one(sql.clone_status_since(since))
    except FailedPrecondition as e:
        if e.errno == 1146:  # ER_NO_SUCH_TABLE: no clone plugin, so no clone ever ran here
            return None
        raise
    return CloneRow.of(row) if row else None


def _dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def progress_of(row: CloneRow, stages: list[dict[str, Any]], *, recipient: str, donor: str) -> CloneProgress:
    """CloneProgress from clone_status + clone_progress rows (bytes: ESTIMATE and DATA of all stages)."""
    total = sum(int(r.get("estimate") or 0) for r in stages)
    done = sum(
        min(int(r.get("data") or 0), int(r.get("estimate") or 0) or int(r.get("data") or 0)) for r in stages
    )
    current = None
    speed = 0
    for r in sorted(
        stages, key=lambda r: _STAGES.index(p.as_str(r["stage"])) if p.as_str(r["stage"]) in _STAGES else 99
    ):
        st = p.as_str(r.get("state"))
        if st == "In Progress":
            current = p.as_str(r["stage"])
            speed = int(r.get("data_speed") or 0)
            break
        if st == "Completed":
            current = p.as_str(r["stage"])
    percent = 100.0 if row.state == "Completed" else (100.0 * done / total if total else 0.0)
    now = datetime.now(UTC)
    eta = None
    if row.state == "In Progress" and speed > 0 and total > done:
        eta = now + timedelta(seconds=(total - done) / speed)
    begin = _dt(row.begin_time)
    return CloneProgress(
        recipient=recipient,
        donor=donor,
        stage=current,
        state=row.state,
        percent=round(min(percent, 100.0), 2),
        bytes_done=done,
        bytes_total=total,
        started_at=begin.replace(tzinfo=begin.tzinfo or UTC) if begin else None,
        estimated_end=eta,
        observed_at=now,
    )


def _begin_text(progress: CloneProgress | None) -> str | None:
    if progress is None or progress.started_at is None:
        return None
    return progress.started_at.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


def _ms_text(value: Any) -> str:
    """A DATETIME(3) literal ('YYYY-MM-DD HH:MM:SS.mmm') from a driver value or text."""
    dt = _dt(value)
    if dt is None:
        return p.as_str(value)
    return dt.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


RUNNING_STATES = ("In Progress", "Not Started")

DonorSetup = Callable[[], Awaitable[tuple[str, int]]]


def is_running(row: CloneRow | None) -> bool:
    return row is not None and row.state in RUNNING_STATES


def same_clone(a: CloneRow, b: CloneRow) -> bool:
    return (a.id, a.begin_time, a.source) == (b.id, b.begin_time, b.source)


def follows(row: CloneRow | None, *, replaces: CloneRow | None) -> bool:
    """Whether `row` is the clone this step follows rather than starts anew.

    A running clone always is (never a second one). A finished clone is too, unless it is the very row
    the caller judged stale (`replaces`: an earlier clone the step must replace, seen by its probe):
    nothing but this step starts clones on a joining instance, so any other finished row is the clone an
    earlier attempt of this step started, which ended (and restarted the recipient) in between.
    """
    if row is None:
        return False
    if row.state in RUNNING_STATES:
        return True
    return replaces is None or not same_clone(row, replaces)


async def run_clone(
    ctx: StepContext,
    *,
    recipient: ClusterAccess,
    recipient_ep: Endpoint,
    replaces: CloneRow | None,
    set_up_donor: DonorSetup,
    clone_user: str,
    clone_password: str,
) -> CloneProgress:
    """Start (or re-attach to) the CLONE on the recipient and follow it until Completed.

    `replaces` is the finished clone_status row (or None) that the caller's probe saw and judged not good
    enough; see `follows`. `set_up_donor` is called only when a new CLONE must start: it makes the
    recipient's clone_valid_donor_list (reset by every restart) name the donor it returns, so the donor
    of the CLONE is always the one in the list.
    """
    since = _begin_text(ctx.resume)
    async with recipient.endpoint_session(recipient_ep) as s:
        row = await latest_clone(s, since)
        # A heartbeat names the clone this activity started: a row completed since it is that clone.
        attach = row is not None and (
            (since is not None and row.state == "Completed") or follows(row, replaces=replaces)
        )
        if row is not None and attach:
            started = _ms_text(row.begin_time)
        else:
            started = _ms_text(await s.scalar(sql.NOW3))
    clone_task: asyncio.Task[None] | None = None
    if attach:
        assert row is not None
        donor = row.source
    else:
        donor_host, donor_port = await set_up_donor()
        donor = f"{donor_host}:{donor_port}"
        clone_task = asyncio.create_task(
            _issue_clone(ctx, recipient, recipient_ep, donor_host, donor_port, clone_user, clone_password)
        )
        # The task is kept even if this step is cancelled: closing the session that runs CLONE INSTANCE
        # must not be what ends a clone; a retried step re-attaches to it through clone_status.
        _RUNNING.add(clone_task)
        clone_task.add_done_callback(_RUNNING.discard)
    return await _follow(ctx, recipient, recipient_ep, started, donor=donor, clone_task=clone_task)


async def _issue_clone(
    ctx: StepContext,
    recipient: ClusterAccess,
    ep: Endpoint,
    host: str,
    port: int,
    user: str,
    password: str,
) -> None:
    """Run CLONE INSTANCE on a dedicated connection; the end of the clone (restart) breaks it."""
    statement = sql.clone_instance(user=user, host=host, port=port, password=password)
    async with ctx.env.pools.dedicated(ep.host, ep.port, creds=ctx.creds, ssl_mode=ctx.ssl_mode) as s:
        try:
            await s.execute(statement, limit=365 * 24 * 3600.0)
        except InstanceUnreachable:
            return  # the recipient restarts: expected
        except ClusterSetError as e:
            if e.errno == ER_RESTART_SERVER_FAILED:
                return  # cloned; nobody restarts mysqld (spec §7): the follower reports it
            raise


async def _follow(
    ctx: StepContext,
    recipient: ClusterAccess,
    ep: Endpoint,
    started: str | None,
    *,
    donor: str,
    clone_task: asyncio.Task[None] | None,
) -> CloneProgress:
    settings = ctx.settings
    start_deadline = time.monotonic() + settings.clone_start_timeout
    restart_deadline: float | None = None
    last: CloneProgress | None = None
    while True:
        if clone_task is not None and clone_task.done() and clone_task.exception() is not None:
            exc = clone_task.exception()
            if isinstance(exc, NonRetryableError):
                raise CloneFailed(
                    f"CLONE of {ep.address} from {donor} was refused: {exc}",
                    where=ep.address,
                    errno=exc.errno,
                ) from exc
        try:
            async with recipient.endpoint_session(ep) as s:
                row = await latest_clone(s, started)
                stages = await s.fetch_all(sql.clone_progress(row.id)) if row else []
            restart_deadline = None
        except InstanceUnreachable:
            await ctx.env.pools.discard_host(ep.host, ep.port)
            now = time.monotonic()
            if restart_deadline is None:
                restart_deadline = now + settings.restart_wait_timeout
            elif now > restart_deadline:
                raise SyncTimeout(
                    f"{ep.address} did not come back within {settings.restart_wait_timeout:.0f}s after "
                    "its CLONE; "
                    "the recipient must be restarted by its supervisor (exit code 16 / pod restart). "
                    "The step "
                    "re-attaches when retried.",
                    where=ep.address,
                ) from None
            await asyncio.sleep(settings.clone_poll_interval)
            continue
        if row is None:
            if clone_task is not None and clone_task.done() and clone_task.exception() is not None:
                exc = clone_task.exception()
                assert exc is not None
                raise exc  # refused before it started (e.g. another clone runs there: retryable NotReady)
            if time.monotonic() > start_deadline:
                raise SyncTimeout(
                    f"the CLONE of {ep.address} from {donor} did not start within "
                    f"{settings.clone_start_timeout:.0f}s",
                    where=ep.address,
                )
            await asyncio.sleep(settings.clone_poll_interval)
            continue
        last = progress_of(row, stages, recipient=ep.address, donor=donor)
        if ctx.on_progress is not None:
            await ctx.on_progress(last)
        if row.state == "Completed":
            return last
        if row.state == "Failed":
            raise CloneFailed(
                f"CLONE of {ep.address} from {donor} failed: ({row.error_no}) {row.error_message}. Check the "
                "donor's clone plugin, the account's BACKUP_ADMIN and disk space; the join step "
                "retries a new "
                "clone only when asked again.",
                where=ep.address,
                errno=row.error_no,
            )
        await asyncio.sleep(settings.clone_poll_interval)
