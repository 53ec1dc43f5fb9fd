"""The throttle against the emulator's enforced window, with requests reaching the server
after a delay that varies from one to the next (a jittery path, a busy event loop).

The rule under test: a request holds a place from its send until one window after its
answer, so wherever between the two the server counts it, no window counts more than the
window's size; and an `X-RateLimit-Remaining` that the throttle's own places account for
holds nothing back."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from attrs import evolve
from multidict import CIMultiDict, CIMultiDictProxy

from leadway_async.middleware import (
    Handler,
    Middleware,
    Request,
    Response,
    RetryMiddleware,
    RetryPolicy,
    Throttle,
)
from leadway_async.models import RateLimit
from leadway_async.testing import DEFAULT_LOCATION_ID, LeadwayEmulator, generate_conversations
from leadway_async.testing.ratelimit import RateLimiter, WindowMode

from .helpers import client_for

REQUESTS = 100
SIZE = 20  # per second


@pytest.mark.parametrize("mode", ["fixed", "sliding"])
async def test_concurrent_tasks_get_no_429_and_nearly_the_whole_allowed_rate(
    mode: WindowMode,
) -> None:
    async with (
        LeadwayEmulator(
            conversations=50, rate_limit_max=SIZE, rate_limit_interval_ms=1000, rate_limit_mode=mode
        ) as emu,
        client_for(emu) as client,
    ):
        draws = random.Random(7)

        async def jitter() -> None:  # the server counts each request 0 to 50 ms after its send
            while True:
                emu.latency_ms = draws.uniform(0, 50)
                await asyncio.sleep(0.005)

        searches = iter(range(REQUESTS))

        async def task() -> None:
            for _ in searches:
                await client.search(limit=1)

        jittering = asyncio.create_task(jitter())
        try:
            await asyncio.gather(*(task() for _ in range(4)))
        finally:
            jittering.cancel()
        times = [r.time for r in emu.requests]

    assert emu.count_429 == 0
    assert len(times) == REQUESTS
    assert _rate(times) >= 0.9 * SIZE


def _jitter(seed: int, most_s: float = 0.05) -> Middleware:
    """A middleware inside the throttle: each request reaches the wire 0 to `most_s`
    seconds after the throttle let it go."""
    draws = random.Random(seed)

    async def jitter(request: Request, handler: Handler) -> Response:
        await asyncio.sleep(draws.uniform(0, most_s))
        return await handler(request)

    return jitter


def _throttled(*inner: Middleware) -> list[Middleware]:
    """Retries outermost, then the throttle, then `inner` next to the wire."""
    return [RetryMiddleware(RetryPolicy(max_retries=10)), Throttle(), *inner]


def _rate(times: list[float]) -> float:
    """Requests a second after the first window. Each place is next taken SIZE requests
    later: SIZE over the mean of those cycles."""
    cycles = [times[i + SIZE] - times[i] for i in range(SIZE, len(times) - SIZE)]
    return SIZE / (sum(cycles) / len(cycles))


async def test_jitter_between_the_throttle_and_the_wire_gets_no_429() -> None:
    """Requests reach the server 0 to 50 ms after the throttle let them go. The window
    slides: any span of a second counts, so none here means none in fixed windows."""
    async with (
        LeadwayEmulator(
            conversations=50,
            rate_limit_max=SIZE,
            rate_limit_interval_ms=1000,
            rate_limit_mode="sliding",
        ) as emu,
        client_for(emu, default_middlewares=False, middlewares=_throttled(_jitter(3))) as client,
    ):
        searches = iter(range(4 * SIZE))

        async def task() -> None:
            for _ in searches:
                await client.search(limit=1)

        await asyncio.gather(*(task() for _ in range(8)))

    assert emu.count_429 == 0
    assert emu.request_count == 4 * SIZE


def _spin(seconds: float) -> None:
    """Keep the event loop busy, as work on a page does."""
    ends = time.perf_counter() + seconds
    while time.perf_counter() < ends:
        pass


def _long_bodies(count: int, size: int) -> Iterator[dict[str, Any]]:
    """Generated conversations whose last message takes about `size` characters."""
    for conversation in generate_conversations(count, seed=5, location_id=DEFAULT_LOCATION_ID):
        text = (conversation.get("lastMessageBody") or "Left a voicemail.") + " "
        yield {**conversation, "lastMessageBody": text * (size // len(text))}


async def test_a_slow_reader_of_large_pages_gets_no_429() -> None:
    """Large pages (about 1 MB) and 20 ms of work on each keep the loop busy, so requests
    go out and reach the server (in this loop too) late and are seen answered late. The
    window slides, as above."""
    pages = 7  # per task: 8 x 7 = 56 requests
    async with (
        LeadwayEmulator(
            conversations=list(_long_bodies(pages * 100 + 10, 10_000)),
            rate_limit_max=SIZE,
            rate_limit_interval_ms=1000,
            rate_limit_mode="sliding",
        ) as emu,
        client_for(emu, default_middlewares=False, middlewares=_throttled()) as client,
    ):

        async def walk() -> int:
            seen = 0
            async for page in client.paginate(max_items=pages * 100).pages():
                _spin(0.02)
                seen += len(page.conversations)
            return seen

        seen = await asyncio.gather(*(walk() for _ in range(8)))

    assert seen == [pages * 100] * 8
    assert emu.count_429 == 0


def _window_headers(refused: list[Request]) -> Middleware:
    """A middleware next to the wire putting on each answer the `X-RateLimit-*` headers
    of a server that counts requests as they arrive, SIZE a second in fixed windows, but
    refuses none; those it would have refused go to `refused`."""
    limiter = RateLimiter(max_requests=SIZE, interval_ms=1000, mode="fixed")

    async def stamp(request: Request, handler: Handler) -> Response:
        quota = limiter.hit(request.query["locationId"])
        if not quota.allowed:
            refused.append(request)
        response = await handler(request)
        headers = CIMultiDict(response.headers)
        headers["X-RateLimit-Max"] = str(quota.max_requests)
        headers["X-RateLimit-Interval-Milliseconds"] = str(quota.interval_ms)
        headers["X-RateLimit-Remaining"] = str(quota.remaining)
        return evolve(
            response, headers=CIMultiDictProxy(headers), rate_limit=RateLimit.from_headers(headers)
        )

    return stamp


async def test_a_sequential_caller_is_not_held_back_by_remaining_0_on_its_own_requests() -> None:
    """The server enforces nothing but reports a window of SIZE a second counted at
    arrival: every window ends with an answer saying `Remaining: 0`, which the caller's
    own places account for, so the caller keeps its pace."""
    refused: list[Request] = []
    chain = _throttled(_jitter(5), _window_headers(refused))
    async with (
        LeadwayEmulator(conversations=50, rate_limit_max=1_000_000) as emu,
        client_for(emu, default_middlewares=False, middlewares=chain) as client,
    ):
        remaining = []
        for _ in range(4 * SIZE):
            page = await client.search(limit=1)
            remaining.append(page.rate_limit.remaining)
        times = [r.time for r in emu.requests]

    assert remaining.count(0) >= 3  # every window's last answer said so
    assert refused == []  # and no window was overrun
    assert _rate(times) >= 0.9 * SIZE
