"""A scan's resume token taken at the edge of a page, against the model of the server: the
scan resumed from it hands out what is left, once, and ends."""

from __future__ import annotations

from collections import Counter

import pytest

from leadway_async import ConversationPage, ConversationScan

from .server_model import Item, ModelServer

QUERY = {"locationId": "L"}


def location(run: int) -> list[Item]:
    """18 conversations of their own values, then `run` sharing the newest value."""
    items = [Item(f"c{i:03d}", 1_000 + i, i) for i in range(18)]
    return items + [Item(f"r{i:03d}", 5_000, 100 + i) for i in range(run)]


def scanner(model: ModelServer, **options: object) -> ConversationScan:
    async def fetch(query: dict[str, str], notes: set[str]) -> ConversationPage:
        return model(query)

    return ConversationScan(fetch, QUERY, page_size=5, concurrency=1, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("run", [99, 100, 150])
@pytest.mark.parametrize("stop_before_end", [0, 1, 30])
async def test_a_scan_stopped_at_a_pages_edge_resumes_with_the_rest_once(
    run: int, stop_before_end: int
) -> None:
    # A run of equal values as long as the widest page is stepped through by date; a token
    # taken after the page that began it must say so, or the run looks like a loop.
    items = location(run)
    model = ModelServer(items)
    first: list[str] = []
    scan = scanner(model)
    async with scan:
        async for conversation in scan:
            first.append(conversation.id)
            if len(first) == len(items) - stop_before_end:
                break
    rest = [
        conversation.id async for conversation in scanner(model, resume_token=scan.resume_token)
    ]
    assert Counter(first + rest) == Counter(item.id for item in items)
