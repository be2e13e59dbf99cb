"""Run the watcher as a process: health endpoints, optional leader election, then the watch loop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio.client import Client

from watcher.leader import LeaseElector
from watcher.metrics import WatcherMetrics
from watcher.runner import Watcher, serve_health
from watcher.settings import WatcherSettings

EXIT_LOST_LEADERSHIP = 3


async def run_watcher(
    *,
    client: Client,
    api_client: Any,
    settings: WatcherSettings,
    stop: asyncio.Event,
    health_bind: str | None = None,
    metrics: WatcherMetrics | None = None,
) -> int:
    """Watch until `stop` is set (exit code 0), or until leadership is lost (EXIT_LOST_LEADERSHIP)."""
    metrics = metrics or WatcherMetrics()
    health = (
        await serve_health(metrics, bind=health_bind, liveness_max_age=settings.liveness_max_age)
        if health_bind
        else None
    )
    try:
        watcher = Watcher(client=client, api_client=api_client, settings=settings, metrics=metrics)
        if settings.leader_election is None:
            await watcher.run(stop)
            return 0
        elector = LeaseElector(
            api_client, config=settings.leader_election, identity=settings.identity, metrics=metrics
        )
        if not await elector.acquire(stop):
            return 0
        lost = asyncio.Event()
        watch_stop = asyncio.Event()
        keeper = asyncio.create_task(elector.keep(stop, lost))

        async def relay() -> None:
            waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(lost.wait())]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            watch_stop.set()

        relay_task = asyncio.create_task(relay())
        try:
            await watcher.run(watch_stop)
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            await keeper
        return EXIT_LOST_LEADERSHIP if lost.is_set() else 0
    finally:
        if health is not None:
            await health.cleanup()
