"""Asynchronous replication channels (manual 15.4.2, 19.1.3 GTID auto-positioning, 19.3.1 encrypted
connections, 29.12.11 replication tables) on an in-process world: a source ``a`` and a replica ``b``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repl_helpers import SEED, expect_error, q, q1, running, topology, wait_for

from mysqlsim.replication.state import repl


def cert_text(inst: Any) -> str:
    with open(inst.tls_cert_path) as f:
        return f.read()


def two_sites(**link: Any) -> dict[str, Any]:
    links = [{"sites": ["a", "b"], **link}] if link else []
    return topology(
        {"name": "a", "members": 1, "mode": "empty", "seed_sql": SEED},
        {"name": "b", "members": 1, "mode": "empty"},
        links=links,
    )


def change(src: Any, *, password: str = "rootpw", extra: str = "", channel: str = "c") -> str:
    return (
        f"CHANGE REPLICATION SOURCE TO SOURCE_HOST='{src.host}', SOURCE_PORT={src.port}, SOURCE_USER='root', "
        f"SOURCE_PASSWORD='{password}', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_RETRY_COUNT=2"
        f"{extra} FOR CHANNEL '{channel}'"
    )


async def test_auto_position_ships_everything_and_tables_show_it(tmp_path: Path) -> None:
    async with running(two_sites(latency_ms=5), tmp_path) as w:
        a, b = w.sites["a"].members[0], w.sites["b"].members[0]
        await q(w, b, change(a, extra=", SOURCE_SSL=1"))
        assert (
            await q1(w, b, "SELECT SERVICE_STATE FROM performance_schema.replication_connection_status")
            == "OFF"
        )
        await q(w, b, "START REPLICA FOR CHANNEL 'c'")
        await wait_for(lambda: a.gtid_executed.is_subset(b.gtid_executed), what="catch-up")
        assert (await q(w, b, "SELECT v FROM app.t")).rows == [("a",)]
        row = (
            await q(
                w,
                b,
                "SELECT s.SOURCE_UUID, s.SERVICE_STATE, c.HOST, co.SERVICE_STATE, a.SERVICE_STATE "
                "FROM performance_schema.replication_connection_configuration c "
                "JOIN performance_schema.replication_connection_status s ON s.CHANNEL_NAME = c.CHANNEL_NAME "
                "LEFT JOIN performance_schema.replication_applier_status_by_coordinator co "
                "ON co.CHANNEL_NAME = c.CHANNEL_NAME "
                "JOIN performance_schema.replication_applier_status a ON a.CHANNEL_NAME = c.CHANNEL_NAME "
                "WHERE c.CHANNEL_NAME = 'c'",
            )
        ).rows[0]
        assert row == (a.server_uuid, "ON", a.host, "ON", "ON")
        await q(w, a, "INSERT INTO app.t VALUES (2, 'b')")
        await wait_for(lambda: a.gtid_executed.is_subset(b.gtid_executed), what="new transaction")
        last = await q1(
            w,
            b,
            "SELECT LAST_APPLIED_TRANSACTION FROM performance_schema.replication_applier_status_by_worker "
            "WHERE CHANNEL_NAME='c' AND WORKER_ID=1",
        )
        assert last == f"{a.server_uuid}:{a.gtid_executed.last(a.server_uuid)}"
        names = {r[1] for r in (await q(w, b, "SELECT * FROM performance_schema.threads")).rows}
        assert {"thread/sql/replica_io", "thread/sql/replica_sql"} <= names
        status = await q(w, b, "SHOW REPLICA STATUS FOR CHANNEL 'c'")
        d = dict(zip(status.columns, status.rows[0], strict=True))
        assert d["Replica_IO_Running"] == "Yes" and d["Source_UUID"] == a.server_uuid


async def test_wrong_password_is_1045_on_the_channel_not_the_client(tmp_path: Path) -> None:
    async with running(two_sites(), tmp_path) as w:
        a, b = w.sites["a"].members[0], w.sites["b"].members[0]
        await q(w, b, change(a, password="nope"))
        await q(w, b, "START REPLICA FOR CHANNEL 'c'")
        err = await wait_for(lambda: repl(b).channels["c"].io_error.number, what="IO error")
        assert err == 1045
        assert "Access denied for user 'root'" in repl(b).channels["c"].io_error.message


async def test_purged_source_gives_13114_with_1236_text(tmp_path: Path) -> None:
    async with running(two_sites(), tmp_path) as w:
        a, b = w.sites["a"].members[0], w.sites["b"].members[0]
        w.purge_binary_logs(a.host)
        await q(w, b, change(a))
        await q(w, b, "START REPLICA FOR CHANNEL 'c'")
        await wait_for(lambda: repl(b).channels["c"].io_error.number == 13114, what="13114")
        ch = repl(b).channels["c"]
        assert "1236" in ch.io_error.message and "purged" in ch.io_error.message
        await wait_for(lambda: ch.receiver_state == "OFF", what="receiver stops")


async def test_super_read_only_does_not_block_the_applier_and_3021(tmp_path: Path) -> None:
    async with running(two_sites(), tmp_path) as w:
        a, b = w.sites["a"].members[0], w.sites["b"].members[0]
        await q(w, b, "SET GLOBAL super_read_only = ON")
        await q(w, b, change(a))
        await q(w, b, "START REPLICA FOR CHANNEL 'c'")
        await q(w, a, "INSERT INTO app.t VALUES (5, 'sro')")
        await wait_for(lambda: a.gtid_executed.is_subset(b.gtid_executed), what="applied under SRO")
        await expect_error(w, b, "INSERT INTO app.t VALUES (6, 'x')", 1290)
        await expect_error(w, b, f"CHANGE REPLICATION SOURCE TO SOURCE_HOST='{a.host}' FOR CHANNEL 'c'", 3021)
        await expect_error(w, b, "RESET REPLICA ALL FOR CHANNEL 'c'", 3080)
        await q(w, b, "STOP REPLICA FOR CHANNEL 'c'")
        await q(w, b, "RESET REPLICA ALL FOR CHANNEL 'c'")
        await expect_error(w, b, "START REPLICA FOR CHANNEL 'c'", 3074)


async def test_partition_stalls_and_heal_resumes(tmp_path: Path) -> None:
    async with running(two_sites(), tmp_path) as w:
        a, b = w.sites["a"].members[0], w.sites["b"].members[0]
        await q(w, b, change(a))
        await q(w, b, "START REPLICA FOR CHANNEL 'c'")
        await wait_for(lambda: a.gtid_executed.is_subset(b.gtid_executed), what="catch-up")
        w.partition([a.host], [b.host])
        await q(w, a, "INSERT INTO app.t VALUES (7, 'cut')")
        await wait_for(lambda: repl(b).channels["c"].io_error.number in (2003, 2013), what="connection lost")
        assert not a.gtid_executed.is_subset(b.gtid_executed)
        w.heal()
        await wait_for(lambda: a.gtid_executed.is_subset(b.gtid_executed), limit_s=10, what="resumed")


async def test_source_ssl_verification_against_the_ca(tmp_path: Path) -> None:
    async with running(two_sites(), tmp_path) as w:
        a, b = w.sites["a"].members[0], w.sites["b"].members[0]
        ca = a.ca_path
        await q(
            w,
            b,
            change(
                a,
                channel="ok",
                extra=f", SOURCE_SSL=1, SOURCE_SSL_CA='{ca}', SOURCE_SSL_VERIFY_SERVER_CERT=1",
            ),
        )
        await q(w, b, "START REPLICA FOR CHANNEL 'ok'")
        await wait_for(lambda: repl(b).channels["ok"].receiver_state == "ON", what="verified TLS channel")
        other = tmp_path / "other-ca.pem"
        other.write_text(cert_text(b))  # a certificate that is not the CA
        await q(
            w,
            b,
            change(
                a,
                channel="bad",
                extra=f", SOURCE_SSL=1, SOURCE_SSL_CA='{other}', SOURCE_SSL_VERIFY_SERVER_CERT=1",
            ),
        )
        await q(w, b, "START REPLICA FOR CHANNEL 'bad'")
        await wait_for(lambda: repl(b).channels["bad"].io_error.number == 2026, what="2026")


async def test_apply_lag_delays_application_but_not_receipt(tmp_path: Path) -> None:
    async with running(two_sites(), tmp_path) as w:
        a, b = w.sites["a"].members[0], w.sites["b"].members[0]
        await q(w, b, change(a))
        await q(w, b, "START REPLICA FOR CHANNEL 'c'")
        await wait_for(lambda: a.gtid_executed.is_subset(b.gtid_executed), what="catch-up")
        w.set_apply_lag(b.host, 10**6)
        await q(w, a, "INSERT INTO app.t VALUES (8, 'lag')")
        ch = repl(b).channels["c"]
        await wait_for(lambda: a.gtid_executed.is_subset(ch.received), what="received")
        assert not a.gtid_executed.is_subset(b.gtid_executed)
        w.set_apply_lag(b.host, 0)
        await wait_for(
            lambda: a.gtid_executed.is_subset(b.gtid_executed), what="applied once the lag is gone"
        )
