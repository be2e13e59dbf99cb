"""GTID sets: parsing, normalisation and arithmetic as the server does them.

Text form ``uuid:1-5:7,uuid2:1-3``; the server prints UUIDs sorted, intervals merged, and joins UUID groups
with ``",\\n"`` in ``@@gtid_executed``.  Used for gtid_executed/gtid_purged, GTID_SUBSET/GTID_SUBTRACT,
auto-positioning and CLONE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from mysqlsim.errors import malformed_gtid, malformed_gtid_set

_UUID_RX = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def _norm_uuid(u: str) -> str:
    u = u.strip().lower().replace("-", "")
    return f"{u[0:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:32]}"


class GtidSet:
    """An immutable-by-convention set of GTIDs: ``{uuid: [(start, end), ...]}`` with merged intervals."""

    __slots__ = ("_d",)

    def __init__(self, data: dict[str, list[tuple[int, int]]] | None = None) -> None:
        self._d: dict[str, list[tuple[int, int]]] = {}
        if data:
            for u, ivs in data.items():
                for a, b in ivs:
                    self._add_interval(u, a, b)

    # --- construction -----------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str | None) -> GtidSet:
        """Parse a GTID set text; raises MySQL error 1772 when malformed."""
        gs = cls()
        if text is None:
            return gs
        t = text.strip()
        if not t:
            return gs
        for part in t.replace("\n", "").split(","):
            part = part.strip()
            if not part:
                continue
            pieces = part.split(":")
            uuid = pieces[0].strip()
            if not _UUID_RX.match(uuid):
                raise malformed_gtid_set(text)
            u = _norm_uuid(uuid)
            if len(pieces) == 1:
                raise malformed_gtid_set(text)
            for iv in pieces[1:]:
                iv = iv.strip()
                m = re.fullmatch(r"(\d+)(?:-(\d+))?", iv)
                if not m:
                    raise malformed_gtid_set(text)
                a = int(m.group(1))
                b = int(m.group(2)) if m.group(2) else a
                if a < 1 or b < a:
                    raise malformed_gtid_set(text)
                gs._add_interval(u, a, b)
        return gs

    @staticmethod
    def parse_gtid(text: str) -> tuple[str, int]:
        """Parse a single GTID ``uuid:n``; raises 1774 when malformed."""
        pieces = text.strip().split(":")
        if len(pieces) != 2 or not _UUID_RX.match(pieces[0]) or not pieces[1].strip().isdigit():
            raise malformed_gtid(text)
        n = int(pieces[1])
        if n < 1:
            raise malformed_gtid(text)
        return _norm_uuid(pieces[0]), n

    def copy(self) -> GtidSet:
        g = GtidSet()
        g._d = {u: list(ivs) for u, ivs in self._d.items()}
        return g

    # --- mutation (used by the owner of the set only) ---------------------------------------------
    def _add_interval(self, uuid: str, a: int, b: int) -> None:
        ivs = self._d.setdefault(uuid, [])
        ivs.append((a, b))
        ivs.sort()
        merged: list[tuple[int, int]] = []
        for s, e in ivs:
            if merged and s <= merged[-1][1] + 1:
                ps, pe = merged[-1]
                merged[-1] = (ps, max(pe, e))
            else:
                merged.append((s, e))
        self._d[uuid] = merged

    def add(self, uuid: str, n: int) -> None:
        """Add one GTID in place (fast path for commits: extends the last interval)."""
        u = uuid.lower()
        ivs = self._d.get(u)
        if ivs and ivs[-1][1] + 1 == n:
            ivs[-1] = (ivs[-1][0], n)
            return
        if ivs and ivs[-1][1] >= n and self.contains(u, n):
            return
        self._add_interval(u, n, n)

    def update(self, other: GtidSet) -> None:
        for u, ivs in other._d.items():
            for a, b in ivs:
                self._add_interval(u, a, b)

    # --- queries ----------------------------------------------------------------------------------
    def contains(self, uuid: str, n: int) -> bool:
        for a, b in self._d.get(uuid.lower(), ()):
            if a <= n <= b:
                return True
            if a > n:
                return False
        return False

    def is_subset(self, other: GtidSet) -> bool:
        for u, ivs in self._d.items():
            oivs = other._d.get(u, [])
            for a, b in ivs:
                if not any(oa <= a and b <= ob for oa, ob in oivs):
                    return False
        return True

    def union(self, other: GtidSet) -> GtidSet:
        g = self.copy()
        g.update(other)
        return g

    def subtract(self, other: GtidSet) -> GtidSet:
        out = GtidSet()
        for u, ivs in self._d.items():
            cur = list(ivs)
            for oa, ob in other._d.get(u, ()):
                nxt: list[tuple[int, int]] = []
                for a, b in cur:
                    if ob < a or oa > b:
                        nxt.append((a, b))
                        continue
                    if a < oa:
                        nxt.append((a, oa - 1))
                    if ob < b:
                        nxt.append((ob + 1, b))
                cur = nxt
            if cur:
                out._d[u] = cur
        return out

    def intersection(self, other: GtidSet) -> GtidSet:
        return self.subtract(self.subtract(other))

    def is_empty(self) -> bool:
        return not self._d

    def __bool__(self) -> bool:
        return bool(self._d)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GtidSet) and self._d == other._d

    def __hash__(self) -> int:
        return hash(str(self))

    def count(self) -> int:
        return sum(b - a + 1 for ivs in self._d.values() for a, b in ivs)

    def uuids(self) -> list[str]:
        return sorted(self._d)

    def last(self, uuid: str) -> int:
        ivs = self._d.get(uuid.lower())
        return ivs[-1][1] if ivs else 0

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for u in sorted(self._d):
            for a, b in self._d[u]:
                for n in range(a, b + 1):
                    yield u, n

    def format(self, sep: str = ",\n") -> str:
        parts = []
        for u in sorted(self._d):
            ivs = ":".join(f"{a}" if a == b else f"{a}-{b}" for a, b in self._d[u])
            parts.append(f"{u}:{ivs}")
        return sep.join(parts)

    def __str__(self) -> str:
        return self.format(",")

    def __repr__(self) -> str:
        return f"GtidSet({self.format(',')!r})"


def union_all(sets: Iterable[GtidSet]) -> GtidSet:
    out = GtidSet()
    for s in sets:
        out.update(s)
    return out
