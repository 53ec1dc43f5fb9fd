"""The parts of a scan alone: cutting the sort values into ranges, the middle of what is
left, the size of what is left, and scan tokens."""

from __future__ import annotations

import base64
import itertools
import math
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadway_async.cursor import WalkState
from leadway_async.errors import ParameterError
from leadway_async.partition import ScanPosition, cut, middle, range_after, remaining

from .server_model import conversation

QUERY = {"locationId": "L", "sort": "asc"}


def after_first_page(last: int) -> WalkState:
    return WalkState.start(QUERY, catch_up=False).after([conversation("a", last)])


@given(
    start=st.integers(min_value=0, max_value=2**62),
    width=st.integers(min_value=1, max_value=2**62),
    parts=st.integers(min_value=1, max_value=16),
)
def test_ranges_follow_each_other_without_a_gap_or_an_overlap(
    start: int, width: int, parts: int
) -> None:
    first = after_first_page(start)
    ranges = cut(first, start + width, parts)
    assert 1 <= len(ranges) <= parts
    assert ranges[0].boundary == start
    assert ranges[0].boundary_ids == first.boundary_ids  # the first goes on from the page
    assert ranges[-1].end is None  # the last takes whatever comes later
    for before, after in itertools.pairwise(ranges):
        assert after.boundary == before.end  # values after one range's end: the next's
        assert after.passed  # its start value belongs to the range before
        assert before.end is not None
        assert after.boundary is not None
        assert before.end > (before.boundary or start)


def test_equal_widths_when_there_is_room() -> None:
    ranges = cut(after_first_page(1_000), 1_400, 4)
    assert [(r.boundary, r.end) for r in ranges] == [
        (1_000, 1_100),
        (1_100, 1_200),
        (1_200, 1_300),
        (1_300, None),
    ]


def test_fractional_values_are_cut_at_fractions_even_from_a_whole_number() -> None:
    ranges = cut(after_first_page(0), 1.0, 4)
    assert [r.end for r in ranges] == [0.25, 0.5, 0.75, None]


def test_one_range_when_nothing_is_left_or_one_part_is_asked() -> None:
    assert [r.end for r in cut(after_first_page(1_000), 1_000, 4)] == [None]
    assert [r.end for r in cut(after_first_page(1_000), None, 4)] == [None]
    assert [r.end for r in cut(after_first_page(1_000), 5_000, 1)] == [None]
    assert len(cut(after_first_page(1_000), 1_002, 8)) == 2  # only one value fits between


@pytest.mark.parametrize(
    ("low", "high", "mid"),
    [
        (0, 10, 5),
        (0, 2, 1),
        (0, 1, None),
        (5, 5, None),
        (1.0, 2.0, 1.5),
        (2**63 - 3, 2**63 - 1, 2**63 - 2),
    ],
)
def test_the_middle_is_strictly_between(low: float, high: float, mid: float | None) -> None:
    assert middle(low, high) == mid


def test_what_is_left_is_the_width_left_times_the_density() -> None:
    walked = range_after(after_first_page(0), 1_000, 3_000)
    assert remaining(walked, 0.5, None) == 1_000.0
    assert remaining(walked, None, None) == 0.0
    open_range = range_after(after_first_page(0), 1_000, None)
    assert remaining(open_range, 0.5, 1_400) == 200.0  # up to the latest value seen
    assert remaining(open_range, 0.5, None) == 0.0


def test_a_scan_token_round_trips_and_checks_filters_and_kind() -> None:
    template = WalkState.start(QUERY, catch_up=False)
    ranges = tuple(cut(after_first_page(1_000), 1_400, 3))
    position = ScanPosition(template.fingerprint, ranges, 123)
    token = position.to_token()
    assert token.startswith("ls1.")
    assert token.isascii()
    assert ScanPosition.from_token(token, fresh=template) == position
    other = WalkState.start({**QUERY, "status": "unread"}, catch_up=False)
    with pytest.raises(ValueError, match="other filters"):
        ScanPosition.from_token(token, fresh=other)
    with pytest.raises(ValueError, match=r"token of paginate\(\); scan\(\) needs"):
        ScanPosition.from_token(template.to_token(), fresh=template)
    with pytest.raises(ValueError, match=r"token of scan\(\); paginate\(\) needs"):
        WalkState.from_token(token, query=QUERY)


def scan_token(payload: Any) -> str:
    return "ls1." + base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


@pytest.mark.parametrize(
    "damage",
    [
        {"r": []},
        {"r": "x"},
        {"r": [1]},
        {"n": -1},
        {"n": "3"},
        {"r": [{}]},
    ],
    ids=repr,
)
def test_a_damaged_scan_token_is_refused(damage: dict[str, Any]) -> None:
    template = WalkState.start(QUERY, catch_up=False)
    good = {"f": template.fingerprint, "n": 0, "r": [template.to_payload()]}
    with pytest.raises(ValueError, match="damaged"):
        ScanPosition.from_token(scan_token({**good, **damage}), fresh=template)


def test_a_scan_token_needs_exactly_one_open_range() -> None:
    template = WalkState.start(QUERY, catch_up=False)
    bounded = range_after(template, 5, 9).to_payload()
    two_open = {"f": template.fingerprint, "n": 0, "r": [template.to_payload()] * 2}
    none_open = {"f": template.fingerprint, "n": 0, "r": [bounded]}
    for payload in (two_open, none_open):
        with pytest.raises(ValueError, match="no end"):
            ScanPosition.from_token(scan_token(payload), fresh=template)


@pytest.mark.parametrize(
    ("field", "bad"),
    [("o", "up"), ("b", "12"), ("i", [1]), ("n", -1), ("p", None), ("e", "x"), ("ei", [2]),
     ("k", 0), ("m", "1"), ("a", 0)],
    ids=repr,
)  # fmt: skip
def test_every_field_of_a_scan_tokens_range_is_checked(field: str, bad: Any) -> None:
    template = WalkState.start(QUERY, catch_up=False)
    ranges = [state.to_payload() for state in cut(after_first_page(1_000), 1_400, 2)]
    ranges[0][field] = bad
    payload = {"f": template.fingerprint, "n": 3, "r": ranges}
    with pytest.raises(ValueError, match=f"its field\\(s\\) {field} are not valid"):
        ScanPosition.from_token(scan_token(payload), fresh=template)


def test_a_scan_tokens_range_of_other_filters_or_stepping_through_no_value_is_refused() -> None:
    template = WalkState.start(QUERY, catch_up=False)
    other = WalkState.start({**QUERY, "status": "read"}, catch_up=False).to_payload()
    payload = {"f": template.fingerprint, "n": 0, "r": [other]}
    with pytest.raises(ValueError, match="other filters"):
        ScanPosition.from_token(scan_token(payload), fresh=template)
    stepping = {**template.to_payload(), "s": [[], 0, None, None, None, None, None]}
    payload = {"f": template.fingerprint, "n": 0, "r": [stepping]}
    with pytest.raises(ValueError, match="s are not valid"):
        ScanPosition.from_token(scan_token(payload), fresh=template)


@pytest.mark.parametrize(
    "damage", [{"n": True}, {"n": 1.5}, {"n": None}, {"n": 2**63}, {"r": None}, {"r": []}]
)
def test_a_scan_tokens_count_and_ranges_are_checked(damage: dict[str, Any]) -> None:
    template = WalkState.start(QUERY, catch_up=False)
    good = {"f": template.fingerprint, "n": 0, "r": [template.to_payload()]}
    with pytest.raises(ValueError, match="does not hold a scan's position"):
        ScanPosition.from_token(scan_token({**good, **damage}), fresh=template)
    with pytest.raises(ValueError, match="does not hold"):
        ScanPosition.from_token(scan_token([good]), fresh=template)


def test_a_scan_token_holds_at_most_64_ranges() -> None:
    template = WalkState.start(QUERY, catch_up=False)
    bounded = [range_after(template, i, i + 1).to_payload() for i in range(64)]
    for count in (64, 65):
        ranges = [*bounded[: count - 1], template.to_payload()]
        payload = {"f": template.fingerprint, "n": 0, "r": ranges}
        if count == 64:
            assert len(ScanPosition.from_token(scan_token(payload), fresh=template).ranges) == 64
        else:
            with pytest.raises(ValueError, match="does not hold a scan's position"):
                ScanPosition.from_token(scan_token(payload), fresh=template)


def test_a_scan_tokens_count_can_be_as_large_as_a_cursor_can_carry() -> None:
    template = WalkState.start(QUERY, catch_up=False)
    payload = {"f": template.fingerprint, "n": 2**63 - 1, "r": [template.to_payload()]}
    assert ScanPosition.from_token(scan_token(payload), fresh=template).handed_out == 2**63 - 1


def test_a_refused_scan_token_says_why() -> None:
    template = WalkState.start(QUERY, catch_up=False)
    other = WalkState.start({**QUERY, "status": "unread"}, catch_up=False)
    token = ScanPosition(template.fingerprint, (template,), 0).to_token()
    with pytest.raises(ParameterError) as filters:
        ScanPosition.from_token(token, fresh=other)
    assert str(filters.value) == (
        "resume_token belongs to a scan with other filters; resume with the same filters "
        "(and location) as the scan that produced it"
    )
    damaged = {"f": template.fingerprint, "n": -1, "r": [template.to_payload()]}
    with pytest.raises(ParameterError) as count:
        ScanPosition.from_token(scan_token(damaged), fresh=template)
    assert str(count.value) == "resume_token is damaged: it does not hold a scan's position"
    closed = {"f": template.fingerprint, "n": 0, "r": [range_after(template, 1, 2).to_payload()]}
    with pytest.raises(ParameterError) as ends:
        ScanPosition.from_token(scan_token(closed), fresh=template)
    assert str(ends.value) == "resume_token is damaged: one range, the last, has no end"


@pytest.mark.parametrize(
    ("low", "high", "mid"),
    [
        (1, 2.5, 1.75),  # a whole number and a fraction: halfway, as floats
        (1.0, 1.0, None),
        (1.0, math.nextafter(1.0, 2.0), None),  # halfway rounds to the low end
        (math.nextafter(1.0, 2.0), math.nextafter(math.nextafter(1.0, 2.0), 2.0), None),  # high
    ],
)
def test_no_middle_between_floats_with_nothing_strictly_between(
    low: float, high: float, mid: float | None
) -> None:
    assert middle(low, high) == mid
