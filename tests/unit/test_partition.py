"""The parts of a scan alone: cutting the sort values into ranges, the middle of what is
left, the size of what is left, and scan tokens."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadway_async.cursor import WalkState
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
