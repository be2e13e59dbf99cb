"""The status writer leaves the CR's /status equal to what the workflow wants, removals included.

A merge patch only removes what it names with null, so a field the workflow no longer reports (the last
operation's finishedAt when a new one starts, a cluster removed from the ClusterSet) must be nulled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kubernetes import client as kclient

from activities.kube import KubeActivities, PatchStatusInput, merge_patch
from activities.models import ClusterSetRef
from api.crd import crd_yaml
from api.models import ClusterSetStatus, ClusterStatus, OperationProgress, OperationStatus
from kubesim.testing import clusterset_manifest, running_kubesim

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_merge_patch_nulls_what_is_gone_and_keeps_what_is_equal() -> None:
    current = {"a": 1, "b": {"x": 1, "y": 2}, "c": [1, 2], "gone": {"k": 1}}
    desired = {"a": 1, "b": {"x": 3}, "c": [2], "new": True}
    assert merge_patch(current, desired) == {"gone": None, "b": {"y": None, "x": 3}, "c": [2], "new": True}
    assert merge_patch({}, desired) == desired


async def test_patch_status_removes_stale_fields_and_clusters(tmp_path: Path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text(crd_yaml())
    with running_kubesim(tmp_path, crd_files=[crd]) as kube:
        co = kclient.CustomObjectsApi(kube.new_api_client())
        created = co.create_namespaced_custom_object(
            "ps.percona.com", "v1", "default", "perconaservermysqlclustersets", clusterset_manifest("cs")
        )
        ref = ClusterSetRef(namespace="default", name="cs", uid=created["metadata"]["uid"])
        writer = KubeActivities(custom_objects=co, core=kclient.CoreV1Api(kube.new_api_client()))
        finished = ClusterSetStatus(
            primary_cluster="dc1",
            clusters={
                "dc1": ClusterStatus(cluster_role="PRIMARY"),
                "dc3": ClusterStatus(cluster_role="REPLICA"),
            },
            operation=OperationStatus(
                type="join dc3",
                phase="Succeeded",
                started_at=T0,
                finished_at=T0,
                message="join dc3 succeeded",
                progress=OperationProgress(stage="RECOVERY", percent=100.0),
            ),
        )
        running = ClusterSetStatus(
            primary_cluster="dc1",
            clusters={"dc1": ClusterStatus(cluster_role="PRIMARY")},
            operation=OperationStatus(type="remove dc3", phase="Running", started_at=T0),
        )
        assert (await writer.patch_status(PatchStatusInput(clusterset=ref, status=finished))).changed
        assert (await writer.patch_status(PatchStatusInput(clusterset=ref, status=running))).changed
        status = co.get_namespaced_custom_object_status(
            "ps.percona.com", "v1", "default", "perconaservermysqlclustersets", "cs"
        )["status"]
        assert set(status["clusters"]) == {"dc1"}
        assert status["operation"] == {
            "type": "remove dc3",
            "phase": "Running",
            "startedAt": "2026-11-22T12:00:00Z",
            "summary": "remove dc3 Running",
        }
        # Written once, the same status is not written again.
        assert not (await writer.patch_status(PatchStatusInput(clusterset=ref, status=running))).changed
