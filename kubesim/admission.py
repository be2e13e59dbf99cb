"""Admission of a write: metadata checks, then for custom resources the CRD's defaults, schema and CEL.

The order is the API server's: defaulting from the structural schema, then OpenAPI schema validation,
then the `x-kubernetes-validations` CEL rules (with `oldSelf` on updates, for transition rules). Any
failure is one 422 Invalid whose causes name the fields, with the rule's own message, e.g.
`PerconaServerMySQLClusterSet.ps.percona.com "cs" is invalid: spec: Invalid value: "object":
spec.primaryCluster not found in spec.clusters`.

Schema handling is delegated to `api.admission` (pruning, defaults, structural validation, CEL), so the
simulator and the product's own validation share one implementation of Kubernetes' CEL library.
Transition rules (`oldSelf`) are not evaluated: the product's CRD has none.
"""

from __future__ import annotations

import copy
from typing import Any

from api import formats
from api.admission import admit_with_schema
from kubesim import errors
from kubesim.errors import FieldCause
from kubesim.resources import ResourceType


def _metadata_causes(resource: ResourceType, obj: dict[str, Any]) -> list[FieldCause]:
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    check = (
        formats.dns1123_label_errors if resource.key == "/namespaces" else formats.dns1123_subdomain_errors
    )
    causes = [
        FieldCause(field="metadata.name", message=f'Invalid value: "{name}": {problem}')
        for problem in check(name)
    ]
    for section in ("labels", "annotations"):
        values = meta.get(section)
        if values is not None and (
            not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
        ):
            causes.append(
                FieldCause(field=f"metadata.{section}", message="Invalid value: must be a map of strings")
            )
    return causes


def _schema_causes(resource: ResourceType, obj: dict[str, Any]) -> tuple[dict[str, Any], list[FieldCause]]:
    schema = resource.version_schema()
    if schema is None:
        return obj, []
    admission = admit_with_schema(schema, copy.deepcopy(obj))
    causes = [
        FieldCause(field=v.field_path, message=v.body(), reason=v.type.reason) for v in admission.violations
    ]
    stored = admission.object if isinstance(admission.object, dict) else obj
    return stored, causes


def admit(resource: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """The object as stored after defaulting; raises 422 Invalid when any check fails."""
    causes = _metadata_causes(resource, obj)
    if resource.custom:
        obj, schema_causes = _schema_causes(resource, obj)
        causes += schema_causes
    if resource.key == "/secrets":
        obj = _fold_string_data(obj)
    if causes:
        raise errors.invalid(
            kind=resource.kind,
            group=resource.group,
            name=(obj.get("metadata") or {}).get("name", ""),
            causes=causes,
        )
    return obj


def _fold_string_data(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret's write-only `stringData` is merged into `data` (base64), as the API server does."""
    import base64

    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
    return obj


def no_admission(resource: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """Admission without schema or CEL checks (metadata and Secret folding only), for tests of the
    product's own validation of a spec the API server would have rejected."""
    causes = _metadata_causes(resource, obj)
    if causes:
        raise errors.invalid(
            kind=resource.kind, group=resource.group, name=obj["metadata"].get("name", ""), causes=causes
        )
    return _fold_string_data(obj) if resource.key == "/secrets" else obj
