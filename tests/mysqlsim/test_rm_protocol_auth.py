"""Issue 3, Build 1 (protocol): connection, password authentication and TLS as the manual documents them.

Clients: PyMySQL, asyncmy and the stock `mysql` command-line client (Debian's mariadb-client).
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import ssl
import subprocess
from typing import Any

import asyncmy
import pymysql
import pytest
from rm_helpers import (
    ROOT_PASSWORD,
    ROOT_USER,
    expect_error,
    one,
    q,
    q1,
    run,
    session,
    unique,
)


def test_each_member_has_its_own_loopback_host(world: Any) -> None:
    """Issue 3 Build 1 / RM 7.1.8 'bind_address': every instance listens on its own 127.0.0.0/8 address,
    so members are told apart by host as in a real deployment."""
    hosts = [ep.host for eps in world.endpoints.values() for ep in eps]
    assert len(hosts) == len(set(hosts))
    for h in hosts:
        assert ipaddress.ip_address(h) in ipaddress.ip_network("127.0.0.0/8")


def test_pymysql_connects_and_selects(primary: Any) -> None:
    """RM 15.2.13 'SELECT Statement': a plain SELECT over the classic protocol (PyMySQL)."""
    assert q1(primary, "SELECT 1 + 1") == 2


async def test_asyncmy_connects_and_selects(primary: Any) -> None:
    """RM 15.2.13 'SELECT Statement' through asyncmy, the orchestrator's driver."""
    conn = await asyncmy.connect(host=primary.host, port=primary.port, user=ROOT_USER, password=ROOT_PASSWORD)
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT @@server_uuid, @@port")
            row = await cur.fetchone()
        assert row == (primary.server_uuid, primary.port)
    finally:
        conn.close()


async def test_asyncmy_pool_parameterised_query(primary: Any) -> None:
    """RM 15.2.13: a parameterised query through an asyncmy pool returns the seeded row."""
    pool = await asyncmy.create_pool(
        host=primary.host, port=primary.port, user=ROOT_USER, password=ROOT_PASSWORD, minsize=1, maxsize=2
    )
    try:
        async with pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute("SELECT v FROM app.t WHERE id = %s", (1,))
            assert await cur.fetchone() == ("a",)
    finally:
        pool.close()
        await pool.wait_closed()


def test_wrong_password_is_1045(primary: Any) -> None:
    """RM B.3.2.2 / error reference: ER_ACCESS_DENIED_ERROR 1045 (28000) "Access denied for user
    '%s'@'%s' (using password: YES)"."""
    expect_error(
        lambda: q(primary, "SELECT 1", password="wrong"),
        1045,
        "28000",
        r"^Access denied for user 'root'@'[^']+' \(using password: YES\)$",
    )


def test_unknown_user_is_1045_not_a_different_error(primary: Any) -> None:
    """RM 8.2.6 'Access Control, Stage 1: Connection Verification': an unknown account is refused with the
    same ER_ACCESS_DENIED_ERROR 1045 as a wrong password (the server does not reveal which)."""
    expect_error(
        lambda: q(primary, "SELECT 1", user="nobody_here", password="x"),
        1045,
        "28000",
        r"Access denied for user 'nobody_here'@",
    )


def test_empty_password_says_using_password_no(primary: Any) -> None:
    """Error reference ER_ACCESS_DENIED_ERROR 1045: '(using password: NO)' when no password is sent."""
    expect_error(lambda: q(primary, "SELECT 1", password=""), 1045, "28000", r"\(using password: NO\)")


def test_current_user_reports_the_account(primary: Any) -> None:
    """RM 14.15 'Information Functions' CURRENT_USER(): the authenticated account, 'root'@'%'."""
    assert q1(primary, "SELECT CURRENT_USER()") == "root@%"


def test_connection_id_is_in_processlist(primary: Any) -> None:
    """RM 14.15 CONNECTION_ID() and RM 29.12.21.7 'threads' / information_schema.processlist: the session's
    id is listed."""
    with session(primary) as conn:
        cid = one(conn, "SELECT CONNECTION_ID()")
        rows = run(conn, "SELECT ID, USER FROM information_schema.processlist WHERE ID = %s", (cid,))
    assert rows and rows[0][1] == "root"


def _ca_context(world: Any, *, check_hostname: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(world.ca_path))
    ctx.check_hostname = check_hostname
    return ctx


def test_tls_verify_identity_pymysql(world: Any, primary: Any) -> None:
    """RM 8.3.1 'Configuring MySQL to Use Encrypted Connections' / client --ssl-mode=VERIFY_IDENTITY: the
    server certificate chains to the simulator CA and its SAN is the instance's host, so identity verification
    against the IP succeeds; Ssl_version is then non-empty (RM 8.3.1 'Ssl_cipher', 'Ssl_version')."""
    ssl_opts = {"ca": str(world.ca_path), "check_hostname": True}
    with session(primary, ssl=ssl_opts) as conn:
        rows = run(conn, "SHOW SESSION STATUS LIKE 'Ssl_version'")
    assert rows and rows[0][1].startswith("TLSv1")


async def test_tls_verify_identity_asyncmy(world: Any) -> None:
    """RM 8.3.1, sslMode VERIFY_IDENTITY through asyncmy, on a secondary (every instance has its own cert)."""
    ep = world.member("dc1", 2)

    async def go() -> Any:
        conn = await asyncmy.connect(
            host=ep.host,
            port=ep.port,
            user=ROOT_USER,
            password=ROOT_PASSWORD,
            ssl=_ca_context(world, check_hostname=True),
        )
        try:
            async with conn.cursor() as cur:
                await cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                return await cur.fetchone()
        finally:
            conn.close()

    row = await asyncio.wait_for(go(), 20)
    assert row is not None and row[1] != ""


def test_tls_preferred_is_the_client_default(primary: Any) -> None:
    """RM 6.2.3 'Command Options for Encrypted Connections' (--ssl-mode=PREFERRED, the default): the client
    encrypts when the server offers TLS; PyMySQL's default mode is PREFERRED, so a plain connect negotiates
    TLS and the session is encrypted."""
    conn = pymysql.connect(host=primary.host, port=primary.port, user=ROOT_USER, password=ROOT_PASSWORD)
    try:
        rows = run(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    finally:
        conn.close()
    assert rows[0][1] != ""


def test_tls_required_without_verification(primary: Any) -> None:
    """RM 8.3.1 / --ssl-mode=REQUIRED: encryption without certificate verification."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with session(primary, ssl=ctx) as conn:
        rows = run(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    assert rows[0][1] != ""


def test_tls_verify_ca_with_the_simulator_ca(world: Any, primary: Any) -> None:
    """RM 6.2.3 --ssl-mode=VERIFY_CA: the server certificate is verified against the CA without checking the
    host name; the simulator CA signs every instance's certificate."""
    with session(primary, ssl={"ca": str(world.ca_path), "check_hostname": False}) as conn:
        assert one(conn, "SELECT 1") == 1


def test_tls_verify_ca_fails_with_a_foreign_ca(tmp_path: Any, primary: Any) -> None:
    """RM 8.3.1 --ssl-mode=VERIFY_CA: a certificate not issued by the given CA is refused by the client."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "foreign CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    ca = tmp_path / "foreign.pem"
    ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(pymysql.MySQLError):
        q(primary, "SELECT 1", ssl={"ca": str(ca), "check_hostname": False})


def test_no_tls_means_empty_ssl_cipher(primary: Any) -> None:
    """RM 8.3.1 'Ssl_cipher' status: empty for an unencrypted session (sslMode DISABLED)."""
    rows = q(primary, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    assert rows[0][1] == ""


def test_account_with_require_ssl_refused_without_tls(world: Any, primary: Any) -> None:
    """RM 15.7.1.3 'CREATE USER' REQUIRE SSL: the account can connect only over an encrypted connection;
    without TLS the connection is refused with ER_ACCESS_DENIED_ERROR 1045."""
    user = unique("tlsonly")
    q(primary, f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw' REQUIRE SSL")
    try:
        expect_error(lambda: q(primary, "SELECT 1", user=user, password="pw"), 1045, "28000")
        ok = q1(primary, "SELECT 1", user=user, password="pw", ssl={"ca": str(world.ca_path)})
        assert ok == 1
    finally:
        q(primary, f"DROP USER '{user}'@'%'")


def test_mysql_command_line_client_smoke(world: Any, primary: Any) -> None:
    """Issue 3 Build 1: the stock `mysql` command-line client (Debian's mariadb-client) connects,
    authenticates, uses TLS verified against the simulator CA, and prints results in batch mode (RM 6.5.1
    'mysql')."""
    mysql = shutil.which("mysql")
    if mysql is None:
        pytest.skip("the `mysql` client is not installed (apt-get install -y mariadb-client)")
    out = subprocess.run(
        [
            mysql,
            f"--host={primary.host}",
            f"--port={primary.port}",
            f"--user={ROOT_USER}",
            f"--password={ROOT_PASSWORD}",
            "--batch",
            "--skip-column-names",
            f"--ssl-ca={world.ca_path}",
            "-e",
            "SELECT @@server_uuid; SELECT COUNT(*) FROM app.t",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0] == primary.server_uuid
    assert int(lines[1]) >= 3
    bad = subprocess.run(
        [
            mysql,
            f"--host={primary.host}",
            f"--port={primary.port}",
            "--user=root",
            "--password=nope",
            "-e",
            "SELECT 1",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode != 0
    assert "ERROR 1045 (28000)" in bad.stderr
    # --ssl-verify-server-cert checks the certificate's SAN against the host connected to (VERIFY_IDENTITY).
    verified = subprocess.run(
        [
            mysql,
            f"--host={primary.host}",
            f"--port={primary.port}",
            f"--user={ROOT_USER}",
            f"--password={ROOT_PASSWORD}",
            f"--ssl-ca={world.ca_path}",
            "--ssl-verify-server-cert",
            "--batch",
            "--skip-column-names",
            "-e",
            "SHOW SESSION STATUS LIKE 'Ssl_version'",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert verified.returncode == 0, verified.stderr
    assert "TLSv1" in verified.stdout


def test_use_database_sets_default_schema(primary: Any) -> None:
    """RM 15.8.4 'USE Statement' / RM 14.15 DATABASE(): USE changes the default database for the session;
    DATABASE() is NULL before, the name after, and unqualified table names resolve in it."""
    with session(primary) as conn:
        assert one(conn, "SELECT DATABASE()") is None
        run(conn, "USE app")
        assert one(conn, "SELECT DATABASE()") == "app"
        assert one(conn, "SELECT COUNT(*) FROM t") >= 3


def test_connect_with_default_database(primary: Any) -> None:
    """RM 6.2.4 'Connecting to the MySQL Server' (the database given at connect becomes the default)."""
    assert q1(primary, "SELECT DATABASE()", database="app") == "app"


async def _asyncmy_error(ep: Any, sql: str) -> Any:
    conn = await asyncmy.connect(host=ep.host, port=ep.port, user=ROOT_USER, password=ROOT_PASSWORD)
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql)
    except asyncmy.errors.MySQLError as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError(f"{sql!r} succeeded")


async def test_asyncmy_sees_error_number_sqlstate_and_text(primary: Any) -> None:
    """Error reference ER_NO_SUCH_TABLE 1146 (42S02) as asyncmy receives it: number, SQLSTATE and message."""
    exc = await _asyncmy_error(primary, "SELECT * FROM app.no_such_table_x")
    assert exc.args[0] == 1146 and exc.sqlstate == "42S02"
    assert exc.args[1] == "Table 'app.no_such_table_x' doesn't exist"


async def test_asyncmy_write_on_secondary_is_1290(secondary: Any) -> None:
    """RM 7.1.8 super_read_only on a Group Replication secondary, through asyncmy: 1290 (HY000)."""
    exc = await _asyncmy_error(secondary, "INSERT INTO app.t VALUES (7777, 'no')")
    assert exc.args[0] == 1290 and exc.sqlstate == "HY000"
    assert "--super-read-only" in exc.args[1]


async def test_asyncmy_reads_replication_group_members(dc1: list[Any]) -> None:
    """RM 29.12.11.x replication_group_members through asyncmy (the orchestrator's driver): three ONLINE
    rows."""
    ep = dc1[1]
    conn = await asyncmy.connect(host=ep.host, port=ep.port, user=ROOT_USER, password=ROOT_PASSWORD)
    try:
        async with conn.cursor() as cur:
            await cur.execute(
                "SELECT MEMBER_ID, MEMBER_STATE FROM performance_schema.replication_group_members "
                "WHERE MEMBER_STATE = %s",
                ("ONLINE",),
            )
            rows = await cur.fetchall()
    finally:
        conn.close()
    assert {r[0] for r in rows} == {m.server_uuid for m in dc1}
