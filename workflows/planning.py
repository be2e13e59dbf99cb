"""Which operation comes next: the desired spec compared with the observed topology (pure, deterministic).

Classify first, then act: this module only decides. Requests recorded by update handlers (intents) come
first, a forced failover before anything else; then the spec is compared with the last observation, in
an order where each operation makes the next one possible:

    bootstrap | adopt  →  fence  →  join  →  switchover  →  remove  →  rejoin (automatic)  →  grow

An operation that failed for good is *blocked* for the spec generation it failed at, so the workflow does
not repeat it forever; a new spec generation (any edit of the CR) or a CLI command lifts the block. A
retryable failure is planned again after `tuning.blocked_retry_seconds`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from activities.models import ClusterSetObservation, OperationKind
from api.models import AutomaticRejoin
from workflows.models import ClusterSetState, Intent, IntentKind, WorkflowModel

# Per-cluster global statuses that the automatic rejoin repairs.
REJOINABLE_STATUSES = ("INVALIDATED", "OK_NOT_REPLICATING")
# A switchover target must be a replica in one of these states.
SWITCHOVER_READY_STATUSES = ("OK", "OK_NOT_CONSISTENT", "OK_MISCONFIGURED")


class PlannedOperation(WorkflowModel):
    """What the main loop should run next."""

    kind: OperationKind
    target_cluster: str | None = None
    force: bool = False
    invalidate_clusters: list[str] = Field(default_factory=list)
    requested_by: str = ""
    reason: str = ""
    intent: Intent | None = None  # set when the operation acts on an accepted request

    @property
    def key(self) -> str:
        return operation_key(self.kind, self.target_cluster)


def operation_key(kind: OperationKind, target: str | None) -> str:
    """The identity of an operation for blocking: ``"<kind>/<target>"``."""
    return f"{kind.value}/{target or '-'}"


def is_blocked(state: ClusterSetState, key: str, *, now: datetime) -> bool:
    """True when `key` failed at the current generation and may not run yet."""
    for blocked in state.blocked:
        if blocked.key != key or blocked.generation != state.generation:
            continue
        if blocked.retry_at is None or now < blocked.retry_at:
            return True
    return False


def _from_intent(intent: Intent) -> PlannedOperation:
    if intent.kind is IntentKind.FORCE_FAILOVER:
        return PlannedOperation(
            kind=OperationKind.FAILOVER,
            target_cluster=intent.target_cluster,
            force=True,
            invalidate_clusters=list(intent.invalidate_clusters),
            requested_by=intent.requested_by,
            reason=intent.reason,
            intent=intent,
        )
    if intent.kind is IntentKind.REJOIN:
        return PlannedOperation(
            kind=OperationKind.REJOIN,
            target_cluster=intent.target_cluster,
            requested_by=intent.requested_by,
            reason=f"requested through {intent.source}",
            intent=intent,
        )
    return PlannedOperation(
        kind=OperationKind.DISSOLVE, requested_by=intent.requested_by, reason="CR deleted", intent=intent
    )


def next_intent(state: ClusterSetState) -> Intent | None:
    """The accepted request to act on next: a forced failover first, then in order of acceptance."""
    for intent in state.intents:
        if intent.kind is IntentKind.FORCE_FAILOVER:
            return intent
    return state.intents[0] if state.intents else None


def next_operation(state: ClusterSetState, *, now: datetime) -> PlannedOperation | None:
    """The next operation to run, or None when the ClusterSet is where the spec wants it."""
    intent = next_intent(state)
    if intent is not None:
        return _from_intent(intent)
    if state.spec is None or state.last_observation is None or state.dissolve_requested_by is not None:
        return None
    for planned in _spec_operations(state, state.last_observation):
        if not is_blocked(state, planned.key, now=now):
            return planned
    return None


def _spec_operations(state: ClusterSetState, obs: ClusterSetObservation) -> list[PlannedOperation]:
    """Every operation the spec asks for, in the order they should run."""
    spec = state.spec
    assert spec is not None
    if not obs.reachable:
        return []  # nothing can be changed without the primary; a forced failover is a human decision
    by = f"spec generation {state.generation}"
    if not obs.bootstrapped:
        return [
            PlannedOperation(
                kind=OperationKind.BOOTSTRAP, target_cluster=spec.primary_cluster, requested_by=by
            )
        ]
    if not state.managed:
        return [
            PlannedOperation(kind=OperationKind.ADOPT, target_cluster=obs.primary_cluster, requested_by=by)
        ]
    wanted: list[PlannedOperation] = []
    names = [c.innodb_cluster_name for c in spec.clusters]
    for cluster in state.fence_pending:
        if cluster in obs.clusters:
            wanted.append(PlannedOperation(kind=OperationKind.FENCE, target_cluster=cluster, requested_by=by))
    for cluster in names:
        if cluster not in obs.clusters:
            wanted.append(PlannedOperation(kind=OperationKind.JOIN, target_cluster=cluster, requested_by=by))
    target = obs.clusters.get(spec.primary_cluster)
    if (
        obs.primary_cluster is not None
        and obs.primary_cluster != spec.primary_cluster
        and target is not None
        and target.global_status in SWITCHOVER_READY_STATUSES
    ):
        wanted.append(
            PlannedOperation(
                kind=OperationKind.SWITCHOVER, target_cluster=spec.primary_cluster, requested_by=by
            )
        )
    for cluster in sorted(obs.clusters):
        if cluster not in names and cluster != obs.primary_cluster:
            wanted.append(
                PlannedOperation(kind=OperationKind.REMOVE, target_cluster=cluster, requested_by=by)
            )
    if spec.automatic_rejoin is AutomaticRejoin.WHEN_CONSISTENT:
        for cluster in names:
            member = obs.clusters.get(cluster)
            if (
                member is not None
                and cluster != obs.primary_cluster
                and cluster not in state.fence_pending
                and member.global_status in REJOINABLE_STATUSES
            ):
                wanted.append(
                    PlannedOperation(
                        kind=OperationKind.REJOIN,
                        target_cluster=cluster,
                        requested_by=by,
                        reason="spec.automaticRejoin is whenConsistent",
                    )
                )
    for c in spec.clusters:
        name = c.innodb_cluster_name
        if c.manage_members and len(c.endpoints) > 1 and name in obs.clusters:
            if state.grown.get(name) != state.generation:
                wanted.append(PlannedOperation(kind=OperationKind.GROW, target_cluster=name, requested_by=by))
    return wanted
