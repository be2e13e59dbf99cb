"""deploy/examples: the CR passes the API server's admission (schema + CEL, as api.admission does with
deploy/crd.yaml) and the product's parser, and it describes the example world of topology.yaml: the same
sites and hosts, dc1 primary, dc2 and dc3 replicas, and the clusterset password in the Secret."""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

import kubernetes_validate
import yaml
from deploy_helpers import DEPLOY, KUBERNETES_VERSION, load_yaml_documents

from api.admission import admit
from api.models import FINALIZER_DISSOLVE
from api.validation import parse_cluster_set
from watcher.settings import ANNOTATION_SKIP_FINALIZER

EXAMPLES = DEPLOY / "examples"


def _cr() -> dict[str, Any]:
    [cr] = load_yaml_documents(EXAMPLES / "clusterset.yaml")
    return cr


def _secret() -> dict[str, Any]:
    [secret] = load_yaml_documents(EXAMPLES / "secret.yaml")
    return secret


def _topology() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((EXAMPLES / "topology.yaml").read_text())
    return raw


def _host_of(topology: dict[str, Any], site_index: int, member: int) -> str:
    """The address rule of topology.yaml (and mysqlsim/world.py): member k of site i listens on
    address_block + 16*i + k + 1."""
    block = ipaddress.IPv4Address(topology.get("address_block", "127.0.1.0"))
    return str(block + 16 * site_index + member + 1)


def _secret_value(secret: dict[str, Any], key: str) -> str:
    if key in secret.get("stringData", {}):
        return str(secret["stringData"][key])
    return base64.b64decode(secret["data"][key]).decode()


def test_the_example_cr_is_admitted_by_the_crd() -> None:
    crd = yaml.safe_load((DEPLOY / "crd.yaml").read_text())
    admission = admit(crd, _cr())
    assert admission.allowed, [str(v) for v in admission.violations]
    assert admission.pruned == []  # every field of the example is a field of the CRD
    parse_cluster_set({**_cr(), "metadata": {**_cr()["metadata"], "namespace": "clusterset-system"}})


def test_the_example_cr_matches_the_example_world() -> None:
    topology = _topology()
    sites = topology["sites"]
    port = topology.get("port", 3306)
    spec = _cr()["spec"]
    clusters = {c["innodbClusterName"]: c for c in spec["clusters"]}
    assert list(clusters) == [site["name"] for site in sites]
    for i, site in enumerate(sites):
        hosts = [(e["host"], e.get("port", 3306)) for e in clusters[site["name"]]["endpoints"]]
        expected = [(_host_of(topology, i, k), port) for k in range(site["members"])]
        assert hosts == expected, site["name"]
    running = [s["name"] for s in sites if s.get("mode") == "innodb_cluster"]
    assert spec["primaryCluster"] == "dc1" and running == ["dc1"]
    assert parse_cluster_set(_cr()).spec.replica_cluster_names == ["dc2", "dc3"]


def test_the_example_secret_holds_the_clusterset_password() -> None:
    secret = _secret()
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)
    selector = parse_cluster_set(_cr()).spec.credentials_secret
    assert secret["metadata"]["name"] == selector.name
    assert _secret_value(secret, selector.key) == _topology()["accounts"]["clusterset"]["password"]


def test_the_example_documents_the_finalizer() -> None:
    text = (EXAMPLES / "clusterset.yaml").read_text()
    assert FINALIZER_DISSOLVE in text and "csctl release-finalizer" in text
    annotations = _cr()["metadata"].get("annotations", {})
    assert set(annotations) <= {ANNOTATION_SKIP_FINALIZER}
    assert "finalizers" not in _cr()["metadata"]  # the watcher adds it
