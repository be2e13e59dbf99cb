"""What the watcher does for one CR, given its latest state: relay it to the entity workflow.

Level-triggered and idempotent, so it may run any number of times for the same state, in any number of
watchers at once:

- deletion started and our finalizer present: send Dissolve (update id ``dissolve-<uid>``), wait for the
  workflow's result, and remove the finalizer only when the result says dissolved;
- otherwise add the finalizer if missing (unless opted out), validate the spec with the product's
  models (an invalid one gets the InvalidSpec condition naming the field, and nothing is started),
  and for a generation not yet relayed send ApplySpec with update-with-start (update id
  ``spec-<uid>-<generation>``; "StaleGeneration" means another watcher or an earlier run already did);
- the rejoin annotation sends Rejoin(source="annotation") once per appearance of the annotation; the
  workflow removes the annotation after success and keeps it (with the RejoinFailed condition) after a
  failure, and its validator rejects a repeat ("RejoinAlreadyFailed"), so there is no retry loop.

Rule exception: the InvalidSpec condition is the one status write the watcher makes itself (the workflow
is not started for an invalid spec, so there is no other writer); every other status write belongs to
the workflow's activities.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.models import ANNOTATION_REJOIN, FINALIZER_DISSOLVE, ClusterSetSpec
from api.violations import pydantic_violations
from watcher.kube import ClusterSetKube
from watcher.metrics import WatcherMetrics
from watcher.settings import ANNOTATION_SKIP_FINALIZER, WatcherSettings
from worker.entity import apply_spec, update_failure_type
from workflows.clusterset import ClusterSetWorkflow
from workflows.ids import clusterset_workflow_id
from workflows.models import DissolveRequest, RejoinRequest

_log = logging.getLogger("watcher.reconciler")

# Rejections of a Rejoin that end the matter for this appearance of the annotation (no retry loop).
_REJOIN_FINAL = {
    "RejoinAlreadyFailed",
    "RejoinInProgress",
    "ClusterIsPrimary",
    "UnknownCluster",
    "Dissolving",
}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class _Memory:
    """Per-process memory that only saves work; losing it (a restart) costs duplicates Temporal rejects."""

    relayed_generation: dict[str, int] = field(default_factory=dict)  # uid -> last generation relayed
    rejoin_seen: dict[tuple[str, str], str] = field(default_factory=dict)  # (uid, cluster) -> first rv seen
    rejoin_sent: set[tuple[str, str, str]] = field(default_factory=set)
    released: set[str] = field(default_factory=set)  # uids whose finalizer this watcher removed


class Reconciler:
    """Relays one CR's state to its entity workflow."""

    def __init__(
        self, *, client: Client, kube: ClusterSetKube, settings: WatcherSettings, metrics: WatcherMetrics
    ) -> None:
        self._client = client
        self._kube = kube
        self._settings = settings
        self._metrics = metrics
        self._memory = _Memory()

    def forget(self, uid: str) -> None:
        """The CR is gone: drop what was remembered about it."""
        self._memory.relayed_generation.pop(uid, None)
        for key in [k for k in self._memory.rejoin_seen if k[0] == uid]:
            del self._memory.rejoin_seen[key]
        self._memory.rejoin_sent = {k for k in self._memory.rejoin_sent if k[0] != uid}

    async def reconcile(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if meta.get("uid") in self._memory.released:
            return  # a state older than our finalizer removal, still queued: the CR is going away
        if meta.get("deletionTimestamp"):
            if FINALIZER_DISSOLVE in (meta.get("finalizers") or []):
                await self._dissolve(obj)
            return
        wants_finalizer = self._settings.manage_finalizer and not _truthy(
            (meta.get("annotations") or {}).get(ANNOTATION_SKIP_FINALIZER)
        )
        if wants_finalizer and FINALIZER_DISSOLVE not in (meta.get("finalizers") or []):
            updated = await self._kube.aadd_finalizer(obj)
            if updated is None:
                return  # gone or being deleted: the next event brings that state
            obj = updated
            meta = obj["metadata"]
        try:
            spec = ClusterSetSpec.model_validate(obj.get("spec") or {})
        except ValidationError as err:
            message = "; ".join(str(v) for v in pydantic_violations(err, prefix="spec"))
            if await self._kube.aset_invalid_spec(obj, message):
                self._metrics.updates.labels(update="InvalidSpecCondition", outcome="written").inc()
            _log.warning("%s/%s: invalid spec, nothing started: %s", meta["namespace"], meta["name"], message)
            return
        await self._kube.aset_invalid_spec(obj, None)
        await self._apply(obj, spec)
        annotation = (meta.get("annotations") or {}).get(ANNOTATION_REJOIN)
        self._drop_stale_rejoins(meta["uid"], annotation)
        if annotation:
            await self._rejoin(obj, annotation.strip())

    # ------------------------------------------------------------------ ApplySpec

    async def _apply(self, obj: dict[str, Any], spec: ClusterSetSpec) -> None:
        meta = obj["metadata"]
        uid, generation = meta["uid"], int(meta.get("generation") or 1)
        if self._memory.relayed_generation.get(uid, 0) >= generation:
            return
        try:
            result, _ = await apply_spec(
                self._client,
                namespace=meta["namespace"],
                name=meta["name"],
                uid=uid,
                generation=generation,
                spec=spec,
                task_queue=self._settings.task_queue,
                tuning=self._settings.tuning,
            )
        except WorkflowUpdateFailedError as err:
            kind = update_failure_type(err)
            if kind != "Dissolving":
                raise
            outcome = "dissolving"
        except WorkflowAlreadyStartedError:
            outcome = "closed"  # the workflow completed (dissolved): nothing to relay to
            _log.warning(
                "%s/%s: its workflow has completed; spec not relayed", meta["namespace"], meta["name"]
            )
        else:
            outcome = "accepted" if result is not None else "stale"
        self._metrics.updates.labels(update="ApplySpec", outcome=outcome).inc()
        self._memory.relayed_generation[uid] = generation

    # ------------------------------------------------------------------ Dissolve

    async def _dissolve(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
        workflow_id = clusterset_workflow_id(namespace=namespace, name=name, uid=uid)
        handle = self._client.get_workflow_handle_for(ClusterSetWorkflow.run, workflow_id)
        request = DissolveRequest(uid=uid, requested_by=f"watcher {self._settings.identity}")
        try:
            await handle.execute_update(ClusterSetWorkflow.dissolve, request, id=f"dissolve-{uid}")
            self._metrics.updates.labels(update="Dissolve", outcome="accepted").inc()
        except RPCError as err:
            # No running workflow takes the update: none was ever started (nothing to dissolve), or it
            # has closed (its result tells whether it dissolved). A running one: a transient error.
            try:
                description = await handle.describe()
            except RPCError as describe_err:
                if describe_err.status != RPCStatusCode.NOT_FOUND:
                    raise
                _log.info("%s/%s: no workflow was ever started; releasing the CR", namespace, name)
                self._metrics.updates.labels(update="Dissolve", outcome="no-workflow").inc()
                await self._release(namespace=namespace, name=name, uid=uid)
                return
            if description.status == WorkflowExecutionStatus.RUNNING:
                raise err
            _log.info("%s/%s: workflow already %s", namespace, name, description.status)
        try:
            result = await handle.result()
        except WorkflowFailureError as err:
            # Failed, terminated (e.g. by `csctl release-finalizer`) or timed out: not dissolved. The
            # finalizer stays; the operator decides (see docs/watcher.md, "stuck deletion").
            _log.error(
                "%s/%s: workflow ended without dissolving (%s); finalizer kept", namespace, name, err.cause
            )
            return
        if result.dissolved:
            await self._release(namespace=namespace, name=name, uid=uid)
        else:
            _log.error(
                "%s/%s: workflow completed but reports not dissolved: %s", namespace, name, result.message
            )

    async def _release(self, *, namespace: str, name: str, uid: str) -> None:
        if await self._kube.aremove_finalizer(namespace=namespace, name=name, uid=uid):
            self._metrics.updates.labels(update="RemoveFinalizer", outcome="removed").inc()
        self.forget(uid)
        self._memory.released.add(uid)

    # ------------------------------------------------------------------ Rejoin

    def _drop_stale_rejoins(self, uid: str, annotation: str | None) -> None:
        for key in [
            k for k in self._memory.rejoin_seen if k[0] == uid and k[1] != (annotation or "").strip()
        ]:
            del self._memory.rejoin_seen[key]

    async def _rejoin(self, obj: dict[str, Any], cluster: str) -> None:
        meta = obj["metadata"]
        uid = meta["uid"]
        first_rv = self._memory.rejoin_seen.setdefault((uid, cluster), str(meta["resourceVersion"]))
        key = (uid, cluster, first_rv)
        if key in self._memory.rejoin_sent:
            return
        workflow_id = clusterset_workflow_id(namespace=meta["namespace"], name=meta["name"], uid=uid)
        handle = self._client.get_workflow_handle_for(ClusterSetWorkflow.run, workflow_id)
        request = RejoinRequest(
            cluster=cluster, requested_by=f"annotation via {self._settings.identity}", source="annotation"
        )
        try:
            await handle.execute_update(
                ClusterSetWorkflow.rejoin, request, id=f"rejoin-{uid}-{cluster}-{first_rv}"
            )
            outcome = "accepted"
        except WorkflowUpdateFailedError as err:
            kind = update_failure_type(err)
            if kind not in _REJOIN_FINAL:
                raise
            outcome = f"rejected:{kind}"
            if kind != "RejoinInProgress":
                await self._kube.aemit_event(
                    obj,
                    type_="Warning",
                    reason="RejoinRejected",
                    message=f"rejoin of {cluster} requested by annotation was rejected: {err.cause}",
                    key=f"rejoin-rejected-{cluster}-{first_rv}",
                )
        self._metrics.updates.labels(update="Rejoin", outcome=outcome).inc()
        self._memory.rejoin_sent.add(key)
