"""The resource types the simulator serves: a few built-in kinds plus whatever the CRDs declare.

A `ResourceType` carries what discovery publishes (names, verbs, scope, subresources) and what the
handlers need to behave like the real registry for that kind: whether the object has a `/status`
subresource (then status is ignored on the main resource and spec on `/status`), whether
`metadata.generation` is tracked, the CRD's schema and printer columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(kw_only=True)
class ResourceType:
    """One served resource (group, version, plural) and its behaviour."""

    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    status_subresource: bool = False
    track_generation: bool = False
    custom: bool = False  # a CRD-backed resource (unstructured; strategic merge patch unsupported)
    crd: dict[str, Any] | None = None  # the CRD object, for schema, defaults, CEL and printer columns
    categories: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Storage key: `group/plural` (`/secrets` for the core group)."""
        return f"{self.group}/{self.plural}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`plural.group` as in API error messages (`secrets` for the core group)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def version_schema(self) -> dict[str, Any] | None:
        """The openAPIV3Schema of the served version, when a CRD declares one."""
        if self.crd is None:
            return None
        for v in self.crd.get("spec", {}).get("versions", []):
            if v.get("name") == self.version:
                schema = v.get("schema", {}).get("openAPIV3Schema")
                return schema if isinstance(schema, dict) else None
        return None

    def printer_columns(self) -> list[dict[str, Any]]:
        """additionalPrinterColumns of the served version ([] for built-ins)."""
        if self.crd is None:
            return []
        for v in self.crd.get("spec", {}).get("versions", []):
            if v.get("name") == self.version:
                cols = v.get("additionalPrinterColumns") or []
                return list(cols)
        return []

    def discovery_entries(self) -> list[dict[str, Any]]:
        """The APIResource entries of this type in `/apis/<g>/<v>` (with `plural/status`)."""
        main: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": VERBS,
        }
        if self.short_names:
            main["shortNames"] = self.short_names
        if self.categories:
            main["categories"] = self.categories
        entries = [main]
        if self.status_subresource:
            entries.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        return entries


def builtin_types() -> list[ResourceType]:
    """The built-in kinds the product touches: Namespaces, Secrets, ConfigMaps, Events, Leases, CRDs."""
    return [
        ResourceType(
            group="",
            version="v1",
            plural="namespaces",
            kind="Namespace",
            singular="namespace",
            namespaced=False,
            short_names=["ns"],
        ),
        ResourceType(
            group="", version="v1", plural="secrets", kind="Secret", singular="secret", namespaced=True
        ),
        ResourceType(
            group="",
            version="v1",
            plural="configmaps",
            kind="ConfigMap",
            singular="configmap",
            namespaced=True,
            short_names=["cm"],
        ),
        ResourceType(
            group="",
            version="v1",
            plural="events",
            kind="Event",
            singular="event",
            namespaced=True,
            short_names=["ev"],
        ),
        ResourceType(
            group="events.k8s.io",
            version="v1",
            plural="events",
            kind="Event",
            singular="event",
            namespaced=True,
            short_names=["ev"],
        ),
        ResourceType(
            group="coordination.k8s.io",
            version="v1",
            plural="leases",
            kind="Lease",
            singular="lease",
            namespaced=True,
        ),
        ResourceType(
            group="apiextensions.k8s.io",
            version="v1",
            plural="customresourcedefinitions",
            kind="CustomResourceDefinition",
            singular="customresourcedefinition",
            namespaced=False,
            short_names=["crd", "crds"],
            status_subresource=True,
            track_generation=True,
        ),
    ]


def types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types a CRD declares: one per served version."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    result = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        result.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                singular=names.get("singular", names["kind"].lower()),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=list(names.get("shortNames", [])),
                categories=list(names.get("categories", [])),
                status_subresource="status" in (version.get("subresources") or {}),
                track_generation=True,
                custom=True,
                crd=crd,
            )
        )
    return result
