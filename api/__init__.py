"""The PerconaServerMySQLClusterSet API: pydantic models of the CR, its validation and CRD generation."""

from api.models import (
    API_VERSION,
    FINALIZER_DISSOLVE,
    KIND,
    PLURAL,
    ClusterSetSpec,
    ClusterSetStatus,
    ClusterSpec,
    Endpoint,
    PerconaServerMySQLClusterSet,
    RecoveryMethod,
    SslMode,
)

__all__ = [
    "API_VERSION",
    "FINALIZER_DISSOLVE",
    "KIND",
    "PLURAL",
    "ClusterSetSpec",
    "ClusterSetStatus",
    "ClusterSpec",
    "Endpoint",
    "PerconaServerMySQLClusterSet",
    "RecoveryMethod",
    "SslMode",
]
