"""Site modes ``innodb_cluster`` (a running InnoDB Cluster as MySQL Shell's dba.createCluster() and
cluster.addInstance() leave it) and ``empty`` (standalone instances, GR configured, not started).

The innodb_cluster setup follows the Shell's statement order (spec §2.b steps 4.x and "Further members"):
plugins, recovery accounts ``mysql_innodb_cluster_<server_id>``, the GR variables through SET PERSIST,
bootstrap of member 0, the metadata schema 2.x with the cluster and its instances, then each further member
joins through distributed recovery (incremental: the group is young).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid as _uuid
from typing import TYPE_CHECKING, Any

from mysqlsim.errors import MySQLError
from mysqlsim.registry import topology_mode
from mysqlsim.replication import core, group, metadata

if TYPE_CHECKING:
    from mysqlsim.instance import Instance
    from mysqlsim.world import Site, World

log = logging.getLogger("mysqlsim.replication.topology")


def _persist(inst: Instance, name: str, value: Any) -> None:
    """SET PERSIST as the Shell does it (runtime value and mysqld-auto.cnf)."""
    inst.variables.set_global_internal(name, value)
    inst.variables.persist(name, value, user="root", host="localhost", only=False)


def _gr_local_address(inst: Instance) -> str:
    # MYSQL communication stack (the Shell's default from 8.0.27): the SQL port
    return f"{core.report_host(inst)}:{core.port_of(inst)}"


def _install_plugins(inst: Instance) -> None:
    for p in ("group_replication", "clone"):
        if not inst.plugin_active(p):
            inst.install_plugin(p)


async def _run(world: World, inst: Instance, sql: str, *, log_bin: bool = True) -> Any:
    s = world.internal_session(inst)
    if not log_bin:
        s.vars["sql_log_bin"] = False
    return await s.execute(sql)


def recovery_user(inst: Instance) -> str:
    return f"mysql_innodb_cluster_{core.server_id(inst)}"


async def _create_recovery_account(
    world: World, on: Instance, member: Instance, password: str, *, log_bin: bool
) -> None:
    user = recovery_user(member)
    await _run(world, on, f"DROP USER IF EXISTS '{user}'@'%'", log_bin=log_bin)
    await _run(
        world, on, f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{password}'", log_bin=log_bin
    )
    await _run(world, on, f"GRANT REPLICATION SLAVE, BACKUP_ADMIN ON *.* TO '{user}'@'%'", log_bin=log_bin)
    try:
        await _run(world, on, f"GRANT GROUP_REPLICATION_STREAM ON *.* TO '{user}'@'%'", log_bin=log_bin)
    except MySQLError as e:  # pragma: no cover - older accounts module without the dynamic privilege
        log.warning("GROUP_REPLICATION_STREAM grant failed: %s", e)
    await _run(world, on, f"GRANT CONNECTION_ADMIN ON *.* TO '{user}'@'%'", log_bin=log_bin)


def _configure_gr(inst: Instance, *, group_name: str, view_change_uuid: str | None, seeds: str) -> None:
    """start_cluster / join_cluster's SET PERSIST list (spec §2.b step 4.6)."""
    _persist(inst, "super_read_only", True)
    _persist(inst, "group_replication_group_name", group_name)
    if view_change_uuid is not None:
        _persist(inst, "group_replication_view_change_uuid", view_change_uuid)
    _persist(inst, "group_replication_enforce_update_everywhere_checks", False)
    _persist(inst, "group_replication_single_primary_mode", True)
    _persist(inst, "group_replication_recovery_use_ssl", True)
    _persist(inst, "group_replication_ssl_mode", "REQUIRED")
    _persist(inst, "group_replication_local_address", _gr_local_address(inst))
    _persist(inst, "group_replication_group_seeds", seeds)
    _persist(inst, "group_replication_start_on_boot", True)
    _persist(inst, "group_replication_communication_stack", "MYSQL")
    _persist(inst, "auto_increment_increment", 1)
    _persist(inst, "auto_increment_offset", 2)


async def _wait_online(inst: Instance, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while group.member_state(inst) != "ONLINE":
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{core.host_of(inst)} did not reach ONLINE (state {group.member_state(inst)})"
            )
        if group.member_state(inst) in ("ERROR", "OFFLINE"):
            raise RuntimeError(f"{core.host_of(inst)} failed to join: {group.member_state(inst)}")
        await asyncio.sleep(0.02)


@topology_mode("innodb_cluster")
async def innodb_cluster(world: World, site: Site) -> None:
    members: list[Instance] = list(site.members)
    if not members:
        return
    cluster_name = str(getattr(site.spec, "cluster_name", None) or site.spec.name)
    seed = members[0]
    group_name = str(_uuid.uuid4())
    below_83 = tuple(int(p) for p in core.version_of(seed).split(".")[:2]) < (8, 3)
    vcu = str(_uuid.uuid4()) if below_83 else None
    seeds = ",".join(_gr_local_address(m) for m in members)
    passwords = {core.host_of(m): secrets.token_urlsafe(24)[:32] for m in members}
    for m in members:
        _install_plugins(m)
    # the seed: its own recovery account without binlog, the GR configuration, bootstrap
    await _create_recovery_account(world, seed, seed, passwords[core.host_of(seed)], log_bin=False)
    await _run(
        world,
        seed,
        f"CHANGE REPLICATION SOURCE TO SOURCE_USER='{recovery_user(seed)}', "
        f"SOURCE_PASSWORD='{passwords[core.host_of(seed)]}' FOR CHANNEL 'group_replication_recovery'",
    )
    _configure_gr(seed, group_name=group_name, view_change_uuid=vcu, seeds=seeds)
    seed.variables.set_global_internal("group_replication_bootstrap_group", True)
    try:
        await group.start(seed, user=None, password=None)
    finally:
        seed.variables.set_global_internal("group_replication_bootstrap_group", False)
    await _wait_online(seed)
    seed.role_hint = "PRIMARY"
    # metadata and the seed's recovery account, binlogged so that they reach every member
    await metadata.create_schema(world, seed)
    cluster_id = await metadata.register_cluster(
        world, seed, cluster_name=cluster_name, group_name=group_name, view_change_uuid=vcu
    )
    await _create_recovery_account(world, seed, seed, passwords[core.host_of(seed)], log_bin=True)
    await metadata.register_instance(world, seed, seed, cluster_id, recovery_account=recovery_user(seed))
    for m in members[1:]:
        pw = passwords[core.host_of(m)]
        await _create_recovery_account(world, seed, m, pw, log_bin=True)
        await _run(
            world,
            m,
            f"CHANGE REPLICATION SOURCE TO SOURCE_USER='{recovery_user(m)}', SOURCE_PASSWORD='{pw}' "
            "FOR CHANNEL 'group_replication_recovery'",
        )
        _configure_gr(m, group_name=group_name, view_change_uuid=vcu, seeds=seeds)
        await group.start(m, user=None, password=None)
        await _wait_online(m)
        m.role_hint = "SECONDARY"
        await metadata.register_instance(world, seed, m, cluster_id, recovery_account=recovery_user(m))


@topology_mode("empty")
async def empty(world: World, site: Site) -> None:
    """Standalone instances with the GR and clone plugins installed and GR configured, not started."""
    for m in site.members:
        _install_plugins(m)
        _persist(m, "group_replication_local_address", _gr_local_address(m))
        _persist(m, "group_replication_start_on_boot", False)
        _persist(m, "group_replication_communication_stack", "MYSQL")
        _persist(m, "group_replication_single_primary_mode", True)
        m.role_hint = "STANDALONE"
