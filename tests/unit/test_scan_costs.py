"""What a scan costs: each location below is scanned exactly once, in the number of
requests today's range splitting takes, with as many requests in flight as asked.

Ranges are cut at the start in equal widths of sort values; a walker that runs dry splits
the busy range with most left (by its density and the scan's average) when at least two
pages are left in it; the last range goes once more if it finished while others ran. A
change to those rules that makes a scan dearer fails here; one that makes it cheaper
updates the counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from leadway_async import ConversationScan

from .server_model import Item, ModelServer
from .test_scan_parts import QUERY, Fetcher, location


def skewed(count: int) -> list[Item]:
    """A tenth of the conversations over the first 90 % of the values, the rest after."""
    few = [Item(f"a{i:04d}", i * 900, i) for i in range(count // 10)]
    many = [Item(f"b{i:04d}", 90_000 + i * 10, i) for i in range(count - count // 10)]
    return few + many


CASES: dict[str, tuple[Callable[[], list[Item]], int, int, int]] = {
    # name: (location, page size, concurrency, requests)
    "evenly spread": (lambda: location(2_000), 10, 4, 202),
    "one far newer than the rest": (lambda: location(1_000, top=100_000), 20, 4, 71),
    "90 % in the last tenth": (lambda: skewed(1_000), 10, 4, 106),
    "pages of two": (lambda: skewed(300), 2, 4, 160),
    "two walkers": (lambda: skewed(1_000), 25, 2, 44),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_scan_costs_as_many_requests_as_today(case: str) -> None:
    items, page_size, concurrency, requests = CASES[case]
    model = ModelServer(items())
    fetch = Fetcher(model)
    scan = ConversationScan(fetch, QUERY, page_size=page_size, concurrency=concurrency)
    ids = [c.id async for c in scan]
    assert Counter(ids) == Counter(item.id for item in model.items)
    assert len(fetch.queries) == requests
    assert fetch.peak == concurrency


async def stopped_and_resumed(model: ModelServer, stop_after: int, fetch: Fetcher) -> list[str]:
    """The ids a scan (pages of 10) hands out before stopping after `stop_after`, then
    those a scan resumed from its token fetches through `fetch`."""
    first = ConversationScan(Fetcher(model), QUERY, page_size=10)
    got: list[str] = []
    async with first:
        async for conversation in first:
            got.append(conversation.id)
            if len(got) == stop_after:
                break
    rest = ConversationScan(fetch, QUERY, page_size=10, resume_token=first.resume_token)
    return got + [c.id async for c in rest]


async def test_a_resumed_scan_costs_as_many_requests_as_today() -> None:
    model = ModelServer(skewed(1_000))
    fetch = Fetcher(model)
    got = await stopped_and_resumed(model, 300, fetch)
    assert Counter(got) == Counter(item.id for item in model.items)
    assert len(fetch.queries) == 71


async def test_a_scan_resumed_within_its_first_page_hands_out_the_rest_once() -> None:
    model = ModelServer(skewed(500))
    got = await stopped_and_resumed(model, 5, Fetcher(model))
    assert Counter(got) == Counter(item.id for item in model.items)


async def test_a_scan_with_pages_of_one_hands_out_each_once() -> None:
    model = ModelServer(location(30))
    fetch = Fetcher(model)
    ids = [c.id async for c in ConversationScan(fetch, QUERY, page_size=1)]
    assert Counter(ids) == Counter(item.id for item in model.items)


async def test_a_scan_closed_inside_its_pages_loop_hands_out_nothing_more() -> None:
    scan = ConversationScan(Fetcher(ModelServer(location(300))), QUERY, page_size=10)
    sizes = []
    async for page in scan.pages():
        sizes.append(len(page))
        await scan.aclose()
        if len(sizes) > 2:
            break
    assert sizes == [10]
