"""Settings of the watcher, and the names it shares with Kubernetes users (finalizer, annotations).

Timeouts follow the list-then-watch discipline of temporal-patterns.md §3.4: a server-side
`timeoutSeconds` ends each watch request cleanly (the watch is resumed from the last resourceVersion),
and a client-side read timeout (`inactivity_timeout`) catches a stream that went silent without closing;
the API server sends a BOOKMARK at least about once a minute, so silence longer than that is a stall,
and a stall is answered with a fresh list.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from api.models import ANNOTATION_REJOIN, FINALIZER_DISSOLVE
from workflows import TASK_QUEUE
from workflows.models import WorkflowTuning

# Set to "true" on a CR to keep the watcher from adding the dissolve finalizer (Percona's behaviour:
# then deleting the CR does not dissolve the ClusterSet, and its workflow is left running).
ANNOTATION_SKIP_FINALIZER = "percona.com/clusterset-skip-finalizer"
# The one status condition the watcher itself writes: the spec failed validation, nothing was started.
CONDITION_INVALID_SPEC = "InvalidSpec"

__all__ = [
    "ANNOTATION_REJOIN",
    "ANNOTATION_SKIP_FINALIZER",
    "CONDITION_INVALID_SPEC",
    "FINALIZER_DISSOLVE",
    "LeaderElection",
    "WatcherSettings",
    "default_identity",
]


def default_identity() -> str:
    """`<hostname>-<pid>`: who sent an update or holds the Lease (the pod name in a Deployment)."""
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, kw_only=True)
class LeaderElection:
    """Lease-based leader election (coordination.k8s.io/v1) for several watcher replicas."""

    lease_name: str = "clusterset-watcher"
    lease_namespace: str = "default"
    lease_duration_seconds: float = 15.0
    renew_interval_seconds: float = 5.0


@dataclass(frozen=True, kw_only=True)
class WatcherSettings:
    """Everything `csctl watcher` can be told."""

    namespace: str | None = None  # None: watch every namespace
    task_queue: str = TASK_QUEUE
    identity: str = field(default_factory=default_identity)
    manage_finalizer: bool = True  # add percona.com/clusterset-dissolve to CRs that lack it
    watch_timeout_seconds: int = 300  # server-side timeoutSeconds of one watch request
    inactivity_timeout: float = 120.0  # no event or bookmark for this long: the stream is stalled
    connect_timeout: float = 10.0
    backoff_initial: float = 0.5  # reconnect / retry backoff, doubled up to backoff_max
    backoff_max: float = 30.0
    liveness_max_age: float = 300.0  # /healthz fails when the last event or bookmark is older
    tuning: WorkflowTuning | None = None  # passed to workflows the watcher starts (tests use fast ones)
    leader_election: LeaderElection | None = None
