"""`csctl watcher` and `csctl release-finalizer` as processes: wiring, readiness, clean exit, and readable
errors (one line and a hint, no traceback)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from watcher_world import World, eventually

from api.models import FINALIZER_DISSOLVE

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSCTL = str(Path(sys.executable).with_name("csctl"))


def _env(world: World, env: WorkflowEnvironment) -> dict[str, str]:
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": env.client.namespace,
        "KUBECONFIG": str(world.kube.kubeconfig),
    }


async def _csctl(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        CSCTL, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    return int(proc.returncode or 0), stderr.decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return 0


async def test_watcher_process_relays_and_exits_cleanly(
    world_factory: Callable[..., Any], temporal_dev_env: WorkflowEnvironment
) -> None:
    async with world_factory() as world:
        port = _free_port()
        proc = await asyncio.create_subprocess_exec(
            *[
                CSCTL,
                "watcher",
                "--namespace",
                "default",
                "--task-queue",
                world.task_queue,
                "--health-bind",
                f"127.0.0.1:{port}",
                "--inactivity-timeout",
                "5",
            ],
            env=_env(world, temporal_dev_env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:

            async def ready() -> bool:
                return await asyncio.to_thread(_status, f"http://127.0.0.1:{port}/readyz") == 200

            await eventually("ready", ready)
            created = world.create()
            await eventually(
                "finalizer",
                lambda: FINALIZER_DISSOLVE in ((world.get() or {})["metadata"].get("finalizers") or []),
            )

            async def started() -> bool:
                return await world.maybe_view(created) is not None

            await eventually("workflow started", started)
            assert await asyncio.to_thread(_status, f"http://127.0.0.1:{port}/healthz") == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
        assert proc.returncode == 0, stderr.decode()


async def test_release_finalizer_cli_errors_are_one_line(
    world_factory: Callable[..., Any], temporal_dev_env: WorkflowEnvironment
) -> None:
    async with world_factory() as world:
        env = _env(world, temporal_dev_env)
        bad_code, bad_err = await _csctl("release-finalizer", "just-a-name", "--reason", "x", env=env)
        assert bad_code == 1
        assert bad_err.strip().splitlines() == [
            "Error: expected NAMESPACE/NAME, got 'just-a-name' (hint: csctl release-finalizer default/my-cs)"
        ]
        world.create()
        alive_code, alive_err = await _csctl("release-finalizer", "default/cs", "--reason", "x", env=env)
        assert alive_code == 1
        assert "Traceback" not in alive_err
        assert (
            "default/cs is not being deleted; run `kubectl delete ps-clusterset -n default cs` first"
            in alive_err
        )
        missing_code, missing_err = await _csctl(
            "release-finalizer", "default/nope", "--reason", "x", env=env
        )
        assert missing_code == 1
        assert "PerconaServerMySQLClusterSet default/nope not found" in missing_err


async def test_unreachable_temporal_is_one_readable_line(tmp_path: Path) -> None:
    from kubesim.kubeconfig import write_kubeconfig

    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server="http://127.0.0.1:9")
    env = {**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:9", "KUBECONFIG": str(kubeconfig)}
    code, err = await _csctl("watcher", "--health-bind", "127.0.0.1:0", env=env)
    assert code == 1
    assert err.startswith("Error: cannot connect to Temporal:")
    assert "hint: set TEMPORAL_ADDRESS" in err and "Traceback" not in err
