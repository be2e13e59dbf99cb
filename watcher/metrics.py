"""Prometheus metrics and the liveness/readiness endpoints of the watcher.

Liveness is "an event or a bookmark arrived recently": a watcher whose stream silently stalled and whose
re-list keeps failing stops being live, and Kubernetes restarts it. Readiness is "the first list is done".
Metrics live in their own registry so several watchers in one test process do not collide.
"""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest


class WatcherMetrics:
    """The watcher's counters and gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "clusterset_watcher_events", "Watch events seen, by type", ["type"], registry=self.registry
        )
        self.updates = Counter(
            "clusterset_watcher_updates_sent",
            "Workflow updates sent, by update name and outcome",
            ["update", "outcome"],
            registry=self.registry,
        )
        self.relists = Counter(
            "clusterset_watcher_relists", "Lists of the CRs, by reason", ["reason"], registry=self.registry
        )
        self.errors = Counter(
            "clusterset_watcher_errors",
            "Failed reconciliations (retried with backoff)",
            registry=self.registry,
        )
        self.last_event = Gauge(
            "clusterset_watcher_last_event_timestamp_seconds",
            "Unix time of the last watch event or bookmark",
            registry=self.registry,
        )
        self.last_event_age = Gauge(
            "clusterset_watcher_last_event_age_seconds",
            "Seconds since the last watch event or bookmark",
            registry=self.registry,
        )
        self.last_event_age.set_function(self.age)
        self.leader = Gauge("clusterset_watcher_leader", "1 while this watcher leads", registry=self.registry)
        self._last_monotonic: float | None = None
        self.listed = False

    def saw_event(self, type_: str) -> None:
        self.events.labels(type=type_).inc()
        self._last_monotonic = time.monotonic()
        self.last_event.set(time.time())

    def age(self) -> float:
        """Seconds since the last event or bookmark (0 before the first one: starting up is live)."""
        if self._last_monotonic is None:
            return 0.0
        return time.monotonic() - self._last_monotonic

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))


def health_app(metrics: WatcherMetrics, *, liveness_max_age: float) -> web.Application:
    """`/healthz` (liveness), `/readyz` (first list done) and `/metrics` (Prometheus)."""

    async def healthz(_: web.Request) -> web.Response:
        age = metrics.age()
        if age > liveness_max_age:
            return web.Response(status=503, text=f"no watch event or bookmark for {age:.0f}s\n")
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        return (
            web.Response(text="ok\n") if metrics.listed else web.Response(status=503, text="not listed yet\n")
        )

    async def metrics_handler(_: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)
    return app
