"""The generated CRD: committed file up to date, Percona's shape and CEL rules, structural, bounded cost."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from api_helpers import api_server, models, valid_cluster_set
from click.testing import CliRunner

from api.crd import build_crd, crd_yaml, version_schema
from api.models import (
    ClusterSetSpec,
    ClusterSetStatus,
    ClusterStatus,
    Condition,
    LostTransactions,
    OperationProgress,
    OperationStatus,
)
from api.schema import validate_schema
from cli import main

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deploy" / "crd.yaml"


def _schema() -> dict[str, Any]:
    return version_schema(build_crd())


def _nodes(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every schema node with its path (`.spec.clusters[*].endpoints[*].host`)."""
    out = [(path, schema)]
    for key, child in (schema.get("properties") or {}).items():
        out += _nodes(child, f"{path}.{key}")
    if isinstance(schema.get("items"), dict):
        out += _nodes(schema["items"], f"{path}[*]")
    if isinstance(schema.get("additionalProperties"), dict):
        out += _nodes(schema["additionalProperties"], f"{path}{{*}}")
    return out


def test_committed_crd_is_what_the_generator_writes() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == crd_yaml(), "deploy/crd.yaml is stale: run `make crd`"


def test_csctl_crd_prints_and_writes_the_crd(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(main, ["crd"])
    assert printed.exit_code == 0, printed.output
    assert printed.output == crd_yaml()
    target = tmp_path / "crd.yaml"
    written = runner.invoke(main, ["crd", "--output", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == crd_yaml()


def test_yaml_round_trips_to_the_same_crd() -> None:
    """Line folding in the YAML must not change a rule's text."""
    assert yaml.safe_load(crd_yaml()) == build_crd()


def test_names_scope_subresource_and_printer_columns() -> None:
    crd = build_crd()
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == "perconaservermysqlclustersets.ps.percona.com"
    spec = crd["spec"]
    assert spec["group"] == "ps.percona.com"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "PerconaServerMySQLClusterSet",
        "listKind": "PerconaServerMySQLClusterSetList",
        "plural": "perconaservermysqlclustersets",
        "singular": "perconaservermysqlclusterset",
        "shortNames": ["ps-clusterset"],
    }
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1", True, True)
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: (c["type"], c["jsonPath"]) for c in version["additionalPrinterColumns"]}
    assert columns == {
        "Primary": ("string", ".status.primaryCluster"),
        "Endpoint": ("string", ".status.primaryClusterEndpoint"),
        "Ready": ("string", ".status.conditions[?(@.type=='Ready')].status"),
        "Operation": ("string", ".status.operation.summary"),
        "Progress": ("number", ".status.operation.progress.percent"),
        "Age": ("date", ".metadata.creationTimestamp"),
    }


def test_cel_rules_are_exactly_perconas() -> None:
    rules = {
        (path, r["rule"], r["message"])
        for path, node in _nodes(_schema())
        for r in node.get("x-kubernetes-validations", [])
    }
    assert rules == {
        (
            ".spec",
            "self.clusters.exists(c, c.innodbClusterName == self.primaryCluster)",
            "spec.primaryCluster not found in spec.clusters",
        ),
        (
            ".spec",
            "self.clusters.all(c, c.endpoints.all(e, self.clusters.map(c2, "
            "c2.endpoints.filter(e2, e2.host == e.host).size()).sum() == 1))",
            "endpoint host must be unique across all clusters",
        ),
        (
            ".spec.primaryCluster",
            "self.matches('^[A-Za-z0-9]+$')",
            "primaryCluster must contain only alphanumeric characters",
        ),
        (
            ".spec.credentialsSecret",
            "has(self.name) && self.name != ''",
            "credentialsSecret.name must be set",
        ),
        (
            ".spec.clusters",
            "self.all(c, self.exists_one(d, d.innodbClusterName == c.innodbClusterName))",
            "cluster names must be unique",
        ),
        (
            ".spec.clusters[*].innodbClusterName",
            "self.matches('^[A-Za-z0-9]+$')",
            "innodbClusterName must contain only alphanumeric characters",
        ),
        (
            ".spec.clusters[*].endpoints[*].host",
            "isIP(self) || !format.dns1123Subdomain().validate(self).hasValue()",
            "host must be a valid IP address or domain name",
        ),
    }


def test_percona_bounds_defaults_and_list_types() -> None:
    nodes = dict(_nodes(_schema()))
    clusters = nodes[".spec.clusters"]
    assert (clusters["minItems"], clusters["maxItems"]) == (1, 10)
    assert clusters["x-kubernetes-list-type"] == "map"
    assert clusters["x-kubernetes-list-map-keys"] == ["innodbClusterName"]
    endpoints = nodes[".spec.clusters[*].endpoints"]
    assert (endpoints["minItems"], endpoints["maxItems"]) == (1, 9)
    assert nodes[".spec.primaryCluster"]["maxLength"] == 63
    assert nodes[".spec.clusters[*].innodbClusterName"]["maxLength"] == 63
    assert nodes[".spec.clusters[*].endpoints[*].host"]["maxLength"] == 253
    assert nodes[".spec.clusters[*].endpoints[*].port"]["default"] == 3306
    assert nodes[".spec.credentialsSecret.key"]["default"] == "clusterset"
    assert nodes[".spec.sslMode"]["enum"] == ["AUTO", "DISABLED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"]
    assert nodes[".spec.sslMode"]["default"] == "AUTO"
    method = nodes[".spec.createReplicaClusterOptions.recoveryMethod"]
    assert (method["enum"], method["default"]) == (["clone", "incremental", "auto"], "clone")
    assert nodes[".spec.unsafeFlags.forcedFailover"]["default"] is False
    assert nodes[".spec.unsafeFlags.forcedClusterRemoval"]["default"] is False
    assert nodes[".spec.mysqlshellRunner.image"]["minLength"] == 1
    assert set(nodes[".spec"]["required"]) == {"primaryCluster", "clusters", "credentialsSecret"}


def test_schema_is_structural_and_described() -> None:
    """Every node has a type (no anyOf/$ref); every spec field has a description; extensions say so."""
    extensions = {
        ".spec.clusters[*].manageMembers",
        ".spec.cloneOptions",
        ".spec.automaticRejoin",
        ".spec.statusRefreshIntervalSeconds",
    }
    for path, node in _nodes(_schema()):
        assert "type" in node, path
        assert not {"anyOf", "oneOf", "allOf", "$ref", "title"} & set(node), path
        if path.startswith(".spec"):
            assert node.get("description"), path
        if path in extensions:
            assert node["description"].startswith("Extension."), path


def test_cel_cost_is_bounded() -> None:
    """The rules' worst case stays under Kubernetes' per-call CEL cost limit (1,000,000).

    Kubernetes estimates a rule's cost from maxItems/maxLength: unbounded lists or strings would make
    the host-uniqueness rule (four nested loops) exceed the limit and the CRD be refused. Every list
    and string a rule reads must be bounded; the product of the loops times a string comparison
    (0.1 per byte, rounded up, plus a few unit-cost operations) gives the estimate checked here.
    """
    nodes = dict(_nodes(_schema()))
    read_by_rules = [
        ".spec.primaryCluster",
        ".spec.credentialsSecret.name",
        ".spec.clusters",
        ".spec.clusters[*].innodbClusterName",
        ".spec.clusters[*].endpoints",
        ".spec.clusters[*].endpoints[*].host",
    ]
    for path in read_by_rules:
        node = nodes[path]
        assert ("maxItems" if node["type"] == "array" else "maxLength") in node, path
    clusters = nodes[".spec.clusters"]["maxItems"]
    endpoints = nodes[".spec.clusters[*].endpoints"]["maxItems"]
    host = nodes[".spec.clusters[*].endpoints[*].host"]["maxLength"]
    name = nodes[".spec.clusters[*].innodbClusterName"]["maxLength"]
    per_iteration = math.ceil(0.1 * host) + 10
    host_rule = (clusters * endpoints) * (clusters * (endpoints * per_iteration + 5) + 5)
    names_rule = clusters * clusters * (math.ceil(0.1 * name) + 10)
    assert host_rule < 1_000_000, host_rule
    assert names_rule < 1_000_000, names_rule


def test_api_server_defaults_equal_the_models_defaults() -> None:
    """A minimal CR defaulted by the API server equals what pydantic builds from it."""
    obj = valid_cluster_set()
    del obj["spec"]["mysqlshellRunner"], obj["spec"]["createReplicaClusterOptions"]
    del obj["spec"]["credentialsSecret"]["key"]
    admission = api_server(obj)
    assert admission.allowed, admission.violations
    model = ClusterSetSpec.model_validate(obj["spec"])
    assert admission.object["spec"] == model.model_dump(by_alias=True, mode="json", exclude_none=True)
    assert admission.object["spec"]["credentialsSecret"]["key"] == "clusterset"
    assert admission.object["spec"]["clusters"][0]["endpoints"][0]["port"] == 3306


def test_status_written_by_the_models_is_accepted() -> None:
    """What the orchestrator writes through the status models passes the status schema."""
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    status = ClusterSetStatus(
        primary_cluster="dc1",
        primary_cluster_endpoint="dc1-0.example:3306",
        global_status="HEALTHY",
        clusters={
            "dc1": ClusterStatus(cluster_role="PRIMARY", global_status="OK", primary="dc1-0.example:3306"),
            "dc2": ClusterStatus(
                cluster_role="REPLICA",
                global_status="OK",
                channel_state="ON",
                transactions_behind=3,
                lag_seconds=0.25,
            ),
        },
        conditions=[
            Condition(type="Ready", status="True", reason="ClusterSetHealthy", last_transition_time=now)
        ],
        last_observed_generation=2,
        last_observed_at=now,
        observed_generation=2,
        operation=OperationStatus(
            type="addReplica",
            phase="Running",
            workflow_id="clusterset/default/cs",
            started_at=now,
            progress=OperationProgress(stage="FILE COPY", percent=42.5, bytes_done=10, bytes_total=20),
        ),
        lost_transactions=LostTransactions(
            from_cluster="dc1", to_cluster="dc2", gtid_set="3e11fa47-71ca-11e1-9e33-c80aa9429562:5-7", count=3
        ),
    )
    body = status.model_dump(by_alias=True, mode="json")
    assert body["operation"]["summary"] == "addReplica Running"
    status_schema = _schema()["properties"]["status"]
    assert validate_schema(status_schema, body, path="status") == []
    assert ClusterSetStatus.model_validate(body) == status


def test_the_example_in_docs_is_valid_for_both_judges() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    example = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])
    assert example["kind"] == "PerconaServerMySQLClusterSet"
    admission = api_server(example)
    assert admission.allowed, [str(v) for v in admission.violations]
    assert admission.pruned == []
    assert models(example) == []
