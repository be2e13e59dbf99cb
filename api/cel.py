"""Evaluate a CRD's `x-kubernetes-validations` CEL rules the way the Kubernetes API server does.

Built on cel-python (`celpy`) plus the Kubernetes CEL extensions our rules (and common CRDs) use:

- `isIP(string)` (IP library; no zones, no IPv4 leading zeros, no IPv4-mapped IPv6);
- `format.dns1123Subdomain()`, `format.dns1123Label()`, `format.dns1035Label()` and
  `format.named(name)`, whose `.validate(string)` returns an optional list of errors;
- optionals: `optional.of(x)`, `optional.none()`, `.hasValue()`, `.value()`, `.orValue(default)`;
- lists: `sum()`, `min()`/`max()` (non-empty), `isSorted()`, `indexOf()`, `lastIndexOf()`;
- the standard macros `all`, `exists`, `exists_one`, `map`, `filter`, `has` and `matches()` (RE2), which
  celpy provides.

Rules are compiled once per rule text. The semantics of where a rule runs follow apiextensions: a rule
declared on a schema node is evaluated with `self` bound to the value at that node, only when that value
is present and not null, for every item of an array and every value of a map.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from api.formats import dns1035_label_errors, dns1123_label_errors, dns1123_subdomain_errors, is_ip
from api.violations import Violation, ViolationType, join_path

Schema = dict[str, Any]


class CelOptional:
    """A CEL `optional_type` value: `optional.of(v)` or `optional.none()`."""

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "optional.none()" if self.value is None else f"optional.of({self.value!r})"


class CelFormat:
    """A value of Kubernetes' `format` library: a named string format with a validator."""

    __slots__ = ("check", "name")

    def __init__(self, name: str, check: Callable[[str], list[str]]) -> None:
        self.name = name
        self.check = check


_FORMATS: dict[str, Callable[[str], list[str]]] = {
    "dns1123Subdomain": dns1123_subdomain_errors,
    "dns1123Label": dns1123_label_errors,
    "dns1035Label": dns1035_label_errors,
}


class _Namespace(celtypes.MapType):
    """The value bound to `format` and `optional` so that `format.x()` resolves as a method call."""


def _dns1123_subdomain(_namespace: Any) -> CelFormat:
    return CelFormat("dns1123Subdomain", dns1123_subdomain_errors)


def _dns1123_label(_namespace: Any) -> CelFormat:
    return CelFormat("dns1123Label", dns1123_label_errors)


def _dns1035_label(_namespace: Any) -> CelFormat:
    return CelFormat("dns1035Label", dns1035_label_errors)


def _named(_namespace: Any, name: Any) -> CelOptional:
    check = _FORMATS.get(str(name))
    return CelOptional(CelFormat(str(name), check) if check else None)


def _validate(fmt: Any, value: Any) -> CelOptional:
    if not isinstance(fmt, CelFormat) or not isinstance(value, str):
        raise TypeError("validate() applies to a format and a string")
    errors = fmt.check(str(value))
    return CelOptional(celtypes.ListType([celtypes.StringType(e) for e in errors]) if errors else None)


def _is_ip(value: Any) -> celtypes.BoolType:
    if not isinstance(value, str):
        raise TypeError("isIP() applies to a string")
    return celtypes.BoolType(is_ip(str(value)))


def _has_value(opt: Any) -> celtypes.BoolType:
    if not isinstance(opt, CelOptional):
        raise TypeError("hasValue() applies to an optional")
    return celtypes.BoolType(opt.value is not None)


def _value(opt: Any) -> Any:
    if not isinstance(opt, CelOptional) or opt.value is None:
        raise ValueError("optional.none() dereference")
    return opt.value


def _or_value(opt: Any, default: Any) -> Any:
    if not isinstance(opt, CelOptional):
        raise TypeError("orValue() applies to an optional")
    return default if opt.value is None else opt.value


def _of(_namespace: Any, value: Any) -> CelOptional:
    return CelOptional(value)


def _none(_namespace: Any) -> CelOptional:
    return CelOptional(None)


def _sum(items: Any) -> Any:
    if not isinstance(items, list):
        raise TypeError("sum() applies to a list")
    total: Any = celtypes.IntType(0)
    for i, item in enumerate(items):
        total = item if i == 0 else total + item
    return total


def _max(items: Any) -> Any:
    if not isinstance(items, list) or not items:
        raise ValueError("max() applies to a non-empty list")
    return max(items)


def _is_sorted(items: Any) -> celtypes.BoolType:
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(items)))


def _index_of(items: Any, value: Any) -> celtypes.IntType:
    for i, item in enumerate(items):
        if item == value:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _last_index_of(items: Any, value: Any) -> celtypes.IntType:
    for i in range(len(items) - 1, -1, -1):
        if items[i] == value:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


KUBERNETES_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "isIP": _is_ip,
    "dns1123Subdomain": _dns1123_subdomain,
    "dns1123Label": _dns1123_label,
    "dns1035Label": _dns1035_label,
    "named": _named,
    "validate": _validate,
    "hasValue": _has_value,
    "value": _value,
    "orValue": _or_value,
    "of": _of,
    "none": _none,
    "sum": _sum,
    "max": _max,
    "isSorted": _is_sorted,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
}

_ENV = celpy.Environment()


class CelRuleError(ValueError):
    """A rule that does not compile (a bug in the CRD, reported when the rule is first used)."""


@functools.lru_cache(maxsize=512)
def compile_rule(rule: str) -> celpy.Runner:
    """The compiled program of one rule text, with the Kubernetes extensions bound (cached)."""
    try:
        ast = _ENV.compile(rule)
    except CELParseError as exc:
        raise CelRuleError(f"cannot compile CEL rule {rule!r}: {exc}") from exc
    return _ENV.program(ast, functions=KUBERNETES_FUNCTIONS)


def evaluate_rule(rule: str, value: Any) -> bool:
    """Evaluate one rule with `self` = `value` (plain JSON); True when it holds.

    Raises `CELEvalError` when evaluation fails (e.g. `no such key` for an absent field).
    """
    activation = {
        "self": json_to_cel(value),
        "format": _Namespace(),
        "optional": _Namespace(),
    }
    result = compile_rule(rule).evaluate(activation)
    if not isinstance(result, bool | celtypes.BoolType):
        raise CELEvalError(f"rule returned {type(result).__name__}, not bool")
    return bool(result)


def _schema_type(schema: Schema) -> str:
    return str(schema.get("type", "object"))


def evaluate_crd_validations(schema: Schema, obj: Any, *, path: str = "") -> list[Violation]:
    """Every `x-kubernetes-validations` rule of `schema` that `obj` breaks, as Violations.

    Contract:
    - `schema` is a structural schema (a CRD version's `openAPIV3Schema`, or any node of it with `path`
      the field path of that node, e.g. `"spec"`); `obj` is the plain JSON value at that node, already
      defaulted (run `api.schema.apply_defaults` first, as the API server does).
    - Each rule runs with `self` = the value of its node, only where that value is present and not null;
      rules under `items` run once per array item (`spec.clusters[1]`), under `additionalProperties`
      once per map value (`status.clusters[dc1]`). At the root, `metadata` is not descended into.
    - A false rule gives `Violation(field_path=<node path>, message=<rule's message, or
      "failed rule: <rule>" when it has none>, type=INVALID, value='"<schema type>"')`, which prints as
      `spec.clusters[0].endpoints[0].host: Invalid value: "string": host must be a valid IP address or
      domain name`. A rule's `fieldPath` (relative, e.g. `.name`) is appended to the node path.
    - A rule that fails to evaluate gives an INVALID violation whose message is the evaluation error
      followed by ` evaluating rule: <rule>`; a rule that does not compile raises `CelRuleError`.
    - `oldSelf` transition rules are not supported (none of our rules use them); they are skipped.
    Violations come in document order: a node's own rules after those of its children.
    """
    out: list[Violation] = []
    _walk(schema, obj, path, out, root=not path)
    return out


def _walk(schema: Schema, value: Any, path: str, out: list[Violation], *, root: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        properties: dict[str, Schema] = schema.get("properties") or {}
        for key, child in value.items():
            if root and key == "metadata":
                continue
            if key in properties:
                _walk(properties[key], child, join_path(path, key), out)
            elif isinstance(schema.get("additionalProperties"), dict):
                _walk(schema["additionalProperties"], child, f"{path}[{key}]", out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _walk(schema["items"], item, join_path(path, i), out)
    for rule in schema.get("x-kubernetes-validations", []):
        _check(rule, schema, value, path, out)


def _check(rule: dict[str, Any], schema: Schema, value: Any, path: str, out: list[Violation]) -> None:
    text = str(rule["rule"])
    if "oldSelf" in text:
        return
    field_path = path + str(rule.get("fieldPath", ""))
    shown = f'"{_schema_type(schema)}"'
    try:
        ok = evaluate_rule(text, value)
    except CELEvalError as exc:
        out.append(
            Violation(field_path, f"{exc.args[0]} evaluating rule: {text}", ViolationType.INVALID, shown)
        )
        return
    if not ok:
        message = str(rule.get("message") or f"failed rule: {text}")
        out.append(Violation(field_path, message, ViolationType.INVALID, shown))
