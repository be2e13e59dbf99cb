"""A `csctl worker` subprocess that tests can SIGKILL and restart, and a payload scanner for histories."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from temporalio.client import Client


class WorkerProcess:
    """`csctl worker` on one task queue, with the real operations and no Kubernetes."""

    def __init__(
        self,
        *,
        address: str,
        task_queue: str,
        secrets_file: Path,
        ca_path: Path,
        log_dir: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.address = address
        self.task_queue = task_queue
        self.secrets_file = secrets_file
        self.ca_path = ca_path
        self.log_dir = log_dir
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_path = log_dir / "worker-0.log"

    def start(self) -> None:
        assert self.process is None
        self.starts += 1
        self.log_path = self.log_dir / f"worker-{self.starts}.log"
        csctl = str(Path(sysconfig.get_path("scripts")) / "csctl")
        argv = [
            csctl if os.path.exists(csctl) else sys.executable,
            *([] if os.path.exists(csctl) else ["-m", "cli"]),
            "worker",
            "--task-queue",
            self.task_queue,
            "--secrets-file",
            str(self.secrets_file),
            "--kube",
            "off",
            "--graceful-shutdown-seconds",
            "2",
            "--progress-signal-seconds",
            "0.2",
            "--sticky-timeout-seconds",
            "0.5",
        ]
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.address,
            "TEMPORAL_NAMESPACE": "default",
            "CLUSTERSET_MYSQL_CA_PATH": str(self.ca_path),
            **self.extra_env,
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )

    async def wait_ready(self, *, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while b"worker polling task queue" not in self.log_path.read_bytes():
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"worker exited: {self.log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker not ready: {self.log_path.read_text()[-2000:]}")
            await asyncio.sleep(0.05)

    @property
    def identity(self) -> str | None:
        """The identity the SDK gives the running process by default (recorded on its workflow tasks)."""
        if self.process is None:
            return None
        return f"{self.process.pid}@{socket.gethostname()}"

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no last heartbeat."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill()
        self.process = None


@contextlib.asynccontextmanager
async def running_worker(
    *, address: str, task_queue: str, ca_path: Path, state_dir: Path
) -> AsyncIterator[WorkerProcess]:
    """A `csctl worker` for the world whose CA is `ca_path`, its secrets file and logs in `state_dir`;
    started and ready on entry, stopped (SIGTERM) on exit."""
    from wf_world import secrets_file

    worker = WorkerProcess(
        address=address,
        task_queue=task_queue,
        secrets_file=secrets_file(state_dir / "secrets.json"),
        ca_path=ca_path,
        log_dir=state_dir,
    )
    worker.start()
    try:
        await worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, str):
        yield obj
        try:
            yield base64.b64decode(obj, validate=True).decode("utf-8", "replace")
        except ValueError:
            pass
    else:
        yield str(obj)


async def histories_containing(
    client: Client, secrets: Iterable[str], *, query: str = ""
) -> dict[str, list[str]]:
    """Every workflow history on the server, decoded (payload data is base64 in the JSON form), searched
    for `secrets`: {workflow id: [secrets found]}. Covers inputs, results, heartbeats, failures, memos,
    search attributes and user metadata, since all are fields of the history events."""
    found: dict[str, list[str]] = {}
    wanted = list(secrets)
    async for wf in client.list_workflows(query or None):
        handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
        history = await handle.fetch_history()
        texts = list(_strings(history.to_json_dict()))
        hits = [s for s in wanted if any(s in t for t in texts)]
        if hits:
            found[f"{wf.id} ({wf.run_id})"] = hits
    return found


async def histories_failing_replay(client: Client, *, query: str) -> dict[str, str]:
    """Replay the history of every workflow `query` lists against the current workflow code:
    {workflow id (run id): replay failure}.

    Scope `query` (a visibility query) to the caller's own closed workflows: the session's dev server also
    holds other tests' workflows, some of types this replayer does not know. A history written by a worker
    that was killed and restarted must replay like any other; a divergence would otherwise surface only
    when a worker happens to rebuild that workflow from its history (a cache eviction, another restart)."""
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Replayer

    from workflows.clusterset import ClusterSetWorkflow
    from workflows.operation import DryRunWorkflow, OperationWorkflow

    replayer = Replayer(
        workflows=[ClusterSetWorkflow, OperationWorkflow, DryRunWorkflow],
        data_converter=pydantic_data_converter,
    )
    failures: dict[str, str] = {}
    async for wf in client.list_workflows(query):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[f"{wf.id} ({wf.run_id})"] = str(result.replay_failure)
    return failures
