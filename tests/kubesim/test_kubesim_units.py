"""Pure pieces of kubesim: selector grammar, the JSONPath subset of printer columns, ages, merge patch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kubesim.errors import ApiError
from kubesim.patch import merge_patch
from kubesim.selectors import parse_field_selector, parse_label_selector
from kubesim.table import human_age, jsonpath


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a in (x, y)", {"a": "y"}, True),
        ("a notin (x,y)", {"a": "x"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": "1"}, False),
        ("a=b,c in (d),!e", {"a": "b", "c": "d"}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(selector)(labels) is expected


def test_bad_selector_is_400() -> None:
    with pytest.raises(ApiError) as exc:
        parse_label_selector("a in x")
    assert exc.value.code == 400


def test_field_selector() -> None:
    obj = {"metadata": {"name": "cs", "namespace": "prod"}}
    assert parse_field_selector("metadata.name=cs,metadata.namespace!=dev")(obj)
    assert not parse_field_selector("metadata.name=other")(obj)


def test_printer_column_jsonpath() -> None:
    obj = {"status": {"conditions": [{"type": "A", "status": "x"}, {"type": "Ready", "status": "True"}]}}
    assert jsonpath(obj, ".status.conditions[?(@.type=='Ready')].status") == ["True"]
    assert jsonpath(obj, ".status.conditions[*].type") == ["A", "Ready"]
    assert jsonpath(obj, ".status.conditions[1].status") == ["True"]
    assert jsonpath(obj, ".status.missing") == []


def test_human_age() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    stamp = (now - timedelta(seconds=42)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert human_age(stamp, now=now) == "42s"
    assert human_age((now - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"), now=now) == "5h"
    assert human_age((now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"), now=now) == "3d"


def test_merge_patch_is_rfc7386() -> None:
    target = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert merge_patch(target, {"a": {"b": None, "c": [3]}, "e": 2}) == {"a": {"c": [3]}, "d": 1, "e": 2}
    assert target == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # not mutated
