"""The Percona validation cases (percona-clusterset.md §2.1) as mutations of a valid spec, with the field
and the message a real API server names in its 422 answer. Shared by the client and kubectl tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Mutation = Callable[[dict[str, Any]], None]


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(spec: dict[str, Any]) -> None:
        node = spec
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _delete(key: str) -> Mutation:
    return lambda spec: spec.pop(key)


# (case id, mutation of a valid spec, field named in the message, text of the message)
PERCONA_CASES: list[tuple[str, Mutation, str, str]] = [
    (
        "primary-not-alphanumeric",
        _set(["primaryCluster"], "dc-1"),
        "spec.primaryCluster",
        "primaryCluster must contain only alphanumeric characters",
    ),
    ("primary-too-long", _set(["primaryCluster"], "a" * 64), "spec.primaryCluster", "Too long"),
    ("primary-missing", _delete("primaryCluster"), "spec.primaryCluster", "Required value"),
    (
        "primary-not-in-clusters",
        _set(["primaryCluster"], "dc9"),
        "spec",
        "spec.primaryCluster not found in spec.clusters",
    ),
    (
        "credentials-name-empty",
        _set(["credentialsSecret", "name"], ""),
        "spec.credentialsSecret",
        "credentialsSecret.name must be set",
    ),
    ("credentials-missing", _delete("credentialsSecret"), "spec.credentialsSecret", "Required value"),
    ("clusters-empty", _set(["clusters"], []), "spec.clusters", "should have at least 1 items"),
    (
        "cluster-names-unique",
        _set(["clusters", 1, "innodbClusterName"], "dc1"),
        "spec.clusters",
        "cluster names must be unique",
    ),
    (
        "cluster-name-not-alphanumeric",
        _set(["clusters", 2, "innodbClusterName"], "dc_3"),
        "spec.clusters[2].innodbClusterName",
        "innodbClusterName must contain only alphanumeric characters",
    ),
    (
        "host-invalid",
        _set(["clusters", 0, "endpoints", 0, "host"], "Not_A_Host"),
        "spec.clusters[0].endpoints[0].host",
        "host must be a valid IP address or domain name",
    ),
    (
        "host-unique",
        _set(["clusters", 1, "endpoints", 0, "host"], "127.0.1.1"),
        "spec",
        "endpoint host must be unique across all clusters",
    ),
    ("endpoints-empty", _set(["clusters", 0, "endpoints"], []), "spec.clusters[0].endpoints", "at least 1"),
    ("port-out-of-range", _set(["clusters", 0, "endpoints", 0, "port"], 70000), "port", "less than or equal"),
    ("ssl-mode-enum", _set(["sslMode"], "SOMETIMES"), "spec.sslMode", "Unsupported value"),
    (
        "recovery-method-enum",
        _set(["createReplicaClusterOptions"], {"recoveryMethod": "magic"}),
        "spec.createReplicaClusterOptions.recoveryMethod",
        "Unsupported value",
    ),
    (
        "runner-image-empty",
        _set(["mysqlshellRunner"], {"image": ""}),
        "spec.mysqlshellRunner.image",
        "at least 1 chars long",
    ),
]
