"""The contract between the ClusterSet operations (activities/) and the workflows that run them.

An *operation* (bootstrap, join, switchover, ...) is an ordered list of named *steps*. Each step first
runs a read-only probe that says whether its effect is already there, and acts only when it is not, so
the workflow can run any step again after a crash. The workflow asks for the plan, then runs the steps
one by one as activities; what a step learns that later steps need (a clone's start time, the last GTID
set seen on an old primary) comes back in `StepResult.outputs` and is passed to later steps in
`OperationRequest.context`. Nothing here may hold a secret: credentials are named by
`spec.credentials_secret` and read inside the activity.

Every model is a single pydantic input or output, so fields can be added with defaults without breaking
recorded histories.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from api.models import ClusterSetSpec, ClusterStatus


class ContractModel(BaseModel):
    """Base of contract models: unknown fields are ignored so older workers can read newer payloads."""

    model_config = ConfigDict(extra="ignore")


class OperationKind(StrEnum):
    """The operations the workflow can run; values appear in workflow ids and the UI."""

    BOOTSTRAP = "bootstrap"  # createClusterSet on spec.primaryCluster
    ADOPT = "adopt"  # take over an existing ClusterSet from its metadata, changing nothing
    JOIN = "join"  # createReplicaCluster
    GROW = "grow"  # add a replica site's further instances (manageMembers)
    SWITCHOVER = "switchover"  # setPrimaryCluster
    FAILOVER = "failover"  # forcePrimaryCluster
    FENCE = "fence"  # fence an invalidated old primary that is reachable again
    REJOIN = "rejoin"  # rejoinCluster (with rebootClusterFromCompleteOutage when the group is down)
    REMOVE = "remove"  # removeCluster
    DISSOLVE = "dissolve"  # remove every replica, then dissolve on the primary


class ClusterSetRef(ContractModel):
    """Which CR an operation belongs to."""

    namespace: str
    name: str
    uid: str


class OperationRequest(ContractModel):
    """Input of plan and step activities."""

    kind: OperationKind
    clusterset: ClusterSetRef
    spec: ClusterSetSpec
    target_cluster: str | None = None  # the cluster joined, removed, rejoined, promoted, fenced
    force: bool = False  # removeCluster force / forced failover already authorised
    # forcePrimaryCluster's invalidateReplicaClusters
    invalidate_clusters: list[str] = Field(default_factory=list)
    context: dict[str, str] = Field(default_factory=dict)  # outputs of earlier steps of this operation
    operation_id: str = ""  # the child workflow id; recorded in server-side state where useful


class StepPlan(ContractModel):
    """One step of a plan: what it does and whether its probe says it is already done."""

    name: str  # stable machine name, e.g. "clone", "start_channel"
    summary: str  # one line for the Temporal UI, e.g. "CLONE dc2-0 from dc1-1 (127.0.1.2:3306)"
    done: bool = False
    long_running: bool = False  # heartbeating step (CLONE); the workflow gives it no fixed timeout


class OperationPlan(ContractModel):
    """Output of the plan activity; also the dry-run answer."""

    kind: OperationKind
    target_cluster: str | None = None
    steps: list[StepPlan]


class StepInput(ContractModel):
    """Input of the step activity."""

    request: OperationRequest
    step: str


class StepResult(ContractModel):
    """Output of the step activity."""

    step: str
    already_done: bool  # the probe found the effect in place; nothing was changed
    message: str = ""
    outputs: dict[str, str] = Field(default_factory=dict)  # merged into OperationRequest.context


class CloneStage(StrEnum):
    """performance_schema.clone_progress stages, in order."""

    DROP_DATA = "DROP DATA"
    FILE_COPY = "FILE COPY"
    PAGE_COPY = "PAGE COPY"
    REDO_COPY = "REDO COPY"
    FILE_SYNC = "FILE SYNC"
    RESTART = "RESTART"
    RECOVERY = "RECOVERY"


class CloneProgress(ContractModel):
    """Heartbeat of a CLONE step; also shown in the CR's status.operation.progress."""

    recipient: str  # host:port
    donor: str  # host:port
    stage: str | None = None
    state: str | None = None  # clone_status.STATE: Not Started | In Progress | Completed | Failed
    percent: float = 0.0
    bytes_done: int = 0
    bytes_total: int = 0
    started_at: datetime | None = None  # clone_status.BEGIN_TIME of the clone being followed
    estimated_end: datetime | None = None
    observed_at: datetime | None = None


class ObserveInput(ContractModel):
    """Input of the status activity."""

    clusterset: ClusterSetRef
    spec: ClusterSetSpec


class ClusterSetObservation(ContractModel):
    """What one status round saw (AdminAPI clusterSet.status({extended: 1}) in our words)."""

    reachable: bool  # the primary cluster answered
    bootstrapped: bool  # a ClusterSet exists in the metadata
    domain_name: str | None = None
    primary_cluster: str | None = None
    primary_endpoint: str | None = None  # host:port of the global primary
    global_status: str = "UNKNOWN"  # HEALTHY | AVAILABLE | UNAVAILABLE | UNKNOWN
    clusters: dict[str, ClusterStatus] = Field(default_factory=dict)  # members of the ClusterSet
    gtid_executed_primary: str | None = None  # last state seen of the global primary
    error: str | None = None  # why the observation is partial
    observed_at: datetime | None = None
