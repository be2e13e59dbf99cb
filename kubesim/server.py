"""The HTTP face of the simulator: Kubernetes REST paths, watch streams, Tables, and fault hooks.

One aiohttp catch-all route parses `/api/v1/...` and `/apis/<g>/<v>/...` paths the way the API server
does (`namespaces/<ns>/<plural>/<name>/<subresource>`), and hands them to the `Store`. Watches are
chunked JSON lines; `timeoutSeconds` ends them; `allowWatchBookmarks` adds a BOOKMARK every
`bookmark_interval` seconds; a resourceVersion older than the retained history gets a 410 ERROR event.

Fault hooks for tests (also over HTTP, `POST /_kubesim/drop-watches` and `POST /_kubesim/compact`):
`KubeSim.drop_watches()` cuts every open stream, `KubeSim.compact()` forgets the event history so the
next watch from an old resourceVersion gets 410 Gone, `KubeSim.stall_watches()` keeps streams open but
silent (a stalled stream: only a client-side inactivity timeout notices).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from kubesim import discovery, errors
from kubesim.admission import admit, no_admission
from kubesim.errors import ApiError
from kubesim.patch import apply_patch
from kubesim.resources import ResourceType, builtin_types, types_from_crd
from kubesim.selectors import parse_field_selector, parse_label_selector
from kubesim.store import Event, Store, now_rfc3339
from kubesim.table import table

_log = logging.getLogger("kubesim")
CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions"
DEFAULT_WATCH_TIMEOUT = 1800.0


@dataclass(frozen=True, kw_only=True)
class Target:
    """What a REST path addresses."""

    resource: ResourceType
    namespace: str | None  # None: all namespaces (or a cluster-scoped resource)
    name: str | None
    subresource: str | None


class KubeSim:
    """A simulated Kubernetes API server (state plus aiohttp application)."""

    def __init__(
        self,
        *,
        history_size: int = 1000,
        bookmark_interval: float = 5.0,
        validation: bool = True,
        namespaces: tuple[str, ...] = ("default", "kube-system", "kube-public"),
        state_file: str | None = None,
    ) -> None:
        self.store = Store(history_size=history_size)
        self.bookmark_interval = bookmark_interval
        self.admit = admit if validation else no_admission
        self.types: dict[tuple[str, str, str], ResourceType] = {}
        self._by_key: dict[str, ResourceType] = {}
        self.store.register_types(self._by_key)
        self.address = "127.0.0.1"
        self.requests: list[tuple[str, str]] = []
        self._flowing = asyncio.Event()  # cleared by stall_watches(): open streams go silent
        self._flowing.set()
        self.state_file = state_file
        for t in builtin_types():
            self._register(t)
        if state_file is not None and os.path.exists(state_file):
            self._load(state_file)
            return
        ns_type = self._by_key["/namespaces"]
        for ns in namespaces:
            self.store.create(
                ns_type, "", {"metadata": {"name": ns}, "status": {"phase": "Active"}}, admit=self.admit
            )

    # ------------------------------------------------------------------ types and CRDs

    def _register(self, t: ResourceType) -> None:
        self.types[(t.group, t.version, t.plural)] = t
        self._by_key[t.key] = t

    def _unregister_crd(self, crd: dict[str, Any]) -> None:
        for t in types_from_crd(crd):
            existing = self.types.pop((t.group, t.version, t.plural), None)
            if existing is not None:
                self._by_key.pop(existing.key, None)
                self.store.drop_resource(existing)

    def _established(self, crd: dict[str, Any]) -> dict[str, Any]:
        crd = dict(crd)
        now = now_rfc3339()
        names = crd.get("spec", {}).get("names", {})
        crd["status"] = {
            "acceptedNames": names,
            "storedVersions": [
                v["name"] for v in crd.get("spec", {}).get("versions", []) if v.get("storage")
            ],
            "conditions": [
                {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": now}
                for t, r, m in (
                    ("NamesAccepted", "NoConflicts", "no conflicts found"),
                    ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                )
            ],
        }
        return crd

    def install_crd(self, crd: dict[str, Any]) -> dict[str, Any]:
        """Create (or replace) a CRD and serve its resource, as `kubectl apply -f crd.yaml` would."""
        crd_type = self._by_key[CRD_KEY]
        name = crd["metadata"]["name"]
        try:
            current = self.store.get(crd_type, "", name)
        except ApiError:
            stored = self.store.create(crd_type, "", json.loads(json.dumps(crd)), admit=self.admit)
        else:
            replacement = json.loads(json.dumps(crd))
            replacement["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            stored = self.store.update(
                crd_type,
                "",
                name,
                replacement,
                subresource=None,
                admit=self.admit,
                require_resource_version=False,
            )
        return self._after_crd_write(stored)

    def _after_crd_write(self, stored: dict[str, Any]) -> dict[str, Any]:
        crd_type = self._by_key[CRD_KEY]
        name = stored["metadata"]["name"]
        for t in types_from_crd(stored):
            self._register(t)
        if not stored.get("status", {}).get("conditions"):
            stored = self.store.update(
                crd_type,
                "",
                name,
                self._established(stored),
                subresource="status",
                admit=self.admit,
                require_resource_version=False,
            )
        else:
            for t in types_from_crd(stored):
                t.crd = stored
        for t in types_from_crd(stored):
            self.types[(t.group, t.version, t.plural)].crd = stored
        return stored

    def install_crd_file(self, path: str) -> None:
        """Install every CRD of a YAML file (multi-document allowed)."""
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    self.install_crd(doc)

    # ------------------------------------------------------------------ persistence (for the demo)

    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
        for key, namespace, name, obj in state["objects"]:
            self.store.objects[(key, namespace, name)] = obj
            if key == CRD_KEY:
                for t in types_from_crd(obj):
                    self._register(t)
        self.store.resource_version = int(state["resourceVersion"])
        self.store.compacted_through = self.store.resource_version  # no history survives a restart

    def save(self) -> None:
        """Write every object to the state file (atomically), when one is configured."""
        if self.state_file is None:
            return
        state = {
            "resourceVersion": self.store.resource_version,
            "objects": [[k, ns, n, obj] for (k, ns, n), obj in sorted(self.store.objects.items())],
        }
        tmp = f"{self.state_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(tmp, self.state_file)

    # ------------------------------------------------------------------ fault hooks

    def drop_watches(self) -> int:
        """Cut every open watch stream; returns how many were cut."""
        return self.store.drop_watches()

    def stall_watches(self, stalled: bool = True) -> None:
        """Make every watch stream go silent (no events, no bookmarks) without closing, or flow again."""
        if stalled:
            self._flowing.clear()
        else:
            self._flowing.set()

    def expire_watches(self) -> int:
        """End every open watch so that its resume gets 410 Gone (and the client must list again)."""
        return self.store.expire_watches()

    async def drop_watches_async(self) -> int:
        """`drop_watches()` as a coroutine, for callers on another thread's loop."""
        return self.drop_watches()

    def compact(self) -> None:
        """Forget the event history: a watch from any older resourceVersion now gets 410 Gone."""
        self.store.compact()

    # ------------------------------------------------------------------ routing

    def app(self) -> web.Application:
        application = web.Application(client_max_size=16 * 1024 * 1024)
        application.router.add_route("*", "/{tail:.*}", self._handle)
        return application

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        try:
            response = await self._dispatch(request)
            dry = request.query.get("dryRun") == "All"
            if request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status < 300 and not dry:
                self.save()
            return response
        except ApiError as exc:
            return web.json_response(exc.status(), status=exc.code)
        except Exception as exc:  # a simulator bug: answer like the API server's panic handler, and log it
            _log.exception("kubesim: %s %s failed", request.method, request.path)
            error = ApiError(code=500, reason="InternalError", message=f"an error on the server: {exc!r}")
            return web.json_response(error.status(), status=500)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return web.json_response(discovery.version_info())
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if parts[:1] == ["_kubesim"]:
            return self._control(request, parts[1:])
        if parts[:1] == ["openapi"]:
            return self._openapi(parts[1:])
        if path == "/api":
            return web.json_response(discovery.api_versions(f"{self.address}"))
        if path == "/apis":
            return web.json_response(discovery.group_list(list(self.types.values())))
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        elif parts[:1] == ["apis"] and len(parts) == 2:
            doc = discovery.group(parts[1], list(self.types.values()))
            if doc is None:
                raise ApiError(
                    code=404, reason="NotFound", message="the server could not find the requested resource"
                )
            return web.json_response(doc)
        else:
            raise ApiError(
                code=404, reason="NotFound", message="the server could not find the requested resource"
            )
        in_gv = [t for t in self.types.values() if t.group == group and t.version == version]
        if not rest:
            if not in_gv:
                raise ApiError(
                    code=404, reason="NotFound", message="the server could not find the requested resource"
                )
            gv = f"{group}/{version}" if group else version
            return web.json_response(discovery.resource_list(gv, in_gv))
        target = self._target(group, version, rest)
        return await self._serve(request, target)

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in self.types:
            namespace, rest = rest[1], rest[2:]
        resource = self.types.get((group, version, rest[0]))
        if resource is None or len(rest) > 3:
            raise ApiError(
                code=404, reason="NotFound", message="the server could not find the requested resource"
            )
        name = rest[1] if len(rest) >= 2 else None
        subresource = rest[2] if len(rest) == 3 else None
        if subresource is not None and not (subresource == "status" and resource.status_subresource):
            raise ApiError(
                code=404, reason="NotFound", message="the server could not find the requested resource"
            )
        if resource.namespaced and name is not None and namespace is None:
            raise ApiError(
                code=404, reason="NotFound", message="the server could not find the requested resource"
            )
        if not resource.namespaced:
            namespace = None
        return Target(resource=resource, namespace=namespace, name=name, subresource=subresource)

    def _control(self, request: web.Request, parts: list[str]) -> web.Response:
        if request.method != "POST":
            raise ApiError(code=405, reason="MethodNotAllowed", message="use POST")
        if parts == ["drop-watches"]:
            return web.json_response({"dropped": self.drop_watches()})
        if parts == ["expire-watches"]:
            return web.json_response({"expired": self.expire_watches()})
        if parts == ["compact"]:
            self.compact()
            return web.json_response({"compactedThrough": self.store.compacted_through})
        raise ApiError(code=404, reason="NotFound", message="unknown control endpoint")

    def _openapi(self, parts: list[str]) -> web.Response:
        types = list(self.types.values())
        if parts == ["v3"]:
            return web.json_response(discovery.openapi_root(types))
        if parts[:1] == ["v3"]:
            doc = discovery.openapi_for("/".join(parts[1:]), types)
            if doc is not None:
                return web.json_response(doc)
        raise ApiError(
            code=404, reason="NotFound", message="the server could not find the requested resource"
        )

    # ------------------------------------------------------------------ verbs

    async def _serve(self, request: web.Request, target: Target) -> web.StreamResponse:
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.query.get("dryRun") == "All":
            # Server-side dry run: the whole write (admission included) against a throw-away state.
            with self.store.dry_run():
                return await self._serve_verb(request, target)
        return await self._serve_verb(request, target)

    async def _serve_verb(self, request: web.Request, target: Target) -> web.StreamResponse:
        method = request.method
        query = request.query
        if method == "GET" and target.name is None:
            if query.get("watch") in ("true", "1", "True"):
                return await self._watch(request, target)
            return self._list(request, target)
        if method == "GET":
            obj = self.store.get(target.resource, target.namespace or "", target.name or "")
            return self._object_response(request, target.resource, obj)
        if method == "POST" and target.name is None:
            body = await _json_body(request)
            created = self.store.create(target.resource, target.namespace or "", body, admit=self.admit)
            if target.resource.key == CRD_KEY:
                created = self._after_crd_write(created)
            return web.json_response(created, status=201)
        if method == "PUT" and target.name is not None:
            body = await _json_body(request)
            updated = self.store.update(
                target.resource,
                target.namespace or "",
                target.name,
                body,
                subresource=target.subresource,
                admit=self.admit,
                require_resource_version=target.resource.custom,
            )
            if target.resource.key == CRD_KEY and target.subresource is None:
                updated = self._after_crd_write(updated)
            return web.json_response(updated)
        if method == "PATCH" and target.name is not None:
            current = self.store.get(target.resource, target.namespace or "", target.name)
            patched = apply_patch(
                content_type=request.headers.get("Content-Type", ""),
                body=await request.read(),
                current=current,
                custom=target.resource.custom,
            )
            updated = self.store.update(
                target.resource,
                target.namespace or "",
                target.name,
                patched,
                subresource=target.subresource,
                admit=self.admit,
                require_resource_version=False,
            )
            if target.resource.key == CRD_KEY and target.subresource is None:
                updated = self._after_crd_write(updated)
            return web.json_response(updated)
        if method == "DELETE" and target.name is not None:
            body = await _json_body(request, default={})
            deleted = self.store.delete(
                target.resource, target.namespace or "", target.name, preconditions=body.get("preconditions")
            )
            if target.resource.key == CRD_KEY and (CRD_KEY, "", target.name) not in self.store.objects:
                self._unregister_crd(deleted)
            return web.json_response(deleted)
        if method == "DELETE":
            return self._delete_collection(request, target)
        raise ApiError(code=405, reason="MethodNotAllowed", message=f"{method} is not supported here")

    def _filtered(self, request: web.Request, target: Target) -> list[dict[str, Any]]:
        labels = parse_label_selector(request.query.get("labelSelector"))
        fields = parse_field_selector(request.query.get("fieldSelector"))
        return [
            o
            for o in self.store.list(target.resource, target.namespace)
            if labels(o["metadata"].get("labels") or {}) and fields(o)
        ]

    def _list(self, request: web.Request, target: Target) -> web.Response:
        items = self._filtered(request, target)
        rv = str(self.store.resource_version)
        if _wants_table(request):
            return web.json_response(
                table(
                    target.resource,
                    items,
                    resource_version=rv,
                    include_object=request.query.get("includeObject", ""),
                )
            )
        return web.json_response(
            {
                "apiVersion": target.resource.api_version,
                "kind": f"{target.resource.kind}List",
                "metadata": {"resourceVersion": rv},
                "items": items,
            }
        )

    def _object_response(
        self, request: web.Request, resource: ResourceType, obj: dict[str, Any]
    ) -> web.Response:
        if _wants_table(request):
            rv = obj["metadata"]["resourceVersion"]
            return web.json_response(
                table(
                    resource,
                    [obj],
                    resource_version=rv,
                    include_object=request.query.get("includeObject", ""),
                )
            )
        return web.json_response(obj)

    def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        items = self._filtered(request, target)
        for obj in items:
            with contextlib.suppress(ApiError):
                self.store.delete(
                    target.resource, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
                )
        return web.json_response(
            {"apiVersion": target.resource.api_version, "kind": f"{target.resource.kind}List", "items": items}
        )

    # ------------------------------------------------------------------ watch

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        query = request.query
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"))
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1", "True")
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else DEFAULT_WATCH_TIMEOUT
        as_table = _wants_table(request)
        resource = target.resource
        requested_rv = query.get("resourceVersion", "")

        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)

        async def send(type_: str, obj: dict[str, Any]) -> None:
            await self._flowing.wait()
            if as_table and type_ not in ("ERROR", "BOOKMARK"):
                obj = table(
                    resource, [obj], resource_version=obj["metadata"]["resourceVersion"], include_object=""
                )
            await response.write(json.dumps({"type": type_, "object": obj}).encode() + b"\n")

        def matches(obj: dict[str, Any]) -> bool:
            return labels(obj["metadata"].get("labels") or {}) and fields(obj)

        sub = self.store.subscribe(resource=resource, namespace=target.namespace)
        try:
            if requested_rv in ("", "0"):
                last = self.store.resource_version
                initial: list[Event] = []
                for obj in self.store.list(resource, target.namespace):
                    if matches(obj):
                        await send("ADDED", obj)
            else:
                try:
                    last = int(requested_rv)
                except ValueError as exc:
                    raise errors.bad_request(f"invalid resource version: {requested_rv!r}") from exc
                try:
                    initial = self.store.events_since(
                        resource=resource, namespace=target.namespace, resource_version=last
                    )
                except ApiError as exc:
                    await send("ERROR", exc.status())
                    return response
            for event in initial:
                if matches(event.object):
                    await send(event.type, event.object)
                last = max(last, event.resource_version)
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + self.bookmark_interval
            while not sub.closed:
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                try:
                    event_or_end = await asyncio.wait_for(sub.queue.get(), timeout=wait)
                except TimeoutError:
                    if bookmarks and time.monotonic() >= next_bookmark and not sub.closed:
                        await send(
                            "BOOKMARK",
                            {
                                "kind": resource.kind,
                                "apiVersion": resource.api_version,
                                "metadata": {"resourceVersion": str(max(last, self.store.resource_version))},
                            },
                        )
                        next_bookmark = time.monotonic() + self.bookmark_interval
                    continue
                if event_or_end is None:
                    break  # dropped by a fault hook
                if event_or_end.resource_version <= last:
                    continue
                last = event_or_end.resource_version
                if matches(event_or_end.object):
                    await send(event_or_end.type, event_or_end.object)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.unsubscribe(sub)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


async def _json_body(request: web.Request, *, default: Any = None) -> Any:
    raw = await request.read()
    if not raw:
        if default is not None:
            return default
        raise errors.bad_request("the request body is empty")
    content_type = request.headers.get("Content-Type", "")
    if "protobuf" in content_type or "cbor" in content_type:
        # kubesim speaks JSON (and YAML) only; 415 is what client-go understands as "send JSON instead".
        raise errors.ApiError(
            code=415,
            reason="UnsupportedMediaType",
            message=(
                f"the body of the request was in an unknown format - accepted media types include: "
                f"application/json, application/yaml (not {content_type})"
            ),
        )
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"error decoding request body: {exc}") from exc
