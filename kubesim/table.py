"""Server-side printing: `meta.k8s.io/v1 Table` answers for `kubectl get`.

kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io`; the API server answers with the
columns it knows: for a custom resource, Name followed by the CRD's `additionalPrinterColumns` (only
Age when there are none), each cell computed from the column's JSONPath. Date cells are rendered as an
age ("5m") by the server, as apiextensions-apiserver's table convertor does. The JSONPath subset covers
what CRDs use: `.a.b`, `.a[0].b`, `.a[*].b` and filters `.a[?(@.type=='Ready')].b`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from kubesim.resources import ResourceType

_TOKEN = re.compile(
    r"\.([A-Za-z0-9_-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]"
)


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Every value `path` selects in `obj` (an empty list when nothing matches)."""
    nodes: list[Any] = [obj]
    pos = 0
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None:
            return []
        pos = match.end()
        key, index, filter_key, filter_value = match.groups()
        following: list[Any] = []
        for node in nodes:
            if key is not None:
                if isinstance(node, dict) and key in node:
                    following.append(node[key])
            elif index is not None:
                if isinstance(node, list):
                    if index == "*":
                        following.extend(node)
                    elif int(index) < len(node):
                        following.append(node[int(index)])
            elif isinstance(node, list):
                for item in node:
                    found = jsonpath(item, "." + filter_key)
                    if found and str(found[0]) == filter_value:
                        following.append(item)
        nodes = following
    return nodes


def human_age(timestamp: str, *, now: datetime | None = None) -> str:
    """`ConvertToHumanReadableDateType`: 42s, 5m, 3h, 2d, ..."""
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 0:
        return "<invalid>"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d" if days < 365 * 2 else f"{days // 365}y"


def _columns(resource: ResourceType) -> list[dict[str, Any]]:
    cols = resource.printer_columns()
    if not cols:
        cols = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    return cols


def _cell(column: dict[str, Any], obj: dict[str, Any]) -> Any:
    values = jsonpath(obj, column.get("jsonPath", ""))
    if not values:
        return None
    value = values[0] if len(values) == 1 else ",".join(str(v) for v in values)
    if column.get("type") == "date" and isinstance(value, str):
        return human_age(value)
    if isinstance(value, dict | list):
        return str(value)
    return value


def column_definitions(resource: ResourceType) -> list[dict[str, Any]]:
    """`columnDefinitions` of the Table for `resource`."""
    defs: list[dict[str, Any]] = [
        {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}
    ]
    for col in _columns(resource):
        defs.append(
            {
                "name": col["name"],
                "type": col.get("type", "string"),
                "format": col.get("format", ""),
                "description": col.get("description", ""),
                "priority": col.get("priority", 0),
            }
        )
    return defs


def table(
    resource: ResourceType, objects: list[dict[str, Any]], *, resource_version: str, include_object: str
) -> dict[str, Any]:
    """A Table of `objects`; `include_object` is the request's `includeObject` (None|Metadata|Object)."""
    cols = _columns(resource)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [obj["metadata"]["name"], *[_cell(c, obj) for c in cols]]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": column_definitions(resource),
        "rows": rows,
    }
