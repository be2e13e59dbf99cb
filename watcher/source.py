"""List, then watch from the list's resourceVersion: the event source of the watcher.

Kubernetes quirks handled here (temporal-patterns.md §3.3-3.4):

- A list gives the state *and* the resourceVersion to watch from; every list is replayed to the
  reconciler as a `Listed` batch (level-triggered: the handoff is idempotent, so re-sending is free),
  and objects that vanished between two lists are reported as gone.
- The watch asks for bookmarks, so the resourceVersion keeps moving even when our objects do not; a
  watch request that ends normally (the server's `timeoutSeconds`, a dropped connection) is resumed from
  the last resourceVersion seen, without a new list.
- 410 Gone (the resourceVersion fell out of the server's history) means: list again.
- A stream that goes silent without closing is caught by the client read timeout (`inactivity_timeout`)
  and answered with a list as well, after a backoff.
- Any other error: backoff (doubling, capped), then list again. The resourceVersion is never persisted;
  a restarted watcher simply lists.

The official client is blocking, so the loop runs in its own thread and hands items to the asyncio
loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from watcher.kube import ClusterSetKube
from watcher.metrics import WatcherMetrics
from watcher.settings import WatcherSettings

_log = logging.getLogger("watcher.source")


@dataclass(frozen=True)
class Listed:
    """The full state from a list; `resource_version` is where the following watch starts."""

    objects: list[dict[str, Any]]
    resource_version: str


@dataclass(frozen=True)
class Changed:
    """One ADDED / MODIFIED / DELETED watch event."""

    type: str
    object: dict[str, Any]


Item = Listed | Changed


class ListWatch:
    """The list-then-watch loop, in a thread; `deliver` is called from that thread."""

    def __init__(
        self,
        *,
        kube: ClusterSetKube,
        settings: WatcherSettings,
        metrics: WatcherMetrics,
        deliver: Callable[[Item], None],
    ) -> None:
        self._kube = kube
        self._settings = settings
        self._metrics = metrics
        self._deliver = deliver
        self._stop = threading.Event()
        self._watch: Any = None  # the open kubernetes.watch.Watch
        self._thread: threading.Thread | None = None
        self._listed_since_error = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="clusterset-list-watch", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the loop: end the open stream and wait for the thread."""
        self._stop.set()
        current = self._watch
        if current is not None:
            current.stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def _emit(self, item: Item) -> None:
        # Nothing is delivered once stop() was called: a stopped watcher must not act any more.
        if not self._stop.is_set():
            self._deliver(item)

    def _run(self) -> None:
        backoff = self._settings.backoff_initial
        reason = "start"
        while not self._stop.is_set():
            try:
                self._list_and_watch(reason)
                return
            except ApiException as exc:
                if self._stop.is_set():
                    return
                if exc.status == 410:
                    reason = "gone"
                    _log.info("watch resourceVersion expired (410 Gone); listing again")
                    continue  # a fresh list right away
                reason = "error"
                problem = f"list/watch failed: {exc.status} {exc.reason}"
            except Exception as exc:  # stalled stream (read timeout), connection refused, protocol error
                if self._stop.is_set():
                    return  # stop() shut the socket down under the open stream
                reason = (
                    "stalled"
                    if "timed out" in str(exc).lower() or "timeout" in type(exc).__name__.lower()
                    else "error"
                )
                problem = f"list/watch interrupted ({reason}: {exc})"
            self._metrics.errors.inc()
            if self._listed_since_error:  # the last list worked: this is a new failure, start over
                backoff = self._settings.backoff_initial
                self._listed_since_error = False
            _log.warning("%s; listing again in %.1fs", problem, backoff)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, self._settings.backoff_max)

    def _list_and_watch(self, reason: str) -> None:
        fn, args = self._kube.list_fn(self._settings.namespace)
        timeouts = (self._settings.connect_timeout, self._settings.inactivity_timeout)
        listed = fn(*args, _request_timeout=timeouts)
        self._metrics.relists.labels(reason=reason).inc()
        self._listed_since_error = True
        rv = str(listed["metadata"]["resourceVersion"])
        self._metrics.saw_event("LIST")
        self._emit(Listed(objects=list(listed.get("items") or []), resource_version=rv))
        while not self._stop.is_set():
            w: Any = watch.Watch()  # type: ignore[no-untyped-call]
            self._watch = w
            if self._stop.is_set():  # stop() may have run just before this watch was published
                break
            for event in w.stream(
                fn,
                *args,
                resource_version=rv,
                allow_watch_bookmarks=True,
                timeout_seconds=self._settings.watch_timeout_seconds,
                _request_timeout=timeouts,
            ):
                type_ = event["type"]
                obj = event["raw_object"]
                self._metrics.saw_event(type_)
                new_rv = (obj.get("metadata") or {}).get("resourceVersion")
                if new_rv:
                    rv = str(new_rv)
                if type_ in ("ADDED", "MODIFIED", "DELETED"):
                    self._emit(Changed(type=type_, object=obj))
                if self._stop.is_set():
                    break
            self._watch = None
            # The request ended (server timeout or a dropped connection): resume from `rv`.
