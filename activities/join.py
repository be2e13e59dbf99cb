"""createReplicaCluster (spec 2.b) as steps: turn the first endpoint T of a replica site into a one-member
InnoDB Cluster that replicates from the global primary over the clusterset_replication channel.

Steps (each probe from spec §8; none needs an earlier step's output, so a re-run from the first step
after any crash ends in the same state):
  validate          done when the metadata on GP already lists the cluster; else every check of 2.b
  cs_account        GP's mysql.user has mysql_innodb_cs_<hex(T server_id)>@'%'
  clone_prepare     not needed (see `needs_clone`), or clone running, or plugins/donor list/accounts in place
  clone             not needed: T holds a completed clone from the primary cluster and is recoverable
  clone_cleanup     the cs account on GP no longer has BACKUP_ADMIN
  bootstrap_group   T is ONLINE in the group whose name is derived for this cluster
  recovery_account  GP has T's GR recovery account and T's recovery channel uses it
  metadata_cluster  GP's metadata has the cluster and T's instance row
  start_replication T's channel points at GP with AUTO_FAILOVER, is ON; actions and managed list set
  sync              T has GP's gtid_executed; skip_replica_start persisted
  metadata_member   v2_cs_members on GP lists the cluster as REPLICA
  final_sync        T's own metadata copy lists it as REPLICA

Recovery method (spec.createReplicaClusterOptions.recoveryMethod):
  clone        always CLONE (unless the probe finds a completed, still-recoverable clone)
  incremental  never; refused with PurgedTransactions when GP purged what T lacks
  auto         incremental when T is IDENTICAL/RECOVERABLE (NEW counts when nothing was purged), else CLONE
Donor (spec.cloneOptions.donor): `secondary` (default) picks an ONLINE SECONDARY of the primary cluster
with a clone-compatible version (lowest address first), else the global primary: the clone reads every
page of the donor and saturates its disk and network, so sparing the global primary keeps the write path
fast; the Shell's default is the global primary (`primary`).
"""

from __future__ import annotations

from dataclasses import dataclass

from activities import primitives as p
from activities import sql
from activities.clone import CloneRow, is_running, latest_clone, run_clone
from activities.common import (
    Primary,
    clusterset_ssl_mode,
    derived_uuid,
    global_primary,
    is_online_in_group,
    md_cluster_by_name,
    online_members,
    resolve_ssl_mode,
    ssl_clause_for,
)
from activities.connections import ClusterAccess, Member, Session, group_members
from activities.errors import (
    ClonePluginMissing,
    ClusterSetError,
    DivergedGtids,
    DuplicateServerId,
    FailedPrecondition,
    GroupReplicationPluginMissing,
    GtidModeOff,
    IllegalChannel,
    InvalidTopology,
    NonRetryableError,
    NotStandalone,
    PurgedTransactions,
    ReplicaNotEmpty,
)
from activities.gtid import GtidSet
from activities.models import OperationKind, OperationRequest
from activities.steps import Step, StepContext, no_outputs, operation
from activities.version_rules import check_clone, check_minimum, check_replication
from api.models import CloneDonor, Endpoint, RecoveryMethod

ALLOWED_CHANNELS = {
    "group_replication_applier",
    "group_replication_recovery",
    sql.CREATING_CHANNEL,
    sql.CH,
    "",
}


# ===================================================================================== shared state


@dataclass
class Target:
    access: ClusterAccess
    endpoint: Endpoint

    @property
    def address(self) -> str:
        return self.endpoint.address


def target(ctx: StepContext) -> Target:
    access = ctx.cluster(ctx.target)
    return Target(access, access.endpoints[0])


def group_name_for(ctx: StepContext, server_uuid: str) -> str:
    return derived_uuid(ctx, ctx.target, server_uuid, "group_name")


def view_change_uuid_for(ctx: StepContext, server_uuid: str) -> str:
    return derived_uuid(ctx, ctx.target, server_uuid, "view_change_uuid")


async def t_info(ctx: StepContext) -> p.InstanceInfo:
    cached = ctx.cache.get("t_info")
    if isinstance(cached, p.InstanceInfo):
        return cached
    t = target(ctx)
    async with t.access.endpoint_session(t.endpoint) as s:
        info = await p.instance_info(s)
    ctx.cache["t_info"] = info
    return info


async def t_bootstrapped(ctx: StepContext) -> bool:
    t = target(ctx)
    info = await t_info(ctx)
    async with t.access.endpoint_session(t.endpoint) as s:
        return await is_online_in_group(s, group_name=group_name_for(ctx, info.server_uuid))


async def purged_everywhere(pc: ClusterAccess) -> GtidSet:
    """∩ gtid_purged over the reachable members of the primary cluster (spec 1.12 completely_purged)."""
    result: GtidSet | None = None
    for ep, _m in await online_members(pc):
        async with pc.endpoint_session(ep) as s:
            purged = GtidSet.parse(p.as_str(await s.scalar(sql.GTID_PURGED)))
        result = purged if result is None else result & purged
    return result or GtidSet()


@dataclass(frozen=True)
class GtidState:
    state: str  # NEW | IDENTICAL | RECOVERABLE | IRRECOVERABLE | DIVERGED
    missing: GtidSet
    errant: GtidSet
    unrecoverable: GtidSet


def gtid_state(replica: GtidSet, primary: GtidSet, purged: GtidSet, *, allowed: set[str]) -> GtidState:
    """compute_joining_replica_gtid_state (spec 2.b validation 9), VCLE uuids of `allowed` removed."""
    r = replica.without_uuids(allowed)
    pr = primary.without_uuids(allowed)
    missing = pr - r
    errant = r - pr
    unrecoverable = missing & purged
    if errant:
        state = "DIVERGED"
    elif not r:
        state = "NEW" if not purged else ("IRRECOVERABLE" if unrecoverable else "NEW")
    elif not missing:
        state = "IDENTICAL"
    elif unrecoverable:
        state = "IRRECOVERABLE"
    else:
        state = "RECOVERABLE"
    return GtidState(state, missing, errant, unrecoverable)


async def current_gtid_state(ctx: StepContext, gp: Primary) -> GtidState:
    cached = ctx.cache.get("gtid_state")
    if isinstance(cached, GtidState):
        return cached
    t = target(ctx)
    async with gp.session() as s:
        vcle = {c.view_change_uuid for c in await p.md_clusters(s) if c.view_change_uuid}
    purged = await purged_everywhere(gp.access)
    async with t.access.endpoint_session(t.endpoint) as ts:
        t_gtids = await p.gtid_executed(ts)
        own_vcu = await p.gvar(ts, "group_replication_view_change_uuid")
    async with gp.session() as s:
        gp_gtids = await p.gtid_executed(s)
    allowed = vcle | ({own_vcu} if own_vcu and own_vcu.upper() != "AUTOMATIC" else set())
    st = gtid_state(t_gtids, gp_gtids, purged, allowed=allowed)
    ctx.cache["gtid_state"] = st
    return st


def recoverable(st: GtidState) -> bool:
    return st.state in ("IDENTICAL", "RECOVERABLE", "NEW") and not st.unrecoverable


async def needs_clone(ctx: StepContext) -> bool:
    """Whether the clone steps still have work to do."""
    cached = ctx.cache.get("needs_clone")
    if isinstance(cached, bool):
        return cached
    result = await _needs_clone(ctx)
    ctx.cache["needs_clone"] = result
    return result


def clone_replaces(ctx: StepContext) -> CloneRow | None:
    """The finished clone_status row that `needs_clone` judged not good enough (None: no such row); a
    finished row other than this one is the clone an earlier attempt of the step started."""
    row = ctx.cache.get("clone_row")
    return row if isinstance(row, CloneRow) and not is_running(row) else None


async def _needs_clone(ctx: StepContext) -> bool:
    if await t_bootstrapped(ctx):
        return False
    t = target(ctx)
    async with t.access.endpoint_session(t.endpoint) as s:
        row = await latest_clone(s)
    ctx.cache["clone_row"] = row
    if is_running(row):
        return True  # a CLONE runs on T: the clone step follows it to its end, whatever the method
    gp = await global_primary(ctx)
    st = await current_gtid_state(ctx, gp)
    method = ctx.spec.create_replica_cluster_options.recovery_method
    if method == RecoveryMethod.INCREMENTAL:
        return False
    if method == RecoveryMethod.AUTO:
        return not recoverable(st)
    # CLONE: done once T holds a completed clone from a member of the primary cluster and is recoverable.
    if row is None or row.state != "Completed":
        return True
    return not recoverable(st)


async def choose_donor(ctx: StepContext, gp: Primary) -> tuple[Endpoint, Member]:
    info = await t_info(ctx)
    if ctx.spec.clone_options.donor == CloneDonor.SECONDARY:
        candidates = sorted(
            ((ep, m) for ep, m in await online_members(gp.access) if m.role == "SECONDARY"),
            key=lambda em: em[1].address,
        )
        for ep, m in candidates:
            try:
                check_clone(m.version, info.version, donor_at=m.address, recipient_at=target(ctx).address)
            except ClusterSetError:
                continue
            return ep, m
    return gp.endpoint, gp.member


# ========================================================================================= validate


async def _validate_probe(ctx: StepContext) -> bool:
    if await t_bootstrapped(ctx):
        return True
    gp = await global_primary(ctx)
    async with gp.session() as s:
        md = await md_cluster_by_name(s, ctx.target)
        if md is None:
            return False
        info = await t_info(ctx)
        return any(
            i.server_uuid == info.server_uuid and i.cluster_id == md.cluster_id
            for i in await p.md_instances(s)
        )


async def _validate(ctx: StepContext) -> dict[str, str]:
    gp = await global_primary(ctx)
    t = target(ctx)
    where = t.address
    if gp.name.lower() == ctx.target.lower():
        raise InvalidTopology(
            f"{ctx.target} is the primary cluster; it cannot join as a replica", where=where
        )
    info = await t_info(ctx)
    check_minimum(info.version, where=where)
    async with gp.session() as s:
        gp_info = await p.instance_info(s)
        await p.require_metadata(s, where=gp.endpoint.address)
        cs = await p.cs_members(s)
        if not cs:
            raise InvalidTopology(
                f"no ClusterSet in the metadata of {gp.endpoint.address}; bootstrap it first", where=gp.name
            )
        existing = await md_cluster_by_name(s, ctx.target)
        instances = await p.md_instances(s)
    check_replication(gp_info.version, info.version, source_at=gp.endpoint.address, replica_at=where)
    if existing is not None:
        raise InvalidTopology(
            f"a cluster named {ctx.target} already exists in the ClusterSet metadata, with other instances; "
            "remove it first or use another innodbClusterName",
            where=where,
        )
    for i in instances:
        if i.server_uuid == info.server_uuid:
            raise DuplicateServerId(
                f"{where} has server_uuid {info.server_uuid}, already used by {i.address} in the ClusterSet; "
                "give the instance a fresh auto.cnf",
                where=where,
            )
        if i.server_id and i.server_id == info.server_id:
            raise DuplicateServerId(
                f"{where} has server_id {info.server_id}, already used by {i.address} in the "
                "ClusterSet; set a "
                "unique server_id on the instance",
                where=where,
            )
    # Live members of the primary cluster too (the metadata may lack server_id attributes).
    for mep, m in await online_members(gp.access):
        async with gp.access.endpoint_session(mep) as ms:
            sid = int(await ms.scalar("SELECT @@server_id AS server_id") or 0)
        if sid == info.server_id or m.server_uuid == info.server_uuid:
            raise DuplicateServerId(
                f"{where} has server_id {info.server_id} / server_uuid {info.server_uuid}, the same as "
                f"{m.address} of the primary cluster; every instance of a ClusterSet needs unique ones",
                where=where,
            )
    if info.gtid_mode != "ON" or info.enforce_gtid_consistency != "ON":
        raise GtidModeOff(
            f"{where} has gtid_mode={info.gtid_mode}, "
            f"enforce_gtid_consistency={info.enforce_gtid_consistency}; "
            "set both ON (enforce_gtid_consistency first) and retry",
            where=where,
        )
    async with t.access.endpoint_session(t.endpoint) as ts:
        members = await group_members(ts)
        if any(m.state in ("ONLINE", "RECOVERING") for m in members):
            raise NotStandalone(
                f"{where} is a member of a running group ({len(members)} members); the replica site must be "
                "deployed with bootstrap mode manual (standalone instance)",
                where=where,
            )
        md_local = await p.metadata_version(ts)
        if md_local is not None:
            mine = [i for i in await p.md_instances(ts) if i.server_uuid == info.server_uuid]
            if mine:
                raise NotStandalone(
                    f"{where} is registered as {mine[0].address} in the InnoDB Cluster metadata it holds; "
                    "dissolve that cluster first",
                    where=where,
                )
        illegal = [c for c in await p.channels(ts) if c not in ALLOWED_CHANNELS]
        if illegal:
            raise IllegalChannel(
                f"{where} has replication channel(s) {', '.join(illegal)}; remove them before joining",
                where=where,
            )
        plugins = await p.plugins(ts)
        schemas = await p.user_schemas(ts)
    if plugins.get("group_replication") not in ("ACTIVE", None):
        raise GroupReplicationPluginMissing(
            f"the group_replication plugin of {where} is {plugins.get('group_replication')}", where=where
        )
    st = await current_gtid_state(ctx, gp)
    method = ctx.spec.create_replica_cluster_options.recovery_method
    if st.state == "NEW" and schemas:
        raise ReplicaNotEmpty(
            f"{where} is not empty: it holds schemas {', '.join(sorted(schemas))} without any transaction of "
            "the primary cluster, and a CLONE would destroy them. Empty the instance, or restore a backup of "
            "the primary cluster on it and use recoveryMethod incremental.",
            where=where,
        )
    if st.state == "DIVERGED":
        if schemas:
            raise ReplicaNotEmpty(
                f"{where} is not empty: schemas {', '.join(sorted(schemas))} and {st.errant.count()} "
                "transactions "
                f"({st.errant}) that the primary cluster does not have. Empty the instance, or restore "
                "a backup "
                "of the primary cluster on it (incremental), then retry.",
                where=where,
            )
        if method == RecoveryMethod.INCREMENTAL:
            raise DivergedGtids(
                f"{where} has transactions the primary cluster lacks ({st.errant}); incremental recovery is "
                "impossible. Use recoveryMethod clone or auto.",
                where=where,
                errant=str(st.errant),
            )
    elif st.state == "IRRECOVERABLE" and method == RecoveryMethod.INCREMENTAL:
        raise PurgedTransactions(
            f"{where} lacks {st.unrecoverable.count()} transactions ({st.unrecoverable}) that every "
            "member of the "
            f"primary cluster {gp.name} has purged from its binary logs; incremental recovery is "
            "impossible. Use "
            "recoveryMethod clone or auto, or restore a newer backup.",
            where=where,
        )
    use_clone = method == RecoveryMethod.CLONE or (method == RecoveryMethod.AUTO and not recoverable(st))
    outputs = {"gtid_state": st.state, "recovery": "clone" if use_clone else "incremental"}
    if use_clone:
        _donor_ep, donor = await choose_donor(ctx, gp)
        check_clone(
            donor.version or gp_info.version, info.version, donor_at=donor.address, recipient_at=where
        )
        outputs["donor"] = donor.address
    return outputs


# ======================================================================================== accounts


async def cs_account(ctx: StepContext) -> tuple[str, str, str]:
    info = await t_info(ctx)
    user = sql.cs_account_name(info.server_id)
    return user, "%", ctx.internal_password(user)


async def _cs_account_probe(ctx: StepContext) -> bool:
    user, host, _ = await cs_account(ctx)
    gp = await global_primary(ctx)
    async with gp.session() as s:
        return host in await p.account_hosts(s, user)


async def _cs_account(ctx: StepContext) -> None:
    user, host, pw = await cs_account(ctx)
    gp = await global_primary(ctx)
    async with gp.session() as s:
        await p.ensure_account(s, user, host, pw, sql.CS_ACCOUNT_GRANTS)


# =========================================================================================== clone


async def _install_clone_plugin(s: Session, where: str) -> None:
    status = (await p.plugins(s)).get("clone")
    if status == "ACTIVE":
        return
    sro = await p.super_read_only(s)
    if sro:
        await s.execute(sql.set_global("super_read_only", False))
    try:
        await s.execute(sql.INSTALL_CLONE)
    except NonRetryableError as e:
        raise ClonePluginMissing(
            f"the clone plugin is not active on {where} and cannot be installed ({e}); install "
            "mysql_clone.so (or grant the 'clusterset' user INSERT on mysql.*), or use recoveryMethod "
            "incremental",
            where=where,
        ) from e
    finally:
        if sro:
            await s.execute(sql.set_global("super_read_only", True))
    if (await p.plugins(s)).get("clone") != "ACTIVE":
        raise ClonePluginMissing(
            f"the clone plugin of {where} is not ACTIVE after INSTALL PLUGIN", where=where
        )


async def _clone_prepare_probe(ctx: StepContext) -> bool:
    if not await needs_clone(ctx):
        return True
    row = ctx.cache.get("clone_row")
    if isinstance(row, CloneRow) and is_running(row):
        return True  # a CLONE runs: it passed its checks, the clone step follows it
    gp = await global_primary(ctx)
    _ep, donor = await choose_donor(ctx, gp)
    return await _prepared_for(ctx, gp, donor)


async def _prepared_for(ctx: StepContext, gp: Primary, donor: Member) -> bool:
    """T has the clone plugin, its clone account, clone_valid_donor_list = exactly `donor`; GP granted
    the account BACKUP_ADMIN."""
    t = target(ctx)
    user, host, _ = await cs_account(ctx)
    async with t.access.endpoint_session(t.endpoint) as s:
        if (await p.plugins(s)).get("clone") != "ACTIVE":
            return False
        if host not in await p.account_hosts(s, user):
            return False
        donors = await p.gvar(s, "clone_valid_donor_list")
    if (donors or "") != donor.address:
        return False
    async with gp.session() as s:
        return "BACKUP_ADMIN" in (await p.grants_of(s, user, host)).upper()


async def _clone_prepare(ctx: StepContext) -> dict[str, str]:
    gp = await global_primary(ctx)
    donor_ep, donor = await choose_donor(ctx, gp)
    await _prepare_donor(ctx, gp, donor_ep, donor)
    return {"donor": donor.address}


async def _prepare_donor(ctx: StepContext, gp: Primary, donor_ep: Endpoint, donor: Member) -> None:
    """Plugins, accounts, bandwidth limits and clone_valid_donor_list for a CLONE of T from `donor`."""
    t = target(ctx)
    info = await t_info(ctx)
    check_clone(donor.version or info.version, info.version, donor_at=donor.address, recipient_at=t.address)
    user, host, pw = await cs_account(ctx)
    async with gp.access.endpoint_session(donor_ep) as ds:
        await _install_clone_plugin(ds, donor.address)
    async with t.access.endpoint_session(t.endpoint) as ts:
        await _install_clone_plugin(ts, t.address)
        await ts.execute(sql.clone_valid_donor_list(donor.address))
        opts = ctx.spec.clone_options
        await ts.execute(sql.set_global("clone_max_network_bandwidth", opts.max_network_bandwidth_mib))
        await ts.execute(sql.set_global("clone_max_data_bandwidth", opts.max_data_bandwidth_mib))
        if await p.super_read_only(ts):
            await ts.execute(sql.set_global("super_read_only", False))
        await ts.execute(sql.SQL_LOG_BIN_OFF)
        try:
            await p.ensure_account(ts, user, host, pw, sql.CLONE_RECIPIENT_GRANTS)
        finally:
            await ts.execute(sql.SQL_LOG_BIN_ON)
    async with gp.session() as s:
        await s.execute(sql.grant("BACKUP_ADMIN", "*.*", user, host))
        gp_gtids = await p.gtid_executed(s)
    if donor.server_uuid != gp.member.server_uuid:
        async with gp.access.endpoint_session(donor_ep) as ds:
            await p.wait_for_gtids(
                ds,
                gp_gtids,
                within=ctx.settings.sync_timeout,
                poll=ctx.settings.sync_poll,
                where=donor.address,
            )


async def _clone_probe(ctx: StepContext) -> bool:
    return not await needs_clone(ctx)


async def _clone(ctx: StepContext) -> dict[str, str]:
    gp = await global_primary(ctx)
    t = target(ctx)
    user, _host, pw = await cs_account(ctx)

    async def set_up_donor() -> tuple[str, int]:
        # The donor is chosen here, when the CLONE starts, and put in the list right before it: the list
        # set by clone_prepare may be gone (a restart resets it) or name a donor no longer chosen.
        donor_ep, donor = await choose_donor(ctx, gp)
        if not await _prepared_for(ctx, gp, donor):
            await _prepare_donor(ctx, gp, donor_ep, donor)
        return donor.host, donor.port

    progress = await run_clone(
        ctx,
        recipient=t.access,
        recipient_ep=t.endpoint,
        replaces=clone_replaces(ctx),
        set_up_donor=set_up_donor,
        clone_user=user,
        clone_password=pw,
    )
    ctx.cache.clear()
    return {
        "donor": progress.donor,
        "clone_started_at": progress.started_at.isoformat() if progress.started_at else "",
    }


async def _clone_cleanup_probe(ctx: StepContext) -> bool:
    user, host, _ = await cs_account(ctx)
    gp = await global_primary(ctx)
    async with gp.session() as s:
        if host not in await p.account_hosts(s, user):
            return True
        return "BACKUP_ADMIN" not in (await p.grants_of(s, user, host)).upper()


async def _clone_cleanup(ctx: StepContext) -> None:
    user, host, _ = await cs_account(ctx)
    gp = await global_primary(ctx)
    async with gp.session() as s:
        await s.execute(sql.revoke("BACKUP_ADMIN", "*.*", user, host))


# ================================================================================ group bootstrap


def gr_settings(
    *,
    group_name: str,
    view_change_uuid: str | None,
    local_address: str,
    ssl_mode: str,
    seeds: str = "",
    stack: str = "MYSQL",
) -> list[tuple[str, str | int | bool]]:
    """The SET PERSIST list of start_cluster / join_cluster (spec 2.b.4.6), replica-cluster values."""
    settings: list[tuple[str, str | int | bool]] = [
        ("group_replication_group_name", group_name),
    ]
    if view_change_uuid:
        settings.append(("group_replication_view_change_uuid", view_change_uuid))
    settings += [
        ("group_replication_enforce_update_everywhere_checks", False),
        ("group_replication_single_primary_mode", True),
        ("group_replication_recovery_use_ssl", ssl_mode != "DISABLED"),
        ("group_replication_ssl_mode", ssl_mode),
        ("group_replication_local_address", local_address),
        ("group_replication_group_seeds", seeds),
        ("group_replication_start_on_boot", True),
        ("group_replication_communication_stack", stack),
        ("group_replication_transaction_size_limit", 0),
        ("auto_increment_increment", 1),
        ("auto_increment_offset", 2),
    ]
    if ssl_mode == "DISABLED":
        settings.append(("group_replication_recovery_get_public_key", True))
    return settings


async def communication_stack(ctx: StepContext) -> str:
    """MYSQL (the Shell's default from 8.0.27) when the clusterset user may grant GROUP_REPLICATION_STREAM
    (which a MYSQL-stack recovery account needs), else XCOM. Percona's clusterset user (§7) lacks it."""
    cached = ctx.cache.get("comm_stack")
    if isinstance(cached, str):
        return cached
    gp = await global_primary(ctx)
    async with gp.session() as s:
        rows = await s.fetch_all("SHOW GRANTS")
    text = " ".join(p.as_str(next(iter(r.values()))) for r in rows).upper()
    stack = "MYSQL" if ("GROUP_REPLICATION_STREAM" in text or "ALL PRIVILEGES ON *.*" in text) else "XCOM"
    ctx.cache["comm_stack"] = stack
    return stack


def local_address(host: str, port: int, stack: str) -> str:
    """GR local address: the SQL port for the MYSQL stack, port*10+1 for XCOM (the Shell's rule)."""
    return f"{host}:{port if stack == 'MYSQL' else port * 10 + 1}"


def recovery_grants(stack: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        g for g in sql.RECOVERY_ACCOUNT_GRANTS if stack == "MYSQL" or "GROUP_REPLICATION_STREAM" not in g[0]
    )


async def _bootstrap_probe(ctx: StepContext) -> bool:
    return await t_bootstrapped(ctx)


async def _bootstrap(ctx: StepContext) -> None:
    t = target(ctx)
    info = await t_info(ctx)
    where = t.address
    async with t.access.endpoint_session(t.endpoint) as s:
        if (await p.plugins(s)).get("group_replication") != "ACTIVE":
            try:
                await s.execute(sql.INSTALL_GR)
            except FailedPrecondition as e:
                raise GroupReplicationPluginMissing(
                    f"cannot install group_replication on {where}: {e}", where=where
                ) from e
        members = await group_members(s)
        me = next((m for m in members if m.server_uuid == info.server_uuid), None)
        if me is not None and me.state in ("RECOVERING", "ERROR"):
            await s.execute(sql.STOP_GR)
        if await p.super_read_only(s):
            await s.execute(sql.set_global("super_read_only", False))
        await s.execute(sql.RESET_MEMBER_ACTIONS)
        ssl = await resolve_ssl_mode(s, ctx.spec.ssl_mode)
        stack = await communication_stack(ctx)
        await s.execute(sql.set_persist("super_read_only", True))
        # Set whenever the server has the variable (deprecated, not removed, in 8.3+): whether 8.3+ still
        # logs view-change GTIDs is not confirmed (spec §10.8); a separate UUID keeps them apart from
        # real transactions either way.
        has_vcu = await p.gvar(s, "group_replication_view_change_uuid") is not None
        vcu = view_change_uuid_for(ctx, info.server_uuid) if has_vcu else None
        host = info.report_host or t.endpoint.host
        for name, value in gr_settings(
            group_name=group_name_for(ctx, info.server_uuid),
            view_change_uuid=vcu,
            local_address=local_address(host, info.port or t.endpoint.port, stack),
            stack=stack,
            ssl_mode=ssl,
        ):
            await s.execute(sql.set_persist(name, value))
        await s.execute(sql.BOOTSTRAP_ON)
        try:
            await s.execute(sql.START_GR, limit=ctx.settings.member_online_timeout)
        finally:
            await s.execute(sql.BOOTSTRAP_OFF)

    async def online() -> bool:
        async with t.access.endpoint_session(t.endpoint) as ws:
            return await is_online_in_group(ws)

    await p.poll_until(
        online,
        within=ctx.settings.member_online_timeout,
        interval=ctx.settings.poll_interval,
        what="the new group to be ONLINE",
        where=where,
    )


# =============================================================================== recovery account


async def _recovery_probe(ctx: StepContext) -> bool:
    info = await t_info(ctx)
    user = sql.recovery_account_name(info.server_id)
    gp = await global_primary(ctx)
    async with gp.session() as s:
        if "%" not in await p.account_hosts(s, user):
            return False
    t = target(ctx)
    async with t.access.endpoint_session(t.endpoint) as ts:
        row = await ts.fetch_one(
            "SELECT USER AS user FROM performance_schema.replication_connection_configuration "
            "WHERE CHANNEL_NAME = 'group_replication_recovery'"
        )
    return row is not None and p.as_str(row.get("user")) == user


async def _recovery(ctx: StepContext) -> None:
    info = await t_info(ctx)
    user = sql.recovery_account_name(info.server_id)
    pw = ctx.internal_password(user)
    gp = await global_primary(ctx)
    async with gp.session() as s:
        await p.ensure_account(s, user, "%", pw, recovery_grants(await communication_stack(ctx)))
    t = target(ctx)
    async with t.access.endpoint_session(t.endpoint) as ts:
        await ts.execute(sql.change_recovery_credentials(user=user, password=pw))


# ======================================================================================== metadata


async def _md_cluster_probe(ctx: StepContext) -> bool:
    gp = await global_primary(ctx)
    info = await t_info(ctx)
    async with gp.session() as s:
        md = await md_cluster_by_name(s, ctx.target)
        if md is None:
            return False
        return any(i.server_uuid == info.server_uuid for i in await p.md_instances(s))


async def _md_cluster(ctx: StepContext) -> dict[str, str]:
    gp = await global_primary(ctx)
    info = await t_info(ctx)
    t = target(ctx)
    user, host, _ = await cs_account(ctx)
    rec_user = sql.recovery_account_name(info.server_id)
    async with t.access.endpoint_session(t.endpoint) as ts:
        tsl = await p.gvar(ts, "group_replication_transaction_size_limit")
        has_vcu = await p.gvar(ts, "group_replication_view_change_uuid") is not None
    host_name = info.report_host or t.endpoint.host
    port = info.port or t.endpoint.port
    address = f"{host_name}:{port}"
    vcu = view_change_uuid_for(ctx, info.server_uuid) if has_vcu else None
    async with gp.session() as s:
        pc_tsl = await p.gvar(s, "group_replication_transaction_size_limit")
        cluster_id = p.as_str(await s.scalar(sql.SELECT_UUID))
        statements = [
            sql.md_insert_cluster(
                cluster_id=cluster_id,
                name=ctx.target,
                group_name=group_name_for(ctx, info.server_uuid),
                stack=await communication_stack(ctx),
            ),
            sql.md_cluster_attribute(cluster_id, "opt_replicationAllowedHost", '"%"'),
            sql.md_cluster_attribute(cluster_id, "opt_gtidSetIsComplete", "false"),
            sql.md_cluster_attribute(cluster_id, "opt_manualStartOnBoot", "false"),
            sql.md_cluster_attribute(cluster_id, "default", "true"),
            sql.md_cluster_attribute(cluster_id, "opt_transactionSizeLimit", str(int(pc_tsl or tsl or 0))),
            sql.md_cluster_attribute(cluster_id, "opt_memberAuthType", '"PASSWORD"'),
            sql.md_cluster_attribute(cluster_id, "opt_certIssuer", '""'),
            sql.md_cluster_router_options(cluster_id),
            sql.md_insert_instance(
                cluster_id=cluster_id,
                address=address,
                server_uuid=info.server_uuid,
                server_id=info.server_id,
                x_address=f"{host_name}:{port * 10}",
                gr_local=address,
            ),
            sql.md_instance_recovery_account(info.server_uuid, rec_user, "%"),
            sql.md_set_cluster_account(cluster_id, user, host),
        ]
        if vcu:
            statements.insert(
                5, sql.md_cluster_attribute(cluster_id, "group_replication_view_change_uuid", f'"{vcu}"')
            )
        await p.in_transaction(s, statements)
    return {"cluster_id": cluster_id}


# ================================================================================ start replicating


async def _start_repl_probe(ctx: StepContext) -> bool:
    gp = await global_primary(ctx)
    user, _host, _ = await cs_account(ctx)
    async with gp.session() as s:
        pc_group = await p.gvar(s, "group_replication_group_name") or ""
    t = target(ctx)
    async with t.access.endpoint_session(t.endpoint) as ts:
        ch = await p.channel_status(ts)
        if not (
            ch.exists
            and ch.host == gp.member.host
            and ch.port == gp.member.port
            and ch.user == user
            and ch.auto_failover
            and ch.status in ("ON", "CONNECTING")
        ):
            return False
        actions = await p.member_actions(ts)
        if actions.get(sql.ACTION_SRO) is not False or actions.get(sql.ACTION_FAILOVER) is not True:
            return False
        if await p.managed_sources(ts) != [pc_group]:
            return False
        return await p.super_read_only(ts)


async def update_replica_primary(
    s: Session,
    *,
    source: Member,
    source_group: str,
    user: str,
    password: str,
    version: tuple[int, int, int],
    ssl_mode: str,
) -> None:
    """update_replica(X, src, opts, primary_instance=true) of spec 1.13 on a replica cluster's primary."""
    await p.fence(s)
    await p.stop_channel(s)
    clause = await ssl_clause_for(s, ssl_mode, version)
    await s.execute(
        sql.change_source_full(
            host=source.host,
            port=source.port,
            user=user,
            password=password,
            ssl_clause=clause,
            auto_failover=True,
        )
    )
    await s.execute(sql.start_replica())
    await p.set_member_action(s, sql.ACTION_SRO, enable=False)
    await p.set_member_action(s, sql.ACTION_FAILOVER, enable=True)
    await p.replace_managed(s, group_name=source_group, host=source.host, port=source.port)


async def _start_repl(ctx: StepContext) -> None:
    gp = await global_primary(ctx)
    user, _host, pw = await cs_account(ctx)
    info = await t_info(ctx)
    async with gp.session() as s:
        pc_group = await p.gvar(s, "group_replication_group_name") or ""
        mode = await clusterset_ssl_mode(ctx, s)
    t = target(ctx)
    async with t.access.endpoint_session(t.endpoint) as ts:
        resolved = await resolve_ssl_mode(ts, mode)
        await update_replica_primary(
            ts,
            source=gp.member,
            source_group=pc_group,
            user=user,
            password=pw,
            version=info.version_tuple,
            ssl_mode=resolved,
        )


# ============================================================================================ syncs


async def _sync_probe(ctx: StepContext) -> bool:
    gp = await global_primary(ctx)
    async with gp.session() as s:
        gp_gtids = await p.gtid_executed(s)
    t = target(ctx)
    async with t.access.endpoint_session(t.endpoint) as ts:
        if not gp_gtids.issubset(await p.gtid_executed(ts)):
            return False
        return p.as_bool(await p.persisted(ts, "skip_replica_start")) and await p.super_read_only(ts)


async def sync_to_gp(ctx: StepContext, gp: Primary, access: ClusterAccess, ep: Endpoint) -> None:
    async with gp.session() as s:
        gp_gtids = await p.gtid_executed(s)
    async with access.endpoint_session(ep) as ts:
        await p.wait_for_gtids(
            ts,
            gp_gtids,
            within=ctx.settings.sync_timeout,
            poll=ctx.settings.sync_poll,
            where=ep.address,
            channel=sql.CH,
        )


async def _sync(ctx: StepContext) -> None:
    gp = await global_primary(ctx)
    t = target(ctx)
    await sync_to_gp(ctx, gp, t.access, t.endpoint)
    async with t.access.endpoint_session(t.endpoint) as ts:
        if not await p.super_read_only(ts):
            await ts.execute(sql.SRO_ON_GLOBAL)
        await ts.execute(sql.set_persist_only("skip_replica_start", True))


async def _md_member_probe(ctx: StepContext) -> bool:
    gp = await global_primary(ctx)
    async with gp.session() as s:
        members = await p.cs_members(s)
    return any(
        m.cluster_name.lower() == ctx.target.lower() and m.member_role == "REPLICA" and not m.invalidated
        for m in members
    )


async def _md_member(ctx: StepContext) -> None:
    gp = await global_primary(ctx)
    async with gp.session() as s:
        cs_id = await p.clusterset_id(s)
        md = await md_cluster_by_name(s, ctx.target)
        pc = await md_cluster_by_name(s, gp.name)
        if cs_id is None or md is None or pc is None:
            raise InvalidTopology(
                f"metadata on {gp.endpoint.address} lost the ClusterSet or the cluster", where=gp.name
            )
        await p.in_transaction(s, [sql.md_cs_member_added(cs_id, md.cluster_id, pc.cluster_id)])


async def _final_sync_probe(ctx: StepContext) -> bool:
    t = target(ctx)
    async with t.access.endpoint_session(t.endpoint) as ts:
        members = await p.cs_members(ts)
    return any(m.cluster_name.lower() == ctx.target.lower() and m.member_role == "REPLICA" for m in members)


async def _final_sync(ctx: StepContext) -> None:
    gp = await global_primary(ctx)
    t = target(ctx)
    await sync_to_gp(ctx, gp, t.access, t.endpoint)


@operation(OperationKind.JOIN)
def join_steps(req: OperationRequest) -> list[Step]:
    name = req.target_cluster or "?"
    try:
        seed = req.spec.cluster(name).endpoints[0].address
    except KeyError:
        seed = "?"
    method = req.spec.create_replica_cluster_options.recovery_method.value
    return [
        Step(
            "validate",
            f"check {seed} can become replica cluster {name} (recovery {method})",
            _validate_probe,
            _validate,
        ),
        Step(
            "cs_account",
            f"create {name}'s ClusterSet replication account on the global primary",
            _cs_account_probe,
            no_outputs(_cs_account),
        ),
        Step(
            "clone_prepare",
            f"prepare CLONE of {seed} (plugins, donor list, accounts)",
            _clone_prepare_probe,
            _clone_prepare,
        ),
        Step("clone", f"CLONE {seed} from the primary cluster", _clone_probe, _clone, long_running=True),
        Step(
            "clone_cleanup",
            "revoke BACKUP_ADMIN from the replication account",
            _clone_cleanup_probe,
            no_outputs(_clone_cleanup),
        ),
        Step(
            "bootstrap_group", f"bootstrap group {name} on {seed}", _bootstrap_probe, no_outputs(_bootstrap)
        ),
        Step(
            "recovery_account",
            f"create {seed}'s group recovery account",
            _recovery_probe,
            no_outputs(_recovery),
        ),
        Step("metadata_cluster", f"record cluster {name} in the metadata", _md_cluster_probe, _md_cluster),
        Step(
            "start_replication",
            f"start clusterset_replication on {seed}",
            _start_repl_probe,
            no_outputs(_start_repl),
        ),
        Step("sync", f"wait for {seed} to catch up with the global primary", _sync_probe, no_outputs(_sync)),
        Step(
            "metadata_member",
            f"add {name} to the ClusterSet as a replica",
            _md_member_probe,
            no_outputs(_md_member),
        ),
        Step("final_sync", f"wait for {name}'s metadata copy", _final_sync_probe, no_outputs(_final_sync)),
    ]
