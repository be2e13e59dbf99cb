"""Developer tests of the mysqlsim core through the wire (PyMySQL, asyncmy) and the control API."""

from __future__ import annotations

import ssl

import asyncmy
import pymysql
import pytest

from mysqlsim.testing import ControlError, RunningWorld

from .conftest import connect, q


def test_identity_and_gtids(world: RunningWorld) -> None:
    m = world.member("dc1", 0)
    c = connect(world)
    ((uuid, sid, ver, rh, rp),) = q(
        c, "SELECT @@server_uuid, @@server_id, @@version, @@report_host, @@report_port"
    )
    assert uuid == m.server_uuid and ver == "8.0.36" and rh == m.host and rp == 3306 and sid > 1
    assert q(c, "SELECT @@gtid_mode, @@enforce_gtid_consistency") == [("ON", "ON")]
    before = q(c, "SELECT @@global.gtid_executed")[0][0]
    q(c, "INSERT INTO app.t VALUES (100, 'x')")
    after = q(c, "SELECT @@global.gtid_executed")[0][0]
    assert after != before and after.startswith(uuid)
    assert q(c, f"SELECT GTID_SUBSET('{before}', '{after}')") == [(1,)]


def test_read_only_coupling_and_1290(world: RunningWorld) -> None:
    c = connect(world, "dc1", 1)
    q(c, "SET GLOBAL super_read_only = ON")
    assert q(c, "SELECT @@global.read_only, @@global.super_read_only") == [(1, 1)]
    with pytest.raises(pymysql.err.OperationalError) as ei:
        q(c, "INSERT INTO app.t VALUES (200, 'no')")
    assert ei.value.args[0] == 1290
    q(c, "SET GLOBAL read_only = OFF")
    assert q(c, "SELECT @@global.read_only, @@global.super_read_only") == [(0, 0)]


def test_honest_errors(world: RunningWorld) -> None:
    c = connect(world)
    for sql, code in [
        ("SELECT @@no_such_var", 1193),
        ("FROBNICATE THE SERVER", 1064),
        ("SELECT * FROM app.nope", 1146),
        ("SELECT no_such_fn(1)", 1305),
        ("SELECT * FROM performance_schema.no_such_table", 1146),
    ]:
        with pytest.raises(pymysql.err.MySQLError) as ei:
            q(c, sql)
        assert ei.value.args[0] == code, sql


def test_auth_and_privileges(world: RunningWorld) -> None:
    c = connect(world)
    q(c, "CREATE USER 'reader'@'%' IDENTIFIED BY 'rpw'")
    q(c, "GRANT SELECT ON app.* TO 'reader'@'%'")
    r = connect(world, user="reader", password="rpw")
    assert q(r, "SELECT COUNT(*) FROM app.t")[0][0] >= 1
    with pytest.raises(pymysql.err.OperationalError) as ei:
        q(r, "INSERT INTO app.t VALUES (300, 'no')")
    assert ei.value.args[0] == 1142
    with pytest.raises(pymysql.err.OperationalError) as ei:
        q(r, "SET GLOBAL super_read_only = ON")
    assert ei.value.args[0] == 1227
    with pytest.raises(pymysql.err.OperationalError) as ei:
        connect(world, user="reader", password="wrong")
    assert ei.value.args[0] == 1045
    grants = [g for (g,) in q(c, "SHOW GRANTS FOR 'clusterset'@'%'")]
    assert any("BACKUP_ADMIN" in g and "CLONE_ADMIN" in g for g in grants)


def test_tls_pymysql_and_asyncmy(world: RunningWorld) -> None:
    c = connect(world, ca=world.ca_path)
    assert q(c, "SELECT 1") == [(1,)]

    async def go() -> object:
        m = world.member("dc2", 0)
        ctx = ssl.create_default_context(cafile=str(world.ca_path))
        conn = await asyncmy.connect(host=m.host, port=m.port, user="root", password="rootpw", ssl=ctx)
        try:
            async with conn.cursor() as cur:
                await cur.execute("SELECT @@server_uuid")
                return (await cur.fetchone())[0]
        finally:
            conn.close()

    import asyncio

    assert asyncio.run(go()) == world.member("dc2", 0).server_uuid


def test_control_faults(world: RunningWorld) -> None:
    m = world.member("dc2", 0)
    gtid = world.ctl.inject_errant(m.host)
    st = world.ctl.instance_state(m.host)
    assert gtid.split(":")[0] == m.server_uuid and st["server_uuid"] == m.server_uuid
    res = world.ctl.write_load(m.host, count=5)
    assert len(res["acknowledged"]) == 5 and res["failed"] == []
    world.ctl.restart(m.host)
    c = connect(world, "dc2", 0)
    assert q(c, "SELECT COUNT(*) FROM app.load") == [(5,)]
    world.ctl.kill(m.host)
    with pytest.raises(pymysql.err.OperationalError):
        connect(world, "dc2", 0)
    world.ctl.start(m.host)
    assert q(connect(world, "dc2", 0), "SELECT 1") == [(1,)]
    with pytest.raises(ControlError):
        world.ctl.kill("127.255.255.254")


def test_isolation_and_transactions(world: RunningWorld) -> None:
    a = connect(world)
    b = connect(world)
    q(a, "BEGIN")
    q(a, "INSERT INTO app.t VALUES (400, 'tx')")
    assert q(b, "SELECT v FROM app.t WHERE id = 400") == []
    assert q(a, "SELECT v FROM app.t WHERE id = 400") == [("tx",)]
    q(a, "ROLLBACK")
    assert q(a, "SELECT v FROM app.t WHERE id = 400") == []
    q(a, "INSERT INTO app.t VALUES (401, 'a') ON DUPLICATE KEY UPDATE v = VALUES(v)")
    q(a, "INSERT INTO app.t VALUES (401, 'b') ON DUPLICATE KEY UPDATE v = VALUES(v)")
    q(a, "REPLACE INTO app.t VALUES (402, 'r')")
    assert q(b, "SELECT id, v FROM app.t WHERE id IN (401, 402) ORDER BY id") == [(401, "b"), (402, "r")]
    with pytest.raises(pymysql.err.IntegrityError) as ei:
        q(a, "INSERT INTO app.t VALUES (402, 'dup')")
    assert ei.value.args == (1062, "Duplicate entry '402' for key 't.PRIMARY'")


def test_login_checks(world: RunningWorld) -> None:
    c = connect(world)
    q(c, "CREATE USER 'tlsonly'@'%' IDENTIFIED BY 'tpw' REQUIRE SSL")
    with pytest.raises(pymysql.err.OperationalError) as ei:
        connect(world, user="tlsonly", password="tpw")
    assert ei.value.args[0] == 1045
    assert q(connect(world, user="tlsonly", password="tpw", ca=world.ca_path), "SELECT 1") == [(1,)]
    with pytest.raises(pymysql.err.OperationalError) as ei:
        connect(world, user="tlsonly", password="tpw", ca=world.ca_path, database="app")
    assert ei.value.args[0] == 1044
    q(c, "CREATE USER IF NOT EXISTS 'tlsonly'@'%' IDENTIFIED BY 'x'")
    assert [r[1] for r in q(c, "SHOW WARNINGS")] == [3163]


def test_partition_refuses_clients_and_heal_restores(world: RunningWorld) -> None:
    m = world.member("dc1", 1)
    c = connect(world, "dc1", 1)
    (peer,) = q(c, "SELECT SUBSTRING_INDEX(USER(), '@', -1)")[0]
    world.ctl.partition([peer], [m.host])
    try:
        with pytest.raises(pymysql.err.OperationalError):
            connect(world, "dc1", 1)
        with pytest.raises(pymysql.err.OperationalError):
            q(c, "SELECT 1")
    finally:
        world.ctl.heal()
    assert q(connect(world, "dc1", 1), "SELECT 1") == [(1,)]


def test_kill_query_interrupts_a_wait(world: RunningWorld) -> None:
    import threading

    waiter = connect(world)
    killer = connect(world)
    (cid,) = q(waiter, "SELECT CONNECTION_ID()")[0]
    out: dict[str, object] = {}

    def wait() -> None:
        try:
            q(waiter, "SELECT WAIT_FOR_EXECUTED_GTID_SET('3E11FA47-71CA-11E1-9E33-C80AA9429562:1', 60)")
        except pymysql.err.MySQLError as e:
            out["err"] = e.args[0]

    t = threading.Thread(target=wait)
    t.start()
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = q(killer, f"SELECT STATE FROM information_schema.processlist WHERE ID = {cid}")
        if rows and rows[0][0]:
            break
        time.sleep(0.05)
    q(killer, f"KILL QUERY {cid}")
    t.join(20)
    assert out.get("err") == 1317
    assert q(waiter, "SELECT 1") == [(1,)]


def test_require_secure_transport(world: RunningWorld) -> None:
    c = connect(world, "dc1", 1)
    q(c, "SET GLOBAL require_secure_transport = ON")
    try:
        with pytest.raises(pymysql.err.OperationalError) as ei:
            connect(world, "dc1", 1)
        assert ei.value.args[0] == 3159
        assert q(connect(world, "dc1", 1, ca=world.ca_path), "SELECT 1") == [(1,)]
    finally:
        q(c, "SET GLOBAL require_secure_transport = OFF")


def test_persist_survives_restart_and_purge(world: RunningWorld) -> None:
    m = world.member("dc1", 1)
    c = connect(world, "dc1", 1)
    q(c, "SET PERSIST max_connections = 321")
    q(c, "SET GLOBAL wait_timeout = 77")
    q(c, "SET PERSIST_ONLY skip_replica_start = ON")
    world.ctl.restart(m.host)
    c = connect(world, "dc1", 1)
    assert q(c, "SELECT @@global.max_connections, @@global.wait_timeout, @@global.skip_replica_start") == [
        (321, 28800, 1)
    ]
    q(c, "RESET PERSIST")
    q(c, "CREATE DATABASE IF NOT EXISTS p")
    q(c, "CREATE TABLE IF NOT EXISTS p.t (id INT PRIMARY KEY)")
    q(c, "INSERT INTO p.t VALUES (500)")
    world.ctl.purge_binary_logs(m.host)
    assert q(c, "SELECT GTID_SUBTRACT(@@global.gtid_executed, @@global.gtid_purged)") == [("",)]
    assert len(q(c, "SHOW BINARY LOGS")) == 1
    with pytest.raises(pymysql.err.OperationalError) as ei:
        q(c, "SET gtid_next = 'not-a-gtid'")
    assert ei.value.args[0] == 1774


def test_mysql_command_line_client(world: RunningWorld) -> None:
    import shutil
    import subprocess

    exe = shutil.which("mysql")
    if exe is None:
        pytest.skip("the mysql command-line client (Debian mariadb-client) is not installed")
    m = world.member("dc1", 0)
    base = [exe, "-h", m.host, "-P", str(m.port), "-uroot", "-prootpw", "--batch", "--skip-column-names"]
    plain = subprocess.run(
        [*base, "--skip-ssl", "-e", "SELECT @@server_uuid"], capture_output=True, text=True, timeout=30
    )
    assert plain.stdout.strip() == m.server_uuid, plain.stderr
    tls = subprocess.run(
        [
            *base,
            "--ssl",
            f"--ssl-ca={world.ca_path}",
            "--ssl-verify-server-cert",
            "-e",
            "SHOW SESSION STATUS LIKE 'Ssl_cipher'",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert tls.returncode == 0 and "Ssl_cipher" in tls.stdout and tls.stdout.split()[-1] != "Ssl_cipher", tls


def test_asyncmy_tls_handshakes_do_not_hang(world: RunningWorld) -> None:
    """Regression: bytes sent right after the SSLRequest (ClientHello) must reach the TLS layer."""
    import asyncio

    m = world.member("dc1", 0)

    async def go() -> int:
        n = 0
        for _ in range(20):
            ctx = ssl.create_default_context(cafile=str(world.ca_path))
            conn = await asyncio.wait_for(
                asyncmy.connect(host=m.host, port=m.port, user="root", password="rootpw", ssl=ctx), 10
            )
            async with conn.cursor() as cur:
                await cur.execute("SELECT 1")
                await cur.fetchall()
            conn.close()
            n += 1
        return n

    assert asyncio.run(go()) == 20
