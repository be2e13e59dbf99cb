"""Issue 3, Build 2 (accounts): CREATE / DROP USER, GRANT, REVOKE, SET PASSWORD, SHOW GRANTS and privilege
checks with errors 1045, 1227, 1142 (RM 8.2 'Access Control and Account Management', RM 15.7.1).

Accounts are created on ``src``'s standalone instance (and dc1's primary where replication matters), each test
with its own user name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rm_helpers import expect_sql_error, q, q1, unique


@pytest.fixture
def host(world: Any) -> Any:
    return world.member("src", 0)


@pytest.fixture
def user(host: Any) -> Iterator[str]:
    name = unique("u")
    q(host, f"CREATE USER '{name}'@'%' IDENTIFIED BY 'pw1'")
    yield name
    q(host, f"DROP USER IF EXISTS '{name}'@'%'")


def test_create_user_can_log_in(host: Any, user: str) -> None:
    """RM 15.7.1.3 'CREATE USER': the new account authenticates with its password; it has only USAGE."""
    assert q1(host, "SELECT CURRENT_USER()", user=user, password="pw1") == f"{user}@%"


def test_create_existing_user_is_1396(host: Any, user: str) -> None:
    """RM 15.7.1.3: creating an account that exists is ER_CANNOT_USER 1396 (HY000) "Operation CREATE USER
    failed for 'u'@'%'"."""
    expect_sql_error(
        host, f"CREATE USER '{user}'@'%'", 1396, "HY000", rf"Operation CREATE USER failed for '{user}'@'%'"
    )


def test_create_user_if_not_exists_is_a_note(host: Any, user: str) -> None:
    """RM 15.7.1.3: with IF NOT EXISTS an existing account gives a note (ER_USER_ALREADY_EXISTS 3163), no
    error."""
    from rm_helpers import run, session

    with session(host) as conn:
        run(conn, f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 'other'")
        warnings = run(conn, "SHOW WARNINGS")
    assert warnings and warnings[0][1] == 3163
    # The existing account is unchanged: the old password still works.
    assert q1(host, "SELECT 1", user=user, password="pw1") == 1


def test_drop_unknown_user_is_1396(host: Any) -> None:
    """RM 15.7.1.5 'DROP USER': an account that does not exist is ER_CANNOT_USER 1396 "Operation DROP USER
    failed for ..."."""
    expect_sql_error(
        host, "DROP USER 'nobody_x'@'%'", 1396, "HY000", r"Operation DROP USER failed for 'nobody_x'@'%'"
    )


def test_drop_user_then_login_is_1045(host: Any, user: str) -> None:
    """RM 15.7.1.5: after DROP USER the account cannot connect (1045)."""
    q(host, f"DROP USER '{user}'@'%'")
    expect_sql_error(host, "SELECT 1", 1045, "28000", user=user, password="pw1")


def test_show_grants_for_new_user_is_usage(host: Any, user: str) -> None:
    """RM 15.7.7.22 'SHOW GRANTS': a new account holds GRANT USAGE ON *.* TO `u`@`%`."""
    rows = q(host, f"SHOW GRANTS FOR '{user}'@'%'")
    assert rows == [(f"GRANT USAGE ON *.* TO `{user}`@`%`",)]


def test_grant_appears_in_show_grants(host: Any, user: str) -> None:
    """RM 15.7.1.6 'GRANT' / 15.7.7.22: database-level privileges are listed as GRANT SELECT, INSERT ON
    `app`.* TO `u`@`%`."""
    q(host, f"GRANT SELECT, INSERT ON app.* TO '{user}'@'%'")
    rows = [r[0] for r in q(host, f"SHOW GRANTS FOR '{user}'@'%'")]
    assert f"GRANT SELECT, INSERT ON `app`.* TO `{user}`@`%`" in rows


def test_dynamic_privileges_listed_separately(host: Any, user: str) -> None:
    """RM 8.2.2 'Privileges Provided by MySQL' (dynamic privileges): SHOW GRANTS lists dynamic global
    privileges in their own GRANT ... ON *.* line."""
    q(host, f"GRANT BACKUP_ADMIN, CLONE_ADMIN ON *.* TO '{user}'@'%'")
    rows = [r[0] for r in q(host, f"SHOW GRANTS FOR '{user}'@'%'")]
    assert f"GRANT BACKUP_ADMIN,CLONE_ADMIN ON *.* TO `{user}`@`%`" in rows


def test_show_grants_unknown_user_is_1141(host: Any) -> None:
    """RM 15.7.7.22: SHOW GRANTS for an account that does not exist is ER_NONEXISTING_GRANT 1141 (42000)
    "There is no such grant defined for user 'x' on host '%'"."""
    expect_sql_error(
        host,
        "SHOW GRANTS FOR 'nobody_y'@'%'",
        1141,
        "42000",
        r"There is no such grant defined for user 'nobody_y' on host '%'",
    )


def test_revoke_removes_privilege(host: Any, user: str) -> None:
    """RM 15.7.1.8 'REVOKE': after REVOKE the statement is refused with 1142."""
    q(host, f"GRANT SELECT ON app.* TO '{user}'@'%'")
    assert q1(host, "SELECT COUNT(*) FROM app.t", user=user, password="pw1") >= 1
    q(host, f"REVOKE SELECT ON app.* FROM '{user}'@'%'")
    expect_sql_error(host, "SELECT * FROM app.t", 1142, "42000", user=user, password="pw1")


def test_select_without_privilege_is_1142(host: Any, user: str) -> None:
    """RM 8.2.7 'Access Control, Stage 2: Request Verification': ER_TABLEACCESS_DENIED_ERROR 1142 (42000)
    "SELECT command denied to user 'u'@'h' for table ..."."""
    expect_sql_error(
        host,
        "SELECT * FROM app.t",
        1142,
        "42000",
        rf"^SELECT command denied to user '{user}'@'[^']+' for table '(app\.)?t'$",
        user=user,
        password="pw1",
    )


def test_insert_with_only_select_is_1142(host: Any, user: str) -> None:
    """RM 8.2.7: an INSERT needs INSERT on the table: "INSERT command denied to user ..." (1142)."""
    q(host, f"GRANT SELECT ON app.* TO '{user}'@'%'")
    expect_sql_error(
        host,
        "INSERT INTO app.t VALUES (99, 'x')",
        1142,
        "42000",
        r"^INSERT command denied to user",
        user=user,
        password="pw1",
    )


def test_connect_to_database_without_privilege_is_1044(host: Any, user: str) -> None:
    """RM 8.2.6 / error reference ER_DBACCESS_DENIED_ERROR 1044 (42000) "Access denied for user 'u'@'h' to
    database 'app'"."""
    expect_sql_error(
        host,
        "SELECT 1",
        1044,
        "42000",
        rf"Access denied for user '{user}'@'[^']+' to database 'app'",
        user=user,
        password="pw1",
        database="app",
    )


def test_admin_statement_without_dynamic_privilege_is_1227(host: Any, user: str) -> None:
    """RM 8.2.2: CREATE USER needs CREATE USER: ER_SPECIFIC_ACCESS_DENIED_ERROR 1227 (42000) "Access denied;
    you need (at least one of) the CREATE USER privilege(s) for this operation"."""
    expect_sql_error(
        host,
        "CREATE USER 'zz_never'@'%'",
        1227,
        "42000",
        r"^Access denied; you need \(at least one of\) the CREATE USER privilege\(s\) for this operation$",
        user=user,
        password="pw1",
    )


def test_set_password_changes_password(host: Any, user: str) -> None:
    """RM 15.7.1.10 'SET PASSWORD': the new password works, the old one is refused with 1045."""
    q(host, f"SET PASSWORD FOR '{user}'@'%' = 'pw2'")
    assert q1(host, "SELECT 1", user=user, password="pw2") == 1
    expect_sql_error(host, "SELECT 1", 1045, "28000", user=user, password="pw1")


def test_user_can_set_own_password(host: Any, user: str) -> None:
    """RM 15.7.1.10: SET PASSWORD without FOR changes the current user's own password."""
    q(host, "SET PASSWORD = 'own2'", user=user, password="pw1")
    assert q1(host, "SELECT 1", user=user, password="own2") == 1


def test_mysql_user_table_lists_accounts(host: Any, user: str) -> None:
    """RM 8.2.3 'Grant Tables': mysql.user has one row per account (User, Host)."""
    rows = q(host, "SELECT User, Host FROM mysql.user WHERE User = %s", (user,))
    assert rows == [(user, "%")]


def test_clusterset_account_has_percona_grants(world: Any) -> None:
    """percona-clusterset.md §7 via RM 15.7.7.22: the topology's `clusterset` account holds the global
    static and dynamic privileges the Percona entrypoint grants, with GRANT OPTION."""
    ep = world.member("dc1", 0)
    grants = " | ".join(r[0] for r in q(ep, "SHOW GRANTS FOR 'clusterset'@'%'"))
    for priv in (
        "RELOAD",
        "SHUTDOWN",
        "PROCESS",
        "REPLICATION SLAVE",
        "REPLICATION CLIENT",
        "CREATE USER",
        "BACKUP_ADMIN",
        "CLONE_ADMIN",
        "CONNECTION_ADMIN",
        "GROUP_REPLICATION_ADMIN",
        "SYSTEM_VARIABLES_ADMIN",
        "PERSIST_RO_VARIABLES_ADMIN",
    ):
        assert priv in grants, priv
    assert "WITH GRANT OPTION" in grants
    assert "`mysql_innodb_cluster_metadata`.*" in grants


def test_root_account_has_all_privileges(world: Any) -> None:
    """RM 15.7.7.22: root@'%' from the topology holds ALL PRIVILEGES ON *.* WITH GRANT OPTION (static
    privileges print as their full list in 8.0, so the check is on the first line's shape)."""
    ep = world.member("dc1", 0)
    first = q(ep, "SHOW GRANTS FOR 'root'@'%'")[0][0]
    assert first.startswith("GRANT ") and first.endswith("ON *.* TO `root`@`%` WITH GRANT OPTION")
    assert "SELECT" in first or "ALL PRIVILEGES" in first
