"""Growing a replica site's group with its further instances (spec 2.b "Further members", seed 002), for
clusters whose `manageMembers` is true.

Every endpoint after the first that is not yet an ONLINE member of the site's group is joined with
clone-based distributed recovery: the joiner gets `group_replication_clone_threshold = 1`, so GR clones
it from a member of its own site (not across the WAN), restarts it and brings it ONLINE because
`group_replication_start_on_boot` is persisted ON. Three steps per member k (k = endpoint index):
  prepare_k   probe: k ONLINE, or its recovery account is on GP and its channel/variables are set
  join_k      probe: k ONLINE in the site's group (long running: waits through the clone and restart)
  metadata_k  probe: GP's metadata has k's instance row
"""

from __future__ import annotations

from activities import primitives as p
from activities import sql
from activities.common import (
    Primary,
    cluster_primary,
    clusterset_ssl_mode,
    global_primary,
    is_online_in_group,
    md_cluster_by_name,
    resolve_ssl_mode,
    ssl_clause_for,
)
from activities.connections import ClusterAccess, group_members
from activities.errors import ClusterSetError, InvalidTopology, NotStandalone
from activities.join import _install_clone_plugin, gr_settings, local_address, recovery_grants, sync_to_gp
from activities.models import CloneProgress, OperationKind, OperationRequest
from activities.steps import ActFn, ProbeFn, Step, StepContext, no_outputs, operation
from api.models import Endpoint


def _member(ctx: StepContext, index: int) -> tuple[ClusterAccess, Endpoint]:
    access = ctx.cluster(ctx.target)
    return access, access.endpoints[index]


async def _rp(ctx: StepContext) -> Primary:
    return await cluster_primary(ctx, ctx.target)


async def _online(ctx: StepContext, index: int) -> bool:
    access, ep = _member(ctx, index)
    rp = await _rp(ctx)
    async with rp.session() as s:
        group = await p.gvar(s, "group_replication_group_name") or ""
    async with access.endpoint_session(ep) as s:
        return await is_online_in_group(s, group_name=group)


async def _group_seeds(ctx: StepContext, rp: Primary) -> str:
    seeds = []
    _, members = await rp.access.any_member_view()
    for m in members:
        if m.state == "ONLINE":
            ep = rp.access.endpoint_for(m)
            if ep is None:
                continue
            async with rp.access.endpoint_session(ep) as s:
                addr = await p.gvar(s, "group_replication_local_address")
            if addr:
                seeds.append(addr)
    return ",".join(sorted(seeds))


def _prepare_probe(index: int) -> ProbeFn:
    async def probe(ctx: StepContext) -> bool:
        if await _online(ctx, index):
            return True
        access, ep = _member(ctx, index)
        async with access.endpoint_session(ep) as s:
            info = await p.instance_info(s)
            ch = await p.channel_status(s)
            threshold = await p.gvar(s, "group_replication_clone_threshold")
        gp = await global_primary(ctx)
        user = sql.recovery_account_name(info.server_id)
        async with gp.session() as s:
            if "%" not in await p.account_hosts(s, user):
                return False
        return ch.exists and ch.host == gp.member.host and threshold == "1"

    return probe


def _prepare(index: int) -> ActFn:
    async def act(ctx: StepContext) -> None:
        access, ep = _member(ctx, index)
        rp = await _rp(ctx)
        gp = await global_primary(ctx)
        where = ep.address
        async with access.endpoint_session(ep) as s:
            info = await p.instance_info(s)
            members = await group_members(s)
            if any(m.state in ("ONLINE", "RECOVERING") for m in members) and not any(
                m.server_uuid == rp.member.server_uuid for m in members
            ):
                raise NotStandalone(f"{where} belongs to another running group", where=where)
            await _install_clone_plugin(s, where)
            await s.execute(sql.set_global("group_replication_clone_threshold", 1))
        user = sql.recovery_account_name(info.server_id)
        async with rp.session() as s:
            stack = await p.gvar(s, "group_replication_communication_stack") or "XCOM"
        async with gp.session() as s:
            await p.ensure_account(s, user, "%", ctx.internal_password(user), recovery_grants(stack))
            md = await md_cluster_by_name(s, ctx.target)
            mode = await clusterset_ssl_mode(ctx, s)
        if md is None:
            raise InvalidTopology(f"cluster {ctx.target} is not in the ClusterSet metadata; join it first")
        # The account must have reached the site's primary (the donor) before the joiner connects.
        await sync_to_gp(ctx, gp, rp.access, rp.endpoint)
        cs_user = md.repl_user or sql.cs_account_name(info.server_id)
        async with access.endpoint_session(ep) as s:
            await s.execute(sql.set_persist_only("skip_replica_start", True))
            await p.stop_channel(s)
            resolved = await resolve_ssl_mode(s, mode)
            clause = await ssl_clause_for(s, resolved, info.version_tuple)
            await s.execute(
                sql.change_source_full(
                    host=gp.member.host,
                    port=gp.member.port,
                    user=cs_user,
                    password=ctx.internal_password(cs_user),
                    ssl_clause=clause,
                    auto_failover=False,
                )
            )
            await p.fence(s)

    return no_outputs(act)


def _join(index: int) -> ActFn:
    async def act(ctx: StepContext) -> None:
        access, ep = _member(ctx, index)
        rp = await _rp(ctx)
        where = ep.address
        async with rp.session() as s:
            group = await p.gvar(s, "group_replication_group_name") or ""
            vcu = await p.gvar(s, "group_replication_view_change_uuid")
            ssl = await p.gvar(s, "group_replication_ssl_mode") or "REQUIRED"
            stack = await p.gvar(s, "group_replication_communication_stack") or "XCOM"
        seeds = await _group_seeds(ctx, rp)
        async with access.endpoint_session(ep) as s:
            info = await p.instance_info(s)
            members = await group_members(s)
            me = next((m for m in members if m.server_uuid == info.server_uuid), None)
            if me is None or me.state not in ("ONLINE", "RECOVERING"):
                host = info.report_host or ep.host
                for name, value in gr_settings(
                    group_name=group,
                    view_change_uuid=vcu if vcu and vcu.upper() != "AUTOMATIC" else None,
                    local_address=local_address(host, info.port or ep.port, stack),
                    stack=stack,
                    ssl_mode=ssl,
                    seeds=seeds,
                ):
                    await s.execute(sql.set_persist(name, value))
                user = sql.recovery_account_name(info.server_id)
                await s.execute(
                    sql.change_recovery_credentials(user=user, password=ctx.internal_password(user))
                )
                await s.execute(sql.START_GR, limit=ctx.settings.member_online_timeout)

        async def online() -> bool:
            try:
                async with access.endpoint_session(ep) as ws:
                    row = await ws.fetch_one(sql.clone_status_since(None))
                    if row and ctx.on_progress is not None and p.as_str(row.get("state")) == "In Progress":
                        await ctx.on_progress(
                            CloneProgress(
                                recipient=where, donor=p.as_str(row.get("source")), state="In Progress"
                            )
                        )
                    return await is_online_in_group(ws, group_name=group)
            except ClusterSetError as e:
                if e.retryable:
                    await ctx.env.pools.discard_host(ep.host, ep.port)
                    return False  # restarting after the GR clone
                raise

        await p.poll_until(
            online,
            within=ctx.settings.member_online_timeout,
            interval=ctx.settings.poll_interval,
            what="the member to be ONLINE",
            where=where,
        )

    return no_outputs(act)


def _md_probe(index: int) -> ProbeFn:
    async def probe(ctx: StepContext) -> bool:
        access, ep = _member(ctx, index)
        async with access.endpoint_session(ep) as s:
            uuid_ = p.as_str(await s.scalar(sql.SERVER_UUID))
        gp = await global_primary(ctx)
        async with gp.session() as s:
            return any(i.server_uuid == uuid_ for i in await p.md_instances(s))

    return probe


def _md(index: int) -> ActFn:
    async def act(ctx: StepContext) -> None:
        access, ep = _member(ctx, index)
        async with access.endpoint_session(ep) as s:
            info = await p.instance_info(s)
        gp = await global_primary(ctx)
        host = info.report_host or ep.host
        port = info.port or ep.port
        address = f"{host}:{port}"
        user = sql.recovery_account_name(info.server_id)
        async with gp.session() as s:
            md = await md_cluster_by_name(s, ctx.target)
            if md is None:
                raise InvalidTopology(f"cluster {ctx.target} is not in the ClusterSet metadata")
            await p.in_transaction(
                s,
                [
                    sql.md_insert_instance(
                        cluster_id=md.cluster_id,
                        address=address,
                        server_uuid=info.server_uuid,
                        server_id=info.server_id,
                        x_address=f"{host}:{port * 10}",
                        gr_local=address,
                    ),
                    sql.md_instance_recovery_account(info.server_uuid, user, "%"),
                    sql.md_instance_join_time(info.server_uuid),
                ],
            )

    return no_outputs(act)


@operation(OperationKind.GROW)
def grow_steps(req: OperationRequest) -> list[Step]:
    name = req.target_cluster or "?"
    try:
        cluster = req.spec.cluster(name)
    except KeyError:
        return []
    steps: list[Step] = []
    if not cluster.manage_members:
        return steps
    for k, ep in enumerate(cluster.endpoints):
        if k == 0:
            continue
        steps += [
            Step(
                f"prepare_{k}", f"prepare {ep.address} to join group {name}", _prepare_probe(k), _prepare(k)
            ),
            Step(
                f"join_{k}",
                f"join {ep.address} to group {name} (clone recovery)",
                _join_probe(k),
                _join(k),
                long_running=True,
            ),
            Step(f"metadata_{k}", f"record {ep.address} in the metadata", _md_probe(k), _md(k)),
        ]
    return steps


def _join_probe(index: int) -> ProbeFn:
    async def probe(ctx: StepContext) -> bool:
        return await _online(ctx, index)

    return probe
