"""Issue 3, Build 4 (Group Replication, single-primary) and the asynchronous connection failover that follows
a group (Build 5), on their own world (``gr_world``), because these tests stop, kill and re-elect members.

Manual: MySQL 8.0 RM chapter 20 (18 in older numbering) 'Group Replication'; 20.5.1.5 'Configuring Member
Actions'; 20.5.1.1 'Changing the Primary'; 20.5.4.2 'Cloning for Distributed Recovery'; 29.12.11.x
'replication_group_members', 'replication_group_member_actions'; 19.4.9.2 'Asynchronous Connection Failover
for Replicas'. The tests run in file order: read-only checks first, then re-elections, stops, clones, kills.
"""

from __future__ import annotations

from typing import Any

import pymysql
import pytest
from rm_helpers import (
    ROOT_PASSWORD,
    expect_sql_error,
    one,
    q,
    q1,
    qd,
    run,
    session,
    wait_gtids,
    wait_until,
)

MEMBERS_SQL = (
    "SELECT MEMBER_ID, MEMBER_HOST, MEMBER_PORT, MEMBER_STATE, MEMBER_ROLE "
    "FROM performance_schema.replication_group_members"
)


@pytest.fixture(scope="module")
def gr(gr_world: Any) -> list[Any]:
    return list(gr_world.endpoints["gr"])


def members(ep: Any) -> dict[str, tuple[str, str]]:
    """uuid -> (state, role) as ep sees the group."""
    return {r["MEMBER_ID"]: (r["MEMBER_STATE"], r["MEMBER_ROLE"]) for r in qd(ep, MEMBERS_SQL, timeout=3)}


def current_primary(eps: list[Any]) -> Any:
    for ep in eps:
        try:
            view = members(ep)
        except pymysql.MySQLError:
            continue
        for uuid, (state, role) in view.items():
            if role == "PRIMARY" and state == "ONLINE":
                return next(e for e in eps if e.server_uuid == uuid)
    raise AssertionError("no primary")


def wait_state(observer: Any, member: Any, state: str, timeout: float = 60) -> None:
    wait_until(
        lambda: members(observer).get(member.server_uuid, ("", ""))[0] == state,
        timeout=timeout,
        what=f"{member.name} to be {state} as seen from {observer.name}",
    )


def sro(ep: Any) -> int:
    return int(q1(ep, "SELECT @@global.super_read_only"))


def clone_count(world: Any, ep: Any) -> int:
    return int(world.ctl.clone_count(ep.host))


# --- membership and roles ---------------------------------------------------------------------------------


def test_replication_group_members_columns(gr: list[Any]) -> None:
    """RM 29.12.11.x 'The replication_group_members Table': CHANNEL_NAME group_replication_applier, MEMBER_ID
    (server_uuid), MEMBER_HOST, MEMBER_PORT, MEMBER_STATE, MEMBER_ROLE, MEMBER_VERSION,
    MEMBER_COMMUNICATION_STACK (8.0.27+)."""
    rows = qd(gr[0], "SELECT * FROM performance_schema.replication_group_members")
    assert len(rows) == 3
    for row in rows:
        assert set(row) >= {
            "CHANNEL_NAME",
            "MEMBER_ID",
            "MEMBER_HOST",
            "MEMBER_PORT",
            "MEMBER_STATE",
            "MEMBER_ROLE",
            "MEMBER_VERSION",
            "MEMBER_COMMUNICATION_STACK",
        }
        assert row["CHANNEL_NAME"] == "group_replication_applier"
        assert row["MEMBER_VERSION"] == "8.0.36"
        assert row["MEMBER_COMMUNICATION_STACK"] in ("XCom", "MySQL")
    by_uuid = {r["MEMBER_ID"]: r for r in rows}
    for ep in gr:
        assert by_uuid[ep.server_uuid]["MEMBER_HOST"] == ep.host
        assert int(by_uuid[ep.server_uuid]["MEMBER_PORT"]) == ep.port


def test_single_primary_one_primary_two_secondaries_all_online(gr: list[Any]) -> None:
    """RM 20.1.3.1 'Single-Primary Mode': one PRIMARY, the others SECONDARY, all ONLINE; every member sees the
    same view."""
    views = [members(ep) for ep in gr]
    assert views[0] == views[1] == views[2]
    roles = sorted(role for _, role in views[0].values())
    assert roles == ["PRIMARY", "SECONDARY", "SECONDARY"]
    assert all(state == "ONLINE" for state, _ in views[0].values())
    assert views[0][gr[0].server_uuid][1] == "PRIMARY"


def test_single_primary_mode_variable_and_group_name(gr: list[Any]) -> None:
    """RM 20.9 'Group Replication Variables': group_replication_single_primary_mode=ON and one
    group_replication_group_name (a UUID) on every member."""
    names = {q1(ep, "SELECT @@group_replication_group_name") for ep in gr}
    assert len(names) == 1
    assert all(q1(ep, "SELECT @@group_replication_single_primary_mode") == 1 for ep in gr)


def test_secondaries_super_read_only_primary_writable(gr: list[Any]) -> None:
    """RM 20.1.3.1: secondaries run with super_read_only=ON; the primary (member action
    mysql_disable_super_read_only_if_primary) with it OFF."""
    assert sro(gr[0]) == 0
    assert sro(gr[1]) == 1 and sro(gr[2]) == 1


def test_write_on_secondary_is_1290(gr: list[Any]) -> None:
    """RM 20.1.3.1 / 7.1.8 'super_read_only': a client write on a secondary fails with 1290."""
    expect_sql_error(gr[1], "INSERT INTO app.t VALUES (900, 'x')", 1290, "HY000", r"--super-read-only")


def test_group_transactions_use_the_group_name_as_uuid(gr: list[Any]) -> None:
    """RM 20.1.3 / 20.9 'group_replication_group_name': transactions committed by group members get GTIDs
    whose UUID is the group name; every member applies them."""
    group = q1(gr[0], "SELECT @@group_replication_group_name")
    with session(gr[0]) as conn:
        before = one(conn, "SELECT @@global.gtid_executed")
        run(conn, "INSERT INTO app.t VALUES (901, 'g')")
        after = one(conn, "SELECT @@global.gtid_executed")
        new = one(conn, "SELECT GTID_SUBTRACT(%s, %s)", (after, before))
    assert new.split(":")[0] == group.lower()
    for ep in gr[1:]:
        wait_gtids(ep, after)


def test_member_actions_default_configuration(gr: list[Any]) -> None:
    """RM 20.5.1.5 'Configuring Member Actions' / replication_group_member_actions: the two actions, both
    AFTER_PRIMARY_ELECTION, enabled, INTERNAL; mysql_disable_super_read_only_if_primary priority 1 IGNORE,
    mysql_start_failover_channels_if_primary priority 10 CRITICAL."""
    rows = q(
        gr[0],
        "SELECT NAME, EVENT, ENABLED, TYPE, PRIORITY, ERROR_HANDLING "
        "FROM performance_schema.replication_group_member_actions ORDER BY PRIORITY",
    )
    assert rows == [
        ("mysql_disable_super_read_only_if_primary", "AFTER_PRIMARY_ELECTION", 1, "INTERNAL", 1, "IGNORE"),
        ("mysql_start_failover_channels_if_primary", "AFTER_PRIMARY_ELECTION", 1, "INTERNAL", 10, "CRITICAL"),
    ]


def test_member_action_change_refused_on_secondary(gr: list[Any]) -> None:
    """RM 20.5.1.5: in a group, member actions are configured on the primary only; on a secondary the function
    fails (the manual does not quote the error text)."""
    with pytest.raises(pymysql.MySQLError):
        q(
            gr[1],
            "SELECT group_replication_disable_member_action('mysql_disable_super_read_only_if_primary', "
            "'AFTER_PRIMARY_ELECTION')",
        )


def test_member_action_change_on_primary_propagates(gr: list[Any]) -> None:
    """RM 20.5.1.5 / 14.18.1.5 'Functions to Set and Reset Group Replication Member Actions': disabling an
    action on the primary propagates to every member through group messages (no GTID: gtid_executed
    unchanged)."""
    action = "mysql_start_failover_channels_if_primary"
    before = q1(gr[0], "SELECT @@global.gtid_executed")
    try:
        out = q1(
            gr[0], "SELECT group_replication_disable_member_action(%s, 'AFTER_PRIMARY_ELECTION')", (action,)
        )
        assert out == "OK"
        for ep in gr:
            wait_until(
                lambda ep=ep: (
                    q1(
                        ep,
                        "SELECT ENABLED FROM performance_schema.replication_group_member_actions "
                        "WHERE NAME = %s",
                        (action,),
                    )
                    == 0
                ),
                what=f"{ep.name} to see the action disabled",
            )
        assert q1(gr[0], "SELECT @@global.gtid_executed") == before
    finally:
        q(gr[0], "SELECT group_replication_enable_member_action(%s, 'AFTER_PRIMARY_ELECTION')", (action,))


def test_reset_member_actions_refused_inside_a_group(gr: list[Any]) -> None:
    """RM 14.18.1.5 group_replication_reset_member_actions(): only on a server that is not part of a group."""
    with pytest.raises(pymysql.MySQLError):
        q(gr[0], "SELECT group_replication_reset_member_actions()")


# --- changing the primary -------------------------------------------------------------------------------


def test_set_as_primary_switches_roles(gr: list[Any]) -> None:
    """RM 20.5.1.1 'Changing the Primary' / group_replication_set_as_primary(member_uuid): returns "Primary
    server switched to: <uuid>"; the named member becomes the writable PRIMARY, the old one a super-read-only
    SECONDARY."""
    target = gr[1]
    out = q1(gr[2], "SELECT group_replication_set_as_primary(%s)", (target.server_uuid,))
    assert out == f"Primary server switched to: {target.server_uuid}"
    wait_until(lambda: members(gr[0])[target.server_uuid][1] == "PRIMARY", what="new primary")
    wait_until(lambda: sro(target) == 0, what="new primary writable")
    assert members(gr[0])[gr[0].server_uuid][1] == "SECONDARY"
    wait_until(lambda: sro(gr[0]) == 1, what="old primary read-only")
    q(target, "INSERT INTO app.t VALUES (902, 'p1')")


def test_set_as_primary_unknown_uuid_fails(gr: list[Any]) -> None:
    """RM 14.18.1.1 group_replication_set_as_primary(): a UUID that is not a group member is refused."""
    with pytest.raises(pymysql.MySQLError):
        q(gr[0], "SELECT group_replication_set_as_primary('00000000-0000-0000-0000-000000000000')")


def test_disabled_sro_action_keeps_new_primary_read_only(gr: list[Any]) -> None:
    """RM 20.5.1.5: with mysql_disable_super_read_only_if_primary disabled, a newly elected primary keeps
    super_read_only=ON."""
    action = "mysql_disable_super_read_only_if_primary"
    old = current_primary(gr)
    new = gr[0] if old is not gr[0] else gr[1]
    q(old, "SELECT group_replication_disable_member_action(%s, 'AFTER_PRIMARY_ELECTION')", (action,))
    try:
        q(old, "SELECT group_replication_set_as_primary(%s)", (new.server_uuid,))
        wait_until(lambda: members(new)[new.server_uuid][1] == "PRIMARY", what="switch")
        assert sro(new) == 1
    finally:
        # The Shell's wrapper (adminapi spec 1.5): lift super_read_only around the change.
        q(new, "SET GLOBAL super_read_only = OFF")
        q(new, "SELECT group_replication_enable_member_action(%s, 'AFTER_PRIMARY_ELECTION')", (action,))
    # Back to member 0 as primary for the tests below.
    if current_primary(gr) is not gr[0]:
        q(gr[0], "SELECT group_replication_set_as_primary(%s)", (gr[0].server_uuid,))
    wait_until(lambda: sro(gr[0]) == 0 and members(gr[0])[gr[0].server_uuid][1] == "PRIMARY", what="member 0")


# --- asynchronous connection failover following the group, then elections ------------------------------


def test_managed_failover_source_list(gr_world: Any, gr: list[Any]) -> None:
    """RM 19.4.9.2 / 14.18.x asynchronous_connection_failover_add_managed(channel, 'GroupReplication',
    group_name, host, port, network_namespace, primary_weight, secondary_weight): the source list then holds
    every group member, the primary with weight 80 and the secondaries with 60; the _managed table holds
    CONFIGURATION {"Primary_weight": 80, "Secondary_weight": 60}."""
    rx = gr_world.member("rx", 0)
    p = current_primary(gr)
    group = q1(p, "SELECT @@group_replication_group_name")
    q(
        rx,
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER='root', "
        "SOURCE_PASSWORD=%s, "
        "SOURCE_AUTO_POSITION=1, SOURCE_CONNECTION_AUTO_FAILOVER=1, SOURCE_RETRY_COUNT=2, "
        "SOURCE_CONNECT_RETRY=1, "
        "SOURCE_SSL=1 FOR CHANNEL 'ch'",
        (p.host, p.port, ROOT_PASSWORD),
    )
    out = q1(
        rx,
        "SELECT asynchronous_connection_failover_add_managed('ch', 'GroupReplication', %s, %s, %s, "
        "'', 80, 60)",
        (group, p.host, p.port),
    )
    assert out == "The UDF asynchronous_connection_failover_add_managed() executed successfully."
    q(rx, "START REPLICA FOR CHANNEL 'ch'")

    def weights() -> dict[str, int] | None:
        rows = q(
            rx,
            "SELECT HOST, WEIGHT, MANAGED_NAME FROM "
            "performance_schema.replication_asynchronous_connection_failover WHERE CHANNEL_NAME = 'ch'",
        )
        got = {h: int(w) for h, w, _ in rows}
        return got if len(got) == 3 else None

    got = wait_until(weights, what="the managed source list")
    assert got == {ep.host: (80 if ep is p else 60) for ep in gr}
    managed = qd(rx, "SELECT * FROM performance_schema.replication_asynchronous_connection_failover_managed")
    assert len(managed) == 1
    assert managed[0]["MANAGED_TYPE"] == "GroupReplication" and managed[0]["MANAGED_NAME"] == group
    assert managed[0]["CONFIGURATION"].replace(" ", "") == '{"Primary_weight":80,"Secondary_weight":60}'
    wait_until(
        lambda: (
            q1(
                rx,
                "SELECT SERVICE_STATE FROM performance_schema.replication_connection_status "
                "WHERE CHANNEL_NAME = 'ch'",
            )
            == "ON"
        ),
        what="the channel to connect",
    )


def test_primary_failure_elects_new_primary_and_failover_follows(gr_world: Any, gr: list[Any]) -> None:
    """RM 20.1.3.1 'Single-Primary Mode' (primary election: highest group_replication_member_weight, then
    lowest server_uuid) and RM 19.4.9.2: when the primary dies, the survivors elect a new primary, which
    becomes writable, and the managed channel reconnects to the highest-weight source, the new primary."""
    rx = gr_world.member("rx", 0)
    old = current_primary(gr)
    survivors = [ep for ep in gr if ep is not old]
    weights = {ep.server_uuid: int(q1(ep, "SELECT @@group_replication_member_weight")) for ep in survivors}
    best = max(weights.values())
    expected = min(uuid for uuid, w in weights.items() if w == best)
    gr_world.ctl.kill(old.host)
    new = wait_until(
        lambda: next(
            (ep for ep in survivors if members(survivors[0]).get(ep.server_uuid, ("", ""))[1] == "PRIMARY"),
            None,
        ),
        timeout=60,
        what="a new primary",
    )
    assert new.server_uuid == expected
    wait_until(lambda: sro(new) == 0, what="new primary writable")
    q(new, "INSERT INTO app.t VALUES (940, 'after failover')")
    wait_until(
        lambda: (
            q1(
                rx,
                "SELECT HOST FROM performance_schema.replication_connection_configuration "
                "WHERE CHANNEL_NAME = 'ch'",
            )
            == new.host
            and q1(
                rx,
                "SELECT SERVICE_STATE FROM performance_schema.replication_connection_status "
                "WHERE CHANNEL_NAME = 'ch'",
            )
            == "ON"
        ),
        timeout=90,
        what="the channel to fail over to the new primary",
    )
    wait_until(
        lambda: q(rx, "SELECT v FROM app.t WHERE id = 940") == [("after failover",)],
        timeout=30,
        what="the row on the receiver",
    )


def test_restarted_member_rejoins_as_secondary(gr_world: Any, gr: list[Any]) -> None:
    """RM 20.9 group_replication_start_on_boot (set ON by MySQL Shell): a member that was killed and started
    again rejoins the group by itself, as a SECONDARY."""

    def alive(ep: Any) -> bool:
        try:
            return q1(ep, "SELECT 1", timeout=2) == 1
        except pymysql.MySQLError:
            return False

    dead = next(ep for ep in gr if not alive(ep))
    gr_world.ctl.start(dead.host)
    p = current_primary(gr)
    wait_state(p, dead, "ONLINE", timeout=90)
    assert members(p)[dead.server_uuid][1] == "SECONDARY"
    assert sro(dead) == 1


def test_delete_managed_empties_the_source_list(gr_world: Any) -> None:
    """RM 14.18.x asynchronous_connection_failover_delete_managed(channel, managed_name): removes the managed
    group and its sources."""
    rx = gr_world.member("rx", 0)
    group = q1(
        rx, "SELECT MANAGED_NAME FROM performance_schema.replication_asynchronous_connection_failover_managed"
    )
    out = q1(rx, "SELECT asynchronous_connection_failover_delete_managed('ch', %s)", (group,))
    assert out == "The UDF asynchronous_connection_failover_delete_managed() executed successfully."
    assert (
        q(rx, "SELECT * FROM performance_schema.replication_asynchronous_connection_failover_managed") == []
    )
    assert q(rx, "SELECT * FROM performance_schema.replication_asynchronous_connection_failover") == []


# --- leaving and joining ----------------------------------------------------------------------------------


def test_stop_group_replication_leaves_member_offline_and_read_only(gr: list[Any]) -> None:
    """RM 20.5.x 'STOP GROUP_REPLICATION': the member leaves; it sees itself OFFLINE, the others no longer
    list it; super_read_only stays ON on it (RM 20.9 group_replication_exit_state_action / stop behaviour)."""
    p = current_primary(gr)
    m = next(ep for ep in reversed(gr) if ep is not p)
    q(m, "STOP GROUP_REPLICATION")
    view = members(m)
    assert view.get(m.server_uuid, ("OFFLINE", ""))[0] == "OFFLINE"
    wait_until(lambda: m.server_uuid not in members(p), what="the others to drop the member")
    assert sro(m) == 1


def test_incremental_recovery_on_rejoin(gr_world: Any, gr: list[Any]) -> None:
    """RM 20.5.4.1 'Distributed Recovery': START GROUP_REPLICATION on a member that missed transactions
    fetches them from a donor's binary log (no clone when the gap is below
    group_replication_clone_threshold and the binlogs are there) and the member becomes ONLINE SECONDARY."""
    p = current_primary(gr)
    m = next(ep for ep in reversed(gr) if ep is not p)
    clones = clone_count(gr_world, m)
    q(p, "INSERT INTO app.t VALUES (903, 'missed')")
    executed = q1(p, "SELECT @@global.gtid_executed")
    q(m, "START GROUP_REPLICATION")
    wait_state(p, m, "ONLINE")
    wait_gtids(m, executed)
    assert q(m, "SELECT v FROM app.t WHERE id = 903") == [("missed",)]
    assert members(p)[m.server_uuid][1] == "SECONDARY"
    assert clone_count(gr_world, m) == clones


def test_start_group_replication_when_running_is_3093(gr: list[Any]) -> None:
    """Error reference ER_GROUP_REPLICATION_RUNNING 3093 (HY000) "The START GROUP_REPLICATION command failed
    since the group is already running."."""
    expect_sql_error(current_primary(gr), "START GROUP_REPLICATION", 3093, "HY000", r"already running")


def _ensure_clone_plugin(ep: Any) -> None:
    rows = q(ep, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME = 'clone'")
    if rows and rows[0][0] == "ACTIVE":
        return
    with session(ep) as conn:
        was = one(conn, "SELECT @@global.super_read_only")
        run(conn, "SET GLOBAL super_read_only = OFF")
        try:
            run(conn, "INSTALL PLUGIN clone SONAME 'mysql_clone.so'")
        finally:
            if was:
                run(conn, "SET GLOBAL super_read_only = ON")


def _rejoin_after_clone(gr_world: Any, gr: list[Any], m: Any, clones_before: int) -> None:
    """After a distributed-recovery clone the member restarts (RM 20.5.4.2: 'Group Replication restarts the
    joining member'); with group_replication_start_on_boot=OFF it must be started by hand."""
    wait_until(lambda: clone_count(gr_world, m) == clones_before + 1, timeout=90, what="one clone")

    def online_or_restart() -> bool:
        view = members(m)
        state = view.get(m.server_uuid, ("OFFLINE", ""))[0]
        if state == "OFFLINE" and q1(m, "SELECT @@group_replication_start_on_boot") == 0:
            q(m, "START GROUP_REPLICATION")
        seen = members(current_primary(gr))
        if seen.get(m.server_uuid, ("", ""))[0] != "ONLINE":
            raise AssertionError(f"group view {seen}, {m.name} sees {view}")
        return True

    wait_until(online_or_restart, timeout=90, interval=0.3, what=f"{m.name} ONLINE after clone")


def test_clone_recovery_when_gap_exceeds_clone_threshold(gr_world: Any, gr: list[Any]) -> None:
    """RM 20.5.4.2 'Cloning for Distributed Recovery', Threshold for Cloning: when the joiner's gap is larger
    than group_replication_clone_threshold, a remote clone is used; the member restarts and ends ONLINE with
    the data; its server_uuid is kept."""
    for ep in gr:
        _ensure_clone_plugin(ep)
    p = current_primary(gr)
    m = next(ep for ep in reversed(gr) if ep is not p)
    q(m, "STOP GROUP_REPLICATION")
    for i in range(3):
        q(p, "INSERT INTO app.t VALUES (%s, 'gap')", (910 + i,))
    executed = q1(p, "SELECT @@global.gtid_executed")
    clones = clone_count(gr_world, m)
    q(m, "SET GLOBAL group_replication_clone_threshold = 1")
    q(m, "START GROUP_REPLICATION")
    _rejoin_after_clone(gr_world, gr, m, clones)
    wait_gtids(m, executed)
    assert q1(m, "SELECT COUNT(*) FROM app.t WHERE id BETWEEN 910 AND 912") == 3
    assert q1(m, "SELECT @@server_uuid") == m.server_uuid


def test_clone_recovery_required_backup_admin(gr_world: Any, gr: list[Any]) -> None:
    """RM 20.5.4.2 (and seed 002): the recovery account must hold BACKUP_ADMIN on donors; without it the
    remote clone fails on the recipient (clone_status Failed); with it restored the clone succeeds."""
    p = current_primary(gr)
    m = next(ep for ep in gr if ep is not p)
    recovery_users = [
        r[0] for r in q(p, "SELECT User FROM mysql.user WHERE User LIKE 'mysql_innodb_cluster_%'")
    ]
    assert recovery_users, "the InnoDB Cluster has GR recovery accounts"
    q(m, "STOP GROUP_REPLICATION")
    for u in recovery_users:
        q(p, f"REVOKE BACKUP_ADMIN ON *.* FROM '{u}'@'%'")
    try:
        q(p, "INSERT INTO app.t VALUES (920, 'needs clone')")
        for donor in (ep for ep in gr if ep is not m):
            gr_world.ctl.purge_binary_logs(donor.host)
        clones = clone_count(gr_world, m)
        q(m, "START GROUP_REPLICATION")
        wait_until(
            lambda: q1(m, "SELECT STATE FROM performance_schema.clone_status") == "Failed",
            timeout=60,
            what="the clone attempt to fail",
        )
        err = qd(m, "SELECT ERROR_NO, ERROR_MESSAGE FROM performance_schema.clone_status")[0]
        assert "BACKUP_ADMIN" in err["ERROR_MESSAGE"]
        assert clone_count(gr_world, m) == clones
        q(m, "STOP GROUP_REPLICATION")
    finally:
        for u in recovery_users:
            q(p, f"GRANT BACKUP_ADMIN ON *.* TO '{u}'@'%'")
    clones = clone_count(gr_world, m)
    q(m, "START GROUP_REPLICATION")
    _rejoin_after_clone(gr_world, gr, m, clones)
    assert q(m, "SELECT v FROM app.t WHERE id = 920") == [("needs clone",)]


def test_clone_recovery_when_binlogs_purged(gr_world: Any, gr: list[Any]) -> None:
    """RM 20.5.4.2: Group Replication clones regardless of the threshold when the transactions the joiner
    needs are no longer in any member's binary log (judged from gtid_purged)."""
    p = current_primary(gr)
    m = next(ep for ep in reversed(gr) if ep is not p)
    q(m, "STOP GROUP_REPLICATION")
    q(m, "SET GLOBAL group_replication_clone_threshold = DEFAULT")
    q(p, "INSERT INTO app.t VALUES (930, 'purged')")
    for donor in (ep for ep in gr if ep is not m):
        gr_world.ctl.purge_binary_logs(donor.host)
    clones = clone_count(gr_world, m)
    q(m, "START GROUP_REPLICATION")
    _rejoin_after_clone(gr_world, gr, m, clones)
    assert q(m, "SELECT v FROM app.t WHERE id = 930") == [("purged",)]


def test_election_prefers_highest_member_weight(gr_world: Any, gr: list[Any]) -> None:
    """RM 20.1.3.1 'Single-Primary Mode' (election: lowest version first, then the highest
    group_replication_member_weight, then the lowest server_uuid): the member with the highest weight is
    elected when the primary fails."""
    old = current_primary(gr)
    others = [ep for ep in gr if ep is not old]
    favourite = max(others, key=lambda ep: ep.server_uuid)  # the one the UUID rule alone would not pick
    q(favourite, "SET GLOBAL group_replication_member_weight = 90")
    try:
        gr_world.ctl.kill(old.host)
        wait_until(
            lambda: members(favourite).get(favourite.server_uuid, ("", ""))[1] == "PRIMARY",
            timeout=60,
            what="the heaviest member to be elected",
        )
    finally:
        gr_world.ctl.start(old.host)
        q(favourite, "SET GLOBAL group_replication_member_weight = DEFAULT")
    wait_state(favourite, old, "ONLINE", timeout=90)


def test_loss_of_quorum_shows_unreachable_members(gr_world: Any, gr: list[Any]) -> None:
    """RM 20.7.8 'Handling a Network Partition and Loss of Quorum': when a majority is lost the survivor lists
    the others as UNREACHABLE and does not elect or expel on its own."""
    p = current_primary(gr)
    others = [ep for ep in gr if ep is not p]
    for ep in others:
        gr_world.ctl.kill(ep.host)
    try:
        wait_until(
            lambda: all(members(p).get(ep.server_uuid, ("", ""))[0] == "UNREACHABLE" for ep in others),
            timeout=60,
            what="UNREACHABLE members",
        )
        assert members(p)[p.server_uuid] == ("ONLINE", "PRIMARY")
    finally:
        for ep in others:
            gr_world.ctl.start(ep.host)
