"""Worlds for the mysqlsim conformance suite, started through mysqlsim.testing.running_world only.

Worlds are module-scoped, so none outlives this folder's tests (a session-scoped world would keep 13 idle
instances running through every other folder's tests on a 2-core machine); a world starts in about 2 s:
- ``world`` (one per module that uses it): dc1 is a 3-member InnoDB Cluster with seed data; single-member
  sites serve one concept each (async replica, purged source, clone recipients, an 8.4 server,
  a manual-bootstrap instance), so tests that change them do not disturb each other.
- ``gr_world`` (module, test_rm_group_replication.py): a cluster that tests stop, kill and partition.
- ``fault_world`` (module, test_rm_world_faults.py): the control API's faults.
Datasets are small and time_scale large so that CLONE finishes in seconds, except on site ``big``
(2 TB behind a 1 Gbit/s link) whose clones run for seconds of real time so progress can be watched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SEED_SQL = [
    "CREATE DATABASE app",
    "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(64))",
    "INSERT INTO app.t VALUES (1,'a'),(2,'b'),(3,'c')",
]

ACCOUNTS = {
    "root": {"password": "rootpw"},
    "clusterset": {"password": "cspw", "grants": "percona"},
}

# time_scale: simulated seconds per real second. big's 2 TB at 1000 Mbit/s is 16 000 simulated seconds,
# about 4 real seconds at 4000.
TIME_SCALE = 4000.0


def _site(
    name: str, members: int = 1, mode: str = "empty", version: str = "8.0.36", **kw: Any
) -> dict[str, Any]:
    site: dict[str, Any] = {"name": name, "members": members, "version": version, "mode": mode}
    site.update(kw)
    return site


MAIN_TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": ACCOUNTS,
    "sites": [
        _site("dc1", 3, "innodb_cluster", cluster_name="dc1", dataset_bytes=20_000_000, seed_sql=SEED_SQL),
        _site("rep"),  # asynchronous replica of dc1
        _site("src", seed_sql=SEED_SQL),  # a source whose binary logs get purged
        _site("rep2"),  # replica of src (error 1236)
        _site("rep3"),  # replica whose applier stops on an error
        _site("cln"),  # CLONE recipient (dc1 donor)
        _site("cln2"),  # CLONE recipient (big donor, slow)
        _site("cln3"),  # CLONE recipient used for precondition errors
        _site("big", dataset_bytes=2_000_000_000_000, seed_sql=SEED_SQL),
        _site("v84", version="8.4.3"),
        _site("boot"),  # manual bootstrap of a one-member group
    ],
    "links": [
        {"sites": ["big", "cln2"], "latency_ms": 5, "bandwidth_mbit": 1000},
        {"sites": ["big", "cln3"], "latency_ms": 5, "bandwidth_mbit": 1000},
    ],
    "default_bandwidth_mbit": 10000,
    "time_scale": TIME_SCALE,
}

GR_TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": ACCOUNTS,
    "sites": [
        _site("gr", 3, "innodb_cluster", cluster_name="grc", dataset_bytes=5_000_000, seed_sql=SEED_SQL),
        _site("rx"),  # asynchronous receiver with a managed failover source list on gr
    ],
    "default_bandwidth_mbit": 10000,
    "time_scale": TIME_SCALE,
}

FAULT_TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": ACCOUNTS,
    "sites": [
        _site("fa", 3, "innodb_cluster", cluster_name="fa", dataset_bytes=5_000_000, seed_sql=SEED_SQL),
        _site("fb", 1, "empty", seed_sql=SEED_SQL),
        _site("fc", 1, "empty"),
    ],
    "links": [{"sites": ["fa", "fb"], "latency_ms": 1, "bandwidth_mbit": 1000}],
    "default_bandwidth_mbit": 10000,
    "time_scale": TIME_SCALE,
}


def _start(topology: dict[str, Any], state_dir: Path) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(topology, state_dir=state_dir) as w:
        yield w


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _start(MAIN_TOPOLOGY, tmp_path_factory.mktemp("rm_world"))


@pytest.fixture(scope="module")
def gr_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _start(GR_TOPOLOGY, tmp_path_factory.mktemp("rm_gr_world"))


@pytest.fixture(scope="module")
def fault_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _start(FAULT_TOPOLOGY, tmp_path_factory.mktemp("rm_fault_world"))


@pytest.fixture(scope="module")
def dc1(world: Any) -> list[Any]:
    """dc1's members as endpoints.json lists them (member 0 is the primary at start)."""
    return list(world.endpoints["dc1"])


@pytest.fixture(scope="module")
def primary(world: Any) -> Any:
    return world.member("dc1", 0)


@pytest.fixture(scope="module")
def secondary(world: Any) -> Any:
    return world.member("dc1", 1)
