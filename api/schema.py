"""Structural OpenAPI v3 schema semantics of the API server: pruning, defaulting and validation.

The local Kubernetes API server (kubesim) answers create/update/patch of a custom resource as a real one
does; these functions are the schema half of that (the CEL half is `api.cel`). They work on plain JSON
values (dict/list/str/int/float/bool/None) and a CRD version's `openAPIV3Schema` dict, and follow
apiextensions-apiserver:

1. `prune(schema, obj)`: drop fields the schema does not declare (unless
   `x-kubernetes-preserve-unknown-fields`); `metadata` is left alone except at the root.
2. `apply_defaults(schema, obj)`: drop `null`s of non-nullable fields, then fill `default`s, recursing
   into the defaults themselves (an object default of `{}` gets its fields' defaults).
3. `validate_schema(schema, obj)`: types, required, enum, min/max, minLength/maxLength, minItems/maxItems,
   and the uniqueness of `x-kubernetes-list-type: map|set` lists; errors as `Violation`s with Kubernetes'
   wording. The CEL rules are not evaluated here.

None of them mutates its input.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from api.violations import Violation, ViolationType, join_path, render_value

Schema = dict[str, Any]


def _is_object_schema(schema: Schema) -> bool:
    return schema.get("type") == "object"


def prune(schema: Schema, obj: Any, *, path: str = "") -> tuple[Any, list[str]]:
    """`obj` without the fields `schema` does not declare, and the paths of the fields dropped.

    Kubernetes drops unknown fields silently (or, with `fieldValidation=Strict`, rejects them with
    `unknown field "<path>"`): the returned paths let the caller do either.
    """
    dropped: list[str] = []
    return _prune(schema, copy.deepcopy(obj), path, dropped, root=True), dropped


def _prune(schema: Schema, obj: Any, path: str, dropped: list[str], *, root: bool = False) -> Any:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return obj
    if isinstance(obj, dict) and _is_object_schema(schema):
        properties: dict[str, Schema] | None = schema.get("properties")
        additional = schema.get("additionalProperties")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            child = join_path(path, key)
            if root and key in ("apiVersion", "kind", "metadata"):
                out[key] = value
            elif properties is not None and key in properties:
                out[key] = _prune(properties[key], value, child, dropped)
            elif isinstance(additional, dict):
                out[key] = _prune(additional, value, f"{path}[{key}]", dropped)
            elif additional is True:
                out[key] = value
            else:
                dropped.append(child)
        return out
    if isinstance(obj, list) and schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return [_prune(schema["items"], item, join_path(path, i), dropped) for i, item in enumerate(obj)]
    return obj


def apply_defaults(schema: Schema, obj: Any) -> Any:
    """`obj` with the schema's defaults filled in, as the API server stores it.

    Contract (apiextensions structural defaulting): a `null` for a field that is not `nullable` is
    removed first; then every absent property with a `default` gets a deep copy of it, and defaulting
    recurses into present values and into the defaults just set. Array items and map values are
    defaulted with their `items`/`additionalProperties` schema. Values of the wrong type are left as
    they are for `validate_schema` to report. Returns a new value; `obj` is not changed.
    """
    return _default(schema, copy.deepcopy(obj))


def _default(schema: Schema, obj: Any) -> Any:
    if isinstance(obj, dict) and _is_object_schema(schema):
        properties: dict[str, Schema] = schema.get("properties") or {}
        for key, prop in properties.items():
            if key in obj and obj[key] is None and not prop.get("nullable"):
                del obj[key]
            if key not in obj and "default" in prop:
                obj[key] = copy.deepcopy(prop["default"])
            if key in obj:
                obj[key] = _default(prop, obj[key])
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in [k for k in obj if k not in properties]:
                obj[key] = _default(additional, obj[key])
        return obj
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [_default(schema["items"], item) for item in obj]
    return obj


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _has_type(value: Any, type_name: str) -> bool:
    if isinstance(value, bool) and type_name in ("integer", "number"):
        return False
    if type_name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES.get(type_name, (object,)))


def validate_schema(schema: Schema, obj: Any, *, path: str = "") -> list[Violation]:
    """Every structural-schema violation of `obj` (already pruned and defaulted), CEL rules excluded.

    Messages follow kube-openapi's validator as the API server reports them, e.g.
    `spec.clusters: Required value`, `spec.sslMode: Unsupported value: "X": supported values: "AUTO", ...`,
    `spec.primaryCluster: Too long: may not be more than 63 bytes`,
    `spec.clusters: Too many: 11: must have at most 10 items`,
    `spec.clusters[1]: Duplicate value: {"innodbClusterName":"dc1"}`. At the root, `metadata` is not
    looked into (the API server validates ObjectMeta separately).
    """
    out: list[Violation] = []
    _validate(schema, obj, path, out, root=not path)
    return out


def _validate(schema: Schema, value: Any, path: str, out: list[Violation], *, root: bool = False) -> None:
    label = path or "<root>"
    if value is None:
        if not schema.get("nullable") and "type" in schema:
            out.append(
                Violation(
                    path,
                    f'{label} in body must be of type {schema["type"]}: "null"',
                    ViolationType.TYPE_INVALID,
                    '"null"',
                )
            )
        return
    type_name = schema.get("type")
    if type_name and not _has_type(value, type_name):
        actual = _json_type_name(value)
        out.append(
            Violation(
                path,
                f'{label} in body must be of type {type_name}: "{actual}"',
                ViolationType.TYPE_INVALID,
                f'"{actual}"',
            )
        )
        return
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        supported = ", ".join(render_value(e) for e in enum)
        out.append(
            Violation(
                path, f"supported values: {supported}", ViolationType.NOT_SUPPORTED, render_value(value)
            )
        )
    if isinstance(value, str):
        _validate_string(schema, value, path, label, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(schema, value, path, label, out)
    elif isinstance(value, list):
        _validate_array(schema, value, path, label, out)
    elif isinstance(value, dict):
        _validate_object(schema, value, path, out, root=root)


def _validate_string(schema: Schema, value: str, path: str, label: str, out: list[Violation]) -> None:
    max_length = schema.get("maxLength")
    if max_length is not None and len(value) > max_length:
        out.append(Violation(path, f"may not be more than {max_length} bytes", ViolationType.TOO_LONG))
    min_length = schema.get("minLength")
    if min_length is not None and len(value) < min_length:
        out.append(
            Violation(
                path, f"{label} in body should be at least {min_length} chars long", value=render_value(value)
            )
        )
    if schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            out.append(
                Violation(
                    path, f'{label} in body must be of type date-time: "{value}"', value=render_value(value)
                )
            )


def _validate_number(schema: Schema, value: float, path: str, label: str, out: list[Violation]) -> None:
    minimum = schema.get("minimum")
    if minimum is not None:
        exclusive = schema.get("exclusiveMinimum", False)
        if value < minimum or (exclusive and value == minimum):
            relation = "greater than" if exclusive else "greater than or equal to"
            out.append(
                Violation(path, f"{label} in body should be {relation} {minimum}", value=render_value(value))
            )
    maximum = schema.get("maximum")
    if maximum is not None:
        exclusive = schema.get("exclusiveMaximum", False)
        if value > maximum or (exclusive and value == maximum):
            relation = "less than" if exclusive else "less than or equal to"
            out.append(
                Violation(path, f"{label} in body should be {relation} {maximum}", value=render_value(value))
            )


def _validate_array(schema: Schema, value: list[Any], path: str, label: str, out: list[Violation]) -> None:
    max_items = schema.get("maxItems")
    if max_items is not None and len(value) > max_items:
        out.append(
            Violation(path, f"must have at most {max_items} items", ViolationType.TOO_MANY, str(len(value)))
        )
    min_items = schema.get("minItems")
    if min_items is not None and len(value) < min_items:
        out.append(
            Violation(path, f"{label} in body should have at least {min_items} items", value=str(len(value)))
        )
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _validate(items, item, join_path(path, i), out)
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "map":
        keys: list[str] = schema.get("x-kubernetes-list-map-keys", [])
        seen: set[str] = set()
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            identity = {k: item[k] for k in keys if k in item}
            rendered = render_value(identity)
            if rendered in seen:
                out.append(Violation(join_path(path, i), "", ViolationType.DUPLICATE, rendered))
            seen.add(rendered)
    elif list_type == "set":
        seen_values: set[str] = set()
        for i, item in enumerate(value):
            rendered = render_value(item)
            if rendered in seen_values:
                out.append(Violation(join_path(path, i), "", ViolationType.DUPLICATE, rendered))
            seen_values.add(rendered)


def _validate_object(
    schema: Schema, value: dict[str, Any], path: str, out: list[Violation], *, root: bool
) -> None:
    properties: dict[str, Schema] = schema.get("properties") or {}
    for key in schema.get("required", []):
        if key not in value:
            out.append(Violation(join_path(path, key), "", ViolationType.REQUIRED))
    for key, child in value.items():
        if root and key == "metadata":
            continue
        if key in properties:
            _validate(properties[key], child, join_path(path, key), out)
        elif isinstance(schema.get("additionalProperties"), dict):
            _validate(schema["additionalProperties"], child, f"{path}[{key}]", out)
