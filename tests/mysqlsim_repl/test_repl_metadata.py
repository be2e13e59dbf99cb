"""mysql_innodb_cluster_metadata 2.x (spec §5): the rows createCluster leaves, the v2_* views, and the
v2_cs_* procedures with their view-id rules (+1 per change, +2^32 on a forced primary change)."""

from __future__ import annotations

from pathlib import Path

from repl_helpers import SEED, q, q1, running, topology, wait_for

MD = "mysql_innodb_cluster_metadata"


async def test_metadata_and_clusterset_procedures(tmp_path: Path) -> None:
    topo = topology(
        {"name": "dc1", "members": 2, "mode": "innodb_cluster", "seed_sql": SEED, "cluster_name": "one"},
        {"name": "dc2", "members": 1, "mode": "innodb_cluster", "cluster_name": "two"},
    )
    async with running(topo, tmp_path) as w:
        p = w.sites["dc1"].members[0]
        s = w.sites["dc1"].members[1]
        assert (await q(w, p, f"SELECT major, minor, patch FROM {MD}.schema_version")).rows == [(2, 2, 0)]
        cid = await q1(w, p, f"SELECT cluster_id FROM {MD}.v2_gr_clusters WHERE cluster_name = 'one'")
        this = await q(w, s, f"SELECT cluster_name FROM {MD}.v2_this_instance")
        assert this.rows == [("one",)]
        # a second cluster row as createReplicaCluster would write it on the primary
        await q(
            w,
            p,
            f"INSERT INTO {MD}.clusters (cluster_id, cluster_name, cluster_type, primary_mode, attributes) "
            "VALUES ('c2', 'two', 'gr', 'pm', '{}')",
        )
        await q(w, p, f"CALL {MD}.v2_cs_created('dom', '{cid}', '{{}}', @cs)")
        cs_id = await q1(w, p, f"SELECT clusterset_id FROM {MD}.clustersets")
        assert await q1(w, p, "SELECT @cs") is None  # another session: user variables are per session
        sess = w.internal_session(p)
        await sess.execute(f"CALL {MD}.v2_cs_created('dom2', 'c2', '{{}}', @_cs_id)")
        assert (await sess.execute("SELECT @_cs_id")).rows[0][0] is not None
        await sess.execute(f"DELETE FROM {MD}.clusterset_members WHERE cluster_id = 'c2'")
        await sess.execute(f"DELETE FROM {MD}.clusterset_views WHERE clusterset_id <> '{cs_id}'")
        await sess.execute(f"DELETE FROM {MD}.clustersets WHERE clusterset_id <> '{cs_id}'")
        await q(w, p, f"CALL {MD}.v2_cs_member_added('{cs_id}', 'c2', '{cid}', '{{}}')")
        rows = (
            await q(
                w,
                p,
                f"SELECT cluster_name, member_role, invalidated, view_id FROM {MD}.v2_cs_members "
                "ORDER BY cluster_name",
            )
        ).rows
        assert rows == [("one", "PRIMARY", 0, 2), ("two", "REPLICA", 0, 2)]
        await q(w, p, "START TRANSACTION")
        await q(w, p, f"CALL {MD}.v2_cs_primary_force_changed('{cs_id}', 'c2', '{{}}')")
        await q(w, p, f"CALL {MD}.v2_cs_add_invalidated_member('{cs_id}', '{cid}')")
        await q(w, p, "COMMIT")
        rows = (
            await q(
                w,
                p,
                f"SELECT cluster_name, member_role, invalidated, view_id FROM {MD}.v2_cs_members "
                "ORDER BY cluster_name",
            )
        ).rows
        assert rows == [("one", None, 1, 2 + 2**32), ("two", "PRIMARY", 0, 2 + 2**32)]
        assert await q1(w, p, f"SELECT view_id FROM {MD}.v2_cs_clustersets") == 2 + 2**32
        # it is ordinary data: it reached the secondary through the group
        await wait_for(lambda: p.gtid_executed.is_subset(s.gtid_executed), what="replicated")
        assert await q1(w, s, f"SELECT COUNT(*) FROM {MD}.clusterset_views") == 3
