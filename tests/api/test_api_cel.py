"""The CEL evaluator's Kubernetes extensions and its rule-placement semantics (api.cel)."""

from __future__ import annotations

from typing import Any

import pytest

from api.cel import CelRuleError, evaluate_crd_validations, evaluate_rule
from api.violations import Violation, ViolationType

HOST_RULE = "isIP(self) || !format.dns1123Subdomain().validate(self).hasValue()"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.0.1", True),
        ("0.0.0.0", True),
        ("2001:db8::1", True),
        ("::1", True),
        ("010.0.0.1", False),  # leading zeros are ambiguous (octal), Kubernetes rejects them
        ("::ffff:10.0.0.1", False),  # IPv4-mapped IPv6
        ("fe80::1%eth0", False),  # zone
        ("10.0.0.0/8", False),  # CIDR
        ("example.com", False),
        ("", False),
    ],
)
def test_is_ip(value: str, expected: bool) -> None:
    assert evaluate_rule("isIP(self)", value) is expected


@pytest.mark.parametrize(
    ("host", "valid"),
    [
        ("mysql.example.com", True),
        ("a", True),
        ("1.2.3.4", True),
        ("a" * 253, True),
        ("a" * 254, False),
        ("Invalid.Example.Com", False),
        ("my_host", False),
        ("not a host", False),
        ("trailing.", False),
        ("-lead", False),
        ("2001:db8::1", True),  # through isIP
    ],
)
def test_host_rule(host: str, valid: bool) -> None:
    assert evaluate_rule(HOST_RULE, host) is valid


def test_format_validate_returns_an_optional_list_of_errors() -> None:
    assert evaluate_rule("format.dns1123Subdomain().validate('ok.example').hasValue() == false", None)
    assert evaluate_rule("format.dns1123Subdomain().validate('Bad').value().size() == 1", None)
    assert evaluate_rule(
        "format.dns1123Subdomain().validate('Bad').value()[0].startsWith('a lowercase RFC 1123 subdomain')",
        None,
    )
    assert evaluate_rule("format.dns1123Label().validate('a.b').hasValue()", None)
    assert evaluate_rule("!format.dns1035Label().validate('abc').hasValue()", None)
    assert evaluate_rule("format.dns1035Label().validate('1abc').hasValue()", None)
    assert evaluate_rule("format.named('dns1123Label').hasValue()", None)
    assert evaluate_rule("!format.named('noSuchFormat').hasValue()", None)
    assert evaluate_rule("!format.named('dns1123Label').value().validate('ok').hasValue()", None)


def test_optionals() -> None:
    assert evaluate_rule("optional.of(1).value() == 1", None)
    assert evaluate_rule("optional.none().orValue(2) == 2", None)
    assert evaluate_rule("optional.of(3).orValue(2) == 3", None)
    assert evaluate_rule("!optional.none().hasValue()", None)


def test_list_functions() -> None:
    assert evaluate_rule("[1, 2, 3].sum() == 6", None)
    assert evaluate_rule("self.sum() == 0", [])
    assert evaluate_rule("[1.5, 2.5].sum() == 4.0", None)
    assert evaluate_rule("[1, 5, 3].max() == 5", None)
    assert evaluate_rule("[1, 2, 2].isSorted() && ![2, 1].isSorted()", None)
    assert evaluate_rule("[1, 2, 1].indexOf(1) == 0 && [1, 2, 1].lastIndexOf(1) == 2", None)
    assert evaluate_rule("[1, 2].indexOf(3) == -1", None)


def test_macros_and_matches() -> None:
    assert evaluate_rule("self.exists_one(x, x == 1)", [1, 2])
    assert not evaluate_rule("self.exists_one(x, x == 1)", [1, 1])
    assert evaluate_rule("self.map(x, x * 2).filter(x, x > 2) == [4]", [1, 2])
    assert evaluate_rule("self.all(x, x > 0) && self.exists(x, x == 2)", [1, 2])
    assert evaluate_rule("has(self.a) && !has(self.b)", {"a": 1})
    # RE2 semantics: `$` is the end of the text, not "before a final newline" as in Python's re.
    assert not evaluate_rule("self.matches('^[A-Za-z0-9]+$')", "abc\n")
    assert evaluate_rule("self.matches('^[A-Za-z0-9]+$')", "aBc9")


def test_percona_spec_rules_on_a_worst_case_spec() -> None:
    """10 clusters x 9 endpoints x 253-byte hosts: the four nested loops still evaluate."""
    spec: dict[str, Any] = {
        "primaryCluster": "c0",
        "clusters": [
            {
                "innodbClusterName": f"c{i}",
                "endpoints": [{"host": f"h{i}-{j}." + "a" * 240} for j in range(9)],
            }
            for i in range(10)
        ],
    }
    rule = (
        "self.clusters.all(c, c.endpoints.all(e, self.clusters.map(c2, "
        "c2.endpoints.filter(e2, e2.host == e.host).size()).sum() == 1))"
    )
    assert evaluate_rule(rule, spec)
    spec["clusters"][9]["endpoints"][8]["host"] = spec["clusters"][0]["endpoints"][0]["host"]
    assert not evaluate_rule(rule, spec)


def _schema(rules: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "x-kubernetes-validations": rules, **extra}


def test_rules_run_per_item_and_per_map_value_with_paths() -> None:
    item = _schema(
        [{"rule": "self.n > 0", "message": "n must be positive"}], properties={"n": {"type": "integer"}}
    )
    schema = {
        "type": "object",
        "properties": {
            "list": {"type": "array", "items": item},
            "map": {"type": "object", "additionalProperties": item},
        },
    }
    obj = {"list": [{"n": 1}, {"n": 0}], "map": {"dc1": {"n": -1}, "dc2": {"n": 2}}}
    violations = evaluate_crd_validations(schema, obj, path="status")
    assert [str(v) for v in violations] == [
        'status.list[1]: Invalid value: "object": n must be positive',
        'status.map[dc1]: Invalid value: "object": n must be positive',
    ]


def test_absent_null_and_metadata_values_are_not_checked() -> None:
    never = [{"rule": "false", "message": "never"}]
    schema = {
        "type": "object",
        "properties": {
            "metadata": {
                "type": "object",
                "properties": {"name": {"type": "string", "x-kubernetes-validations": never}},
            },
            "absent": {"type": "string", "x-kubernetes-validations": never},
            "null": {"type": "string", "nullable": True, "x-kubernetes-validations": never},
        },
    }
    assert evaluate_crd_validations(schema, {"metadata": {"name": "x"}, "null": None}) == []


def test_message_fallback_field_path_and_evaluation_errors() -> None:
    schema = {
        "type": "object",
        "properties": {"s": {"type": "string"}},
        "x-kubernetes-validations": [
            {"rule": "self.s == 'x'"},
            {"rule": "self.s == 'y'", "message": "s must be y", "fieldPath": ".s"},
            {"rule": "self.missing == 1", "message": "unused"},
            {"rule": "self.s == oldSelf.s", "message": "transition rules are skipped"},
        ],
    }
    violations = evaluate_crd_validations(schema, {"s": "z"}, path="spec")
    assert violations[0] == Violation("spec", "failed rule: self.s == 'x'", ViolationType.INVALID, '"object"')
    assert str(violations[1]) == 'spec.s: Invalid value: "object": s must be y'
    assert violations[2].field_path == "spec"
    assert violations[2].message.endswith("evaluating rule: self.missing == 1")
    assert len(violations) == 3


def test_a_rule_that_does_not_compile_is_a_crd_bug() -> None:
    with pytest.raises(CelRuleError, match="cannot compile"):
        evaluate_rule("self.(", 1)
