"""Group Replication single-primary (manual chapter 20) on the ``innodb_cluster`` site mode: the view,
roles and super_read_only, group GTIDs, synchronous shipping, election after a crash, loss of quorum,
set_as_primary, member actions, leaving and rejoining, clone-based recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repl_helpers import SEED, expect_error, q, q1, running, topology, wait_for

from mysqlsim.replication import group


def cluster(members: int = 3, **extra: Any) -> dict[str, Any]:
    return topology(
        {"name": "dc1", "members": members, "mode": "innodb_cluster", "seed_sql": SEED, **extra},
        time_scale=4000.0,
    )


def roles(inst: Any) -> dict[str, tuple[str, str]]:
    return {r[2]: (r[4], r[5]) for r in group.members_rows(inst)}


async def test_cluster_as_the_shell_leaves_it(tmp_path: Path) -> None:
    async with running(cluster(), tmp_path) as w:
        m = w.sites["dc1"].members
        assert roles(m[1]) == {
            m[0].host: ("ONLINE", "PRIMARY"),
            m[1].host: ("ONLINE", "SECONDARY"),
            m[2].host: ("ONLINE", "SECONDARY"),
        }
        assert [await q1(w, x, "SELECT @@global.super_read_only") for x in m] == [0, 1, 1]
        await expect_error(w, m[1], "INSERT INTO app.t VALUES (2, 'x')", 1290)
        name = await q1(w, m[0], "SELECT @@group_replication_group_name")
        await q(w, m[0], "INSERT INTO app.t VALUES (2, 'p')")
        # synchronous: acknowledged means applied on every ONLINE member
        for x in m[1:]:
            assert (await q(w, x, "SELECT v FROM app.t WHERE id = 2")).rows == [("p",)]
        assert m[0].gtid_executed.last(name) == m[2].gtid_executed.last(name) > 0
        vcu = await q1(w, m[0], "SELECT @@group_replication_view_change_uuid")
        assert set(m[0].gtid_executed.uuids()) <= {name, vcu, m[0].server_uuid}
        assert m[0].gtid_executed.last(vcu) == 3  # one view change per join (bootstrap + 2 joins)
        users = {r[0] for r in (await q(w, m[2], "SELECT User FROM mysql.user")).rows}
        assert {f"mysql_innodb_cluster_{x.server_id}" for x in m} <= users
        assert await q1(w, m[2], "SELECT COUNT(*) FROM mysql_innodb_cluster_metadata.v2_instances") == 3
        assert (
            await q1(w, m[2], "SELECT group_name FROM mysql_innodb_cluster_metadata.v2_gr_clusters") == name
        )


async def test_crash_of_the_primary_elects_and_quorum_loss_blocks(tmp_path: Path) -> None:
    async with running(cluster(), tmp_path) as w:
        m = w.sites["dc1"].members
        for x in m:
            await q(w, x, "SET GLOBAL group_replication_member_expel_timeout = 0")
        await w.kill(m[0].host)
        survivors = m[1:]
        new = await wait_for(
            lambda: next(
                (x for x in survivors if roles(survivors[0]).get(x.host, ("", ""))[1] == "PRIMARY"), None
            ),
            limit_s=20,
            what="election",
        )
        assert new is min(survivors, key=lambda x: x.server_uuid)
        await wait_for(lambda: not new.variables.get_raw("super_read_only"), what="new primary writable")
        other = next(x for x in survivors if x is not new)
        w.partition([new.host], [other.host])
        s = w.internal_session(new)
        import asyncio

        task = asyncio.ensure_future(s.execute("INSERT INTO app.t VALUES (3, 'no quorum')"))
        await wait_for(lambda: roles(new)[other.host][0] == "UNREACHABLE", what="UNREACHABLE")
        await asyncio.sleep(0.3)
        assert not task.done(), "a member without quorum must block commits"
        w.heal()
        await wait_for(task.done, what="commit after heal")
        assert (await q(w, other, "SELECT v FROM app.t WHERE id = 3")).rows == [("no quorum",)]
        await w.start_instance(m[0].host)
        await wait_for(lambda: roles(new).get(m[0].host, ("", ""))[0] == "ONLINE", what="rejoin on boot")
        assert roles(new)[m[0].host][1] == "SECONDARY"


async def test_set_as_primary_and_member_actions(tmp_path: Path) -> None:
    async with running(cluster(), tmp_path) as w:
        m = w.sites["dc1"].members
        action = "mysql_disable_super_read_only_if_primary"
        await expect_error(
            w,
            m[1],
            f"SELECT group_replication_disable_member_action('{action}', 'AFTER_PRIMARY_ELECTION')",
            3910,
        )
        assert (
            await q1(
                w,
                m[0],
                f"SELECT group_replication_disable_member_action('{action}', 'AFTER_PRIMARY_ELECTION')",
            )
            == "OK"
        )
        assert (
            await q1(
                w,
                m[2],
                "SELECT ENABLED FROM performance_schema.replication_group_member_actions WHERE "
                f"NAME='{action}'",
            )
            == 0
        )
        out = await q1(w, m[0], f"SELECT group_replication_set_as_primary('{m[1].server_uuid}')")
        assert out == f"Primary server switched to: {m[1].server_uuid}"
        assert roles(m[2])[m[1].host][1] == "PRIMARY"
        assert await q1(w, m[1], "SELECT @@global.super_read_only") == 1  # the action is disabled
        await expect_error(w, m[0], "SELECT group_replication_reset_member_actions()", 3910)
        await expect_error(w, m[0], "START GROUP_REPLICATION", 3093)


async def test_leave_rejoin_incremental_then_clone_when_purged(tmp_path: Path) -> None:
    async with running(cluster(dataset_bytes=50_000_000), tmp_path) as w:
        m = w.sites["dc1"].members
        await q(w, m[2], "STOP GROUP_REPLICATION")
        assert group.member_state(m[2]) == "OFFLINE" and m[2].variables.get_raw("super_read_only")
        assert m[2].host not in roles(m[0])
        await q(w, m[0], "INSERT INTO app.t VALUES (10, 'missed')")
        await q(w, m[2], "START GROUP_REPLICATION")
        await wait_for(lambda: group.member_state(m[2]) == "ONLINE", what="incremental recovery")
        from mysqlsim.replication.state import repl

        assert repl(m[2]).clone_count == 0
        await q(w, m[2], "STOP GROUP_REPLICATION")
        await q(w, m[0], "INSERT INTO app.t VALUES (11, 'purged')")
        for x in m[:2]:
            w.purge_binary_logs(x.host)
        await q(w, m[2], "START GROUP_REPLICATION")
        await wait_for(lambda: repl(m[2]).clone_count == 1, what="clone chosen")
        await wait_for(lambda: group.member_state(m[2]) == "ONLINE", limit_s=30, what="ONLINE after clone")
        assert (await q(w, m[2], "SELECT v FROM app.t WHERE id = 11")).rows == [("purged",)]
        assert await q1(w, m[2], "SELECT STATE FROM performance_schema.clone_status") == "Completed"


async def test_force_members_restores_quorum_on_the_minority(tmp_path: Path) -> None:
    async with running(cluster(), tmp_path) as w:
        m = w.sites["dc1"].members
        await w.kill(m[1].host)
        await w.kill(m[2].host)
        await wait_for(lambda: roles(m[0])[m[1].host][0] == "UNREACHABLE", what="UNREACHABLE")
        assert not group.has_quorum(m[0])
        await expect_error(w, m[0], "SET GLOBAL group_replication_force_members = 'nope:1'", 1231)
        addr = await q1(w, m[0], "SELECT @@group_replication_local_address")
        await q(w, m[0], f"SET GLOBAL group_replication_force_members = '{addr}'")
        assert roles(m[0]) == {m[0].host: ("ONLINE", "PRIMARY")}
        await q(w, m[0], "INSERT INTO app.t VALUES (20, 'forced')")
        await q(w, m[0], "SET GLOBAL group_replication_force_members = ''")


async def test_group_members_table_exists_without_the_plugin(tmp_path: Path) -> None:
    """RM "The replication_group_members Table": a Performance Schema table of the server, so a server
    without the Group Replication plugin answers with no rows, not with 1146."""
    async with running(topology({"name": "solo", "members": 1, "mode": "empty"}), tmp_path) as w:
        solo = w.sites["solo"].members[0]
        if (
            await q(
                w,
                solo,
                "SELECT PLUGIN_NAME FROM information_schema.plugins WHERE PLUGIN_NAME = 'group_replication'",
            )
        ).rows:
            await q(w, solo, "UNINSTALL PLUGIN group_replication")
        assert (await q(w, solo, "SELECT * FROM performance_schema.replication_group_members")).rows == []
        assert (
            await q(w, solo, "SELECT * FROM performance_schema.replication_group_member_stats")
        ).rows == []
