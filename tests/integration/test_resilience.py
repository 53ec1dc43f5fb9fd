"""Retries, throttling and logging against the emulator's faults and enforced limits."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from leadway_async import (
    AuthenticationError,
    LeadwayClient,
    LeadwayError,
    RateLimitError,
)
from leadway_async.middleware import Handler, Request, Response, Throttle
from leadway_async.testing import Faults, LeadwayEmulator

from .helpers import client_for, expected_ids


@pytest.mark.parametrize(
    "kind", ["status:503", "status:502", "drop", "truncate", "status:429", "mixed"]
)
async def test_a_full_walk_survives_15_percent_faults_with_default_settings(kind: str) -> None:
    kinds = (
        ("status:500", "status:503", "drop", "truncate", "status:429")
        if kind == "mixed"
        else (kind,)
    )
    async with (
        LeadwayEmulator(
            conversations=3000,
            seed=21,
            rate_limit_max=1000,
            rate_limit_interval_ms=300,  # a 429's advertised window is the wait: keep it short
            faults=Faults(rate=0.15, kinds=kinds, seed=3),
        ) as emu,
        client_for(emu) as client,
    ):
        walked = [c.id async for c in client.paginate()]
        faults_served = sum(1 for r in emu.requests if r.fault)
    assert walked == expected_ids(emu)  # every conversation exactly once, in order
    assert faults_served > 0


@pytest.mark.parametrize("mode", ["fixed", "sliding"])
async def test_concurrent_tasks_through_one_fresh_client_stay_inside_the_window(mode: str) -> None:
    async with (
        LeadwayEmulator(
            conversations=200, rate_limit_max=20, rate_limit_interval_ms=1000, rate_limit_mode=mode
        ) as emu,
        client_for(emu) as client,
    ):
        searches = iter(range(60))

        async def task() -> None:
            for _ in searches:
                await client.search(limit=5)

        await asyncio.gather(*(task() for _ in range(30)))
        times = sorted(r.time for r in emu.requests)

    assert emu.count_429 == 0
    assert len(times) == 60
    for start in times:  # never more than 20 inside any one-second span
        assert sum(1 for t in times if start <= t < start + 1.0) <= 20
    first_window = sum(1 for t in times if t < times[0] + 1.0)
    assert first_window >= 15  # the window's allowance is used, not trickled


async def test_a_used_up_daily_budget_fails_fast_without_sending() -> None:
    async with LeadwayEmulator(conversations=10, daily_limit=1) as emu, client_for(emu) as client:
        await client.search()
        started = time.monotonic()
        with pytest.raises(RateLimitError) as caught:
            await client.search()
        elapsed = time.monotonic() - started
        assert emu.request_count == 1  # the throttle knew: nothing was sent
    assert caught.value.daily_quota_exhausted
    assert elapsed < 1.0


async def test_a_daily_quota_429_is_not_retried() -> None:
    async with LeadwayEmulator(conversations=10, daily_limit=1) as emu:
        async with client_for(emu, throttle=False) as client:
            await client.search()
            with pytest.raises(RateLimitError) as caught:
                await client.search()
        assert emu.request_count == 2
    assert caught.value.daily_quota_exhausted


async def test_an_overlong_retry_after_fails_at_once() -> None:
    async with LeadwayEmulator(conversations=10, rate_limit_max=1, retry_after=120) as emu:
        async with client_for(emu, throttle=False) as client:
            await client.search()
            started = time.monotonic()
            with pytest.raises(RateLimitError) as caught:
                await client.search()
            elapsed = time.monotonic() - started
        assert emu.request_count == 2
    assert caught.value.retry_after == 120
    assert not caught.value.daily_quota_exhausted
    assert elapsed < 1.0


async def test_a_401_is_sent_once_and_never_retried() -> None:
    async with LeadwayEmulator(conversations=10) as emu:
        async with LeadwayClient("pit-wrong", location_id=emu.location_id, base_url=emu.url) as c:
            with pytest.raises(AuthenticationError):
                await c.search()
        assert emu.request_count == 1


async def test_a_retried_page_asks_the_same_cursor_again() -> None:
    async with LeadwayEmulator(conversations=500, rate_limit_max=1000) as emu, client_for(emu) as c:
        emu.inject("ok", "status:503", "drop")
        walked = [conv.id async for conv in c.paginate(prefetch=0)]
        queries = [r.query for r in emu.requests]
    assert walked == expected_ids(emu)
    assert queries[1] == queries[2] == queries[3]  # page 2, asked three times


async def test_the_deadline_is_enforced_across_retries() -> None:
    async with LeadwayEmulator(conversations=10) as emu:
        emu.faults = Faults(rate=1.0, kinds=("latency:400",))
        async with client_for(emu, timeout=0.25, deadline=0.6) as client:
            started = time.monotonic()
            with pytest.raises(LeadwayError, match=r"deadline|within"):
                await client.search()
            elapsed = time.monotonic() - started
        await asyncio.sleep(0.5)  # let the server record the answers it was still delaying
        sent = emu.request_count
    assert 1 <= sent <= 3  # attempts start at 0, >=0.25 and >=0.5 s: a fourth would be late
    assert elapsed < 2.0  # not 4 attempts of 0.25 s plus waits


async def test_the_token_appears_in_no_log_line_at_any_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "pit-77c0ffee-do-not-log"
    caplog.set_level(logging.DEBUG)
    async with LeadwayEmulator(conversations=50, token=secret) as emu:
        emu.inject("drop", "status:503", "truncate", "latency:50")
        async with client_for(emu) as client:
            await client.search()  # retried through every kind of failure
            async for _ in client.paginate(max_items=30):
                pass
        emu.inject(*["status:500"] * 4)
        async with client_for(emu) as client:
            with pytest.raises(LeadwayError):
                await client.search()
        async with LeadwayClient("pit-77c0ffee-wrong", location_id="L", base_url=emu.url) as c:
            with pytest.raises(LeadwayError):
                await c.search()
    messages = [r.getMessage() for r in caplog.records]
    debug_lines = [m for m in messages if "/conversations/search" in m and " -> " in m]
    assert any(" -> 200 " in m and "attempt 4" in m for m in debug_lines)
    assert any("retrying" in m for m in messages)
    for message in messages:
        assert "pit-77c0ffee" not in message
        assert "Authorization" not in message
        assert "Bearer" not in message


async def test_a_custom_middleware_sees_every_call_once(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[tuple[str, int]] = []

    async def metrics(request: Request, handler: Handler) -> Response:
        response = await handler(request)
        calls.append((request.path, response.status))
        return response

    async with LeadwayEmulator(conversations=150) as emu:
        emu.inject("status:503")
        async with client_for(emu, middlewares=[metrics]) as client:
            await client.search()
            assert len([c async for c in client.paginate()]) == 150
    # Outside retries, one per call: the search, two pages, one look back at the top.
    assert calls == [("/conversations/search", 200)] * 4


async def test_default_middlewares_can_be_replaced() -> None:
    seen: list[int] = []

    async def only_mine(request: Request, handler: Handler) -> Response:
        seen.append(request.attempt)
        return await handler(request)

    async with LeadwayEmulator(conversations=10) as emu:
        emu.inject("status:503")
        async with client_for(emu, middlewares=[only_mine], default_middlewares=False) as c:
            with pytest.raises(LeadwayError):
                await c.search()  # no retry middleware any more
    assert seen == [1]


async def test_clients_sharing_a_throttle_share_one_budget() -> None:
    shared = Throttle()
    async with LeadwayEmulator(
        conversations=20, rate_limit_max=5, rate_limit_interval_ms=500
    ) as emu:
        async with client_for(emu, throttle=shared) as a, client_for(emu, throttle=shared) as b:
            await asyncio.gather(*(c.search(limit=1) for c in (a, b) for _ in range(8)))
        assert emu.count_429 == 0
        assert emu.request_count == 16
