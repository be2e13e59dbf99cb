"""createClusterSet (spec 2.a) as steps: make spec.primaryCluster's InnoDB Cluster the primary cluster of
a new ClusterSet whose domain name is the CR's name.

Steps and their probes (spec §8):
  validate           done when the metadata already shows a ClusterSet with this cluster PRIMARY
  promote            CH absent on every ONLINE member, SRO-if-primary action enabled, no managed list
  skip_replica_start persisted skip_replica_start=ON on every ONLINE member
  cs_account         mysql.user has mysql_innodb_cs_<hex(server_id)>@'%' and clusters.attributes names it
  metadata           v2_cs_members lists the cluster as PRIMARY (the v2_cs_created CALL adds a view, so it
                     runs only when the probe says so)
"""

from __future__ import annotations

from activities import primitives as p
from activities import sql
from activities.common import Primary, cluster_primary, online_members, require_md_cluster, resolve_ssl_mode
from activities.errors import (
    GtidModeOff,
    IllegalChannel,
    InvalidTopology,
    NonRetryableError,
)
from activities.models import OperationKind, OperationRequest
from activities.steps import Step, StepContext, no_outputs, operation
from activities.version_rules import check_minimum

ALLOWED_CHANNELS_AT_CREATE = {
    "group_replication_applier",
    "group_replication_recovery",
    sql.CREATING_CHANNEL,
    "",
}


async def _pc(ctx: StepContext) -> Primary:
    return await cluster_primary(ctx, ctx.spec.primary_cluster)


async def _clusterset_done(ctx: StepContext) -> bool:
    prim = await _pc(ctx)
    async with prim.session() as s:
        members = await p.cs_members(s)
    name = ctx.spec.primary_cluster.lower()
    return any(
        m.cluster_name.lower() == name and m.member_role == "PRIMARY" and not m.invalidated for m in members
    )


async def _validate_probe(ctx: StepContext) -> bool:
    return await _clusterset_done(ctx)


async def _validate(ctx: StepContext) -> dict[str, str]:
    prim = await _pc(ctx)
    where = prim.endpoint.address
    async with prim.session() as s:
        await p.require_metadata(s, where=where)
        info = await p.instance_info(s)
        if info.gtid_mode != "ON" or info.enforce_gtid_consistency != "ON":
            raise GtidModeOff(
                f"{where} has gtid_mode={info.gtid_mode}, "
                f"enforce_gtid_consistency={info.enforce_gtid_consistency}; "
                "both must be ON",
                where=where,
            )
        spm = await p.gvar(s, "group_replication_single_primary_mode")
        if spm is not None and not p.as_bool(spm):
            raise InvalidTopology(
                f"cluster {prim.name} runs multi-primary; ClusterSet needs single-primary", where=where
            )
        md = await require_md_cluster(s, prim.name, where=where)
        members = await p.cs_members(s)
        if md.clusterset_id or members:
            primary = next((m.cluster_name for m in members if m.member_role == "PRIMARY"), "?")
            raise InvalidTopology(
                f"cluster {prim.name} already belongs to a ClusterSet (primary cluster {primary}); adopt it "
                "instead of bootstrapping (or remove it from that ClusterSet first)",
                where=where,
            )
        lowest = info.version_tuple
        vcu = await p.gvar(s, "group_replication_view_change_uuid")
        ssl = await resolve_ssl_mode(s, ctx.spec.ssl_mode)
    for ep, m in await online_members(prim.access):
        check_minimum(m.version or info.version, where=ep.address)
        lowest = min(lowest, p.parse_version(m.version) if m.version else lowest)
        async with prim.access.endpoint_session(ep) as ms:
            illegal = [c for c in await p.channels(ms) if c not in ALLOWED_CHANNELS_AT_CREATE]
        if illegal:
            raise IllegalChannel(
                f"{ep.address} has replication channel(s) {', '.join(illegal)}; a cluster with other "
                "channels "
                "cannot become a ClusterSet primary. Remove them (RESET REPLICA ALL FOR CHANNEL ...)",
                where=ep.address,
            )
    if lowest < (8, 3, 0) and (not vcu or vcu.upper() == "AUTOMATIC" or md.view_change_uuid != vcu):
        raise NonRetryableError(
            f"cluster {prim.name}: group_replication_view_change_uuid is {vcu!r} and the metadata holds "
            f"{md.view_change_uuid!r}; below 8.3.0 it must be set and recorded. Run cluster.rescan() "
            "in MySQL "
            "Shell (it sets and records it), then retry.",
            where=prim.name,
        )
    return {"ssl_mode": ssl, "primary_cluster_id": md.cluster_id}


async def _promote_probe(ctx: StepContext) -> bool:
    prim = await _pc(ctx)
    for ep, _m in await online_members(prim.access):
        async with prim.access.endpoint_session(ep) as s:
            if (await p.channel_status(s)).exists:
                return False
    async with prim.session() as s:
        if await p.super_read_only(s):
            return False
        if (await p.member_actions(s)).get(sql.ACTION_SRO) is False:
            return False
        return not await p.managed_sources(s)


async def _promote(ctx: StepContext) -> None:
    """promote_to_primary(cluster, preserve_channel=false) (spec 1.13)."""
    prim = await _pc(ctx)
    async with prim.session() as s:
        await p.stop_channel(s)
    for ep, _m in await online_members(prim.access):
        async with prim.access.endpoint_session(ep) as s:
            await p.remove_channel(s)
    async with prim.session() as s:
        await p.unfence(s)
        await p.set_member_action(s, sql.ACTION_SRO, enable=True)
        await p.delete_managed(s)


async def _skip_start_probe(ctx: StepContext) -> bool:
    prim = await _pc(ctx)
    for ep, _m in await online_members(prim.access):
        async with prim.access.endpoint_session(ep) as s:
            if not p.as_bool(await p.persisted(s, "skip_replica_start")):
                return False
    return True


async def _skip_start(ctx: StepContext) -> None:
    prim = await _pc(ctx)
    for ep, _m in await online_members(prim.access):
        async with prim.access.endpoint_session(ep) as s:
            await s.execute(sql.set_persist_only("skip_replica_start", True))


async def _cs_account_names(ctx: StepContext) -> tuple[str, str]:
    prim = await _pc(ctx)
    async with prim.session() as s:
        info = await p.instance_info(s)
    return sql.cs_account_name(info.server_id), "%"


async def _cs_account_probe(ctx: StepContext) -> bool:
    user, host = await _cs_account_names(ctx)
    prim = await _pc(ctx)
    async with prim.session() as s:
        if host not in await p.account_hosts(s, user):
            return False
        md = await require_md_cluster(s, prim.name, where=prim.endpoint.address)
        return md.repl_user == user and md.repl_host == host


async def _cs_account(ctx: StepContext) -> None:
    user, host = await _cs_account_names(ctx)
    prim = await _pc(ctx)
    async with prim.session() as s:
        await p.ensure_account(s, user, host, ctx.internal_password(user), sql.CS_ACCOUNT_GRANTS)
        md = await require_md_cluster(s, prim.name, where=prim.endpoint.address)
        await s.execute(sql.md_set_cluster_account(md.cluster_id, user, host))


async def _metadata_probe(ctx: StepContext) -> bool:
    return await _clusterset_done(ctx)


async def _metadata(ctx: StepContext) -> dict[str, str]:
    prim = await _pc(ctx)
    async with prim.session() as s:
        md = await require_md_cluster(s, prim.name, where=prim.endpoint.address)
        ssl = ctx.context("ssl_mode") or await resolve_ssl_mode(s, ctx.spec.ssl_mode)
        await s.execute(sql.BEGIN)
        try:
            for st in sql.md_cleanup_for_cluster(md.cluster_id):
                await s.execute(st)
            await s.execute(sql.md_cs_created(ctx.req.clusterset.name, md.cluster_id))
            cs_id = p.as_str(await s.scalar(sql.SELECT_CS_ID))
            if not cs_id:  # the OUT parameter did not arrive: the cleanup left exactly this one row
                cs_id = await p.clusterset_id(s) or ""
            for key, value in (
                ("opt_clusterSetReplicationSslMode", f'"{ssl}"'),
                ("opt_memberAuthType", '"PASSWORD"'),
                ("opt_certIssuer", '""'),
                ("opt_replicationAllowedHost", '"%"'),
            ):
                await s.execute(sql.md_clusterset_attribute(cs_id, key, value))
            await s.execute(sql.md_routers_to_clusterset(cs_id, md.cluster_id))
            for key, json_value in sql.CLUSTERSET_ROUTER_DEFAULTS:
                await s.execute(sql.md_clusterset_router_option(cs_id, key, json_value))
            await s.execute(sql.COMMIT)
        except BaseException:
            await s.execute(sql.ROLLBACK)
            raise
    return {"clusterset_id": cs_id, "primary_cluster_id": md.cluster_id}


@operation(OperationKind.BOOTSTRAP)
def bootstrap_steps(req: OperationRequest) -> list[Step]:
    pc = req.spec.primary_cluster
    return [
        Step(
            "validate",
            f"check that InnoDB Cluster {pc} can become a ClusterSet primary",
            _validate_probe,
            _validate,
        ),
        Step(
            "promote", f"clear replication channels and fencing on {pc}", _promote_probe, no_outputs(_promote)
        ),
        Step(
            "skip_replica_start",
            f"persist skip_replica_start=ON on {pc}'s members",
            _skip_start_probe,
            no_outputs(_skip_start),
        ),
        Step(
            "cs_account",
            f"create {pc}'s ClusterSet replication account",
            _cs_account_probe,
            no_outputs(_cs_account),
        ),
        Step(
            "metadata",
            f"record ClusterSet {req.clusterset.name} with primary {pc}",
            _metadata_probe,
            _metadata,
        ),
    ]
