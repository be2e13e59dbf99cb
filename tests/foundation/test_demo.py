"""`csctl demo` (what `make demo` runs) brings up the whole stack and builds the example ClusterSet.

The demo runs as a child process on free ports and on a copy of deploy/examples moved to another
loopback block, so it cannot collide with a `make demo` running on the same machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

REPO = Path(__file__).resolve().parents[2]
DEMO_BLOCK = "127.0.77."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _examples_on_block(target: Path) -> Path:
    """deploy/examples with every 127.0.1.x address moved to DEMO_BLOCK."""
    target.mkdir(parents=True)
    for name in ("topology.yaml", "clusterset.yaml", "secret.yaml"):
        text = (REPO / "deploy" / "examples" / name).read_text()
        (target / name).write_text(text.replace("127.0.1.", DEMO_BLOCK))
    shutil.copy(REPO / "deploy" / "crd.yaml", target.parent / "crd.yaml")
    return target


def _wait_for(predicate: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[dict[str, Any]]:
    ports = {name: _free_port() for name in ("temporal", "ui", "kube", "health")}
    examples = _examples_on_block(tmp_path / "deploy" / "examples")
    state_dir = tmp_path / "state"
    out = (tmp_path / "demo.out").open("w+")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("csctl")),
            *("demo", "--state-dir", str(state_dir), "--examples", str(examples)),
            *("--temporal-port", str(ports["temporal"]), "--ui-port", str(ports["ui"])),
            *("--kube-port", str(ports["kube"]), "--watcher-health-port", str(ports["health"])),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield {"process": process, "ports": ports, "state_dir": state_dir, "out": out}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        out.close()


def _output(demo: dict[str, Any]) -> str:
    demo["out"].flush()
    return Path(demo["out"].name).read_text()


def test_demo_prints_the_ui_and_builds_the_example_clusterset(demo: dict[str, Any]) -> None:
    ui = f"http://127.0.0.1:{demo['ports']['ui']}"
    _wait_for(
        lambda: "Press Ctrl-C" in _output(demo) or demo["process"].poll() is not None,
        timeout=150,
        what="the demo to come up",
    )
    assert demo["process"].poll() is None, _output(demo)
    assert f"Temporal UI: {ui}" in _output(demo)
    with urllib.request.urlopen(ui, timeout=10) as response:
        assert response.status == 200
        assert "text/html" in response.headers["Content-Type"]

    api = client.CustomObjectsApi(
        config.new_client_from_config(config_file=str(demo["state_dir"] / "kubeconfig"))
    )

    def healthy_clusterset() -> dict[str, Any] | None:
        obj = api.get_namespaced_custom_object(
            "ps.percona.com", "v1", "clusterset-system", "perconaservermysqlclustersets", "demo"
        )
        status = obj.get("status") or {}
        clusters = status.get("clusters") or {}
        roles = {name: (c.get("clusterRole"), c.get("globalStatus")) for name, c in clusters.items()}
        wanted = {"dc1": ("PRIMARY", "OK"), "dc2": ("REPLICA", "OK"), "dc3": ("REPLICA", "OK")}
        return obj if roles == wanted and status.get("globalStatus") == "HEALTHY" else None

    obj = _wait_for(healthy_clusterset, timeout=300, what="dc1 PRIMARY, dc2 and dc3 REPLICA, all OK")
    assert obj["status"]["primaryClusterEndpoint"] == f"{DEMO_BLOCK}1:3306"
    assert "percona.com/clusterset-dissolve" in obj["metadata"]["finalizers"]

    os.killpg(demo["process"].pid, signal.SIGTERM)
    assert demo["process"].wait(timeout=60) == 0
    leftovers = subprocess.run(
        ["pgrep", "-f", str(demo["state_dir"])], capture_output=True, text=True, check=False
    ).stdout.split()
    assert leftovers == [], f"processes still running after the demo stopped: {leftovers}"


def test_demo_reports_a_component_that_cannot_start(tmp_path: Path) -> None:
    examples = _examples_on_block(tmp_path / "deploy" / "examples")
    (examples / "topology.yaml").write_text(
        yaml.safe_dump({"sites": [{"name": "dc1", "members": 0}]})
    )  # no member: mysqlsim refuses the topology
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("csctl")),
            *("demo", "--state-dir", str(tmp_path / "state"), "--examples", str(examples)),
            *("--temporal-port", str(_free_port()), "--ui-port", str(_free_port())),
            *("--kube-port", str(_free_port()), "--watcher-health-port", str(_free_port())),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 1
    assert "Error: mysqlsim exited with code" in done.stderr
    assert "mysqlsim.log" in done.stderr
    assert "Traceback" not in done.stderr
