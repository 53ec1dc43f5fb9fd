"""scan() against the emulator over loopback: every match once, resumable, in parallel."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadway_async import ConversationPage, ConversationScan, LeadwayClient, ServerError
from leadway_async.middleware import Handler, Request, Response
from leadway_async.testing import LeadwayEmulator, LiveChanges, generate_conversations

from .helpers import client_for


def scan_emulator(**options: Any) -> LeadwayEmulator:
    """An emulator whose burst window never gets in the way (throttling is tested apart)."""
    return LeadwayEmulator(rate_limit_max=1_000_000, **options)


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Any]:
    with scan_emulator(conversations=0, latency_ms=2).run_in_thread() as emu:
        yield emu


async def collect_into(ids: list[str], scan: ConversationScan) -> None:
    async for conversation in scan:
        ids.append(conversation.id)


def everything(emu: Any, **wire: str) -> list[str]:
    return [c["id"] for c in emu.expected({"locationId": emu.location_id, **wire})]


FILTERS = [{}, {"status": "unread"}, {"sort_by": "last_manual_message_date"}]
WIRE = {"status": "status", "sort_by": "sortBy"}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(min_value=0, max_value=1_500),
    seed=st.integers(min_value=0, max_value=10_000),
    ties=st.sampled_from([0.0, 0.5, 0.95]),
    skew=st.sampled_from([0.0, 0.9]),
    filters=st.sampled_from(FILTERS),
    page_size=st.integers(min_value=5, max_value=100),
    concurrency=st.integers(min_value=1, max_value=8),
    max_items=st.one_of(st.none(), st.integers(min_value=1, max_value=2_000)),
    stop_fraction=st.floats(min_value=0, max_value=1),
)
def test_every_match_once_even_resumed(
    shared_emulator: Any,
    count: int,
    seed: int,
    ties: float,
    skew: float,
    filters: dict[str, str],
    page_size: int,
    concurrency: int,
    max_items: int | None,
    stop_fraction: float,
) -> None:
    emu = shared_emulator
    data = generate_conversations(
        count, seed=seed, ties=ties, skew=skew, location_id=emu.location_id
    )
    emu.set_conversations(data)
    expected = everything(emu, **{WIRE[k]: v for k, v in filters.items()})
    wanted = len(expected) if max_items is None else min(max_items, len(expected))
    stop = int(wanted * stop_fraction)
    options = {**filters, "limit": page_size}

    async def run() -> tuple[list[str], list[str]]:
        async with client_for(emu) as client:
            first: list[str] = []
            scan = client.scan(concurrency=concurrency, max_items=max_items, **options)
            async with scan:
                if stop:
                    async for conversation in scan:
                        first.append(conversation.id)
                        if len(first) == stop:
                            break
            token = scan.resume_token
            left = None if max_items is None else max_items - len(first)
            rest: list[str] = []
            if left != 0:
                again = client.scan(
                    concurrency=max(1, concurrency - 1),
                    max_items=left,
                    resume_token=token,
                    **options,
                )
                rest = [conversation.id async for conversation in again]
            return first, rest

    first, rest = asyncio.run(run())
    handed = first + rest
    assert len(handed) == len(set(handed)) == wanted  # each once, and as many as asked
    assert set(handed) <= set(expected)
    if max_items is None:
        assert set(handed) == set(expected)


async def test_a_scan_hands_out_what_a_walk_does_with_many_requests_in_flight() -> None:
    in_flight = peak = 0

    async def gauge(request: Request, handler: Handler) -> Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    emulator = scan_emulator(conversations=6_000, seed=2, latency_ms=20)
    async with emulator as emu, client_for(emu, middlewares=[gauge]) as client:
        walked = [c.id async for c in client.paginate()]
        peak = 0
        scanned = [c.id async for c in client.scan(concurrency=5)]
    assert sorted(scanned) == sorted(walked)
    assert len(set(scanned)) == 6_000
    assert peak == 5


async def test_on_a_skewed_location_every_walker_stays_busy_to_the_end() -> None:
    busy_seconds = 0.0

    async def gauge(request: Request, handler: Handler) -> Response:
        nonlocal busy_seconds
        started = time.monotonic()
        try:
            return await handler(request)
        finally:
            busy_seconds += time.monotonic() - started

    # 90 % of the conversations in the last tenth of the time range: the range cut there
    # holds nearly all of them, and walkers whose ranges run dry must share it.
    emulator = scan_emulator(conversations=8_000, seed=2, latency_ms=30, skew=0.9)
    with emulator.run_in_thread() as emu:  # its work does not hold up the client's loop
        async with client_for(emu, middlewares=[gauge]) as client:
            started = time.monotonic()
            scanned = [c.id async for c in client.scan(concurrency=4)]
            elapsed = time.monotonic() - started
        assert sorted(scanned) == sorted(everything(emu))
    in_flight = busy_seconds / elapsed  # requests in flight, on average over the scan
    # Without splitting, about 1: the range holding most conversations is walked alone.
    assert in_flight >= 2.5, f"on average {in_flight:.1f} of 4 requests in flight"


async def test_pages_are_fresh_immutable_pages_never_empty() -> None:
    async with scan_emulator(conversations=1_000, seed=4) as emu, client_for(emu) as client:
        pages = [page async for page in client.scan(concurrency=3, limit=50).pages()]
    assert all(isinstance(page, ConversationPage) and len(page) for page in pages)
    assert Counter(c.id for page in pages for c in page).most_common(1)[0][1] == 1
    assert sum(len(page) for page in pages) == 1_000


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency must be between 1 and 16"),
        ({"concurrency": 17}, "concurrency must be between 1 and 16"),
        ({"concurrency": 2.5}, "concurrency must be an integer"),
        ({"concurrency": True}, "concurrency must be an integer"),
        ({"max_items": 0}, "max_items"),
        ({"sort": "asc"}, "sort is for paginate"),
        ({"start_after_date": 5}, "start_after_date is for paginate"),
        ({"resume_token": "lw2.e30"}, r"token of paginate\(\)"),
        ({"resume_token": "garbage"}, "not a resume token"),
        ({"status": "sideways"}, "status must be one of"),
    ],
    ids=lambda value: repr(value).replace("\\", ""),  # a backslash makes an id unselectable
)
async def test_bad_input_is_refused_before_anything_is_sent(
    options: dict[str, Any], message: str
) -> None:
    async with scan_emulator(conversations=10) as emu, client_for(emu) as client:
        with pytest.raises(ValueError, match=message):
            client.scan(**options)
        assert emu.request_count == 0


async def test_a_token_of_other_filters_or_of_a_scan_given_to_paginate_is_refused() -> None:
    async with scan_emulator(conversations=300) as emu, client_for(emu) as client:
        scan = client.scan(limit=20)
        async with scan:
            async for _ in scan:
                break
        token = scan.resume_token
        with pytest.raises(ValueError, match="other filters"):
            client.scan(resume_token=token, status="unread")
        with pytest.raises(ValueError, match=r"token of scan\(\)"):
            client.paginate(resume_token=token)


async def test_an_error_surfaces_and_the_scan_resumes_exactly() -> None:
    async with scan_emulator(conversations=2_000, seed=6) as emu:
        async with client_for(emu, retry=None) as client:
            got: list[str] = []
            scan = client.scan(concurrency=4, limit=50)
            emu.inject(*["ok"] * 6, "status:500")
            with pytest.raises(ServerError):
                await collect_into(got, scan)
            got += [c.id async for c in client.scan(resume_token=scan.resume_token, limit=50)]
        assert sorted(got) == sorted(everything(emu))


async def test_break_and_aclose_leave_nothing_behind() -> None:
    with scan_emulator(conversations=3_000, seed=1, latency_ms=100).run_in_thread() as emu:
        async with client_for(emu) as client:
            before = asyncio.all_tasks()
            async for _ in client.scan(concurrency=4, limit=50):
                break
            await asyncio.sleep(0.05)
            assert asyncio.all_tasks() - before == set()
            await asyncio.sleep(0.3)  # what was in flight has reached the server by now
            requests_then = emu.request_count
            await asyncio.sleep(0.3)
            assert emu.request_count == requests_then  # nothing was left asking


async def test_aclose_from_another_task_stops_the_scan_at_once() -> None:
    with scan_emulator(conversations=3_000, seed=1, latency_ms=50).run_in_thread() as emu:
        print("EMULATOR", emu.url)
        async with client_for(emu) as client:
            scan = client.scan(concurrency=4, limit=50)
            handed: list[str] = []
            started = asyncio.Event()

            async def consume() -> None:
                async for conversation in scan:
                    handed.append(conversation.id)
                    started.set()
                    await asyncio.sleep(0.001)

            consumer = asyncio.ensure_future(consume())
            await started.wait()
            await scan.aclose()
            count = len(handed)
            await asyncio.wait_for(consumer, 2)
            assert len(handed) == count


async def test_cancelling_the_scanning_task_leaves_nothing_behind() -> None:
    with scan_emulator(conversations=3_000, seed=1, latency_ms=80).run_in_thread() as emu:
        async with client_for(emu) as client:
            before = asyncio.all_tasks()

            async def consume() -> None:
                async for _ in client.scan(concurrency=4, limit=50):
                    pass

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert asyncio.all_tasks() - before == set()


@pytest.mark.parametrize("concurrency", [2, 4])
async def test_a_scan_of_a_changing_location_loses_nothing_that_was_there_throughout(
    concurrency: int,
) -> None:
    live = LiveChanges(messages_per_s=100, created_per_s=10, deleted_per_s=5, seed=2)
    emu = scan_emulator(conversations=4_000, seed=8, latency_ms=15, live=live)
    async with emu, client_for(emu) as client:
        started = emu.now()
        ids = [c.id async for c in client.scan(concurrency=concurrency, limit=50)]
        ended = emu.now()
        present = emu.live.present_throughout(started, ended)
        moved = emu.live.moved(started, ended)
    assert len(moved) > 30
    assert present <= set(ids)
    counts = Counter(ids)
    assert all(counts[i] == 1 for i in present - moved)


async def test_a_finished_scans_token_picks_up_what_changed_since() -> None:
    async with scan_emulator(conversations=800, seed=3) as emu, client_for(emu) as client:
        scan = client.scan(concurrency=3, limit=50)
        first = [c.id async for c in scan]
        assert sorted(first) == sorted(everything(emu))
        fresh = generate_conversations(5, seed=99, location_id=emu.location_id)
        newest = max(c["lastMessageDate"] for c in emu.conversations)
        for index, item in enumerate(fresh):
            item["lastMessageDate"] = item["dateAdded"] = newest + 1_000 + index
            item["sort"] = [newest + 1_000 + index]
        emu.set_conversations([*emu.conversations, *fresh])
        later = [c.id async for c in client.scan(resume_token=scan.resume_token)]
    assert sorted(later) == sorted(item["id"] for item in fresh)


def test_scan_is_offered_beside_paginate() -> None:
    client = LeadwayClient("pit-x", location_id="L")
    assert callable(client.scan)
