"""The CR status the workflow publishes, and the conditions and hints that go into it (pure functions).

Condition types (metav1.Condition, Percona's names where Percona has one):

- ``Ready``: True ``ClusterSetHealthy`` / False ``ClusterSetNotHealthy`` / Unknown ``PrimaryUnreachable``;
- ``ClusterSetBootstrapped``: True once a ClusterSet exists;
- ``Reconciling``: True while an operation runs (its message names it);
- ``OperationFailed``: True after an operation failed for good; the message says what to do;
- ``RejoinFailed``: True after a rejoin failed (the annotation is kept; see the contract);
- ``CloneStalled``: True while a CLONE shows no progress for spec.cloneOptions.stallTimeoutSeconds;
- ``ClusterSetDissolving``: True while dissolving.
"""

from __future__ import annotations

from datetime import datetime

from activities.models import OperationKind
from api.models import (
    ClusterSetStatus,
    Condition,
    LostTransactions,
    OperationProgress,
    OperationStatus,
)
from workflows.models import ClusterSetPhase, ClusterSetState, OperationPhase, OperationRecord

READY = "Ready"
BOOTSTRAPPED = "ClusterSetBootstrapped"
RECONCILING = "Reconciling"
OPERATION_FAILED = "OperationFailed"
REJOIN_FAILED = "RejoinFailed"
CLONE_STALLED = "CloneStalled"
DISSOLVING = "ClusterSetDissolving"

_HINTS: dict[str, str] = {
    "AccessDenied": "check the user and password in the Secret named by spec.credentialsSecret",
    "MissingPrivilege": "grant the clusterset user the privileges listed in the docs, then edit the spec",
    "GtidModeOff": "set gtid_mode=ON and enforce_gtid_consistency=ON on the instance",
    "ClonePluginMissing": "INSTALL PLUGIN clone on donor and recipient, or use recoveryMethod incremental",
    "DivergedGtids": "the cluster has errant transactions: inspect them, then rebuild the cluster or remove "
    "it from spec.clusters",
    "PurgedTransactions": "the primary purged binary logs the replica needs: use recoveryMethod clone",
    "ReplicaNotEmpty": "the joining instance holds data: use recoveryMethod clone or empty it",
    "NotStandalone": "the joining instance already belongs to a group: dissolve it first",
    "IncompatibleVersion": "replicate only to the same or the next release series",
    "InvalidTopology": "the metadata and the live topology disagree: check `csctl status` and the servers",
    "CloneFailed": "see the clone error in the message; fix the recipient, then edit the spec to retry",
}


def what_to_do(*, kind: OperationKind, error_type: str | None, target: str | None) -> str:
    """One sentence telling a human how to get going again after `kind` failed with `error_type`."""
    hint = _HINTS.get(error_type or "", "fix the cause named above")
    if kind is OperationKind.REJOIN:
        retry = f"then run `csctl rejoin <namespace>/<name> {target or ''}`".rstrip()
    elif kind is OperationKind.FAILOVER:
        retry = "then run `csctl failover --force ...` again"
    else:
        retry = "then edit the CR (any change of the spec retries the operation)"
    return f"{hint}; {retry}."


def set_condition(
    conditions: list[Condition],
    *,
    type: str,
    status: str,
    reason: str,
    message: str = "",
    now: datetime,
    generation: int | None,
) -> list[Condition]:
    """`conditions` with `type` set; lastTransitionTime moves only when the status changes."""
    out: list[Condition] = []
    found = False
    for cond in conditions:
        if cond.type != type:
            out.append(cond)
            continue
        found = True
        changed = cond.status != status
        out.append(
            Condition(
                type=type,
                status=status,
                reason=reason,
                message=message,
                last_transition_time=now if changed else cond.last_transition_time,
                observed_generation=generation,
            )
        )
    if not found:
        out.append(
            Condition(
                type=type,
                status=status,
                reason=reason,
                message=message,
                last_transition_time=now,
                observed_generation=generation,
            )
        )
    return out


def remove_condition(conditions: list[Condition], type: str) -> list[Condition]:
    return [c for c in conditions if c.type != type]


def observation_conditions(state: ClusterSetState, *, now: datetime) -> list[Condition]:
    """Ready and ClusterSetBootstrapped from the last observation."""
    conditions = state.conditions
    obs = state.last_observation
    if obs is None:
        return conditions
    gen = state.generation or None
    if not obs.reachable:
        conditions = set_condition(
            conditions,
            type=READY,
            status="Unknown",
            reason="PrimaryUnreachable",
            message=obs.error or "no reachable endpoint for the primary cluster",
            now=now,
            generation=gen,
        )
        return conditions
    healthy = obs.global_status == "HEALTHY"
    conditions = set_condition(
        conditions,
        type=READY,
        status="True" if healthy else "False",
        reason="ClusterSetHealthy" if healthy else "ClusterSetNotHealthy",
        message=f"globalStatus {obs.global_status}",
        now=now,
        generation=gen,
    )
    if obs.bootstrapped:
        conditions = set_condition(
            conditions,
            type=BOOTSTRAPPED,
            status="True",
            reason="ClusterSetBootstrapped",
            message=f"domain {obs.domain_name or '?'}",
            now=now,
            generation=gen,
        )
    return conditions


def phase_of(state: ClusterSetState, *, now: datetime) -> ClusterSetPhase:
    """The phase shown in the search attribute and the Status query."""
    if state.dissolved:
        return ClusterSetPhase.DISSOLVED
    if state.dissolve_requested_by is not None:
        return ClusterSetPhase.DISSOLVING
    if state.current_operation is not None:
        return ClusterSetPhase.RECONCILING
    if state.spec is None:
        return ClusterSetPhase.PENDING
    for blocked in state.blocked:
        if blocked.generation == state.generation and blocked.retry_at is None:
            return ClusterSetPhase.BLOCKED
    obs = state.last_observation
    if (
        obs is not None
        and obs.reachable
        and obs.global_status == "HEALTHY"
        and state.observed_generation == state.generation
    ):
        return ClusterSetPhase.READY
    return ClusterSetPhase.DEGRADED


def _operation_status(record: OperationRecord) -> OperationStatus:
    progress = None
    if record.progress is not None:
        progress = OperationProgress(
            stage=record.progress.stage,
            percent=record.progress.percent,
            bytes_done=record.progress.bytes_done,
            bytes_total=record.progress.bytes_total,
            estimated_end=record.progress.estimated_end,
        )
    target = f" {record.target_cluster}" if record.target_cluster else ""
    return OperationStatus(
        type=f"{record.kind.value}{target}",
        phase=record.phase.value,
        workflow_id=record.operation_id,
        started_at=record.started_at,
        finished_at=record.finished_at,
        message=record.message or None,
        progress=progress,
    )


def build_status(state: ClusterSetState, *, now: datetime) -> ClusterSetStatus:
    """The CR status for `state` (lastObservedAt is `now`; the writer ignores it when comparing)."""
    obs = state.last_observation
    record = state.current_operation or (state.history[-1] if state.history else None)
    lost = None
    if state.lost_transactions.get("lost_gtid_set"):
        lt = state.lost_transactions
        try:
            count = int(lt.get("lost_count", "0"))
        except ValueError:
            count = 0
        lost = LostTransactions(
            from_cluster=lt.get("from_cluster", ""),
            to_cluster=lt.get("to_cluster", ""),
            gtid_set=lt["lost_gtid_set"],
            count=count,
        )
    return ClusterSetStatus(
        primary_cluster=(obs.primary_cluster or "") if obs else "",
        primary_cluster_endpoint=(obs.primary_endpoint or "") if obs else "",
        global_status=obs.global_status if obs and obs.reachable else ("UNKNOWN" if obs else None),
        clusters=dict(obs.clusters) if obs else {},
        conditions=list(state.conditions),
        last_observed_generation=state.observed_generation,
        last_observed_at=obs.observed_at if obs and obs.observed_at else now,
        observed_generation=state.observed_generation,
        operation=_operation_status(record) if record is not None else None,
        lost_transactions=lost,
    )


def operation_finished_phase(*, cancelled: bool, failed: bool) -> OperationPhase:
    if cancelled:
        return OperationPhase.CANCELLED
    return OperationPhase.FAILED if failed else OperationPhase.SUCCEEDED
