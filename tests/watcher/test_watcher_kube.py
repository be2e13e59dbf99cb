"""The watcher's Kubernetes writes under races: each lands once, on the version it was computed from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from api.crd import crd_yaml
from api.models import FINALIZER_DISSOLVE
from kubesim.testing import RunningKubeSim, clusterset_manifest, running_kubesim
from watcher.kube import ClusterSetKube
from watcher.settings import CONDITION_INVALID_SPEC

G, V, P = "ps.percona.com", "v1", "perconaservermysqlclustersets"


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[RunningKubeSim]:
    crd = tmp_path / "crd.yaml"
    crd.write_text(crd_yaml())
    with running_kubesim(tmp_path, crd_files=[crd]) as running:
        yield running


def test_add_finalizer_from_a_stale_copy_retries_and_keeps_other_finalizers(kube: RunningKubeSim) -> None:
    co = client.CustomObjectsApi(kube.api_client)
    stale = co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"))
    co.patch_namespaced_custom_object(G, V, "default", P, "cs", {"metadata": {"finalizers": ["other/f"]}})
    updated = ClusterSetKube(kube.api_client).add_finalizer(stale)
    assert updated is not None
    assert updated["metadata"]["finalizers"] == ["other/f", FINALIZER_DISSOLVE]
    again = ClusterSetKube(kube.api_client).add_finalizer(updated)  # idempotent
    assert again is not None and again["metadata"]["finalizers"] == ["other/f", FINALIZER_DISSOLVE]


def test_remove_finalizer_only_takes_ours_and_404_is_done(kube: RunningKubeSim) -> None:
    co = client.CustomObjectsApi(kube.api_client)
    co.create_namespaced_custom_object(
        G, V, "default", P, clusterset_manifest("cs", finalizers=["other/f", FINALIZER_DISSOLVE])
    )
    kube_writes = ClusterSetKube(kube.api_client)
    assert kube_writes.remove_finalizer(namespace="default", name="cs") is True
    assert co.get_namespaced_custom_object(G, V, "default", P, "cs")["metadata"]["finalizers"] == ["other/f"]
    assert kube_writes.remove_finalizer(namespace="default", name="cs") is False
    assert kube_writes.remove_finalizer(namespace="default", name="missing") is False


def test_finalizer_of_a_recreated_cr_is_not_touched(kube: RunningKubeSim) -> None:
    co = client.CustomObjectsApi(kube.api_client)
    old = co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"))
    co.delete_namespaced_custom_object(G, V, "default", P, "cs")
    co.create_namespaced_custom_object(
        G, V, "default", P, clusterset_manifest("cs", finalizers=[FINALIZER_DISSOLVE])
    )
    writes = ClusterSetKube(kube.api_client)
    assert writes.remove_finalizer(namespace="default", name="cs", uid=old["metadata"]["uid"]) is False
    assert writes.add_finalizer(old) is None
    assert co.get_namespaced_custom_object(G, V, "default", P, "cs")["metadata"]["finalizers"] == [
        FINALIZER_DISSOLVE
    ]


def test_invalid_spec_condition_keeps_the_workflows_conditions(kube: RunningKubeSim) -> None:
    co = client.CustomObjectsApi(kube.api_client)
    obj = co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"))
    co.patch_namespaced_custom_object_status(
        G,
        V,
        "default",
        P,
        "cs",
        {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "x"}]}},
    )
    writes = ClusterSetKube(kube.api_client)
    assert writes.set_invalid_spec(obj, "spec.primaryCluster: Invalid value") is True  # from a stale copy
    current = co.get_namespaced_custom_object(G, V, "default", P, "cs")
    assert [c["type"] for c in current["status"]["conditions"]] == ["Ready", CONDITION_INVALID_SPEC]
    assert writes.set_invalid_spec(current, "spec.primaryCluster: Invalid value") is False  # unchanged
    assert writes.set_invalid_spec(current, None) is True
    cleared = co.get_namespaced_custom_object(G, V, "default", P, "cs")
    assert [c["type"] for c in cleared["status"]["conditions"]] == ["Ready"]
