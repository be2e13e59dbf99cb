"""Pinned Temporal names: recorded in every history, so they never change when Python names do.

The workflows call activities by these names (not by function reference), which keeps the workflow
sandbox free of the activity modules' imports (asyncmy, kubernetes) and lets tests register fakes under
the same names.
"""

from __future__ import annotations

# Workflows.
CLUSTERSET_WORKFLOW = "ClusterSet"
OPERATION_WORKFLOW = "ClusterSetOperation"
DRY_RUN_WORKFLOW = "ClusterSetDryRun"

# Updates, queries and signals of the ClusterSet workflow.
UPDATE_APPLY_SPEC = "ApplySpec"
UPDATE_DISSOLVE = "Dissolve"
UPDATE_FORCE_FAILOVER = "ForceFailover"
UPDATE_REJOIN = "Rejoin"
QUERY_STATUS = "Status"
QUERY_OPERATION_HISTORY = "OperationHistory"
SIGNAL_OPERATION_PROGRESS = "OperationProgress"

# Operation activities (activities/temporal.py).
ACTIVITY_PLAN = "clusterset.plan"
ACTIVITY_STEP = "clusterset.step"
ACTIVITY_CLONE_STEP = "clusterset.clone_step"
ACTIVITY_OBSERVE = "clusterset.observe"

# Kubernetes activities (activities/kube.py).
ACTIVITY_PATCH_STATUS = "clusterset.kube.patch_status"
ACTIVITY_EMIT_EVENT = "clusterset.kube.emit_event"
ACTIVITY_CLEAR_REJOIN_ANNOTATION = "clusterset.kube.clear_rejoin_annotation"
ACTIVITY_ALIGN_PRIMARY = "clusterset.kube.align_primary_cluster"

# Search attributes (registered on the server; see tests/conftest.py).
SEARCH_ATTRIBUTE_NAME = "ClusterSetName"
SEARCH_ATTRIBUTE_PHASE = "ClusterSetPhase"
