"""What the API server does to a custom resource before storing it: prune, default, validate (schema + CEL).

`admit(crd, obj)` chains `api.schema` and `api.cel` in apiextensions-apiserver's order, including its rule
that CEL rules are not run when the schema validation already found a blocking error (wrong type,
required, enum, too long, too many): then one extra root error says some rules were not checked. The
local Kubernetes API server answers 422 when `Admission.violations` is not empty, with
`api.violations.invalid_message(...)` as the message and `[v.cause() for v in violations]` as causes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.cel import evaluate_crd_validations
from api.crd import version_schema
from api.schema import apply_defaults, prune, validate_schema
from api.violations import BLOCKING_MESSAGE, BLOCKING_TYPES, Violation, ViolationType


@dataclass(frozen=True)
class Admission:
    """The object as it would be stored, why it cannot be (empty when it can), and what was pruned."""

    object: Any
    violations: list[Violation] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        """True when the API server would store `object`."""
        return not self.violations


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def as_decoded_json(value: Any) -> Any:
    """`value` as the API server's unstructured JSON decoder leaves it: integers that do not fit int64
    become float64 (so the schema then rejects them as "must be of type integer", as a real server does)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else float(value)
    if isinstance(value, dict):
        return {key: as_decoded_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_decoded_json(item) for item in value]
    return value


def admit_with_schema(schema: dict[str, Any], obj: Any) -> Admission:
    """Prune, default and validate `obj` (a whole CR as JSON) against one version's openAPIV3Schema."""
    pruned_obj, pruned = prune(schema, as_decoded_json(obj))
    defaulted = apply_defaults(schema, pruned_obj)
    violations = validate_schema(schema, defaulted)
    if any(v.type in BLOCKING_TYPES for v in violations):
        violations.append(Violation("", BLOCKING_MESSAGE, ViolationType.INVALID, "null"))
    else:
        violations.extend(evaluate_crd_validations(schema, defaulted))
    return Admission(defaulted, violations, pruned)


def admit(crd: dict[str, Any], obj: Any) -> Admission:
    """`admit_with_schema` with the schema of the CRD version named by `obj["apiVersion"]`."""
    api_version = str(obj.get("apiVersion", "")) if isinstance(obj, dict) else ""
    version = api_version.rpartition("/")[2]
    return admit_with_schema(version_schema(crd, version), obj)
