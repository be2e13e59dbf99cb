"""The "ClusterSet" entity workflow: one per CR, the only owner of the ClusterSet's state.

Shape (temporalio samples-python ``message_passing/safe_message_handlers``): all durable state is one
`ClusterSetState`; update handlers only validate and record intent; the main loop acts, one operation at
a time, each operation a "ClusterSetOperation" child workflow. Between operations the loop observes the
topology (one activity), publishes the CR status (only when it changed), plans the next operation from
spec vs observation (`workflows.planning`), and otherwise sleeps until the refresh interval or a new
request. A forced failover (or a dissolve) preempts the running operation: the child is cancelled and the
loop waits until its activity has stopped. Continue-as-new happens only between operations, after every
handler has finished, with the state (pending requests included) as the next run's input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.kube import (
        AlignPrimaryInput,
        ClearRejoinAnnotationInput,
        EmitEventInput,
        PatchStatusInput,
    )
    from activities.models import (
        ClusterSetObservation,
        ClusterSetRef,
        ObserveInput,
        OperationKind,
        OperationRequest,
    )
    from api.models import ClusterSetSpec
    from workflows import names
    from workflows import status as st
    from workflows.ids import operation_workflow_id
    from workflows.models import (
        HISTORY_LIMIT,
        ApplySpecRequest,
        ApplySpecResult,
        BlockedOperation,
        ClusterSetPhase,
        ClusterSetState,
        ClusterSetView,
        ClusterSetWorkflowInput,
        ClusterSetWorkflowResult,
        DissolveRequest,
        DissolveResult,
        ForceFailoverRequest,
        ForceFailoverResult,
        Intent,
        IntentKind,
        OperationHistoryView,
        OperationPhase,
        OperationProgressReport,
        OperationRecord,
        OperationWorkflowInput,
        OperationWorkflowResult,
        RejoinRequest,
        RejoinResult,
        WorkflowTuning,
    )
    from workflows.operation import NON_RETRYABLE_TYPES, failure_of
    from workflows.planning import PlannedOperation, next_intent, next_operation, operation_key

# activities.failover.CTX_LAST_SEEN (the operation's context key; not imported: that module uses asyncmy)
LAST_SEEN_PRIMARY_GTIDS = "last_seen_primary_gtid_executed"
NAME_KEY = SearchAttributeKey.for_keyword(names.SEARCH_ATTRIBUTE_NAME)
PHASE_KEY = SearchAttributeKey.for_keyword(names.SEARCH_ATTRIBUTE_PHASE)
# workflow.patched ids (docs/workflows.md §5): never change one; deprecate it once no history needs it.
PATCH_WAIT_CHECKS_FIRST = "wait-checks-condition-first-2026-11"

_EVENT_ON_SUCCESS: dict[OperationKind, tuple[str, str]] = {
    OperationKind.BOOTSTRAP: ("Normal", "ClusterSetBootstrapped"),
    OperationKind.ADOPT: ("Normal", "ClusterSetAdopted"),
    OperationKind.JOIN: ("Normal", "ClusterSetMemberAdded"),
    OperationKind.GROW: ("Normal", "ClusterSetMembersGrown"),
    OperationKind.SWITCHOVER: ("Normal", "ClusterSetPrimarySwitched"),
    OperationKind.FAILOVER: ("Warning", "ClusterSetPrimaryForcedSwitched"),
    OperationKind.FENCE: ("Normal", "ClusterSetClusterFenced"),
    OperationKind.REJOIN: ("Normal", "ClusterSetMemberRejoined"),
    OperationKind.REMOVE: ("Normal", "ClusterSetMemberRemoved"),
    OperationKind.DISSOLVE: ("Normal", "ClusterSetDissolved"),
}
# Operations a forced failover (or a dissolve) may cancel.
_PREEMPTIBLE = frozenset(OperationKind) - {OperationKind.FAILOVER, OperationKind.DISSOLVE}


def _reject(message: str, error_type: str) -> ApplicationError:
    return ApplicationError(message, type=error_type, non_retryable=True)


@workflow.defn(name=names.CLUSTERSET_WORKFLOW)
class ClusterSetWorkflow:
    """One PerconaServerMySQLClusterSet: converge the live ClusterSet on its spec, and keep status true."""

    @workflow.init
    def __init__(self, inp: ClusterSetWorkflowInput) -> None:
        self._s = inp.state or ClusterSetState(
            namespace=inp.namespace, name=inp.name, uid=inp.uid, tuning=inp.tuning or WorkflowTuning()
        )
        self._wake = False
        self._progress_dirty = False
        self._published_phase: ClusterSetPhase | None = None
        self._cancel_requested = False

    # ------------------------------------------------------------------------------------ main loop

    @workflow.run
    async def run(self, inp: ClusterSetWorkflowInput) -> ClusterSetWorkflowResult:
        workflow.upsert_search_attributes([NAME_KEY.value_set(f"{self._s.namespace}/{self._s.name}")])
        self._publish_phase()
        last_operation: str | None = None
        while not self._s.dissolved:
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    ClusterSetWorkflowInput(
                        namespace=self._s.namespace, name=self._s.name, uid=self._s.uid, state=self._s
                    )
                )
            planned: PlannedOperation | None = None
            intent = next_intent(self._s)
            if intent is None and self._s.spec is not None:
                await self._refresh()
            planned = next_operation(self._s, now=workflow.now())
            if planned is not None:
                last_operation = await self._run_operation(planned)
                continue
            self._settle()
            await self._write_status()
            await self._wait_or_refresh_interval(lambda: self._wake, summary="next status refresh")
            self._wake = False
        await self._write_status()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ClusterSetWorkflowResult(
            dissolved=True, operation_id=last_operation, message="ClusterSet dissolved"
        )

    async def _wait_or_refresh_interval(self, condition: Callable[[], bool], *, summary: str) -> bool:
        """Wait until `condition` holds (True) or the status refresh interval has passed (False).

        A condition that already holds returns at once without a timer (patch `WAIT_CHECKS_FIRST`). The
        first code started a timer and cancelled it in the same workflow task: the timer is never sent, yet
        it takes a sequence number, so the history's timer ids depend on how events were grouped into
        workflow tasks. Histories written before the patch replay the old way."""
        if workflow.patched(PATCH_WAIT_CHECKS_FIRST) and condition():
            return True
        try:
            await workflow.wait_condition(
                condition, timeout=self._refresh_interval(), timeout_summary=summary
            )
        except TimeoutError:
            return False
        return True

    def _refresh_interval(self) -> timedelta:
        if self._s.spec is None:
            return timedelta(seconds=self._s.tuning.idle_timeout_seconds)
        return timedelta(seconds=self._s.spec.status_refresh_interval_seconds)

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._s.tuning.max_history_events
        )

    def _ref(self) -> ClusterSetRef:
        return ClusterSetRef(namespace=self._s.namespace, name=self._s.name, uid=self._s.uid)

    def _settle(self) -> None:
        """Nothing left to do: the accepted generation is observed, unless an operation is blocked on it."""
        obs = self._s.last_observation
        if self._s.spec is None or obs is None or not obs.reachable or self._s.dissolve_requested_by:
            return
        if not any(b.generation == self._s.generation for b in self._s.blocked):
            self._s.observed_generation = self._s.generation
        self._publish_phase()

    def _publish_phase(self) -> None:
        phase = st.phase_of(self._s, now=workflow.now())
        self._s.phase = phase
        if phase != self._published_phase:
            workflow.upsert_search_attributes([PHASE_KEY.value_set(phase.value)])
            self._published_phase = phase

    # ------------------------------------------------------------------------------------ observation

    async def _refresh(self) -> None:
        """One status round: observe, update conditions, write the CR status if it changed."""
        spec = self._s.spec
        assert spec is not None
        try:
            obs = await workflow.execute_activity(
                names.ACTIVITY_OBSERVE,
                ObserveInput(clusterset=self._ref(), spec=spec),
                result_type=ClusterSetObservation,
                start_to_close_timeout=timedelta(seconds=self._s.tuning.observe_start_to_close_seconds),
                heartbeat_timeout=timedelta(seconds=self._s.tuning.step_heartbeat_timeout_seconds),
                retry_policy=RetryPolicy(maximum_attempts=2, maximum_interval=timedelta(seconds=5)),
                summary="observe topology",
            )
        except ActivityError as err:
            _, message = failure_of(err)
            last = self._s.last_observation
            base = last if last is not None else ClusterSetObservation(reachable=False, bootstrapped=False)
            obs = base.model_copy(
                update={"reachable": False, "error": message, "observed_at": workflow.now()}
            )
        self._s.last_observation = obs
        if obs.reachable and obs.gtid_executed_primary:
            self._s.last_seen_primary_gtid_executed = obs.gtid_executed_primary
        self._s.conditions = st.observation_conditions(self._s, now=workflow.now())
        self._publish_phase()
        await self._write_status()

    async def _write_status(self) -> None:
        """Patch the CR /status through the Kubernetes activity, only when something changed."""
        if self._s.spec is None:
            return
        desired = st.build_status(self._s, now=workflow.now())
        last = self._s.last_status
        if last is not None and last.model_dump(exclude={"last_observed_at"}) == desired.model_dump(
            exclude={"last_observed_at"}
        ):
            return
        try:
            await workflow.execute_activity(
                names.ACTIVITY_PATCH_STATUS,
                PatchStatusInput(clusterset=self._ref(), status=desired),
                start_to_close_timeout=timedelta(seconds=self._s.tuning.kube_start_to_close_seconds),
                retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10)),
                summary="write CR status",
            )
        except ActivityError as err:
            workflow.logger.warning("writing the CR status failed: %s", failure_of(err)[1])
            return
        self._s.last_status = desired

    async def _emit_event(self, *, type: str, reason: str, message: str, key: str) -> None:
        try:
            await workflow.execute_activity(
                names.ACTIVITY_EMIT_EVENT,
                EmitEventInput(
                    clusterset=self._ref(),
                    type="Warning" if type == "Warning" else "Normal",
                    reason=reason,
                    message=message,
                    key=key,
                ),
                start_to_close_timeout=timedelta(seconds=self._s.tuning.kube_start_to_close_seconds),
                retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10)),
                summary=f"event {reason}",
            )
        except ActivityError as err:
            workflow.logger.warning("emitting event %s failed: %s", reason, failure_of(err)[1])

    # ------------------------------------------------------------------------------------ operations

    def _should_preempt(self, running: OperationKind) -> bool:
        if running not in _PREEMPTIBLE:
            return False
        return any(i.kind in (IntentKind.FORCE_FAILOVER, IntentKind.DISSOLVE) for i in self._s.intents)

    def _reserve_operation_id(self, kind: OperationKind, target: str | None) -> tuple[int, str]:
        self._s.operation_count += 1
        number = self._s.operation_count
        parent = workflow.info().workflow_id
        return number, operation_workflow_id(parent_id=parent, kind=kind.value, target=target, number=number)

    async def _run_operation(self, planned: PlannedOperation) -> str:
        """Run one operation as a child workflow, handling preemption, failure and the aftermath."""
        s = self._s
        intent = planned.intent
        if intent is not None:
            s.intents = [i for i in s.intents if i is not intent]
        if planned.kind is OperationKind.DISSOLVE:
            if s.spec is not None and s.last_observation is None:
                await self._refresh()
            obs = s.last_observation
            if s.spec is None or (obs is not None and obs.reachable and not obs.bootstrapped):
                s.dissolved = True  # nothing was ever created, or it is gone already
                self._publish_phase()
                return ""
        if intent is not None and intent.operation_id:
            operation_id = intent.operation_id
        else:
            _, operation_id = self._reserve_operation_id(planned.kind, planned.target_cluster)
        spec = s.spec
        assert spec is not None
        record = OperationRecord(
            operation_id=operation_id,
            kind=planned.kind,
            target_cluster=planned.target_cluster,
            phase=OperationPhase.RUNNING,
            requested_by=planned.requested_by,
            reason=planned.reason,
            generation=None if intent is not None else s.generation,
            started_at=workflow.now(),
        )
        s.current_operation = record
        now = workflow.now()
        s.conditions = st.set_condition(
            s.conditions,
            type=st.RECONCILING,
            status="True",
            reason=planned.kind.value.capitalize(),
            message=f"{planned.kind.value} {planned.target_cluster or ''} ({operation_id})".strip(),
            now=now,
            generation=s.generation or None,
        )
        if planned.kind is OperationKind.DISSOLVE:
            s.conditions = st.set_condition(
                s.conditions,
                type=st.DISSOLVING,
                status="True",
                reason="Dissolving",
                message=f"dissolving, requested by {planned.requested_by}",
                now=now,
                generation=s.generation or None,
            )
        self._publish_phase()
        await self._write_status()
        request = OperationRequest(
            kind=planned.kind,
            clusterset=self._ref(),
            spec=self._spec_for(planned, spec),
            target_cluster=planned.target_cluster,
            force=planned.force,
            invalidate_clusters=list(planned.invalidate_clusters),
            operation_id=operation_id,
            context=self._context_for(planned),
        )
        handle = await workflow.start_child_workflow(
            names.OPERATION_WORKFLOW,
            OperationWorkflowInput(
                request=request, entity_workflow_id=workflow.info().workflow_id, tuning=s.tuning
            ),
            id=operation_id,
            result_type=OperationWorkflowResult,
            task_queue=workflow.info().task_queue,
            static_summary=f"{planned.kind.value} {planned.target_cluster or ''} of {s.namespace}/{s.name}",
            cancellation_type=workflow.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
        )
        self._cancel_requested = False
        while not handle.done():
            woken = await self._wait_or_refresh_interval(
                lambda: (
                    handle.done()
                    or self._progress_dirty
                    or (not self._cancel_requested and self._should_preempt(planned.kind))
                ),
                summary="status refresh during the operation",
            )
            if not woken:
                await self._refresh()
                continue
            if self._progress_dirty:
                self._progress_dirty = False
                await self._write_status()
            if not handle.done() and not self._cancel_requested and self._should_preempt(planned.kind):
                self._cancel_requested = True
                record.message = "preempted: cancelling"
                handle.cancel()
        result: OperationWorkflowResult | None = None
        error: BaseException | None = None
        try:
            result = await handle
        except (ChildWorkflowError, asyncio.CancelledError) as err:
            error = err
        cancelled = self._cancel_requested
        await self._finish_operation(planned, record, result=result, error=error, cancelled=cancelled)
        return operation_id

    def _context_for(self, planned: PlannedOperation) -> dict[str, str]:
        """What an operation needs from the workflow's memory: a forced failover computes the lost
        transactions against the last state seen of the old global primary."""
        last_seen = self._s.last_seen_primary_gtid_executed
        if planned.kind is OperationKind.FAILOVER and last_seen:
            return {LAST_SEEN_PRIMARY_GTIDS: last_seen}
        return {}

    def _spec_for(self, planned: PlannedOperation, spec: ClusterSetSpec) -> ClusterSetSpec:
        """The spec an operation works with: a removal still needs the removed cluster's endpoints,
        which the new spec no longer lists, so it is added back from the clusters earlier specs named."""
        target = planned.target_cluster
        if planned.kind is not OperationKind.REMOVE or target is None:
            return spec
        if (
            any(c.innodb_cluster_name == target for c in spec.clusters)
            or target not in self._s.known_clusters
        ):
            return spec
        return spec.model_copy(update={"clusters": [*spec.clusters, self._s.known_clusters[target]]})

    async def _finish_operation(
        self,
        planned: PlannedOperation,
        record: OperationRecord,
        *,
        result: OperationWorkflowResult | None,
        error: BaseException | None,
        cancelled: bool,
    ) -> None:
        s = self._s
        now = workflow.now()
        s.conditions = st.remove_condition(
            st.remove_condition(s.conditions, st.RECONCILING), st.CLONE_STALLED
        )
        record.finished_at = now
        key = operation_key(planned.kind, planned.target_cluster)
        title = f"{planned.kind.value} {planned.target_cluster or ''}".strip()
        if result is not None:
            record.phase = OperationPhase.SUCCEEDED
            record.outputs = dict(result.outputs)
            record.message = f"{title} succeeded"
            await self._after_success(planned, record, result)
        elif cancelled:
            record.phase = OperationPhase.CANCELLED
            record.message = f"{title} cancelled: preempted by a forced failover or a dissolve"
        else:
            assert error is not None
            error_type, message = failure_of(error)
            record.phase = OperationPhase.FAILED
            record.error_type = error_type
            hint = st.what_to_do(kind=planned.kind, error_type=error_type, target=planned.target_cluster)
            record.message = f"{message.rstrip('. ')}. To continue: {hint}"
            await self._after_failure(planned, record, key=key, error_type=error_type)
        s.current_operation = None
        s.history = [*s.history, record][-HISTORY_LIMIT:]
        self._publish_phase()
        await self._write_status()

    async def _after_success(
        self, planned: PlannedOperation, record: OperationRecord, result: OperationWorkflowResult
    ) -> None:
        s = self._s
        key = operation_key(planned.kind, planned.target_cluster)
        s.blocked = [b for b in s.blocked if b.key != key]
        if not any(b.generation == s.generation for b in s.blocked):
            s.conditions = st.remove_condition(s.conditions, st.OPERATION_FAILED)
        kind, target = planned.kind, planned.target_cluster
        if kind in (OperationKind.BOOTSTRAP, OperationKind.ADOPT):
            s.managed = True
        elif kind is OperationKind.GROW and target is not None:
            s.grown[target] = s.generation
        elif kind is OperationKind.FENCE:
            s.fence_pending = [c for c in s.fence_pending if c != target]
        elif kind is OperationKind.REJOIN and target is not None:
            s.rejoin_failed = [c for c in s.rejoin_failed if c != target]
            s.conditions = st.remove_condition(s.conditions, st.REJOIN_FAILED)
            if planned.intent is not None and planned.intent.source == "annotation":
                await self._kube_activity(
                    names.ACTIVITY_CLEAR_REJOIN_ANNOTATION,
                    ClearRejoinAnnotationInput(clusterset=self._ref(), cluster=target),
                    summary=f"remove the rejoin annotation ({target})",
                )
        elif kind is OperationKind.DISSOLVE:
            s.dissolved = True
        elif kind is OperationKind.FAILOVER and target is not None:
            await self._after_forced_failover(planned, record, result)
        type_, reason = _EVENT_ON_SUCCESS[kind]
        await self._emit_event(
            type=type_, reason=reason, message=record.message, key=f"{record.operation_id}/{reason}"
        )

    async def _after_forced_failover(
        self, planned: PlannedOperation, record: OperationRecord, result: OperationWorkflowResult
    ) -> None:
        """Fence the old primary when it comes back, report lost transactions, align spec.primaryCluster."""
        s = self._s
        target = planned.target_cluster
        assert target is not None and s.spec is not None
        obs = s.last_observation
        old_primary = result.outputs.get("old_primary") or (obs.primary_cluster if obs else None)
        if old_primary and old_primary != target and old_primary not in s.fence_pending:
            s.fence_pending.append(old_primary)
        s.lost_transactions = {"from_cluster": old_primary or "", "to_cluster": target, **result.outputs}
        # The CR will follow (align activity, then the watcher's ApplySpec); until then plan with the new
        # primary so nothing tries to switch back.
        s.spec = s.spec.model_copy(update={"primary_cluster": target})
        await self._kube_activity(
            names.ACTIVITY_ALIGN_PRIMARY,
            AlignPrimaryInput(
                clusterset=self._ref(),
                primary_cluster=target,
                requested_by=planned.requested_by,
                reason=planned.reason,
                operation_id=record.operation_id,
            ),
            summary=f"set spec.primaryCluster to {target}",
        )

    async def _after_failure(
        self, planned: PlannedOperation, record: OperationRecord, *, key: str, error_type: str
    ) -> None:
        s = self._s
        now = workflow.now()
        retryable = error_type not in NON_RETRYABLE_TYPES
        retry_at: datetime | None = None
        if retryable:
            retry_at = now + timedelta(seconds=s.tuning.blocked_retry_seconds)
        if planned.intent is None:
            s.blocked = [b for b in s.blocked if b.key != key] + [
                BlockedOperation(
                    key=key,
                    generation=s.generation,
                    retry_at=retry_at,
                    error_type=error_type,
                    message=record.message,
                )
            ]
        if planned.kind is OperationKind.REJOIN and planned.target_cluster is not None:
            if planned.intent is not None and planned.intent.source == "annotation":
                if planned.target_cluster not in s.rejoin_failed:
                    s.rejoin_failed.append(planned.target_cluster)
            s.conditions = st.set_condition(
                s.conditions,
                type=st.REJOIN_FAILED,
                status="True",
                reason=error_type,
                message=record.message,
                now=now,
                generation=s.generation or None,
            )
            reason = "ClusterSetMemberRejoinFailed"
        else:
            s.conditions = st.set_condition(
                s.conditions,
                type=st.OPERATION_FAILED,
                status="True",
                reason=error_type,
                message=f"{planned.kind.value} {planned.target_cluster or ''}: {record.message}",
                now=now,
                generation=s.generation or None,
            )
            reason = "ClusterSetOperationFailed"
        await self._emit_event(
            type="Warning", reason=reason, message=record.message, key=f"{record.operation_id}/{reason}"
        )

    async def _kube_activity(self, activity: str, arg: object, *, summary: str) -> None:
        try:
            await workflow.execute_activity(
                activity,
                arg,
                start_to_close_timeout=timedelta(seconds=self._s.tuning.kube_start_to_close_seconds),
                retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=30)),
                summary=summary,
            )
        except ActivityError as err:
            workflow.logger.warning("%s failed: %s", summary, failure_of(err)[1])

    # ------------------------------------------------------------------------------------ updates

    @workflow.update(name=names.UPDATE_APPLY_SPEC)
    def apply_spec(self, req: ApplySpecRequest) -> ApplySpecResult:
        """Record the CR's spec at a new generation; the main loop converges on it."""
        self._s.spec = req.spec
        self._s.generation = req.generation
        for cluster in req.spec.clusters:
            self._s.known_clusters[cluster.innodb_cluster_name] = cluster
        self._s.blocked = [b for b in self._s.blocked if b.generation >= req.generation]
        self._wake = True
        return ApplySpecResult(accepted_generation=req.generation)

    @apply_spec.validator
    def _validate_apply_spec(self, req: ApplySpecRequest) -> None:
        if req.uid != self._s.uid:
            raise _reject(f"uid {req.uid} is not this workflow's CR (uid {self._s.uid})", "UidMismatch")
        if req.generation <= self._s.generation:
            raise _reject(
                f"generation {req.generation} already seen (last accepted {self._s.generation})",
                "StaleGeneration",
            )
        if self._s.dissolve_requested_by is not None:
            raise _reject("the ClusterSet is being dissolved", "Dissolving")

    @workflow.update(name=names.UPDATE_DISSOLVE)
    def dissolve(self, req: DissolveRequest) -> DissolveResult:
        """Record the request to dissolve; repeated requests are accepted and retry a failed dissolve."""
        s = self._s
        running = s.current_operation is not None and s.current_operation.kind is OperationKind.DISSOLVE
        if not running and not any(i.kind is IntentKind.DISSOLVE for i in s.intents):
            s.intents.append(
                Intent(kind=IntentKind.DISSOLVE, requested_by=req.requested_by, accepted_at=workflow.now())
            )
            s.blocked = [b for b in s.blocked if not b.key.startswith(OperationKind.DISSOLVE.value)]
        if s.dissolve_requested_by is None:
            s.dissolve_requested_by = req.requested_by
        self._wake = True
        return DissolveResult(accepted=True)

    @dissolve.validator
    def _validate_dissolve(self, req: DissolveRequest) -> None:
        if req.uid != self._s.uid:
            raise _reject(f"uid {req.uid} is not this workflow's CR (uid {self._s.uid})", "UidMismatch")

    @workflow.update(name=names.UPDATE_FORCE_FAILOVER)
    def force_failover(self, req: ForceFailoverRequest) -> ForceFailoverResult:
        """Record an emergency failover; it preempts whatever operation is running."""
        _, operation_id = self._reserve_operation_id(OperationKind.FAILOVER, req.target_cluster)
        self._s.intents.append(
            Intent(
                kind=IntentKind.FORCE_FAILOVER,
                operation_id=operation_id,
                target_cluster=req.target_cluster,
                invalidate_clusters=list(req.invalidate_clusters),
                reason=req.reason,
                requested_by=req.requested_by,
                accepted_at=workflow.now(),
            )
        )
        self._wake = True
        return ForceFailoverResult(operation_id=operation_id)

    @force_failover.validator
    def _validate_force_failover(self, req: ForceFailoverRequest) -> None:
        spec = self._require_spec()
        names_ = [c.innodb_cluster_name for c in spec.clusters]
        if req.target_cluster not in names_:
            raise _reject(
                f"target_cluster {req.target_cluster!r} is not in spec.clusters {names_}", "UnknownCluster"
            )
        unknown = [c for c in req.invalidate_clusters if c not in names_]
        if unknown:
            raise _reject(f"invalidate_clusters names unknown clusters {unknown}", "UnknownCluster")
        if req.target_cluster in req.invalidate_clusters:
            raise _reject("target_cluster cannot also be in invalidate_clusters", "InvalidRequest")
        if not req.reason.strip():
            raise _reject("reason must say why the failover is forced", "InvalidRequest")
        if not req.requested_by.strip():
            raise _reject("requested_by must name who asks", "InvalidRequest")
        obs = self._s.last_observation
        if obs is not None and obs.reachable and obs.primary_cluster == req.target_cluster:
            raise _reject(f"{req.target_cluster} is already the primary cluster", "AlreadyPrimary")
        if any(i.kind is IntentKind.FORCE_FAILOVER for i in self._s.intents) or (
            self._s.current_operation is not None and self._s.current_operation.kind is OperationKind.FAILOVER
        ):
            raise _reject("a forced failover is already pending or running", "FailoverInProgress")

    @workflow.update(name=names.UPDATE_REJOIN)
    def rejoin(self, req: RejoinRequest) -> RejoinResult:
        """Record a rejoin request (CLI or annotation)."""
        s = self._s
        if req.source == "cli":
            s.rejoin_failed = [c for c in s.rejoin_failed if c != req.cluster]
            s.blocked = [b for b in s.blocked if b.key != operation_key(OperationKind.REJOIN, req.cluster)]
        _, operation_id = self._reserve_operation_id(OperationKind.REJOIN, req.cluster)
        s.intents.append(
            Intent(
                kind=IntentKind.REJOIN,
                operation_id=operation_id,
                target_cluster=req.cluster,
                requested_by=req.requested_by,
                source=req.source,
                accepted_at=workflow.now(),
            )
        )
        self._wake = True
        return RejoinResult(operation_id=operation_id)

    @rejoin.validator
    def _validate_rejoin(self, req: RejoinRequest) -> None:
        spec = self._require_spec()
        names_ = [c.innodb_cluster_name for c in spec.clusters]
        if req.cluster not in names_:
            raise _reject(f"cluster {req.cluster!r} is not in spec.clusters {names_}", "UnknownCluster")
        obs = self._s.last_observation
        primary = obs.primary_cluster if obs is not None and obs.primary_cluster else spec.primary_cluster
        if req.cluster == primary:
            raise _reject(f"{req.cluster} is the primary cluster; only replicas rejoin", "ClusterIsPrimary")
        if req.source == "annotation" and req.cluster in self._s.rejoin_failed:
            raise _reject(
                f"the last rejoin of {req.cluster} requested by annotation failed; fix the cause and run "
                "`csctl rejoin`, or remove the annotation",
                "RejoinAlreadyFailed",
            )
        pending = any(
            i.kind is IntentKind.REJOIN and i.target_cluster == req.cluster for i in self._s.intents
        )
        cur = self._s.current_operation
        if pending or (
            cur is not None and cur.kind is OperationKind.REJOIN and cur.target_cluster == req.cluster
        ):
            raise _reject(f"a rejoin of {req.cluster} is already pending or running", "RejoinInProgress")

    def _require_spec(self) -> ClusterSetSpec:
        if self._s.dissolve_requested_by is not None:
            raise _reject("the ClusterSet is being dissolved", "Dissolving")
        if self._s.spec is None:
            raise _reject("no spec accepted yet: the watcher has not sent the CR", "NoSpec")
        return self._s.spec

    # ------------------------------------------------------------------------------------ signals, queries

    @workflow.signal(name=names.SIGNAL_OPERATION_PROGRESS)
    def operation_progress(self, report: OperationProgressReport) -> None:
        """Progress of a long step (sent by the clone activity); a stall raises CloneStalled."""
        op = self._s.current_operation
        if op is None or op.operation_id != report.operation_id:
            return
        op.progress = report.progress
        op.current_step = report.step
        if report.stalled != op.stalled:
            op.stalled = report.stalled
            if report.stalled:
                self._s.conditions = st.set_condition(
                    self._s.conditions,
                    type=st.CLONE_STALLED,
                    status="True",
                    reason="NoCloneProgress",
                    message=(
                        f"no CLONE progress on {report.progress.recipient} for {report.stalled_for_seconds}s "
                        f"(stage {report.progress.stage or '?'}, {report.progress.percent:.1f}%); "
                        "the join goes on: check the donor, the recipient and the link between them"
                    ),
                    now=workflow.now(),
                    generation=self._s.generation or None,
                )
            else:
                self._s.conditions = st.remove_condition(self._s.conditions, st.CLONE_STALLED)
        self._progress_dirty = True

    @workflow.query(name=names.QUERY_STATUS)
    def status(self) -> ClusterSetView:
        """The workflow's view: phase, generations, current operation and history, last observation."""
        s = self._s
        return ClusterSetView(
            namespace=s.namespace,
            name=s.name,
            uid=s.uid,
            phase=s.phase,
            generation=s.generation,
            observed_generation=s.observed_generation,
            primary_cluster=s.spec.primary_cluster if s.spec else None,
            spec=s.spec,
            managed=s.managed,
            current_operation=s.current_operation,
            operation_history=list(s.history),
            last_observation=s.last_observation,
            conditions=list(s.conditions),
            blocked=list(s.blocked),
            pending_intents=list(s.intents),
            dissolved=s.dissolved,
        )

    @workflow.query(name=names.QUERY_OPERATION_HISTORY)
    def operation_history(self) -> OperationHistoryView:
        """The operations run so far (the last few), the one running, and the requests waiting."""
        s = self._s
        return OperationHistoryView(
            namespace=s.namespace,
            name=s.name,
            operation_count=s.operation_count,
            current_operation=s.current_operation,
            operations=list(s.history),
            pending_intents=list(s.intents),
        )
