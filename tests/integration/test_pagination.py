"""paginate() against the emulator: exactly once, resumable, prefetched, cancellable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadway_async import (
    ConversationPage,
    ConversationPager,
    LeadwayClient,
    PaginationError,
    ServerError,
)
from leadway_async.middleware import Handler, Request, Response
from leadway_async.testing import LeadwayEmulator, generate_conversations

from .helpers import client_for, expected_ids


def walk_emulator(**options: Any) -> LeadwayEmulator:
    """An emulator whose burst window never gets in the way of a walk (throttling is tested
    with the middleware)."""
    return LeadwayEmulator(rate_limit_max=1_000_000, **options)


async def walk_ids(client: LeadwayClient, **options: Any) -> list[str]:
    return [conversation.id async for conversation in client.paginate(**options)]


async def collect_into(seen: list[str], pager: ConversationPager) -> None:
    async for conversation in pager:
        seen.append(conversation.id)


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Any]:
    """One emulator in a thread, its data replaced by each Hypothesis example."""
    with walk_emulator(conversations=0).run_in_thread() as emu:
        yield emu


WALK_FILTERS = [
    {},
    {"status": "unread"},
    {"last_message_direction": "inbound"},
    {"query": "a"},
    {"sort_by": "last_manual_message_date"},
]
WIRE = {
    "status": "status",
    "last_message_direction": "lastMessageDirection",
    "query": "query",
    "sort_by": "sortBy",
    "sort": "sort",
}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(min_value=0, max_value=400),
    seed=st.integers(min_value=0, max_value=10_000),
    ties=st.sampled_from([0.0, 0.5, 0.9]),
    filters=st.sampled_from(WALK_FILTERS),
    order=st.sampled_from(["asc", "desc"]),
    page_size=st.integers(min_value=1, max_value=100),
    max_items=st.one_of(st.none(), st.integers(min_value=1, max_value=500)),
    stop_fraction=st.floats(min_value=0, max_value=1),
    prefetch=st.sampled_from([0, 1, 2]),
)
def test_walk_yields_exactly_what_the_filters_select_once_in_order_even_resumed(
    shared_emulator: Any,
    count: int,
    seed: int,
    ties: float,
    filters: dict[str, str],
    order: str,
    page_size: int,
    max_items: int | None,
    stop_fraction: float,
    prefetch: int,
) -> None:
    emu = shared_emulator
    emu.set_conversations(
        generate_conversations(count, seed=seed, ties=ties, location_id=emu.location_id)
    )
    options = {**filters, "sort": order, "limit": page_size}
    wire = {WIRE[k]: str(v) for k, v in options.items() if k in WIRE}
    everything = expected_ids(emu, **wire)
    wanted = everything if max_items is None else everything[:max_items]

    async def run() -> tuple[list[str], list[str], str]:
        async with client_for(emu) as client:
            first: list[str] = []
            stop = int(len(wanted) * stop_fraction)
            pager = client.paginate(max_items=max_items, prefetch=prefetch, **options)
            async with pager:
                if stop:
                    async for conversation in pager:
                        first.append(conversation.id)  # handed out: the token moves past it
                        if len(first) == stop:
                            break
            token = pager.resume_token
            remaining = None if max_items is None else max_items - len(first)
            rest: list[str] = []
            if remaining != 0:
                async for conversation in client.paginate(
                    max_items=remaining, resume_token=str(token), prefetch=prefetch, **options
                ):
                    rest.append(conversation.id)
            return first, rest, token

    first, rest, token = asyncio.run(run())
    handed = first + rest
    assert token.isascii()
    if _longest_tie_run(emu, wire) < 100:
        assert handed == wanted
        return
    # A run as long as a page is stepped through by date windows: still exactly once, in
    # the order of the sort values, though not in the server's order within the run.
    assert len(handed) == len(set(handed)) == len(wanted)
    if max_items is None:
        assert set(handed) == set(everything)
    value_of = {
        c["id"]: c["sort"][0] for c in emu.expected({"locationId": emu.location_id, **wire})
    }
    values = [value_of[i] for i in handed]
    assert values == sorted(values, reverse=order == "desc")


def _longest_tie_run(emu: Any, wire: dict[str, str]) -> int:
    values = [c["sort"][0] for c in emu.expected({"locationId": emu.location_id, **wire})]
    longest = run = 0
    for index, value in enumerate(values):
        run = run + 1 if index and value == values[index - 1] else 1
        longest = max(longest, run)
    return longest


async def test_pages_yields_fresh_immutable_pages_of_the_default_size() -> None:
    async with walk_emulator(conversations=450, seed=3) as emu, client_for(emu) as client:
        pages = [page async for page in client.paginate().pages()]
        assert [len(p) for p in pages] == [100, 99, 99, 99, 53]  # each re-ask repeats 1 boundary
        assert all(isinstance(p, ConversationPage) for p in pages)
        assert len({id(p) for p in pages}) == len(pages)
        walked = [c.id for p in pages for c in p]
        assert walked == expected_ids(emu)
        # Five pages, then one look at the top for what moved there meanwhile (nothing).
        assert [r.query["limit"] for r in emu.requests] == ["100"] * 6


async def test_ties_at_page_boundaries_are_neither_skipped_nor_repeated() -> None:
    async with walk_emulator(conversations=700, seed=5, ties=0.9) as emu, client_for(emu) as c:
        for order in ("asc", "desc"):
            assert await walk_ids(c, sort=order, limit=7) == expected_ids(emu, sort=order)


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_a_run_of_ties_longer_than_the_widest_page_is_walked_by_date(order: str) -> None:
    async with walk_emulator(conversations=0) as emu, client_for(emu) as client:
        base = generate_conversations(450, seed=1, location_id=emu.location_id)
        for item in base[50:400]:
            item["lastMessageDate"] = 1_700_000_000_000
            item["sort"] = [1_700_000_000_000]
        emu.set_conversations(base)
        seen: list[str] = []
        await collect_into(seen, client.paginate(sort=order))
        assert sorted(seen) == sorted(c["id"] for c in base)
        assert len(set(seen)) == 450
        windows = [r.query for r in emu.requests if "startDate" in r.query]
        assert windows  # the run was stepped through in dateAdded windows


async def test_a_run_no_date_window_can_split_is_a_pagination_error() -> None:
    async with walk_emulator(conversations=0) as emu, client_for(emu) as client:
        base = generate_conversations(150, seed=1, location_id=emu.location_id)
        for item in base:
            item["lastMessageDate"] = item["dateAdded"] = 1_700_000_000_000
            item["sort"] = [1_700_000_000_000]
        emu.set_conversations(base)
        pager = client.paginate(sort="asc")
        with pytest.raises(PaginationError, match="same millisecond") as caught:
            await collect_into([], pager)
        assert caught.value.resume_token == pager.resume_token


async def test_max_items_stops_mid_page_without_fetching_more() -> None:
    async with walk_emulator(conversations=500, seed=2) as emu, client_for(emu) as client:
        got = await walk_ids(client, max_items=150, prefetch=2)
        await asyncio.sleep(0.05)
        assert got == expected_ids(emu)[:150]
        assert len(emu.requests) == 2


async def test_resume_token_with_other_filters_is_refused(emulator: LeadwayEmulator) -> None:
    async with client_for(emulator) as client:
        pager = client.paginate(status="unread")
        async for _ in pager:
            break
        await pager.aclose()
        with pytest.raises(ValueError, match="other filters"):
            client.paginate(status="read", resume_token=pager.resume_token)
        with pytest.raises(ValueError, match="not a resume token"):
            client.paginate(resume_token="lw1.bogus")


async def test_filters_are_validated_when_paginate_is_called(emulator: LeadwayEmulator) -> None:
    async with client_for(emulator) as client:
        with pytest.raises(ValueError, match="sort"):
            client.paginate(sort="sideways")
        with pytest.raises(ValueError, match="max_items"):
            client.paginate(max_items=0)
        with pytest.raises(ValueError, match="prefetch"):
            client.paginate(prefetch=-1)
    assert emulator.requests == []


async def test_prefetch_has_the_next_page_in_flight_while_the_caller_works() -> None:
    async with walk_emulator(conversations=300, seed=4) as emu, client_for(emu) as client:
        for prefetch, requests_seen in ((1, 2), (0, 1)):
            emu.clear_requests()
            async with contextlib.aclosing(
                client.paginate(prefetch=prefetch, limit=50).pages()
            ) as pages:
                await pages.__anext__()
                await asyncio.sleep(0.1)  # the caller works on page 1
                assert len(emu.requests) == requests_seen


async def test_an_error_mid_walk_surfaces_at_its_page_and_the_walk_resumes_exactly() -> None:
    async with (
        walk_emulator(conversations=500, seed=8) as emu,
        client_for(emu, retry=None) as client,
    ):
        seen: list[str] = []
        pager = client.paginate(limit=50, prefetch=1)
        emu.inject(*(["ok"] * 3), "status:503")
        with pytest.raises(ServerError):
            await collect_into(seen, pager)
        assert len(seen) == 3 * 50  # three pages handed out (each widened past its boundary)
        rest = await walk_ids(client, limit=50, resume_token=pager.resume_token)
        assert seen + rest == expected_ids(emu)


async def test_a_cursor_that_does_not_advance_raises_instead_of_looping() -> None:
    async with walk_emulator(conversations=400, seed=6) as emu, client_for(emu) as client:
        emu.inject("ok", "stuck")
        pager = client.paginate(limit=50)
        seen: list[str] = []
        with pytest.raises(PaginationError) as caught:
            await collect_into(seen, pager)
        assert caught.value.resume_token == pager.resume_token
        rest = await walk_ids(client, limit=50, resume_token=caught.value.resume_token)
        assert seen + rest == expected_ids(emu)


async def test_an_empty_page_in_the_middle_does_not_end_the_walk() -> None:
    async with walk_emulator(conversations=300, seed=9) as emu, client_for(emu) as client:
        emu.inject("ok", "empty")
        assert await walk_ids(client, limit=40) == expected_ids(emu)


async def test_breaking_out_cancels_the_request_in_flight_without_leaks() -> None:
    # The emulator runs in its own thread, so every task in this loop is the client's.
    with walk_emulator(conversations=300, seed=1, latency_ms=300).run_in_thread() as emu:
        async with client_for(emu) as client:
            before = asyncio.all_tasks()
            async for _ in client.paginate(limit=50):
                break  # page 2 is in flight now
            await asyncio.sleep(0.05)  # the abandoned generator is finalised by the loop
            assert asyncio.all_tasks() - before == set()
        assert len(emu.requests) == 1  # page 2 was cancelled before the server answered it


async def test_aclose_cancels_the_request_in_flight() -> None:
    with walk_emulator(conversations=300, seed=1, latency_ms=300).run_in_thread() as emu:
        async with client_for(emu) as client:
            before = asyncio.all_tasks()
            pager = client.paginate(limit=50)
            iterator = pager.__aiter__()
            await iterator.__anext__()
            await pager.aclose()
            await iterator.aclose()
            assert asyncio.all_tasks() - before == set()
        assert len(emu.requests) == 1


async def test_cancelling_the_walking_task_leaves_nothing_behind() -> None:
    with walk_emulator(conversations=300, seed=1, latency_ms=200).run_in_thread() as emu:
        async with client_for(emu) as client:
            before = asyncio.all_tasks()

            async def consume() -> None:
                async for _ in client.paginate(limit=20):
                    pass

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert asyncio.all_tasks() - before == set()
            assert len(await client.search(limit=2)) == 2  # the client is still usable


async def test_a_pager_walks_once() -> None:
    async with walk_emulator(conversations=10) as emu, client_for(emu) as client:
        pager = client.paginate()
        assert len([c async for c in pager]) == 10
        with pytest.raises(RuntimeError, match="resume_token"):
            async for _ in pager:
                pass


async def test_pager_requests_take_the_same_road_as_search() -> None:
    seen: list[Request] = []

    async def spy(request: Request, handler: Handler) -> Response:
        seen.append(request)
        return await handler(request)

    async with walk_emulator(conversations=120) as emu, client_for(emu, middlewares=[spy]) as c:
        assert len(await walk_ids(c)) == 120
        assert [r.query.get("limit") for r in seen] == ["100", "100", "100"]  # + a catch-up
        assert all(r.path == "/conversations/search" for r in seen)


async def test_the_token_of_a_finished_ascending_walk_picks_up_later_arrivals() -> None:
    async with walk_emulator(conversations=250, seed=12) as emu, client_for(emu) as client:
        pager = client.paginate(sort="asc")
        first = [c.id async for c in pager]
        assert first == expected_ids(emu, sort="asc")
        newest = max(c["lastMessageDate"] for c in emu.conversations)
        arrivals = generate_conversations(30, seed=99, location_id=emu.location_id)
        for offset, item in enumerate(arrivals):
            item["id"] = f"NEW{offset:017d}"
            item["lastMessageDate"] = newest + offset  # the first shares the old boundary
            item["sort"] = [item["lastMessageDate"]]
        emu.set_conversations([*emu.conversations, *arrivals])

        later = await walk_ids(client, sort="asc", resume_token=pager.resume_token)

        assert later == [item["id"] for item in arrivals]


async def test_handed_out_counts_the_whole_walk_resumed_parts_included() -> None:
    async with walk_emulator(conversations=250, seed=13) as emu, client_for(emu) as client:
        pager = client.paginate(limit=40)
        async for _ in pager:
            if pager.handed_out == 70:
                break
        resumed = client.paginate(limit=40, resume_token=pager.resume_token)
        rest = [c.id async for c in resumed]
        assert resumed.handed_out == 250
        assert len(rest) == 180
