"""Validation errors shaped like Kubernetes' `field.Error`, shared by the schema validator, CEL and pydantic.

A `Violation` prints exactly as the API server prints a field error, e.g.

    spec.clusters[0].endpoints[0].host: Invalid value: "string": host must be a valid IP address or ...

so a 422 from the local API server (kubesim), a CLI error and a test assertion all read the same, and
every message names the field. `invalid_message()` builds the whole 422 message and `Violation.cause()`
one entry of the Status' `details.causes`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError


class ViolationType(StrEnum):
    """`field.ErrorType`; the value is the StatusCause reason, `text` what Kubernetes prints."""

    NOT_FOUND = "FieldValueNotFound"
    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    INTERNAL = "InternalError"
    TYPE_INVALID = "FieldValueTypeInvalid"

    @property
    def reason(self) -> str:
        """The `details.causes[].reason` of this error type (metav1.CauseType)."""
        return str(self.value)

    @property
    def text(self) -> str:
        """`field.ErrorType.String()`: how the type reads in a message."""
        return _TEXTS[self]


_TEXTS = {
    ViolationType.NOT_FOUND: "Not found",
    ViolationType.REQUIRED: "Required value",
    ViolationType.DUPLICATE: "Duplicate value",
    ViolationType.INVALID: "Invalid value",
    ViolationType.NOT_SUPPORTED: "Unsupported value",
    ViolationType.FORBIDDEN: "Forbidden",
    ViolationType.TOO_LONG: "Too long",
    ViolationType.TOO_MANY: "Too many",
    ViolationType.INTERNAL: "Internal error",
    ViolationType.TYPE_INVALID: "Invalid value",
}

# Types whose body carries no value (field.Error.ErrorBody).
_NO_VALUE = {
    ViolationType.REQUIRED,
    ViolationType.FORBIDDEN,
    ViolationType.TOO_LONG,
    ViolationType.INTERNAL,
}

# Schema errors after which Kubernetes does not run the CEL rules (apiextensions' hasBlockingErr).
BLOCKING_TYPES = frozenset(
    {
        ViolationType.NOT_SUPPORTED,
        ViolationType.REQUIRED,
        ViolationType.TOO_LONG,
        ViolationType.TOO_MANY,
        ViolationType.TYPE_INVALID,
    }
)
BLOCKING_MESSAGE = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)


def render_value(value: Any) -> str:
    """A bad value as Kubernetes prints it: strings quoted, numbers bare, objects as JSON."""
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Violation:
    """One field error: where (`field_path`, e.g. `spec.clusters[1].innodbClusterName`), what (`message`).

    `value` is the already-rendered bad value (for CEL rules Kubernetes shows the schema type, e.g.
    `"string"` or `"object"`); None when the error type prints no value.
    """

    field_path: str
    message: str
    type: ViolationType = ViolationType.INVALID
    value: str | None = None

    def body(self) -> str:
        """`field.Error.ErrorBody()`: the text after `<field>: `."""
        text = self.type.text
        if self.type not in _NO_VALUE and self.value is not None:
            text = f"{text}: {self.value}"
        if self.message:
            text = f"{text}: {self.message}"
        return text

    def __str__(self) -> str:
        return f"{self.field_path}: {self.body()}" if self.field_path else self.body()

    def cause(self) -> dict[str, str]:
        """One `details.causes` entry of a 422 Status."""
        return {"reason": self.type.reason, "message": self.body(), "field": self.field_path}


def invalid_message(kind: str, group: str, name: str, violations: list[Violation]) -> str:
    """The message of a 422 Invalid Status: `Kind.group "name" is invalid: <error or [e1, e2]>`."""
    errors = [str(v) for v in violations]
    joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    return f'{kind}.{group} "{name}" is invalid: {joined}'


def join_path(base: str, part: str | int) -> str:
    """Extend a field path the way `field.Path` prints: `a.b`, `a[0]`, `a[key]`."""
    if isinstance(part, int):
        return f"{base}[{part}]"
    return f"{base}.{part}" if base else part


def pydantic_violations(error: ValidationError, *, prefix: str = "") -> list[Violation]:
    """The errors of a pydantic validation of a CR part as Violations with wire (camelCase) field paths.

    Pydantic reports locations by alias, so `loc=('clusters', 0, 'innodbClusterName')` becomes
    `spec.clusters[0].innodbClusterName` with `prefix="spec"`; a model validator's error names the object.
    """
    out = []
    for item in error.errors():
        path = prefix
        for part in item["loc"]:
            path = join_path(path, part)
        message = item["msg"].removeprefix("Value error, ")
        kind = ViolationType.REQUIRED if item["type"] == "missing" else ViolationType.INVALID
        value = None if kind is ViolationType.REQUIRED else _pydantic_value(item.get("input"))
        out.append(Violation(path, "" if kind is ViolationType.REQUIRED else message, kind, value))
    return out


def _pydantic_value(value: Any) -> str | None:
    """Scalars as Kubernetes prints them; objects and lists by their type, as the CEL errors do."""
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list | tuple):
        return '"array"'
    try:
        return render_value(value)
    except TypeError:
        return None
