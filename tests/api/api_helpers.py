"""Helpers of the api/ tests: Percona's baseline CR, and the two judges (pydantic, API server)."""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic import ValidationError

from api.admission import Admission, admit
from api.crd import build_crd
from api.models import PerconaServerMySQLClusterSet
from api.violations import Violation, pydantic_violations


def valid_cluster_set(name: str = "valid-baseline") -> dict[str, Any]:
    """Percona's `validClusterSet` of validations_test.go, as the JSON the API server receives."""
    return {
        "apiVersion": "ps.percona.com/v1",
        "kind": "PerconaServerMySQLClusterSet",
        "metadata": {"name": name, "namespace": "psclusterset-validations"},
        "spec": {
            "primaryCluster": "dc1",
            "credentialsSecret": {"name": "clusterset-credentials", "key": "credentials"},
            "mysqlshellRunner": {"image": "percona/percona-mysql-shell:latest"},
            "createReplicaClusterOptions": {"recoveryMethod": "clone"},
            "clusters": [
                {
                    "innodbClusterName": "dc1",
                    "endpoints": [{"host": "dc1-mysql-primary.test-clusterset.svc.cluster.local"}],
                },
                {
                    "innodbClusterName": "dc2",
                    "endpoints": [{"host": "dc2-mysql-primary.test-clusterset.svc.cluster.local"}],
                },
            ],
        },
    }


def wrap_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A whole CR around `spec`."""
    obj = valid_cluster_set("generated")
    obj["spec"] = copy.deepcopy(spec)
    return obj


@functools.cache
def crd() -> dict[str, Any]:
    """The generated CRD (built once per test session)."""
    return build_crd()


def api_server(obj: dict[str, Any]) -> Admission:
    """What the API server does with `obj`: prune, default, schema-validate, run the CEL rules."""
    return admit(crd(), copy.deepcopy(obj))


def models(obj: dict[str, Any]) -> list[Violation]:
    """The pydantic verdict on `obj`: [] when the models accept it."""
    try:
        PerconaServerMySQLClusterSet.model_validate(copy.deepcopy(obj))
    except ValidationError as exc:
        return pydantic_violations(exc)
    return []
