"""Adoption: take over a ClusterSet that already exists (made by MySQL Shell or an earlier install) from
its metadata, changing nothing on any server.

Both steps only read, so their probes always answer "not done" and their acts are safe to repeat:
  read_metadata  the newest ClusterSet view among the sites that answer (Router's rule), checked against
                 the spec: every member cluster must be in spec.clusters; the primary cluster is reported
                 (outputs `primary_cluster`, `spec_primary_matches`) so the workflow can align the CR.
  verify_live    each reachable, non-invalidated member's live group is the group the metadata names
                 (the spec's endpoints reach the right servers); replica channels are reported.
"""

from __future__ import annotations

from activities import primitives as p
from activities.common import cluster_primary
from activities.errors import ClusterSetError, InvalidTopology, NonRetryableError
from activities.models import OperationKind, OperationRequest
from activities.steps import Step, StepContext, operation


async def _newest_metadata(ctx: StepContext) -> tuple[str, list[p.CsMember], list[p.MdCluster], str]:
    best: tuple[int, str, list[p.CsMember], list[p.MdCluster], str] | None = None
    errors: list[str] = []
    for c in ctx.spec.clusters:
        name = c.innodb_cluster_name
        try:
            prim = await cluster_primary(ctx, name)
            async with prim.session() as s:
                members = await p.cs_members(s)
                clusters = await p.md_clusters(s) if members else []
                cs_id = await p.clusterset_id(s) or ""
        except NonRetryableError:
            raise
        except ClusterSetError as e:
            errors.append(f"{name}: {e}")
            continue
        if not members:
            continue
        view = max(m.view_id for m in members)
        if best is None or view > best[0]:
            best = (view, name, members, clusters, cs_id)
    if best is None:
        raise InvalidTopology(
            "no reachable cluster of the spec holds ClusterSet metadata; nothing to adopt"
            + (f" ({'; '.join(errors)})" if errors else ""),
            where=ctx.req.clusterset.name,
        )
    return best[1], best[2], best[3], best[4]


async def _never(ctx: StepContext) -> bool:
    return False


async def _read_metadata(ctx: StepContext) -> dict[str, str]:
    source, members, _clusters, cs_id = await _newest_metadata(ctx)
    spec_names = {c.innodb_cluster_name.lower() for c in ctx.spec.clusters}
    unknown = [m.cluster_name for m in members if m.cluster_name.lower() not in spec_names]
    if unknown:
        raise InvalidTopology(
            f"the ClusterSet (metadata read from {source}) has member cluster(s) {', '.join(unknown)} "
            "that are "
            "not in spec.clusters; add them to the CR (with their endpoints) before adopting",
            where=ctx.req.clusterset.name,
        )
    primary = next((m.cluster_name for m in members if m.member_role == "PRIMARY" and not m.invalidated), "")
    return {
        "clusterset_id": cs_id,
        "metadata_source": source,
        "view_id": str(max(m.view_id for m in members)),
        "primary_cluster": primary,
        "spec_primary_matches": str(primary.lower() == ctx.spec.primary_cluster.lower()).lower(),
        "members": ",".join(sorted(m.cluster_name for m in members)),
        "invalidated": ",".join(sorted(m.cluster_name for m in members if m.invalidated)),
    }


async def _verify_live(ctx: StepContext) -> dict[str, str]:
    _source, members, clusters, _ = await _newest_metadata(ctx)
    groups = {c.cluster_name.lower(): c.group_name for c in clusters}
    report: list[str] = []
    for m in members:
        if m.invalidated:
            report.append(f"{m.cluster_name}=INVALIDATED")
            continue
        try:
            prim = await cluster_primary(ctx, m.cluster_name)
        except KeyError:
            continue
        except ClusterSetError as e:
            if isinstance(e, NonRetryableError):
                raise
            report.append(f"{m.cluster_name}=UNREACHABLE")
            continue
        async with prim.session() as s:
            live = await p.gvar(s, "group_replication_group_name") or ""
            ch = await p.channel_status(s)
        expected = groups.get(m.cluster_name.lower(), "")
        if expected and live.lower() != expected.lower():
            raise InvalidTopology(
                f"spec endpoints of {m.cluster_name} reach group {live}, but the metadata names group "
                f"{expected}; fix spec.clusters[{m.cluster_name}].endpoints",
                where=m.cluster_name,
            )
        report.append(f"{m.cluster_name}={m.member_role}/{'MISSING' if not ch.exists else ch.status}")
    return {"live": ";".join(report)}


@operation(OperationKind.ADOPT)
def adopt_steps(req: OperationRequest) -> list[Step]:
    return [
        Step(
            "read_metadata",
            "read the existing ClusterSet's metadata (changes nothing)",
            _never,
            _read_metadata,
        ),
        Step("verify_live", "check every member's live group against the metadata", _never, _verify_live),
    ]
