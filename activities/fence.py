"""Fencing an invalidated old primary cluster as soon as it is reachable again (spec §6, §2.d).

Why it exists: after a forced failover the old primary cluster was cut off while writable; when it comes
back nothing may write to it. MySQL Shell only advises `fenceWrites()` / `fenceAllTraffic()`; we do it
as an operation the workflow starts as soon as a status round sees a member of an INVALIDATED cluster
answer (and as the last step of a failover, and the first of a rejoin).

Per reachable member, primary first:
  1. ``SET PERSIST super_read_only = ON``: writes stop at once, also after a restart;
  2. ``SET PERSIST offline_mode = ON``: application sessions (no CONNECTION_ADMIN) are closed and
     refused, as in fenceAllTraffic;
then, on the group's primary (or on each member that is not in a group),
  3. the member action ``mysql_disable_super_read_only_if_primary`` is disabled, so a primary election
     cannot clear super_read_only again (fenceWrites step 1). Its SRO wrapper (§1.5) lifts
     super_read_only for two statements; offline_mode keeps the applications out of that window.
Group Replication is left running (fenceAllTraffic stops it), so a later rejoin needs no reboot.
"""

from __future__ import annotations

from activities import primitives as p
from activities import sql
from activities.connections import ClusterAccess
from activities.errors import InstanceUnreachable, NoPrimary
from activities.models import OperationKind, OperationRequest
from activities.steps import Step, StepContext, operation
from api.models import Endpoint


async def _endpoints_primary_first(acc: ClusterAccess) -> list[tuple[Endpoint, bool]]:
    """Reachable endpoints with `in_group_primary` flags; the group's primary (if any) first."""
    eps = await acc.reachable_endpoints()
    primary: Endpoint | None = None
    try:
        ep, _ = await acc.primary()
        primary = ep
    except (NoPrimary, InstanceUnreachable):  # no group or no primary: every member on its own
        primary = None
    out = [(ep, primary is not None and ep == primary) for ep in eps]
    out.sort(key=lambda t: 0 if t[1] else 1)
    return out


async def member_fenced(acc: ClusterAccess, ep: Endpoint) -> bool:
    async with acc.endpoint_session(ep) as s:
        if not await p.super_read_only(s):
            return False
        if p.as_str(await p.persisted(s, "super_read_only")).upper() not in ("ON", "1"):
            return False
        return p.as_bool(await s.scalar(sql.OFFLINE_MODE))


async def cluster_fenced(ctx: StepContext, name: str) -> bool:
    """(probe) every reachable member is fenced; False when none answers."""
    acc = ctx.cluster(name)
    eps = await acc.reachable_endpoints()
    if not eps:
        return False
    for ep in eps:
        if not await member_fenced(acc, ep):
            return False
    return True


async def fence_cluster(ctx: StepContext, name: str) -> int:
    """Fence every reachable member (primary first); returns how many were reached."""
    acc = ctx.cluster(name)
    eps = await _endpoints_primary_first(acc)
    for ep, _ in eps:
        async with acc.endpoint_session(ep) as s:
            await p.fence(s)
            await s.execute(sql.set_persist("offline_mode", True))
    return len(eps)


async def _in_group(acc: ClusterAccess, ep: Endpoint) -> bool:
    async with acc.endpoint_session(ep) as s:
        row = await s.fetch_one(sql.MY_GR_STATE)
    return row is not None and p.as_str(row.get("member_state")) in ("ONLINE", "RECOVERING")


async def sro_action_disabled(ctx: StepContext, name: str) -> bool:
    """(probe) the SRO member action is disabled where it decides: the primary, or each lone member."""
    acc = ctx.cluster(name)
    for ep, is_primary in await _endpoints_primary_first(acc):
        if not is_primary and await _in_group(acc, ep):
            continue
        async with acc.endpoint_session(ep) as s:
            if (await p.member_actions(s)).get(sql.ACTION_SRO, True):
                return False
    return True


async def disable_sro_action(ctx: StepContext, name: str) -> None:
    acc = ctx.cluster(name)
    for ep, is_primary in await _endpoints_primary_first(acc):
        if not is_primary and await _in_group(acc, ep):
            continue
        async with acc.endpoint_session(ep) as s:
            await p.set_member_action(s, sql.ACTION_SRO, enable=False)
            await p.fence(s)


# ============================================================================== the FENCE operation


@operation(OperationKind.FENCE)
def fence_steps(req: OperationRequest) -> list[Step]:
    name = req.target_cluster or "?"

    async def probe_members(ctx: StepContext) -> bool:
        return await cluster_fenced(ctx, ctx.target)

    async def act_members(ctx: StepContext) -> dict[str, str]:
        reached = await fence_cluster(ctx, ctx.target)
        if not reached:
            raise InstanceUnreachable(
                f"no member of cluster {ctx.target} answers yet; fencing is retried until one does",
                where=ctx.target,
            )
        return {"fenced_members": str(reached)}

    async def probe_action(ctx: StepContext) -> bool:
        return await sro_action_disabled(ctx, ctx.target)

    async def act_action(ctx: StepContext) -> None:
        await disable_sro_action(ctx, ctx.target)

    return [
        Step(
            "fence_members",
            f"super_read_only and offline_mode ON (persisted) on every reachable member of {name}",
            probe=probe_members,
            act=act_members,
        ),
        Step(
            "disable_sro_action",
            f"disable mysql_disable_super_read_only_if_primary on {name}, so no election unfences it",
            probe=probe_action,
            act=act_action,
        ),
    ]
