"""`python -m kubesim`: the process the demo runs, its kubeconfig, and its state file across a restart."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import kubernetes
from kubernetes import client

from kubesim.testing import clusterset_manifest


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _kubesim(tmp_path: Path, port: int, crd_file: Path) -> Iterator[Path]:
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubesim",
            "--port",
            str(port),
            "--kubeconfig",
            str(kubeconfig),
            "--crd",
            str(crd_file),
            "--state-file",
            str(tmp_path / "state.json"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                    if resp.status == 200 and kubeconfig.exists():
                        break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
            assert time.monotonic() < deadline, "kubesim did not become ready"
            time.sleep(0.05)
        yield kubeconfig
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_entrypoint_serves_and_keeps_state_across_a_restart(tmp_path: Path, crd_file: Path) -> None:
    port = _free_port()
    with _kubesim(tmp_path, port, crd_file) as kubeconfig:
        api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        co = client.CustomObjectsApi(api)
        created = co.create_namespaced_custom_object(
            "ps.percona.com", "v1", "default", "perconaservermysqlclustersets", clusterset_manifest("kept")
        )
        api.close()
    with _kubesim(tmp_path, port, crd_file) as kubeconfig:
        api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        co = client.CustomObjectsApi(api)
        again = co.get_namespaced_custom_object(
            "ps.percona.com", "v1", "default", "perconaservermysqlclustersets", "kept"
        )
        assert again["metadata"]["uid"] == created["metadata"]["uid"]
        listed = co.list_namespaced_custom_object(
            "ps.percona.com", "v1", "default", "perconaservermysqlclustersets"
        )
        assert int(listed["metadata"]["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])
        api.close()
