"""H-ops-B's operations without servers: the registered step lists (their names are what a resumed
workflow looks up), the GTID consistency rules of spec §1.12, and the statement text of section 10."""

from __future__ import annotations

import pytest

from activities import sql
from activities.cs_topology import consistency, raise_if_inconsistent
from activities.errors import DivergedGtids, InvalidRequest, PurgedTransactions
from activities.gtid import GtidSet
from activities.models import ClusterSetRef, OperationKind, OperationRequest
from activities.steps import build_steps, registered_kinds
from api.models import ClusterSetSpec

A = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
B = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
V = "cccccccc-cccc-cccc-cccc-cccccccccccc"

SPEC = ClusterSetSpec.model_validate(
    {
        "primaryCluster": "dc1",
        "credentialsSecret": {"name": "s"},
        "clusters": [
            {"innodbClusterName": n, "endpoints": [{"host": f"127.0.9.{i}", "port": 3306}]}
            for i, n in enumerate(("dc1", "dc2", "dc3"), start=1)
        ],
    }
)


def req(kind: OperationKind, target: str | None = "dc2") -> OperationRequest:
    return OperationRequest(
        kind=kind,
        clusterset=ClusterSetRef(namespace="ns", name="cs", uid="u"),
        spec=SPEC,
        target_cluster=target,
    )


def names(kind: OperationKind, target: str | None = "dc2") -> list[str]:
    return [s.name for s in build_steps(req(kind, target))]


def test_operations_are_registered_with_stable_step_names() -> None:
    kinds = set(registered_kinds())
    for kind in (
        OperationKind.SWITCHOVER,
        OperationKind.FAILOVER,
        OperationKind.FENCE,
        OperationKind.REJOIN,
        OperationKind.REMOVE,
        OperationKind.DISSOLVE,
    ):
        assert kind in kinds
    assert names(OperationKind.SWITCHOVER) == [
        "check",
        "replication_account",
        "sync_target",
        "switch_metadata",
        "demote_old_primary",
        "lock_and_sync",
        "promote_target",
        "repoint_replicas",
        "reset_target_channel",
    ]
    assert names(OperationKind.FAILOVER) == [
        "check",
        "promote_target",
        "force_metadata",
        "repoint_replicas",
        "report_lost",
        "fence_old_primary",
    ]
    assert names(OperationKind.FENCE, "dc1") == ["fence_members", "disable_sro_action"]
    assert names(OperationKind.REJOIN) == [
        "fence",
        "check",
        "reboot_group",
        "rejoin_members",
        "reconcile_view_changes",
        "rejoin_metadata",
        "replica_channel",
        "sync",
    ]
    removal = [
        "check",
        "sync_before",
        "restore_settings",
        "metadata",
        "sync_after",
        "remove_channel",
        "dissolve_group",
    ]
    assert names(OperationKind.REMOVE) == removal
    dissolve = names(OperationKind.DISSOLVE, None)
    assert dissolve == [f"{c}.{s}" for c in ("dc1", "dc2", "dc3") for s in removal] + [
        "primary_metadata",
        "primary_settings",
    ]


def test_consistency_splits_errant_view_changes_and_purged() -> None:
    primary = GtidSet.parse(f"{A}:1-100")
    joining = GtidSet.parse(f"{A}:1-90,{B}:1-2,{V}:1-3")
    c = consistency(joining=joining, primary=primary, purged=GtidSet.parse(f"{A}:1-95"), allowed_uuids={V})
    assert c.errant == GtidSet.parse(f"{B}:1-2")
    assert c.missing_view == GtidSet.parse(f"{V}:1-3")
    assert c.missing == GtidSet.parse(f"{A}:91-100")
    assert c.unrecoverable == GtidSet.parse(f"{A}:91-95")
    with pytest.raises(DivergedGtids) as err:
        raise_if_inconsistent(c, cluster="dc3", primary_cluster="dc1", doing="rejoin the ClusterSet")
    assert err.value.errant == f"{B}:1-2"
    assert f"{B}:1-2" in str(err.value) and "dc3" in str(err.value)


def test_consistency_unrecoverable_without_errant() -> None:
    c = consistency(
        joining=GtidSet.parse(f"{A}:1-10"),
        primary=GtidSet.parse(f"{A}:1-20"),
        purged=GtidSet.parse(f"{A}:1-15"),
        allowed_uuids=set(),
    )
    assert not c.errant
    with pytest.raises(PurgedTransactions, match="11-15"):
        raise_if_inconsistent(c, cluster="dc2", primary_cluster="dc1", doing="become the primary")
    ok = consistency(
        joining=GtidSet.parse(f"{A}:1-10"),
        primary=GtidSet.parse(f"{A}:1-20"),
        purged=GtidSet(),
        allowed_uuids=set(),
    )
    raise_if_inconsistent(ok, cluster="dc2", primary_cluster="dc1", doing="become the primary")


def test_section_10_statements() -> None:
    assert sql.change_source_host_port(host="10.0.0.1", port=3306, auto_failover=True) == (
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST = '10.0.0.1', SOURCE_PORT = 3306, "
        "SOURCE_CONNECT_RETRY = 3, SOURCE_RETRY_COUNT = 10, SOURCE_CONNECTION_AUTO_FAILOVER = 1, "
        "SOURCE_AUTO_POSITION = 1 "
        "FOR CHANNEL 'clusterset_replication'"
    )
    assert sql.stop_replica_receiver() == "STOP REPLICA IO_THREAD FOR CHANNEL 'clusterset_replication'"
    assert sql.start_replica_applier() == "START REPLICA SQL_THREAD FOR CHANNEL 'clusterset_replication'"
    assert sql.md_cs_primary_force_changed("cs'1", "c2") == (
        "CALL mysql_innodb_cluster_metadata.v2_cs_primary_force_changed('cs''1', 'c2', '{}')"
    )
    assert sql.set_gtid_next(f"{A}:5") == f"SET gtid_next = '{A}:5'"
    assert sql.leave_cluster()[0] == "SET PERSIST `group_replication_start_on_boot` = 'OFF'"
    assert "DELETE FROM mysql_innodb_cluster_metadata.clustersets WHERE clusterset_id = 'x'" in (
        sql.md_dissolve_clusterset("x", "p")
    )


async def test_unknown_target_is_a_clear_error() -> None:
    from harness import make_env

    from activities.models import StepInput
    from activities.steps import run_step

    env = make_env()
    try:
        with pytest.raises(InvalidRequest, match="dc9"):
            await run_step(StepInput(request=req(OperationKind.FENCE, "dc9"), step="fence_members"), env=env)
    finally:
        await env.close()
