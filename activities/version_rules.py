"""Server version rules of a ClusterSet: minimum version, replication between series, clone compatibility.

Replication is supported from a release series to the same or the next higher series (8.0 -> 8.4,
seed 000 and the MySQL manual's replication-compatibility page), never downwards and never skipping a
series. CLONE needs the same major.minor; within 8.0 the patch levels must match unless both are
8.0.37 or newer; from 8.4 any patch level of the series clones (spec 2.b validation 8,
`clone.cc:verify_compatible_clone_versions`).
"""

from __future__ import annotations

from activities.errors import IncompatibleVersion
from activities.primitives import parse_version

Version = tuple[int, int, int]

MIN_CLUSTERSET_VERSION: Version = (8, 0, 27)
# Long-term-support series in order; innovation releases between them are ordered by (major, minor).
LTS_SERIES: tuple[tuple[int, int], ...] = ((8, 0), (8, 4), (9, 7))


def as_version(v: str | Version) -> Version:
    return parse_version(v) if isinstance(v, str) else v


def fmt(v: Version) -> str:
    return ".".join(str(p) for p in v)


def series(v: Version) -> tuple[int, int]:
    return v[0], v[1]


def check_minimum(v: str | Version, *, where: str) -> None:
    ver = as_version(v)
    if ver < MIN_CLUSTERSET_VERSION:
        raise IncompatibleVersion(
            f"{where} runs MySQL {fmt(ver)}; InnoDB ClusterSet needs {fmt(MIN_CLUSTERSET_VERSION)} or newer. "
            "Upgrade the instance.",
            where=where,
        )


def next_series(s: tuple[int, int]) -> tuple[int, int] | None:
    """The next higher LTS series after `s` (for an innovation series: the LTS that follows it)."""
    for lts in LTS_SERIES:
        if lts > s:
            return lts
    return None


def replication_allowed(source: str | Version, replica: str | Version) -> bool:
    """True when `replica` may replicate from `source` (same series, or the next higher one)."""
    s, r = series(as_version(source)), series(as_version(replica))
    if r == s:
        return True
    if r < s:
        return False
    nxt = next_series(s)
    return nxt is not None and r <= nxt


def check_replication(
    source: str | Version, replica: str | Version, *, source_at: str, replica_at: str
) -> None:
    if not replication_allowed(source, replica):
        sv, rv = as_version(source), as_version(replica)
        raise IncompatibleVersion(
            f"{replica_at} (MySQL {fmt(rv)}) cannot replicate from {source_at} (MySQL {fmt(sv)}): "
            "replication "
            "works only from a release series to the same or the next higher series (e.g. 8.0 -> 8.4). "
            "Upgrade or downgrade one side.",
            where=replica_at,
        )


def clone_allowed(donor: str | Version, recipient: str | Version) -> bool:
    d, r = as_version(donor), as_version(recipient)
    if series(d) != series(r):
        return False
    if d == r:
        return True
    if series(d) == (8, 0):
        return d[2] >= 37 and r[2] >= 37
    return True


def check_clone(donor: str | Version, recipient: str | Version, *, donor_at: str, recipient_at: str) -> None:
    if not clone_allowed(donor, recipient):
        dv, rv = as_version(donor), as_version(recipient)
        raise IncompatibleVersion(
            f"cannot CLONE {recipient_at} (MySQL {fmt(rv)}) from {donor_at} (MySQL {fmt(dv)}): "
            "clone needs the "
            "same series, and in 8.0 the same patch level unless both are 8.0.37+. Use recoveryMethod "
            "incremental (restore a backup first) or a donor of a matching version.",
            where=recipient_at,
        )
