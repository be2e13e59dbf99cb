"""Issue 3, Build 5 (asynchronous replication): CHANGE REPLICATION SOURCE TO ... FOR CHANNEL, START / STOP /
RESET REPLICA [ALL], GTID auto-positioning, authentication and TLS against the source, error 1236 when the
source purged what the replica needs, an apply lag, and the performance_schema replication tables
(RM 15.4.2 'SQL Statements for Controlling Replica Servers', RM 19.1.3 'Replication with GTIDs',
RM 29.12.11 'Performance Schema Replication Tables').

Site ``rep`` replicates from dc1's primary on channel 'c1' (tests run in file order); site ``rep2`` from
``src`` whose binary logs get purged.
"""

from __future__ import annotations

from typing import Any

import pytest
from rm_helpers import (
    ROOT_PASSWORD,
    expect_sql_error,
    q,
    q1,
    qd,
    wait_gtids,
    wait_until,
)


@pytest.fixture(scope="module")
def rep(world: Any) -> Any:
    return world.member("rep", 0)


def change_source(
    replica: Any, source: Any, channel: str, *, password: str = ROOT_PASSWORD, extra: str = ""
) -> None:
    q(
        replica,
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER='root', "
        "SOURCE_PASSWORD=%s, "
        f"SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_RETRY_COUNT=3{extra} FOR CHANNEL "
        f"'{channel}'",
        (source.host, source.port, password),
    )


def conn_status(replica: Any, channel: str) -> dict[str, Any]:
    rows = qd(
        replica,
        "SELECT * FROM performance_schema.replication_connection_status WHERE CHANNEL_NAME = %s",
        (channel,),
    )
    return rows[0] if rows else {}


def test_change_replication_source_creates_channel(rep: Any, primary: Any) -> None:
    """RM 15.4.2.2 'CHANGE REPLICATION SOURCE TO': the channel is created with its options, visible in
    replication_connection_configuration (HOST, PORT, USER, AUTO_POSITION, CONNECTION_RETRY_INTERVAL,
    CONNECTION_RETRY_COUNT) and replication_applier_configuration; its threads are not started."""
    change_source(rep, primary, "c1", extra=", SOURCE_SSL=1")
    row = qd(
        rep, "SELECT * FROM performance_schema.replication_connection_configuration WHERE CHANNEL_NAME='c1'"
    )[0]
    assert row["HOST"] == primary.host and int(row["PORT"]) == primary.port and row["USER"] == "root"
    assert row["AUTO_POSITION"] == 1
    assert int(row["CONNECTION_RETRY_INTERVAL"]) == 1 and int(row["CONNECTION_RETRY_COUNT"]) == 3
    assert row["SSL_ALLOWED"] == "YES"
    assert q(
        rep,
        "SELECT CHANNEL_NAME FROM performance_schema.replication_applier_configuration "
        "WHERE CHANNEL_NAME = 'c1'",
    ) == [("c1",)]
    assert conn_status(rep, "c1")["SERVICE_STATE"] == "OFF"


def test_start_replica_connects_and_applies_with_auto_position(rep: Any, primary: Any) -> None:
    """RM 15.4.2.6 'START REPLICA' and RM 19.1.3.3 'GTID Auto-Positioning': both threads start; the replica
    receives every transaction it lacks and applies it (the seeded rows arrive)."""
    q(rep, "START REPLICA FOR CHANNEL 'c1'")
    wait_until(lambda: conn_status(rep, "c1").get("SERVICE_STATE") == "ON", what="receiver ON")
    status = conn_status(rep, "c1")
    assert status["SOURCE_UUID"] == primary.server_uuid
    applier = q1(
        rep,
        "SELECT SERVICE_STATE FROM performance_schema.replication_applier_status WHERE CHANNEL_NAME = 'c1'",
    )
    assert applier == "ON"
    wait_gtids(rep, q1(primary, "SELECT @@global.gtid_executed"))
    assert q1(rep, "SELECT COUNT(*) FROM app.t WHERE id IN (1, 2, 3)") == 3


def test_show_replica_status_for_channel(rep: Any, primary: Any) -> None:
    """RM 15.7.7.35 'SHOW REPLICA STATUS': Replica_IO_Running and Replica_SQL_Running 'Yes', Source_Host,
    Source_Port, Auto_Position 1, Channel_Name."""
    row = qd(rep, "SHOW REPLICA STATUS FOR CHANNEL 'c1'")[0]
    assert row["Replica_IO_Running"] == "Yes" and row["Replica_SQL_Running"] == "Yes"
    assert row["Source_Host"] == primary.host and int(row["Source_Port"]) == primary.port
    assert int(row["Auto_Position"]) == 1 and row["Channel_Name"] == "c1"


def test_received_transaction_set_and_worker_last_applied(rep: Any, primary: Any) -> None:
    """RM 29.12.11.x replication_connection_status.RECEIVED_TRANSACTION_SET and
    replication_applier_status_by_worker.LAST_APPLIED_TRANSACTION: a new transaction on the source appears in
    both."""
    before = q1(primary, "SELECT @@global.gtid_executed")
    q(primary, "INSERT INTO app.t VALUES (3001, 'async') ON DUPLICATE KEY UPDATE v = 'async'")
    after = q1(primary, "SELECT @@global.gtid_executed")
    gtid = q1(primary, "SELECT GTID_SUBTRACT(%s, %s)", (after, before))
    wait_gtids(rep, gtid)
    received = conn_status(rep, "c1")["RECEIVED_TRANSACTION_SET"]
    assert q1(rep, "SELECT GTID_SUBSET(%s, %s)", (gtid, received.replace("\n", ""))) == 1
    applied = [
        r[0]
        for r in q(
            rep,
            "SELECT LAST_APPLIED_TRANSACTION FROM "
            "performance_schema.replication_applier_status_by_worker WHERE CHANNEL_NAME='c1'",
        )
    ]
    assert gtid in applied


def test_applier_coordinator_and_threads_tables(rep: Any) -> None:
    """RM 29.12.11.x replication_applier_status_by_coordinator (SERVICE_STATE ON while running) and
    RM 29.12.21.x performance_schema.threads (the receiver thread thread/sql/replica_io of 8.0.26+)."""
    assert (
        q1(
            rep,
            "SELECT SERVICE_STATE FROM performance_schema.replication_applier_status_by_coordinator "
            "WHERE CHANNEL_NAME = 'c1'",
        )
        == "ON"
    )
    names = {r[0] for r in q(rep, "SELECT NAME FROM performance_schema.threads")}
    assert "thread/sql/replica_io" in names and "thread/sql/replica_sql" in names


def test_super_read_only_does_not_block_the_applier(rep: Any, primary: Any) -> None:
    """RM 7.1.8 'super_read_only': replication applier threads are not affected; the replica stays read-only
    for clients (1290) and still applies."""
    q(rep, "SET GLOBAL super_read_only = ON")
    try:
        q(primary, "INSERT INTO app.t VALUES (3002, 'sro') ON DUPLICATE KEY UPDATE v = 'sro'")
        wait_gtids(rep, q1(primary, "SELECT @@global.gtid_executed"))
        assert q(rep, "SELECT v FROM app.t WHERE id = 3002") == [("sro",)]
        expect_sql_error(rep, "INSERT INTO app.t VALUES (3003, 'x')", 1290, "HY000", r"--super-read-only")
    finally:
        q(rep, "SET GLOBAL read_only = OFF")


def test_change_source_host_while_running_is_3021(rep: Any, primary: Any) -> None:
    """RM 15.4.2.2: SOURCE_HOST can be changed only while the receiver is stopped:
    ER_REPLICA_CHANNEL_IO_THREAD _MUST_STOP 3021 (HY000) "This operation cannot be performed with a running
    replica io thread; run STOP REPLICA IO_THREAD FOR CHANNEL 'c1' first."."""
    expect_sql_error(
        rep,
        f"CHANGE REPLICATION SOURCE TO SOURCE_HOST='{primary.host}' FOR CHANNEL 'c1'",
        3021,
        "HY000",
        r"running replica io thread; run STOP REPLICA IO_THREAD FOR CHANNEL 'c1' first",
    )


def test_apply_lag_delays_application_not_receipt(world: Any, rep: Any, primary: Any) -> None:
    """Issue 3 Build 5 (an apply lag that can be set) read with RM 14.18.2 WAIT_FOR_EXECUTED_GTID_SET: with a
    large lag the transaction is received (RECEIVED_TRANSACTION_SET) but not executed (the wait times out with
    1); once the lag is removed it is applied."""
    world.ctl.set_apply_lag(rep.host, 10**7)
    try:
        before = q1(primary, "SELECT @@global.gtid_executed")
        q(primary, "INSERT INTO app.t VALUES (3004, 'lag') ON DUPLICATE KEY UPDATE v = 'lag'")
        gtid = q1(primary, "SELECT GTID_SUBTRACT(@@global.gtid_executed, %s)", (before,))
        wait_until(
            lambda: (
                q1(
                    rep,
                    "SELECT GTID_SUBSET(%s, %s)",
                    (gtid, conn_status(rep, "c1")["RECEIVED_TRANSACTION_SET"].replace("\n", "")),
                )
                == 1
            ),
            what="the transaction to be received",
        )
        assert q1(rep, "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, 1)", (gtid,)) == 1
    finally:
        world.ctl.set_apply_lag(rep.host, 0)
    wait_gtids(rep, gtid)


def test_stop_replica_stops_both_threads(rep: Any) -> None:
    """RM 15.4.2.8 'STOP REPLICA': receiver and applier SERVICE_STATE become OFF; SHOW REPLICA STATUS
    says No."""
    q(rep, "STOP REPLICA FOR CHANNEL 'c1'")
    assert conn_status(rep, "c1")["SERVICE_STATE"] == "OFF"
    assert (
        q1(
            rep,
            "SELECT SERVICE_STATE FROM performance_schema.replication_applier_status "
            "WHERE CHANNEL_NAME = 'c1'",
        )
        == "OFF"
    )
    row = qd(rep, "SHOW REPLICA STATUS FOR CHANNEL 'c1'")[0]
    assert row["Replica_IO_Running"] == "No" and row["Replica_SQL_Running"] == "No"


def test_restart_resumes_from_gtid_position(rep: Any, primary: Any) -> None:
    """RM 19.1.3.3 'GTID Auto-Positioning': after a stop, START REPLICA fetches only what is missing; nothing
    is lost or applied twice."""
    q(primary, "INSERT INTO app.t VALUES (3005, 'while stopped') ON DUPLICATE KEY UPDATE v = 'while stopped'")
    q(rep, "START REPLICA FOR CHANNEL 'c1'")
    wait_gtids(rep, q1(primary, "SELECT @@global.gtid_executed"))
    assert q(rep, "SELECT v FROM app.t WHERE id = 3005") == [("while stopped",)]
    assert conn_status(rep, "c1")["LAST_ERROR_NUMBER"] == 0


def test_reset_replica_keeps_configuration(rep: Any, primary: Any) -> None:
    """RM 15.4.2.4 'RESET REPLICA': with the threads stopped, RESET REPLICA FOR CHANNEL keeps the connection
    configuration (host, port, user)."""
    q(rep, "STOP REPLICA FOR CHANNEL 'c1'")
    q(rep, "RESET REPLICA FOR CHANNEL 'c1'")
    rows = q(
        rep,
        "SELECT HOST, PORT FROM performance_schema.replication_connection_configuration "
        "WHERE CHANNEL_NAME = 'c1'",
    )
    assert rows == [(primary.host, primary.port)]


def test_reset_replica_all_deletes_channel(rep: Any) -> None:
    """RM 15.4.2.4: RESET REPLICA ALL FOR CHANNEL removes the channel and its configuration."""
    q(rep, "RESET REPLICA ALL FOR CHANNEL 'c1'")
    assert (
        q(
            rep,
            "SELECT * FROM performance_schema.replication_connection_configuration WHERE CHANNEL_NAME = 'c1'",
        )
        == []
    )
    assert conn_status(rep, "c1") == {}


def test_unknown_channel_is_3074(rep: Any) -> None:
    """Error reference ER_REPLICA_CHANNEL_DOES_NOT_EXIST 3074 (HY000) "Replica channel 'nope' does not exist."
    (8.0.26+ wording; 'Slave channel' before)."""
    expect_sql_error(rep, "START REPLICA FOR CHANNEL 'nope'", 3074, "HY000", r"channel 'nope' does not exist")
    expect_sql_error(rep, "STOP REPLICA FOR CHANNEL 'nope'", 3074, "HY000")


def test_wrong_source_password_shows_1045_in_connection_status(rep: Any, primary: Any) -> None:
    """RM 19.1.6.3 / 29.12.11.x: the receiver authenticates with the source's accounts; a wrong password
    leaves the channel CONNECTING with LAST_ERROR_NUMBER 1045 (access denied on the source)."""
    change_source(rep, primary, "badpw", password="wrong")
    q(rep, "START REPLICA FOR CHANNEL 'badpw'")
    try:
        st = wait_until(
            lambda: (s := conn_status(rep, "badpw")) and s["LAST_ERROR_NUMBER"] != 0 and s,
            what="the connection error",
        )
        assert st["LAST_ERROR_NUMBER"] == 1045
        assert "Access denied" in st["LAST_ERROR_MESSAGE"]
        assert st["SERVICE_STATE"] in ("CONNECTING", "OFF")
    finally:
        q(rep, "STOP REPLICA FOR CHANNEL 'badpw'")
        q(rep, "RESET REPLICA ALL FOR CHANNEL 'badpw'")


def test_source_ssl_verify_server_cert_with_simulator_ca(world: Any, rep: Any, primary: Any) -> None:
    """RM 19.3.1 'Setting Up Replication to Use Encrypted Connections': SOURCE_SSL=1 with SOURCE_SSL_CA and
    SOURCE_SSL_VERIFY_SERVER_CERT=1 connects when the source's certificate chains to the CA and names its
    host."""
    change_source(
        rep,
        primary,
        "tls",
        extra=f", SOURCE_SSL=1, SOURCE_SSL_CA='{world.ca_path}', SOURCE_SSL_VERIFY_SERVER_CERT=1",
    )
    q(rep, "START REPLICA FOR CHANNEL 'tls'")
    try:
        wait_until(lambda: conn_status(rep, "tls").get("SERVICE_STATE") == "ON", what="TLS channel ON")
    finally:
        q(rep, "STOP REPLICA FOR CHANNEL 'tls'")
        q(rep, "RESET REPLICA ALL FOR CHANNEL 'tls'")


def test_source_ssl_verify_fails_with_wrong_ca(tmp_path: Any, rep: Any, primary: Any) -> None:
    """RM 19.3.1: with SOURCE_SSL_VERIFY_SERVER_CERT=1 and a CA that did not sign the source's certificate the
    receiver cannot connect (client error CR_SSL_CONNECTION_ERROR 2026; the manual does not name the number
    for this case, so any non-zero error with SERVICE_STATE not ON is accepted, 2026 preferred)."""
    ca = tmp_path / "empty-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    change_source(
        rep, primary, "badca", extra=f", SOURCE_SSL=1, SOURCE_SSL_CA='{ca}', SOURCE_SSL_VERIFY_SERVER_CERT=1"
    )
    q(rep, "START REPLICA FOR CHANNEL 'badca'")
    try:
        st = wait_until(
            lambda: (s := conn_status(rep, "badca")) and s["LAST_ERROR_NUMBER"] != 0 and s,
            what="the TLS error",
        )
        assert st["LAST_ERROR_NUMBER"] == 2026
        assert st["SERVICE_STATE"] != "ON"
    finally:
        q(rep, "STOP REPLICA FOR CHANNEL 'badca'")
        q(rep, "RESET REPLICA ALL FOR CHANNEL 'badca'")


def test_purged_transactions_give_error_1236(world: Any) -> None:
    """RM 19.1.3.3 'GTID Auto-Positioning' / error reference: if the source has purged transactions the
    replica needs, the receiver stops with "Got fatal error 1236 from source when reading data from binary
    log: '... purged required binary logs ...'". The replica records it as LAST_ERROR_NUMBER 13114
    (ER_SERVER_SOURCE_FATAL_ERROR_READING_BINLOG, 8.0) — the manual is ambiguous between 1236 (the source's
    error) and 13114 (the replica's wrapper), so either is accepted; the text must carry 1236."""
    src = world.member("src", 0)
    rep2 = world.member("rep2", 0)
    q(src, "INSERT INTO app.t VALUES (4001, 'to purge') ON DUPLICATE KEY UPDATE v = 'to purge'")
    world.ctl.purge_binary_logs(src.host)
    assert q1(src, "SELECT GTID_SUBSET(@@global.gtid_executed, @@global.gtid_purged)") == 1
    change_source(rep2, src, "p")
    q(rep2, "START REPLICA FOR CHANNEL 'p'")
    st = wait_until(
        lambda: (s := conn_status(rep2, "p")) and s["LAST_ERROR_NUMBER"] != 0 and s, what="the 1236 error"
    )
    assert st["LAST_ERROR_NUMBER"] in (1236, 13114)
    assert "1236" in st["LAST_ERROR_MESSAGE"] and "purged" in st["LAST_ERROR_MESSAGE"]
    assert st["SERVICE_STATE"] == "OFF"


def test_auto_failover_requires_auto_position_3991(rep: Any, primary: Any) -> None:
    """RM 19.4.9.1 'Asynchronous Connection Failover for Sources': SOURCE_CONNECTION_AUTO_FAILOVER=1 needs
    GTID auto-positioning; without it CHANGE REPLICATION SOURCE fails with
    ER_RPL_ASYNC_RECONNECT_AUTO_POSITION_OFF 3991 (HY000)."""
    expect_sql_error(
        rep,
        f"CHANGE REPLICATION SOURCE TO SOURCE_HOST='{primary.host}', SOURCE_PORT={primary.port}, "
        "SOURCE_USER='root', SOURCE_AUTO_POSITION=0, SOURCE_CONNECTION_AUTO_FAILOVER=1 FOR CHANNEL 'af'",
        3991,
        "HY000",
        r"AUTO_POSITION",
    )


def test_unmanaged_failover_source_add_and_delete(rep: Any, primary: Any) -> None:
    """RM 14.18.x asynchronous_connection_failover_add_source(channel, host, port, network_namespace, weight)
    and _delete_source(channel, host, port, network_namespace): the source list of
    replication_asynchronous_connection_failover gains and loses the row (MANAGED_NAME empty); the channel
    shows SOURCE_CONNECTION_AUTO_FAILOVER=1 in replication_connection_configuration."""
    change_source(rep, primary, "af2", extra=", SOURCE_CONNECTION_AUTO_FAILOVER=1")
    try:
        out = q1(
            rep,
            "SELECT asynchronous_connection_failover_add_source('af2', %s, %s, '', 70)",
            (primary.host, primary.port),
        )
        assert out == "The UDF asynchronous_connection_failover_add_source() executed successfully."
        rows = q(
            rep,
            "SELECT HOST, PORT, WEIGHT, MANAGED_NAME FROM "
            "performance_schema.replication_asynchronous_connection_failover WHERE CHANNEL_NAME = 'af2'",
        )
        assert rows == [(primary.host, primary.port, 70, "")]
        cfg = q1(
            rep,
            "SELECT SOURCE_CONNECTION_AUTO_FAILOVER FROM "
            "performance_schema.replication_connection_configuration "
            "WHERE CHANNEL_NAME = 'af2'",
        )
        assert str(cfg) == "1"
        out = q1(
            rep,
            "SELECT asynchronous_connection_failover_delete_source('af2', %s, %s, '')",
            (primary.host, primary.port),
        )
        assert out == "The UDF asynchronous_connection_failover_delete_source() executed successfully."
        assert (
            q(
                rep,
                "SELECT * FROM performance_schema.replication_asynchronous_connection_failover "
                "WHERE CHANNEL_NAME = 'af2'",
            )
            == []
        )
    finally:
        q(rep, "RESET REPLICA ALL FOR CHANNEL 'af2'")


def test_show_replica_status_without_channel_lists_every_channel(rep: Any, primary: Any) -> None:
    """RM 15.7.7.35 'SHOW REPLICA STATUS': without FOR CHANNEL, one row per replication channel."""
    change_source(rep, primary, "s1")
    change_source(rep, primary, "s2")
    try:
        names = {r["Channel_Name"] for r in qd(rep, "SHOW REPLICA STATUS")}
        assert {"s1", "s2"} <= names
    finally:
        q(rep, "RESET REPLICA ALL FOR CHANNEL 's1'")
        q(rep, "RESET REPLICA ALL FOR CHANNEL 's2'")


def test_applier_error_stops_the_applier_and_is_reported(world: Any, primary: Any) -> None:
    """RM 19.1.7.1 'Checking Replication Status' / 29.12.11.x replication_applier_status_by_worker: when a
    transaction cannot be applied (here CREATE DATABASE app on a replica that already has it,
    ER_DB_CREATE_EXISTS 1007) the applier stops: the worker shows LAST_ERROR_NUMBER 1007 and the applier
    SERVICE_STATE is OFF, while the receiver stays ON."""
    rep3 = world.member("rep3", 0)
    q(rep3, "CREATE DATABASE app")
    change_source(rep3, primary, "e")
    q(rep3, "START REPLICA FOR CHANNEL 'e'")

    def failed() -> dict[str, Any] | None:
        rows = qd(
            rep3,
            "SELECT LAST_ERROR_NUMBER, LAST_ERROR_MESSAGE FROM "
            "performance_schema.replication_applier_status_by_worker WHERE CHANNEL_NAME = 'e' "
            "AND LAST_ERROR_NUMBER <> 0",
        )
        return rows[0] if rows else None

    row = wait_until(failed, what="the applier error")
    assert row["LAST_ERROR_NUMBER"] == 1007
    wait_until(
        lambda: (
            q1(
                rep3,
                "SELECT SERVICE_STATE FROM performance_schema.replication_applier_status "
                "WHERE CHANNEL_NAME = 'e'",
            )
            == "OFF"
        ),
        what="the applier to stop",
    )
    assert conn_status(rep3, "e")["SERVICE_STATE"] == "ON"
    st = qd(rep3, "SHOW REPLICA STATUS FOR CHANNEL 'e'")[0]
    assert st["Replica_SQL_Running"] == "No" and int(st["Last_SQL_Errno"]) == 1007


def test_receiver_gives_up_after_source_retry_count(rep: Any, primary: Any) -> None:
    """RM 15.4.2.2 SOURCE_CONNECT_RETRY / SOURCE_RETRY_COUNT: a receiver that cannot reach its source retries
    SOURCE_RETRY_COUNT times, SOURCE_CONNECT_RETRY seconds apart, then stops; the last error is the client's
    CR_CONN_HOST_ERROR 2003 "Can't connect to MySQL server on ..."."""
    q(
        rep,
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=3399, SOURCE_USER='root', "
        "SOURCE_PASSWORD='x', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_RETRY_COUNT=2 "
        "FOR CHANNEL 'retry'",
        (primary.host,),
    )
    q(rep, "START REPLICA FOR CHANNEL 'retry'")
    try:
        st = wait_until(
            lambda: (s := conn_status(rep, "retry")) and s["SERVICE_STATE"] == "OFF" and s,
            timeout=60,
            what="the receiver to give up",
        )
        assert st["LAST_ERROR_NUMBER"] == 2003
        assert "Can't connect to MySQL server" in st["LAST_ERROR_MESSAGE"]
    finally:
        q(rep, "STOP REPLICA FOR CHANNEL 'retry'")
        q(rep, "RESET REPLICA ALL FOR CHANNEL 'retry'")
