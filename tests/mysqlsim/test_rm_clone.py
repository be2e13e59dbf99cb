"""Issue 3, Build 6 (CLONE INSTANCE FROM): preconditions and their errors, clone_status and clone_progress,
data and GTIDs replaced by the donor's with server_uuid kept, the restart, KILL QUERY cancellation
(MySQL 8.0 RM 7.6.7 'The Clone Plugin': 7.6.7.3 'Cloning Remote Data', 7.6.7.9 'Remote Cloning Operation
Failure Handling', 7.6.7.10 'Monitoring Cloning Operations', 7.6.7.14 'Clone Plugin Limitations';
RM 15.7.5 'CLONE Statement'; error reference ER_CLONE_* 3862-3875).

Recipients: ``cln`` (a full clone from dc1), ``cln2`` (slow clones from ``big``, 2 TB at 1 Gbit/s),
``cln3`` (precondition errors only), ``v84`` (version mismatch).
"""

from __future__ import annotations

import threading
from typing import Any

import pymysql
import pytest
from rm_helpers import (
    ROOT_PASSWORD,
    connect,
    expect_sql_error,
    one,
    q,
    q1,
    qd,
    run,
    session,
    unique,
    wait_until,
)

STAGES = ["DROP DATA", "FILE COPY", "PAGE COPY", "REDO COPY", "FILE SYNC", "RESTART", "RECOVERY"]


def ensure_clone_plugin(ep: Any) -> None:
    """INSTALL PLUGIN clone (RM 7.6.7.1 'Installing the Clone Plugin'), with super_read_only lifted around it
    on a read-only member (RM 7.1.8: super_read_only blocks INSTALL PLUGIN)."""
    rows = q(ep, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME = 'clone'")
    if rows and rows[0][0] == "ACTIVE":
        return
    with session(ep) as conn:
        was = one(conn, "SELECT @@global.super_read_only")
        if was:
            run(conn, "SET GLOBAL super_read_only = OFF")
        try:
            run(conn, "INSTALL PLUGIN clone SONAME 'mysql_clone.so'")
        finally:
            if was:
                run(conn, "SET GLOBAL super_read_only = ON")


def clone_sql(donor: Any, user: str = "root", password: str = ROOT_PASSWORD) -> str:
    return f"CLONE INSTANCE FROM '{user}'@'{donor.host}':{donor.port} IDENTIFIED BY '{password}'"


def set_donor_list(recipient: Any, *donors: Any) -> None:
    q(recipient, "SET GLOBAL clone_valid_donor_list = %s", (",".join(f"{d.host}:{d.port}" for d in donors),))


def run_clone(recipient: Any, donor: Any, **kw: Any) -> None:
    """Issue CLONE INSTANCE and wait for the recipient to come back. The manual says the server restarts after
    a successful clone (RM 7.6.7.3); whether the client then sees OK or a lost connection is not specified,
    so both are accepted; clone_status decides."""
    try:
        q(recipient, clone_sql(donor, **kw), read_timeout=600)
    except pymysql.err.OperationalError as exc:
        if exc.args[0] not in (2013, 2006, 1053, 0):
            raise
    wait_until(
        lambda: q1(recipient, "SELECT STATE FROM performance_schema.clone_status", timeout=2) == "Completed",
        timeout=120,
        interval=0.2,
        what=f"clone into {recipient.name} to complete",
    )


@pytest.fixture(scope="module")
def donor(world: Any) -> Any:
    d = world.member("dc1", 1)
    for ep in world.endpoints["dc1"]:
        ensure_clone_plugin(ep)
    return d


@pytest.fixture(scope="module")
def cln3(world: Any) -> Any:
    return world.member("cln3", 0)


# --- preconditions ----------------------------------------------------------------------------------------


def test_clone_without_plugin_is_1524(donor: Any, cln3: Any) -> None:
    """RM 15.7.5 'CLONE Statement': "To use CLONE syntax, the clone plugin must be installed"; without it
    ER_PLUGIN_IS_NOT_LOADED 1524 (HY000) "Plugin 'clone' is not loaded"."""
    if q(cln3, "SELECT * FROM information_schema.plugins WHERE PLUGIN_NAME = 'clone'"):
        q(cln3, "UNINSTALL PLUGIN clone")
    expect_sql_error(cln3, clone_sql(donor), 1524, "HY000", r"^Plugin 'clone' is not loaded$")


def test_clone_needs_clone_admin_1227(donor: Any, cln3: Any) -> None:
    """RM 7.6.7.3 'Cloning Remote Data', required privileges: the recipient session needs CLONE_ADMIN, else
    ER_SPECIFIC_ACCESS_DENIED_ERROR 1227 (42000) "...the CLONE_ADMIN privilege(s) for this operation"."""
    ensure_clone_plugin(cln3)
    user = unique("noclone")
    q(cln3, f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
    try:
        expect_sql_error(
            cln3,
            clone_sql(donor),
            1227,
            "42000",
            r"^Access denied; you need \(at least one of\) the CLONE_ADMIN privilege\(s\) for this "
            r"operation$",
            user=user,
            password="pw",
        )
    finally:
        q(cln3, f"DROP USER '{user}'@'%'")


def test_donor_not_in_valid_donor_list_is_3869(donor: Any, cln3: Any) -> None:
    """RM 7.6.7.3 (remote cloning prerequisites: the donor host must be in clone_valid_donor_list) / error
    reference ER_CLONE_SYS_CONFIG 3869 (HY000) "Clone system configuration: h:p is not found in
    clone_valid_donor_list: "."""
    ensure_clone_plugin(cln3)
    q(cln3, "SET GLOBAL clone_valid_donor_list = ''")
    expect_sql_error(
        cln3,
        clone_sql(donor),
        3869,
        "HY000",
        rf"^Clone system configuration: {donor.host}:{donor.port} is not found in clone_valid_donor_list: ",
    )


def test_donor_user_without_backup_admin_is_3862(world: Any, donor: Any, cln3: Any) -> None:
    """RM 7.6.7.3: the donor account needs BACKUP_ADMIN; the recipient reports the donor's refusal as
    ER_CLONE_DONOR 3862 "Clone Donor Error: 1227 : Access denied; you need (at least one of) the BACKUP_ADMIN
    privilege(s) for this operation."."""
    ensure_clone_plugin(cln3)
    user = unique("nobackup")
    p = world.member("dc1", 0)
    q(p, f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
    try:
        wait_until(
            lambda: q(donor, "SELECT 1 FROM mysql.user WHERE User = %s", (user,)), what="user replicated"
        )
        set_donor_list(cln3, donor)
        expect_sql_error(
            cln3,
            clone_sql(donor, user=user, password="pw"),
            3862,
            "HY000",
            r"^Clone Donor Error: 1227 : Access denied; you need \(at least one of\) the BACKUP_ADMIN "
            r"privilege",
        )
    finally:
        q(p, f"DROP USER '{user}'@'%'")


def test_wrong_donor_password_is_3862_connect_failed(donor: Any, cln3: Any) -> None:
    """RM 7.6.7.3 / error reference ER_CLONE_DONOR 3862: a failed connection to the donor is reported as
    "Clone Donor Error: Connect failed: 1045 : Access denied for user ..."."""
    ensure_clone_plugin(cln3)
    set_donor_list(cln3, donor)
    expect_sql_error(
        cln3,
        clone_sql(donor, password="wrong"),
        3862,
        "HY000",
        r"^Clone Donor Error: Connect failed: 1045 : Access denied for user 'root'@",
    )


def test_version_mismatch_is_3864(world: Any, donor: Any) -> None:
    """RM 7.6.7.14 'Clone Plugin Limitations': an instance cannot be cloned from a different MySQL server
    series (8.0 vs 8.4): ER_CLONE_DONOR_VERSION 3864 "Clone Donor MySQL version: 8.0.36 is different from
    Recipient MySQL version 8.4.3."."""
    v84 = world.member("v84", 0)
    ensure_clone_plugin(v84)
    set_donor_list(v84, donor)
    expect_sql_error(
        v84,
        clone_sql(donor),
        3864,
        "HY000",
        r"Clone Donor MySQL version: 8\.0\.36 is different from Recipient MySQL version 8\.4\.3",
    )


def test_clone_into_running_group_member_is_3875(world: Any, donor: Any) -> None:
    """RM 20.5.4.2 'Cloning for Other Purposes': a user clone that replaces data on a member where Group
    Replication is running is refused: ER_CLONE_DISALLOWED 3875 "The clone operation cannot be executed when
    Group Replication is running."."""
    member = world.member("dc1", 2)
    ensure_clone_plugin(member)
    expect_sql_error(
        member,
        clone_sql(donor),
        3875,
        "HY000",
        r"The clone operation cannot be executed when Group Replication is running",
    )


def test_donor_plugin_missing_on_recipient_is_3870(donor: Any, cln3: Any) -> None:
    """RM 7.6.7.3 prerequisites: plugins active on the donor must be active on the recipient; the donor runs
    group_replication, so a recipient without it fails with ER_CLONE_PLUGIN_MATCH 3870 "Clone Donor plugin
    group_replication is not active in Recipient."."""
    ensure_clone_plugin(cln3)
    if q(cln3, "SELECT * FROM information_schema.plugins WHERE PLUGIN_NAME = 'group_replication'"):
        q(cln3, "UNINSTALL PLUGIN group_replication")
    set_donor_list(cln3, donor)
    expect_sql_error(
        cln3,
        clone_sql(donor),
        3870,
        "HY000",
        r"^Clone Donor plugin group_replication is not active in Recipient",
    )


# --- a full clone -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cloned(world: Any, donor: Any) -> dict[str, Any]:
    """Clone dc1 (member 1) into cln once; record what the tests compare."""
    cln = world.member("cln", 0)
    p = world.member("dc1", 0)
    ensure_clone_plugin(cln)
    for ep in (cln,):
        rows = q(ep, "SELECT * FROM information_schema.plugins WHERE PLUGIN_NAME = 'group_replication'")
        if not rows:
            q(ep, "INSTALL PLUGIN group_replication SONAME 'group_replication.so'")
    q(cln, "CREATE DATABASE IF NOT EXISTS recipient_only")
    q(cln, "SET PERSIST max_connections = 171")
    donor_user = unique("donoruser")
    q(p, f"CREATE USER '{donor_user}'@'%' IDENTIFIED BY 'pw'")
    q(p, "INSERT INTO app.t VALUES (6001, 'before clone') ON DUPLICATE KEY UPDATE v = 'before clone'")
    executed = q1(p, "SELECT @@global.gtid_executed")
    wait_until(
        lambda: q1(donor, "SELECT GTID_SUBSET(%s, @@global.gtid_executed)", (executed,)) == 1,
        what="donor caught up",
    )
    set_donor_list(cln, donor)
    before = {
        "uuid": q1(cln, "SELECT @@server_uuid"),
        "server_id": q1(cln, "SELECT @@server_id"),
        "clones": world.ctl.clone_count(cln.host),
    }
    run_clone(cln, donor)
    return {
        "cln": cln,
        "donor_user": donor_user,
        "executed": q1(donor, "SELECT @@global.gtid_executed"),
        **before,
    }


def test_clone_status_completed(cloned: dict[str, Any], donor: Any) -> None:
    """RM 7.6.7.10 / 29.12.19.1 'The clone_status Table': one row, STATE Completed, SOURCE donor host:port,
    ERROR_NO 0, BEGIN_TIME and END_TIME set, GTID_EXECUTED the donor's set at the clone point (RM 7.6.7.7
    'Cloning for Replication' reads it from there)."""
    rows = qd(cloned["cln"], "SELECT * FROM performance_schema.clone_status")
    assert len(rows) == 1
    row = rows[0]
    assert row["STATE"] == "Completed"
    assert row["SOURCE"] == f"{donor.host}:{donor.port}"
    assert int(row["ERROR_NO"]) == 0
    assert row["BEGIN_TIME"] is not None and row["END_TIME"] is not None
    gtids = str(row["GTID_EXECUTED"]).replace("\n", "")
    assert (
        q1(
            cloned["cln"],
            "SELECT GTID_SUBTRACT(%s, %s) = '' AND GTID_SUBTRACT(%s, %s) = ''",
            (gtids, cloned["executed"], cloned["executed"], gtids),
        )
        == 1
    )


def test_clone_progress_seven_stages_completed(cloned: dict[str, Any]) -> None:
    """RM 7.6.7.10 / 29.12.19.2 'The clone_progress Table': the stages DROP DATA, FILE COPY, PAGE COPY, REDO
    COPY, FILE SYNC, RESTART, RECOVERY, in that order, each Completed after a successful clone."""
    rows = q(cloned["cln"], "SELECT STAGE, STATE FROM performance_schema.clone_progress")
    assert [r[0] for r in rows] == STAGES
    assert all(r[1] == "Completed" for r in rows)


def test_clone_replaces_data(cloned: dict[str, Any]) -> None:
    """RM 7.6.7.3: without DATA DIRECTORY the recipient's user-created data is removed and replaced by the
    donor's."""
    cln = cloned["cln"]
    assert (
        q(cln, "SELECT SCHEMA_NAME FROM information_schema.schemata WHERE SCHEMA_NAME = 'recipient_only'")
        == []
    )
    assert q(cln, "SELECT v FROM app.t WHERE id = 6001") == [("before clone",)]


def test_clone_copies_gtid_state(cloned: dict[str, Any]) -> None:
    """RM 7.6.7.7 'Cloning for Replication': after the clone the recipient's gtid_executed is the donor's at
    the clone point; binary logs are not cloned (RM 7.6.7.14), so gtid_purged equals gtid_executed."""
    cln = cloned["cln"]
    executed = q1(cln, "SELECT @@global.gtid_executed")
    assert (
        q1(
            cln,
            "SELECT GTID_SUBTRACT(%s, %s) = '' AND GTID_SUBTRACT(%s, %s) = ''",
            (executed, cloned["executed"], cloned["executed"], executed),
        )
        == 1
    )
    assert q1(cln, "SELECT GTID_SUBTRACT(@@global.gtid_executed, @@global.gtid_purged)") == ""


def test_clone_keeps_server_uuid_and_server_id(cloned: dict[str, Any]) -> None:
    """RM 7.6.7.14 'Clone Plugin Limitations' (configuration is not cloned; auto.cnf is not cloned):
    server_uuid and server_id stay the recipient's."""
    cln = cloned["cln"]
    assert q1(cln, "SELECT @@server_uuid") == cloned["uuid"] == cln.server_uuid
    assert q1(cln, "SELECT @@server_id") == cloned["server_id"]


def test_clone_copies_accounts(cloned: dict[str, Any]) -> None:
    """RM 7.6.7 'The Clone Plugin': the mysql schema (accounts) is cloned; an account created on the donor can
    log in on the recipient."""
    assert q1(cloned["cln"], "SELECT CURRENT_USER()", user=cloned["donor_user"], password="pw") == (
        f"{cloned['donor_user']}@%"
    )


def test_clone_keeps_recipient_persisted_variables(cloned: dict[str, Any]) -> None:
    """RM 7.6.7.14: "The recipient MySQL server instance retains its configuration, including persisted system
    variable settings"."""
    cln = cloned["cln"]
    rows = q(
        cln,
        "SELECT VARIABLE_VALUE FROM performance_schema.persisted_variables "
        "WHERE VARIABLE_NAME = 'max_connections'",
    )
    assert rows == [("171",)]
    assert q1(cln, "SELECT @@global.max_connections") == 171


def test_clone_restarts_the_recipient_once(world: Any, cloned: dict[str, Any]) -> None:
    """RM 7.6.7.3: after the data is cloned the recipient restarts (here by its supervisor); the control API's
    clone_count counts exactly one CLONE that reached RUNNING, and Uptime restarted."""
    cln = cloned["cln"]
    assert world.ctl.clone_count(cln.host) == cloned["clones"] + 1
    uptime = dict(q(cln, "SHOW GLOBAL STATUS LIKE 'Uptime'"))["Uptime"]
    assert int(uptime) >= 0


# --- progress over time, cancellation, concurrency (slow donor) --------------------------------------------


@pytest.fixture(scope="module")
def slow(world: Any) -> tuple[Any, Any]:
    big = world.member("big", 0)
    cln2 = world.member("cln2", 0)
    ensure_clone_plugin(big)
    ensure_clone_plugin(cln2)
    for ep in (big, cln2):
        gr_rows = q(
            ep, "SELECT PLUGIN_STATUS FROM information_schema.plugins WHERE PLUGIN_NAME = 'group_replication'"
        )
        donor_has = bool(
            q(big, "SELECT 1 FROM information_schema.plugins WHERE PLUGIN_NAME = 'group_replication'")
        )
        if donor_has and not gr_rows:
            q(ep, "INSTALL PLUGIN group_replication SONAME 'group_replication.so'")
    set_donor_list(cln2, big)
    return big, cln2


class CloneThread(threading.Thread):
    def __init__(self, recipient: Any, donor: Any) -> None:
        super().__init__(daemon=True)
        self.conn = connect(recipient, read_timeout=600)
        self.thread_id = one(self.conn, "SELECT CONNECTION_ID()")
        self.sql = clone_sql(donor)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            run(self.conn, self.sql)
        except BaseException as exc:
            self.error = exc


def _in_progress(ep: Any) -> bool:
    return q1(ep, "SELECT STATE FROM performance_schema.clone_status", timeout=2) == "In Progress"


def test_kill_query_cancels_clone(slow: tuple[Any, Any]) -> None:
    """RM 7.6.7.9 / 15.7.8.4: KILL QUERY on the session running CLONE INSTANCE stops it; the statement fails
    with ER_QUERY_INTERRUPTED 1317 and clone_status shows Failed with ERROR_NO 1317."""
    big, cln2 = slow
    t = CloneThread(cln2, big)
    t.start()
    wait_until(lambda: _in_progress(cln2), what="clone In Progress")
    q(cln2, f"KILL QUERY {t.thread_id}")
    t.join(60)
    assert isinstance(t.error, pymysql.MySQLError) and t.error.args[0] == 1317
    row = qd(cln2, "SELECT STATE, ERROR_NO FROM performance_schema.clone_status")[0]
    assert row["STATE"] == "Failed" and int(row["ERROR_NO"]) == 1317


def test_clone_progress_advances_over_time_and_rejects_concurrent_clone(
    world: Any, slow: tuple[Any, Any]
) -> None:
    """RM 7.6.7.10 'Monitoring Cloning Operations': while a clone runs, clone_status is In Progress and the
    stages move from Not Started through In Progress to Completed, in order, with ESTIMATE and DATA filled for
    FILE COPY; a second CLONE meanwhile is ER_CLONE_TOO_MANY_CONCURRENT_CLONES 3634 "Too many concurrent clone
    operations. Maximum allowed - 1." (RM 7.6.7.14: only one clone at a time)."""
    big, cln2 = slow
    t = CloneThread(cln2, big)
    t.start()
    wait_until(lambda: _in_progress(cln2), what="clone In Progress")
    expect_sql_error(
        cln2, clone_sql(big), 3634, "HY000", r"Too many concurrent clone operations. Maximum allowed - 1"
    )
    seen: set[tuple[str, str]] = set()
    max_estimate = [0]

    def observe() -> bool:
        try:
            for stage, state, estimate, data in q(
                cln2, "SELECT STAGE, STATE, ESTIMATE, DATA FROM performance_schema.clone_progress", timeout=2
            ):
                seen.add((stage, state))
                if stage == "FILE COPY" and estimate is not None:
                    max_estimate[0] = max(max_estimate[0], int(estimate))
                if stage == "FILE COPY" and state == "In Progress":
                    assert int(estimate) > 0
                    assert 0 <= int(data) <= int(estimate)
        except pymysql.err.OperationalError:
            return False  # restarting
        return q1(cln2, "SELECT STATE FROM performance_schema.clone_status", timeout=2) == "Completed"

    wait_until(observe, timeout=180, interval=0.1, what="the slow clone to complete")
    t.join(60)
    assert ("FILE COPY", "In Progress") in seen
    # The donor holds 2 TB (topology dataset_bytes): the FILE COPY estimate is of that order (ESTIMATE is in
    # bytes, RM 29.12.19.2).
    assert max_estimate[0] >= 10**12
    assert ("DROP DATA", "Completed") in seen
    rows = q(cln2, "SELECT STAGE, STATE FROM performance_schema.clone_progress")
    assert [r[0] for r in rows] == STAGES and all(r[1] == "Completed" for r in rows)
    assert q(cln2, "SELECT v FROM app.t WHERE id = 1") == [("a",)]
