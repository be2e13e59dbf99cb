"""`csctl demo`: the whole stack on one machine, in the foreground, for `make demo`.

It starts, in order, each as a child process with its log under STATE_DIR/logs/, and waits for each to be
ready before starting the next: the Temporal CLI dev server (SQLite persistence under STATE_DIR, Web UI),
the Temporal worker, and the rest of the stack registered in `_stack()`. It prints where everything
is, then stays until Ctrl-C (or SIGTERM) or until a child dies, and stops the children in reverse order.
A second `make demo` on the same STATE_DIR finds the workflows of the first one.
"""

from __future__ import annotations

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


def _csctl() -> str:
    """The `csctl` of this interpreter's environment (the venv that `make demo` built)."""
    found = Path(sys.executable).with_name("csctl")
    return str(found) if found.exists() else (shutil.which("csctl") or "csctl")


def _stack(settings: DemoSettings) -> list[Component]:
    temporal = str(temporal_cli())
    common_env = {"TEMPORAL_ADDRESS": settings.temporal_address, "TEMPORAL_NAMESPACE": "default"}
    return [
        Component(
            name="temporal",
            argv=[
                temporal,
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(settings.temporal_port),
                "--ui-port",
                str(settings.ui_port),
                "--db-filename",
                str(settings.state_dir / "temporal.db"),
                "--log-level",
                "warn",
                "--search-attribute",
                "ClusterSetName=Keyword",
                "--search-attribute",
                "ClusterSetPhase=Keyword",
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
            name="worker",
            argv=[_csctl(), "worker"],
            env=common_env,
            ready=_command_succeeds(
                [
                    temporal,
                    "task-queue",
                    "describe",
                    "--task-queue",
                    "clusterset",
                    "--address",
                    settings.temporal_address,
                ],
                expect="clusterset",
            ),
        ),
    ]


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
            f"  Logs: {settings.logs}/",
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
def demo(*, state_dir: Path, temporal_port: int, ui_port: int) -> None:
    """Run the whole stack locally, print where it is, and keep it running until Ctrl-C."""
    settings = DemoSettings(state_dir=state_dir.resolve(), temporal_port=temporal_port, ui_port=ui_port)
    settings.logs.mkdir(parents=True, exist_ok=True)
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
