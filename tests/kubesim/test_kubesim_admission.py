"""Admission of PerconaServerMySQLClusterSet objects: every Percona validation case gets 422 Invalid with the
rule's own message and the field, as from a real API server; generated bad CRs are rejected readably."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client
from kubernetes.client.rest import ApiException
from percona_cases import PERCONA_CASES, Mutation, _set
from pydantic import ValidationError

from api.models import ClusterSetSpec
from kubesim.testing import RunningKubeSim, clusterset_manifest

G, V, P = "ps.percona.com", "v1", "perconaservermysqlclustersets"


def _create(kube: RunningKubeSim, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = client.CustomObjectsApi(kube.api_client).create_namespaced_custom_object(
        G, V, "default", P, body
    )
    return result


@pytest.mark.parametrize(
    ("mutation", "field", "text"), [c[1:] for c in PERCONA_CASES], ids=[c[0] for c in PERCONA_CASES]
)
def test_percona_validation_case_is_422_with_rule_message(
    kube: RunningKubeSim, mutation: Mutation, field: str, text: str
) -> None:
    body = clusterset_manifest("cs")
    mutation(body["spec"])
    with pytest.raises(ApiException) as exc:
        _create(kube, body)
    assert exc.value.status == 422
    status = json.loads(exc.value.body)
    assert status["reason"] == "Invalid"
    assert status["message"].startswith('PerconaServerMySQLClusterSet.ps.percona.com "cs" is invalid: ')
    assert text in status["message"]
    assert any(c["field"].startswith(field) or field in c["field"] for c in status["details"]["causes"])
    # The product's own models agree with the API server's verdict.
    with pytest.raises(ValidationError):
        ClusterSetSpec.model_validate(body["spec"])


def test_invalid_update_is_rejected_and_leaves_the_object(kube: RunningKubeSim) -> None:
    created = _create(kube, clusterset_manifest("cs"))
    co = client.CustomObjectsApi(kube.api_client)
    with pytest.raises(ApiException) as exc:
        co.patch_namespaced_custom_object(G, V, "default", P, "cs", {"spec": {"primaryCluster": "nope"}})
    assert exc.value.status == 422
    assert "spec.primaryCluster not found in spec.clusters" in exc.value.body
    assert co.get_namespaced_custom_object(G, V, "default", P, "cs") == created


# --------------------------------------------------------------------------- generated bad CRs

_BAD_VALUES: list[tuple[list[Any], st.SearchStrategy[Any]]] = [
    (
        ["primaryCluster"],
        st.text(min_size=1, max_size=70).filter(lambda s: not s.isascii() or not s.isalnum()),
    ),
    (["clusters", 0, "innodbClusterName"], st.text(min_size=1, max_size=8).filter(lambda s: not s.isalnum())),
    (["clusters", 1, "endpoints", 0, "host"], st.from_regex(r"\A[A-Z_ !@#]{1,12}\Z")),
    (
        ["clusters", 2, "endpoints", 0, "port"],
        st.one_of(
            st.integers(min_value=-(2**63), max_value=0), st.integers(min_value=65536, max_value=2**63 - 1)
        ),
    ),
    (
        ["sslMode"],
        st.text(min_size=1, max_size=10).filter(lambda s: s not in {"AUTO", "DISABLED", "REQUIRED"}),
    ),
    (["clusters"], st.just([])),
    (["credentialsSecret"], st.just({"name": ""})),
    (["statusRefreshIntervalSeconds"], st.integers(min_value=3601, max_value=2**63 - 1)),
]


@st.composite
def _bad_spec(draw: st.DrawFn) -> dict[str, Any]:
    spec = copy.deepcopy(clusterset_manifest("cs")["spec"])
    path, values = draw(st.sampled_from(_BAD_VALUES))
    _set(path, draw(values))(spec)
    return spec


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=_bad_spec())
def test_generated_bad_specs_are_rejected_readably(kube: RunningKubeSim, spec: dict[str, Any]) -> None:
    body = clusterset_manifest("cs")
    body["spec"] = spec
    with pytest.raises(ApiException) as exc:
        _create(kube, body)
    assert exc.value.status == 422
    status = json.loads(exc.value.body)
    message = status["message"]
    prefix = 'PerconaServerMySQLClusterSet.ps.percona.com "cs" is invalid: '
    assert message.startswith((prefix + "spec", prefix + "[spec"))
    assert "Traceback" not in message and len(message) < 2000
    assert all(c["field"].startswith("spec") or c["field"] == "" for c in status["details"]["causes"])
    assert any(c["field"].startswith("spec") for c in status["details"]["causes"])
