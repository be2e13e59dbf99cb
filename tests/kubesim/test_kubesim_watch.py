"""Watch semantics through kubernetes.watch: from a resourceVersion, bookmarks, timeoutSeconds, 410, drops."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kubesim.testing import RunningKubeSim, clusterset_manifest

G, V, P = "ps.percona.com", "v1", "perconaservermysqlclustersets"


def _co(kube: RunningKubeSim) -> Any:
    return client.CustomObjectsApi(kube.api_client)


def test_watch_from_list_resource_version_sees_only_later_changes(kube: RunningKubeSim) -> None:
    co = _co(kube)
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("a"))
    listed = co.list_namespaced_custom_object(G, V, "default", P)
    co.patch_namespaced_custom_object(G, V, "default", P, "a", {"metadata": {"labels": {"x": "1"}}})
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("b"))
    seen = []
    for event in watch.Watch().stream(
        co.list_namespaced_custom_object,
        G,
        V,
        "default",
        P,
        resource_version=listed["metadata"]["resourceVersion"],
        timeout_seconds=1,
    ):
        seen.append((event["type"], event["object"]["metadata"]["name"]))
    assert seen == [("MODIFIED", "a"), ("ADDED", "b")]


def test_watch_without_resource_version_replays_current_objects(kube: RunningKubeSim) -> None:
    co = _co(kube)
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("a"))
    seen = [
        (e["type"], e["object"]["metadata"]["name"])
        for e in watch.Watch().stream(co.list_namespaced_custom_object, G, V, "default", P, timeout_seconds=1)
    ]
    assert seen == [("ADDED", "a")]


def test_bookmarks_carry_the_current_resource_version(kube: RunningKubeSim) -> None:
    co = _co(kube)
    listed = co.list_namespaced_custom_object(G, V, "default", P)
    # An unrelated write elsewhere moves the global resourceVersion; the bookmark reports it.
    client.CoreV1Api(kube.api_client).create_namespaced_secret("default", {"metadata": {"name": "s"}})
    w = watch.Watch()
    for event in w.stream(
        co.list_namespaced_custom_object,
        G,
        V,
        "default",
        P,
        resource_version=listed["metadata"]["resourceVersion"],
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    ):
        assert event["type"] == "BOOKMARK"
        rv = event["raw_object"]["metadata"]["resourceVersion"]
        assert int(rv) > int(listed["metadata"]["resourceVersion"])
        w.stop()
        break


def test_compacted_history_gives_410(kube: RunningKubeSim) -> None:
    co = _co(kube)
    listed = co.list_namespaced_custom_object(G, V, "default", P)
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("a"))
    kube.compact()
    with pytest.raises(ApiException) as exc:
        for _ in watch.Watch().stream(
            co.list_namespaced_custom_object,
            G,
            V,
            "default",
            P,
            resource_version=listed["metadata"]["resourceVersion"],
            timeout_seconds=2,
        ):
            pass
    assert exc.value.status == 410


def test_bounded_history_expires_old_versions(kube: RunningKubeSim) -> None:
    co = _co(kube)
    listed = co.list_namespaced_custom_object(G, V, "default", P)
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("a"))
    for i in range(60):  # the fixture keeps 50 events
        co.patch_namespaced_custom_object(G, V, "default", P, "a", {"metadata": {"labels": {"i": str(i)}}})
    with pytest.raises(ApiException) as exc:
        for _ in watch.Watch().stream(
            co.list_namespaced_custom_object,
            G,
            V,
            "default",
            P,
            resource_version=listed["metadata"]["resourceVersion"],
            timeout_seconds=2,
        ):
            pass
    assert exc.value.status == 410


def test_drop_watches_ends_open_streams(kube: RunningKubeSim) -> None:
    co = _co(kube)
    started = threading.Event()
    ended = threading.Event()

    def consume() -> None:
        w = watch.Watch()
        stream = w.stream(
            co.list_namespaced_custom_object,
            G,
            V,
            "default",
            P,
            timeout_seconds=120,
            allow_watch_bookmarks=True,
        )
        for _ in stream:
            started.set()
        ended.set()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    assert started.wait(10)  # the first bookmark arrived: the stream is open
    assert kube.drop_watches() >= 1
    assert ended.wait(10)
    thread.join(10)


def test_watch_with_label_selector_and_deletion_events(kube: RunningKubeSim) -> None:
    co = _co(kube)
    listed = co.list_namespaced_custom_object(G, V, "default", P)
    body = clusterset_manifest("a", finalizers=["example.com/f"])
    body["metadata"]["labels"] = {"team": "db"}
    co.create_namespaced_custom_object(G, V, "default", P, body)
    co.create_namespaced_custom_object(G, V, "default", P, clusterset_manifest("b"))
    co.delete_namespaced_custom_object(G, V, "default", P, "a")
    co.patch_namespaced_custom_object(
        G,
        V,
        "default",
        P,
        "a",
        {"metadata": {"finalizers": None}},
        _content_type="application/merge-patch+json",
    )
    seen = [
        (e["type"], e["object"]["metadata"]["name"], bool(e["object"]["metadata"].get("deletionTimestamp")))
        for e in watch.Watch().stream(
            co.list_namespaced_custom_object,
            G,
            V,
            "default",
            P,
            resource_version=listed["metadata"]["resourceVersion"],
            label_selector="team=db",
            timeout_seconds=1,
        )
    ]
    assert seen == [("ADDED", "a", False), ("MODIFIED", "a", True), ("DELETED", "a", True)]


def test_expire_watches_makes_the_resume_410(kube: RunningKubeSim) -> None:
    co = _co(kube)
    listed = co.list_namespaced_custom_object(G, V, "default", P)
    w = watch.Watch()
    rv = listed["metadata"]["resourceVersion"]
    for event in w.stream(
        co.list_namespaced_custom_object,
        G,
        V,
        "default",
        P,
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=30,
    ):
        rv = event["raw_object"]["metadata"]["resourceVersion"]
        assert kube.expire_watches() == 1  # ends this stream; nothing more comes on it
    with pytest.raises(ApiException) as exc:
        for _ in watch.Watch().stream(
            co.list_namespaced_custom_object, G, V, "default", P, resource_version=rv, timeout_seconds=2
        ):
            pass
    assert exc.value.status == 410
