"""Hermetic stand-ins for the operations and Kubernetes, for workflow tests.

`FakeTopology` plays the MySQL side: plan/step/observe functions with the entry points' signatures, which
the REAL activity wrappers (activities/temporal.py) are built on, so tests exercise the wrappers too.
An operation's effect lands when its last step runs. Failures and hangs are injected per (kind, step).

`KubeRecorder` registers recording activities under the Kubernetes activity names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity

from activities.errors import ClusterSetError
from activities.kube import (
    AlignPrimaryInput,
    ClearRejoinAnnotationInput,
    EmitEventInput,
    KubeResult,
    PatchStatusInput,
    PatchStatusResult,
)
from activities.models import (
    CloneProgress,
    ClusterSetObservation,
    ObserveInput,
    OperationKind,
    OperationPlan,
    OperationRequest,
    StepInput,
    StepPlan,
    StepResult,
)
from activities.temporal import OperationActivities
from api.models import ClusterSetSpec, ClusterStatus
from workflows import names

STEPS: dict[OperationKind, list[str]] = {
    OperationKind.BOOTSTRAP: ["check_primary", "create_clusterset"],
    OperationKind.ADOPT: ["read_metadata"],
    OperationKind.JOIN: ["validate", "clone", "start_channel"],
    OperationKind.GROW: ["add_members"],
    OperationKind.SWITCHOVER: ["sync", "fence", "promote"],
    OperationKind.FAILOVER: ["check_unreachable", "promote"],
    OperationKind.FENCE: ["fence"],
    OperationKind.REJOIN: ["check_errant", "rejoin"],
    OperationKind.REMOVE: ["stop_channel", "remove"],
    OperationKind.DISSOLVE: ["remove_replicas", "dissolve"],
}


def spec_of(*clusters: str, primary: str = "dc1", **extra: Any) -> ClusterSetSpec:
    """A valid spec with one endpoint per cluster on distinct loopback hosts."""
    return ClusterSetSpec.model_validate(
        {
            "primaryCluster": primary,
            "clusters": [
                {"innodbClusterName": c, "endpoints": [{"host": f"127.0.9.{i + 1}"}]}
                for i, c in enumerate(clusters)
            ],
            "credentialsSecret": {"name": "cs-secret"},
            "statusRefreshIntervalSeconds": 1,
            **extra,
        }
    )


@dataclass
class FakeTopology:
    """A ClusterSet world answering plan/step/observe like the real operations."""

    bootstrapped: bool = False
    primary: str | None = None
    clusters: dict[str, str] = field(default_factory=dict)  # name -> globalStatus
    reachable: bool = True
    fail: dict[tuple[str, str], ClusterSetError] = field(default_factory=dict)
    fail_times: dict[tuple[str, str], int] = field(
        default_factory=dict
    )  # remaining failures (default: always)
    hang: set[tuple[str, str]] = field(default_factory=set)  # steps that wait until cancelled
    clone_updates: list[float] | None = None  # percents reported by the clone (None: 0..100 by 25)
    clone_stall_after: float | None = None  # percent after which the clone stops moving (until cancelled)
    steps_run: list[tuple[str, str | None, str]] = field(default_factory=list)
    cancelled: list[tuple[str, str]] = field(default_factory=list)
    resumes: list[CloneProgress | None] = field(default_factory=list)
    observe_count: int = 0
    clone_count: int = 0
    failover_context: dict[str, str] = field(default_factory=dict)
    _gates: dict[tuple[str, str], asyncio.Event] = field(default_factory=dict)

    def release(self, key: tuple[str, str]) -> None:
        """Let a hanging step go on."""
        self.hang.discard(key)
        self._gates.setdefault(key, asyncio.Event()).set()

    # --------------------------------------------------------------------------- entry points

    async def plan(self, req: OperationRequest, *, env: Any) -> OperationPlan:
        self._maybe_fail(req.kind, "plan")
        steps = [
            StepPlan(name=s, summary=f"{s} {req.target_cluster or ''}".strip(), long_running=s == "clone")
            for s in STEPS[req.kind]
        ]
        return OperationPlan(kind=req.kind, target_cluster=req.target_cluster, steps=steps)

    async def run_step(
        self,
        inp: StepInput,
        *,
        env: Any,
        on_progress: Callable[[CloneProgress], Any] | None = None,
        resume: CloneProgress | None = None,
    ) -> StepResult:
        req = inp.request
        key = (req.kind.value, inp.step)
        self.steps_run.append((req.kind.value, req.target_cluster, inp.step))
        self._maybe_fail(req.kind, inp.step)
        if key in self.hang:
            gate = self._gates.setdefault(key, asyncio.Event())
            try:
                await gate.wait()
            except asyncio.CancelledError:
                self.cancelled.append(key)
                raise
        if inp.step == "clone":
            self.resumes.append(resume)
            await self._clone(req, on_progress)
        last = STEPS[req.kind][-1]
        outputs: dict[str, str] = {}
        if inp.step == last:
            outputs = self._apply(req)
        return StepResult(step=inp.step, already_done=False, message=f"{inp.step} done", outputs=outputs)

    async def observe(self, inp: ObserveInput, *, env: Any) -> ClusterSetObservation:
        self.observe_count += 1
        if not self.reachable:
            return ClusterSetObservation(reachable=False, bootstrapped=self.bootstrapped, error="unreachable")
        healthy = self.bootstrapped and all(s == "OK" for s in self.clusters.values())
        return ClusterSetObservation(
            reachable=True,
            bootstrapped=self.bootstrapped,
            domain_name="cs" if self.bootstrapped else None,
            primary_cluster=self.primary,
            primary_endpoint="127.0.9.1:3306" if self.primary else None,
            global_status="HEALTHY" if healthy else ("AVAILABLE" if self.bootstrapped else "UNKNOWN"),
            gtid_executed_primary="aaaa:1-7" if self.bootstrapped else None,
            clusters={
                n: ClusterStatus(cluster_role="PRIMARY" if n == self.primary else "REPLICA", global_status=s)
                for n, s in self.clusters.items()
            },
        )

    # --------------------------------------------------------------------------- internals

    def _maybe_fail(self, kind: OperationKind, step: str) -> None:
        key = (kind.value, step)
        if key not in self.fail:
            return
        remaining = self.fail_times.get(key)
        if remaining is not None:
            if remaining <= 0:
                return
            self.fail_times[key] = remaining - 1
        raise self.fail[key]

    async def _clone(self, req: OperationRequest, on_progress: Callable[[CloneProgress], Any] | None) -> None:
        self.clone_count += 1
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for i, pct in enumerate(self.clone_updates or [0.0, 25.0, 50.0, 75.0, 100.0]):
            progress = CloneProgress(
                recipient="127.0.9.2:3306",
                donor="127.0.9.1:3306",
                stage="FILE COPY" if pct < 100 else "RECOVERY",
                state="In Progress" if pct < 100 else "Completed",
                percent=pct,
                bytes_done=int(pct * 1000),
                bytes_total=100_000,
                started_at=start,
                observed_at=start + timedelta(seconds=i),
            )
            if on_progress is not None:
                await on_progress(progress)
            if self.clone_stall_after is not None and pct >= self.clone_stall_after:
                while True:  # stuck: keep reporting the same progress until cancelled or unstalled
                    await asyncio.sleep(0.05)
                    if on_progress is not None:
                        await on_progress(progress)
                    if self.clone_stall_after is None:
                        break
            await asyncio.sleep(0)

    def _apply(self, req: OperationRequest) -> dict[str, str]:
        kind, target = req.kind, req.target_cluster
        if kind is OperationKind.BOOTSTRAP:
            self.bootstrapped, self.primary = True, target
            self.clusters = {str(target): "OK"}
        elif kind in (OperationKind.JOIN, OperationKind.REJOIN, OperationKind.FENCE):
            if kind is OperationKind.FENCE:
                self.clusters[str(target)] = "INVALIDATED"
            else:
                self.clusters[str(target)] = "OK"
        elif kind is OperationKind.REMOVE:
            self.clusters.pop(str(target), None)
        elif kind is OperationKind.SWITCHOVER:
            self.primary = target
        elif kind is OperationKind.FAILOVER:
            self.failover_context = dict(req.context)
            old = self.primary
            self.primary = target
            for c in req.invalidate_clusters:
                self.clusters[c] = "INVALIDATED"
            if old is not None:
                self.clusters[old] = "INVALIDATED"
            self.reachable = True
            return {"old_primary": old or "", "lost_gtid_set": "aaaa:5-6", "lost_count": "2"}
        elif kind is OperationKind.DISSOLVE:
            self.bootstrapped, self.primary, self.clusters = False, None, {}
        return {}

    def activities(
        self, *, progress_signal_seconds: float = 0.0, stall_timeout_seconds: float | None = None
    ) -> OperationActivities:
        return OperationActivities(
            env=None,
            stall_timeout_seconds=stall_timeout_seconds,
            plan_fn=self.plan,
            step_fn=self.run_step,
            observe_fn=self.observe,
            progress_signal_seconds=progress_signal_seconds,
        )


@dataclass
class KubeRecorder:
    """Records every Kubernetes write the workflow asks for."""

    statuses: list[PatchStatusInput] = field(default_factory=list)
    events: list[EmitEventInput] = field(default_factory=list)
    cleared_annotations: list[str] = field(default_factory=list)
    aligned: list[AlignPrimaryInput] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        return [self.patch_status, self.emit_event, self.clear_rejoin_annotation, self.align_primary_cluster]

    @activity.defn(name=names.ACTIVITY_PATCH_STATUS)
    async def patch_status(self, inp: PatchStatusInput) -> PatchStatusResult:
        self.statuses.append(inp)
        return PatchStatusResult(changed=True)

    @activity.defn(name=names.ACTIVITY_EMIT_EVENT)
    async def emit_event(self, inp: EmitEventInput) -> KubeResult:
        self.events.append(inp)
        return KubeResult(changed=True)

    @activity.defn(name=names.ACTIVITY_CLEAR_REJOIN_ANNOTATION)
    async def clear_rejoin_annotation(self, inp: ClearRejoinAnnotationInput) -> KubeResult:
        self.cleared_annotations.append(inp.cluster)
        return KubeResult(changed=True)

    @activity.defn(name=names.ACTIVITY_ALIGN_PRIMARY)
    async def align_primary_cluster(self, inp: AlignPrimaryInput) -> KubeResult:
        self.aligned.append(inp)
        return KubeResult(changed=True)

    def event_reasons(self) -> list[str]:
        return [e.reason for e in self.events]
