"""The thin CR watcher: lists and watches PerconaServerMySQLClusterSet objects and relays them to Temporal.

It owns nothing: every decision belongs to the entity workflow. The watcher sends ApplySpec for each new
generation (update-with-start), Dissolve when a CR with our finalizer is deleted, Rejoin for the rejoin
annotation; it adds and removes the dissolve finalizer. See docs/watcher.md.

Modules: `settings` (names, options), `source` (list-then-watch thread), `reconciler` (one CR's
handoff), `runner` (per-CR serial workers), `kube` (the few Kubernetes writes), `leader` (Lease
election), `metrics` (Prometheus, /healthz), `release` (the stuck-deletion escape hatch), `main`.
"""

from __future__ import annotations

from watcher.main import run_watcher
from watcher.metrics import WatcherMetrics
from watcher.runner import Watcher
from watcher.settings import LeaderElection, WatcherSettings

__all__ = ["LeaderElection", "Watcher", "WatcherMetrics", "WatcherSettings", "run_watcher"]
