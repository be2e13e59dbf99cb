"""The pods: hardened security contexts, probes that hit real endpoints, a grace period longer than the
worker's graceful shutdown, and container args that the real `csctl` commands accept."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import click
import pytest
from deploy_helpers import DEPLOY, TARGETS, containers, env_value, of_kind, one, option

from cli import COMMANDS
from watcher.metrics import WatcherMetrics, health_app
from worker.client import ENV_METRICS_BIND
from worker.run import WorkerOptions
from workflows.names import SEARCH_ATTRIBUTE_NAME, SEARCH_ATTRIBUTE_PHASE

ORCHESTRATOR_IMAGE = "clusterset-orchestrator"


def _dockerfile_uid() -> int:
    users = re.findall(r"^USER\s+(\d+)", (DEPLOY / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert users, "deploy/Dockerfile must end as a numeric non-root USER"
    return int(users[-1].split(":")[0])


def _deployments(rendered: dict[str, list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(t, d) for t in TARGETS for d in of_kind(rendered[t], "Deployment")]


def _port(container: dict[str, Any], name: str) -> int:
    return int(next(p["containerPort"] for p in container["ports"] if p["name"] == name))


def test_every_pod_is_hardened(rendered: dict[str, list[dict[str, Any]]]) -> None:
    checked = set()
    for target, deployment in _deployments(rendered):
        where = f"{target}: Deployment {deployment['metadata']['name']}"
        pod = deployment["spec"]["template"]["spec"]
        pod_sc = pod["securityContext"]
        assert pod_sc["runAsNonRoot"] is True, where
        assert isinstance(pod_sc["runAsUser"], int) and pod_sc["runAsUser"] > 0, where
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(host), where
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        assert not any("hostPath" in v for v in volumes.values()), where
        for container in containers(deployment):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc.get("privileged") is not True, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc.get("runAsNonRoot", pod_sc["runAsNonRoot"]) is True, where
            assert sc.get("runAsUser", pod_sc["runAsUser"]) > 0, where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert container.get("livenessProbe") and container.get("readinessProbe"), where
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]], f"{where}: /tmp emptyDir"
            if container["image"].split(":")[0] == ORCHESTRATOR_IMAGE:
                assert sc.get("runAsUser", pod_sc["runAsUser"]) == _dockerfile_uid(), where
            checked.add(deployment["metadata"]["name"])
    assert checked == {"clusterset-worker", "clusterset-watcher", "temporal-dev"}


def test_the_namespace_enforces_the_restricted_pod_security_standard(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    labels = one(rendered["deploy"], "Namespace", "clusterset-system")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_images_are_pinned(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for _, deployment in _deployments(rendered):
        for container in containers(deployment):
            name, _, tag = container["image"].rpartition(":")
            assert name and tag and tag != "latest", container["image"]


def test_worker_grace_period_outlasts_its_graceful_shutdown(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for target in TARGETS:
        worker = one(rendered[target], "Deployment", "clusterset-worker")
        container = worker["spec"]["template"]["spec"]["containers"][0]
        configured = option(container["args"], "--graceful-shutdown-seconds") or option(
            container["args"], "--graceful-shutdown"
        )
        shutdown = float(configured) if configured else WorkerOptions().graceful_shutdown_seconds
        grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > shutdown, f"{target}: terminationGracePeriodSeconds {grace} <= shutdown {shutdown}"


def test_watcher_runs_alone_or_elected(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for target in TARGETS:
        watcher = one(rendered[target], "Deployment", "clusterset-watcher")
        args = watcher["spec"]["template"]["spec"]["containers"][0]["args"]
        if watcher["spec"]["strategy"]["type"] != "Recreate" or watcher["spec"]["replicas"] > 1:
            assert "--leader-election" in args, target
        assert watcher["spec"]["strategy"]["type"] == "Recreate"
        assert watcher["spec"]["replicas"] == 1


def test_watcher_probes_hit_its_health_endpoints(rendered: dict[str, list[dict[str, Any]]]) -> None:
    watcher = one(rendered["namespaced"], "Deployment", "clusterset-watcher")
    container = watcher["spec"]["template"]["spec"]["containers"][0]
    bind = option(container["args"], "--health-bind")
    assert bind is not None
    assert int(bind.rpartition(":")[2]) == _port(container, "health")
    app = health_app(WatcherMetrics(), liveness_max_age=1)
    routes = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"/healthz", "/readyz", "/metrics"} <= routes
    annotations = watcher["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == _port(container, "health")


def test_worker_probes_hit_the_temporal_runtime_metrics_endpoint(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """The worker's probes use the Prometheus endpoint the Temporal runtime serves on CLUSTERSET_METRICS_BIND
    (worker/client.py); check the variable name, the port, and that the runtime really answers /metrics."""
    worker = one(rendered["namespaced"], "Deployment", "clusterset-worker")
    container = worker["spec"]["template"]["spec"]["containers"][0]
    bind = env_value(container, ENV_METRICS_BIND)
    assert bind is not None, f"{ENV_METRICS_BIND} not set"
    port = _port(container, "metrics")
    assert int(bind.rpartition(":")[2]) == port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    # The Temporal runtime's Prometheus exporter, in a child process (a Runtime cannot be stopped).
    # The exporter starts listening asynchronously: poll it until a deadline.
    script = (
        "import socket, time, urllib.error, urllib.request\n"
        "from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
        "metrics = PrometheusConfig(bind_address=f'127.0.0.1:{port}')\n"
        "runtime = Runtime(telemetry=TelemetryConfig(metrics=metrics))\n"
        "deadline = time.monotonic() + 30\n"
        "while True:\n"
        "    try:\n"
        "        print(urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=5).status)\n"
        "        break\n"
        "    except urllib.error.URLError:\n"
        "        if time.monotonic() > deadline:\n"
        "            raise\n"
        "        time.sleep(0.05)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "200"


@pytest.mark.parametrize("name", ["clusterset-watcher", "clusterset-worker"])
def test_container_args_are_accepted_by_csctl(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    """The Deployment's args parse with the real click command (unknown options would crash-loop)."""
    deployment = one(rendered["namespaced"], "Deployment", name)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    command, *args = [a.replace("$(POD_NAMESPACE)", "clusterset-system") for a in container["args"]]
    assert command in COMMANDS, command
    module_name, _, attr = COMMANDS[command][0].partition(":")
    import importlib

    cmd = getattr(importlib.import_module(module_name), attr)
    assert isinstance(cmd, click.Command)
    with cmd.make_context(command, list(args)) as ctx:
        assert ctx.params is not None


def test_worker_and_watcher_use_one_task_queue(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for target in TARGETS:
        queues = {
            option(
                one(rendered[target], "Deployment", name)["spec"]["template"]["spec"]["containers"][0][
                    "args"
                ],
                "--task-queue",
            )
            for name in ("clusterset-watcher", "clusterset-worker")
        }
        assert len(queues) == 1, f"{target}: worker and watcher disagree on --task-queue: {queues}"


def test_temporal_dev_server_registers_the_search_attributes(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    temporal = one(rendered["dev"], "Deployment", "temporal-dev")
    args = temporal["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["server", "start-dev"]
    assert "--ip=0.0.0.0" in args
    registered = {a.partition("=")[2] for a in args if a.startswith("--search-attribute=")}
    assert registered == {f"{SEARCH_ATTRIBUTE_NAME}=Keyword", f"{SEARCH_ATTRIBUTE_PHASE}=Keyword"}
    assert option(args, "--db-filename") == "/data/temporal.db"
    assert temporal["spec"]["strategy"]["type"] == "Recreate"
    config = next(o for o in rendered["dev"] if o["kind"] == "ConfigMap")
    host, _, port = config["data"]["TEMPORAL_ADDRESS"].partition(":")
    service = one(rendered["dev"], "Service", host)
    assert int(port) in {p["port"] for p in service["spec"]["ports"]}


def test_processes_read_temporal_settings_from_the_config_map(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for target in TARGETS:
        config = next(o for o in rendered[target] if o["kind"] == "ConfigMap")
        assert set(config["data"]) == {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"}
        for name in ("clusterset-watcher", "clusterset-worker"):
            container = one(rendered[target], "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
            refs = [s["configMapRef"]["name"] for s in container["envFrom"]]
            assert refs == [config["metadata"]["name"]]


def test_the_temporal_address_env_is_what_the_client_reads() -> None:
    """TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE are Temporal's envconfig names (worker/client.py uses them)."""
    from worker.client import connect_config

    env = {"TEMPORAL_ADDRESS": "temporal-dev:7233", "TEMPORAL_NAMESPACE": "orders", "HOME": os.devnull}
    config = connect_config(env=env)
    assert config["target_host"] == "temporal-dev:7233"
    assert config["namespace"] == "orders"
