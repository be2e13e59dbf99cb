"""The watcher process: the list-watch source feeding one serial worker per CR, plus health and metrics.

Events for one CR are coalesced: a worker always reconciles the newest state it has, one at a time, so
a burst of edits costs one handoff per distinct generation and a slow Dissolve (which waits for the
workflow's result) holds only its own CR. A failed reconciliation is retried with backoff unless a newer
state arrived meanwhile. CRs are independent, so many reconcile concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web
from temporalio.client import Client

from watcher.kube import ClusterSetKube
from watcher.metrics import WatcherMetrics, health_app
from watcher.reconciler import Reconciler
from watcher.settings import WatcherSettings
from watcher.source import Changed, Item, Listed, ListWatch

_log = logging.getLogger("watcher")


def _key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}/{meta.get('uid', '')}"


class Watcher:
    """Watches PerconaServerMySQLClusterSet objects and relays them to Temporal until stopped."""

    def __init__(
        self,
        *,
        client: Client,
        api_client: Any,
        settings: WatcherSettings,
        metrics: WatcherMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or WatcherMetrics()
        self.kube = ClusterSetKube(api_client)
        self.reconciler = Reconciler(client=client, kube=self.kube, settings=settings, metrics=self.metrics)
        self._pending: dict[str, dict[str, Any]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._known: dict[str, str] = {}  # key -> uid, of objects present in the last list/watch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._source: ListWatch | None = None
        self._stopped = False

    # ------------------------------------------------------------------ feeding

    def _deliver_threadsafe(self, item: Item) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._on_item, item)

    def _on_item(self, item: Item) -> None:
        if self._stopped:
            return  # delivered by the source thread just before it stopped
        if isinstance(item, Listed):
            self.metrics.listed = True
            present = {_key(o): o for o in item.objects}
            for key, uid in list(self._known.items()):
                if key not in present:
                    self._gone(key, uid)
            for key, obj in present.items():
                self._known[key] = obj["metadata"].get("uid", "")
                self._submit(key, obj)
        elif isinstance(item, Changed):
            key = _key(item.object)
            if item.type == "DELETED":
                self._gone(key, item.object["metadata"].get("uid", ""))
            else:
                self._known[key] = item.object["metadata"].get("uid", "")
                self._submit(key, item.object)

    def _gone(self, key: str, uid: str) -> None:
        self._known.pop(key, None)
        self._pending.pop(key, None)
        self.reconciler.forget(uid)

    def _submit(self, key: str, obj: dict[str, Any]) -> None:
        self._pending[key] = obj
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"reconcile {key}")

    async def _work(self, key: str) -> None:
        backoff = self.settings.backoff_initial
        try:
            while True:
                obj = self._pending.pop(key, None)
                if obj is None:
                    return
                try:
                    await self.reconciler.reconcile(obj)
                    backoff = self.settings.backoff_initial
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.metrics.errors.inc()
                    _log.exception("reconciling %s failed; retrying in %.1fs", key, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.settings.backoff_max)
                    if key in self._known:
                        self._pending.setdefault(key, obj)  # unless a newer state arrived meanwhile
        finally:
            self._workers.pop(key, None)

    # ------------------------------------------------------------------ running

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until `stop` is set; then end the stream and cancel in-flight reconciliations."""
        self._loop = asyncio.get_running_loop()
        self._source = ListWatch(
            kube=self.kube, settings=self.settings, metrics=self.metrics, deliver=self._deliver_threadsafe
        )
        self._source.start()
        _log.info(
            "watching %s in %s as %s",
            "PerconaServerMySQLClusterSet",
            self.settings.namespace or "all namespaces",
            self.settings.identity,
        )
        try:
            await stop.wait()
        finally:
            self._stopped = True
            await asyncio.to_thread(self._source.stop)
            tasks = list(self._workers.values())
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def idle(self) -> bool:
        """True when nothing is pending or being reconciled (for tests and orderly shutdown)."""
        return not self._pending and not self._workers


async def serve_health(metrics: WatcherMetrics, *, bind: str, liveness_max_age: float) -> web.AppRunner:
    """Start `/healthz`, `/readyz` and `/metrics` on `host:port`; the caller cleans the runner up."""
    host, _, port = bind.rpartition(":")
    runner = web.AppRunner(health_app(metrics, liveness_max_age=liveness_max_age))
    await runner.setup()
    await web.TCPSite(runner, host or "0.0.0.0", int(port)).start()
    return runner
