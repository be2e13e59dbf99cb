"""The mysql_innodb_cluster_metadata schema 2.2.0: tables, v2_* views and v2_cs_* procedures.

Written from the schema description of the spec (§5, "Metadata schema 2.x"): real tables in the instance's
SQL engine, created through ordinary binlogged statements on the primary so that they replicate like any
data. The stored procedures run as Python that issues the same SQL statements a MySQL stored procedure would
(MySQL's procedural language is not simulated); each call is one change of the ClusterSet view.
"""

from __future__ import annotations

import json
import re
import time
import uuid as _uuid
from typing import TYPE_CHECKING, Any

from mysqlsim.errors import wrong_paramcount_to_native_fct
from mysqlsim.registry import (
    PROCEDURES,
    SQL_FUNCTIONS,
    SYSTEM_TABLES,
    Result,
    StatementContext,
    procedure,
    sql_function,
    system_table,
)
from mysqlsim.replication import core

if TYPE_CHECKING:
    from mysqlsim.instance import Instance
    from mysqlsim.world import World

MD = "mysql_innodb_cluster_metadata"
VERSION = (2, 2, 0)

TABLES = [
    f"""CREATE TABLE IF NOT EXISTS {MD}.clustersets (
  clusterset_id VARCHAR(36) NOT NULL,
  domain_name VARCHAR(63) NOT NULL,
  options JSON,
  attributes JSON,
  router_options JSON,
  topology_type VARCHAR(32),
  PRIMARY KEY (clusterset_id))""",
    f"""CREATE TABLE IF NOT EXISTS {MD}.clusters (
  cluster_id CHAR(36) NOT NULL,
  cluster_name VARCHAR(63) NOT NULL,
  description TEXT,
  options JSON,
  attributes JSON,
  cluster_type VARCHAR(2) NOT NULL,
  primary_mode VARCHAR(2) NOT NULL DEFAULT 'pm',
  router_options JSON,
  clusterset_id VARCHAR(36) DEFAULT NULL,
  PRIMARY KEY (cluster_id),
  UNIQUE KEY cluster_name (cluster_name))""",
    f"""CREATE TABLE IF NOT EXISTS {MD}.instances (
  instance_id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  cluster_id CHAR(36) NOT NULL,
  address VARCHAR(265),
  mysql_server_uuid CHAR(36) NOT NULL,
  instance_name VARCHAR(265) NOT NULL,
  addresses JSON NOT NULL,
  attributes JSON,
  description TEXT,
  instance_type VARCHAR(16) NOT NULL DEFAULT 'group-member',
  PRIMARY KEY (instance_id))""",
    f"""CREATE TABLE IF NOT EXISTS {MD}.async_cluster_views (
  cluster_id CHAR(36) NOT NULL,
  view_id INT UNSIGNED NOT NULL,
  topology_type VARCHAR(32),
  view_change_reason VARCHAR(32) NOT NULL,
  view_change_time TIMESTAMP(6) NOT NULL,
  view_change_info JSON NOT NULL,
  attributes JSON NOT NULL,
  PRIMARY KEY (cluster_id, view_id))""",
    f"""CREATE TABLE IF NOT EXISTS {MD}.async_cluster_members (
  cluster_id CHAR(36) NOT NULL,
  view_id INT UNSIGNED NOT NULL,
  instance_id INT UNSIGNED NOT NULL,
  master_instance_id INT UNSIGNED,
  primary_master BOOL NOT NULL,
  attributes JSON NOT NULL,
  PRIMARY KEY (cluster_id, view_id, instance_id))""",
    f"""CREATE TABLE IF NOT EXISTS {MD}.clusterset_views (
  clusterset_id VARCHAR(36) NOT NULL,
  view_id BIGINT UNSIGNED NOT NULL,
  topology_type VARCHAR(32),
  view_change_reason VARCHAR(32) NOT NULL,
  view_change_time TIMESTAMP(6) NOT NULL,
  view_change_info JSON NOT NULL,
  attributes JSON NOT NULL,
  PRIMARY KEY (clusterset_id, view_id))""",
    f"""CREATE TABLE IF NOT EXISTS {MD}.clusterset_members (
  clusterset_id VARCHAR(36) NOT NULL,
  view_id BIGINT UNSIGNED NOT NULL,
  cluster_id VARCHAR(36) NOT NULL,
  master_cluster_id VARCHAR(36),
  primary_cluster BOOL NOT NULL,
  attributes JSON NOT NULL,
  PRIMARY KEY (clusterset_id, view_id, cluster_id))""",
    f"""CREATE TABLE IF NOT EXISTS {MD}.routers (
  router_id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  router_name VARCHAR(265) NOT NULL,
  product_name VARCHAR(128) NOT NULL,
  address VARCHAR(256),
  version VARCHAR(12) DEFAULT NULL,
  last_check_in TIMESTAMP NULL DEFAULT NULL,
  attributes JSON,
  cluster_id CHAR(36) DEFAULT NULL,
  options JSON DEFAULT NULL,
  clusterset_id VARCHAR(36) DEFAULT NULL,
  PRIMARY KEY (router_id))""",
    f"""CREATE TABLE IF NOT EXISTS {MD}.router_rest_accounts (
  cluster_id CHAR(36) NOT NULL,
  user VARCHAR(256) NOT NULL,
  authentication_method VARCHAR(64) NOT NULL DEFAULT 'modular_crypt_format',
  authentication_string TEXT DEFAULT NULL,
  description VARCHAR(255) DEFAULT NULL,
  privileges JSON,
  attributes JSON DEFAULT NULL,
  PRIMARY KEY (cluster_id, user))""",
]

VIEWS = [
    f"CREATE OR REPLACE VIEW {MD}.schema_version AS SELECT {VERSION[0]} AS major, {VERSION[1]} AS minor, "
    f"{VERSION[2]} AS patch",
    f"""CREATE OR REPLACE VIEW {MD}.v2_clusters AS
  SELECT c.cluster_type, c.primary_mode, c.cluster_id, c.cluster_name, c.router_options
  FROM {MD}.clusters c""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_gr_clusters AS
  SELECT c.cluster_type, c.primary_mode, c.cluster_id AS cluster_id, c.cluster_name AS cluster_name,
         JSON_UNQUOTE(JSON_EXTRACT(c.attributes, '$.group_replication_group_name')) AS group_name,
         c.attributes, c.options, c.router_options, c.description AS description, c.clusterset_id
  FROM {MD}.clusters c WHERE c.cluster_type = 'gr'""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_instances AS
  SELECT i.instance_id, i.cluster_id, i.instance_name AS label, i.mysql_server_uuid, i.address,
         JSON_UNQUOTE(JSON_EXTRACT(i.addresses, '$.mysqlClassic')) AS endpoint,
         JSON_UNQUOTE(JSON_EXTRACT(i.addresses, '$.mysqlX')) AS xendpoint,
         i.attributes, i.instance_type
  FROM {MD}.instances i""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_cs_clustersets AS
  SELECT v.view_id, v.topology_type AS async_topology_type, c.clusterset_id, c.domain_name, c.attributes,
         c.options, c.router_options
  FROM {MD}.clustersets c JOIN {MD}.clusterset_views v ON c.clusterset_id = v.clusterset_id
  WHERE v.view_id = (SELECT MAX(v2.view_id) FROM {MD}.clusterset_views v2
                     WHERE v2.clusterset_id = c.clusterset_id)""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_cs_members AS
  SELECT (SELECT MAX(v.view_id) FROM {MD}.clusterset_views v
          WHERE v.clusterset_id = c.clusterset_id) AS view_id,
         c.clusterset_id, c.cluster_id, c.cluster_name,
         CASE WHEN m.primary_cluster IS NULL THEN NULL
              WHEN m.primary_cluster THEN 'PRIMARY' ELSE 'REPLICA' END
           AS member_role,
         m.master_cluster_id,
         CASE WHEN m.view_id IS NULL THEN 1 ELSE 0 END AS invalidated
  FROM {MD}.clusters c
  LEFT JOIN {MD}.clusterset_members m
    ON m.clusterset_id = c.clusterset_id AND m.cluster_id = c.cluster_id
   AND m.view_id = (SELECT MAX(m2.view_id) FROM {MD}.clusterset_members m2
                    WHERE m2.clusterset_id = c.clusterset_id)
  WHERE c.clusterset_id IS NOT NULL""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_this_instance AS
  SELECT i.cluster_id, i.instance_id, c.cluster_name, c.cluster_type
  FROM {MD}.v2_instances i JOIN {MD}.clusters c ON i.cluster_id = c.cluster_id
  WHERE i.mysql_server_uuid = @@server_uuid""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_routers AS
  SELECT r.router_id, r.cluster_id, r.router_name, r.product_name, r.address, r.version, r.last_check_in,
         r.attributes, r.options, r.clusterset_id
  FROM {MD}.routers r""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_router_rest_accounts AS
  SELECT a.cluster_id, a.user, a.authentication_method, a.authentication_string, a.description, a.privileges,
         a.attributes
  FROM {MD}.router_rest_accounts a""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_ar_clusters AS
  SELECT v.view_id, c.cluster_type, c.primary_mode, v.topology_type AS async_topology_type, c.cluster_id,
         c.cluster_name, c.attributes, c.options, c.router_options, c.description, c.clusterset_id
  FROM {MD}.clusters c JOIN {MD}.async_cluster_views v ON c.cluster_id = v.cluster_id
  WHERE c.cluster_type = 'ar'""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_ar_members AS
  SELECT m.view_id, i.cluster_id, i.instance_id, i.instance_name AS label, i.mysql_server_uuid AS member_id,
         CASE WHEN m.primary_master THEN 'PRIMARY' ELSE 'SECONDARY' END AS member_role,
         m.master_instance_id
  FROM {MD}.instances i JOIN {MD}.async_cluster_members m ON m.cluster_id = i.cluster_id
   AND m.instance_id = i.instance_id""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_cs_router_options AS
  SELECT r.router_id, CONCAT(r.address, '::', r.router_name) AS router_label, r.clusterset_id,
         JSON_MERGE_PATCH(COALESCE((SELECT cs.router_options FROM {MD}.clustersets cs
                                    WHERE cs.clusterset_id = r.clusterset_id), '{{}}'),
                          COALESCE(r.options, '{{}}')) AS router_options
  FROM {MD}.routers r""",
    f"""CREATE OR REPLACE VIEW {MD}.v2_router_options AS
  SELECT r.router_id, CONCAT(r.address, '::', r.router_name) AS router_label, r.clusterset_id, r.cluster_id,
         JSON_MERGE_PATCH(JSON_MERGE_PATCH(
             COALESCE((SELECT cs.router_options FROM {MD}.clustersets cs
                       WHERE cs.clusterset_id = r.clusterset_id),
                      '{{}}'),
             COALESCE((SELECT c.router_options FROM {MD}.clusters c
                       WHERE c.cluster_id = r.cluster_id), '{{}}')),
           COALESCE(r.options, '{{}}')) AS router_options
  FROM {MD}.routers r""",
]


def _q(v: Any) -> str:
    """A SQL literal."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("\\", "\\\\").replace("'", "''") + "'"


async def _exec(world: World, inst: Instance, sql: str) -> Any:
    s = world.internal_session(inst)
    return await s.execute(sql)


async def create_schema(world: World, inst: Instance) -> None:
    """CREATE DATABASE, tables and views, as binlogged statements on ``inst`` (the primary)."""
    await _exec(world, inst, f"CREATE DATABASE IF NOT EXISTS {MD}")
    for sql in TABLES:
        await _exec(world, inst, sql)
    for sql in VIEWS:
        await _exec(world, inst, sql)


async def register_cluster(
    world: World, inst: Instance, *, cluster_name: str, group_name: str, view_change_uuid: str | None
) -> str:
    """The clusters row createCluster writes (spec §2.b step 4.8), in one transaction."""
    cluster_id = str(_uuid.uuid4())
    attrs: dict[str, Any] = {
        "adopted": 0,
        "group_replication_group_name": group_name,
        "opt_gtidSetIsComplete": False,
        "opt_manualStartOnBoot": False,
        "opt_replicationAllowedHost": "%",
        "default": True,
        "opt_transactionSizeLimit": 150000000,
        "opt_memberAuthType": "PASSWORD",
        "opt_certIssuer": "",
        "capabilities": {"communicationStack": {"value": "MYSQL", "allow": []}},
    }
    if view_change_uuid is not None:
        attrs["group_replication_view_change_uuid"] = view_change_uuid
    router_options = {"tags": {}, "read_only_targets": "secondaries"}
    s = world.internal_session(inst)
    await s.execute("START TRANSACTION")
    await s.execute(
        f"INSERT INTO {MD}.clusters (cluster_id, cluster_name, description, options, attributes, "
        "cluster_type, "
        f"primary_mode, router_options) VALUES ({_q(cluster_id)}, {_q(cluster_name)}, 'Default Cluster', "
        f"'{{}}', "
        f"{_q(json.dumps(attrs))}, 'gr', 'pm', {_q(json.dumps(router_options))})"
    )
    await s.execute("COMMIT")
    return cluster_id


async def register_instance(
    world: World, primary: Instance, inst: Instance, cluster_id: str, *, recovery_account: str
) -> None:
    """The instances row of createCluster / addInstance (spec §2.b step 4.8 and 5)."""
    host = core.report_host(inst)
    port = core.port_of(inst)
    addr = f"{host}:{port}"
    addresses = {"mysqlClassic": addr, "mysqlX": f"{host}:{port * 10}", "grLocal": addr}
    attrs: dict[str, Any] = {
        "server_id": core.server_id(inst),
        "recoveryAccountUser": recovery_account,
        "recoveryAccountHost": "%",
    }
    if primary is not inst:
        attrs["joinTime"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    s = world.internal_session(primary)
    await s.execute("START TRANSACTION")
    await s.execute(
        f"INSERT INTO {MD}.instances (cluster_id, address, mysql_server_uuid, instance_name, addresses, "
        "attributes, "
        f"instance_type) VALUES ({_q(cluster_id)}, {_q(addr)}, {_q(core.server_uuid(inst))}, {_q(addr)}, "
        f"{_q(json.dumps(addresses))}, {_q(json.dumps(attrs))}, 'group-member')"
    )
    await s.execute("COMMIT")


# --- stored procedures --------------------------------------------------------------------------------------


def _set_out(ctx: StatementContext, arg: Any, value: Any, *, position: int, call_text: str) -> None:
    """Assign an OUT parameter given as a user variable (``@name``): the core passes the variable's value, so
    its name is read from the CALL text the session is running."""
    name = getattr(arg, "name", None)
    if not isinstance(name, str):
        text = call_text
        m = re.search(r"\((.*)\)\s*;?\s*$", text, re.DOTALL)
        if m is None:
            return
        args = [a.strip() for a in re.split(r",(?=(?:[^']*'[^']*')*[^']*$)", m.group(1))]
        if len(args) <= position or not args[position].startswith("@"):
            return
        name = args[position]
    ctx.session.user_vars[name.lstrip("@").strip("`").lower()] = value


async def _scalar(ctx: StatementContext, sql: str) -> Any:
    r = await ctx.query(sql)
    return r.rows[0][0] if r.rows else None


async def _begin_cs_change(ctx: StatementContext, cs_id: str, reason: str, failover: bool) -> int:
    last = await _scalar(
        ctx, f"SELECT MAX(view_id) FROM {MD}.clusterset_views WHERE clusterset_id = {_q(cs_id)}"
    )
    last = int(last or 0)
    new = last + (4294967296 if failover else 1)
    await ctx.query(
        f"INSERT INTO {MD}.clusterset_views (clusterset_id, view_id, topology_type, view_change_reason, "
        f"view_change_time, view_change_info, attributes) SELECT clusterset_id, {new}, topology_type, "
        f"{_q(reason)}, "
        f"NOW(6), JSON_OBJECT('user', {_q(_user(ctx))}, 'source', {_q(core.server_uuid(ctx.instance))}), "
        "attributes "
        f"FROM {MD}.clusterset_views WHERE clusterset_id = {_q(cs_id)} AND view_id = {last}"
    )
    await ctx.query(
        f"INSERT INTO {MD}.clusterset_members (clusterset_id, view_id, cluster_id, master_cluster_id, "
        f"primary_cluster, attributes) SELECT clusterset_id, {new}, cluster_id, master_cluster_id, "
        "primary_cluster, "
        f"attributes FROM {MD}.clusterset_members WHERE clusterset_id = {_q(cs_id)} AND view_id = {last}"
    )
    return new


def _user(ctx: StatementContext) -> str:
    return f"{ctx.user}@{ctx.host or 'localhost'}"


def _json(v: Any) -> str:
    if v is None:
        return "{}"
    return str(v)


@procedure(MD, "v2_cs_created")
async def v2_cs_created(
    ctx: StatementContext, domain: Any, cluster_id: Any, attributes: Any = None, out: Any = None
) -> Result | None:
    call_text = str(getattr(ctx.session, "info", "") or "")
    cs_id = str(_uuid.uuid4())
    await ctx.query(
        f"INSERT INTO {MD}.clustersets (clusterset_id, domain_name, options, attributes, router_options) "
        f"VALUES ({_q(cs_id)}, {_q(domain)}, '{{}}', '{{}}', '{{}}')"
    )
    await ctx.query(
        f"INSERT INTO {MD}.clusterset_views (clusterset_id, view_id, topology_type, view_change_reason, "
        f"view_change_time, view_change_info, attributes) VALUES ({_q(cs_id)}, 1, 'SINGLE-PRIMARY-TREE', "
        "'CREATE', "
        f"NOW(6), JSON_OBJECT('user', {_q(_user(ctx))}, 'source', {_q(core.server_uuid(ctx.instance))}), "
        f"{_q(_json(attributes))})"
    )
    await ctx.query(
        f"INSERT INTO {MD}.clusterset_members (clusterset_id, view_id, cluster_id, master_cluster_id, "
        f"primary_cluster, attributes) VALUES ({_q(cs_id)}, 1, {_q(cluster_id)}, NULL, 1, "
        f"{_q(_json(attributes))})"
    )
    await ctx.query(
        f"UPDATE {MD}.clusters SET clusterset_id = {_q(cs_id)} WHERE cluster_id = {_q(cluster_id)}"
    )
    _set_out(ctx, out, cs_id, position=3, call_text=call_text)
    return None


async def _member_insert(
    ctx: StatementContext, cs_id: Any, view: int, cluster_id: Any, master: Any, attributes: Any
) -> None:
    master_v = None if master in (None, "") else master
    await ctx.query(
        f"INSERT INTO {MD}.clusterset_members (clusterset_id, view_id, cluster_id, master_cluster_id, "
        f"primary_cluster, attributes) VALUES ({_q(cs_id)}, {view}, {_q(cluster_id)}, {_q(master_v)}, 0, "
        f"{_q(_json(attributes))})"
    )


@procedure(MD, "v2_cs_member_added")
async def v2_cs_member_added(
    ctx: StatementContext, cs_id: Any, cluster_id: Any, master: Any, attributes: Any = None
) -> Result | None:
    view = await _begin_cs_change(ctx, str(cs_id), "ADD_CLUSTER", False)
    await _member_insert(ctx, cs_id, view, cluster_id, master, attributes)
    await ctx.query(
        f"UPDATE {MD}.clusters SET clusterset_id = {_q(cs_id)} WHERE cluster_id = {_q(cluster_id)}"
    )
    return None


@procedure(MD, "v2_cs_member_rejoined")
async def v2_cs_member_rejoined(
    ctx: StatementContext, cs_id: Any, cluster_id: Any, master: Any, attributes: Any = None
) -> Result | None:
    view = await _begin_cs_change(ctx, str(cs_id), "REJOIN_CLUSTER", False)
    await _member_insert(ctx, cs_id, view, cluster_id, master, attributes)
    return None


@procedure(MD, "v2_cs_member_removed")
async def v2_cs_member_removed(ctx: StatementContext, cs_id: Any, cluster_id: Any) -> Result | None:
    view = await _begin_cs_change(ctx, str(cs_id), "REMOVE_CLUSTER", False)
    await ctx.query(
        f"DELETE FROM {MD}.clusterset_members WHERE clusterset_id = {_q(cs_id)} AND cluster_id = "
        f"{_q(cluster_id)} "
        f"AND view_id = {view}"
    )
    await ctx.query(f"UPDATE {MD}.clusters SET clusterset_id = NULL WHERE cluster_id = {_q(cluster_id)}")
    return None


async def _primary_changed(
    ctx: StatementContext, cs_id: Any, primary: Any, attributes: Any, *, failover: bool
) -> None:
    view = await _begin_cs_change(
        ctx, str(cs_id), "FORCE_PRIMARY" if failover else "SWITCH_PRIMARY", failover
    )
    attrs = _q(_json(attributes))
    await ctx.query(
        f"UPDATE {MD}.clusterset_members SET master_cluster_id = NULL, primary_cluster = 1, "
        f"attributes = JSON_MERGE_PATCH({attrs}, attributes) WHERE clusterset_id = {_q(cs_id)} AND view_id = "
        f"{view} "
        f"AND cluster_id = {_q(primary)}"
    )
    await ctx.query(
        f"UPDATE {MD}.clusterset_members SET master_cluster_id = {_q(primary)}, primary_cluster = 0, "
        f"attributes = JSON_MERGE_PATCH({attrs}, attributes) WHERE clusterset_id = {_q(cs_id)} AND view_id = "
        f"{view} "
        f"AND cluster_id <> {_q(primary)}"
    )


@procedure(MD, "v2_cs_primary_changed")
async def v2_cs_primary_changed(
    ctx: StatementContext, cs_id: Any, primary: Any, attributes: Any = None
) -> Result | None:
    await _primary_changed(ctx, cs_id, primary, attributes, failover=False)
    return None


@procedure(MD, "v2_cs_primary_force_changed")
async def v2_cs_primary_force_changed(
    ctx: StatementContext, cs_id: Any, primary: Any, attributes: Any = None
) -> Result | None:
    await _primary_changed(ctx, cs_id, primary, attributes, failover=True)
    return None


@procedure(MD, "v2_cs_add_invalidated_member")
async def v2_cs_add_invalidated_member(ctx: StatementContext, cs_id: Any, cluster_id: Any) -> Result | None:
    view = await _scalar(
        ctx, f"SELECT MAX(view_id) FROM {MD}.clusterset_views WHERE clusterset_id = {_q(cs_id)}"
    )
    await ctx.query(
        f"DELETE FROM {MD}.clusterset_members WHERE clusterset_id = {_q(cs_id)} AND cluster_id = "
        f"{_q(cluster_id)} "
        f"AND view_id = {int(view or 0)}"
    )
    return None


async def _set_option(
    ctx: StatementContext, table: str, key_col: str, key: Any, name: Any, value: Any
) -> None:
    path = _q(f"$.{name}")
    if value is None:
        await ctx.query(
            f"UPDATE {MD}.{table} SET router_options = JSON_REMOVE(router_options, {path}) WHERE {key_col} = "
            f"{_q(key)}"
        )
    else:
        await ctx.query(
            f"UPDATE {MD}.{table} SET router_options = JSON_SET(COALESCE(router_options, '{{}}'), {path}, "
            f"CAST({_q(value)} AS JSON)) WHERE {key_col} = {_q(key)}"
        )


@procedure(MD, "v2_set_global_cs_router_option")
async def v2_set_global_cs_router_option(
    ctx: StatementContext, cs_id: Any, name: Any, value: Any
) -> Result | None:
    await _set_option(ctx, "clustersets", "clusterset_id", cs_id, name, value)
    return None


@procedure(MD, "v2_set_global_cluster_router_option")
async def v2_set_global_cluster_router_option(
    ctx: StatementContext, cluster_id: Any, name: Any, value: Any
) -> Result | None:
    await _set_option(ctx, "clusters", "cluster_id", cluster_id, name, value)
    return None


@procedure(MD, "v2_set_global_router_option")
async def v2_set_global_router_option(
    ctx: StatementContext, cs_id: Any, name: Any, value: Any
) -> Result | None:
    await _set_option(ctx, "clustersets", "clusterset_id", cs_id, name, value)
    return None


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 merge patch, as JSON_MERGE_PATCH applies it."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


if "json_merge_patch" not in SQL_FUNCTIONS:

    @sql_function("json_merge_patch", pre_evaluate=False)
    def json_merge_patch(ctx: StatementContext | None, *docs: Any) -> Any:
        """JSON_MERGE_PATCH(doc, doc[, doc]...) (used by the v2_* router-option views and procedures)."""
        if len(docs) < 2:
            raise wrong_paramcount_to_native_fct("json_merge_patch")
        if any(d is None for d in docs):
            return None
        parsed = [json.loads(d) if isinstance(d, (str, bytes)) else d for d in docs]
        acc = parsed[0]
        for p in parsed[1:]:
            acc = _merge_patch(acc, p)
        return json.dumps(acc)


_ROUTINE_COLUMNS = [
    ("SPECIFIC_NAME", "TEXT"),
    ("ROUTINE_CATALOG", "TEXT"),
    ("ROUTINE_SCHEMA", "TEXT"),
    ("ROUTINE_NAME", "TEXT"),
    ("ROUTINE_TYPE", "TEXT"),
    ("DATA_TYPE", "TEXT"),
    ("ROUTINE_BODY", "TEXT"),
    ("ROUTINE_DEFINITION", "TEXT"),
    ("EXTERNAL_NAME", "TEXT"),
    ("EXTERNAL_LANGUAGE", "TEXT"),
    ("PARAMETER_STYLE", "TEXT"),
    ("IS_DETERMINISTIC", "TEXT"),
    ("SQL_DATA_ACCESS", "TEXT"),
    ("SQL_PATH", "TEXT"),
    ("SECURITY_TYPE", "TEXT"),
    ("CREATED", "DATETIME"),
    ("LAST_ALTERED", "DATETIME"),
    ("SQL_MODE", "TEXT"),
    ("ROUTINE_COMMENT", "TEXT"),
    ("DEFINER", "TEXT"),
    ("CHARACTER_SET_CLIENT", "TEXT"),
    ("COLLATION_CONNECTION", "TEXT"),
    ("DATABASE_COLLATION", "TEXT"),
]

if ("information_schema", "routines") not in SYSTEM_TABLES:

    @system_table("information_schema", "routines", columns=_ROUTINE_COLUMNS)
    def routines(inst: Instance) -> list[tuple[Any, ...]]:
        """information_schema.ROUTINES for the stored procedures the simulator provides (the metadata's)."""
        rows: list[tuple[Any, ...]] = []
        created = "2024-01-01 00:00:00"
        for (schema, name), proc in sorted(PROCEDURES.items()):
            if proc.requires_schema and not inst.engine.schema_exists(schema):
                continue
            rows.append(
                (
                    name,
                    "def",
                    schema,
                    name,
                    "PROCEDURE",
                    "",
                    "SQL",
                    None,
                    None,
                    "SQL",
                    "SQL",
                    "NO",
                    "MODIFIES SQL DATA",
                    None,
                    "INVOKER",
                    created,
                    created,
                    "",
                    "",
                    "root@localhost",
                    "utf8mb4",
                    "utf8mb4_0900_ai_ci",
                    "utf8mb4_0900_ai_ci",
                )
            )
        return rows
