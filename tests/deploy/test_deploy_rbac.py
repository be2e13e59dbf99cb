"""RBAC is exactly least privilege, per ServiceAccount and per variant.

The expected sets are derived from what the code calls (see the comments in deploy/overlays/*/rbac.yaml):
the watcher lists and watches the CRs, patches their finalizers and the InvalidSpec condition, creates
Events and holds one Lease; the worker's activities read and patch the CR (rejoin annotation,
spec.primaryCluster after a forced failover), patch /status, create Events and read ONE Secret.
Any extra verb, resource or missing resourceNames fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from deploy_helpers import DEPLOY, INSTALLS, NAMESPACE, Rule, grants, merged, of_kind, one, option, walk

from api.models import GROUP, PLURAL
from watcher.settings import LeaderElection

CR: Rule = (GROUP, PLURAL, ())
CR_STATUS: Rule = (GROUP, f"{PLURAL}/status", ())
EVENTS: Rule = ("", "events", ())
LEASES: Rule = ("coordination.k8s.io", "leases", ())


def _credentials_secret() -> str:
    cr = yaml.safe_load((DEPLOY / "examples" / "clusterset.yaml").read_text())
    return str(cr["spec"]["credentialsSecret"]["name"])


def _lease_name() -> str:
    watcher = yaml.safe_load((DEPLOY / "base" / "watcher.yaml").read_text())
    args = watcher["spec"]["template"]["spec"]["containers"][0]["args"]
    return option(args, "--lease-name") or LeaderElection().lease_name


WATCHER_CRS = {
    CR: frozenset({"get", "list", "watch", "patch"}),
    CR_STATUS: frozenset({"patch"}),
    EVENTS: frozenset({"create"}),
}
WATCHER_LEASE = {
    LEASES: frozenset({"create"}),
    ("coordination.k8s.io", "leases", (_lease_name(),)): frozenset({"get", "update"}),
}
WORKER = {
    CR: frozenset({"get", "patch"}),
    CR_STATUS: frozenset({"patch"}),
    EVENTS: frozenset({"create"}),
    ("", "secrets", (_credentials_secret(),)): frozenset({"get"}),
}

EXPECTED: dict[str, dict[str, dict[str | None, dict[Rule, frozenset[str]]]]] = {
    "namespaced": {
        "clusterset-watcher": {NAMESPACE: {**WATCHER_CRS, **WATCHER_LEASE}},
        "clusterset-worker": {NAMESPACE: WORKER},
    },
    "cluster": {
        "clusterset-watcher": {None: WATCHER_CRS, NAMESPACE: WATCHER_LEASE},
        "clusterset-worker": {None: WORKER},
    },
}
EXPECTED["deploy"] = EXPECTED["namespaced"]
EXPECTED["dev"] = EXPECTED["namespaced"]


@pytest.mark.parametrize("target", INSTALLS)
@pytest.mark.parametrize("service_account", ["clusterset-watcher", "clusterset-worker"])
def test_each_service_account_has_exactly_its_least_privilege_set(
    rendered: dict[str, list[dict[str, Any]]], target: str, service_account: str
) -> None:
    found = merged(grants(rendered[target], service_account=service_account, namespace=NAMESPACE))
    assert found == EXPECTED[target][service_account]


@pytest.mark.parametrize("target", INSTALLS)
def test_no_wildcards_no_escalation_and_only_our_subjects(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    objects = rendered[target]
    for role in of_kind(objects, "Role") + of_kind(objects, "ClusterRole"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in rule.get(field, []), (role["metadata"]["name"], rule)
            assert not {"escalate", "bind", "impersonate", "deletecollection", "delete"} & set(rule["verbs"])
            assert "nonResourceURLs" not in rule
    for binding in of_kind(objects, "RoleBinding") + of_kind(objects, "ClusterRoleBinding"):
        for subject in binding["subjects"]:
            assert subject["kind"] == "ServiceAccount"
            assert subject["name"] in ("clusterset-watcher", "clusterset-worker")
            assert subject["namespace"] == NAMESPACE


@pytest.mark.parametrize("target", INSTALLS)
def test_secrets_are_readable_only_by_name(rendered: dict[str, list[dict[str, Any]]], target: str) -> None:
    for role in of_kind(rendered[target], "Role") + of_kind(rendered[target], "ClusterRole"):
        for rule in role["rules"]:
            if "secrets" in rule["resources"]:
                assert rule["verbs"] == ["get"]
                assert rule["resourceNames"] == [_credentials_secret()]


def test_each_process_runs_as_its_own_service_account(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["namespaced"]
    for name in ("clusterset-watcher", "clusterset-worker"):
        pod = one(objects, "Deployment", name)["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == name
        assert one(objects, "ServiceAccount", name)
    temporal = one(rendered["dev"], "Deployment", "temporal-dev")["spec"]["template"]["spec"]
    assert temporal.get("automountServiceAccountToken") is False
    assert "serviceAccountName" not in temporal


@pytest.mark.parametrize("target", ["namespaced", "cluster"])
def test_the_watcher_watches_what_its_rbac_allows(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    """Namespaced RBAC pairs with --namespace=<own namespace>; cluster RBAC with every namespace."""
    watcher = one(rendered[target], "Deployment", "clusterset-watcher")
    args = watcher["spec"]["template"]["spec"]["containers"][0]["args"]
    namespace = option(args, "--namespace")
    if target == "namespaced":
        assert namespace == "$(POD_NAMESPACE)"
    else:
        assert namespace is None
    assert option(args, "--lease-namespace") == "$(POD_NAMESPACE)"  # where the Lease Role is
    assert option(args, "--lease-name") == _lease_name()
    # $(POD_NAMESPACE) expands only when the variable is declared in env.
    env = {e["name"]: e for e in watcher["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert "*" not in list(walk(args))
