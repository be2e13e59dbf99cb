"""API errors as the Kubernetes API server sends them: a `Status` object with reason, code and details.

Clients branch on `reason` and `code` (the kubernetes client raises `ApiException(status=code)`, kubectl
prints `message`), so every failure the simulator produces goes through `ApiError` and comes out in the
exact wire shape of `metav1.Status`.

    ApiError
     ├── status 400 BadRequest
     ├── status 404 NotFound
     ├── status 405 MethodNotAllowed
     ├── status 409 AlreadyExists | Conflict
     ├── status 410 Expired        (watch from a compacted resourceVersion)
     ├── status 415 UnsupportedMediaType
     └── status 422 Invalid        (schema, CEL and metadata validation; failed JSON-patch tests)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class FieldCause:
    """One `details.causes[]` entry of an Invalid status: which field, and why."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"


@dataclass(kw_only=True)
class ApiError(Exception):
    """An error answer of the API server; `status()` is its body."""

    code: int
    reason: str
    message: str
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    causes: list[FieldCause] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> dict[str, Any]:
        """The `metav1.Status` body of this error."""
        details: dict[str, Any] = {}
        if self.name is not None:
            details["name"] = self.name
        if self.group is not None:
            details["group"] = self.group
        if self.kind is not None:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [
                {"reason": c.reason, "message": c.message, "field": c.field} for c in self.causes
            ]
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


def not_found(*, resource: str, name: str, group: str = "") -> ApiError:
    """404 as for `kubectl get perconaservermysqlclustersets.ps.percona.com x`."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        code=404,
        reason="NotFound",
        message=f'{qualified} "{name}" not found',
        name=name,
        group=group,
        kind=resource,
    )


def already_exists(*, resource: str, name: str, group: str = "") -> ApiError:
    """409 AlreadyExists on a create of an existing name."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        code=409,
        reason="AlreadyExists",
        message=f'{qualified} "{name}" already exists',
        name=name,
        group=group,
        kind=resource,
    )


def conflict(*, resource: str, name: str, group: str = "", detail: str | None = None) -> ApiError:
    """409 Conflict on a stale resourceVersion (optimistic concurrency)."""
    qualified = f"{resource}.{group}" if group else resource
    why = (
        detail
        or "the object has been modified; please apply your changes to the latest version and try again"
    )
    return ApiError(
        code=409,
        reason="Conflict",
        message=f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
        name=name,
        group=group,
        kind=resource,
    )


def invalid(*, kind: str, group: str, name: str, causes: list[FieldCause]) -> ApiError:
    """422 Invalid, with the message format of apimachinery's `NewInvalid`."""
    qualified = f"{kind}.{group}" if group else kind
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return ApiError(
        code=422,
        reason="Invalid",
        message=f'{qualified} "{name}" is invalid: {joined}',
        name=name,
        group=group,
        kind=kind,
        causes=causes,
    )


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(code=400, reason="BadRequest", message=message)


def gone(message: str) -> ApiError:
    """410 Expired: the resourceVersion asked for is older than the retained event history."""
    return ApiError(code=410, reason="Expired", message=message)
