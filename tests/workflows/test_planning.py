"""The planner, pure: which operation follows from spec vs observation, and blocking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wf_fakes import spec_of

from activities.models import ClusterSetObservation, OperationKind
from api.models import ClusterStatus
from workflows.models import BlockedOperation, ClusterSetState, Intent, IntentKind
from workflows.planning import next_operation

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def state(clusters: dict[str, str], *, primary: str | None = "dc1", **kw: object) -> ClusterSetState:
    obs = ClusterSetObservation(
        reachable=True,
        bootstrapped=primary is not None,
        primary_cluster=primary,
        clusters={n: ClusterStatus(global_status=s) for n, s in clusters.items()},
    )
    base = {
        "namespace": "ns",
        "name": "cs",
        "uid": "u",
        "generation": 1,
        "managed": True,
        "last_observation": obs,
    }
    return ClusterSetState.model_validate({**base, **kw})


def kind(s: ClusterSetState) -> tuple[OperationKind, str | None] | None:
    planned = next_operation(s, now=NOW)
    return None if planned is None else (planned.kind, planned.target_cluster)


def test_spec_vs_observation() -> None:
    spec = spec_of("dc1", "dc2", "dc3")
    assert kind(state({}, primary=None, spec=spec)) == (OperationKind.BOOTSTRAP, "dc1")
    assert kind(state({"dc1": "OK"}, spec=spec, managed=False)) == (OperationKind.ADOPT, "dc1")
    assert kind(state({"dc1": "OK"}, spec=spec)) == (OperationKind.JOIN, "dc2")
    assert kind(state({"dc1": "OK", "dc2": "OK", "dc3": "OK"}, spec=spec)) is None
    assert kind(
        state({"dc1": "OK", "dc2": "OK", "dc3": "OK"}, spec=spec_of("dc1", "dc2", "dc3", primary="dc3"))
    ) == (
        OperationKind.SWITCHOVER,
        "dc3",
    )
    assert kind(state({"dc1": "OK", "dc2": "OK", "dc3": "OK"}, spec=spec_of("dc1", "dc2"))) == (
        OperationKind.REMOVE,
        "dc3",
    )
    # an invalidated switchover target is not switched to; automatic rejoin only when asked for
    assert kind(state({"dc1": "OK", "dc2": "INVALIDATED"}, spec=spec_of("dc1", "dc2", primary="dc2"))) is None
    auto = spec_of("dc1", "dc2", automaticRejoin="whenConsistent")
    assert kind(state({"dc1": "OK", "dc2": "INVALIDATED"}, spec=auto)) == (OperationKind.REJOIN, "dc2")
    assert kind(state({"dc1": "OK", "dc2": "OK"}, spec=auto, fence_pending=["dc2"])) == (
        OperationKind.FENCE,
        "dc2",
    )


def test_unreachable_primary_plans_nothing_but_intents() -> None:
    s = state({"dc1": "OK"}, spec=spec_of("dc1", "dc2"))
    assert s.last_observation is not None
    s.last_observation = s.last_observation.model_copy(update={"reachable": False})
    assert kind(s) is None
    s.intents = [
        Intent(kind=IntentKind.REJOIN, target_cluster="dc2"),
        Intent(kind=IntentKind.FORCE_FAILOVER, target_cluster="dc2"),
    ]
    assert kind(s) == (OperationKind.FAILOVER, "dc2")  # a forced failover jumps the queue


def test_blocked_until_new_generation_or_retry_time() -> None:
    spec = spec_of("dc1", "dc2")
    s = state({"dc1": "OK"}, spec=spec, blocked=[BlockedOperation(key="join/dc2", generation=1)])
    assert kind(s) is None
    s.generation = 2
    assert kind(s) == (OperationKind.JOIN, "dc2")
    s.generation = 1
    s.blocked = [BlockedOperation(key="join/dc2", generation=1, retry_at=NOW + timedelta(seconds=5))]
    assert kind(s) is None
    assert next_operation(s, now=NOW + timedelta(seconds=6)) is not None
