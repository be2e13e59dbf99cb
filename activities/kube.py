"""Kubernetes writes of the ClusterSet workflow, as Temporal activities (the only writer of the CR status).

The workflow owns the CR's ``/status``; everything it tells Kubernetes goes through these four activities:

- ``clusterset.kube.patch_status``: merge-patch ``/status``, probing first so an unchanged status is not
  written again (a retry after a crash writes nothing);
- ``clusterset.kube.emit_event``: an Event with a deterministic name, so a retried activity finds its own
  Event (409 AlreadyExists) instead of creating a second one;
- ``clusterset.kube.clear_rejoin_annotation``: remove ``percona.com/clusterset-rejoin-cluster`` after a
  successful annotation rejoin, only when it still names the rejoined cluster;
- ``clusterset.kube.align_primary_cluster``: after a forced failover, set ``spec.primaryCluster`` to the new
  primary so no later reconcile switches back, annotated with who asked and why.

The official ``kubernetes`` client is synchronous, so calls run in a thread. A missing CR (404) means the
resource is gone and there is nothing left to write: the activities succeed without effect.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from activities.models import ClusterSetRef
from api.models import ANNOTATION_REJOIN, GROUP, KIND, PLURAL, VERSION, ClusterSetStatus
from workflows import names

ANNOTATION_PRIMARY_BY = "percona.com/clusterset-primary-changed-by"
ANNOTATION_PRIMARY_REASON = "percona.com/clusterset-primary-changed-reason"
ANNOTATION_PRIMARY_OPERATION = "percona.com/clusterset-primary-changed-operation"
EVENT_SOURCE = "clusterset-orchestrator"


class KubeModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PatchStatusInput(KubeModel):
    clusterset: ClusterSetRef
    status: ClusterSetStatus


class PatchStatusResult(KubeModel):
    changed: bool
    found: bool = True


class EmitEventInput(KubeModel):
    clusterset: ClusterSetRef
    type: Literal["Normal", "Warning"] = "Normal"
    reason: str
    message: str
    key: str  # deterministic (e.g. the operation id + reason): the Event's name derives from it


class ClearRejoinAnnotationInput(KubeModel):
    clusterset: ClusterSetRef
    cluster: str


class AlignPrimaryInput(KubeModel):
    clusterset: ClusterSetRef
    primary_cluster: str
    requested_by: str
    reason: str
    operation_id: str


class KubeResult(KubeModel):
    changed: bool
    found: bool = True


def _status_body(status: ClusterSetStatus) -> dict[str, Any]:
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


def merge_patch(current: Any, desired: Any) -> Any:
    """The RFC 7386 merge patch that turns `current` into `desired`.

    A merge patch only removes what it names with null: sending `desired` alone would leave behind
    every field it no longer has (a finished operation's `finishedAt` on the next one, a removed
    cluster in `status.clusters`). Lists are replaced whole, as merge patches do.
    """
    if not isinstance(current, dict) or not isinstance(desired, dict):
        return desired
    patch: dict[str, Any] = {key: None for key in sorted(current.keys() - desired.keys())}
    for key, value in desired.items():
        if key not in current:
            patch[key] = value
        elif current[key] != value:
            patch[key] = merge_patch(current[key], value)
    return patch


def status_differs(current: dict[str, Any] | None, desired: ClusterSetStatus) -> bool:
    """True when writing `desired` would change `current` (ignoring lastObservedAt)."""
    if current is None:
        return True
    try:
        parsed = ClusterSetStatus.model_validate(current)
    except ValueError:
        return True
    keep = {"last_observed_at"}
    return parsed.model_dump(exclude=keep) != desired.model_dump(exclude=keep)


def event_name(ref: ClusterSetRef, key: str) -> str:
    """A DNS-1123 Event name, the same for every retry of one emission."""
    digest = hashlib.sha256(f"{ref.uid}/{key}".encode()).hexdigest()[:16]
    return f"{ref.name[:200]}.{digest}"


class KubeActivities:
    """The Kubernetes activities over injected official-client API objects."""

    def __init__(self, *, custom_objects: Any, core: Any) -> None:
        self._co = custom_objects
        self._core = core

    @classmethod
    def from_environment(cls) -> KubeActivities:
        """In-cluster config when running in a pod, else the kubeconfig (KUBECONFIG or ~/.kube/config)."""
        from kubernetes import client, config

        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except config.ConfigException:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        return cls(custom_objects=client.CustomObjectsApi(), core=client.CoreV1Api())

    def activities(self) -> list[Callable[..., Any]]:
        return [self.patch_status, self.emit_event, self.clear_rejoin_annotation, self.align_primary_cluster]

    async def _get(self, ref: ClusterSetRef) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            obj: dict[str, Any] = await asyncio.to_thread(
                self._co.get_namespaced_custom_object, GROUP, VERSION, ref.namespace, PLURAL, ref.name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        if obj.get("metadata", {}).get("uid") not in (None, "", ref.uid):
            return None  # a re-created CR with the same name is not ours
        return obj

    @activity.defn(name=names.ACTIVITY_PATCH_STATUS)
    async def patch_status(self, inp: PatchStatusInput) -> PatchStatusResult:
        """Merge-patch the CR's /status when it differs from what is there."""
        obj = await self._get(inp.clusterset)
        if obj is None:
            return PatchStatusResult(changed=False, found=False)
        if not status_differs(obj.get("status"), inp.status):
            return PatchStatusResult(changed=False)
        body = {"status": merge_patch(obj.get("status") or {}, _status_body(inp.status))}
        await asyncio.to_thread(
            self._co.patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            inp.clusterset.namespace,
            PLURAL,
            inp.clusterset.name,
            body,
        )
        return PatchStatusResult(changed=True)

    @activity.defn(name=names.ACTIVITY_EMIT_EVENT)
    async def emit_event(self, inp: EmitEventInput) -> KubeResult:
        """Create the Event once; a retry finds it (409) and succeeds."""
        from kubernetes.client.exceptions import ApiException

        now = datetime.now(UTC).isoformat()
        ref = inp.clusterset
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": event_name(ref, inp.key), "namespace": ref.namespace},
            "involvedObject": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": KIND,
                "name": ref.name,
                "namespace": ref.namespace,
                "uid": ref.uid,
            },
            "type": inp.type,
            "reason": inp.reason,
            "message": inp.message[:1024],
            "source": {"component": EVENT_SOURCE},
            "reportingComponent": EVENT_SOURCE,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await asyncio.to_thread(self._core.create_namespaced_event, ref.namespace, body)
        except ApiException as exc:
            if exc.status == 409:
                return KubeResult(changed=False)
            if exc.status == 404:
                return KubeResult(changed=False, found=False)
            raise
        return KubeResult(changed=True)

    @activity.defn(name=names.ACTIVITY_CLEAR_REJOIN_ANNOTATION)
    async def clear_rejoin_annotation(self, inp: ClearRejoinAnnotationInput) -> KubeResult:
        """Remove the rejoin annotation if (and only if) it still names `inp.cluster`."""
        obj = await self._get(inp.clusterset)
        if obj is None:
            return KubeResult(changed=False, found=False)
        if obj.get("metadata", {}).get("annotations", {}).get(ANNOTATION_REJOIN) != inp.cluster:
            return KubeResult(changed=False)
        patch = {"metadata": {"annotations": {ANNOTATION_REJOIN: None}}}
        await asyncio.to_thread(
            self._co.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            inp.clusterset.namespace,
            PLURAL,
            inp.clusterset.name,
            patch,
        )
        return KubeResult(changed=True)

    @activity.defn(name=names.ACTIVITY_ALIGN_PRIMARY)
    async def align_primary_cluster(self, inp: AlignPrimaryInput) -> KubeResult:
        """Set spec.primaryCluster to the forced failover's new primary, annotated with who and why."""
        obj = await self._get(inp.clusterset)
        if obj is None:
            return KubeResult(changed=False, found=False)
        if obj.get("spec", {}).get("primaryCluster") == inp.primary_cluster:
            return KubeResult(changed=False)
        patch = {
            "metadata": {
                "annotations": {
                    ANNOTATION_PRIMARY_BY: inp.requested_by,
                    ANNOTATION_PRIMARY_REASON: inp.reason[:1000],
                    ANNOTATION_PRIMARY_OPERATION: inp.operation_id,
                }
            },
            "spec": {"primaryCluster": inp.primary_cluster},
        }
        await asyncio.to_thread(
            self._co.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            inp.clusterset.namespace,
            PLURAL,
            inp.clusterset.name,
            patch,
        )
        return KubeResult(changed=True)


class DisconnectedKubeActivities:
    """Same activity names, no Kubernetes: logs what it would write (a worker run without a cluster)."""

    def activities(self) -> list[Callable[..., Any]]:
        return [self.patch_status, self.emit_event, self.clear_rejoin_annotation, self.align_primary_cluster]

    @activity.defn(name=names.ACTIVITY_PATCH_STATUS)
    async def patch_status(self, inp: PatchStatusInput) -> PatchStatusResult:
        activity.logger.info(
            "no Kubernetes: status of %s/%s not written", inp.clusterset.namespace, inp.clusterset.name
        )
        return PatchStatusResult(changed=False, found=False)

    @activity.defn(name=names.ACTIVITY_EMIT_EVENT)
    async def emit_event(self, inp: EmitEventInput) -> KubeResult:
        activity.logger.info("no Kubernetes: event %s %s: %s", inp.type, inp.reason, inp.message)
        return KubeResult(changed=False, found=False)

    @activity.defn(name=names.ACTIVITY_CLEAR_REJOIN_ANNOTATION)
    async def clear_rejoin_annotation(self, inp: ClearRejoinAnnotationInput) -> KubeResult:
        return KubeResult(changed=False, found=False)

    @activity.defn(name=names.ACTIVITY_ALIGN_PRIMARY)
    async def align_primary_cluster(self, inp: AlignPrimaryInput) -> KubeResult:
        activity.logger.info("no Kubernetes: spec.primaryCluster would become %s", inp.primary_cluster)
        return KubeResult(changed=False, found=False)
