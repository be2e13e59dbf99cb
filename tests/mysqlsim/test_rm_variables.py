"""Issue 3, Build 2 (instance state): identity, system variables (GLOBAL, SESSION, PERSIST, PERSIST_ONLY,
RESET PERSIST), read_only / super_read_only and plugins, as RM 7.1.8, 7.1.9, 15.7.6.1 and 15.7.4 document
them.

Instance ``v84`` (a standalone 8.4.3 server) is the one whose settings these tests change; each test restores
what it changed."""

from __future__ import annotations

from typing import Any

import pytest
from rm_helpers import expect_sql_error, one, q, q1, qd, run, session, unique


@pytest.fixture(scope="module")
def v84(world: Any) -> Any:
    return world.member("v84", 0)


def test_server_uuid_matches_endpoints_and_show_variables(world: Any) -> None:
    """RM 19.1.6.2 'server_uuid': every server has a UUID, readable as @@server_uuid and SHOW VARIABLES."""
    for eps in world.endpoints.values():
        for ep in eps:
            assert q1(ep, "SELECT @@server_uuid") == ep.server_uuid
    ep = world.member("dc1", 0)
    rows = q(ep, "SHOW VARIABLES LIKE 'server_uuid'")
    assert rows == [("server_uuid", ep.server_uuid)]


def test_server_uuid_is_read_only(primary: Any) -> None:
    """RM 19.1.6.2: server_uuid is read-only: SET gives ER_INCORRECT_GLOBAL_LOCAL_VAR 1238 (HY000)
    "Variable 'server_uuid' is a read only variable"."""
    expect_sql_error(
        primary,
        "SET GLOBAL server_uuid = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'",
        1238,
        "HY000",
        r"Variable 'server_uuid' is a read only variable",
    )


def test_server_ids_are_distinct_and_nonzero(dc1: list[Any]) -> None:
    """RM 19.1.6.2 'server_id': members of a replication topology need distinct non-zero server IDs."""
    ids = [q1(ep, "SELECT @@server_id") for ep in dc1]
    assert len(set(ids)) == len(ids)
    assert all(int(i) > 0 for i in ids)


def test_version_is_the_declared_series(world: Any, v84: Any, primary: Any) -> None:
    """RM 14.15 VERSION() / @@version: the server version string, 8.0.x or 8.4.x as the topology declares."""
    assert str(q1(primary, "SELECT VERSION()")).startswith("8.0.36")
    assert str(q1(v84, "SELECT @@version")).startswith("8.4.3")
    assert primary.version == "8.0.36" and v84.version == "8.4.3"


def test_port_and_report_port(primary: Any) -> None:
    """RM 7.1.8 'port' and RM 19.1.6.2 'report_port': @@port is the listening port; report_port defaults to
    it."""
    assert q1(primary, "SELECT @@port") == primary.port
    assert int(q1(primary, "SELECT @@report_port")) == primary.port


def test_report_host_is_read_only(primary: Any) -> None:
    """RM 19.1.6.2 'report_host': a read-only global variable (1238 on SET GLOBAL)."""
    expect_sql_error(
        primary,
        "SET GLOBAL report_host = 'x'",
        1238,
        "HY000",
        r"Variable 'report_host' is a read only variable",
    )


def test_set_global_is_seen_by_new_sessions_not_existing_ones(v84: Any) -> None:
    """RM 7.1.9 'Using System Variables': SET GLOBAL changes the global value; a new session initialises its
    session value from it, an existing session keeps its own."""
    with session(v84) as old:
        before = one(old, "SELECT @@session.lock_wait_timeout")
        run(old, "SET GLOBAL lock_wait_timeout = 123")
        try:
            assert one(old, "SELECT @@global.lock_wait_timeout") == 123
            assert one(old, "SELECT @@session.lock_wait_timeout") == before
            assert q1(v84, "SELECT @@session.lock_wait_timeout") == 123
        finally:
            run(old, "SET GLOBAL lock_wait_timeout = DEFAULT")
    assert q1(v84, "SELECT @@global.lock_wait_timeout") == 31536000


def test_set_session_changes_only_this_session(v84: Any) -> None:
    """RM 15.7.6.1 'SET Syntax for Variable Assignment': SET SESSION affects only the current session."""
    with session(v84) as conn:
        run(conn, "SET SESSION lock_wait_timeout = 7")
        assert one(conn, "SELECT @@lock_wait_timeout") == 7
        assert one(conn, "SELECT @@global.lock_wait_timeout") != 7


def test_set_session_on_global_only_variable_is_1229(v84: Any) -> None:
    """RM 15.7.6.1: ER_GLOBAL_VARIABLE 1229 (HY000) "Variable 'super_read_only' is a GLOBAL variable and
    should be set with SET GLOBAL"."""
    expect_sql_error(
        v84,
        "SET SESSION super_read_only = ON",
        1229,
        "HY000",
        r"Variable 'super_read_only' is a GLOBAL variable and should be set with SET GLOBAL",
    )


def test_set_global_on_session_only_variable_is_1228(v84: Any) -> None:
    """RM 7.1.8 'sql_log_bin' has session scope only (8.0); ER_LOCAL_VARIABLE 1228 (HY000) "Variable
    'sql_log_bin' is a SESSION variable and can't be used with SET GLOBAL"."""
    expect_sql_error(
        v84,
        "SET GLOBAL sql_log_bin = 0",
        1228,
        "HY000",
        r"Variable 'sql_log_bin' is a SESSION variable and can't be used with SET GLOBAL",
    )


def test_show_variables_and_performance_schema_global_variables_agree(v84: Any) -> None:
    """RM 15.7.7.41 'SHOW VARIABLES' and RM 29.12.14 'Performance Schema System Variable Tables': the same
    global value from SHOW GLOBAL VARIABLES and performance_schema.global_variables."""
    shown = dict(q(v84, "SHOW GLOBAL VARIABLES LIKE 'max_connections'"))
    table = q(
        v84,
        "SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = "
        "'max_connections'",
    )
    assert shown["max_connections"] == table[0][0] == str(q1(v84, "SELECT @@global.max_connections"))


def test_session_variables_table_shows_session_value(v84: Any) -> None:
    """RM 29.12.14 performance_schema.session_variables: the current session's values."""
    with session(v84) as conn:
        run(conn, "SET SESSION lock_wait_timeout = 9")
        val = one(
            conn,
            "SELECT VARIABLE_VALUE FROM performance_schema.session_variables "
            "WHERE VARIABLE_NAME = 'lock_wait_timeout'",
        )
    assert val == "9"


def test_set_persist_sets_global_and_persists(v84: Any) -> None:
    """RM 7.1.9.3 'Persisted System Variables': SET PERSIST sets the global value and records it in
    performance_schema.persisted_variables."""
    try:
        q(v84, "SET PERSIST max_connections = 222")
        assert q1(v84, "SELECT @@global.max_connections") == 222
        rows = q(
            v84,
            "SELECT VARIABLE_VALUE FROM performance_schema.persisted_variables "
            "WHERE VARIABLE_NAME = 'max_connections'",
        )
        assert rows == [("222",)]
    finally:
        q(v84, "RESET PERSIST IF EXISTS max_connections")
        q(v84, "SET GLOBAL max_connections = DEFAULT")


def test_set_persist_only_does_not_change_runtime_value(v84: Any) -> None:
    """RM 7.1.9.3: SET PERSIST_ONLY records the setting for the next start without changing the runtime
    value."""
    before = q1(v84, "SELECT @@global.max_connections")
    try:
        q(v84, "SET PERSIST_ONLY max_connections = 333")
        assert q1(v84, "SELECT @@global.max_connections") == before
        rows = q(
            v84,
            "SELECT VARIABLE_VALUE FROM performance_schema.persisted_variables "
            "WHERE VARIABLE_NAME = 'max_connections'",
        )
        assert rows == [("333",)]
    finally:
        q(v84, "RESET PERSIST IF EXISTS max_connections")


def test_persist_only_accepts_a_read_only_variable_persist_does_not(v84: Any) -> None:
    """RM 7.1.9.3 / 15.7.6.1: SET PERSIST of a read-only variable fails with 1238 (it would change the runtime
    value), while SET PERSIST_ONLY can persist it for the next start."""
    expect_sql_error(v84, "SET PERSIST report_host = 'h1'", 1238, "HY000", r"read only variable")
    try:
        q(v84, "SET PERSIST_ONLY report_host = 'h1'")
        rows = q(
            v84,
            "SELECT VARIABLE_VALUE FROM performance_schema.persisted_variables WHERE VARIABLE_NAME = "
            "'report_host'",
        )
        assert rows == [("h1",)]
    finally:
        q(v84, "RESET PERSIST IF EXISTS report_host")


def test_reset_persist_removes_setting_keeps_runtime_value(v84: Any) -> None:
    """RM 15.7.8.7 'RESET PERSIST Statement': removes the persisted setting; the runtime value is
    unchanged."""
    try:
        q(v84, "SET PERSIST max_connections = 251")
        q(v84, "RESET PERSIST max_connections")
        rows = q(
            v84,
            "SELECT * FROM performance_schema.persisted_variables WHERE VARIABLE_NAME = 'max_connections'",
        )
        assert rows == []
        assert q1(v84, "SELECT @@global.max_connections") == 251
    finally:
        q(v84, "SET GLOBAL max_connections = DEFAULT")


def test_reset_persist_unknown_is_3615_and_if_exists_is_a_warning(v84: Any) -> None:
    """RM 15.7.8.7: RESET PERSIST of a variable not persisted is ER_VAR_DOES_NOT_EXIST 3615 "Variable %s does
    not exist in persisted config file"; with IF EXISTS it is a warning."""
    expect_sql_error(
        v84,
        "RESET PERSIST max_connections",
        3615,
        "HY000",
        r"max_connections does not exist in persisted config file",
    )
    with session(v84) as conn:
        run(conn, "RESET PERSIST IF EXISTS max_connections")
        warnings = run(conn, "SHOW WARNINGS")
    assert warnings and warnings[0][1] == 3615


def test_set_persist_needs_system_variables_admin(v84: Any) -> None:
    """RM 7.1.9.1 'System Variable Privileges': setting a global (or persisting) needs SYSTEM_VARIABLES_ADMIN
    or SUPER, else ER_SPECIFIC_ACCESS_DENIED_ERROR 1227 (42000)."""
    user = unique("novars")
    q(v84, f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
    try:
        expect_sql_error(
            v84,
            "SET PERSIST max_connections = 200",
            1227,
            "42000",
            r"Access denied; you need \(at least one of\) the SUPER or SYSTEM_VARIABLES_ADMIN privilege\(s\)",
            user=user,
            password="pw",
        )
    finally:
        q(v84, f"DROP USER '{user}'@'%'")


def test_super_read_only_on_forces_read_only_on(v84: Any) -> None:
    """RM 7.1.8 'super_read_only': enabling super_read_only implicitly enables read_only."""
    try:
        q(v84, "SET GLOBAL super_read_only = ON")
        assert q(v84, "SELECT @@global.read_only, @@global.super_read_only") == [(1, 1)]
    finally:
        q(v84, "SET GLOBAL read_only = OFF")


def test_read_only_off_forces_super_read_only_off(v84: Any) -> None:
    """RM 7.1.8 'read_only': disabling read_only implicitly disables super_read_only."""
    q(v84, "SET GLOBAL super_read_only = ON")
    q(v84, "SET GLOBAL read_only = OFF")
    assert q(v84, "SELECT @@global.read_only, @@global.super_read_only") == [(0, 0)]


def test_super_read_only_off_keeps_read_only(v84: Any) -> None:
    """RM 7.1.8 'super_read_only': disabling super_read_only does not change read_only."""
    try:
        q(v84, "SET GLOBAL super_read_only = ON")
        q(v84, "SET GLOBAL super_read_only = OFF")
        assert q(v84, "SELECT @@global.read_only, @@global.super_read_only") == [(1, 0)]
    finally:
        q(v84, "SET GLOBAL read_only = OFF")


def test_super_read_only_refuses_writes_from_super_users_1290(v84: Any) -> None:
    """RM 7.1.8 'super_read_only': even users with SUPER / CONNECTION_ADMIN cannot write:
    ER_OPTION_PREVENTS_STATEMENT 1290 (HY000) "The MySQL server is running with the --super-read-only option
    so it cannot execute this statement"."""
    db = unique("srodb")
    try:
        q(v84, "SET GLOBAL super_read_only = ON")
        expect_sql_error(
            v84,
            f"CREATE DATABASE {db}",
            1290,
            "HY000",
            r"^The MySQL server is running with the --super-read-only option so it cannot execute "
            r"this statement$",
        )
        expect_sql_error(v84, f"CREATE USER '{db}'@'%'", 1290, "HY000", r"--super-read-only")
    finally:
        q(v84, "SET GLOBAL read_only = OFF")


def test_read_only_refuses_ordinary_users_not_connection_admin(v84: Any) -> None:
    """RM 7.1.8 'read_only': with read_only ON (super_read_only OFF) clients without CONNECTION_ADMIN (or
    SUPER) get 1290 "--read-only"; an administrator can still write."""
    db = unique("rodb")
    user = unique("rouser")
    q(v84, f"CREATE DATABASE {db}")
    q(v84, f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    q(v84, f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
    q(v84, f"GRANT INSERT, SELECT ON {db}.* TO '{user}'@'%'")
    try:
        q(v84, "SET GLOBAL read_only = ON")
        expect_sql_error(
            v84,
            f"INSERT INTO {db}.t VALUES (1)",
            1290,
            "HY000",
            r"running with the --read-only option",
            user=user,
            password="pw",
        )
        q(v84, f"INSERT INTO {db}.t VALUES (2)")
        assert q1(v84, f"SELECT COUNT(*) FROM {db}.t") == 1
    finally:
        q(v84, "SET GLOBAL read_only = OFF")
        q(v84, f"DROP USER '{user}'@'%'")
        q(v84, f"DROP DATABASE {db}")


def test_install_plugin_lists_it_in_information_schema(v84: Any) -> None:
    """RM 15.7.4.4 'INSTALL PLUGIN' and RM 28.3.22 'INFORMATION_SCHEMA PLUGINS': after INSTALL PLUGIN clone
    SONAME 'mysql_clone.so' the plugin is ACTIVE; its system variables exist only while it is installed
    (before: ER_UNKNOWN_SYSTEM_VARIABLE 1193)."""
    rows = q(v84, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME = 'clone'")
    if rows:
        q(v84, "UNINSTALL PLUGIN clone")
    expect_sql_error(v84, "SELECT @@global.clone_valid_donor_list", 1193, "HY000")
    q(v84, "INSTALL PLUGIN clone SONAME 'mysql_clone.so'")
    rows = q(v84, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME = 'clone'")
    assert rows == [("ACTIVE",)]
    assert q1(v84, "SELECT @@global.clone_valid_donor_list") in (None, "")
    names = [r[0] for r in q(v84, "SHOW PLUGINS")]
    assert "clone" in names


def test_install_plugin_twice_is_1125(v84: Any) -> None:
    """RM 15.7.4.4 'INSTALL PLUGIN': installing a plugin already installed fails with ER_UDF_EXISTS 1125
    "Function 'clone' already exists" (the error reference's text for plugins too; the manual does not
    quote the message for this case, so only the number and name are checked)."""
    rows = q(v84, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME = 'clone'")
    if not rows:
        q(v84, "INSTALL PLUGIN clone SONAME 'mysql_clone.so'")
    expect_sql_error(v84, "INSTALL PLUGIN clone SONAME 'mysql_clone.so'", 1125, "HY000", r"clone")


def test_uninstall_plugin_removes_it(v84: Any) -> None:
    """RM 15.7.4.6 'UNINSTALL PLUGIN': the plugin disappears from information_schema.plugins."""
    rows = q(v84, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME = 'clone'")
    if not rows:
        q(v84, "INSTALL PLUGIN clone SONAME 'mysql_clone.so'")
    q(v84, "UNINSTALL PLUGIN clone")
    assert q(v84, "SELECT * FROM information_schema.plugins WHERE PLUGIN_NAME = 'clone'") == []


def test_uninstall_unknown_plugin_is_1305(v84: Any) -> None:
    """RM 15.7.4.6: UNINSTALL PLUGIN of a plugin that is not installed is ER_SP_DOES_NOT_EXIST 1305 (42000)
    "PLUGIN no_such_plugin does not exist"."""
    expect_sql_error(
        v84, "UNINSTALL PLUGIN no_such_plugin", 1305, "42000", r"^PLUGIN no_such_plugin does not exist$"
    )


def test_install_plugin_bad_library_is_1126(v84: Any) -> None:
    """RM 15.7.4.4: a library that cannot be opened is ER_CANT_OPEN_LIBRARY 1126 (HY000) "Can't open shared
    library ..."."""
    expect_sql_error(
        v84, "INSTALL PLUGIN nothing SONAME 'no_such_lib.so'", 1126, "HY000", r"Can't open shared library"
    )


def test_group_replication_plugin_active_on_cluster_members(dc1: list[Any]) -> None:
    """RM 20.2.1.4 / 28.3.22: on InnoDB Cluster members the group_replication plugin is ACTIVE."""
    for ep in dc1:
        rows = qd(
            ep, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME = 'group_replication'"
        )
        assert rows == [{"PLUGIN_STATUS": "ACTIVE"}]
