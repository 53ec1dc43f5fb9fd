"""ConversationScan against the model of the server: its options, what it fetches and how
much at once, what it counts, its errors and tokens, and its last range's final pass."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import attrs
import pytest

from leadway_async import (
    Conversation,
    ConversationPage,
    ConversationScan,
    PaginationError,
    RateLimit,
)
from leadway_async._convert import page_from_payload
from leadway_async.errors import ParameterError

from .server_model import Change, Item, ModelServer

QUERY = {"locationId": "L"}


class Fetcher:
    """The model server behind a scan's fetch function: counts requests and how many are
    in flight at once, and can turn a page into a stuck one (the first page again)."""

    def __init__(self, model: ModelServer, *, odd_field: bool = False) -> None:
        self.model = model
        self.queries: list[dict[str, str]] = []
        self.in_flight = self.peak = 0
        self.stuck_from: int | None = None
        self.odd_field = odd_field

    async def __call__(self, query: dict[str, str], notes: set[str]) -> ConversationPage:
        self.queries.append(query)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0)
            if self.stuck_from is not None and len(self.queries) > self.stuck_from:
                query = {k: v for k, v in query.items() if k != "startAfterDate"}
            page = self.model(query)
        finally:
            self.in_flight -= 1
        if not self.odd_field:
            return page
        items = [
            {"id": c.id, "sort": list(c.sort), "dateAdded": c.date_added_ms, "unreadCount": "x"}
            for c in page
        ]
        payload = {"conversations": items, "total": page.total}
        return page_from_payload(payload, rate_limit=RateLimit(), request_id=None, notes=notes)


def location(count: int, *, top: int | None = None) -> list[Item]:
    """`count` conversations with values 1000, 1001, ...; and one at `top` when given."""
    items = [Item(f"c{i:04d}", 1_000 + i, i) for i in range(count)]
    return items if top is None else [*items, Item("top", top, count)]


def scan(fetch: Fetcher, **options: Any) -> ConversationScan:
    options.setdefault("page_size", 10)
    return ConversationScan(fetch, QUERY, **options)


async def test_a_scan_keeps_four_requests_in_flight_unless_told() -> None:
    fetch = Fetcher(ModelServer(location(2_000)))
    ids = [c.id async for c in scan(fetch)]
    assert len(ids) == len(set(ids)) == 2_000
    assert fetch.peak == 4
    sixteen = Fetcher(ModelServer(location(2_000)))
    assert len([c async for c in scan(sixteen, concurrency=16)]) == 2_000
    assert sixteen.peak == 16


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_items": True}, "max_items must be a positive integer or None, got True"),
        ({"max_items": 0}, "max_items must be a positive integer or None, got 0"),
        ({"concurrency": 17}, "concurrency must be between 1 and 16, got 17"),
        ({"concurrency": 0}, "concurrency must be between 1 and 16, got 0"),
    ],
)
def test_options_out_of_range_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError) as caught:
        scan(Fetcher(ModelServer([])), **options)
    assert str(caught.value) == message


async def test_max_items_of_one_hands_out_one_and_fetches_little_more() -> None:
    fetch = Fetcher(ModelServer(location(5_000)))
    one = scan(fetch, max_items=1)
    assert [c.id async for c in one] == ["c0000"]
    assert one.handed_out == 1
    assert len(fetch.queries) <= 6  # the first page, the newest, a page per walker at most


async def test_a_scan_stops_fetching_once_max_items_are_handed_out() -> None:
    fetch = Fetcher(ModelServer(location(5_000)))
    capped = scan(fetch, max_items=95, concurrency=2)
    assert len([c async for c in capped]) == 95
    assert len(fetch.queries) <= 95 // 10 + 4


async def test_handed_out_counts_what_a_scan_and_its_resumed_part_handed_out() -> None:
    model = ModelServer(location(300))
    first = scan(Fetcher(model))
    assert first.handed_out == 0
    taken = 0
    async with first:
        async for _ in first:
            taken += 1
            if taken == 123:
                break
    assert first.handed_out == 123
    rest = scan(Fetcher(model), resume_token=first.resume_token)
    assert rest.handed_out == 123
    assert len([c async for c in rest]) == 177
    assert rest.handed_out == 300


async def test_pages_count_as_handed_out_and_none_is_empty() -> None:
    # A run of equal values longer than a page is stepped through by date: pages with
    # nothing new come back, and are not handed out.
    items = [*location(40), *(Item(f"r{i:03d}", 9_000, 100 + i) for i in range(250))]
    fetch = Fetcher(ModelServer(items))
    pages = scan(fetch, page_size=50, concurrency=2)
    sizes = [len(page) async for page in pages.pages()]
    assert all(sizes)
    assert sum(sizes) == pages.handed_out == 290
    again = scan(fetch, page_size=50, resume_token=pages.resume_token)
    assert [c async for c in again] == []


async def test_a_location_of_one_page_costs_one_request() -> None:
    fetch = Fetcher(ModelServer(location(7)))
    assert len([c async for c in scan(fetch)]) == 7
    assert len(fetch.queries) == 1


async def test_a_scan_runs_once() -> None:
    fetch = Fetcher(ModelServer(location(30)))
    once = scan(fetch)
    assert len([c async for c in once]) == 30
    with pytest.raises(RuntimeError) as caught:
        [c async for c in once]
    assert str(caught.value) == (
        "a ConversationScan runs once; to continue a scan, start a new scan() with "
        "resume_token=scan.resume_token"
    )


async def test_a_stuck_cursor_fails_with_a_token_that_resumes_exactly() -> None:
    model = ModelServer(location(500))
    fetch = Fetcher(model)
    fetch.stuck_from = 8  # from the ninth request on, every page is the first one again
    got: list[str] = []
    stuck = scan(fetch, concurrency=2)

    async def walk() -> None:
        async for conversation in stuck:
            got.append(conversation.id)

    with pytest.raises(PaginationError) as caught:
        await walk()
    token = caught.value.resume_token
    assert token is not None
    got += [c.id async for c in scan(Fetcher(model), resume_token=token)]
    assert Counter(got) == Counter(item.id for item in model.items)


async def test_a_field_of_an_odd_type_is_warned_about_once_in_a_scan(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fetch = Fetcher(ModelServer(location(200)), odd_field=True)
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        assert len([c async for c in scan(fetch)]) == 200
    assert len(fetch.queries) > 10
    assert len([r for r in caplog.records if "unreadCount" in r.getMessage()]) == 1


async def test_aclose_returns_with_no_walker_left_running() -> None:
    fetch = Fetcher(ModelServer(location(3_000)))
    before = asyncio.all_tasks()
    busy = scan(fetch)
    async for _ in busy:
        break
    await busy.aclose()
    assert asyncio.all_tasks() - before == set()


async def test_the_last_range_goes_again_for_what_reached_the_newest_end_meanwhile() -> None:
    # The range from 75,000 up holds one conversation and is done at once; the ranges
    # below take many pages. A conversation arriving meanwhile at the newest end is
    # found by the last range's final pass, once the others are done.
    arrival = Change(12, "create", "arrival", 200_000, 10_000)
    model = ModelServer(location(600, top=100_000), changes=[arrival])
    fetch = Fetcher(model)
    ids = [c.id async for c in scan(fetch, page_size=20)]
    assert Counter(ids) == Counter(item.id for item in model.items)
    assert "arrival" in ids
    assert len(fetch.queries) > 12


async def test_a_first_page_no_cursor_can_pass_fails_with_a_token_of_the_scan() -> None:
    async def unwalkable(query: dict[str, str], notes: set[str]) -> ConversationPage:
        odd = Conversation(id="odd", sort=(5, 6))  # two values: no cursor can point past it
        return ConversationPage((odd,), 1, None, RateLimit())

    with pytest.raises(PaginationError) as caught:
        [c async for c in ConversationScan(unwalkable, QUERY, page_size=10)]
    token = caught.value.resume_token
    assert token is not None
    with pytest.raises(PaginationError, match="2 elements"):  # the same error, not the token's
        [c async for c in ConversationScan(unwalkable, QUERY, page_size=10, resume_token=token)]


async def test_two_walkers_work_at_once_from_the_first_page_on() -> None:
    fetch = Fetcher(ModelServer(location(100)))
    ids = [c.id async for c in scan(fetch, concurrency=2)]
    assert len(set(ids)) == 100
    # After the first page and the newest value: one walker goes on from the first page,
    # the other from the middle of what is left.
    assert [q.get("startAfterDate") for q in fetch.queries[2:4]] == ["1008", "1054"]
    assert fetch.peak == 2


async def test_a_scan_over_fractional_sort_values_cuts_them_into_its_ranges() -> None:
    items = [Item(f"s{i:03d}", 0.25 + i / 1_000, i) for i in range(600)]
    fetch = Fetcher(ModelServer(items))
    ids = [c.id async for c in scan(fetch, page_size=50)]
    assert Counter(ids) == Counter(item.id for item in items)
    starts = [float(q["startAfterDate"]) for q in fetch.queries[2:6]]
    assert starts == pytest.approx([0.299, 0.4365, 0.574, 0.7115])


async def test_a_range_split_off_keeps_to_the_page_size_the_server_allows() -> None:
    # Nearly all values in the first of four ranges: the other walkers soon run dry and
    # split it, by then known to be served 20 at a time.
    fetch = Fetcher(ModelServer(location(1_000, top=100_000), cap=20))
    ids = [c.id async for c in scan(fetch, page_size=50)]
    assert len(set(ids)) == 1_001
    in_the_first_range = [q for q in fetch.queries[12:] if int(q["startAfterDate"]) < 25_000]
    assert len(in_the_first_range) > 40
    assert {q["limit"] for q in in_the_first_range} == {"20"}


async def test_a_range_that_cannot_be_walked_says_in_which_sort_order() -> None:
    model = ModelServer(location(400))

    async def one_odd(query: dict[str, str], notes: set[str]) -> ConversationPage:
        page = model(query)
        if int(query.get("startAfterDate", 0)) < 1_200:
            return page
        odd = Conversation(id="odd", sort=(1_399, 1))  # two values: no cursor can pass it
        return attrs.evolve(page, conversations=(*page.conversations[:-1], odd))

    query = {**QUERY, "sortBy": "last_manual_message_date"}
    with pytest.raises(PaginationError) as caught:
        [c async for c in ConversationScan(one_odd, query, page_size=20)]
    assert str(caught.value).startswith(
        "cannot walk conversations sorted by last_manual_message_date in ascending order: "
        "conversation 'odd' has a sort value of 2 elements"
    )
