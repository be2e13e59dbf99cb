"""Label and field selectors with the grammar of `k8s.io/apimachinery/pkg/labels`.

Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, joined by commas.
Field selectors: `metadata.name=x`, `metadata.namespace!=y` (what kubectl and the clients send).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kubesim.errors import bad_request

Predicate = Callable[[dict[str, str]], bool]

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)\s*$")


def _split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside a parenthesised value set."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def _requirement(text: str) -> Predicate:
    eq = _EQ.match(text)
    if eq:
        key, op, value = eq.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    st = _SET.match(text)
    if st:
        negated, key, op, values_text = st.groups()
        if op is None:
            if negated:
                return lambda labels: key not in labels
            return lambda labels: key in labels
        if negated:
            raise bad_request(f"unable to parse requirement: {text!r}")
        values = {v.strip() for v in (values_text or "").split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    raise bad_request(f"unable to parse requirement: {text!r}")


def parse_label_selector(selector: str | None) -> Predicate:
    """A predicate over a label dict; an empty selector matches everything."""
    if not selector:
        return lambda _labels: True
    requirements = [_requirement(r) for r in _split_requirements(selector)]
    return lambda labels: all(r(labels) for r in requirements)


def _field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    return "" if node is None else str(node)


def parse_field_selector(selector: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over a whole object for `metadata.name=x,metadata.namespace!=y`."""
    if not selector:
        return lambda _obj: True
    checks: list[tuple[str, bool, str]] = []
    for part in _split_requirements(selector):
        match = _EQ.match(part)
        if not match:
            raise bad_request(f"invalid field selector: {part!r}")
        path, op, value = match.groups()
        checks.append((path, op == "!=", value))
    return lambda obj: all(
        (_field_value(obj, p) != v) if neg else (_field_value(obj, p) == v) for p, neg, v in checks
    )
