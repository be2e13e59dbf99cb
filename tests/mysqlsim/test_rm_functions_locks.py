"""Issue 3, Build 7 (functions and locks): GTID_SUBSET, GTID_SUBTRACT, WAIT_FOR_EXECUTED_GTID_SET (RM 14.18.2
'Functions Used with Global Transaction Identifiers'), UUID(), NOW(n), FLUSH TABLES WITH READ LOCK / UNLOCK
TABLES (RM 15.7.8.3), KILL (RM 15.7.8.4), SELECT @@..., SHOW STATUS.

The GTID examples are the manual's own (RM 14.18.2), UUID 3E11FA47-71CA-11E1-9E33-C80AA9429562.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pymysql
import pytest
from rm_helpers import expect_error, expect_sql_error, one, q, q1, run, session, wait_until

U = "3E11FA47-71CA-11E1-9E33-C80AA9429562"
u = U.lower()


@pytest.fixture
def ep(world: Any) -> Any:
    return world.member("src", 0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (f"{U}:23", f"{U}:21-57", 1),
        (f"{U}:23-25", f"{U}:21-57", 1),
        (f"{U}:20-25", f"{U}:21-57", 0),
    ],
)
def test_gtid_subset_manual_examples(ep: Any, a: str, b: str, expected: int) -> None:
    """RM 14.18.2 GTID_SUBSET(set1, set2): the manual's three examples (1, 1, 0)."""
    assert q1(ep, "SELECT GTID_SUBSET(%s, %s)", (a, b)) == expected


def test_gtid_subset_null_argument(ep: Any) -> None:
    """RM 14.18.2: GTID_SUBSET returns NULL if either argument is NULL."""
    assert q1(ep, "SELECT GTID_SUBSET(NULL, %s)", (f"{U}:1",)) is None


def test_gtid_subset_empty_set_is_subset(ep: Any) -> None:
    """RM 14.18.2: the empty set is a subset of any set."""
    assert q1(ep, "SELECT GTID_SUBSET('', %s)", (f"{U}:1",)) == 1


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (f"{U}:21", f"{u}:22-57"),
        (f"{U}:20-25", f"{u}:26-57"),
        (f"{U}:23-24", f"{u}:21-22:25-57"),
    ],
)
def test_gtid_subtract_manual_examples(ep: Any, b: str, expected: str) -> None:
    """RM 14.18.2 GTID_SUBTRACT(set1, set2): the manual's examples on 3E11FA47-...:21-57 (output in lower
    case, intervals normalised)."""
    assert q1(ep, "SELECT GTID_SUBTRACT(%s, %s)", (f"{U}:21-57", b)) == expected


def test_gtid_subtract_empty_normalises(ep: Any) -> None:
    """RM 14.18.2 / adminapi spec §7: GTID_SUBTRACT(x, '') returns x normalised (sorted, merged intervals)."""
    assert q1(ep, "SELECT GTID_SUBTRACT(%s, '')", (f"{U}:5-7:1-4:9",)) == f"{u}:1-7:9"


def test_gtid_subtract_malformed_is_1772(ep: Any) -> None:
    """Error reference ER_MALFORMED_GTID_SET_SPECIFICATION 1772 (HY000) "Malformed GTID set specification
    'not-a-gtid'."."""
    expect_sql_error(
        ep,
        "SELECT GTID_SUBTRACT('not-a-gtid', '')",
        1772,
        "HY000",
        r"Malformed GTID set specification 'not-a-gtid'",
    )


def test_wait_for_executed_gtid_set_returns_0_when_executed(ep: Any) -> None:
    """RM 14.18.2 WAIT_FOR_EXECUTED_GTID_SET(gtid_set[, timeout]): returns 0 once every GTID in the set is in
    gtid_executed (immediately if already)."""
    assert q1(ep, "SELECT WAIT_FOR_EXECUTED_GTID_SET(@@global.gtid_executed, 1)") == 0


def test_wait_for_executed_gtid_set_times_out_with_1(ep: Any) -> None:
    """RM 14.18.2: with a timeout, returns 1 if the set was not executed within it."""
    t0 = time.monotonic()
    assert q1(ep, "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, 1)", (f"{U}:1000000",)) == 1
    assert time.monotonic() - t0 >= 0.9


def test_wait_for_executed_gtid_set_wakes_on_commit(ep: Any) -> None:
    """RM 14.18.2: the function waits until the GTIDs are committed, by whatever thread (here a client
    commit with gtid_next)."""
    gtid = "aaaaaaaa-bbbb-cccc-dddd-00000000000f:1"
    result: list[Any] = []

    def waiter() -> None:
        result.append(q1(ep, "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, 20)", (gtid,), read_timeout=30))

    th = threading.Thread(target=waiter)
    th.start()
    with session(ep) as conn:
        wait_until(
            lambda: any(
                "WAIT_FOR_EXECUTED_GTID_SET" in str(r[0]).upper()
                for r in run(conn, "SELECT INFO FROM information_schema.processlist WHERE INFO IS NOT NULL")
            ),
            what="waiter to be running",
        )
        run(conn, f"SET gtid_next = '{gtid}'")
        run(conn, "BEGIN")
        run(conn, "COMMIT")
        run(conn, "SET gtid_next = AUTOMATIC")
    th.join(30)
    assert result == [0]


def test_wait_for_executed_gtid_set_malformed_is_1772(ep: Any) -> None:
    """RM 14.18.2 / error reference: a malformed set is ER_MALFORMED_GTID_SET_SPECIFICATION 1772."""
    expect_sql_error(ep, "SELECT WAIT_FOR_EXECUTED_GTID_SET('garbage', 1)", 1772, "HY000")


def test_uuid_format_and_uniqueness(ep: Any) -> None:
    """RM 14.23 'Miscellaneous Functions' UUID(): a 36-character aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee string
    (version 1), different on each call."""
    a, b = q(ep, "SELECT UUID(), UUID()")[0]
    for v in (a, b):
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", v), v
    assert a != b


def test_now_with_fractional_seconds(ep: Any) -> None:
    """RM 14.7 'Date and Time Functions' NOW(fsp): fsp 0-6 gives that many fractional digits."""
    with session(ep) as conn:
        with conn.cursor(pymysql.cursors.Cursor) as cur:
            cur.execute("SELECT CAST(NOW(6) AS CHAR), CAST(NOW() AS CHAR)")
            six, zero = cur.fetchone()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", six), six
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", zero), zero


def test_now_precision_above_6_is_1426(ep: Any) -> None:
    """RM 14.7 NOW(fsp) / error reference ER_TOO_BIG_PRECISION 1426 (42000) "Too-big precision 7 specified for
    'now'. Maximum is 6."."""
    expect_sql_error(
        ep, "SELECT NOW(7)", 1426, "42000", r"Too-big precision 7 specified for 'now'. Maximum is 6"
    )


def test_select_several_system_variables(ep: Any) -> None:
    """RM 7.1.9 'Using System Variables': SELECT @@a, @@global.b, @@session.c in one statement."""
    row = q(
        ep,
        "SELECT @@server_uuid, @@global.gtid_mode, @@session.autocommit, @@GLOBAL.enforce_gtid_consistency",
    )
    assert row[0][0] == ep.server_uuid
    assert row[0][1] == "ON" and row[0][2] == 1 and row[0][3] == "ON"


def test_show_status_uptime_and_threads(ep: Any) -> None:
    """RM 7.1.10 'Server Status Variables' / 15.7.7.37 'SHOW STATUS': Uptime and Threads_connected."""
    status = dict(q(ep, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime', 'Threads_connected')"))
    assert int(status["Uptime"]) >= 0
    assert int(status["Threads_connected"]) >= 1


def test_flush_tables_with_read_lock_blocks_writes_until_unlock(ep: Any) -> None:
    """RM 15.7.8.3 'FLUSH TABLES WITH READ LOCK': other sessions' writes wait for the global read lock and
    fail with ER_LOCK_WAIT_TIMEOUT 1205 after lock_wait_timeout; after UNLOCK TABLES they succeed."""
    with session(ep) as locker, session(ep) as writer:
        run(locker, "FLUSH TABLES WITH READ LOCK")
        try:
            run(writer, "SET SESSION lock_wait_timeout = 1")
            expect_sql_error(
                writer,
                "INSERT INTO app.t VALUES (2001, 'ftwrl') ON DUPLICATE KEY UPDATE v = 'ftwrl'",
                1205,
                "HY000",
                r"^Lock wait timeout exceeded; try restarting transaction$",
            )
            assert run(writer, "SELECT COUNT(*) FROM app.t")[0][0] >= 1  # reads are allowed
        finally:
            run(locker, "UNLOCK TABLES")
        run(writer, "INSERT INTO app.t VALUES (2001, 'ftwrl') ON DUPLICATE KEY UPDATE v = 'ftwrl'")


def test_flush_tables_with_read_lock_waiter_proceeds_after_unlock(ep: Any) -> None:
    """RM 15.7.8.3: a write blocked by the global read lock proceeds as soon as UNLOCK TABLES releases it."""
    done: list[Any] = []
    with session(ep) as locker:
        run(locker, "FLUSH TABLES WITH READ LOCK")

        def write() -> None:
            done.append(q(ep, "INSERT INTO app.t VALUES (2002, 'w') ON DUPLICATE KEY UPDATE v = 'w'"))

        th = threading.Thread(target=write)
        th.start()
        wait_until(
            lambda: any(
                "2002" in str(r[0])
                for r in run(locker, "SELECT INFO FROM information_schema.processlist WHERE INFO IS NOT NULL")
            ),
            what="the blocked INSERT",
        )
        assert done == []
        run(locker, "UNLOCK TABLES")
        th.join(20)
    assert done == [[]]


def test_kill_connection_ends_other_session(ep: Any) -> None:
    """RM 15.7.8.4 'KILL Statement': KILL <id> ends that connection; its next statement fails with a
    connection error (the manual does not fix the client-side code: 2013 'Lost connection' or the server's
    ER_CLIENT_INTERACTION_TIMEOUT-like 4031 / ER_CONNECTION_KILLED 1927 are all seen in practice)."""
    with session(ep) as victim, session(ep) as killer:
        vid = one(victim, "SELECT CONNECTION_ID()")
        run(killer, f"KILL {vid}")
        expect_error(lambda: run(victim, "SELECT 1"), (2013, 2006, 1927, 4031, 0))


def test_kill_query_interrupts_a_wait(ep: Any) -> None:
    """RM 15.7.8.4: KILL QUERY ends the running statement but not the connection; an interrupted
    WAIT_FOR_EXECUTED_GTID_SET fails with ER_QUERY_INTERRUPTED 1317 (70100)."""
    errors: list[Any] = []
    with session(ep) as victim, session(ep) as killer:
        vid = one(victim, "SELECT CONNECTION_ID()")

        def wait() -> None:
            try:
                run(victim, "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, 30)", (f"{U}:999999",))
                errors.append(None)
            except pymysql.MySQLError as exc:
                errors.append(exc)

        th = threading.Thread(target=wait)
        th.start()
        wait_until(
            lambda: run(killer, "SELECT INFO FROM information_schema.processlist WHERE ID = %s", (vid,))[0][
                0
            ],
            what="the wait to be running",
        )
        run(killer, f"KILL QUERY {vid}")
        th.join(20)
        assert len(errors) == 1 and errors[0] is not None and errors[0].args[0] == 1317
        assert errors[0].sqlstate == "70100"
        assert one(victim, "SELECT 1") == 1


def test_kill_unknown_thread_is_1094(ep: Any) -> None:
    """RM 15.7.8.4: ER_NO_SUCH_THREAD 1094 (HY000) "Unknown thread id: 987654"."""
    expect_sql_error(ep, "KILL 987654", 1094, "HY000", r"^Unknown thread id: 987654$")


def test_kill_others_thread_without_privilege_is_1095(ep: Any) -> None:
    """RM 15.7.8.4: without CONNECTION_ADMIN (or SUPER) a user can kill only its own threads:
    ER_KILL_DENIED_ERROR 1095 (HY000) "You are not owner of thread N"."""
    user = "killer_nopriv"
    q(ep, f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 'pw'")
    try:
        with session(ep) as root_conn:
            rid = one(root_conn, "SELECT CONNECTION_ID()")
            expect_sql_error(
                ep,
                f"KILL {rid}",
                1095,
                "HY000",
                rf"^You are not owner of thread {rid}$",
                user=user,
                password="pw",
            )
    finally:
        q(ep, f"DROP USER '{user}'@'%'")


def test_wait_for_executed_gtid_set_negative_timeout_is_1210(ep: Any) -> None:
    """RM 14.18.2 WAIT_FOR_EXECUTED_GTID_SET: a negative timeout is an error (from 8.0.18), ER_WRONG_ARGUMENTS
    1210 (HY000) "Incorrect arguments to WAIT_FOR_EXECUTED_GTID_SET."."""
    expect_sql_error(
        ep,
        f"SELECT WAIT_FOR_EXECUTED_GTID_SET('{U}:1', -1)",
        1210,
        "HY000",
        r"^Incorrect arguments to WAIT_FOR_EXECUTED_GTID_SET",
    )
