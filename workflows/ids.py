"""Workflow ids: derived from the CR so a re-created CR (new uid) never lands on an old workflow.

The ids are part of the contract with the watcher and the CLI, and they are what an operator sees in the
Temporal Web UI, so they are readable: ``clusterset/<namespace>/<name>/<uid>`` for the entity workflow and
``<entity id>/<operation>/<target>/<n>`` for the operation child workflows.
"""

from __future__ import annotations

WORKFLOW_TYPE = "ClusterSet"
OPERATION_WORKFLOW_TYPE = "ClusterSetOperation"


def clusterset_workflow_id(*, namespace: str, name: str, uid: str) -> str:
    """The entity workflow id of the CR `namespace/name` with metadata.uid `uid`."""
    return f"clusterset/{namespace}/{name}/{uid}"


def operation_workflow_id(*, parent_id: str, kind: str, target: str | None, number: int) -> str:
    """The child workflow id of the `number`-th operation of an entity, e.g. ``…/join/dc2/3``."""
    return f"{parent_id}/{kind}/{target or '-'}/{number}"


def parse_clusterset_workflow_id(workflow_id: str) -> tuple[str, str, str] | None:
    """(namespace, name, uid) of an entity workflow id, or None when it is not one."""
    parts = workflow_id.split("/")
    if len(parts) != 4 or parts[0] != "clusterset" or not all(parts[1:]):
        return None
    return parts[1], parts[2], parts[3]
