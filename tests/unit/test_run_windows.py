"""What stepping through a run of equal sort values by date costs: each run below is walked
exactly once, in the number of requests the windows of `dateAdded` take today.

The windows start at the whole date range, are cut at the middle of the dates a page too
full showed, and widen or narrow towards half a page of the run each. A change to that
rule that makes a walk dearer fails here; one that makes it cheaper updates the counts.
"""

from __future__ import annotations

from collections import Counter

import pytest

from leadway_async.cursor import WalkState

from .server_model import Item, ModelServer, walk

ASC = {"locationId": "L", "sort": "asc"}
DESC = {"locationId": "L", "sort": "desc"}


def run(count: int, *, step: int = 1, first: int = 1_000, prefix: str = "r") -> list[Item]:
    """`count` conversations with the sort value 5,000, added `step` ms apart."""
    return [Item(f"{prefix}{i:04d}", 5_000, first + step * i) for i in range(count)]


CASES = {
    "250 added a ms apart": (run(250), ASC, 100, 100, 11),
    "1,000 added 7 ms apart": (run(1_000, step=7), ASC, 100, 100, 32),
    "150 a ms apart, 150 a second apart": (
        [*run(150), *run(150, step=1_000, first=1_000_000, prefix="s")], ASC, 50, 100, 14,
    ),
    "120 and one added long after": (
        [*run(120), Item("late", 5_000, 10_000_000)], ASC, 100, 100, 14,
    ),
    "newest first, below values of their own": (
        [*run(300, step=2), *(Item(f"c{i:02d}", 4_000 - i, i) for i in range(30))],
        DESC, 100, 100, 12,
    ),
    "pages capped at 37": (run(200), ASC, 100, 37, 18),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_run_is_stepped_through_once_in_as_many_requests_as_today(case: str) -> None:
    items, base, page_size, cap, requests = CASES[case]
    server = ModelServer(items, cap=cap)
    handed, _ = walk(server, WalkState.start(base), base, page_size)
    assert Counter(handed) == Counter(item.id for item in items)
    assert server.requests == requests


def test_windows_keep_inside_the_callers_dates_at_the_same_cost() -> None:
    items = run(400, step=3)
    base = {**ASC, "startDate": "1100", "endDate": "2000"}
    server = ModelServer(items)
    handed, _ = walk(server, WalkState.start(base), base, 100)
    assert Counter(handed) == Counter(i.id for i in items if 1_100 <= (i.added or 0) <= 2_000)
    assert server.requests == 12
