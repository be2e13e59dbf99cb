"""Inputs, outputs and durable state of the ClusterSet workflows (pinned contract with watcher and CLI).

Every update, query, workflow and child workflow takes one model and returns one model, so fields can be
added with defaults without breaking recorded histories. The whole durable state of an entity workflow is
one `ClusterSetState`, carried over continue-as-new. Nothing here may hold a secret: the spec names its
credentials Secret, it never contains a password.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from activities.models import (
    CloneProgress,
    ClusterSetObservation,
    OperationKind,
    OperationRequest,
)
from api.models import ClusterSetSpec, ClusterSetStatus, ClusterSpec, Condition

HISTORY_LIMIT = 20  # operation records kept in state (older ones live in Temporal's history)


class WorkflowModel(BaseModel):
    """Base of workflow models: unknown fields are ignored so older workers can read newer payloads."""

    model_config = ConfigDict(extra="ignore")


class ClusterSetPhase(StrEnum):
    """What the entity workflow is doing; also the ClusterSetPhase search attribute."""

    PENDING = "Pending"  # started, no spec accepted yet
    RECONCILING = "Reconciling"  # an operation is running
    READY = "Ready"  # the observed topology matches the spec and is healthy
    DEGRADED = "Degraded"  # matches the spec as far as possible, but not healthy / not reachable
    BLOCKED = "Blocked"  # an operation failed for good; waiting for a spec edit or a CLI command
    DISSOLVING = "Dissolving"
    DISSOLVED = "Dissolved"


class OperationPhase(StrEnum):
    """Life cycle of one operation (also CR status.operation.phase)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


# ------------------------------------------------------------------------------------------ updates


class ApplySpecRequest(WorkflowModel):
    """Update "ApplySpec" from the watcher: the CR's spec at `generation`."""

    uid: str
    generation: int
    spec: ClusterSetSpec
    namespace: str
    name: str


class ApplySpecResult(WorkflowModel):
    accepted_generation: int


class DissolveRequest(WorkflowModel):
    """Update "Dissolve": the CR is being deleted; dissolve the ClusterSet, then complete."""

    uid: str
    requested_by: str = "watcher"


class DissolveResult(WorkflowModel):
    accepted: bool


class ForceFailoverRequest(WorkflowModel):
    """Update "ForceFailover" from `csctl failover --force`: promote `target_cluster` now."""

    target_cluster: str
    invalidate_clusters: list[str] = Field(default_factory=list)
    reason: str
    requested_by: str


class ForceFailoverResult(WorkflowModel):
    operation_id: str


class RejoinRequest(WorkflowModel):
    """Update "Rejoin" from `csctl rejoin` (source "cli") or the rejoin annotation (source "annotation")."""

    cluster: str
    requested_by: str
    source: Literal["cli", "annotation"] = "cli"


class RejoinResult(WorkflowModel):
    operation_id: str


# ------------------------------------------------------------------------------------------ signals


class OperationProgressReport(WorkflowModel):
    """Signal "OperationProgress" from the clone activity: progress of a long step, stalled or not."""

    operation_id: str
    step: str
    progress: CloneProgress
    stalled: bool = False
    stalled_for_seconds: int = 0


# ------------------------------------------------------------------------------------------ state


class IntentKind(StrEnum):
    """Requests recorded by update handlers and acted on by the main loop."""

    FORCE_FAILOVER = "force_failover"
    REJOIN = "rejoin"
    DISSOLVE = "dissolve"


class Intent(WorkflowModel):
    """One accepted request that the main loop has not finished acting on."""

    kind: IntentKind
    operation_id: str = ""  # child workflow id reserved at acceptance (empty for dissolve)
    operation_number: int = 0
    target_cluster: str | None = None
    invalidate_clusters: list[str] = Field(default_factory=list)
    reason: str = ""
    requested_by: str = ""
    source: str = "cli"
    accepted_at: datetime | None = None


class OperationRecord(WorkflowModel):
    """One operation, running or finished; the Status query's history and CR status.operation."""

    operation_id: str
    kind: OperationKind
    target_cluster: str | None = None
    phase: OperationPhase = OperationPhase.PENDING
    requested_by: str = ""
    reason: str = ""
    generation: int | None = None  # the spec generation that asked for it (None: a CLI command)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    current_step: str | None = None
    message: str = ""
    error_type: str | None = None  # the typed error's class name when it failed
    progress: CloneProgress | None = None
    stalled: bool = False
    outputs: dict[str, str] = Field(default_factory=dict)


class BlockedOperation(WorkflowModel):
    """An operation that failed for good at `generation`: not planned again until the spec changes."""

    key: str  # "<kind>/<target>"
    generation: int
    retry_at: datetime | None = None  # set for retryable failures: planned again from then on
    error_type: str | None = None
    message: str = ""


class WorkflowTuning(WorkflowModel):
    """Timeouts of the workflows; production defaults, shortened by tests (never by the watcher)."""

    step_start_to_close_seconds: int = 900
    step_heartbeat_timeout_seconds: int = 30
    step_maximum_attempts: int = 10
    clone_heartbeat_timeout_seconds: int = 120
    clone_start_to_close_seconds: int = 14 * 24 * 3600  # progress is the liveness signal, not this
    clone_maximum_attempts: int = 50
    retry_maximum_interval_seconds: int = 30
    observe_start_to_close_seconds: int = 60
    kube_start_to_close_seconds: int = 30
    blocked_retry_seconds: int = 300  # a retryable failure is planned again after this long
    max_history_events: int = 10_000  # continue-as-new earlier than the server's suggestion
    idle_timeout_seconds: int = 3600  # wake-up interval while there is no spec


class ClusterSetState(WorkflowModel):
    """The whole durable state of one entity workflow; the continue-as-new input."""

    namespace: str
    name: str
    uid: str
    spec: ClusterSetSpec | None = None
    generation: int = 0  # last accepted ApplySpec generation
    observed_generation: int | None = None  # last generation whose spec was fully acted on
    phase: ClusterSetPhase = ClusterSetPhase.PENDING
    intents: list[Intent] = Field(default_factory=list)
    operation_count: int = 0
    current_operation: OperationRecord | None = None
    history: list[OperationRecord] = Field(default_factory=list)
    last_observation: ClusterSetObservation | None = None
    conditions: list[Condition] = Field(default_factory=list)
    last_status: ClusterSetStatus | None = None  # what was last written to the CR
    lost_transactions: dict[str, str] = Field(default_factory=dict)  # outputs of the last forced failover
    last_seen_primary_gtid_executed: str | None = None  # newest gtid_executed of the global primary seen
    blocked: list[BlockedOperation] = Field(default_factory=list)
    rejoin_failed: list[str] = Field(default_factory=list)  # clusters whose last annotation rejoin failed
    managed: bool = False  # bootstrapped or adopted by this workflow
    known_clusters: dict[str, ClusterSpec] = Field(default_factory=dict)  # every cluster any spec named
    fence_pending: list[str] = Field(default_factory=list)  # invalidated old primaries to fence when seen
    grown: dict[str, int] = Field(default_factory=dict)  # cluster -> generation its members were grown at
    dissolve_requested_by: str | None = None
    dissolved: bool = False
    tuning: WorkflowTuning = Field(default_factory=lambda: WorkflowTuning())


class ClusterSetWorkflowInput(WorkflowModel):
    """Input of the "ClusterSet" workflow; `state` is set only by continue-as-new."""

    namespace: str
    name: str
    uid: str
    state: ClusterSetState | None = None
    tuning: WorkflowTuning | None = None


class ClusterSetWorkflowResult(WorkflowModel):
    """Result of the "ClusterSet" workflow: it completes only after dissolving."""

    dissolved: bool
    operation_id: str | None = None
    message: str = ""


class ClusterSetView(WorkflowModel):
    """Answer of the "Status" query."""

    namespace: str
    name: str
    uid: str
    phase: ClusterSetPhase
    generation: int
    observed_generation: int | None
    primary_cluster: str | None = None  # spec.primaryCluster last accepted
    spec: ClusterSetSpec | None = None
    managed: bool = False
    current_operation: OperationRecord | None = None
    operation_history: list[OperationRecord] = Field(default_factory=list)
    last_observation: ClusterSetObservation | None = None
    conditions: list[Condition] = Field(default_factory=list)
    blocked: list[BlockedOperation] = Field(default_factory=list)
    pending_intents: list[Intent] = Field(default_factory=list)
    dissolved: bool = False


class OperationHistoryView(WorkflowModel):
    """Answer of the "OperationHistory" query: what the workflow ran, newest last.

    The workflow keeps the last `HISTORY_LIMIT` records in its state (they travel through continue-as-new);
    every operation also stays in Temporal as its own child workflow, under `operation_id`."""

    namespace: str
    name: str
    operation_count: int  # operation ids reserved so far, the number in every operation id
    current_operation: OperationRecord | None = None
    operations: list[OperationRecord] = Field(default_factory=list)
    pending_intents: list[Intent] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------ operations


class OperationWorkflowInput(WorkflowModel):
    """Input of the "ClusterSetOperation" child workflow."""

    request: OperationRequest
    entity_workflow_id: str
    tuning: WorkflowTuning = Field(default_factory=lambda: WorkflowTuning())


class StepOutcome(WorkflowModel):
    step: str
    already_done: bool
    message: str = ""


class OperationWorkflowResult(WorkflowModel):
    """Result of a successful operation child workflow (a failed one raises an ApplicationError)."""

    operation_id: str
    kind: OperationKind
    target_cluster: str | None = None
    steps: list[StepOutcome] = Field(default_factory=list)
    outputs: dict[str, str] = Field(default_factory=dict)
