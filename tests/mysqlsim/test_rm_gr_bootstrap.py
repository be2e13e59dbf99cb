"""Issue 3, Build 4 (Group Replication bootstrap) on the manual-bootstrap instance ``boot`` of the shared
world: an empty server with the plugin configured but not started becomes a one-member group with
group_replication_bootstrap_group (MySQL 8.0 RM 20.2.1.5 'Bootstrapping the Group'), and member actions can
be configured and reset while it is outside a group (RM 20.5.1.5). Tests run in file order."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest
from rm_helpers import expect_sql_error, one, q, q1, qd, run, session, wait_until


@pytest.fixture(scope="module")
def boot(world: Any) -> Any:
    return world.member("boot", 0)


def _state(ep: Any) -> dict[str, tuple[str, str]]:
    rows = qd(
        ep, "SELECT MEMBER_ID, MEMBER_STATE, MEMBER_ROLE FROM performance_schema.replication_group_members"
    )
    return {r["MEMBER_ID"]: (r["MEMBER_STATE"], r["MEMBER_ROLE"]) for r in rows}


def test_manual_bootstrap_instance_is_not_in_a_group(boot: Any) -> None:
    """Issue 3 Build 8 'manual-bootstrap empty instances' / RM 20.2.1.4: the plugin is installed but Group
    Replication is not running: no ONLINE member."""
    assert q1(
        boot, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME='group_replication'"
    ) == ("ACTIVE")
    assert all(state != "ONLINE" for state, _ in _state(boot).values())


def test_member_actions_configurable_outside_a_group(boot: Any) -> None:
    """RM 20.5.1.5: the member action functions can be used on a server that is not part of a group, as long
    as the plugin is installed; group_replication_reset_member_actions() restores the defaults there (the
    server must be writable)."""
    action = "mysql_start_failover_channels_if_primary"
    q(boot, "SELECT group_replication_disable_member_action(%s, 'AFTER_PRIMARY_ELECTION')", (action,))
    enabled = "SELECT ENABLED FROM performance_schema.replication_group_member_actions WHERE NAME = %s"
    assert q1(boot, enabled, (action,)) == 0
    with session(boot) as conn:
        was_ro = one(conn, "SELECT @@global.read_only")
        run(conn, "SET GLOBAL read_only = OFF")
        try:
            assert one(conn, "SELECT group_replication_reset_member_actions()") == "OK"
        finally:
            if was_ro:
                run(conn, "SET GLOBAL read_only = ON")
    assert q1(boot, enabled, (action,)) == 1


def test_bootstrap_makes_a_one_member_group_with_a_writable_primary(boot: Any) -> None:
    """RM 20.2.1.5 'Bootstrapping the Group': SET GLOBAL group_replication_bootstrap_group=ON; START
    GROUP_REPLICATION; SET GLOBAL group_replication_bootstrap_group=OFF gives a group of one ONLINE PRIMARY;
    the member action mysql_disable_super_read_only_if_primary leaves it writable (super_read_only OFF)."""
    with session(boot) as conn:
        # RM 20.2.1.3 'Configuring an Instance for Group Replication': a group name (a UUID) and a local
        # address must be set before the group is started; set them if the instance does not have them.
        if not one(conn, "SELECT @@global.group_replication_group_name"):
            run(conn, "SET GLOBAL group_replication_group_name = %s", (one(conn, "SELECT UUID()"),))
        if not one(conn, "SELECT @@global.group_replication_local_address"):
            run(conn, "SET GLOBAL group_replication_local_address = %s", (f"{boot.host}:33061",))
        run(conn, "SET GLOBAL group_replication_bootstrap_group = ON")
        try:
            run(conn, "START GROUP_REPLICATION")
        finally:
            run(conn, "SET GLOBAL group_replication_bootstrap_group = OFF")
    wait_until(lambda: _state(boot).get(boot.server_uuid) == ("ONLINE", "PRIMARY"), what="ONLINE PRIMARY")
    assert len(_state(boot)) == 1
    wait_until(lambda: q1(boot, "SELECT @@global.super_read_only") == 0, what="super_read_only OFF")


def test_bootstrapped_group_commits_with_group_name_gtids(boot: Any) -> None:
    """RM 20.1.3 / 20.9 'group_replication_group_name': transactions of the new group carry the group name as
    their GTID UUID."""
    group = q1(boot, "SELECT @@group_replication_group_name").lower()
    with session(boot) as conn:
        before = one(conn, "SELECT @@global.gtid_executed")
        run(conn, "CREATE DATABASE IF NOT EXISTS bootdb")
        new = one(conn, "SELECT GTID_SUBTRACT(@@global.gtid_executed, %s)", (before,))
    assert new.split(":")[0] == group


def test_start_group_replication_twice_is_3093(boot: Any) -> None:
    """Error reference ER_GROUP_REPLICATION_RUNNING 3093 (HY000): "The START GROUP_REPLICATION command failed
    since the group is already running."."""
    expect_sql_error(boot, "START GROUP_REPLICATION", 3093, "HY000", r"group is already running")


def test_reset_member_actions_refused_while_in_group(boot: Any) -> None:
    """RM 20.5.1.5: group_replication_reset_member_actions() can only be used on a server that is not part of
    a group."""
    with pytest.raises(pymysql.MySQLError):  # the manual does not name the error
        q(boot, "SELECT group_replication_reset_member_actions()")


def test_stop_group_replication_sets_super_read_only(boot: Any) -> None:
    """RM 20.5.x 'STOP GROUP_REPLICATION' (8.0.x: the member's super_read_only is set ON when it stops); the
    member shows itself OFFLINE."""
    q(boot, "STOP GROUP_REPLICATION")
    assert q1(boot, "SELECT @@global.super_read_only") == 1
    assert all(state == "OFFLINE" for state, _ in _state(boot).values())
