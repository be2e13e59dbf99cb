"""The watcher's few Kubernetes writes, each safe to repeat and to race with another writer.

- Finalizer add: JSON patch with a `test` of the resourceVersion, so it lands only on the version that
  was looked at; a conflict re-reads and tries again, and an already-present finalizer is a no-op.
- Finalizer removal: JSON patch that tests the resourceVersion *and* the list entry before removing it
  (the removal must not take out someone else's finalizer that moved to the same index); 404 is done.
- The InvalidSpec condition: a merge patch of `/status` carrying `metadata.resourceVersion`, which the
  API server treats as a precondition (409 on a stale one); the other conditions are kept as they are.
- Events: created with a deterministic name, so a retry meets 409 AlreadyExists instead of duplicating.

The official client is blocking; the async wrappers run it in a thread. kubernetes>=37 sends every
PATCH as a merge patch unless told otherwise, so JSON patches pass `_content_type` explicitly.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from api.models import FINALIZER_DISSOLVE, GROUP, KIND, PLURAL, VERSION
from watcher.settings import CONDITION_INVALID_SPEC

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
_ATTEMPTS = 10


class ConcurrentWriteError(RuntimeError):
    """A write lost the optimistic-concurrency race too many times in a row."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _conflict(exc: ApiException) -> bool:
    # 409: stale resourceVersion; 422: a failed JSON-patch `test` (how the API server reports it).
    return exc.status in (409, 422)


class ClusterSetKube:
    """Reads and writes of PerconaServerMySQLClusterSet objects and their Events."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client
        # Typed as Any: bodies are plain dicts (the API accepts JSON), not the client's model classes.
        self.co: Any = client.CustomObjectsApi(api_client)
        self.core: Any = client.CoreV1Api(api_client)

    # ------------------------------------------------------------------ reads

    def list_fn(self, namespace: str | None) -> tuple[Any, tuple[Any, ...]]:
        """The list function and its positional arguments, for list and for kubernetes.watch."""
        if namespace is None:
            return self.co.list_cluster_custom_object, (GROUP, VERSION, PLURAL)
        return self.co.list_namespaced_custom_object, (GROUP, VERSION, namespace, PLURAL)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = self.co.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return obj

    # ------------------------------------------------------------------ finalizer

    def add_finalizer(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """`obj` with the dissolve finalizer added (None when the CR is gone or being deleted)."""
        meta = obj["metadata"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
        current: dict[str, Any] | None = obj
        for _ in range(_ATTEMPTS):
            if current is None or current["metadata"].get("uid") != uid:
                return None
            cmeta = current["metadata"]
            if cmeta.get("deletionTimestamp"):
                return None
            finalizers = list(cmeta.get("finalizers") or [])
            if FINALIZER_DISSOLVE in finalizers:
                return current
            ops: list[dict[str, Any]] = [
                {"op": "test", "path": "/metadata/resourceVersion", "value": cmeta["resourceVersion"]}
            ]
            if finalizers:
                ops.append({"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER_DISSOLVE})
            else:
                ops.append({"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER_DISSOLVE]})
            try:
                patched: dict[str, Any] = self.co.patch_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, name, ops, _content_type=JSON_PATCH
                )
                return patched
            except ApiException as exc:
                if exc.status == 404:
                    return None
                if not _conflict(exc):
                    raise
            current = self.get(namespace, name)
        raise ConcurrentWriteError(f"could not add the finalizer to {namespace}/{name}: conflicting writes")

    def remove_finalizer(self, *, namespace: str, name: str, uid: str | None = None) -> bool:
        """Remove the dissolve finalizer; True when it was removed now, False when already gone (or 404)."""
        for _ in range(_ATTEMPTS):
            current = self.get(namespace, name)
            if current is None or (uid is not None and current["metadata"].get("uid") != uid):
                return False
            cmeta = current["metadata"]
            finalizers = list(cmeta.get("finalizers") or [])
            if FINALIZER_DISSOLVE not in finalizers:
                return False
            index = finalizers.index(FINALIZER_DISSOLVE)
            ops = [
                {"op": "test", "path": "/metadata/resourceVersion", "value": cmeta["resourceVersion"]},
                {"op": "test", "path": f"/metadata/finalizers/{index}", "value": FINALIZER_DISSOLVE},
                {"op": "remove", "path": f"/metadata/finalizers/{index}"},
            ]
            try:
                self.co.patch_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, name, ops, _content_type=JSON_PATCH
                )
                return True
            except ApiException as exc:
                if exc.status == 404:
                    return False
                if not _conflict(exc):
                    raise
        raise ConcurrentWriteError(
            f"could not remove the finalizer from {namespace}/{name}: conflicting writes"
        )

    # ------------------------------------------------------------------ the InvalidSpec condition

    def set_invalid_spec(self, obj: dict[str, Any], message: str | None) -> bool:
        """Set (message given) or clear (None) the InvalidSpec condition; True when /status changed."""
        meta = obj["metadata"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
        current: dict[str, Any] | None = obj
        for _ in range(_ATTEMPTS):
            if current is None or current["metadata"].get("uid") != uid:
                return False
            conditions = list((current.get("status") or {}).get("conditions") or [])
            existing = next((c for c in conditions if c.get("type") == CONDITION_INVALID_SPEC), None)
            generation = current["metadata"].get("generation")
            if message is None:
                if existing is None:
                    return False
                wanted = [c for c in conditions if c.get("type") != CONDITION_INVALID_SPEC]
            else:
                if (
                    existing is not None
                    and existing.get("message") == message
                    and existing.get("observedGeneration") == generation
                ):
                    return False
                condition = {
                    "type": CONDITION_INVALID_SPEC,
                    "status": "True",
                    "reason": "SpecValidationFailed",
                    "message": message,
                    "observedGeneration": generation,
                    "lastTransitionTime": (existing or {}).get("lastTransitionTime") or _now(),
                }
                wanted = [c for c in conditions if c.get("type") != CONDITION_INVALID_SPEC] + [condition]
            body = {
                "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                "status": {"conditions": wanted},
            }
            try:
                self.co.patch_namespaced_custom_object_status(
                    GROUP, VERSION, namespace, PLURAL, name, body, _content_type=MERGE_PATCH
                )
                return True
            except ApiException as exc:
                if exc.status == 404:
                    return False
                if not _conflict(exc):
                    raise
            current = self.get(namespace, name)
        raise ConcurrentWriteError(
            f"could not write the {CONDITION_INVALID_SPEC} condition of {namespace}/{name}"
        )

    # ------------------------------------------------------------------ events

    def emit_event(self, obj: dict[str, Any], *, type_: str, reason: str, message: str, key: str) -> None:
        """Create an Event about the CR, named from `key` so a repeat is a no-op."""
        meta = obj["metadata"]
        digest = hashlib.sha256(json.dumps([meta["uid"], key]).encode()).hexdigest()[:16]
        now = _now()
        body = {
            "metadata": {"name": f"{meta['name']}.{digest}", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": KIND,
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": "clusterset-watcher"},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": "clusterset-watcher",
        }
        try:
            self.core.create_namespaced_event(meta["namespace"], body)
        except ApiException as exc:
            if exc.status not in (409, 404):
                raise

    # ------------------------------------------------------------------ async wrappers

    async def aget(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(self.get, namespace, name)

    async def aadd_finalizer(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        return await asyncio.to_thread(self.add_finalizer, obj)

    async def aremove_finalizer(self, *, namespace: str, name: str, uid: str | None = None) -> bool:
        return await asyncio.to_thread(lambda: self.remove_finalizer(namespace=namespace, name=name, uid=uid))

    async def aset_invalid_spec(self, obj: dict[str, Any], message: str | None) -> bool:
        return await asyncio.to_thread(self.set_invalid_spec, obj, message)

    async def aemit_event(
        self, obj: dict[str, Any], *, type_: str, reason: str, message: str, key: str
    ) -> None:
        await asyncio.to_thread(
            lambda: self.emit_event(obj, type_=type_, reason=reason, message=message, key=key)
        )
