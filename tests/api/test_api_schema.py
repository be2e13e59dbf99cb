"""Pruning, defaulting and structural validation (api.schema), admission order and 422 texts."""

from __future__ import annotations

import copy

from api_helpers import api_server, crd, valid_cluster_set

from api.crd import version_schema
from api.schema import apply_defaults, prune, validate_schema
from api.violations import BLOCKING_MESSAGE, Violation, ViolationType, invalid_message

SCHEMA = {
    "type": "object",
    "properties": {
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "enum": ["A", "B"], "default": "A"},
                "opts": {
                    "type": "object",
                    "default": {},
                    "properties": {"n": {"type": "integer", "default": 3, "minimum": 1, "maximum": 5}},
                },
                "note": {"type": "string", "nullable": True, "maxLength": 3},
                "items": {
                    "type": "array",
                    "maxItems": 2,
                    "minItems": 1,
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["k"],
                    "items": {
                        "type": "object",
                        "required": ["k"],
                        "properties": {"k": {"type": "string"}, "v": {"type": "boolean", "default": False}},
                    },
                },
            },
            "required": ["items"],
        },
    },
}


def test_prune_drops_undeclared_fields_and_reports_them() -> None:
    obj = {
        "metadata": {"name": "x", "anything": 1},
        "spec": {"mode": "A", "typo": 1, "items": [{"k": "a", "z": 2}]},
    }
    pruned, dropped = prune(SCHEMA, obj)
    assert pruned == {"metadata": {"name": "x", "anything": 1}, "spec": {"mode": "A", "items": [{"k": "a"}]}}
    assert dropped == ["spec.typo", "spec.items[0].z"]
    assert obj["spec"]["typo"] == 1  # input untouched


def test_defaults_fill_absent_fields_recursively_and_drop_non_nullable_nulls() -> None:
    obj = {"spec": {"mode": None, "note": None, "items": [{"k": "a"}]}}
    before = copy.deepcopy(obj)
    defaulted = apply_defaults(SCHEMA, obj)
    assert defaulted == {
        "spec": {"mode": "A", "note": None, "opts": {"n": 3}, "items": [{"k": "a", "v": False}]},
    }
    assert obj == before


def _messages(obj: object) -> list[str]:
    return [str(v) for v in validate_schema(SCHEMA, obj)]


def test_structural_validation_messages() -> None:
    assert _messages({"spec": {"items": [{"k": "a"}]}}) == []
    assert _messages({"spec": {}}) == ["spec.items: Required value"]
    assert _messages({"spec": {"mode": "C", "items": [{"k": "a"}]}}) == [
        'spec.mode: Unsupported value: "C": supported values: "A", "B"'
    ]
    assert _messages({"spec": {"note": "long", "items": [{"k": "a"}]}}) == [
        "spec.note: Too long: may not be more than 3 bytes"
    ]
    assert _messages({"spec": {"opts": {"n": 9}, "items": [{"k": "a"}]}}) == [
        "spec.opts.n: Invalid value: 9: spec.opts.n in body should be less than or equal to 5"
    ]
    assert _messages({"spec": {"opts": {"n": "9"}, "items": [{"k": "a"}]}}) == [
        'spec.opts.n: Invalid value: "string": spec.opts.n in body must be of type integer: "string"'
    ]
    assert _messages({"spec": {"items": []}}) == [
        "spec.items: Invalid value: 0: spec.items in body should have at least 1 items"
    ]
    assert _messages({"spec": {"items": [{"k": "a"}, {"k": "b"}, {"k": "c"}]}}) == [
        "spec.items: Too many: 3: must have at most 2 items"
    ]
    assert _messages({"spec": {"items": [{"k": "a"}, {"k": "a"}]}}) == [
        'spec.items[1]: Duplicate value: {"k":"a"}'
    ]
    assert _messages({"spec": {"items": [{"k": "a", "v": "yes"}]}}) == [
        'spec.items[0].v: Invalid value: "string": spec.items[0].v in body must be of type boolean: "string"'
    ]


def test_metadata_is_not_validated_by_the_crd_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "integer"}}}},
    }
    assert validate_schema(schema, {"metadata": {"name": "x"}}) == []


def test_cel_rules_are_skipped_after_a_blocking_schema_error() -> None:
    """apiextensions does not run CEL when the schema already found a type/required/enum/length error."""
    obj = valid_cluster_set()
    obj["spec"]["primaryCluster"] = "a-" * 40  # too long AND not alphanumeric AND not a member
    violations = api_server(obj).violations
    assert [str(v) for v in violations] == [
        "spec.primaryCluster: Too long: may not be more than 63 bytes",
        f"Invalid value: null: {BLOCKING_MESSAGE}",
    ]


def test_unknown_fields_are_pruned_by_the_api_server() -> None:
    obj = valid_cluster_set()
    obj["spec"]["primaryClsuter"] = "dc2"
    admission = api_server(obj)
    assert admission.allowed
    assert admission.pruned == ["spec.primaryClsuter"]
    assert "primaryClsuter" not in admission.object["spec"]


def test_invalid_status_message_and_causes() -> None:
    host = Violation(
        "spec.clusters[0].endpoints[0].host",
        "host must be a valid IP address or domain name",
        ViolationType.INVALID,
        '"string"',
    )
    required = Violation("spec.clusters", "", ViolationType.REQUIRED)
    assert invalid_message("PerconaServerMySQLClusterSet", "ps.percona.com", "cs", [host]) == (
        'PerconaServerMySQLClusterSet.ps.percona.com "cs" is invalid: spec.clusters[0].endpoints[0].host: '
        'Invalid value: "string": host must be a valid IP address or domain name'
    )
    assert invalid_message("PerconaServerMySQLClusterSet", "ps.percona.com", "cs", [host, required]).endswith(
        'is invalid: [spec.clusters[0].endpoints[0].host: Invalid value: "string": host must be a valid IP '
        "address or domain name, spec.clusters: Required value]"
    )
    assert required.cause() == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.clusters",
    }


def test_crd_schema_validates_the_percona_baseline_without_errors() -> None:
    schema = version_schema(crd())
    obj = apply_defaults(schema, valid_cluster_set())
    assert validate_schema(schema, obj) == []


def test_integer_beyond_int64_is_a_readable_422_not_a_crash() -> None:
    """The API server decodes an integer that does not fit int64 as a float64, so the CEL rules never see an
    integer they cannot represent; the answer names the field."""
    obj = valid_cluster_set()
    obj["spec"]["clusters"][0]["endpoints"][0]["port"] = 2**63
    admission = api_server(obj)
    assert [str(v) for v in admission.violations] == [
        "spec.clusters[0].endpoints[0].port: Invalid value: 9.223372036854776e+18: "
        "spec.clusters[0].endpoints[0].port in body should be less than or equal to 65535"
    ]
