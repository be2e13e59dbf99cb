"""The object store: objects, one resourceVersion counter, a bounded event history, live watchers.

This is where the registry semantics live, independent of HTTP:

- every write bumps one global resourceVersion (opaque to clients, an integer here);
- a write carrying a `metadata.resourceVersion` that is not the current one is a 409 Conflict;
- with a `/status` subresource, writes to the main resource keep the stored status and writes to
  `/status` keep the stored spec and metadata; `metadata.generation` moves only when something other
  than metadata and status changed (and once when deletion starts, as the real registry does);
- DELETE of an object with finalizers only sets `deletionTimestamp`; the object goes away when the last
  finalizer is removed; no finalizer can be added once deletion has started;
- watch events are kept in a bounded history, so a watch from a resourceVersion older than the history
  gets 410 Gone (`compact()` forces that, `drop_watches()` cuts every open stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubesim import errors
from kubesim.errors import ApiError, FieldCause
from kubesim.resources import ResourceType

Admit = Callable[[ResourceType, dict[str, Any], dict[str, Any] | None], dict[str, Any]]


_NO_NEW_FINALIZERS = "Forbidden: no new finalizers can be added if the object is being deleted"


def now_rfc3339() -> str:
    """The current time as the API server writes timestamps (seconds, Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class Event:
    """One change, as a watch stream carries it."""

    resource_version: int
    resource_key: str
    namespace: str
    type: str  # ADDED | MODIFIED | DELETED
    object: dict[str, Any]


@dataclass(kw_only=True)
class Subscriber:
    """One open watch stream: its queue of events (None = the server closes the stream)."""

    resource_key: str
    namespace: str | None
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    closed: bool = False  # set by drop_watches(): send nothing more, not even a bookmark


class Store:
    """All objects of the simulated cluster; used from one event loop only."""

    def __init__(self, *, history_size: int = 1000) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.resource_version = 0
        self.history: deque[Event] = deque()
        self.history_size = history_size
        self.compacted_through = 0  # a watch from an rv below this is 410 Gone
        self.subscribers: list[Subscriber] = []
        self._resource_of: dict[str, ResourceType] = {}

    # ------------------------------------------------------------------ history and watchers

    def _record(self, *, resource: ResourceType, type_: str, obj: dict[str, Any]) -> None:
        event = Event(
            resource_version=int(obj["metadata"]["resourceVersion"]),
            resource_key=resource.key,
            namespace=obj["metadata"].get("namespace", ""),
            type=type_,
            object=copy.deepcopy(obj),
        )
        self.history.append(event)
        while len(self.history) > self.history_size:
            dropped = self.history.popleft()
            self.compacted_through = dropped.resource_version
        for sub in self.subscribers:
            if sub.resource_key == resource.key and (
                sub.namespace is None or sub.namespace == event.namespace
            ):
                sub.queue.put_nowait(event)

    def events_since(
        self, *, resource: ResourceType, namespace: str | None, resource_version: int
    ) -> list[Event]:
        """Retained events after `resource_version`; raises 410 when that version was compacted away."""
        if resource_version < self.compacted_through:
            raise errors.gone(f"too old resource version: {resource_version} ({self.compacted_through})")
        return [
            e
            for e in self.history
            if e.resource_version > resource_version
            and e.resource_key == resource.key
            and (namespace is None or e.namespace == namespace)
        ]

    def subscribe(self, *, resource: ResourceType, namespace: str | None) -> Subscriber:
        sub = Subscriber(resource_key=resource.key, namespace=namespace)
        self.subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub in self.subscribers:
            self.subscribers.remove(sub)

    def compact(self) -> None:
        """Forget the whole event history: every watch from an older resourceVersion gets 410 Gone."""
        self.history.clear()
        self.compacted_through = self.resource_version

    def drop_watches(self) -> int:
        """Close every open watch stream (as an API server restart or a load balancer would)."""
        count = len(self.subscribers)
        for sub in self.subscribers:
            sub.closed = True
            sub.queue.put_nowait(None)
        self.subscribers = []
        return count

    def expire_watches(self) -> int:
        """End every open watch so that resuming it gets 410 Gone (history compacted past its version).

        One step on the server's loop, so no stream can slip a newer bookmark in between.
        """
        self.resource_version += 1  # versions are opaque; a gap is what etcd gives too
        self.compact()
        return self.drop_watches()

    def _next_rv(self) -> str:
        self.resource_version += 1
        return str(self.resource_version)

    # ------------------------------------------------------------------ reads

    def get(self, resource: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.objects.get((resource.key, namespace, name))
        if obj is None:
            raise errors.not_found(resource=resource.plural, name=name, group=resource.group)
        return copy.deepcopy(obj)

    def list(self, resource: ResourceType, namespace: str | None) -> list[dict[str, Any]]:
        items = [
            copy.deepcopy(obj)
            for (key, ns, _), obj in self.objects.items()
            if key == resource.key and (namespace is None or ns == namespace)
        ]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    # ------------------------------------------------------------------ writes

    def create(
        self, resource: ResourceType, namespace: str, obj: dict[str, Any], *, admit: Admit
    ) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name") or ""
        if not name:
            raise errors.invalid(
                kind=resource.kind,
                group=resource.group,
                name="",
                causes=[
                    FieldCause(
                        field="metadata.name", message="Required value: name or generateName is required"
                    )
                ],
            )
        if resource.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
            if ("/namespaces", "", namespace) not in self.objects:
                raise errors.not_found(resource="namespaces", name=namespace)
        else:
            meta.pop("namespace", None)
        if (resource.key, namespace, name) in self.objects:
            raise errors.already_exists(resource=resource.plural, name=name, group=resource.group)
        obj["apiVersion"] = resource.api_version
        obj["kind"] = resource.kind
        if resource.status_subresource:
            obj.pop("status", None)  # create cannot set status
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            meta.pop(key, None)
        obj = admit(resource, obj, None)
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if resource.track_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        meta["resourceVersion"] = self._next_rv()
        self.objects[(resource.key, namespace, name)] = obj
        self._record(resource=resource, type_="ADDED", obj=obj)
        return copy.deepcopy(obj)

    def update(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        new: dict[str, Any],
        *,
        subresource: str | None,
        admit: Admit,
        require_resource_version: bool,
    ) -> dict[str, Any]:
        """PUT (and the second half of PATCH): optimistic concurrency, status separation, generation."""
        current = self.objects.get((resource.key, namespace, name))
        if current is None:
            raise errors.not_found(resource=resource.plural, name=name, group=resource.group)
        new = copy.deepcopy(new)
        new_meta = new.setdefault("metadata", {})
        if new_meta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({new_meta.get('name')}) does not match the name on the URL ({name})"
            )
        sent_rv = new_meta.get("resourceVersion")
        if sent_rv:
            if sent_rv != current["metadata"]["resourceVersion"]:
                raise errors.conflict(resource=resource.plural, name=name, group=resource.group)
        elif require_resource_version:
            raise errors.invalid(
                kind=resource.kind,
                group=resource.group,
                name=name,
                causes=[
                    FieldCause(
                        field="metadata.resourceVersion",
                        message="Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        old_meta = current["metadata"]
        if subresource == "status":
            merged = copy.deepcopy(current)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        else:
            if resource.status_subresource:
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
                else:
                    new.pop("status", None)
            meta = new["metadata"]
            for key in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if key in old_meta:
                    meta[key] = old_meta[key]
                else:
                    meta.pop(key, None)
            meta["name"] = name
            if resource.namespaced:
                meta["namespace"] = namespace
            if old_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
                if added:
                    raise errors.invalid(
                        kind=resource.kind,
                        group=resource.group,
                        name=name,
                        causes=[
                            FieldCause(
                                field="metadata.finalizers",
                                message=_NO_NEW_FINALIZERS,
                                reason="FieldValueForbidden",
                            )
                        ],
                    )
        new["apiVersion"] = resource.api_version
        new["kind"] = resource.kind
        new = admit(resource, new, current)
        meta = new["metadata"]
        if resource.track_generation and _spec_part(new) != _spec_part(current):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if not meta.get("finalizers"):
            meta.pop("finalizers", None)
        if _same(new, current):
            return copy.deepcopy(current)  # a no-op write keeps the resourceVersion, as the API server does
        meta["resourceVersion"] = self._next_rv()
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del self.objects[(resource.key, namespace, name)]
            self._record(resource=resource, type_="DELETED", obj=new)
            return copy.deepcopy(new)
        self.objects[(resource.key, namespace, name)] = new
        self._record(resource=resource, type_="MODIFIED", obj=new)
        return copy.deepcopy(new)

    def delete(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        *,
        preconditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """DELETE: gone at once without finalizers, otherwise marked with deletionTimestamp."""
        current = self.objects.get((resource.key, namespace, name))
        if current is None:
            raise errors.not_found(resource=resource.plural, name=name, group=resource.group)
        meta = current["metadata"]
        for key, field_name in (("uid", "uid"), ("resourceVersion", "resourceVersion")):
            wanted = (preconditions or {}).get(key)
            if wanted and wanted != meta.get(field_name):
                raise errors.conflict(
                    resource=resource.plural,
                    name=name,
                    group=resource.group,
                    detail=f"Precondition failed: {key}: {wanted}, {field_name}: {meta.get(field_name)}",
                )
        if resource.key == "/namespaces":
            self._delete_namespace_contents(name)
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return copy.deepcopy(current)
            updated = copy.deepcopy(current)
            updated["metadata"]["deletionTimestamp"] = now_rfc3339()
            updated["metadata"]["deletionGracePeriodSeconds"] = 0
            if resource.track_generation:
                updated["metadata"]["generation"] = int(meta.get("generation", 1)) + 1
            updated["metadata"]["resourceVersion"] = self._next_rv()
            self.objects[(resource.key, namespace, name)] = updated
            self._record(resource=resource, type_="MODIFIED", obj=updated)
            return copy.deepcopy(updated)
        del self.objects[(resource.key, namespace, name)]
        gone = copy.deepcopy(current)
        gone["metadata"]["resourceVersion"] = self._next_rv()
        self._record(resource=resource, type_="DELETED", obj=gone)
        return gone

    def _delete_namespace_contents(self, namespace: str) -> None:
        # The namespace controller's job, done at once: delete every object in the namespace.
        for key, ns, name in list(self.objects):
            if ns == namespace and key != "/namespaces":
                resource = self._resource_of.get(key)
                if resource is not None:
                    try:
                        self.delete(resource, ns, name)
                    except ApiError:
                        pass

    def register_types(self, types: dict[str, ResourceType]) -> None:
        """Storage key -> ResourceType (shared with the server), so namespace deletion reaches every kind."""
        self._resource_of = types

    @contextlib.contextmanager
    def dry_run(self) -> Iterator[None]:
        """Writes inside the block are computed and answered, then forgotten; no watcher sees them."""
        saved = (self.objects, self.resource_version, self.history, self.compacted_through, self.subscribers)
        self.objects = copy.deepcopy(self.objects)
        self.history = deque()
        self.subscribers = []
        try:
            yield
        finally:
            self.objects, self.resource_version, self.history, self.compacted_through, self.subscribers = (
                saved
            )

    def drop_resource(self, resource: ResourceType) -> None:
        """Forget every object of a resource whose CRD was deleted."""
        for key in [k for k in self.objects if k[0] == resource.key]:
            obj = self.objects.pop(key)
            obj["metadata"]["resourceVersion"] = self._next_rv()
            self._record(resource=resource, type_="DELETED", obj=obj)


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything generation tracks: the object without metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _same(new: dict[str, Any], current: dict[str, Any]) -> bool:
    a = copy.deepcopy(new)
    b = copy.deepcopy(current)
    a["metadata"].pop("resourceVersion", None)
    b["metadata"].pop("resourceVersion", None)
    return a == b
