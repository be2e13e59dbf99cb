"""Foundations against mysqlsim: GTID math equals the server's GTID_SUBTRACT/GTID_SUBSET, TLS per sslMode,
typed errors for wrong passwords and dead endpoints, warm pool reuse."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from activities import errors
from activities.connections import ClusterAccess, ConnectionSettings, Credentials, Pools
from activities.gtid import GtidSet
from api.models import ClusterSpec, SslMode

TOPOLOGY: dict[str, Any] = {
    "port": 3306,
    "accounts": {"root": {"password": "rootpw"}, "clusterset": {"password": "cspw", "grants": "percona"}},
    "sites": [{"name": "s1", "members": 1, "version": "8.0.36", "mode": "empty"}],
    "default_bandwidth_mbit": 10000,
    "time_scale": 1000.0,
}
CREDS = Credentials(user="clusterset", password="cspw")


def SETTINGS(world: Any) -> ConnectionSettings:
    return ConnectionSettings(connect_timeout=1.0, ca_path=str(world.ca_path), connect_attempts=5)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mysqlsim.testing import running_world

    with running_world(TOPOLOGY, state_dir=tmp_path_factory.mktemp("found")) as w:
        yield w


def _random_set(rng: random.Random) -> str:
    uuids = ["3e11fa47-71ca-11e1-9e33-c80aa9429562", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"]
    parts = []
    for u in rng.sample(uuids, rng.randint(0, 2)):
        ivs = []
        for _ in range(rng.randint(1, 3)):
            a = rng.randint(1, 30)
            b = a + rng.randint(0, 5)
            ivs.append(f"{a}-{b}" if b > a else f"{a}")
        parts.append(u + ":" + ":".join(ivs))
    return ",".join(parts)


async def test_gtid_math_matches_server(world: Any) -> None:
    ep = world.member("s1", 0)
    pools = Pools(SETTINGS(world))
    rng = random.Random(20261122)
    try:
        async with pools.session(ep.host, ep.port, creds=CREDS, ssl_mode=SslMode.REQUIRED) as s:
            for _ in range(60):
                a, b = _random_set(rng), _random_set(rng)
                sub = await s.scalar(f"SELECT GTID_SUBTRACT('{a}', '{b}') AS r")
                subset = await s.scalar(f"SELECT GTID_SUBSET('{a}', '{b}') AS r")
                norm = await s.scalar(f"SELECT GTID_SUBTRACT('{a}', '') AS r")
                ga, gb = GtidSet.parse(a), GtidSet.parse(b)
                assert str(ga - gb) == str(sub).replace("\n", ""), (a, b)
                assert ga.issubset(gb) == bool(int(subset)), (a, b)
                assert str(ga) == str(norm).replace("\n", ""), a
    finally:
        await pools.close()


@pytest.mark.parametrize(
    ("mode", "tls"),
    [
        (SslMode.DISABLED, False),
        (SslMode.REQUIRED, True),
        (SslMode.VERIFY_CA, True),
        (SslMode.VERIFY_IDENTITY, True),
        (SslMode.AUTO, True),
    ],
)
async def test_tls_per_ssl_mode(world: Any, mode: SslMode, tls: bool) -> None:
    ep = world.member("s1", 0)
    pools = Pools(SETTINGS(world))
    try:
        async with pools.session(ep.host, ep.port, creds=CREDS, ssl_mode=mode) as s:
            assert await s.scalar("SELECT 1 AS one") == 1
            assert (s.tls_version is not None) == tls, mode
    finally:
        await pools.close()


async def test_wrong_password_is_access_denied(world: Any) -> None:
    ep = world.member("s1", 0)
    pools = Pools(SETTINGS(world))
    try:
        with pytest.raises(errors.AccessDenied) as info:
            async with pools.session(ep.host, ep.port, creds=Credentials("clusterset", "wrong")) as s:
                await s.scalar("SELECT 1")
        assert ep.address in str(info.value)
        assert "wrong" not in str(info.value)
    finally:
        await pools.close()


async def test_dead_endpoint_is_unreachable_and_fallback_uses_next(world: Any) -> None:
    ep = world.member("s1", 0)
    pools = Pools(ConnectionSettings(connect_timeout=1.0, ca_path=str(world.ca_path)))
    try:
        with pytest.raises(errors.InstanceUnreachable):
            async with pools.session("127.0.0.1", 1, creds=CREDS) as s:
                await s.scalar("SELECT 1")
        spec = ClusterSpec.model_validate(
            {
                "innodbClusterName": "s1",
                "endpoints": [{"host": "127.0.0.1", "port": 1}, {"host": ep.host, "port": ep.port}],
            }
        )
        access = ClusterAccess(pools, spec, creds=CREDS, ssl_mode=SslMode.REQUIRED)
        assert [e.address for e in await access.reachable_endpoints()] == [ep.address]
        with pytest.raises(errors.NoPrimary):  # a standalone instance has no group primary
            await access.primary()
    finally:
        await pools.close()


async def test_pools_are_reused(world: Any) -> None:
    ep = world.member("s1", 0)
    pools = Pools(SETTINGS(world))
    try:
        for _ in range(20):
            async with pools.session(ep.host, ep.port, creds=CREDS, ssl_mode=SslMode.REQUIRED) as s:
                assert int(await s.scalar("SELECT 1 AS one")) == 1
        assert pools.connects == 1
    finally:
        await pools.close()


async def test_missing_privilege_is_typed(world: Any) -> None:
    ep = world.member("s1", 0)
    pools = Pools(SETTINGS(world))
    try:
        from harness import root_sql

        await root_sql(ep.host, ep.port, ["CREATE USER IF NOT EXISTS 'weak'@'%' IDENTIFIED BY 'weakpw'"])
        async with pools.session(ep.host, ep.port, creds=Credentials("weak", "weakpw")) as s:
            with pytest.raises(errors.MissingPrivilege):
                await s.execute("SET GLOBAL clone_valid_donor_list = ''")
    finally:
        await pools.close()
