"""The throttle against the emulator's enforced window, with requests reaching the server
after a delay that varies from one to the next (a jittery path, a busy event loop)."""

from __future__ import annotations

import asyncio
import random

import pytest

from leadway_async.testing import LeadwayEmulator
from leadway_async.testing.ratelimit import WindowMode

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
    # Each place is next taken SIZE requests later: the mean of those cycles, after the
    # first window, gives the rate.
    cycles = [times[i + SIZE] - times[i] for i in range(SIZE, len(times) - SIZE)]
    rate = SIZE / (sum(cycles) / len(cycles))
    assert rate >= 0.9 * SIZE
