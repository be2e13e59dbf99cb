"""The error classifier, the escaping helpers and the statement shapes (no server needed)."""

from __future__ import annotations

import pytest

from activities import errors, sql
from activities.credentials import derived_password


class FakeDriverError(Exception):
    pass


@pytest.mark.parametrize(
    ("errno", "cls"),
    [
        (1045, errors.AccessDenied),
        (1227, errors.MissingPrivilege),
        (1142, errors.MissingPrivilege),
        (2003, errors.InstanceUnreachable),
        (2013, errors.InstanceUnreachable),
        (1053, errors.InstanceUnreachable),
        (1205, errors.InstanceBusy),
        (3133, errors.LockHeld),
        (1290, errors.NotReady),
        (1193, errors.FailedPrecondition),
        (3074, errors.FailedPrecondition),
        (9999, errors.UnexpectedServerError),
    ],
)
def test_classify_by_errno(errno: int, cls: type[errors.ClusterSetError]) -> None:
    err = errors.classify_mysql_error(FakeDriverError(errno, "boom"), where="127.0.0.1:3306", doing="x")
    assert type(err) is cls
    assert err.errno == errno
    assert "127.0.0.1:3306" in str(err)
    assert err.retryable == issubclass(cls, errors.RetryableError)


def test_classify_transport() -> None:
    for exc in (TimeoutError(), ConnectionRefusedError()):
        assert isinstance(errors.classify_mysql_error(exc, where="h:1"), errors.InstanceUnreachable)


def test_non_retryable_names() -> None:
    names = errors.non_retryable_type_names()
    for n in ("AccessDenied", "GtidModeOff", "ClonePluginMissing", "DivergedGtids", "ReplicaNotEmpty"):
        assert n in names
    assert "InstanceUnreachable" not in names


def test_literal_escaping() -> None:
    assert sql.lit("a'b") == "'a''b'"
    assert sql.lit("a\\b") == "'a\\\\b'"
    assert sql.lit(None) == "NULL"
    assert sql.lit(True) == "'ON'"
    assert sql.lit(3) == "3"
    assert sql.ident("we`ird") == "`we``ird`"
    assert sql.account("u", "%") == "'u'@'%'"


def test_statements_use_new_keywords() -> None:
    stmt = sql.change_source_full(
        host="h", port=3306, user="u", password="p'w", ssl_clause=", SOURCE_SSL = 1", auto_failover=True
    )
    assert stmt.startswith("CHANGE REPLICATION SOURCE TO SOURCE_HOST = 'h', SOURCE_PORT = 3306")
    assert "SOURCE_CONNECTION_AUTO_FAILOVER = 1, SOURCE_AUTO_POSITION = 1, SOURCE_SSL = 1" in stmt
    assert "'p''w'" in stmt
    assert stmt.endswith("FOR CHANNEL 'clusterset_replication'")
    for text in (sql.start_replica(), sql.stop_replica(), sql.reset_replica(all_=True)):
        assert "SLAVE" not in text and "MASTER" not in text
    assert "get_source_public_key" in sql.replication_ssl_clause(
        "DISABLED", replica_version=(8, 4, 3), ssl_ca=None
    )
    assert "get_master_public_key" in sql.replication_ssl_clause(
        "DISABLED", replica_version=(8, 0, 36), ssl_ca=None
    )
    assert sql.cs_account_name(255) == "mysql_innodb_cs_ff"


def test_derived_password_is_stable_and_distinct() -> None:
    a = derived_password("pw", purpose="mysql_innodb_cs_1")
    assert a == derived_password("pw", purpose="mysql_innodb_cs_1")
    assert a != derived_password("pw", purpose="mysql_innodb_cs_2")
    assert a != derived_password("pw2", purpose="mysql_innodb_cs_1")
    assert len(a) == 32


def test_server_text_echoing_a_password_is_withheld() -> None:
    from activities.connections import redact

    pw = "POcsqRDlUL24FqOezb7DOQg7X2gfAa1_"
    stmt = sql.clone_instance(user="u", host="h", port=1, password=pw)
    echoed = f"server error at h:1 while running CLONE: (1064) syntax error near ' '{pw[:12]}' at line 1"
    out = redact(echoed, stmt)
    assert pw[:6] not in out and "(1064)" in out and "h:1" in out
    assert redact("server error at h:1: (1045) Access denied", stmt).endswith("Access denied")
    assert redact("anything", "SELECT 1") == "anything"
