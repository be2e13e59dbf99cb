"""Parse a CR (or its spec) into the models, or fail with one typed error that names every bad field.

The watcher, the CLI and the workflows read user input through these two functions instead of calling
`model_validate` directly, so every caller gets the same `InvalidClusterSet` whose message reads like the
API server's (`spec.clusters[0].innodbClusterName: Invalid value: "dc-1": innodbClusterName must
contain only alphanumeric characters`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from api.models import ClusterSetSpec, PerconaServerMySQLClusterSet
from api.violations import Violation, pydantic_violations


class InvalidClusterSet(ValueError):
    """The CR or spec breaks the API's validation; `violations` name each field and what is wrong."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))


def parse_cluster_set(obj: dict[str, Any]) -> PerconaServerMySQLClusterSet:
    """The whole CR as the models see it; raises InvalidClusterSet (paths like `spec.primaryCluster`)."""
    try:
        return PerconaServerMySQLClusterSet.model_validate(obj)
    except ValidationError as exc:
        raise InvalidClusterSet(pydantic_violations(exc)) from None


def parse_spec(spec: dict[str, Any]) -> ClusterSetSpec:
    """A CR's `spec`; raises InvalidClusterSet with paths prefixed by `spec`."""
    try:
        return ClusterSetSpec.model_validate(spec)
    except ValidationError as exc:
        raise InvalidClusterSet(pydantic_violations(exc, prefix="spec")) from None
