"""Issue 3, Build 2-3 (data, GTIDs, binary log): schemas, tables, DML, transactions, GTID assignment,
gtid_next, sql_log_bin, PURGE BINARY LOGS, and SELECTs over performance_schema / information_schema /
mysql.* including joins (RM 13, 15.2, 19.1.3 'Replication with Global Transaction Identifiers', 19.1.6.5).
"""

from __future__ import annotations

from typing import Any

import pytest
from rm_helpers import expect_sql_error, one, q, q1, qd, run, session, unique, wait_gtids


@pytest.fixture
def solo(world: Any) -> Any:
    """A standalone server (GTIDs carry its own server_uuid)."""
    return world.member("src", 0)


def test_create_database_and_table_then_dml(solo: Any) -> None:
    """RM 15.1.12 'CREATE DATABASE', 15.1.20 'CREATE TABLE', 15.2.7 'INSERT', 15.2.17 'UPDATE', 15.2.2
    'DELETE': affected-row counts and the resulting rows."""
    db = unique("d")
    with session(solo) as conn:
        run(conn, f"CREATE DATABASE {db}")
        run(conn, f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))")
        with conn.cursor() as cur:
            assert cur.execute(f"INSERT INTO {db}.t VALUES (1,'a'),(2,'b'),(3,'c')") == 3
            assert cur.execute(f"UPDATE {db}.t SET v = 'z' WHERE id >= 2") == 2
            assert cur.execute(f"DELETE FROM {db}.t WHERE id = 1") == 1
        assert run(conn, f"SELECT id, v FROM {db}.t ORDER BY id") == [(2, "z"), (3, "z")]
        run(conn, f"DROP DATABASE {db}")


def test_create_existing_database_is_1007(solo: Any) -> None:
    """RM 15.1.12: ER_DB_CREATE_EXISTS 1007 (HY000) "Can't create database 'app'; database exists"."""
    expect_sql_error(
        solo, "CREATE DATABASE app", 1007, "HY000", r"^Can't create database 'app'; database exists$"
    )


def test_unknown_database_is_1049(solo: Any) -> None:
    """RM 15.8.4 'USE': ER_BAD_DB_ERROR 1049 (42000) "Unknown database 'nodb_x'"."""
    expect_sql_error(solo, "USE nodb_x", 1049, "42000", r"^Unknown database 'nodb_x'$")


def test_create_existing_table_is_1050(solo: Any) -> None:
    """RM 15.1.20: ER_TABLE_EXISTS_ERROR 1050 (42S01) "Table 't' already exists"."""
    expect_sql_error(solo, "CREATE TABLE app.t (id INT)", 1050, "42S01", r"^Table 't' already exists$")


def test_duplicate_key_is_1062(solo: Any) -> None:
    """RM 15.2.7 'INSERT': a duplicate primary key is ER_DUP_ENTRY 1062 (23000) "Duplicate entry '1' for key
    't.PRIMARY'" (8.0 qualifies the key with the table name)."""
    expect_sql_error(
        solo,
        "INSERT INTO app.t VALUES (1, 'dup')",
        1062,
        "23000",
        r"^Duplicate entry '1' for key 't.PRIMARY'$",
    )


def test_unknown_column_is_1054(solo: Any) -> None:
    """Error reference ER_BAD_FIELD_ERROR 1054 (42S22) "Unknown column 'nope' in 'field list'"."""
    expect_sql_error(
        solo, "SELECT nope FROM app.t", 1054, "42S22", r"^Unknown column 'nope' in 'field list'$"
    )


def test_rollback_discards_changes(solo: Any) -> None:
    """RM 15.3.1 'START TRANSACTION, COMMIT, and ROLLBACK': a rolled-back transaction leaves nothing behind
    and consumes no GTID (RM 19.1.3.1: GTIDs are assigned at commit)."""
    with session(solo) as conn:
        before = one(conn, "SELECT @@global.gtid_executed")
        run(conn, "START TRANSACTION")
        run(conn, "INSERT INTO app.t VALUES (1001, 'rb')")
        run(conn, "ROLLBACK")
        assert run(conn, "SELECT * FROM app.t WHERE id = 1001") == []
        assert one(conn, "SELECT @@global.gtid_executed") == before


def test_uncommitted_rows_invisible_to_other_sessions(solo: Any) -> None:
    """RM 17.7.2.1 'Transaction Isolation Levels' (REPEATABLE READ / READ COMMITTED): another session does
    not see uncommitted rows; after COMMIT it does."""
    with session(solo) as a, session(solo) as b:
        run(a, "BEGIN")
        run(a, "INSERT INTO app.t VALUES (1002, 'tx')")
        assert run(b, "SELECT v FROM app.t WHERE id = 1002") == []
        run(a, "COMMIT")
        assert run(b, "SELECT v FROM app.t WHERE id = 1002") == [("tx",)]


def test_commit_adds_exactly_one_gtid_with_server_uuid(solo: Any) -> None:
    """RM 19.1.3.1 'GTID Format and Storage': a committed transaction on a standalone server gets
    server_uuid:N, the next number; gtid_executed grows by exactly that GTID."""
    with session(solo) as conn:
        before = one(conn, "SELECT @@global.gtid_executed")
        run(conn, "INSERT INTO app.t VALUES (1003, 'g')")
        after = one(conn, "SELECT @@global.gtid_executed")
        new = one(conn, "SELECT GTID_SUBTRACT(%s, %s)", (after, before))
    uuid, _, rng = new.partition(":")
    assert uuid == solo.server_uuid.lower()
    assert rng.isdigit()


def test_select_does_not_consume_a_gtid(solo: Any) -> None:
    """RM 19.1.3.1: only transactions written to the binary log get GTIDs; a SELECT does not."""
    with session(solo) as conn:
        before = one(conn, "SELECT @@global.gtid_executed")
        run(conn, "SELECT * FROM app.t")
        assert one(conn, "SELECT @@global.gtid_executed") == before


def test_ddl_gets_its_own_gtid(solo: Any) -> None:
    """RM 19.1.3.1 / 15.3.3 'Statements That Cause an Implicit Commit': a DDL statement is a transaction of
    its own with its own GTID."""
    db = unique("ddl")
    with session(solo) as conn:
        before = one(conn, "SELECT @@global.gtid_executed")
        run(conn, f"CREATE DATABASE {db}")
        after = one(conn, "SELECT @@global.gtid_executed")
        new = one(conn, "SELECT GTID_SUBTRACT(%s, %s)", (after, before))
        run(conn, f"DROP DATABASE {db}")
    assert new.count(":") == 1 and "-" not in new.split(":")[1]


def test_sql_log_bin_zero_assigns_no_gtid(solo: Any) -> None:
    """RM 7.1.8 'sql_log_bin': with sql_log_bin=0 the session's changes are not binary-logged, so they get no
    GTID (RM 19.1.3.1)."""
    with session(solo) as conn:
        before = one(conn, "SELECT @@global.gtid_executed")
        run(conn, "SET SESSION sql_log_bin = 0")
        run(conn, "INSERT INTO app.t VALUES (1004, 'nolog')")
        assert one(conn, "SELECT @@global.gtid_executed") == before
        assert run(conn, "SELECT v FROM app.t WHERE id = 1004") == [("nolog",)]


def test_gtid_next_empty_transaction_adds_that_gtid(solo: Any) -> None:
    """RM 19.1.7.3 'Skipping Transactions' / 19.1.3.1: SET gtid_next='uuid:n'; BEGIN; COMMIT commits an empty
    transaction with that GTID, which then appears in gtid_executed."""
    gtid = "aaaaaaaa-bbbb-cccc-dddd-000000000001:7"
    with session(solo) as conn:
        run(conn, f"SET gtid_next = '{gtid}'")
        run(conn, "BEGIN")
        run(conn, "COMMIT")
        run(conn, "SET gtid_next = 'AUTOMATIC'")
        assert one(conn, "SELECT GTID_SUBSET(%s, @@global.gtid_executed)", (gtid,)) == 1


def test_gtid_next_must_be_reset_after_commit_1837(solo: Any) -> None:
    """RM 7.1.8 / 19.1.6.5 'gtid_next': after the transaction with the specified GTID commits, the next
    statement before setting gtid_next again fails with ER_GTID_NEXT_TYPE_UNDEFINED_GTID 1837."""
    gtid = "aaaaaaaa-bbbb-cccc-dddd-000000000001:8"
    with session(solo) as conn:
        run(conn, f"SET gtid_next = '{gtid}'")
        run(conn, "BEGIN")
        run(conn, "COMMIT")
        expect_sql_error(conn, "INSERT INTO app.t VALUES (1005, 'x')", 1837, "HY000", r"GTID_NEXT")
        run(conn, "SET gtid_next = 'AUTOMATIC'")


def test_gtid_executed_is_read_only(solo: Any) -> None:
    """RM 19.1.6.5 'gtid_executed': read-only (1238)."""
    expect_sql_error(solo, "SET GLOBAL gtid_executed = ''", 1238, "HY000", r"read only variable")


def test_gtid_purged_subset_of_gtid_executed(world: Any) -> None:
    """RM 19.1.6.5 'gtid_purged': gtid_purged is always a subset of gtid_executed."""
    for site in ("dc1", "src", "big"):
        ep = world.member(site, 0)
        assert q1(ep, "SELECT GTID_SUBSET(@@global.gtid_purged, @@global.gtid_executed)") == 1


def test_show_binary_logs_and_purge(world: Any) -> None:
    """RM 15.4.1.1 'PURGE BINARY LOGS' and 15.7.7.1 'SHOW BINARY LOGS': after FLUSH BINARY LOGS there are at
    least two files; PURGE BINARY LOGS TO the newest removes the older ones and their transactions move into
    gtid_purged."""
    ep = world.member("cln3", 0)
    with session(ep) as conn:
        run(conn, "CREATE DATABASE IF NOT EXISTS purgetest")
        run(conn, "FLUSH BINARY LOGS")
        logs = [r[0] for r in run(conn, "SHOW BINARY LOGS")]
        assert len(logs) >= 2
        run(conn, f"PURGE BINARY LOGS TO '{logs[-1]}'")
        assert [r[0] for r in run(conn, "SHOW BINARY LOGS")] == [logs[-1]]
        executed = one(conn, "SELECT @@global.gtid_executed")
        assert one(conn, "SELECT GTID_SUBSET(%s, @@global.gtid_purged)", (executed,)) == 1


def test_purge_to_unknown_log_is_an_error(world: Any) -> None:
    """RM 15.4.1.1: PURGE BINARY LOGS TO a file not in the index fails (ER_UNKNOWN_TARGET_BINLOG 1373 "Target
    log not found in binlog index")."""
    ep = world.member("cln3", 0)
    expect_sql_error(ep, "PURGE BINARY LOGS TO 'no-such-log.000999'", 1373, "HY000", r"Target log not found")


def test_show_master_status_reports_executed_gtid_set(solo: Any) -> None:
    """RM 15.7.7.23 'SHOW MASTER STATUS' (8.0; SHOW BINARY LOG STATUS from 8.2): File, Position and
    Executed_Gtid_Set, the latter equal to @@global.gtid_executed."""
    stmt = "SHOW MASTER STATUS" if solo.version.startswith("8.0") else "SHOW BINARY LOG STATUS"
    from rm_helpers import qd

    rows = qd(solo, stmt)
    assert rows and rows[0]["File"]
    executed = q1(solo, "SELECT @@global.gtid_executed")
    assert (
        q1(
            solo,
            "SELECT GTID_SUBTRACT(%s, %s) = '' AND GTID_SUBTRACT(%s, %s) = ''",
            (rows[0]["Executed_Gtid_Set"], executed, executed, rows[0]["Executed_Gtid_Set"]),
        )
        == 1
    )


def test_information_schema_lists_schemas_and_tables(primary: Any) -> None:
    """RM 28.3.31 'INFORMATION_SCHEMA SCHEMATA' and 28.3.38 'TABLES': the seeded schema and table are listed,
    with their columns in COLUMNS."""
    assert q(primary, "SELECT SCHEMA_NAME FROM information_schema.schemata WHERE SCHEMA_NAME = 'app'") == [
        ("app",)
    ]
    assert q(
        primary,
        "SELECT TABLE_NAME FROM information_schema.tables WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 't'",
    ) == [("t",)]
    cols = q(
        primary,
        "SELECT COLUMN_NAME FROM information_schema.columns WHERE TABLE_SCHEMA='app' AND TABLE_NAME='t' "
        "ORDER BY ORDINAL_POSITION",
    )
    assert cols == [("id",), ("v",)]


def test_join_across_performance_schema_tables(primary: Any) -> None:
    """Issue 3 Build 3 / RM 29.12.11 'Replication Tables': any SELECT, joins included, works over
    performance_schema; here replication_group_members joined with replication_group_member_stats."""
    rows = q(
        primary,
        "SELECT m.MEMBER_HOST, m.MEMBER_ROLE, s.COUNT_TRANSACTIONS_IN_QUEUE "
        "FROM performance_schema.replication_group_members m "
        "JOIN performance_schema.replication_group_member_stats s ON s.MEMBER_ID = m.MEMBER_ID "
        "ORDER BY m.MEMBER_ROLE",
    )
    assert len(rows) == 3
    assert rows[0][1] == "PRIMARY"


def test_join_between_mysql_and_information_schema(primary: Any) -> None:
    """Issue 3 Build 3: a join of mysql.user with information_schema.user_privileges (RM 28.3.46), grouped."""
    rows = q(
        primary,
        "SELECT u.User, COUNT(p.PRIVILEGE_TYPE) FROM mysql.user u "
        "JOIN information_schema.user_privileges p ON p.GRANTEE = CONCAT('''', u.User, '''@''', "
        "u.Host, '''') "
        "WHERE u.User = 'root' GROUP BY u.User",
    )
    assert rows and rows[0][0] == "root" and rows[0][1] > 10


def test_metadata_schema_describes_the_cluster(dc1: list[Any]) -> None:
    """Issue 3 Build 3 / adminapi spec §5 (MySQL Shell metadata 2.x): schema_version is 2.x; clusters has the
    cluster; v2_instances lists every member by server_uuid and address."""
    ep = dc1[0]
    major = q1(ep, "SELECT major FROM mysql_innodb_cluster_metadata.schema_version")
    assert major == 2
    assert q(ep, "SELECT cluster_name FROM mysql_innodb_cluster_metadata.clusters") == [("dc1",)]
    uuids = {r[0] for r in q(ep, "SELECT mysql_server_uuid FROM mysql_innodb_cluster_metadata.v2_instances")}
    assert uuids == {m.server_uuid for m in dc1}


def test_metadata_replicates_like_data(dc1: list[Any]) -> None:
    """Issue 3 Build 3: the metadata schema is ordinary replicated data, identical on every member."""
    rows = [
        q(ep, "SELECT cluster_id, cluster_name FROM mysql_innodb_cluster_metadata.clusters") for ep in dc1
    ]
    assert rows[0] == rows[1] == rows[2]


def test_v2_this_instance_is_per_member(dc1: list[Any]) -> None:
    """MySQL Shell metadata 2.x (adminapi spec §5): v2_this_instance (cluster_id, instance_id, cluster_name,
    cluster_type) returns, on each member, the v2_instances row whose mysql_server_uuid is @@server_uuid."""
    for ep in dc1:
        rows = qd(ep, "SELECT * FROM mysql_innodb_cluster_metadata.v2_this_instance")
        assert len(rows) == 1
        assert set(rows[0]) == {"cluster_id", "instance_id", "cluster_name", "cluster_type"}
        assert rows[0]["cluster_name"] == "dc1" and rows[0]["cluster_type"] == "gr"
        uuid = q1(
            ep,
            "SELECT mysql_server_uuid FROM mysql_innodb_cluster_metadata.v2_instances WHERE instance_id = %s",
            (rows[0]["instance_id"],),
        )
        assert uuid == ep.server_uuid


def test_write_on_primary_replicates_to_secondaries(dc1: list[Any]) -> None:
    """RM 20.1.1 'Group Replication Background': a transaction committed on the primary is applied on every
    member; WAIT_FOR_EXECUTED_GTID_SET on each secondary returns 0 for the primary's gtid_executed."""
    primary = dc1[0]
    key = 5000 + (unique("k").__hash__() % 1000)
    with session(primary) as conn:
        run(conn, "INSERT INTO app.t VALUES (%s, 'rep') ON DUPLICATE KEY UPDATE v = 'rep'", (key,))
        executed = one(conn, "SELECT @@global.gtid_executed")
    for ep in dc1[1:]:
        wait_gtids(ep, executed)
        assert q(ep, "SELECT v FROM app.t WHERE id = %s", (key,)) == [("rep",)]


def test_gtid_executed_text_form_with_several_uuids(solo: Any) -> None:
    """RM 19.1.3.1 'GTID Format and Storage' / 19.1.6.5: a GTID set with several UUIDs is printed with the
    UUID groups sorted and separated by a comma and a newline (", "), each with merged intervals."""
    with session(solo) as conn:
        for gtid in ("00000000-0000-0000-0000-0000000000a1:5", "00000000-0000-0000-0000-0000000000a1:6"):
            run(conn, f"SET gtid_next = '{gtid}'")
            run(conn, "BEGIN")
            run(conn, "COMMIT")
        run(conn, "SET gtid_next = 'AUTOMATIC'")
        executed = one(conn, "SELECT @@global.gtid_executed")
    assert ",\n" in executed
    groups = executed.split(",\n")
    assert groups == sorted(groups)
    assert "00000000-0000-0000-0000-0000000000a1:5-6" in groups


def test_sql_log_bin_zero_on_group_primary_is_not_replicated(dc1: list[Any]) -> None:
    """RM 7.1.8 'sql_log_bin' / RM 20.1.1: a change made with sql_log_bin=0 is not written to the binary log,
    so Group Replication does not send it to the other members."""
    primary = dc1[0]
    table = unique("local_only")
    with session(primary) as conn:
        run(conn, f"CREATE TABLE app.{table} (id INT PRIMARY KEY)")
        run(conn, "SET SESSION sql_log_bin = 0")
        run(conn, f"INSERT INTO app.{table} VALUES (1)")
        run(conn, "SET SESSION sql_log_bin = 1")
        run(conn, f"INSERT INTO app.{table} VALUES (2)")
        executed = one(conn, "SELECT @@global.gtid_executed")
    for ep in dc1[1:]:
        wait_gtids(ep, executed)
        assert q(ep, f"SELECT id FROM app.{table} ORDER BY id") == [(2,)]
    assert q(primary, f"SELECT id FROM app.{table} ORDER BY id") == [(1,), (2,)]


def test_metadata_stored_procedures_exist(primary: Any) -> None:
    """adminapi spec §5 (MySQL Shell metadata 2.x) via RM 28.3.30 'INFORMATION_SCHEMA ROUTINES': the v2_cs_*
    procedures the Shell calls are defined in mysql_innodb_cluster_metadata."""
    names = {
        r[0]
        for r in q(
            primary,
            "SELECT ROUTINE_NAME FROM information_schema.routines "
            "WHERE ROUTINE_SCHEMA = 'mysql_innodb_cluster_metadata' AND ROUTINE_TYPE = 'PROCEDURE'",
        )
    }
    for proc in (
        "v2_cs_created",
        "v2_cs_member_added",
        "v2_cs_member_removed",
        "v2_cs_primary_changed",
        "v2_cs_primary_force_changed",
        "v2_cs_add_invalidated_member",
        "v2_cs_member_rejoined",
    ):
        assert proc in names, proc
