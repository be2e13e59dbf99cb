"""The one error hierarchy of the ClusterSet operations, and the classifier of MySQL driver errors.

Temporal records an activity failure's *class name* as its failure type, and the workflow's retry
policy lists the non-retryable types by name, so the class names below are part of the product's API:
never rename one, only add. Every message says what is wrong, where (``host:port`` or cluster name) and
what to do about it. No message ever carries a password.

::

    ClusterSetError
     ├── RetryableError                     the same step, retried later, may succeed
     │    ├── InstanceUnreachable           TCP/handshake failure, server gone, shutting down/restarting
     │    ├── InstanceBusy                  lock wait timeout, deadlock, too many connections
     │    ├── NotReady                      a state that is expected to pass: member RECOVERING, SRO on a
     │    │    │                            primary being elected, GTIDs still being applied
     │    │    ├── NoPrimary                a cluster has no reachable GR PRIMARY right now
     │    │    └── CloneInProgress          a CLONE is running where another step needs the instance
     │    ├── LockHeld                      an AdminAPI lock (service_get_write_locks) is held by someone else
     │    └── SyncTimeout                   WAIT_FOR_EXECUTED_GTID_SET timed out
     └── NonRetryableError                  a human (or a spec change) must act first
          ├── AccessDenied                  wrong user/password (1045, 3162)
          ├── MissingPrivilege              the clusterset user lacks a grant (1044, 1142, 1227, ...)
          ├── FailedPrecondition            the instance is not fit for the operation
          │    ├── GtidModeOff
          │    ├── ClonePluginMissing
          │    ├── GroupReplicationPluginMissing
          │    ├── DuplicateServerId        server_id or server_uuid already used in the ClusterSet
          │    ├── ReplicaNotEmpty          the joining instance holds data and recoveryMethod forbids it
          │    ├── NotStandalone            the joining instance already belongs to a group/cluster
          │    ├── IllegalChannel           a replication channel the operation did not expect
          │    ├── MetadataMissing          no/unsupported mysql_innodb_cluster_metadata schema
          │    ├── PurgedTransactions       incremental recovery needs GTIDs the primary purged
          │    ├── ClusterNotPrimaryCapable e.g. a target that is already the primary
          │    └── PrimaryClusterReachable  a forced failover while the primary cluster answers
          ├── DivergedGtids                 errant transactions (names them)
          ├── InvalidTopology               metadata and spec or live GR state disagree
          ├── IncompatibleVersion           version rules (replication to same/next series; clone)
          ├── CloneFailed                   clone_status says Failed (ERROR_NO, ERROR_MESSAGE)
          ├── ReplicationBroken             a channel's applier stopped on an error (data conflict)
          ├── InvalidRequest                the request names an unknown cluster/step, or a bad option
          └── UnexpectedServerError         any other server error code (kept with its code)

`classify_mysql_error` turns asyncmy/pymysql exceptions (``args == (errno, message)``) and transport
errors (OSError, TimeoutError, ssl.SSLError) into this hierarchy.
"""

from __future__ import annotations

import asyncio
import ssl


class ClusterSetError(Exception):
    """Root of every error raised by the operations; `where` is host:port or a cluster name."""

    retryable: bool = False

    def __init__(self, message: str, *, where: str = "", errno: int | None = None) -> None:
        self.where = where
        self.errno = errno
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class RetryableError(ClusterSetError):
    """The same step can succeed when tried again later."""

    retryable = True


class InstanceUnreachable(RetryableError):
    """The instance does not answer (connection refused, timed out, lost, shutting down)."""


class InstanceBusy(RetryableError):
    """The instance refused for load or lock contention; try again."""


class NotReady(RetryableError):
    """The instance or cluster is in a passing state that prevents the step right now."""


class NoPrimary(NotReady):
    """No reachable Group Replication PRIMARY in the cluster."""


class CloneInProgress(NotReady):
    """A CLONE is running on the instance."""


class LockHeld(RetryableError):
    """An AdminAPI lock is held by another client (mysqlsh or another orchestrator)."""


class SyncTimeout(RetryableError):
    """An instance did not reach a GTID set in time."""


class NonRetryableError(ClusterSetError):
    """Retrying changes nothing: a human or a spec change must act first."""


class AccessDenied(NonRetryableError):
    """Authentication failed."""


class MissingPrivilege(NonRetryableError):
    """The account authenticated but lacks a privilege."""


class FailedPrecondition(NonRetryableError):
    """The instance is not fit for the operation."""


class GtidModeOff(FailedPrecondition):
    """gtid_mode or enforce_gtid_consistency is not ON."""


class ClonePluginMissing(FailedPrecondition):
    """The clone plugin is not ACTIVE and cannot be used."""


class GroupReplicationPluginMissing(FailedPrecondition):
    """The group_replication plugin is not ACTIVE."""


class DuplicateServerId(FailedPrecondition):
    """server_id or server_uuid collides with another instance of the ClusterSet."""


class ReplicaNotEmpty(FailedPrecondition):
    """The joining instance has transactions and the chosen recovery method cannot keep them."""


class NotStandalone(FailedPrecondition):
    """The instance belongs to a group or a cluster already."""


class IllegalChannel(FailedPrecondition):
    """A replication channel exists that the operation cannot accept."""


class MetadataMissing(FailedPrecondition):
    """The InnoDB Cluster metadata schema is absent or too old."""


class PurgedTransactions(FailedPrecondition):
    """Incremental recovery is impossible: the primary purged GTIDs the replica needs."""


class ClusterNotPrimaryCapable(FailedPrecondition):
    """The cluster cannot take the asked role."""


class PrimaryClusterReachable(FailedPrecondition):
    """A forced failover was asked while the primary cluster still answers (H-ops-B, activities.failover)."""


class DivergedGtids(NonRetryableError):
    """The instance has transactions that did not come from the primary cluster (errant GTIDs)."""

    def __init__(self, message: str, *, where: str = "", errant: str = "") -> None:
        self.errant = errant
        super().__init__(message, where=where)


class InvalidTopology(NonRetryableError):
    """Metadata, spec and live state disagree in a way the operation cannot resolve on its own."""


class IncompatibleVersion(NonRetryableError):
    """Server versions break the replication or clone version rules."""


class CloneFailed(NonRetryableError):
    """The CLONE failed (clone_status STATE = Failed)."""


class ReplicationBroken(NonRetryableError):
    """A channel's applier stopped on an error: the data needs a human (errant or missing rows)."""


class InvalidRequest(NonRetryableError):
    """The request itself is wrong (unknown cluster, unknown step, bad option)."""


class UnexpectedServerError(NonRetryableError):
    """A server error the classifier has no rule for; its code is kept in `errno`."""


# ------------------------------------------------------------------------------------ classification

# Client-side (CR_*) and server-side codes meaning "the server is not there right now".
_UNREACHABLE = {
    2002,  # CR_CONNECTION_ERROR
    2003,  # CR_CONN_HOST_ERROR
    2005,  # CR_UNKNOWN_HOST
    2006,  # CR_SERVER_GONE_ERROR
    2013,  # CR_SERVER_LOST
    2026,  # CR_SSL_CONNECTION_ERROR
    2055,  # CR_SERVER_LOST_EXTENDED
    1053,  # ER_SERVER_SHUTDOWN (also the signal that a clone recipient restarts)
    1077,  # ER_NORMAL_SHUTDOWN
    1079,  # ER_SHUTDOWN_COMPLETE
    3169,  # ER_SESSION_WAS_KILLED
}
_BUSY = {
    1040,  # ER_CON_COUNT_ERROR
    1205,  # ER_LOCK_WAIT_TIMEOUT
    1213,  # ER_LOCK_DEADLOCK
    3572,  # ER_LOCK_NOWAIT
}
_LOCK_HELD = {
    3132,  # ER_LOCKING_SERVICE_DEADLOCK
    3133,  # ER_LOCKING_SERVICE_TIMEOUT
}
_NOT_READY = {
    1290,  # ER_OPTION_PREVENTS_STATEMENT (super_read_only / read_only)
    3100,  # ER_RUN_HOOK_ERROR (GR refuses a commit, e.g. member not ONLINE)
    3093,  # ER_GROUP_REPLICATION_RUNNING
    3634,  # ER_CLONE_TOO_MANY_CONCURRENT_CLONES
}
_ACCESS_DENIED = {
    1045,  # ER_ACCESS_DENIED_ERROR
    3162,  # ER_USER_DOES_NOT_EXIST
    3118,  # ER_ACCOUNT_HAS_BEEN_LOCKED
    1862,  # ER_MUST_CHANGE_PASSWORD_LOGIN
}
_PRIVILEGE = {
    1044,  # ER_DBACCESS_DENIED_ERROR
    1142,  # ER_TABLEACCESS_DENIED_ERROR
    1143,  # ER_COLUMNACCESS_DENIED_ERROR
    1227,  # ER_SPECIFIC_ACCESS_DENIED_ERROR
    1370,  # ER_PROCACCESS_DENIED_ERROR
    1410,  # ER_CANT_CREATE_USER_WITH_GRANT
    3530,  # ER_ROLE_NOT_GRANTED ... treated as a missing grant
}
_PRECONDITION = {
    1193,  # ER_UNKNOWN_SYSTEM_VARIABLE (a plugin is missing)
    1305,  # ER_SP_DOES_NOT_EXIST (function/procedure missing: plugin UDF or metadata procedure)
    1146,  # ER_NO_SUCH_TABLE
    1049,  # ER_BAD_DB_ERROR
    1198,  # ER_SLAVE_MUST_STOP
    3074,  # ER_REPLICA_CHANNEL_DOES_NOT_EXIST
    3092,  # ER_GROUP_REPLICATION_CONFIGURATION
    1785,  # ER_GTID_UNSAFE_NON_TRANSACTIONAL_TABLE
    1782,  # ER_GTID_MODE_OFF ... (@@GLOBAL.GTID_MODE = OFF)
}
_CLONE_FAILED_RANGE = range(3860, 3880)  # ER_CLONE_* (donor, protocol, version, os, platform, ...)
_RESTART_FAILED = 3707  # ER_RESTART_SERVER_FAILED: the clone worked, nobody restarted mysqld

ER_REPLICA_CHANNEL_DOES_NOT_EXIST = 3074
ER_RESTART_SERVER_FAILED = _RESTART_FAILED
ER_SERVER_SHUTDOWN = 1053


def mysql_errno(exc: BaseException) -> int | None:
    """The MySQL error number of an asyncmy/pymysql exception, or None."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def classify_mysql_error(exc: BaseException, *, where: str, doing: str = "") -> ClusterSetError:
    """Map a driver or transport error to the hierarchy; `doing` names the statement's purpose.

    The result is returned, not raised, so the caller writes ``raise classify_mysql_error(e, ...) from e``.
    A ClusterSetError is returned unchanged.
    """
    if isinstance(exc, ClusterSetError):
        return exc
    context = f" while {doing}" if doing else ""
    if isinstance(exc, ssl.SSLError):
        return InstanceUnreachable(
            f"TLS handshake with {where} failed{context}: {exc}. Check spec.sslMode and the CA bundle "
            "(VERIFY_CA/VERIFY_IDENTITY need the server's CA; VERIFY_IDENTITY needs the host in its SAN).",
            where=where,
        )
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return InstanceUnreachable(
            f"{where} did not answer in time{context}; it may be down, partitioned or overloaded. "
            "The step will be retried.",
            where=where,
        )
    errno = mysql_errno(exc)
    if errno is None:
        if isinstance(exc, (OSError, ConnectionError, EOFError)):
            return InstanceUnreachable(
                f"cannot reach {where}{context}: {exc}. The step will be retried.", where=where
            )
        return UnexpectedServerError(f"unexpected error from {where}{context}: {exc!r}", where=where)
    text = str(exc.args[1]) if len(exc.args) > 1 else ""
    detail = f"{where}{context}: ({errno}) {text}"
    if errno in _UNREACHABLE:
        return InstanceUnreachable(f"lost {detail}. The step will be retried.", where=where, errno=errno)
    if errno in _BUSY:
        return InstanceBusy(f"busy {detail}. The step will be retried.", where=where, errno=errno)
    if errno in _LOCK_HELD:
        return LockHeld(
            f"an AdminAPI lock is held on {detail}. Another client (mysqlsh?) is changing the ClusterSet; "
            "the step will be retried.",
            where=where,
            errno=errno,
        )
    if errno in _NOT_READY:
        return NotReady(f"not ready {detail}. The step will be retried.", where=where, errno=errno)
    if errno in _ACCESS_DENIED:
        return AccessDenied(
            f"access denied at {detail}. Check that the key of spec.credentialsSecret holds the password "
            "of the 'clusterset' user, identical on every site.",
            where=where,
            errno=errno,
        )
    if errno in _PRIVILEGE:
        return MissingPrivilege(
            f"missing privilege at {detail}. Grant the 'clusterset' user the privileges of "
            "percona-clusterset.md §7 on every instance.",
            where=where,
            errno=errno,
        )
    if errno in _CLONE_FAILED_RANGE:
        return CloneFailed(
            f"clone refused at {detail}. Check versions, plugins and donor settings.",
            where=where,
            errno=errno,
        )
    if errno in _PRECONDITION:
        return FailedPrecondition(
            f"precondition failed at {detail}. Fix the instance configuration.", where=where, errno=errno
        )
    return UnexpectedServerError(f"server error at {detail}", where=where, errno=errno)


def failure_type(exc: BaseException) -> str:
    """The name Temporal records for `exc` (its class name)."""
    return type(exc).__name__


def non_retryable_type_names() -> list[str]:
    """Every NonRetryableError subclass name, for a RetryPolicy's non_retryable_error_types."""
    names: list[str] = []
    stack: list[type[ClusterSetError]] = [NonRetryableError]
    while stack:
        cls = stack.pop()
        names.append(cls.__name__)
        stack.extend(cls.__subclasses__())
    return sorted(set(names))
