"""Property tests of activities.gtid against a brute-force model (sets of (uuid, n))."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from activities.gtid import GtidParseError, GtidSet, normalise

UUIDS = [
    "3e11fa47-71ca-11e1-9e33-c80aa9429562",
    "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
    "00000000-0000-0000-0000-000000000001",
]

intervals = st.tuples(st.integers(1, 40), st.integers(0, 6)).map(lambda t: (t[0], t[0] + t[1]))
groups = st.dictionaries(st.sampled_from(UUIDS), st.lists(intervals, min_size=1, max_size=4), max_size=3)


def text_of(g: dict[str, list[tuple[int, int]]]) -> str:
    parts = []
    for u, ivs in g.items():
        parts.append(u + ":" + ":".join(f"{a}-{b}" if a != b else f"{a}" for a, b in ivs))
    return ",\n".join(parts)


def model(g: dict[str, list[tuple[int, int]]]) -> set[tuple[str, int]]:
    return {(u, n) for u, ivs in g.items() for a, b in ivs for n in range(a, b + 1)}


def model_of(s: GtidSet) -> set[tuple[str, int]]:
    return {(u, n) for u, _t, (a, b) in s for n in range(a, b + 1)}


@settings(max_examples=300, deadline=None)
@given(groups, groups)
def test_algebra_matches_model(
    a: dict[str, list[tuple[int, int]]], b: dict[str, list[tuple[int, int]]]
) -> None:
    sa, sb = GtidSet.parse(text_of(a)), GtidSet.parse(text_of(b))
    ma, mb = model(a), model(b)
    assert model_of(sa) == ma
    assert model_of(sa | sb) == ma | mb
    assert model_of(sa - sb) == ma - mb
    assert model_of(sa & sb) == ma & mb
    assert sa.issubset(sb) == (ma <= mb)
    assert sa.count() == len(ma)


@settings(max_examples=200, deadline=None)
@given(groups)
def test_normal_form_round_trips(a: dict[str, list[tuple[int, int]]]) -> None:
    s = GtidSet.parse(text_of(a))
    assert GtidSet.parse(str(s)) == s
    assert str(GtidSet.parse(str(s))) == str(s)
    # normal form: merged, sorted intervals
    for ivs in s.groups.values():
        for (_, b1), (a2, _) in itertools.pairwise(ivs):
            assert a2 > b1 + 1


def test_examples() -> None:
    u = UUIDS[0]
    assert normalise(f"{u}:1-3:5,{u}:4") == f"{u}:1-5"
    assert normalise("") == ""
    assert normalise(None) == ""
    assert str(GtidSet.parse(f"{u.upper()}:7:1-2")) == f"{u}:1-2:7"
    assert GtidSet.parse(f"{u}:1-10").subtract(f"{u}:3-4") == f"{u}:1-2:5-10"
    assert GtidSet.of(u, 1, (3, 5)).count() == 4


def test_tagged_gtids() -> None:
    u = UUIDS[1]
    s = GtidSet.parse(f"{u}:1-3:tag_a:1-2:5")
    assert s.count() == 6
    assert str(s) == f"{u}:1-3:tag_a:1-2:5"
    assert (s - f"{u}:tag_a:2").count() == 5


def test_parse_errors() -> None:
    for bad in ("nonsense:1", f"{UUIDS[0]}", f"{UUIDS[0]}:0", f"{UUIDS[0]}:5-3", f"{UUIDS[0]}:x-y"):
        try:
            GtidSet.parse(bad)
        except GtidParseError:
            continue
        raise AssertionError(f"{bad!r} parsed")


def test_uuid_filters() -> None:
    s = GtidSet.parse(f"{UUIDS[0]}:1-3,{UUIDS[1]}:1")
    assert s.only_uuids([UUIDS[1]]) == f"{UUIDS[1]}:1"
    assert s.without_uuids([UUIDS[1]]) == f"{UUIDS[0]}:1-3"
