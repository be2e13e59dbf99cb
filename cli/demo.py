"""`csctl demo`: the whole stack on one machine, in the foreground, for `make demo`.

It starts, in order, each as a child process with its log under STATE_DIR/logs/, and waits for each to be
ready before starting the next: the Temporal CLI dev server (SQLite persistence under STATE_DIR, Web UI),
mysqlsim serving deploy/examples/topology.yaml (three MySQL sites), kubesim (a local Kubernetes API with
the CRD), the Temporal worker and the CR watcher. Then it applies the example Secret and ClusterSet CR
with kubectl, so the orchestrator starts building the ClusterSet at once. It prints where everything is,
then stays until Ctrl-C (or SIGTERM) or until a child dies, and stops the children in reverse order.
Each run starts a new simulated world; Temporal's database (and so the earlier runs' histories) is kept.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click

from worker.binaries import temporal_cli

READY_TIMEOUT_SECONDS = 60.0
_REPO_EXAMPLES = Path(__file__).resolve().parents[1] / "deploy" / "examples"


class DemoError(click.ClickException):
    """A component of the demo could not start; the message names it and its log."""


@dataclass(kw_only=True)
class Component:
    """A child process of the demo and the check that tells it is ready."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None


@dataclass(kw_only=True)
class DemoSettings:
    """Addresses and folders of one demo run."""

    state_dir: Path
    temporal_port: int
    ui_port: int
    kube_port: int
    watcher_health_port: int
    topology: Path
    examples: Path
    namespace: str = "clusterset-system"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def kube_url(self) -> str:
        return f"http://127.0.0.1:{self.kube_port}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except OSError:
        return False


def _command_succeeds(argv: list[str], *, expect: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0 and expect in done.stdout

    return check


def _has_workflow_poller(temporal: str, address: str) -> bool:
    """A worker polls the `clusterset` task queue for workflow tasks."""
    argv = [
        temporal,
        "task-queue",
        "describe",
        "--task-queue",
        "clusterset",
        "--address",
        address,
        "-o",
        "json",
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        pollers = json.loads(done.stdout).get("pollers") or [] if done.returncode == 0 else []
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return False
    return any(p.get("taskQueueType") == "workflow" for p in pollers)


def _csctl() -> str:
    """The `csctl` of this interpreter's environment (the venv that `make demo` built)."""
    found = Path(sys.executable).with_name("csctl")
    return str(found) if found.exists() else (shutil.which("csctl") or "csctl")


def _stack(settings: DemoSettings) -> list[Component]:
    temporal = str(temporal_cli())
    bin_dir = Path(sys.executable).parent
    sim_dir = settings.state_dir / "mysqlsim"
    worker_env = {
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": "default",
        "KUBECONFIG": str(settings.kubeconfig),
        "CLUSTERSET_MYSQL_CA_PATH": str(sim_dir / "ca.pem"),
    }
    return [
        Component(
            name="temporal",
            argv=[
                temporal,
                *("server", "start-dev", "--ip", "127.0.0.1"),
                *("--port", str(settings.temporal_port), "--ui-port", str(settings.ui_port)),
                *("--db-filename", str(settings.state_dir / "temporal.db"), "--log-level", "warn"),
                *("--search-attribute", "ClusterSetName=Keyword"),
                *("--search-attribute", "ClusterSetPhase=Keyword"),
            ],
            ready=lambda: (
                _command_succeeds(
                    [temporal, "operator", "cluster", "health", "--address", settings.temporal_address],
                    expect="SERVING",
                )()
                and _http_ok(settings.ui_url)
            ),
        ),
        Component(
            name="mysqlsim",
            argv=[str(bin_dir / "mysqlsim"), "serve", str(settings.topology), "--state-dir", str(sim_dir)],
            ready=lambda: (sim_dir / "endpoints.json").exists(),
        ),
        Component(
            name="kubesim",
            argv=[
                sys.executable,
                *("-m", "kubesim", "--host", "127.0.0.1", "--port", str(settings.kube_port)),
                *("--kubeconfig", str(settings.kubeconfig), "--namespace", settings.namespace),
                *("--crd", str(settings.examples.parent / "crd.yaml")),
            ],
            ready=lambda: settings.kubeconfig.exists() and _http_ok(f"{settings.kube_url}/version"),
        ),
        Component(
            name="worker",
            argv=[_csctl(), "worker", "--kube", "on"],
            env=worker_env,
            ready=lambda: _has_workflow_poller(temporal, settings.temporal_address),
        ),
        Component(
            name="watcher",
            argv=[
                _csctl(),
                *("watcher", "--kubeconfig", str(settings.kubeconfig)),
                *("--health-bind", f"127.0.0.1:{settings.watcher_health_port}"),
            ],
            env=worker_env,
            ready=lambda: _http_ok(f"http://127.0.0.1:{settings.watcher_health_port}/readyz"),
        ),
    ]


def _terminate_previous_runs(settings: DemoSettings) -> None:
    """Each demo starts a new simulated world: the ClusterSet workflows of an earlier run would only
    fail against it, so they are terminated with a reason (their histories stay in the UI)."""
    subprocess.run(
        [
            str(temporal_cli()),
            *("workflow", "terminate", "--address", settings.temporal_address, "--yes"),
            *("--query", "WorkflowType='ClusterSet' AND ExecutionStatus='Running'"),
            *("--reason", "make demo restarted with a new simulated world"),
        ],
        capture_output=True,
        check=False,
        timeout=30,
    )


def _apply_examples(settings: DemoSettings) -> None:
    """Create the example namespace, credentials Secret and ClusterSet CR with the real kubectl."""
    kubectl = str(Path(sys.executable).with_name("kubectl"))
    env = {**os.environ, "KUBECONFIG": str(settings.kubeconfig)}
    namespace = json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": settings.namespace}}
    )
    steps: list[tuple[list[str], str | None]] = [
        ([kubectl, "apply", "-f", "-"], namespace),
        (
            [
                kubectl,
                *("-n", settings.namespace, "apply"),
                *("-f", str(settings.examples / "secret.yaml")),
                *("-f", str(settings.examples / "clusterset.yaml")),
            ],
            None,
        ),
    ]
    for argv, stdin in steps:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, env=env, check=False, timeout=60
        )
        if done.returncode != 0:
            raise DemoError(f"kubectl {' '.join(argv[1:])} failed: {done.stderr.strip()}")


def _start(component: Component, settings: DemoSettings) -> None:
    component.log_path = settings.logs / f"{component.name}.log"
    log = component.log_path.open("ab")
    component.process = subprocess.Popen(
        component.argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **component.env},
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not component.ready():
        if component.process.poll() is not None:
            raise DemoError(
                f"{component.name} exited with code {component.process.returncode} while starting; "
                f"see {component.log_path}"
            )
        if time.monotonic() > deadline:
            raise DemoError(
                f"{component.name} was not ready after {READY_TIMEOUT_SECONDS:.0f} s; "
                f"see {component.log_path}"
            )
        time.sleep(0.2)  # polling a child's readiness, not waiting for a fixed time


def _stop(components: list[Component]) -> None:
    for component in reversed(components):
        process = component.process
        if process is None or process.poll() is not None:
            continue
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _summary(settings: DemoSettings) -> str:
    return "\n".join(
        [
            "",
            "ClusterSet orchestrator demo is up.",
            f"  Temporal UI: {settings.ui_url}",
            f"  Temporal gRPC: {settings.temporal_address}",
            f"  Kubernetes API (kubesim): {settings.kube_url}",
            f"  MySQL sites (mysqlsim): {settings.state_dir / 'mysqlsim' / 'endpoints.json'}",
            f"  Logs: {settings.logs}/",
            "",
            "Watch the ClusterSet being built (CLONE progress in the Operation/Progress columns):",
            f"  export KUBECONFIG={settings.kubeconfig} PATH={Path(sys.executable).parent}:$PATH",
            f"  kubectl -n {settings.namespace} get ps-clusterset -w",
            f"  csctl status {settings.namespace}/demo",
            "",
            "Press Ctrl-C to stop everything.",
        ]
    )


@click.command(name="demo")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="Where the demo keeps its databases, logs and generated files.",
)
@click.option("--temporal-port", type=int, default=7233, show_default=True)
@click.option("--ui-port", type=int, default=8233, show_default=True)
@click.option(
    "--kube-port", type=int, default=8443, show_default=True, help="Port of the local Kubernetes API."
)
@click.option("--watcher-health-port", type=int, default=8081, show_default=True)
@click.option(
    "--examples",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=_REPO_EXAMPLES,
    show_default=True,
    help="Folder with topology.yaml (the MySQL world), secret.yaml and clusterset.yaml.",
)
def demo(
    *,
    state_dir: Path,
    temporal_port: int,
    ui_port: int,
    kube_port: int,
    watcher_health_port: int,
    examples: Path,
) -> None:
    """Run the whole stack locally, print where it is, and keep it running until Ctrl-C."""
    settings = DemoSettings(
        state_dir=state_dir.resolve(),
        temporal_port=temporal_port,
        ui_port=ui_port,
        kube_port=kube_port,
        watcher_health_port=watcher_health_port,
        topology=examples.resolve() / "topology.yaml",
        examples=examples.resolve(),
    )
    settings.logs.mkdir(parents=True, exist_ok=True)
    # A new simulated world each run (Temporal's SQLite database is kept).
    shutil.rmtree(settings.state_dir / "mysqlsim", ignore_errors=True)
    settings.kubeconfig.unlink(missing_ok=True)
    components = _stack(settings)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        for component in components:
            if stopping:
                return
            click.echo(f"starting {component.name} ...", err=True)
            _start(component, settings)
            if component.name == "temporal":
                _terminate_previous_runs(settings)
        _apply_examples(settings)
        click.echo(_summary(settings))
        while not stopping:
            for component in components:
                assert component.process is not None
                if component.process.poll() is not None:
                    raise DemoError(
                        f"{component.name} stopped with code {component.process.returncode}; "
                        f"see {component.log_path}"
                    )
            time.sleep(0.5)  # supervision tick
    finally:
        click.echo("stopping ...", err=True)
        _stop(components)
