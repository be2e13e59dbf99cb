"""Custom objects through the official kubernetes client: verbs, status subresource, generation,
optimistic concurrency, finalizers, selectors, and the built-in kinds the product uses."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kubesim.testing import RunningKubeSim, clusterset_manifest

G, V, P = "ps.percona.com", "v1", "perconaservermysqlclustersets"
# kubernetes>=37 picks merge-patch for every PATCH unless told; a JSON patch must say so, as on a real server.
JSON_PATCH = "application/json-patch+json"


def _co(kube: RunningKubeSim) -> Any:
    return client.CustomObjectsApi(kube.api_client)


def test_create_sets_server_fields_defaults_and_drops_status(kube: RunningKubeSim) -> None:
    body = clusterset_manifest("cs")
    body["status"] = {"primaryCluster": "forged"}
    created = _co(kube).create_namespaced_custom_object(G, V, "default", P, body)
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["resourceVersion"]
    assert meta["generation"] == 1
    assert "status" not in created
    assert created["spec"]["sslMode"] == "AUTO"  # CRD default
    assert created["spec"]["clusters"][0]["endpoints"][0]["port"] == 3306
    got = _co(kube).get_namespaced_custom_object(G, V, "default", P, "cs")
    assert got == created


def test_status_subresource_separation_and_generation(kube: RunningKubeSim) -> None:
    co = _co(kube)
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"))
    # Status through /status: generation unchanged, spec in the same patch ignored.
    after_status = co.patch_namespaced_custom_object_status(
        G, V, "default", P, "cs", {"status": {"primaryCluster": "dc1"}, "spec": {"primaryCluster": "dc2"}}
    )
    assert after_status["status"]["primaryCluster"] == "dc1"
    assert after_status["spec"]["primaryCluster"] == "dc1"
    assert after_status["metadata"]["generation"] == 1
    # Status through the main resource is ignored; a spec change bumps generation.
    after_spec = co.patch_namespaced_custom_object(
        G, V, "default", P, "cs", {"spec": {"primaryCluster": "dc2"}, "status": {"primaryCluster": "x"}}
    )
    assert after_spec["spec"]["primaryCluster"] == "dc2"
    assert after_spec["status"]["primaryCluster"] == "dc1"
    assert after_spec["metadata"]["generation"] == 2
    # Metadata-only changes do not bump generation.
    labelled = co.patch_namespaced_custom_object(
        G, V, "default", P, "cs", {"metadata": {"labels": {"a": "b"}}}
    )
    assert labelled["metadata"]["generation"] == 2
    assert int(labelled["metadata"]["resourceVersion"]) > int(after_spec["metadata"]["resourceVersion"])


def test_stale_resource_version_is_conflict(kube: RunningKubeSim) -> None:
    co = _co(kube)
    first = co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"))
    co.patch_namespaced_custom_object(G, V, "default", P, "cs", {"metadata": {"labels": {"x": "1"}}})
    with pytest.raises(ApiException) as replaced:
        co.replace_namespaced_custom_object(G, V, "default", P, "cs", first)
    assert replaced.value.status == 409
    with pytest.raises(ApiException) as patched:
        co.patch_namespaced_custom_object(
            G, V, "default", P, "cs", {"metadata": {"resourceVersion": first["metadata"]["resourceVersion"]}}
        )
    assert patched.value.status == 409
    # A JSON patch `test` on the resourceVersion fails the same way the API server fails it: 422.
    with pytest.raises(ApiException) as tested:
        co.patch_namespaced_custom_object(
            G,
            V,
            "default",
            P,
            "cs",
            [
                {
                    "op": "test",
                    "path": "/metadata/resourceVersion",
                    "value": first["metadata"]["resourceVersion"],
                },
                {"op": "add", "path": "/metadata/finalizers", "value": ["f"]},
            ],
            _content_type=JSON_PATCH,
        )
    assert tested.value.status == 422
    current = co.get_namespaced_custom_object(G, V, "default", P, "cs")
    current["spec"]["primaryCluster"] = "dc3"
    replaced_ok = co.replace_namespaced_custom_object(G, V, "default", P, "cs", current)
    assert replaced_ok["metadata"]["generation"] == 2


def test_replace_without_resource_version_is_invalid(kube: RunningKubeSim) -> None:
    co = _co(kube)
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"))
    with pytest.raises(ApiException) as exc:
        co.replace_namespaced_custom_object(G, V, "default", P, "cs", clusterset_manifest("cs"))
    assert exc.value.status == 422
    assert "must be specified for an update" in exc.value.body


def test_finalizers_hold_deletion(kube: RunningKubeSim) -> None:
    co = _co(kube)
    co.create_namespaced_custom_object(
        G, V, "default", P, clusterset_manifest("cs", finalizers=["example.com/f"])
    )
    deleting = co.delete_namespaced_custom_object(G, V, "default", P, "cs")
    assert deleting["metadata"]["deletionTimestamp"]
    assert deleting["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as exc:
        co.patch_namespaced_custom_object(
            G,
            V,
            "default",
            P,
            "cs",
            [{"op": "add", "path": "/metadata/finalizers/-", "value": "other/f"}],
            _content_type=JSON_PATCH,
        )
    assert exc.value.status == 422
    assert "no new finalizers" in exc.value.body
    co.patch_namespaced_custom_object(
        G,
        V,
        "default",
        P,
        "cs",
        [{"op": "remove", "path": "/metadata/finalizers/0"}],
        _content_type=JSON_PATCH,
    )
    with pytest.raises(ApiException) as gone:
        co.get_namespaced_custom_object(G, V, "default", P, "cs")
    assert gone.value.status == 404


def test_list_with_label_selector_and_all_namespaces(kube: RunningKubeSim) -> None:
    co = _co(kube)
    client.CoreV1Api(kube.api_client).create_namespace({"metadata": {"name": "other"}})
    co.create_namespaced_custom_object(G, V, "default", P, _labelled(clusterset_manifest("a"), tier="gold"))
    co.create_namespaced_custom_object(G, V, "default", P, _labelled(clusterset_manifest("b"), tier="silver"))
    co.create_namespaced_custom_object(
        G, V, "other", P, _labelled(clusterset_manifest("c", namespace="other"), tier="gold")
    )
    gold = co.list_namespaced_custom_object(G, V, "default", P, label_selector="tier=gold")
    assert [i["metadata"]["name"] for i in gold["items"]] == ["a"]
    not_gold = co.list_namespaced_custom_object(G, V, "default", P, label_selector="tier notin (gold)")
    assert [i["metadata"]["name"] for i in not_gold["items"]] == ["b"]
    everywhere = co.list_cluster_custom_object(G, V, P, label_selector="tier")
    assert sorted(i["metadata"]["name"] for i in everywhere["items"]) == ["a", "b", "c"]
    assert everywhere["metadata"]["resourceVersion"]


def _labelled(body: dict[str, Any], **labels: str) -> dict[str, Any]:
    body["metadata"]["labels"] = labels
    return body


def test_namespace_must_exist(kube: RunningKubeSim) -> None:
    with pytest.raises(ApiException) as exc:
        _co(kube).create_namespaced_custom_object(
            G, V, "nowhere", P, clusterset_manifest("cs", namespace="nowhere")
        )
    assert exc.value.status == 404


def test_duplicate_create_is_already_exists(kube: RunningKubeSim) -> None:
    co = _co(kube)
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"))
    with pytest.raises(ApiException) as exc:
        co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"))
    assert exc.value.status == 409
    assert "already exists" in exc.value.body


def test_secrets_events_and_leases(kube: RunningKubeSim) -> None:
    core = client.CoreV1Api(kube.api_client)
    core.create_namespaced_secret(
        "default", {"metadata": {"name": "creds"}, "stringData": {"clusterset": "pw"}}
    )
    secret = core.read_namespaced_secret("creds", "default")
    assert base64.b64decode(secret.data["clusterset"]) == b"pw"
    core.create_namespaced_event(
        "default",
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name="cs."),
            involved_object=client.V1ObjectReference(kind="PerconaServerMySQLClusterSet", name="cs"),
            reason="Tested",
            message="hello",
            type="Normal",
        ),
    )
    events = core.list_namespaced_event("default")
    assert [e.reason for e in events.items] == ["Tested"]
    coord = client.CoordinationV1Api(kube.api_client)
    lease = coord.create_namespaced_lease(
        "default",
        client.V1Lease(metadata=client.V1ObjectMeta(name="l"), spec=client.V1LeaseSpec(holder_identity="a")),
    )
    lease.spec.holder_identity = "b"
    coord.replace_namespaced_lease("l", "default", lease)
    stale = lease
    with pytest.raises(ApiException) as exc:
        coord.replace_namespaced_lease("l", "default", stale)
    assert exc.value.status == 409
    assert coord.read_namespaced_lease("l", "default").spec.holder_identity == "b"


def test_server_side_dry_run_changes_nothing(kube: RunningKubeSim) -> None:
    co = _co(kube)
    preview = co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"), dry_run="All")
    assert preview["spec"]["sslMode"] == "AUTO"  # admitted and defaulted
    with pytest.raises(ApiException) as exc:
        co.get_namespaced_custom_object(G, V, "default", P, "cs")
    assert exc.value.status == 404
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("cs"))
    co.patch_namespaced_custom_object(
        G, V, "default", P, "cs", {"spec": {"primaryCluster": "dc2"}}, dry_run="All"
    )
    co.delete_namespaced_custom_object(G, V, "default", P, "cs", dry_run="All")
    current = co.get_namespaced_custom_object(G, V, "default", P, "cs")
    assert current["spec"]["primaryCluster"] == "dc1" and current["metadata"]["generation"] == 1
