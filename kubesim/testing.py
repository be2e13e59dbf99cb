"""Test helper: a simulator running in a background thread, with a kubeconfig and a client for it.

    with running_kubesim(tmp_path, crd_files=["deploy/crd.yaml"]) as kube:
        api = kubernetes.client.CustomObjectsApi(kube.api_client)
        kube.compact()          # fault hooks run on the server's own loop
        subprocess.run([kubectl, "--kubeconfig", kube.kubeconfig, "get", "ps-clusterset"])

The server has its own event loop in its own thread, so the blocking kubernetes client, kubectl
subprocesses and async tests can all use it without deadlocking each other.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import kubernetes
from aiohttp import web

from kubesim.kubeconfig import write_kubeconfig
from kubesim.server import KubeSim

T = TypeVar("T")


@dataclass(kw_only=True)
class RunningKubeSim:
    """A simulator serving on `server`; `call()` runs a function on its loop."""

    sim: KubeSim
    server: str
    kubeconfig: Path
    api_client: Any  # kubernetes.client.ApiClient
    loop: asyncio.AbstractEventLoop

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the server's loop (the store is single-threaded) and return its result."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def drop_watches(self) -> int:
        """Cut every open watch stream."""
        return self.call(self.sim.drop_watches)

    def compact(self) -> None:
        """Forget the watch history: the next watch from an older resourceVersion gets 410 Gone."""
        self.call(self.sim.compact)

    def expire_watches(self) -> int:
        """End every open watch so that resuming it gets 410 Gone (forces the client to list again)."""
        return self.call(self.sim.expire_watches)

    def stall_watches(self, stalled: bool = True) -> None:
        """Keep watch streams open but silent (or let them flow again)."""
        self.call(lambda: self.sim.stall_watches(stalled))

    def new_api_client(self) -> Any:
        """A fresh kubernetes ApiClient for this server (one per thread is safest)."""
        return kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]


@contextmanager
def running_kubesim(
    tmp_path: Path,
    *,
    crd_files: Sequence[str | Path] = (),
    history_size: int = 1000,
    bookmark_interval: float = 1.0,
    validation: bool = True,
) -> Iterator[RunningKubeSim]:
    """Start a simulator on a free loopback port for the duration of the `with` block."""
    loop = asyncio.new_event_loop()
    started: Future[tuple[KubeSim, web.AppRunner, int]] = Future()

    async def start() -> tuple[KubeSim, web.AppRunner, int]:
        sim = KubeSim(history_size=history_size, bookmark_interval=bookmark_interval, validation=validation)
        for crd in crd_files:
            sim.install_crd_file(str(crd))
        runner = web.AppRunner(sim.app(), handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = int(runner.addresses[0][1])
        sim.address = f"127.0.0.1:{port}"
        return sim, runner, port

    def thread_main() -> None:
        asyncio.set_event_loop(loop)
        try:
            started.set_result(loop.run_until_complete(start()))
        except BaseException as exc:  # surfaced in the caller's thread
            started.set_exception(exc)
            return
        loop.run_forever()

    thread = threading.Thread(target=thread_main, name="kubesim", daemon=True)
    thread.start()
    sim, runner, port = started.result(timeout=30)
    server = f"http://127.0.0.1:{port}"
    path = write_kubeconfig(tmp_path / "kubeconfig", server=server)
    api_client = kubernetes.config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
    try:
        yield RunningKubeSim(sim=sim, server=server, kubeconfig=path, api_client=api_client, loop=loop)
    finally:
        api_client.close()
        _run(loop, sim.drop_watches_async())
        _run(loop, runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _run(loop: asyncio.AbstractEventLoop, coro: Awaitable[Any]) -> None:
    async def wrapper() -> None:
        await coro

    asyncio.run_coroutine_threadsafe(wrapper(), loop).result(timeout=30)


def clusterset_manifest(
    name: str = "cs",
    *,
    namespace: str = "default",
    primary: str = "dc1",
    sites: Sequence[str] = ("dc1", "dc2", "dc3"),
    finalizers: Sequence[str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A valid PerconaServerMySQLClusterSet object for tests (one endpoint per site, 127.0.1.x hosts)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if finalizers is not None:
        metadata["finalizers"] = list(finalizers)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "ps.percona.com/v1",
        "kind": "PerconaServerMySQLClusterSet",
        "metadata": metadata,
        "spec": {
            "primaryCluster": primary,
            "credentialsSecret": {"name": f"{name}-credentials"},
            "clusters": [
                {"innodbClusterName": site, "endpoints": [{"host": f"127.0.1.{i + 1}", "port": 3306}]}
                for i, site in enumerate(sites)
            ],
        },
    }
