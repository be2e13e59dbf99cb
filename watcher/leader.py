"""Optional Lease-based leader election (coordination.k8s.io/v1) for running several watcher replicas.

The official client's leader election has only a ConfigMap lock, so this is the small Lease loop
client-go's `leaderelection` runs: read the Lease; take it when it is free, expired, or already ours,
writing with the Lease's resourceVersion so two candidates cannot both win (the loser gets 409); renew
every `renew_interval_seconds`; a leader that cannot renew within `lease_duration_seconds` steps down
(the process exits and is restarted, as client-go's `OnStoppedLeading` usually does). On a clean stop
the Lease is released so a standby takes over at once.

Leader election only saves work: two watchers at once are harmless (update ids and the workflow's
validators deduplicate), which is why a missed step-down costs nothing but a few rejected updates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from watcher.metrics import WatcherMetrics
from watcher.settings import LeaderElection

_log = logging.getLogger("watcher.leader")


def _micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class LeaseElector:
    """Acquires and renews one Lease for `identity`."""

    def __init__(
        self, api_client: Any, *, config: LeaderElection, identity: str, metrics: WatcherMetrics
    ) -> None:
        self._api: Any = client.CoordinationV1Api(api_client)  # dict bodies, model answers
        self._config = config
        self._identity = identity
        self._metrics = metrics

    def try_acquire_or_renew(self) -> bool:
        """One round: True when this identity holds the Lease afterwards."""
        cfg = self._config
        spec = {
            "holderIdentity": self._identity,
            "leaseDurationSeconds": int(cfg.lease_duration_seconds),
            "renewTime": _micro_now(),
        }
        try:
            lease = self._api.read_namespaced_lease(cfg.lease_name, cfg.lease_namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            body = {
                "metadata": {"name": cfg.lease_name, "namespace": cfg.lease_namespace},
                "spec": {**spec, "acquireTime": _micro_now(), "leaseTransitions": 0},
            }
            try:
                self._api.create_namespaced_lease(cfg.lease_namespace, body)
                return True
            except ApiException as create_exc:
                if create_exc.status == 409:
                    return False
                raise
        holder = lease.spec.holder_identity if lease.spec else None
        renewed = _as_datetime(lease.spec.renew_time if lease.spec else None)
        duration = (lease.spec.lease_duration_seconds if lease.spec else None) or cfg.lease_duration_seconds
        expired = renewed is None or (datetime.now(UTC) - renewed).total_seconds() > duration
        if holder and holder != self._identity and not expired:
            return False
        transitions = (lease.spec.lease_transitions if lease.spec else 0) or 0
        body = {
            "metadata": {
                "name": cfg.lease_name,
                "namespace": cfg.lease_namespace,
                "resourceVersion": lease.metadata.resource_version,
            },
            "spec": {
                **spec,
                "acquireTime": _micro_now() if holder != self._identity else _iso(lease.spec.acquire_time),
                "leaseTransitions": transitions + (0 if holder == self._identity else 1),
            },
        }
        try:
            self._api.replace_namespaced_lease(cfg.lease_name, cfg.lease_namespace, body)
            return True
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise

    def release(self) -> None:
        """Give the Lease up (only when still ours)."""
        cfg = self._config
        try:
            lease = self._api.read_namespaced_lease(cfg.lease_name, cfg.lease_namespace)
            if lease.spec is None or lease.spec.holder_identity != self._identity:
                return
            body = {
                "metadata": {
                    "name": cfg.lease_name,
                    "namespace": cfg.lease_namespace,
                    "resourceVersion": lease.metadata.resource_version,
                },
                "spec": {"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": _micro_now()},
            }
            self._api.replace_namespaced_lease(cfg.lease_name, cfg.lease_namespace, body)
        except ApiException as exc:
            _log.warning("releasing the Lease failed: %s", exc.reason)

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this identity leads (True) or `stop` is set (False)."""
        while not stop.is_set():
            try:
                if await asyncio.to_thread(self.try_acquire_or_renew):
                    self._metrics.leader.set(1)
                    _log.info(
                        "leading as %s (Lease %s/%s)",
                        self._identity,
                        self._config.lease_namespace,
                        self._config.lease_name,
                    )
                    return True
            except Exception as exc:
                _log.warning("leader election round failed: %s", exc)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._config.renew_interval_seconds)
            except TimeoutError:
                pass
        return False

    async def keep(self, stop: asyncio.Event, lost: asyncio.Event) -> None:
        """Renew until `stop`; set `lost` when renewals fail for longer than the Lease duration."""
        last_ok = time.monotonic()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._config.renew_interval_seconds)
                break
            except TimeoutError:
                pass
            try:
                held = await asyncio.to_thread(self.try_acquire_or_renew)
            except Exception as exc:  # transient: step down only when the Lease may have expired
                _log.warning("renewing the Lease failed: %s", exc)
                held = time.monotonic() - last_ok <= self._config.lease_duration_seconds
            else:
                if held:
                    last_ok = time.monotonic()
            if not held:
                self._metrics.leader.set(0)
                _log.error("lost the Lease; stepping down")
                lost.set()
                return
        self._metrics.leader.set(0)
        await asyncio.to_thread(self.release)


def _iso(value: Any) -> str | None:
    moment = _as_datetime(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None
