"""Hypothesis: the models and the CRD (schema + CEL) agree on every spec, and valid specs round-trip.

- valid specs survive models -> YAML -> models unchanged, and the API server stores what pydantic dumps;
- a valid spec broken in one of many ways is rejected by both judges;
- free-form specs (names and hosts from small, clash-prone alphabets) get the same verdict from both.
Example counts are modest: the CEL interpreter is slow (tens of ms per object).
"""

from __future__ import annotations

import copy
import string
from collections.abc import Callable
from typing import Any

import yaml
from api_helpers import api_server, models, wrap_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.formats import is_ip
from api.models import ClusterSetSpec

Spec = dict[str, Any]
Draw = Callable[[st.SearchStrategy[Any]], Any]

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=63)
labels = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?", fullmatch=True)
dns_hosts = st.lists(labels, min_size=1, max_size=4).map(".".join)
ip_hosts = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str).filter(is_ip),
)
hosts = st.one_of(dns_hosts, ip_hosts)


@st.composite
def valid_specs(draw: Draw) -> Spec:
    """A spec every judge must accept; optional fields present or absent at random."""
    cluster_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    endpoint_counts = [draw(st.integers(1, 3)) for _ in cluster_names]
    all_hosts = iter(
        draw(st.lists(hosts, min_size=sum(endpoint_counts), max_size=sum(endpoint_counts), unique=True))
    )
    clusters = []
    for name, count in zip(cluster_names, endpoint_counts, strict=True):
        endpoints: list[dict[str, Any]] = []
        for _ in range(count):
            endpoint: dict[str, Any] = {"host": next(all_hosts)}
            if draw(st.booleans()):
                endpoint["port"] = draw(st.integers(1, 65535))
            endpoints.append(endpoint)
        cluster: dict[str, Any] = {"innodbClusterName": name, "endpoints": endpoints}
        if draw(st.booleans()):
            cluster["manageMembers"] = draw(st.booleans())
        clusters.append(cluster)
    secret: dict[str, Any] = {"name": draw(st.from_regex(r"[a-z][-a-z0-9]{0,20}", fullmatch=True))}
    if draw(st.booleans()):
        secret["key"] = draw(st.sampled_from(["clusterset", "password", "credentials"]))
    spec: Spec = {
        "primaryCluster": draw(st.sampled_from(cluster_names)),
        "clusters": clusters,
        "credentialsSecret": secret,
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "sslMode": st.sampled_from(["AUTO", "DISABLED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"]),
        "createReplicaClusterOptions": st.fixed_dictionaries(
            {}, optional={"recoveryMethod": st.sampled_from(["clone", "incremental", "auto"])}
        ),
        "unsafeFlags": st.fixed_dictionaries(
            {}, optional={"forcedFailover": st.booleans(), "forcedClusterRemoval": st.booleans()}
        ),
        "mysqlshellRunner": st.fixed_dictionaries({}, optional={"image": st.just("percona/mysql-shell:8.4")}),
        "cloneOptions": st.fixed_dictionaries(
            {},
            optional={
                "donor": st.sampled_from(["secondary", "primary"]),
                "maxNetworkBandwidthMib": st.integers(0, 4294967295),
                "maxDataBandwidthMib": st.integers(0, 4294967295),
                "stallTimeoutSeconds": st.integers(30, 86400),
            },
        ),
        "automaticRejoin": st.sampled_from(["never", "whenConsistent"]),
        "statusRefreshIntervalSeconds": st.integers(1, 3600),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            spec[key] = draw(strategy)
    return spec


def _cluster(spec: Spec, draw: Draw) -> dict[str, Any]:
    clusters: list[dict[str, Any]] = spec["clusters"]
    cluster: dict[str, Any] = draw(st.sampled_from(clusters))
    return cluster


def _endpoint(spec: Spec, draw: Draw) -> dict[str, Any]:
    endpoint: dict[str, Any] = draw(st.sampled_from(_cluster(spec, draw)["endpoints"]))
    return endpoint


def _primary_not_member(spec: Spec, draw: Draw) -> None:
    taken = {c["innodbClusterName"] for c in spec["clusters"]}
    spec["primaryCluster"] = draw(names.filter(lambda n: n not in taken))


def _primary_not_alphanumeric(spec: Spec, draw: Draw) -> None:
    spec["primaryCluster"] = draw(st.sampled_from(["", "dc-1", "dc.1", "dc_1", "dc 1", "dc1\n", "dé1"]))


def _name_not_alphanumeric(spec: Spec, draw: Draw) -> None:
    cluster = _cluster(spec, draw)
    bad = cluster["innodbClusterName"] + draw(st.sampled_from(["-x", "_x", ".x", " ", "\n", "ü"]))
    if spec["primaryCluster"] == cluster["innodbClusterName"]:
        spec["primaryCluster"] = bad
    cluster["innodbClusterName"] = bad


def _duplicate_name(spec: Spec, draw: Draw) -> None:
    source = spec["clusters"][0]
    spec["clusters"].append(
        {"innodbClusterName": source["innodbClusterName"], "endpoints": [{"host": "dup-name.example"}]}
    )


def _duplicate_host(spec: Spec, draw: Draw) -> None:
    host = _endpoint(spec, draw)["host"]
    _cluster(spec, draw)["endpoints"].append({"host": host})


def _bad_host(spec: Spec, draw: Draw) -> None:
    bad = st.sampled_from(
        [
            "Invalid.Example.Com",
            "my_host.example.com",
            "not a host",
            "-leading.example",
            "trailing-.example",
            "trailing.dot.",
            "double..dot",
            "",
            "fe80::1%eth0",
            "::ffff:10.0.0.1",
            "10.0.0.0/8",
            "a" * 254,
        ]
    )
    _endpoint(spec, draw)["host"] = draw(bad | st.text(alphabet="AZ_ !@", min_size=1, max_size=8))


def _no_credentials_name(spec: Spec, draw: Draw) -> None:
    if draw(st.booleans()):
        spec["credentialsSecret"]["name"] = ""
    else:
        del spec["credentialsSecret"]["name"]


def _bad_counts(spec: Spec, draw: Draw) -> None:
    choice = draw(st.sampled_from(["no clusters", "eleven clusters", "no endpoints", "ten endpoints"]))
    if choice == "no clusters":
        spec["clusters"] = []
    elif choice == "eleven clusters":
        spec["clusters"] = [
            {"innodbClusterName": f"c{i}", "endpoints": [{"host": f"h{i}.example"}]} for i in range(11)
        ]
        spec["primaryCluster"] = "c0"
    elif choice == "no endpoints":
        _cluster(spec, draw)["endpoints"] = []
    else:
        _cluster(spec, draw)["endpoints"] = [{"host": f"many{i}.example"} for i in range(10)]


def _too_long(spec: Spec, draw: Draw) -> None:
    name = "a" * 64
    if draw(st.booleans()):
        spec["primaryCluster"] = name
    else:
        _cluster(spec, draw)["innodbClusterName"] = name


def _out_of_range(spec: Spec, draw: Draw) -> None:
    choice = draw(st.sampled_from(["port", "refresh", "bandwidth", "stall"]))
    if choice == "port":
        _endpoint(spec, draw)["port"] = draw(st.sampled_from([0, -1, 65536, 2**31]))
    elif choice == "refresh":
        spec["statusRefreshIntervalSeconds"] = draw(st.sampled_from([0, 3601]))
    elif choice == "bandwidth":
        spec["cloneOptions"] = {"maxNetworkBandwidthMib": draw(st.sampled_from([-1, 4294967296]))}
    else:
        spec["cloneOptions"] = {"stallTimeoutSeconds": 29}


def _bad_enum(spec: Spec, draw: Draw) -> None:
    value = draw(st.sampled_from(["", "auto", "CLONE", "always", "bogus"]))
    field = draw(st.sampled_from(["sslMode", "recoveryMethod", "donor", "automaticRejoin"]))
    if field == "recoveryMethod":
        spec["createReplicaClusterOptions"] = {"recoveryMethod": value.upper() if value == "auto" else value}
    elif field == "donor":
        spec["cloneOptions"] = {"donor": value}
    elif field == "automaticRejoin":
        spec["automaticRejoin"] = value
    else:
        spec["sslMode"] = value


def _missing_required(spec: Spec, draw: Draw) -> None:
    where = draw(
        st.sampled_from(["primaryCluster", "clusters", "credentialsSecret", "name", "endpoints", "host"])
    )
    if where in ("primaryCluster", "clusters", "credentialsSecret"):
        del spec[where]
    elif where == "name":
        del _cluster(spec, draw)["innodbClusterName"]
    elif where == "endpoints":
        del _cluster(spec, draw)["endpoints"]
    else:
        del _endpoint(spec, draw)["host"]


def _wrong_type(spec: Spec, draw: Draw) -> None:
    choice = draw(st.sampled_from(["port", "manageMembers", "clusters", "forcedFailover", "host"]))
    if choice == "port":
        _endpoint(spec, draw)["port"] = "3306"
    elif choice == "manageMembers":
        _cluster(spec, draw)["manageMembers"] = "true"
    elif choice == "clusters":
        spec["clusters"] = {"dc1": spec["clusters"][0]}
    elif choice == "forcedFailover":
        spec["unsafeFlags"] = {"forcedFailover": 1}
    else:
        _endpoint(spec, draw)["host"] = 10


def _empty_image(spec: Spec, draw: Draw) -> None:
    spec["mysqlshellRunner"] = {"image": ""}


MUTATIONS: list[Callable[[Spec, Draw], None]] = [
    _primary_not_member,
    _primary_not_alphanumeric,
    _name_not_alphanumeric,
    _duplicate_name,
    _duplicate_host,
    _bad_host,
    _no_credentials_name,
    _bad_counts,
    _too_long,
    _out_of_range,
    _bad_enum,
    _missing_required,
    _wrong_type,
    _empty_image,
]


@st.composite
def invalid_specs(draw: Draw) -> tuple[str, Spec]:
    spec = draw(valid_specs())
    mutation = draw(st.sampled_from(MUTATIONS))
    mutation(spec, draw)
    return mutation.__name__, spec


@SETTINGS
@given(valid_specs())
def test_valid_specs_round_trip_through_yaml_and_the_models(spec: Spec) -> None:
    model = ClusterSetSpec.model_validate(spec)
    dumped = model.model_dump(by_alias=True, mode="json", exclude_none=True)
    loaded = yaml.safe_load(yaml.safe_dump(dumped, sort_keys=False))
    assert loaded == dumped
    again = ClusterSetSpec.model_validate(loaded)
    assert again == model
    assert yaml.safe_load(yaml.safe_dump(spec)) == spec  # the user's own YAML, unchanged too
    # The API server accepts the spec and stores exactly what the models dump (defaults included).
    admission = api_server(wrap_spec(spec))
    assert admission.allowed, [str(v) for v in admission.violations]
    assert admission.object["spec"] == dumped


@SETTINGS
@given(invalid_specs())
def test_invalid_specs_are_rejected_by_both(case: tuple[str, Spec]) -> None:
    mutation, spec = case
    obj = wrap_spec(spec)
    model_errors = models(obj)
    server_errors = api_server(obj).violations
    assert model_errors, f"{mutation}: the models accepted {spec}"
    assert server_errors, f"{mutation}: the API server accepted {spec}"
    for v in [*model_errors, *server_errors]:
        assert v.field_path.startswith("spec") or v.field_path == "", str(v)
        assert str(v)


clash_names = st.sampled_from(["dc1", "dc2", "DC1", "dc-1", "dc_1", "", "d.c", "x" * 64])
clash_hosts = st.sampled_from(
    ["a.example", "b.example", "A.example", "10.0.0.1", "::1", "a_b", "a b", "", "x.", "a" * 254, "fe80::1%1"]
)


@st.composite
def arbitrary_specs(draw: Draw) -> Spec:
    """Specs from small clash-prone pools: about half are invalid in one or several ways."""
    clusters = [
        {
            "innodbClusterName": draw(clash_names),
            "endpoints": [{"host": draw(clash_hosts)} for _ in range(draw(st.integers(0, 3)))],
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    return {
        "primaryCluster": draw(clash_names),
        "clusters": clusters,
        "credentialsSecret": {"name": draw(st.sampled_from(["", "secret"]))},
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arbitrary_specs())
def test_models_and_api_server_give_the_same_verdict(spec: Spec) -> None:
    obj = wrap_spec(spec)
    model_errors = models(obj)
    server_errors = api_server(copy.deepcopy(obj)).violations
    assert bool(model_errors) == bool(server_errors), (
        f"models: {[str(v) for v in model_errors]}; API server: {[str(v) for v in server_errors]}"
    )
