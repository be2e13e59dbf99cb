"""The PerconaServerMySQLClusterSet API: pydantic models of the CR, its validation and CRD generation.

- `api.models`: the CR models (spec, status) and constants; the source of the CRD.
- `api.crd`: the CRD generator (`csctl crd`, deploy/crd.yaml).
- `api.cel`, `api.schema`, `api.admission`: what the API server does with the CRD (CEL rules, pruning,
  defaulting, structural validation), for the tests and the local Kubernetes API server.
- `api.violations`: field errors printed as Kubernetes prints them; `api.validation`: parse user input
  into the models or raise `InvalidClusterSet`.
"""

from api.models import (
    ANNOTATION_REJOIN,
    API_VERSION,
    FINALIZER_DISSOLVE,
    GROUP,
    KIND,
    PLURAL,
    SHORT_NAME,
    VERSION,
    AutomaticRejoin,
    CloneDonor,
    CloneOptions,
    ClusterSetSpec,
    ClusterSetStatus,
    ClusterSpec,
    ClusterStatus,
    Condition,
    CreateReplicaClusterOptions,
    Endpoint,
    LostTransactions,
    MysqlShellRunner,
    ObjectMeta,
    OperationProgress,
    OperationStatus,
    PerconaServerMySQLClusterSet,
    RecoveryMethod,
    SecretKeySelector,
    SslMode,
    UnsafeFlags,
)
from api.violations import Violation, ViolationType

__all__ = [
    "ANNOTATION_REJOIN",
    "API_VERSION",
    "FINALIZER_DISSOLVE",
    "GROUP",
    "KIND",
    "PLURAL",
    "SHORT_NAME",
    "VERSION",
    "AutomaticRejoin",
    "CloneDonor",
    "CloneOptions",
    "ClusterSetSpec",
    "ClusterSetStatus",
    "ClusterSpec",
    "ClusterStatus",
    "Condition",
    "CreateReplicaClusterOptions",
    "Endpoint",
    "LostTransactions",
    "MysqlShellRunner",
    "ObjectMeta",
    "OperationProgress",
    "OperationStatus",
    "PerconaServerMySQLClusterSet",
    "RecoveryMethod",
    "SecretKeySelector",
    "SslMode",
    "UnsafeFlags",
    "Violation",
    "ViolationType",
]
