"""Pydantic v2 models of the `PerconaServerMySQLClusterSet` custom resource (ps.percona.com/v1).

The spec keeps Percona's field names, types, defaults and validation (percona-clusterset.md §2.1) so an
existing CR works unchanged; our extensions are marked "extension" in their descriptions and all have
defaults. Python attributes are snake_case; the wire (YAML/JSON) names are Percona's camelCase aliases.
Validation that the CRD expresses as CEL rules is mirrored here by validators raising the same messages,
so the pydantic verdict and the API server's verdict agree (tests check both).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

GROUP = "ps.percona.com"
VERSION = "v1"
KIND = "PerconaServerMySQLClusterSet"
PLURAL = "perconaservermysqlclustersets"
SINGULAR = "perconaservermysqlclusterset"
SHORT_NAME = "ps-clusterset"
API_VERSION = f"{GROUP}/{VERSION}"

FINALIZER_DISSOLVE = "percona.com/clusterset-dissolve"
ANNOTATION_REJOIN = "percona.com/clusterset-rejoin-cluster"

_ALPHANUMERIC = re.compile(r"^[A-Za-z0-9]+$")
# Kubernetes' IsDNS1123Subdomain: lower-case RFC 1123 labels joined by dots, at most 253 characters.
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class CRModel(BaseModel):
    """Base of every CR model: camelCase on the wire, snake_case in Python, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


def is_ip(value: str) -> bool:
    """Kubernetes CEL `isIP()`: an IPv4 or IPv6 address (no zone, no CIDR)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_dns1123_subdomain(value: str) -> bool:
    """Kubernetes `format.dns1123Subdomain()` has no error for this value."""
    return len(value) <= 253 and _DNS1123_SUBDOMAIN.match(value) is not None


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

    host: Annotated[str, Field(max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)] = 3306

    @field_validator("host")
    @classmethod
    def _host_is_ip_or_dns(cls, value: str) -> str:
        if not (is_ip(value) or is_dns1123_subdomain(value)):
            raise ValueError("host must be a valid IP address or domain name")
        return value

    @property
    def address(self) -> str:
        """`host:port`, with IPv6 hosts bracketed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class ClusterSpec(CRModel):
    """A member InnoDB Cluster of the ClusterSet."""

    innodb_cluster_name: Annotated[str, Field(max_length=63, alias="innodbClusterName")]
    endpoints: Annotated[list[Endpoint], Field(min_length=1, max_length=9)]
    manage_members: bool = Field(
        default=False,
        description=(
            "extension: when true the orchestrator joins this site's further instances (every endpoint "
            "after the first that is not yet in the group) with clone-based distributed recovery; "
            "when false the site's own operator does it, as with Percona"
        ),
    )

    @field_validator("innodb_cluster_name")
    @classmethod
    def _name_alphanumeric(cls, value: str) -> str:
        if not _ALPHANUMERIC.match(value):
            raise ValueError("innodbClusterName must contain only alphanumeric characters")
        return value


class SecretKeySelector(CRModel):
    """A key of a Secret in the CR's namespace; the only way credentials are named."""

    name: str = ""
    key: str = "clusterset"
    optional: bool | None = None

    @model_validator(mode="after")
    def _name_set(self) -> SecretKeySelector:
        if not self.name:
            raise ValueError("credentialsSecret.name must be set")
        return self


class UnsafeFlags(CRModel):
    """Operations that can lose data; off by default."""

    forced_failover: bool = False
    forced_cluster_removal: bool = False


class CreateReplicaClusterOptions(CRModel):
    """Options of `createReplicaCluster`."""

    recovery_method: RecoveryMethod = RecoveryMethod.CLONE


class MysqlShellRunner(CRModel):
    """Accepted for compatibility with Percona's CR; the orchestrator runs no mysqlsh and ignores it."""

    image: Annotated[str, Field(min_length=1)] | None = None


class CloneOptions(CRModel):
    """Extension: how CLONE-based joins and member recovery are run."""

    donor: CloneDonor = CloneDonor.SECONDARY
    max_network_bandwidth_mib: Annotated[int, Field(ge=0)] = Field(
        default=0, description="clone_max_network_bandwidth in MiB/s on the donor; 0 = unlimited"
    )
    max_data_bandwidth_mib: Annotated[int, Field(ge=0)] = Field(
        default=0, description="clone_max_data_bandwidth in MiB/s on the recipient; 0 = unlimited"
    )
    stall_timeout_seconds: Annotated[int, Field(ge=30)] = Field(
        default=600,
        description="no clone progress for this long raises the CloneStalled condition (the join goes on)",
    )


class ClusterSetSpec(CRModel):
    """`spec` of PerconaServerMySQLClusterSet."""

    primary_cluster: Annotated[str, Field(max_length=63)]
    clusters: Annotated[list[ClusterSpec], Field(min_length=1, max_length=10)]
    credentials_secret: SecretKeySelector
    ssl_mode: SslMode = SslMode.AUTO
    create_replica_cluster_options: CreateReplicaClusterOptions = CreateReplicaClusterOptions()
    unsafe_flags: UnsafeFlags = UnsafeFlags()
    mysqlshell_runner: MysqlShellRunner | None = None
    clone_options: CloneOptions = Field(default=CloneOptions(), description="extension")
    automatic_rejoin: AutomaticRejoin = Field(default=AutomaticRejoin.NEVER, description="extension")
    status_refresh_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=10, description="extension: how often the workflow refreshes status"
    )

    @field_validator("primary_cluster")
    @classmethod
    def _primary_alphanumeric(cls, value: str) -> str:
        if not _ALPHANUMERIC.match(value):
            raise ValueError("primaryCluster must contain only alphanumeric characters")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> ClusterSetSpec:
        names = [c.innodb_cluster_name for c in self.clusters]
        if len(set(names)) != len(names):
            raise ValueError("cluster names must be unique")
        if self.primary_cluster not in names:
            raise ValueError("spec.primaryCluster not found in spec.clusters")
        hosts = [e.host for c in self.clusters for e in c.endpoints]
        if len(set(hosts)) != len(hosts):
            raise ValueError("endpoint host must be unique across all clusters")
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


class Condition(StatusModel):
    """metav1.Condition."""

    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str = ""
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


class ClusterStatus(StatusModel):
    """Per member cluster: Percona's fields plus the replication channel's state."""

    cluster_role: str = "UNKNOWN"  # PRIMARY | REPLICA
    global_status: str = "UNKNOWN"  # OK | OK_NOT_REPLICATING | OK_NOT_CONSISTENT | ... | INVALIDATED
    primary: str | None = None
    channel_state: str | None = None  # ON | OFF | CONNECTING | ERROR | ...
    transactions_behind: int | None = None
    lag_seconds: float | None = None
    errant_transactions: str | None = None


class OperationProgress(StatusModel):
    """Progress of a long step (a CLONE)."""

    stage: str | None = None
    percent: float | None = None
    bytes_done: int | None = None
    bytes_total: int | None = None
    estimated_end: datetime | None = None


class OperationStatus(StatusModel):
    """The current or last operation the workflow ran."""

    type: str
    phase: str  # Pending | Running | Succeeded | Failed | Cancelled
    workflow_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str | None = None
    progress: OperationProgress | None = None


class LostTransactions(StatusModel):
    """What a forced failover could not carry over from the old primary cluster."""

    from_cluster: str
    to_cluster: str
    gtid_set: str
    count: int
    at: datetime | None = None


class ClusterSetStatus(StatusModel):
    """`status` of PerconaServerMySQLClusterSet."""

    primary_cluster: str = ""
    primary_cluster_endpoint: str = ""
    global_status: str | None = None  # HEALTHY | AVAILABLE | UNAVAILABLE
    clusters: dict[str, ClusterStatus] = Field(default_factory=dict)
    conditions: list[Condition] = Field(default_factory=list)
    last_observed_generation: int | None = None
    last_observed_at: datetime | None = None
    observed_generation: int | None = None
    operation: OperationStatus | None = None
    lost_transactions: LostTransactions | None = None


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
