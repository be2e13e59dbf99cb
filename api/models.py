"""Pydantic v2 models of the `PerconaServerMySQLClusterSet` custom resource (ps.percona.com/v1).

The spec keeps Percona's field names, types, defaults and validation (percona-clusterset.md §2.1) so an
existing CR works unchanged; our extensions say "Extension" in their descriptions and all have defaults.
Python attributes are snake_case; the wire (YAML/JSON) names are Percona's camelCase aliases.

These models are the single source of the CRD (`api.crd` walks them): descriptions, defaults, bounds and
enums become the OpenAPI schema, and the CEL rules (`x-kubernetes-validations`) are declared here next to
the pydantic validators that mirror them with the same messages, so the pydantic verdict and the API
server's verdict agree (tests/api checks both on every Percona case and on generated specs).
"""

from __future__ import annotations

import functools
import typing
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from api.formats import is_alphanumeric, is_host

GROUP = "ps.percona.com"
VERSION = "v1"
KIND = "PerconaServerMySQLClusterSet"
LIST_KIND = "PerconaServerMySQLClusterSetList"
PLURAL = "perconaservermysqlclustersets"
SINGULAR = "perconaservermysqlclusterset"
SHORT_NAME = "ps-clusterset"
API_VERSION = f"{GROUP}/{VERSION}"

FINALIZER_DISSOLVE = "percona.com/clusterset-dissolve"
ANNOTATION_REJOIN = "percona.com/clusterset-rejoin-cluster"

MAX_CLUSTERS = 10
MAX_ENDPOINTS = 9
MAX_NAME_LENGTH = 63
MAX_HOST_LENGTH = 253
DEFAULT_PORT = 3306
DEFAULT_SECRET_KEY = "clusterset"
# clone_max_network_bandwidth / clone_max_data_bandwidth: MiB/s, 0 (unlimited) to 4294967295.
MAX_CLONE_BANDWIDTH_MIB = 4294967295


class CelRule(BaseModel):
    """One `x-kubernetes-validations` entry: a CEL expression over `self` and the message when false."""

    model_config = ConfigDict(frozen=True)

    rule: str
    message: str


# Percona's CEL rules, character for character (percona-clusterset.md §2.1).
RULE_PRIMARY_CLUSTER_ALPHANUMERIC = CelRule(
    rule="self.matches('^[A-Za-z0-9]+$')",
    message="primaryCluster must contain only alphanumeric characters",
)
RULE_CLUSTER_NAME_ALPHANUMERIC = CelRule(
    rule="self.matches('^[A-Za-z0-9]+$')",
    message="innodbClusterName must contain only alphanumeric characters",
)
RULE_CREDENTIALS_NAME_SET = CelRule(
    rule="has(self.name) && self.name != ''",
    message="credentialsSecret.name must be set",
)
RULE_HOST_IP_OR_DNS = CelRule(
    rule="isIP(self) || !format.dns1123Subdomain().validate(self).hasValue()",
    message="host must be a valid IP address or domain name",
)
RULE_CLUSTER_NAMES_UNIQUE = CelRule(
    rule="self.all(c, self.exists_one(d, d.innodbClusterName == c.innodbClusterName))",
    message="cluster names must be unique",
)
RULE_PRIMARY_IN_CLUSTERS = CelRule(
    rule="self.clusters.exists(c, c.innodbClusterName == self.primaryCluster)",
    message="spec.primaryCluster not found in spec.clusters",
)
RULE_ENDPOINT_HOSTS_UNIQUE = CelRule(
    rule=(
        "self.clusters.all(c, c.endpoints.all(e, self.clusters.map(c2, "
        "c2.endpoints.filter(e2, e2.host == e.host).size()).sum() == 1))"
    ),
    message="endpoint host must be unique across all clusters",
)


def k8s(
    *rules: CelRule,
    list_type: Literal["atomic", "set", "map"] | None = None,
    list_map_keys: tuple[str, ...] = (),
    map_type: Literal["atomic", "granular"] | None = None,
    int_format: Literal["int32", "int64"] | None = None,
) -> dict[str, Any]:
    """The Kubernetes schema extensions of a field, for `Field(json_schema_extra=...)` (read by api.crd)."""
    extra: dict[str, Any] = {}
    if rules:
        extra["x-kubernetes-validations"] = [r.model_dump() for r in rules]
    if list_type:
        extra["x-kubernetes-list-type"] = list_type
    if list_map_keys:
        extra["x-kubernetes-list-map-keys"] = list(list_map_keys)
    if map_type:
        extra["x-kubernetes-map-type"] = map_type
    if int_format:
        extra["format"] = int_format
    return extra


class CRModel(BaseModel):
    """Base of every spec model: camelCase on the wire, snake_case in Python, unknown fields rejected.

    `cel_rules` are the object-level `x-kubernetes-validations` of the model's own schema node.
    """

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    cel_rules: ClassVar[tuple[CelRule, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _drop_non_nullable_nulls(cls, data: Any) -> Any:
        """As the API server does: a `null` for a field that cannot be null counts as absent."""
        if not isinstance(data, dict):
            return data
        nullable = _nullable_keys(cls)
        return {k: v for k, v in data.items() if v is not None or k in nullable}


@functools.cache
def _nullable_keys(model: type[BaseModel]) -> frozenset[str]:
    """Names and wire names of the fields of `model` that accept None."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        args = typing.get_args(field.annotation)
        if type(None) in args:
            keys.update(k for k in (name, field.alias, field.serialization_alias) if k)
    return frozenset(keys)


class SslMode(StrEnum):
    """`clusterSetReplicationSslMode` of the clusterset_replication channel."""

    AUTO = "AUTO"
    DISABLED = "DISABLED"
    REQUIRED = "REQUIRED"
    VERIFY_CA = "VERIFY_CA"
    VERIFY_IDENTITY = "VERIFY_IDENTITY"


class RecoveryMethod(StrEnum):
    """How a new replica cluster gets its data (`createReplicaCluster` recoveryMethod)."""

    CLONE = "clone"
    INCREMENTAL = "incremental"
    AUTO = "auto"


class CloneDonor(StrEnum):
    """Extension: which member of the primary cluster donates a CLONE."""

    SECONDARY = "secondary"  # an ONLINE secondary if any, else the primary: spares the global primary
    PRIMARY = "primary"  # always the global primary, as MySQL Shell does


class AutomaticRejoin(StrEnum):
    """Extension: what the orchestrator does when a replica cluster is INVALIDATED or not replicating."""

    NEVER = "never"  # only on request (annotation or `csctl rejoin`); Percona's behaviour
    WHEN_CONSISTENT = "whenConsistent"  # rejoin by itself when no errant transactions are found


class Endpoint(CRModel):
    """One address of a member cluster's MySQL server."""

    host: Annotated[str, Field(max_length=MAX_HOST_LENGTH)] = Field(
        description=(
            "Host name (a lower-case DNS-1123 subdomain) or IP address of a MySQL server of the cluster. "
            "Unique across all clusters."
        ),
        json_schema_extra=k8s(RULE_HOST_IP_OR_DNS),
    )
    port: Annotated[int, Strict(), Field(ge=1, le=65535)] = Field(
        default=DEFAULT_PORT,
        description=(
            "MySQL classic-protocol port. Percona accepts any int32; we accept only a TCP port (1-65535). "
            "Unlike Percona, the port is used for every connection, the primary's included."
        ),
        json_schema_extra=k8s(int_format="int32"),
    )

    @field_validator("host")
    @classmethod
    def _host_is_ip_or_dns(cls, value: str) -> str:
        if not is_host(value):
            raise ValueError(RULE_HOST_IP_OR_DNS.message)
        return value

    @property
    def address(self) -> str:
        """`host:port`, with IPv6 hosts bracketed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class ClusterSpec(CRModel):
    """A member InnoDB Cluster of the ClusterSet."""

    innodb_cluster_name: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] = Field(
        alias="innodbClusterName",
        description=(
            "Name of the InnoDB Cluster (the member PerconaServerMySQL's status.innodbClusterName, i.e. the "
            "CR name without non-alphanumerics). Alphanumeric, unique within the ClusterSet."
        ),
        json_schema_extra=k8s(RULE_CLUSTER_NAME_ALPHANUMERIC),
    )
    endpoints: Annotated[list[Endpoint], Field(min_length=1, max_length=MAX_ENDPOINTS)] = Field(
        description=(
            "Addresses of the cluster's MySQL servers, tried in order when connecting (Percona uses "
            "only the first one for a replica cluster)."
        ),
    )
    manage_members: StrictBool = Field(
        default=False,
        description=(
            "Extension. When true the orchestrator joins this site's further instances (every endpoint "
            "after the first that is not yet in the group) with clone-based distributed recovery; when "
            "false the site's own operator does it, as with Percona."
        ),
    )

    @field_validator("innodb_cluster_name")
    @classmethod
    def _name_alphanumeric(cls, value: str) -> str:
        if not is_alphanumeric(value):
            raise ValueError(RULE_CLUSTER_NAME_ALPHANUMERIC.message)
        return value


class SecretKeySelector(CRModel):
    """A key of a Secret in the CR's namespace (corev1.SecretKeySelector): how credentials are named."""

    name: Annotated[str, Field(max_length=MAX_HOST_LENGTH)] = Field(
        default="", description="Name of the Secret, in the namespace of the ClusterSet."
    )
    key: Annotated[str, Field(max_length=MAX_HOST_LENGTH)] = Field(
        default=DEFAULT_SECRET_KEY,
        description=(
            "Key of the Secret holding the password of the `clusterset` MySQL user. Defaults to "
            "`clusterset` (Percona applies the same default in code; its schema requires the key)."
        ),
    )
    optional: StrictBool | None = Field(
        default=None, description="Kept for corev1.SecretKeySelector compatibility; the Secret must exist."
    )

    cel_rules: ClassVar[tuple[CelRule, ...]] = (RULE_CREDENTIALS_NAME_SET,)

    @model_validator(mode="after")
    def _name_set(self) -> SecretKeySelector:
        if not self.name:
            raise ValueError(RULE_CREDENTIALS_NAME_SET.message)
        return self


class UnsafeFlags(CRModel):
    """Operations that can lose data; off by default."""

    forced_failover: StrictBool = Field(
        default=False,
        description=(
            "Allow an emergency failover (forcePrimaryCluster) to spec.primaryCluster when the current "
            "primary cluster is unreachable. Transactions not replicated are lost (reported in "
            "status.lostTransactions)."
        ),
    )
    forced_cluster_removal: StrictBool = Field(
        default=False,
        description=(
            "Remove a replica cluster dropped from spec even when it is unreachable (removeCluster with "
            "force); transactions not replicated back are abandoned."
        ),
    )


class CreateReplicaClusterOptions(CRModel):
    """Options of `createReplicaCluster`."""

    recovery_method: RecoveryMethod = Field(
        default=RecoveryMethod.CLONE,
        description=(
            "How a new replica cluster is provisioned: clone (full copy), incremental (from the binary "
            "logs, e.g. when seeded from a backup), or auto."
        ),
    )


class MysqlShellRunner(CRModel):
    """Accepted for compatibility with Percona's CR; the orchestrator runs no mysqlsh and ignores it."""

    image: Annotated[str, Field(min_length=1)] | None = Field(
        default=None,
        description="Ignored: the orchestrator speaks SQL, not mysqlsh. Optional (Percona: required).",
    )


class CloneOptions(CRModel):
    """Extension: how CLONE-based joins and member recoveries are run."""

    donor: CloneDonor = Field(
        default=CloneDonor.SECONDARY,
        description=(
            "secondary: an ONLINE secondary of the primary cluster donates when there is one (spares the "
            "global primary); primary: always the global primary, as MySQL Shell does."
        ),
    )
    max_network_bandwidth_mib: Annotated[int, Strict(), Field(ge=0, le=MAX_CLONE_BANDWIDTH_MIB)] = Field(
        default=0,
        description="clone_max_network_bandwidth on the donor, in MiB/s; 0 = unlimited.",
        json_schema_extra=k8s(int_format="int64"),
    )
    max_data_bandwidth_mib: Annotated[int, Strict(), Field(ge=0, le=MAX_CLONE_BANDWIDTH_MIB)] = Field(
        default=0,
        description="clone_max_data_bandwidth on the recipient, in MiB/s; 0 = unlimited.",
        json_schema_extra=k8s(int_format="int64"),
    )
    stall_timeout_seconds: Annotated[int, Strict(), Field(ge=30, le=86400)] = Field(
        default=600,
        description=(
            "A clone without progress for this long raises the CloneStalled condition; the join goes on "
            "(there is no overall clone timeout)."
        ),
        json_schema_extra=k8s(int_format="int32"),
    )


class ClusterSetSpec(CRModel):
    """`spec` of PerconaServerMySQLClusterSet: the desired ClusterSet."""

    primary_cluster: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] = Field(
        description=(
            "The desired primary cluster (an innodbClusterName of spec.clusters). Changing it runs a "
            "switchover, or a forced failover when the primary is unreachable and unsafeFlags.forcedFailover."
        ),
        json_schema_extra=k8s(RULE_PRIMARY_CLUSTER_ALPHANUMERIC),
    )
    clusters: Annotated[list[ClusterSpec], Field(min_length=1, max_length=MAX_CLUSTERS)] = Field(
        description=(
            "Member clusters. Adding an entry creates a replica cluster; removing one removes it from the "
            "ClusterSet (one way: a removed cluster cannot rejoin)."
        ),
        json_schema_extra=k8s(
            RULE_CLUSTER_NAMES_UNIQUE, list_type="map", list_map_keys=("innodbClusterName",)
        ),
    )
    credentials_secret: SecretKeySelector = Field(
        description="Secret key with the password of the `clusterset` MySQL user.",
        json_schema_extra=k8s(map_type="atomic"),
    )
    ssl_mode: SslMode = Field(
        default=SslMode.AUTO,
        description="clusterSetReplicationSslMode of createClusterSet (used at bootstrap).",
    )
    create_replica_cluster_options: CreateReplicaClusterOptions = Field(
        default=CreateReplicaClusterOptions(), description="Options of createReplicaCluster."
    )
    unsafe_flags: UnsafeFlags = Field(default=UnsafeFlags(), description="Operations that can lose data.")
    mysqlshell_runner: MysqlShellRunner | None = Field(
        default=None, description="Accepted for compatibility with Percona's CR and ignored."
    )
    clone_options: CloneOptions = Field(
        default=CloneOptions(),
        description="Extension. Donor choice, bandwidth limits and stall detection of CLONE.",
    )
    automatic_rejoin: AutomaticRejoin = Field(
        default=AutomaticRejoin.NEVER,
        description=(
            "Extension. never: a replica cluster that is INVALIDATED or not replicating is rejoined only on "
            "request (annotation percona.com/clusterset-rejoin-cluster or `csctl rejoin`), as with Percona; "
            "whenConsistent: the orchestrator rejoins it by itself when it finds no errant transactions."
        ),
    )
    status_refresh_interval_seconds: Annotated[int, Strict(), Field(ge=1, le=3600)] = Field(
        default=10,
        description="Extension. How often the orchestrator refreshes status (Percona: fixed 10 s).",
        json_schema_extra=k8s(int_format="int32"),
    )

    cel_rules: ClassVar[tuple[CelRule, ...]] = (RULE_PRIMARY_IN_CLUSTERS, RULE_ENDPOINT_HOSTS_UNIQUE)

    @field_validator("primary_cluster")
    @classmethod
    def _primary_alphanumeric(cls, value: str) -> str:
        if not is_alphanumeric(value):
            raise ValueError(RULE_PRIMARY_CLUSTER_ALPHANUMERIC.message)
        return value

    @field_validator("clusters")
    @classmethod
    def _clusters_unique(cls, clusters: list[ClusterSpec]) -> list[ClusterSpec]:
        names = [c.innodb_cluster_name for c in clusters]
        if len(set(names)) != len(names):
            raise ValueError(RULE_CLUSTER_NAMES_UNIQUE.message)
        hosts = [e.host for c in clusters for e in c.endpoints]
        if len(set(hosts)) != len(hosts):
            raise ValueError(RULE_ENDPOINT_HOSTS_UNIQUE.message)
        return clusters

    @model_validator(mode="after")
    def _primary_in_clusters(self) -> ClusterSetSpec:
        if self.primary_cluster not in {c.innodb_cluster_name for c in self.clusters}:
            raise ValueError(RULE_PRIMARY_IN_CLUSTERS.message)
        return self

    def cluster(self, name: str) -> ClusterSpec:
        """The member cluster called `name`; KeyError when it is not in the spec."""
        for c in self.clusters:
            if c.innodb_cluster_name == name:
                return c
        raise KeyError(name)

    @property
    def replica_cluster_names(self) -> list[str]:
        """Every cluster of the spec but the primary, in spec order."""
        return [c.innodb_cluster_name for c in self.clusters if c.innodb_cluster_name != self.primary_cluster]


# ---------------------------------------------------------------------------------------------- status


class StatusModel(BaseModel):
    """Base of status models: camelCase on the wire, tolerant of fields written by newer versions."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        populate_by_name=True,
        extra="ignore",
    )

    cel_rules: ClassVar[tuple[CelRule, ...]] = ()


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(StatusModel):
    """metav1.Condition."""

    type: str = Field(description="Condition type, e.g. Ready, SwitchoverInProgress, ClusterInvalidated.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(description="CamelCase reason of the last transition.")
    message: str = Field(default="", description="Human-readable details.")
    last_transition_time: datetime | None = Field(default=None, description="When the status last changed.")
    observed_generation: int | None = Field(
        default=None, description="metadata.generation the condition was set for."
    )


class ClusterStatus(StatusModel):
    """Per member cluster: Percona's fields plus the replication channel's state."""

    cluster_role: str = Field(default="UNKNOWN", description="PRIMARY, REPLICA or UNKNOWN.")
    global_status: str = Field(
        default="UNKNOWN",
        description=(
            "OK, OK_NOT_REPLICATING, OK_NOT_CONSISTENT, OK_MISCONFIGURED, NOT_OK, INVALIDATED or UNKNOWN."
        ),
    )
    primary: str | None = Field(default=None, description="host:port of the cluster's primary instance.")
    channel_state: str | None = Field(
        default=None, description="State of the clusterset_replication channel (ON, OFF, CONNECTING, ERROR)."
    )
    transactions_behind: int | None = Field(
        default=None, description="Transactions received from the primary cluster but not yet applied."
    )
    lag_seconds: float | None = Field(
        default=None, description="Seconds the applier is behind the primary cluster's commits."
    )
    errant_transactions: str | None = Field(
        default=None, description="GTID set present here but not on the primary cluster, when any."
    )


class OperationProgress(StatusModel):
    """Progress of a long step (a CLONE)."""

    stage: str | None = Field(default=None, description="Current stage, e.g. FILE COPY, PAGE COPY, RECOVERY.")
    percent: float | None = Field(default=None, ge=0, le=100, description="Overall progress in percent.")
    bytes_done: int | None = Field(default=None, description="Bytes transferred so far.")
    bytes_total: int | None = Field(default=None, description="Bytes to transfer (estimate).")
    estimated_end: datetime | None = Field(default=None, description="Estimated completion time.")


class OperationStatus(StatusModel):
    """The current or last operation the workflow ran."""

    type: str = Field(description="Operation kind, e.g. bootstrap, addReplica, switchover, failover, rejoin.")
    phase: str = Field(description="Pending, Running, Succeeded, Failed or Cancelled.")
    workflow_id: str | None = Field(default=None, description="Temporal workflow id running the operation.")
    started_at: datetime | None = Field(default=None, description="When the operation started.")
    finished_at: datetime | None = Field(default=None, description="When the operation finished.")
    message: str | None = Field(default=None, description="Last step, or the error of a failed operation.")
    progress: OperationProgress | None = Field(default=None, description="Progress of the current long step.")

    @computed_field(  # type: ignore[prop-decorator]
        description="`<type> <phase>`, derived from type and phase; shown in the Operation printer column."
    )
    @property
    def summary(self) -> str:
        """`<type> <phase>` for `kubectl get` (a printer column takes one JSONPath, not two)."""
        return f"{self.type} {self.phase}"


class LostTransactions(StatusModel):
    """What a forced failover could not carry over from the old primary cluster."""

    from_cluster: str = Field(description="The old primary cluster.")
    to_cluster: str = Field(description="The cluster promoted by the forced failover.")
    gtid_set: str = Field(description="GTID set committed on the old primary but missing on the new one.")
    count: int = Field(description="Number of transactions in gtidSet.")
    at: datetime | None = Field(default=None, description="When the forced failover happened.")


class ClusterSetStatus(StatusModel):
    """`status` of PerconaServerMySQLClusterSet, written only by the orchestrator."""

    primary_cluster: str = Field(default="", description="The primary cluster as the ClusterSet reports it.")
    primary_cluster_endpoint: str = Field(default="", description="host:port of the global primary instance.")
    global_status: str | None = Field(default=None, description="HEALTHY, AVAILABLE or UNAVAILABLE.")
    clusters: dict[str, ClusterStatus] = Field(
        default_factory=dict, description="Member clusters by innodbClusterName."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready, SwitchoverInProgress, ClusterInvalidated, CloneStalled, ...",
        json_schema_extra=k8s(list_type="map", list_map_keys=("type",)),
    )
    last_observed_generation: int | None = Field(
        default=None, description="Percona's name for the generation last acted upon."
    )
    last_observed_at: datetime | None = Field(default=None, description="When status was last refreshed.")
    observed_generation: int | None = Field(
        default=None,
        description="metadata.generation the orchestrator last accepted (same as lastObservedGeneration).",
    )
    operation: OperationStatus | None = Field(default=None, description="The current or last operation.")
    lost_transactions: LostTransactions | None = Field(
        default=None, description="After a forced failover: the transactions that were lost."
    )


class ObjectMeta(BaseModel):
    """The parts of metav1.ObjectMeta the product reads."""

    model_config = ConfigDict(extra="allow")

    name: str
    namespace: str = "default"
    uid: str = ""
    generation: int = 0
    resourceVersion: str = ""  # Kubernetes spelling
    deletionTimestamp: str | None = None
    finalizers: list[str] = Field(default_factory=list)
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class PerconaServerMySQLClusterSet(BaseModel):
    """The whole custom resource as the API server serves it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    api_version: str = Field(default=API_VERSION, alias="apiVersion")
    kind: str = KIND
    metadata: ObjectMeta
    spec: ClusterSetSpec
    status: ClusterSetStatus | None = None

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> PerconaServerMySQLClusterSet:
        """Parse an object as returned by the Kubernetes API (raises pydantic.ValidationError)."""
        return cls.model_validate(obj)
