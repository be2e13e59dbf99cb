"""Discovery and OpenAPI documents, the first things kubectl and the clients fetch.

- `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`: the legacy (unaggregated)
  discovery documents; kubectl falls back to them when the server does not answer the aggregated form.
- `/openapi/v3` and `/openapi/v3/<api path>`: one document per group version, with every path's
  operations declaring the `fieldValidation` query parameter. kubectl looks for that parameter to
  decide that the server validates fields itself (`kubectl apply --validate=strict`, the default), so
  `apply` and `create` work without `--validate=false`. The CRD's schema is published under
  `components.schemas` with its `x-kubernetes-group-version-kind`, so `kubectl explain` can read it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kubesim.resources import ResourceType

KUBE_VERSION = {"major": "1", "minor": "37", "gitVersion": "v1.37.0+kubesim", "platform": "linux/amd64"}


def version_info() -> dict[str, Any]:
    return {
        **KUBE_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-01T00:00:00Z",
        "goVersion": "go1.25",
        "compiler": "gc",
    }


def api_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def resource_list(group_version: str, types: list[ResourceType]) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [entry for t in types for entry in t.discovery_entries()],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def group_list(types: list[ResourceType]) -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for t in types:
        if t.group and t.version not in groups.setdefault(t.group, []):
            groups[t.group].append(t.version)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(g, vs) for g, vs in sorted(groups.items())],
    }


def group(name: str, types: list[ResourceType]) -> dict[str, Any] | None:
    versions = sorted({t.version for t in types if t.group == name})
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _api_path(t: ResourceType) -> str:
    return f"apis/{t.group}/{t.version}" if t.group else f"api/{t.version}"


def _operation(t: ResourceType, verb: str) -> dict[str, Any]:
    params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}]
    return {
        "operationId": f"{verb}{t.kind}",
        "parameters": params,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-group-version-kind": {"group": t.group, "version": t.version, "kind": t.kind},
        "x-kubernetes-action": verb,
    }


def _schema_name(t: ResourceType) -> str:
    reversed_group = ".".join(reversed(t.group.split("."))) if t.group else "io.k8s.api.core"
    return f"{reversed_group}.{t.version}.{t.kind}"


def openapi_document(api_path: str, types: list[ResourceType]) -> dict[str, Any]:
    """The OpenAPI v3 document of one group version."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for t in types:
        base = (
            f"/{api_path}/namespaces/{{namespace}}/{t.plural}" if t.namespaced else f"/{api_path}/{t.plural}"
        )
        paths[base] = {"post": _operation(t, "post"), "get": _operation(t, "list")}
        paths[base + "/{name}"] = {
            "get": _operation(t, "get"),
            "put": _operation(t, "put"),
            "patch": _operation(t, "patch"),
            "delete": _operation(t, "delete"),
        }
        schema = dict(t.version_schema() or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
        schema["x-kubernetes-group-version-kind"] = [{"group": t.group, "version": t.version, "kind": t.kind}]
        schemas[_schema_name(t)] = schema
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def openapi_root(types: list[ResourceType]) -> dict[str, Any]:
    """`/openapi/v3`: one entry per group version, with a content hash as the API server gives."""
    by_path: dict[str, list[ResourceType]] = {}
    for t in types:
        by_path.setdefault(_api_path(t), []).append(t)
    paths = {}
    for api_path, members in sorted(by_path.items()):
        digest = hashlib.sha512(
            json.dumps(openapi_document(api_path, members), sort_keys=True).encode()
        ).hexdigest()
        paths[api_path] = {"serverRelativeURL": f"/openapi/v3/{api_path}?hash={digest[:32].upper()}"}
    return {"paths": paths}


def openapi_for(api_path: str, types: list[ResourceType]) -> dict[str, Any] | None:
    members = [t for t in types if _api_path(t) == api_path]
    return openapi_document(api_path, members) if members else None
