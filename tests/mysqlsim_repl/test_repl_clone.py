"""CLONE INSTANCE FROM (manual 7.6.7, 15.7.5): preconditions and their errors, progress over time from
dataset size and bandwidth, data/GTIDs replaced with server_uuid kept, supervisor restart, cancellation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from repl_helpers import SEED, expect_error, q, q1, running, topology, wait_for

from mysqlsim.errors import MySQLError
from mysqlsim.replication.clone import versions_compatible
from mysqlsim.replication.state import repl


def world(dataset: int = 2_000_000_000_000, time_scale: float = 4000.0) -> dict[str, Any]:
    return topology(
        {"name": "don", "members": 1, "mode": "empty", "seed_sql": SEED, "dataset_bytes": dataset},
        {"name": "rec", "members": 1, "mode": "empty"},
        {"name": "v84", "members": 1, "mode": "empty", "version": "8.4.3"},
        links=[{"sites": ["don", "rec"], "latency_ms": 5, "bandwidth_mbit": 1000}],
        time_scale=time_scale,
    )


def clone_state(rec: Any) -> str:
    run = repl(rec).clone
    return "" if run is None else run.state


def stage_state(rec: Any, i: int) -> str:
    run = repl(rec).clone
    return "" if run is None else run.stages[i].state


def clone_sql(donor: Any, password: str = "rootpw") -> str:
    return f"CLONE INSTANCE FROM 'root'@'{donor.host}':{donor.port} IDENTIFIED BY '{password}'"


def test_version_rules() -> None:
    assert versions_compatible("8.0.36", "8.0.36")
    assert not versions_compatible("8.0.36", "8.0.37")
    assert versions_compatible("8.0.37", "8.0.40")
    assert versions_compatible("8.4.1", "8.4.3")
    assert not versions_compatible("8.0.40", "8.4.3")


async def test_preconditions(tmp_path: Path) -> None:
    async with running(world(), tmp_path) as w:
        don, rec, v84 = (w.sites[s].members[0] for s in ("don", "rec", "v84"))
        await expect_error(w, rec, clone_sql(don), 3869)  # empty clone_valid_donor_list
        await q(w, rec, f"SET GLOBAL clone_valid_donor_list = '{don.host}:{don.port}'")
        e = await expect_error(w, rec, clone_sql(don, "bad"), 3862)
        assert "Connect failed: 1045" in e.message
        await q(w, don, "CREATE USER 'nb'@'%' IDENTIFIED BY 'x'")
        e = await expect_error(
            w, rec, f"CLONE INSTANCE FROM 'nb'@'{don.host}':{don.port} IDENTIFIED BY 'x'", 3862
        )
        assert "BACKUP_ADMIN" in e.message
        await q(w, v84, f"SET GLOBAL clone_valid_donor_list = '{don.host}:{don.port}'")
        await expect_error(w, v84, clone_sql(don), 3864)
        await q(w, rec, "UNINSTALL PLUGIN clone")
        await expect_error(w, rec, clone_sql(don), 1524)
        assert repl(rec).clone_count == 0


async def test_full_clone_progress_restart_and_state(tmp_path: Path) -> None:
    async with running(world(), tmp_path) as w:
        don, rec = w.sites["don"].members[0], w.sites["rec"].members[0]
        uuid, sid = rec.server_uuid, rec.server_id
        await q(w, rec, "CREATE DATABASE recipient_only")
        await q(w, rec, f"SET GLOBAL clone_valid_donor_list = '{don.host}:{don.port}'")
        s = w.internal_session(rec)
        task = asyncio.ensure_future(s.execute(clone_sql(don)))

        def copying() -> bool:
            run = repl(rec).clone
            return run is not None and run.stages[1].state == "In Progress" and run.stages[1].data > 0

        await wait_for(copying, what="FILE COPY progress")
        second = w.internal_session(rec)
        try:
            await second.execute(clone_sql(don))
            raise AssertionError("a second concurrent clone must be refused")
        except MySQLError as e:
            assert e.code == 3634
        try:
            await task
        except MySQLError as e:
            assert e.code in (1053, 2013)
        await wait_for(lambda: clone_state(rec) == "Completed", what="done")
        await wait_for(lambda: rec.running, what="restarted")
        assert rec.server_uuid == uuid and rec.server_id == sid
        assert rec.gtid_executed == don.gtid_executed and rec.gtid_purged == don.gtid_executed
        assert (await q(w, rec, "SELECT v FROM app.t")).rows == [("a",)]
        assert not rec.engine.schema_exists("recipient_only")
        rows = (await q(w, rec, "SELECT STAGE, STATE FROM performance_schema.clone_progress")).rows
        assert [r[0] for r in rows] == [
            "DROP DATA",
            "FILE COPY",
            "PAGE COPY",
            "REDO COPY",
            "FILE SYNC",
            "RESTART",
            "RECOVERY",
        ]
        assert {r[1] for r in rows} == {"Completed"}
        assert repl(rec).clone_count == 1


async def test_kill_query_cancels_a_running_clone(tmp_path: Path) -> None:
    async with running(world(time_scale=100.0), tmp_path) as w:
        don, rec = w.sites["don"].members[0], w.sites["rec"].members[0]
        await q(w, rec, f"SET GLOBAL clone_valid_donor_list = '{don.host}:{don.port}'")
        s = w.internal_session(rec)
        task = asyncio.ensure_future(s.execute(clone_sql(don)))
        await wait_for(lambda: stage_state(rec, 1) == "In Progress", what="FILE COPY")
        task.cancel()  # what KILL QUERY does to the statement's task
        try:
            await task
        except (asyncio.CancelledError, MySQLError):
            pass
        run = repl(rec).clone
        assert run is not None and run.state == "Failed" and run.error_no == 1317
        assert await q1(w, rec, "SELECT ERROR_NO FROM performance_schema.clone_status") == 1317
