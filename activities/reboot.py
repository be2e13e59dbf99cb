"""rebootClusterFromCompleteOutage for a replica site whose group is down (spec §2.e), used by rejoin.

Why it exists: when every member of a replica cluster stopped (power loss, all pods restarted without a
member bootstrapping), Group Replication does not come back by itself and the cluster cannot replicate.
The Shell reboots it from the member with the most transactions; we do the same as two steps that
rejoin puts before its own:

* `reboot_group`: the seed is the reachable member with the largest "total" GTID set (executed plus
  received on group_replication_applier and clusterset_replication, §1.9), which must contain every
  other member's; on it the SRO member action is disabled (a replica primary stays read-only; GR's
  failover-channel action then starts the channel), then the group is bootstrapped
  (`group_replication_bootstrap_group` ON, START GROUP_REPLICATION, OFF) and the seed waited ONLINE.
* `rejoin_members`: START GROUP_REPLICATION on every other reachable member that is not in the group.

Probes: the cluster has an ONLINE primary; every reachable member is ONLINE.
"""

from __future__ import annotations

from activities import cs_topology as t
from activities import primitives as p
from activities import sql
from activities.connections import ClusterAccess, Session
from activities.errors import InstanceUnreachable, InvalidTopology
from activities.gtid import GtidSet
from activities.steps import Step, StepContext
from api.models import Endpoint


async def member_state(s: Session) -> str:
    row = await s.fetch_one(sql.MY_GR_STATE)
    return p.as_str(row.get("member_state")) if row else "OFFLINE"


async def total_set(s: Session) -> GtidSet:
    total = await p.gtid_executed(s)
    for r in await s.fetch_all(sql.GR_APPLIER_AND_CH_RECEIVED):
        total = total.union(GtidSet.parse(p.as_str(r.get("received"))))
    return total


async def choose_seed(acc: ClusterAccess) -> Endpoint:
    sets: list[tuple[Endpoint, GtidSet]] = []
    for ep in await acc.reachable_endpoints():
        async with acc.endpoint_session(ep) as s:
            sets.append((ep, await total_set(s)))
    if not sets:
        raise InstanceUnreachable(
            f"no member of cluster {acc.name} answers; start its servers", where=acc.name
        )
    seed, best = max(sets, key=lambda e: e[1].count())
    for ep, other in sets:
        extra = other.subtract(best)
        if extra:
            raise InvalidTopology(
                f"members of cluster {acc.name} diverged: {ep.address} has {extra} that {seed.address} "
                "lacks; decide which member to keep and re-provision the others",
                where=acc.name,
            )
    return seed


async def probe_group(ctx: StepContext, name: str) -> bool:
    return await t.primary_or_none(ctx, name) is not None


async def reboot_group(ctx: StepContext, name: str) -> dict[str, str]:
    acc = ctx.cluster(name)
    seed = await choose_seed(acc)
    async with acc.endpoint_session(seed) as s:
        state = await member_state(s)
        if state not in ("ONLINE", "RECOVERING"):
            if state == "ERROR":
                await s.execute(sql.STOP_GR)
            if (await p.member_actions(s)).get(sql.ACTION_SRO, True):
                await p.set_member_action(s, sql.ACTION_SRO, enable=False)
            await p.fence(s)
            await s.execute(sql.BOOTSTRAP_ON)
            try:
                await s.execute(sql.START_GR, limit=ctx.settings.member_online_timeout)
            finally:
                await s.execute(sql.BOOTSTRAP_OFF)

        async def online() -> bool:
            return await member_state(s) == "ONLINE"

        await p.poll_until(
            online,
            within=ctx.settings.member_online_timeout,
            interval=ctx.settings.poll_interval,
            what="the rebooted seed to be ONLINE",
            where=seed.address,
        )
    return {"reboot_seed": seed.address}


async def probe_members(ctx: StepContext, name: str) -> bool:
    acc = ctx.cluster(name)
    for ep in await acc.reachable_endpoints():
        async with acc.endpoint_session(ep) as s:
            if await member_state(s) != "ONLINE":
                return False
    return True


async def rejoin_members(ctx: StepContext, name: str) -> None:
    acc = ctx.cluster(name)
    for ep in await acc.reachable_endpoints():
        async with acc.endpoint_session(ep) as s:
            state = await member_state(s)
            if state in ("ONLINE", "RECOVERING"):
                continue
            if state == "ERROR":
                await s.execute(sql.STOP_GR)
            await s.execute(sql.START_GR, limit=ctx.settings.member_online_timeout)
    for ep in await acc.reachable_endpoints():
        async with acc.endpoint_session(ep) as s:

            async def online(session: Session = s) -> bool:
                return await member_state(session) == "ONLINE"

            await p.poll_until(
                online,
                within=ctx.settings.member_online_timeout,
                interval=ctx.settings.poll_interval,
                what="the member to rejoin its group",
                where=ep.address,
            )


def reboot_steps(name: str) -> list[Step]:
    """The two reboot steps for cluster `name` (rejoin runs them first when the group is down)."""

    async def p_group(ctx: StepContext) -> bool:
        return await probe_group(ctx, name)

    async def a_group(ctx: StepContext) -> dict[str, str]:
        return await reboot_group(ctx, name)

    async def p_members(ctx: StepContext) -> bool:
        return await probe_members(ctx, name)

    async def a_members(ctx: StepContext) -> None:
        await rejoin_members(ctx, name)

    return [
        Step(
            "reboot_group",
            f"{name}'s group is running (rebooted from its most advanced member if down)",
            probe=p_group,
            act=a_group,
        ),
        Step(
            "rejoin_members",
            f"every reachable member of {name} is ONLINE in the group",
            probe=p_members,
            act=a_members,
        ),
    ]
