"""Issue 3, Build 8 (world and faults): the control API kills, starts and restarts instances, partitions and
heals hosts and sites, slows links, stops a source, purges binary logs, injects errant transactions and runs a
write load; what the MySQL clients then see is judged by the manual (client error 2003 'Can't connect',
RM 20.7.8 'Handling a Network Partition and Loss of Quorum', RM 19.1.3 GTIDs, RM 17.18.2 'InnoDB Recovery').
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pymysql
import pytest
from rm_helpers import ROOT_PASSWORD, expect_error, q, q1, qd, wait_gtids, wait_until

MEMBERS_SQL = "SELECT MEMBER_ID, MEMBER_STATE, MEMBER_ROLE FROM performance_schema.replication_group_members"


@pytest.fixture(scope="module")
def fa(fault_world: Any) -> list[Any]:
    return list(fault_world.endpoints["fa"])


def members(ep: Any) -> dict[str, str]:
    return {r["MEMBER_ID"]: r["MEMBER_STATE"] for r in qd(ep, MEMBERS_SQL, timeout=3)}


def test_instance_state_matches_sql(fault_world: Any, fa: list[Any]) -> None:
    """Contract instance_state(host) against RM 19.1.6.5 / 7.1.8: server_uuid, gtid_executed, gtid_purged and
    super_read_only agree with what SQL reports; a GR member reports its state."""
    for ep in fa:
        st = fault_world.ctl.instance_state(ep.host)
        assert st["server_uuid"] == ep.server_uuid == q1(ep, "SELECT @@server_uuid")
        executed = q1(ep, "SELECT @@global.gtid_executed")
        assert (
            q1(
                ep,
                "SELECT GTID_SUBTRACT(%s, %s) = '' AND GTID_SUBTRACT(%s, %s) = ''",
                (st["gtid_executed"], executed, executed, st["gtid_executed"]),
            )
            == 1
        )
        assert bool(st["super_read_only"]) == bool(q1(ep, "SELECT @@global.super_read_only"))
        assert st["gr_state"] == "ONLINE"
        assert st["clone_count"] == fault_world.ctl.clone_count(ep.host) == 0
        assert isinstance(st["channels"], dict)


def test_killed_instance_refuses_connections_2003(fault_world: Any) -> None:
    """A killed server accepts no connections: the client reports CR_CONN_HOST_ERROR 2003 "Can't connect to
    MySQL server on ..." (RM B.3.2.2 'Can't connect to [local] MySQL server'); after start it serves again
    with the same server_uuid and its committed data (RM 17.18.2 'InnoDB Recovery')."""
    fb = fault_world.member("fb", 0)
    q(fb, "INSERT INTO app.t VALUES (77, 'durable')")
    fault_world.ctl.kill(fb.host)
    try:
        expect_error(lambda: q(fb, "SELECT 1", timeout=3), 2003)
    finally:
        fault_world.ctl.start(fb.host)
    wait_until(lambda: q1(fb, "SELECT @@server_uuid", timeout=2) == fb.server_uuid, what="fb back")
    assert q(fb, "SELECT v FROM app.t WHERE id = 77") == [("durable",)]


def test_persisted_settings_survive_restart_global_ones_do_not(fault_world: Any) -> None:
    """RM 7.1.9.3 'Persisted System Variables': at startup the server applies SET PERSIST and SET PERSIST_ONLY
    settings; a plain SET GLOBAL is lost at restart."""
    fc = fault_world.member("fc", 0)
    q(fc, "SET PERSIST max_connections = 177")
    q(fc, "SET PERSIST_ONLY lock_wait_timeout = 55")
    q(fc, "SET GLOBAL wait_timeout = 99")
    fault_world.ctl.restart(fc.host)
    wait_until(lambda: q1(fc, "SELECT 1", timeout=2) == 1, what="fc after restart")
    assert q1(fc, "SELECT @@global.max_connections") == 177
    assert q1(fc, "SELECT @@global.lock_wait_timeout") == 55
    assert q1(fc, "SELECT @@global.wait_timeout") == 28800
    q(fc, "RESET PERSIST")


def test_restart_drops_sessions_and_resets_uptime(fault_world: Any) -> None:
    """restart(host): existing sessions are cut (client error 2013 'Lost connection' or 2006 'server has gone
    away'); the server comes back with Uptime counted from the restart (RM 7.1.10 'Uptime')."""
    fb = fault_world.member("fb", 0)
    conn = pymysql.connect(host=fb.host, port=fb.port, user="root", password=ROOT_PASSWORD, autocommit=True)
    fault_world.ctl.restart(fb.host)

    def old_session_dead() -> Any:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")

    expect_error(old_session_dead, (2013, 2006, 0, 1053, 4031))
    wait_until(lambda: q1(fb, "SELECT 1", timeout=2) == 1, what="fb after restart")
    assert int(dict(q(fb, "SHOW GLOBAL STATUS LIKE 'Uptime'"))["Uptime"]) < 3600


def test_write_load_acknowledged_rows_exist(fault_world: Any, fa: list[Any]) -> None:
    """Contract write_load(host, count, table): every acknowledged write is committed on the primary and, once
    replicated, on the secondaries (RM 20.1.1 group replication)."""
    result = fault_world.ctl.write_load(fa[0].host, count=20, table="app.load")
    assert len(result["acknowledged"]) + len(result["failed"]) == 20
    assert len(result["acknowledged"]) == 20
    executed = q1(fa[0], "SELECT @@global.gtid_executed")
    ids = {r[0] for r in q(fa[0], "SELECT id FROM app.load")}
    assert set(result["acknowledged"]) <= ids
    wait_gtids(fa[2], executed)
    assert set(result["acknowledged"]) <= {r[0] for r in q(fa[2], "SELECT id FROM app.load")}


def test_write_load_on_secondary_fails(fault_world: Any, fa: list[Any]) -> None:
    """write_load against a super_read_only secondary: no write can be acknowledged (RM 7.1.8, error 1290)."""
    result = fault_world.ctl.write_load(fa[2].host, count=5, table="app.load")
    assert result["acknowledged"] == [] and len(result["failed"]) == 5


def test_partition_site_breaks_and_heal_restores_a_channel(fault_world: Any) -> None:
    """partition_site(site) then heal(): a replica whose source is cut off shows the channel CONNECTING with a
    connection error (RM 29.12.11.x replication_connection_status; client errors 2003/2005/2013), and after
    heal it reconnects (SOURCE_CONNECT_RETRY) and catches up."""
    fb = fault_world.member("fb", 0)
    fc = fault_world.member("fc", 0)
    q(
        fc,
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER='root', "
        "SOURCE_PASSWORD=%s, "
        "SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_RETRY_COUNT=86400 FOR CHANNEL 'f'",
        (fb.host, fb.port, ROOT_PASSWORD),
    )
    q(fc, "START REPLICA FOR CHANNEL 'f'")

    def state() -> dict[str, Any]:
        return qd(
            fc,
            "SELECT SERVICE_STATE, LAST_ERROR_NUMBER FROM performance_schema.replication_connection_status "
            "WHERE CHANNEL_NAME = 'f'",
        )[0]

    wait_until(lambda: state()["SERVICE_STATE"] == "ON", what="channel ON")
    fault_world.ctl.partition_site("fc")
    try:
        q(fb, "INSERT INTO app.t VALUES (79, 'during partition')")
        wait_until(
            lambda: state()["SERVICE_STATE"] == "CONNECTING" and state()["LAST_ERROR_NUMBER"] != 0,
            timeout=60,
            what="channel CONNECTING",
        )
    finally:
        fault_world.ctl.heal()
    wait_until(lambda: state()["SERVICE_STATE"] == "ON", timeout=60, what="channel ON after heal")
    wait_gtids(fc, q1(fb, "SELECT @@global.gtid_executed"))
    assert q(fc, "SELECT v FROM app.t WHERE id = 79") == [("during partition",)]


def test_stop_source_cuts_the_replica(fault_world: Any) -> None:
    """stop_source(host): the source stops serving replication connections; the replica's receiver reports a
    connection error and its SERVICE_STATE leaves ON (CONNECTING while it retries, RM 29.12.11.x)."""
    fb = fault_world.member("fb", 0)
    fc = fault_world.member("fc", 0)
    fault_world.ctl.stop_source(fb.host)

    def cut() -> bool:
        row = qd(
            fc,
            "SELECT SERVICE_STATE, LAST_ERROR_NUMBER FROM performance_schema.replication_connection_status "
            "WHERE CHANNEL_NAME = 'f'",
        )[0]
        if row["LAST_ERROR_NUMBER"] == 0:
            return False
        # RM 29.12.11.x: while the receiver retries, SERVICE_STATE is CONNECTING, not ON.
        assert row["SERVICE_STATE"] in ("CONNECTING", "OFF"), row
        return True

    try:
        wait_until(cut, timeout=60, what="a receiver error with the receiver not ON")
    finally:
        fault_world.ctl.restart(fb.host)


def test_killed_secondary_is_expelled_and_rejoins_after_start(fault_world: Any, fa: list[Any]) -> None:
    """RM 20.7.8 / 20.9 group_replication_member_expel_timeout: a member that dies is first UNREACHABLE for
    the others, then expelled (it disappears from their view); started again it rejoins by itself
    (group_replication_start_on_boot, set by MySQL Shell) and becomes ONLINE."""
    dead = fa[2]
    fault_world.ctl.kill(dead.host)
    try:
        wait_until(
            lambda: dead.server_uuid not in members(fa[0]), timeout=90, what="the member to be expelled"
        )
        assert members(fa[0])[fa[0].server_uuid] == "ONLINE"
    finally:
        fault_world.ctl.start(dead.host)
    wait_until(lambda: members(fa[0]).get(dead.server_uuid) == "ONLINE", timeout=90, what="rejoin")


def test_partition_minority_member_sees_others_unreachable(fault_world: Any, fa: list[Any]) -> None:
    """partition(hosts_a, hosts_b) within a group: RM 20.7.8 — the majority side (2 of 3) keeps a primary and
    reports the cut-off member UNREACHABLE (until it expels it); the minority member sees the others
    UNREACHABLE and cannot reach quorum."""
    cut = fa[2]
    rest = fa[:2]
    fault_world.ctl.partition([cut.host], [ep.host for ep in rest])
    try:
        wait_until(
            lambda: members(rest[0]).get(cut.server_uuid, "GONE") in ("UNREACHABLE", "GONE"),
            timeout=60,
            what="majority sees the member unreachable",
        )
        wait_until(
            lambda: (
                all(members(cut).get(ep.server_uuid) == "UNREACHABLE" for ep in rest)
                or members(cut).get(cut.server_uuid) == "ERROR"
            ),
            timeout=60,
            what="minority sees the others unreachable",
        )
        assert "ONLINE" in members(rest[0]).values()
    finally:
        fault_world.ctl.heal()


def test_slow_link_and_control_errors(fault_world: Any) -> None:
    """slow_link(site_a, site_b, latency_ms, bandwidth_mbit) is accepted for a declared pair of sites; an
    unknown host is a ControlError (the control API refuses rather than ignoring)."""
    from mysqlsim.testing import ControlError

    fault_world.ctl.slow_link("fa", "fb", latency_ms=50, bandwidth_mbit=10)
    with pytest.raises(ControlError):
        fault_world.ctl.kill("127.255.255.254")


def test_inject_errant_on_read_only_secondary(fault_world: Any, fa: list[Any]) -> None:
    """Contract inject_errant(host): the returned GTID is in that member's gtid_executed only (an errant
    transaction, RM 19.1.3 / adminapi spec 1.12), super_read_only is still ON there."""
    sec = fa[1]
    assert q1(sec, "SELECT @@global.super_read_only") == 1
    gtid = fault_world.ctl.inject_errant(sec.host)
    assert q1(sec, "SELECT GTID_SUBSET(%s, @@global.gtid_executed)", (gtid,)) == 1
    assert q1(fa[0], "SELECT GTID_SUBSET(%s, @@global.gtid_executed)", (gtid,)) == 0
    assert q1(sec, "SELECT @@global.super_read_only") == 1


def test_mysqlsim_ctl_cli_exists() -> None:
    """Issue 3 Build 8: `mysqlsim ctl ...` is the command-line form of the control API."""
    script = Path(sys.executable).with_name("mysqlsim")
    exe = str(script) if script.exists() else shutil.which("mysqlsim")
    if exe is None:
        pytest.skip("the mysqlsim console script is not installed in this environment")
    out = subprocess.run([exe, "ctl", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "kill" in out.stdout


def test_purge_binary_logs_makes_gtid_purged_equal_executed(fault_world: Any) -> None:
    """Contract purge_binary_logs(host), read with RM 19.1.6.5 'gtid_purged': afterwards gtid_purged =
    gtid_executed and SHOW BINARY LOGS lists one file."""
    fb = fault_world.member("fb", 0)
    q(fb, "INSERT INTO app.t VALUES (78, 'x')")
    fault_world.ctl.purge_binary_logs(fb.host)
    assert q1(fb, "SELECT GTID_SUBTRACT(@@global.gtid_executed, @@global.gtid_purged)") == ""
    assert len(q(fb, "SHOW BINARY LOGS")) == 1


def test_acknowledged_writes_survive_primary_failure(fault_world: Any, fa: list[Any]) -> None:
    """Contract write_load(...) -> acknowledged ids, read with RM 20.1.1 / 20.7 (a transaction committed in a
    group has been agreed by a majority): if the primary dies during a write load, every acknowledged write
    is present on the newly elected primary."""
    import threading

    old = next(
        ep
        for ep in fa
        if members(fa[0]).get(ep.server_uuid) == "ONLINE"
        and q1(
            ep,
            "SELECT MEMBER_ROLE FROM performance_schema.replication_group_members "
            "WHERE MEMBER_ID = @@server_uuid",
        )
        == "PRIMARY"
    )
    result: dict[str, Any] = {}

    def load() -> None:
        result.update(fault_world.ctl.write_load(old.host, count=400, table="app.ack"))

    th = threading.Thread(target=load)
    th.start()
    wait_until(lambda: q1(old, "SELECT COUNT(*) FROM app.ack", timeout=2) > 20, what="the load to start")
    fault_world.ctl.kill(old.host)
    th.join(120)
    try:
        assert len(result["acknowledged"]) + len(result["failed"]) == 400
        survivors = [ep for ep in fa if ep is not old]

        def new_primary() -> Any:
            for ep in survivors:
                view = qd(ep, MEMBERS_SQL, timeout=3)
                for r in view:
                    if (
                        r["MEMBER_ROLE"] == "PRIMARY"
                        and r["MEMBER_STATE"] == "ONLINE"
                        and r["MEMBER_ID"] != (old.server_uuid)
                    ):
                        return next(e for e in survivors if e.server_uuid == r["MEMBER_ID"])
            return None

        p = wait_until(new_primary, timeout=90, what="a new primary")
        present = {r[0] for r in q(p, "SELECT id FROM app.ack")}
        assert set(result["acknowledged"]) <= present
    finally:
        fault_world.ctl.start(old.host)
