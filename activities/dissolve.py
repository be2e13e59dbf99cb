"""Dissolve the ClusterSet when the CR is deleted: remove every replica cluster, then dissolve on the primary.

Why it exists: MySQL Shell 8.4 has no `ClusterSet.dissolve()` (spec §2.e); the procedure is removeCluster
for each replica, then work on the primary cluster. We chose NOT to run `cluster.dissolve()` on the
primary cluster (which would stop its group and take the application's primary site down): the primary
keeps its InnoDB Cluster, its group and its data, and loses only the ClusterSet: the ClusterSet rows of
the metadata (the reverse of createClusterSet, 2.a step 6), the other clusters' rows, the
`mysql_innodb_cs_*` accounts, any clusterset_replication channel and the ClusterSet settings
(skip_replica_start back OFF). The site's operator then sees a plain InnoDB Cluster.

Replica clusters are removed with the steps of activities.remove (prefixed `<cluster>.`); with
`force`, unreachable replicas are removed from the metadata only. The steps are built from the spec's
clusters, the primary's own removal steps being "done" by their probes.
"""

from __future__ import annotations

from activities import cs_topology as t
from activities import primitives as p
from activities import sql
from activities.errors import FailedPrecondition, InvalidTopology
from activities.models import OperationKind, OperationRequest
from activities.remove import removal_steps
from activities.steps import Step, StepContext, operation


async def _primary_without_clusterset(ctx: StepContext) -> str | None:
    """The primary cluster once its ClusterSet rows are gone: the spec cluster whose metadata has none."""
    for c in ctx.spec.clusters:
        got = await t.primary_or_none(ctx, c.innodb_cluster_name)
        if got is None:
            continue
        async with ctx.cluster(c.innodb_cluster_name).endpoint_session(got[0]) as s:
            if await p.clusterset_id(s) is None and await p.metadata_version(s) is not None:
                if not await p.super_read_only(s):
                    return c.innodb_cluster_name
    return None


async def _pc(ctx: StepContext) -> str | None:
    try:
        topo = await t.read_topology(ctx)
    except InvalidTopology:  # no ClusterSet metadata left anywhere: dissolved already
        return await _primary_without_clusterset(ctx)
    return topo.primary_cluster


async def _is_pc(ctx: StepContext, name: str) -> bool:
    return await _pc(ctx) == name


async def probe_md(ctx: StepContext) -> bool:
    pc = await _pc(ctx)
    if pc is None:
        return True
    ep = await t.require_primary(ctx, pc)
    async with ctx.cluster(pc).endpoint_session(ep) as s:
        return await p.clusterset_id(s) is None


async def act_md(ctx: StepContext) -> None:
    topo = await t.read_topology(ctx)
    pc = topo.primary_cluster
    if pc is None:
        raise FailedPrecondition("the ClusterSet has no primary cluster to dissolve on", where="")
    others = [n for n in topo.members if n != pc]
    if others:
        raise FailedPrecondition(
            f"replica clusters {', '.join(others)} are still members; they must be removed first", where=pc
        )
    ep = await t.require_primary(ctx, pc)
    async with ctx.cluster(pc).endpoint_session(ep) as s:
        for r in await s.fetch_all(sql.ALL_ACCOUNTS):
            if p.as_str(r["user"]).startswith(sql.CS_ACCOUNT_PREFIX):
                await s.execute(sql.drop_user(p.as_str(r["user"]), p.as_str(r["host"])))
        pc_id = topo.cluster_id(pc)
        await p.in_transaction(s, sql.md_dissolve_clusterset(topo.cs_id, pc_id))
    ctx.cache.pop("topology", None)


async def probe_settings(ctx: StepContext) -> bool:
    pc = await _pc(ctx)
    if pc is None:
        return True
    acc = ctx.cluster(pc)
    for ep, m in await t.online_members(ctx, pc):
        async with acc.endpoint_session(ep) as s:
            if (await p.channel_status(s)).exists or await p.managed_sources(s):
                return False
            if p.as_str(await p.persisted(s, "skip_replica_start")).upper() not in ("OFF", "0"):
                return False
            if m.role == "PRIMARY" and not (await p.member_actions(s)).get(sql.ACTION_SRO, True):
                return False
    return True


async def act_settings(ctx: StepContext) -> None:
    pc = await _pc(ctx)
    if pc is None:
        return
    acc = ctx.cluster(pc)
    for ep, m in await t.online_members(ctx, pc):
        async with acc.endpoint_session(ep) as s:
            await p.remove_channel(s)
            await s.execute(sql.set_persist_only("skip_replica_start", False))
            if m.role == "PRIMARY":
                await p.set_member_action(s, sql.ACTION_SRO, enable=True)
                await p.delete_managed(s)


@operation(OperationKind.DISSOLVE)
def dissolve_steps(req: OperationRequest) -> list[Step]:
    steps: list[Step] = []
    for c in req.spec.clusters:
        steps.extend(
            removal_steps(c.innodb_cluster_name, prefix=f"{c.innodb_cluster_name}.", is_primary=_is_pc)
        )
    steps.append(
        Step(
            "primary_metadata",
            "on the primary cluster: drop the ClusterSet rows and the mysql_innodb_cs_* accounts (its "
            "InnoDB Cluster, group and data stay)",
            probe=probe_md,
            act=act_md,
        )
    )
    steps.append(
        Step(
            "primary_settings",
            "on the primary cluster: no clusterset_replication channel, skip_replica_start OFF",
            probe=probe_settings,
            act=act_settings,
        )
    )
    return steps
