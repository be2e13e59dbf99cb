"""START/STOP GROUP_REPLICATION and the Group Replication functions (member actions, set_as_primary).

Reference: MySQL 8.0/8.4 manual 15.4.3 "SQL Statements for Controlling Group Replication",
14.18.1 "Group Replication Functions" (group_replication_set_as_primary, *_member_action*).
"""

from __future__ import annotations

import re
from typing import Any

from mysqlsim.errors import MySQLError
from mysqlsim.registry import Result, StatementContext, sql_function, statement
from mysqlsim.replication import core, group
from mysqlsim.replication import errors as rerr
from mysqlsim.replication.sqlparse import parse_start_gr
from mysqlsim.replication.state import MemberAction, default_member_actions, repl

GR_ADMIN = ("GROUP_REPLICATION_ADMIN", "SUPER")
ACTIONS = ("mysql_disable_super_read_only_if_primary", "mysql_start_failover_channels_if_primary")


@statement(r"^\s*START\s+GROUP_REPLICATION\b", privilege=GR_ADMIN)
async def start_group_replication(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    opts = parse_start_gr(sql, version=core.version_of(ctx.instance))
    if opts.password is not None and opts.user is None:
        raise rerr.gr_user_password_mandatory()
    if opts.user is not None and not opts.user:
        raise rerr.gr_user_password_mandatory()
    await group.start(ctx.instance, user=opts.user, password=opts.password)
    return Result.ok()


@statement(r"^\s*STOP\s+GROUP_REPLICATION\s*;?\s*$", privilege=GR_ADMIN)
async def stop_group_replication(ctx: StatementContext, sql: str, m: re.Match[str]) -> Result:
    if not core.plugin_active(ctx.instance, "group_replication"):
        raise MySQLError(3087, "HY000", "Group Replication plugin is not installed.")
    await group.stop(ctx.instance)
    return Result.ok()


def _str(v: Any) -> str:
    return "" if v is None else str(v)


@sql_function("group_replication_set_as_primary", privilege=GR_ADMIN, plugin="group_replication")
async def set_as_primary(ctx: StatementContext, *args: Any) -> str:
    if len(args) not in (1, 2):
        raise rerr.gr_udf_error(
            "group_replication_set_as_primary", "Wrong arguments: You need to specify a server uuid."
        )
    timeout = int(args[1]) if len(args) == 2 and args[1] is not None else None
    return await group.set_as_primary(ctx.instance, _str(args[0]), timeout)


def _check_action_args(fn: str, args: tuple[Any, ...]) -> tuple[str, str]:
    if len(args) != 2:
        raise rerr.gr_udf_error(
            fn, "Wrong arguments: You need to specify the name and event of the member action."
        )
    name, event = _str(args[0]), _str(args[1])
    if event != "AFTER_PRIMARY_ELECTION":
        raise rerr.gr_udf_error(fn, "Invalid event name.")
    if name not in ACTIONS:
        raise rerr.gr_udf_error(fn, "The action does not exist for this event.")
    return name, event


def _change_action(ctx: StatementContext, fn: str, args: tuple[Any, ...], enabled: int) -> str:
    name, _event = _check_action_args(fn, args)
    inst = ctx.instance
    state = group.member_state(inst)
    if state in ("ONLINE", "RECOVERING") and not group.is_primary(inst):
        raise rerr.gr_udf_error(fn, "Member must be the primary or OFFLINE.")
    if core.var_on(inst, "super_read_only"):
        raise rerr.gr_udf_error(fn, "Server must have super_read_only=0.")
    st = repl(inst)
    a = st.member_actions.get(name)
    if a is None:
        a = default_member_actions()[name]
        st.member_actions[name] = a
    a.enabled = enabled
    st.member_actions_version += 1
    g = group.group_of(inst)
    if g is not None:
        for mem in g.members:
            if mem.inst is inst:
                continue
            other = repl(mem.inst)
            other.member_actions = {k: MemberAction(**vars(v)) for k, v in st.member_actions.items()}
            other.member_actions_version = st.member_actions_version
    return "OK"


@sql_function("group_replication_enable_member_action", privilege=GR_ADMIN, plugin="group_replication")
def enable_member_action(ctx: StatementContext, *args: Any) -> str:
    return _change_action(ctx, "group_replication_enable_member_action", args, 1)


@sql_function("group_replication_disable_member_action", privilege=GR_ADMIN, plugin="group_replication")
def disable_member_action(ctx: StatementContext, *args: Any) -> str:
    return _change_action(ctx, "group_replication_disable_member_action", args, 0)


@sql_function("group_replication_reset_member_actions", privilege=GR_ADMIN, plugin="group_replication")
def reset_member_actions(ctx: StatementContext, *args: Any) -> str:
    fn = "group_replication_reset_member_actions"
    if args:
        raise rerr.gr_udf_error(fn, "Wrong arguments: This function takes no arguments.")
    inst = ctx.instance
    if group.member_state(inst) in ("ONLINE", "RECOVERING"):
        raise rerr.gr_udf_error(fn, "Member must be OFFLINE to reset its member actions configuration.")
    # read_only does not block the function (it writes as a privileged user); super_read_only does, which is
    # why the AdminAPI lifts super_read_only (only) around it (spec 1.5)
    if core.var_on(inst, "super_read_only"):
        raise rerr.gr_udf_error(fn, "Server must have super_read_only=0.")
    st = repl(inst)
    st.member_actions = default_member_actions()
    st.member_actions_version = 1
    return "OK"


@sql_function("group_replication_get_communication_protocol", plugin="group_replication")
def get_communication_protocol(ctx: StatementContext, *args: Any) -> str:
    if group.member_state(ctx.instance) != "ONLINE":
        raise rerr.gr_udf_error("group_replication_get_communication_protocol", "Member must be ONLINE.")
    return "8.0.27"


@sql_function("group_replication_get_write_concurrency", plugin="group_replication")
def get_write_concurrency(ctx: StatementContext, *args: Any) -> int:
    if group.member_state(ctx.instance) != "ONLINE":
        raise rerr.gr_udf_error("group_replication_get_write_concurrency", "Member must be ONLINE.")
    return 10
