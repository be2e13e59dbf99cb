"""Deterministic workflow code: the ClusterSet entity workflow and its operation child workflows.

Everything in this package runs inside the Temporal workflow sandbox, so it imports only the standard
library, temporalio, pydantic and the pure model modules (api.models, activities.models).
"""

from __future__ import annotations

# The one task queue the worker polls and the watcher/CLI start workflows on (pinned; see contract).
TASK_QUEUE = "clusterset"

__all__ = ["TASK_QUEUE"]
