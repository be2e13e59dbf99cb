"""GTID sets in pure Python, so that probes and status can do set arithmetic without a server round trip.

The text form is MySQL's: ``uuid:interval[:interval...]`` groups joined by ``,`` (the server puts
``",\\n"`` between groups), intervals ``n`` or ``a-b``; from 8.3 a group may carry tags,
``uuid:tag:n[:tag2:m]``, where a tag applies to the intervals after it. `GtidSet` is immutable and
normalised: UUIDs lower-case and sorted, per (uuid, tag) the intervals sorted and merged, which is
exactly what ``GTID_SUBTRACT(x, '')`` prints (tests check it against the server).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_TAG = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")

Interval = tuple[int, int]  # inclusive [start, end], 1 <= start <= end
Key = tuple[str, str]  # (uuid, tag); tag "" for untagged GTIDs


class GtidParseError(ValueError):
    """The text is not a GTID set."""


def _norm_uuid(text: str) -> str:
    u = text.strip().lower()
    if not _UUID.match(u):
        raise GtidParseError(f"not a UUID in a GTID set: {text!r}")
    u = u.replace("-", "")
    return f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"


def _merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[list[int]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


class GtidSet:
    """An immutable, normalised set of GTIDs."""

    __slots__ = ("_groups",)

    def __init__(self, groups: Mapping[Key, Iterable[Interval]] | None = None) -> None:
        merged: dict[Key, tuple[Interval, ...]] = {}
        for key, intervals in (groups or {}).items():
            m = _merge(intervals)
            if m:
                merged[key] = m
        self._groups: dict[Key, tuple[Interval, ...]] = dict(sorted(merged.items()))

    # ---------------------------------------------------------------- construction

    @classmethod
    def parse(cls, text: str | None) -> GtidSet:
        """Parse MySQL's text form; None and '' give the empty set."""
        if text is None:
            return cls()
        groups: dict[Key, list[Interval]] = {}
        for raw in text.replace("\n", "").split(","):
            part = raw.strip()
            if not part:
                continue
            fields = part.split(":")
            uuid = _norm_uuid(fields[0])
            tag = ""
            if len(fields) == 1:
                raise GtidParseError(f"GTID group without interval: {part!r}")
            for f in fields[1:]:
                f = f.strip()
                if not f:
                    raise GtidParseError(f"empty interval in {part!r}")
                if f[0].isdigit():
                    if "-" in f:
                        a_txt, b_txt = f.split("-", 1)
                    else:
                        a_txt = b_txt = f
                    try:
                        a, b = int(a_txt), int(b_txt)
                    except ValueError as e:
                        raise GtidParseError(f"bad interval {f!r} in {part!r}") from e
                    if a < 1 or b < a:
                        raise GtidParseError(f"bad interval {f!r} in {part!r}")
                    groups.setdefault((uuid, tag), []).append((a, b))
                else:
                    t = f.lower()
                    if not _TAG.match(t):
                        raise GtidParseError(f"bad tag {f!r} in {part!r}")
                    tag = t
        return cls(groups)

    @classmethod
    def of(cls, uuid: str, *numbers: int | Interval, tag: str = "") -> GtidSet:
        """A set with GTIDs of one uuid, e.g. GtidSet.of(u, 1, (3, 5))."""
        ivs = [(n, n) if isinstance(n, int) else n for n in numbers]
        return cls({(_norm_uuid(uuid), tag): ivs})

    # ---------------------------------------------------------------- views

    @property
    def groups(self) -> Mapping[Key, tuple[Interval, ...]]:
        return self._groups

    def uuids(self) -> set[str]:
        return {u for u, _ in self._groups}

    def __bool__(self) -> bool:
        return bool(self._groups)

    def __len__(self) -> int:
        return self.count()

    def count(self) -> int:
        """Number of GTIDs in the set."""
        return sum(b - a + 1 for ivs in self._groups.values() for a, b in ivs)

    def __iter__(self) -> Iterator[tuple[str, str, Interval]]:
        for (u, t), ivs in self._groups.items():
            for iv in ivs:
                yield u, t, iv

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = GtidSet.parse(other)
        return isinstance(other, GtidSet) and self._groups == other._groups

    def __hash__(self) -> int:
        return hash(tuple(self._groups.items()))

    def __repr__(self) -> str:
        return f"GtidSet({str(self)!r})"

    def __str__(self) -> str:
        """MySQL's normalised text (what GTID_SUBTRACT(x, '') returns), groups joined by ','."""
        by_uuid: dict[str, list[str]] = {}
        for (u, t), ivs in self._groups.items():
            parts = by_uuid.setdefault(u, [])
            if t:
                parts.append(t)
            parts.extend(f"{a}" if a == b else f"{a}-{b}" for a, b in ivs)
        return ",".join(f"{u}:{':'.join(p)}" for u, p in by_uuid.items())

    # ---------------------------------------------------------------- algebra

    def union(self, other: GtidSet | str) -> GtidSet:
        o = _coerce(other)
        groups: dict[Key, list[Interval]] = {k: list(v) for k, v in self._groups.items()}
        for k, v in o._groups.items():
            groups.setdefault(k, []).extend(v)
        return GtidSet(groups)

    __or__ = union

    def subtract(self, other: GtidSet | str) -> GtidSet:
        o = _coerce(other)
        groups: dict[Key, list[Interval]] = {}
        for key, ivs in self._groups.items():
            cut = o._groups.get(key, ())
            groups[key] = _subtract_intervals(ivs, cut)
        return GtidSet(groups)

    __sub__ = subtract

    def intersection(self, other: GtidSet | str) -> GtidSet:
        o = _coerce(other)
        return self.subtract(self.subtract(o))

    __and__ = intersection

    def issubset(self, other: GtidSet | str) -> bool:
        return not self.subtract(other)

    __le__ = issubset

    def only_uuids(self, uuids: Iterable[str]) -> GtidSet:
        """The part of the set whose uuid is in `uuids` (the Shell's get_gtids_from)."""
        keep = _valid_uuids(u for u in uuids if u)
        return GtidSet({k: v for k, v in self._groups.items() if k[0] in keep})

    def without_uuids(self, uuids: Iterable[str]) -> GtidSet:
        drop = _valid_uuids(u for u in uuids if u)
        return GtidSet({k: v for k, v in self._groups.items() if k[0] not in drop})


def _subtract_intervals(ivs: tuple[Interval, ...], cut: tuple[Interval, ...]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in ivs:
        pieces = [(a, b)]
        for c, d in cut:
            if d < a or c > b:
                continue
            nxt: list[Interval] = []
            for x, y in pieces:
                if d < x or c > y:
                    nxt.append((x, y))
                    continue
                if x < c:
                    nxt.append((x, c - 1))
                if d < y:
                    nxt.append((d + 1, y))
            pieces = nxt
        out.extend(pieces)
    return out


def _valid_uuids(uuids: Iterable[str]) -> set[str]:
    out = set()
    for u in uuids:
        try:
            out.add(_norm_uuid(u))
        except GtidParseError:
            continue
    return out


def _coerce(value: GtidSet | str) -> GtidSet:
    return value if isinstance(value, GtidSet) else GtidSet.parse(value)


def normalise(text: str | None) -> str:
    """MySQL's normalised text of a GTID set."""
    return str(GtidSet.parse(text))


EMPTY = GtidSet()
