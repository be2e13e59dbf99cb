"""Pure rules: version rules, the GTID state of a joining replica, and the status derivations of spec §3."""

from __future__ import annotations

import pytest

from activities import errors, primitives
from activities.connections import Member
from activities.gtid import GtidSet
from activities.join import gtid_state
from activities.status import SiteView, cluster_global_status, clusterset_status, replication_status
from activities.version_rules import check_clone, check_replication, clone_allowed, replication_allowed

U1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
U2 = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"


@pytest.mark.parametrize(
    ("source", "replica", "ok"),
    [
        ("8.0.36", "8.0.27", True),
        ("8.0.36", "8.4.3", True),
        ("8.4.3", "8.0.36", False),
        ("8.0.36", "9.7.0", False),
        ("8.4.3", "8.4.0", True),
        ("8.4.3", "9.7.1", True),
    ],
)
def test_replication_series_rule(source: str, replica: str, ok: bool) -> None:
    assert replication_allowed(source, replica) is ok
    if not ok:
        with pytest.raises(errors.IncompatibleVersion, match="next higher series"):
            check_replication(source, replica, source_at="a:1", replica_at="b:1")


@pytest.mark.parametrize(
    ("donor", "recipient", "ok"),
    [
        ("8.0.36", "8.0.36", True),
        ("8.0.36", "8.0.35", False),
        ("8.0.37", "8.0.40", True),
        ("8.4.3", "8.4.0", True),
        ("8.0.40", "8.4.3", False),
    ],
)
def test_clone_compatibility(donor: str, recipient: str, ok: bool) -> None:
    assert clone_allowed(donor, recipient) is ok
    if not ok:
        with pytest.raises(errors.IncompatibleVersion):
            check_clone(donor, recipient, donor_at="d:1", recipient_at="r:1")


def test_gtid_states() -> None:
    p = GtidSet.parse(f"{U1}:1-100")
    none = GtidSet()
    assert gtid_state(none, p, none, allowed=set()).state == "NEW"
    assert gtid_state(p, p, none, allowed=set()).state == "IDENTICAL"
    assert (
        gtid_state(GtidSet.parse(f"{U1}:1-50"), p, GtidSet.parse(f"{U1}:1-40"), allowed=set()).state
        == "RECOVERABLE"
    )
    st = gtid_state(GtidSet.parse(f"{U1}:1-50"), p, GtidSet.parse(f"{U1}:1-60"), allowed=set())
    assert st.state == "IRRECOVERABLE" and str(st.unrecoverable) == f"{U1}:51-60"
    st = gtid_state(GtidSet.parse(f"{U1}:1-50,{U2}:1"), p, none, allowed=set())
    assert st.state == "DIVERGED" and str(st.errant) == f"{U2}:1"
    # view-change GTIDs of ClusterSet members are allowed errants
    assert gtid_state(GtidSet.parse(f"{U1}:1-100,{U2}:1-3"), p, none, allowed={U2}).state == "IDENTICAL"


def _view(**kw: object) -> SiteView:
    v = SiteView(name="x", reachable=True)
    m = Member(server_uuid=U1, host="h", port=1, state="ONLINE", role="PRIMARY")
    v.members = [m]
    v.primary = m
    for k, val in kw.items():
        setattr(v, k, val)
    return v


def test_replication_status_table() -> None:
    on = primitives.ChannelStatus(exists=True, io_state="ON", applier_state="ON", source_uuid=U1)
    assert replication_status(_view(channel=on), gp_uuid=U1, pc_online=True) == "OK"
    assert replication_status(_view(channel=on), gp_uuid=U2, pc_online=True) == "MISCONFIGURED"
    assert replication_status(_view(), gp_uuid=U1, pc_online=True) == "MISSING"
    off = primitives.ChannelStatus(exists=True, io_state="OFF", applier_state="OFF")
    assert replication_status(_view(channel=off), gp_uuid=U1, pc_online=True) == "STOPPED"
    err = primitives.ChannelStatus(exists=True, io_state="OFF", io_errno=2003, applier_state="ON")
    assert replication_status(_view(channel=err), gp_uuid=U1, pc_online=True) == "ERROR"
    assert replication_status(SiteView(name="x"), gp_uuid=U1, pc_online=True) == "UNKNOWN"


def test_global_status_rules() -> None:
    v = _view()
    none = GtidSet()
    assert (
        cluster_global_status(v, role="REPLICA", invalidated=True, repl="OK", pc_status="OK", errant=none)
        == "INVALIDATED"
    )
    assert (
        cluster_global_status(
            SiteView(name="x"), role="REPLICA", invalidated=False, repl="UNKNOWN", pc_status="OK", errant=none
        )
        == "UNKNOWN"
    )
    assert (
        cluster_global_status(v, role="PRIMARY", invalidated=False, repl="MISSING", pc_status="", errant=none)
        == "OK"
    )
    assert (
        cluster_global_status(v, role="PRIMARY", invalidated=False, repl="OK", pc_status="", errant=none)
        == "OK_MISCONFIGURED"
    )
    assert (
        cluster_global_status(v, role="REPLICA", invalidated=False, repl="OK", pc_status="OK", errant=none)
        == "OK"
    )
    errant = GtidSet.parse(f"{U2}:1")
    assert (
        cluster_global_status(v, role="REPLICA", invalidated=False, repl="OK", pc_status="OK", errant=errant)
        == "OK_NOT_CONSISTENT"
    )
    assert (
        cluster_global_status(
            v, role="REPLICA", invalidated=False, repl="STOPPED", pc_status="OK", errant=none
        )
        == "OK_NOT_REPLICATING"
    )
    assert (
        cluster_global_status(
            v, role="REPLICA", invalidated=False, repl="MISSING", pc_status="OK", errant=none
        )
        == "OK_MISCONFIGURED"
    )
    offline = _view(
        members=[Member(server_uuid=U1, host="h", port=1, state="OFFLINE", role="")], primary=None
    )
    assert (
        cluster_global_status(
            offline, role="REPLICA", invalidated=False, repl="UNKNOWN", pc_status="OK", errant=none
        )
        == "NOT_OK"
    )


def test_clusterset_status() -> None:
    assert clusterset_status("OK", ["OK", "OK"]) == "HEALTHY"
    assert clusterset_status("OK", ["OK", "OK_NOT_REPLICATING"]) == "AVAILABLE"
    assert clusterset_status("OK_MISCONFIGURED", []) == "AVAILABLE"
    assert clusterset_status("OK_FENCED_WRITES", []) == "UNAVAILABLE"
    assert clusterset_status("UNKNOWN", ["OK"]) == "UNAVAILABLE"
