"""Temporal activity definitions around the operation entry points of activities/steps.py.

The operations know nothing of Temporal; this module adds what Temporal needs:

- pinned activity names (``clusterset.plan``, ``clusterset.step``, ``clusterset.clone_step``,
  ``clusterset.observe``), one pydantic model in and out;
- heartbeats: every step heartbeats in the background, so a killed worker is noticed within the
  heartbeat timeout and a cancellation (a forced failover preempting the operation) reaches the step;
  the worker's graceful shutdown gets one last heartbeat out;
- the clone step heartbeats its `CloneProgress`; a retried attempt reads the last recorded one from
  ``activity.info().heartbeat_details`` and passes it as ``resume``, so the operation re-attaches to the
  CLONE running on the server instead of starting another;
- stall detection: no clone progress for ``spec.cloneOptions.stallTimeoutSeconds`` sends the entity
  workflow an "OperationProgress" signal with ``stalled=True`` (it raises the CloneStalled condition);
  the join goes on. Progress is also signalled, at most every `progress_signal_seconds`;
- errors: `NonRetryableError` subclasses become ``ApplicationError(non_retryable=True, type=<class>)``,
  `RetryableError` subclasses retryable ones; the message is the error's own (which never holds a
  secret), never the driver's exception chain. Anything else is reported by type only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import ClusterSetError, NonRetryableError
from activities.models import (
    CloneProgress,
    ClusterSetObservation,
    ObserveInput,
    OperationPlan,
    OperationRequest,
    StepInput,
    StepResult,
)
from workflows import names
from workflows.ids import clusterset_workflow_id
from workflows.models import OperationProgressReport

log = logging.getLogger(__name__)

ProgressCallback = Callable[[CloneProgress], Awaitable[None]]


class PlanFn(Protocol):
    def __call__(self, req: OperationRequest, *, env: Any) -> Awaitable[OperationPlan]: ...


class StepFn(Protocol):
    def __call__(
        self,
        inp: StepInput,
        *,
        env: Any,
        on_progress: ProgressCallback | None = None,
        resume: CloneProgress | None = None,
    ) -> Awaitable[StepResult]: ...


class ObserveFn(Protocol):
    def __call__(self, inp: ObserveInput, *, env: Any) -> Awaitable[ClusterSetObservation]: ...


class ProgressSink(Protocol):
    """Where clone progress reports go (the entity workflow's signal; a list in tests)."""

    async def __call__(self, workflow_id: str, report: OperationProgressReport) -> None: ...


async def signal_entity(workflow_id: str, report: OperationProgressReport) -> None:
    """Signal "OperationProgress" to the entity workflow through the worker's own client."""
    handle = activity.client().get_workflow_handle(workflow_id)
    await handle.signal(names.SIGNAL_OPERATION_PROGRESS, report)


@contextlib.contextmanager
def translated_errors(*, doing: str) -> Iterator[None]:
    """Map the operations' typed errors to Temporal application errors that carry no secret."""
    try:
        yield
    except ClusterSetError as exc:
        where = f" [{exc.where}]" if exc.where and exc.where not in exc.message else ""
        raise ApplicationError(
            f"{exc.message}{where}",
            type=type(exc).__name__,
            non_retryable=isinstance(exc, NonRetryableError),
        ) from None
    except (asyncio.CancelledError, ApplicationError):
        raise
    except Exception as exc:
        # Unknown errors may carry anything (driver text, SQL): report the type, log locally.
        log.exception("unexpected error while %s", doing)
        raise ApplicationError(
            f"unexpected {type(exc).__name__} while {doing} (details in the worker log)",
            type=type(exc).__name__,
        ) from None


@contextlib.asynccontextmanager
async def heartbeating(details: Callable[[], Any | None], *, interval: float) -> AsyncIterator[None]:
    """Heartbeat `details()` every `interval` seconds and once more when the worker shuts down."""

    def beat() -> None:
        value = details()
        if value is None:
            activity.heartbeat()
        else:
            activity.heartbeat(value)

    async def periodic() -> None:
        while True:
            beat()
            await asyncio.sleep(interval)

    async def on_shutdown() -> None:
        await activity.wait_for_worker_shutdown()
        beat()

    tasks = [asyncio.create_task(periodic()), asyncio.create_task(on_shutdown())]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _heartbeat_interval() -> float:
    timeout = activity.info().heartbeat_timeout
    if timeout is None:
        return 10.0
    return max(0.2, min(10.0, timeout.total_seconds() / 3))


def resume_progress(details: Any) -> CloneProgress | None:
    """The CloneProgress of the last recorded heartbeat (decoded without type hints: a dict)."""
    if not details:
        return None
    last = details[-1] if isinstance(details, (list, tuple)) else details
    if isinstance(last, CloneProgress):
        return last
    try:
        return CloneProgress.model_validate(last)
    except ValueError:
        return None


class CloneWatch:
    """Follows the clone's progress: heartbeat details, stall detection and progress signals."""

    def __init__(
        self,
        *,
        inp: StepInput,
        sink: ProgressSink,
        stall_timeout: float,
        progress_signal_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        req = inp.request
        ref = req.clusterset
        self.workflow_id = clusterset_workflow_id(namespace=ref.namespace, name=ref.name, uid=ref.uid)
        self.operation_id = req.operation_id
        self.step = inp.step
        self.sink = sink
        self.stall_timeout = stall_timeout
        self.progress_signal_seconds = progress_signal_seconds
        self.clock = clock
        self.last: CloneProgress | None = None
        self.last_change = clock()
        self.last_signal = float("-inf")
        self.stalled = False

    @staticmethod
    def _moved(old: CloneProgress | None, new: CloneProgress) -> bool:
        if old is None:
            return True
        return (old.stage, old.state, old.bytes_done, old.percent) != (
            new.stage,
            new.state,
            new.bytes_done,
            new.percent,
        )

    async def on_progress(self, progress: CloneProgress) -> None:
        """The operation's progress callback: remember, heartbeat, and signal when due."""
        moved = self._moved(self.last, progress)
        self.last = progress
        activity.heartbeat(progress)
        now = self.clock()
        if moved:
            self.last_change = now
            if self.stalled:
                self.stalled = False
                await self._signal()
                return
        if moved and now - self.last_signal >= self.progress_signal_seconds:
            await self._signal()

    async def check_stall(self) -> None:
        if self.stalled or self.last is None:
            return
        if self.clock() - self.last_change >= self.stall_timeout:
            self.stalled = True
            await self._signal()

    async def watch(self, *, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.check_stall()

    async def _signal(self) -> None:
        if self.last is None or not self.operation_id:
            return
        self.last_signal = self.clock()
        report = OperationProgressReport(
            operation_id=self.operation_id,
            step=self.step,
            progress=self.last,
            stalled=self.stalled,
            stalled_for_seconds=int(self.clock() - self.last_change) if self.stalled else 0,
        )
        try:
            await self.sink(self.workflow_id, report)
        except Exception as exc:  # a lost progress report must never fail the clone
            log.warning("progress signal to %s failed: %s", self.workflow_id, type(exc).__name__)


class OperationActivities:
    """The operation activities, bound to an injected `OperationEnv` and entry points."""

    def __init__(
        self,
        *,
        env: Any,
        plan_fn: PlanFn | None = None,
        step_fn: StepFn | None = None,
        observe_fn: ObserveFn | None = None,
        progress_sink: ProgressSink | None = None,
        progress_signal_seconds: float = 30.0,
        stall_timeout_seconds: float | None = None,  # overrides spec.cloneOptions (tests)
    ) -> None:
        if plan_fn is None or step_fn is None or observe_fn is None:
            from activities import steps

            plan_fn = plan_fn or steps.plan_operation
            step_fn = step_fn or steps.run_step
            observe_fn = observe_fn or steps.observe_clusterset
        self._env = env
        self._plan = plan_fn
        self._step = step_fn
        self._observe = observe_fn
        self._sink: ProgressSink = progress_sink or signal_entity
        self._progress_signal_seconds = progress_signal_seconds
        self._stall_timeout_seconds = stall_timeout_seconds

    def activities(self) -> list[Callable[..., Any]]:
        return [self.plan, self.step, self.clone_step, self.observe]

    @activity.defn(name=names.ACTIVITY_PLAN)
    async def plan(self, req: OperationRequest) -> OperationPlan:
        """Plan (and dry-run) an operation: its steps and which are already done."""
        async with heartbeating(lambda: None, interval=_heartbeat_interval()):
            with translated_errors(doing=f"planning {req.kind.value}"):
                return await self._plan(req, env=self._env)

    @activity.defn(name=names.ACTIVITY_STEP)
    async def step(self, inp: StepInput) -> StepResult:
        """Run one short step: probe, act when needed."""
        async with heartbeating(lambda: None, interval=_heartbeat_interval()):
            with translated_errors(doing=f"step {inp.step} of {inp.request.kind.value}"):
                return await self._step(inp, env=self._env, on_progress=None, resume=None)

    @activity.defn(name=names.ACTIVITY_CLONE_STEP)
    async def clone_step(self, inp: StepInput) -> StepResult:
        """Run the CLONE step, re-attaching to a running clone on retry; heartbeats its progress."""
        resume = resume_progress(activity.info().heartbeat_details)
        stall = self._stall_timeout_seconds or float(inp.request.spec.clone_options.stall_timeout_seconds)
        watch = CloneWatch(
            inp=inp,
            sink=self._sink,
            stall_timeout=stall,
            progress_signal_seconds=self._progress_signal_seconds,
        )
        watch.last = resume
        stall_task = asyncio.create_task(watch.watch(every=min(5.0, stall / 4)))
        try:
            async with heartbeating(lambda: watch.last, interval=_heartbeat_interval()):
                with translated_errors(doing=f"step {inp.step} of {inp.request.kind.value}"):
                    result = await self._step(
                        inp, env=self._env, on_progress=watch.on_progress, resume=resume
                    )
        finally:
            stall_task.cancel()
            await asyncio.gather(stall_task, return_exceptions=True)
        if watch.stalled and watch.last is not None:
            watch.stalled = False
            await watch._signal()
        return result

    @activity.defn(name=names.ACTIVITY_OBSERVE)
    async def observe(self, inp: ObserveInput) -> ClusterSetObservation:
        """One status round over the ClusterSet (read-only)."""
        async with heartbeating(lambda: None, interval=_heartbeat_interval()):
            with translated_errors(doing="observing the ClusterSet"):
                obs = await self._observe(inp, env=self._env)
        if obs.observed_at is None:
            obs = obs.model_copy(update={"observed_at": datetime.now(UTC)})
        return obs
