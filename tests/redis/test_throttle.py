"""RedisThrottle in the client, against the emulator's enforced window over loopback, with
two throttles on one Redis standing for two processes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
import pytest
from redis_helpers import need_redis

need_redis()

from redis.asyncio import Redis  # noqa: E402

from leadway_async import APITimeoutError, LeadwayClient, RateLimitError  # noqa: E402
from leadway_async.client import DEFAULT_API_VERSION  # noqa: E402
from leadway_async.redis import RedisThrottle  # noqa: E402
from leadway_async.redis.script import location_keys  # noqa: E402
from leadway_async.testing import LeadwayEmulator  # noqa: E402
from leadway_async.testing.ratelimit import WindowMode  # noqa: E402

SIZE = 20  # per second


def client_for(emu: LeadwayEmulator, throttle: RedisThrottle, **options: Any) -> LeadwayClient:
    return LeadwayClient(
        emu.token, location_id=emu.location_id, base_url=emu.url, throttle=throttle, **options
    )


@asynccontextmanager
async def workers(
    emu: LeadwayEmulator, url: str, namespace: str, count: int, **options: Any
) -> AsyncIterator[list[LeadwayClient]]:
    """`count` clients, each with a RedisThrottle of its own on one Redis and namespace:
    as many processes, as far as the shared budget can tell."""
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(count):
            throttle = await stack.enter_async_context(RedisThrottle(url, namespace=namespace))
            clients.append(await stack.enter_async_context(client_for(emu, throttle, **options)))
        yield clients


@pytest.mark.parametrize("mode", ["fixed", "sliding"])
async def test_two_processes_get_no_429_and_nearly_the_whole_allowed_rate(
    mode: WindowMode, redis_url: str, namespace: str
) -> None:
    requests = 80
    async with (
        LeadwayEmulator(
            conversations=50, rate_limit_max=SIZE, rate_limit_interval_ms=1000, rate_limit_mode=mode
        ) as emu,
        workers(emu, redis_url, namespace, 2) as clients,
    ):
        draws = random.Random(7)

        async def jitter() -> None:  # the server counts each request 0 to 50 ms after its send
            while True:
                emu.latency_ms = draws.uniform(0, 50)
                await asyncio.sleep(0.005)

        searches = iter(range(requests))

        async def task(client: LeadwayClient) -> None:
            for _ in searches:
                await client.search(limit=1)

        jittering = asyncio.create_task(jitter())
        try:
            await asyncio.gather(*(task(client) for client in clients for _ in range(3)))
        finally:
            jittering.cancel()
        times = [r.time for r in emu.requests]

    assert emu.count_429 == 0
    assert len(times) == requests
    cycles = [times[i + SIZE] - times[i] for i in range(SIZE, len(times) - SIZE)]
    rate = SIZE / (sum(cycles) / len(cycles))
    assert rate >= 0.85 * SIZE


async def test_a_new_process_uses_the_window_learned_by_another(
    redis_url: str, namespace: str
) -> None:
    async with LeadwayEmulator(
        conversations=20, rate_limit_max=SIZE, rate_limit_interval_ms=1000, latency_ms=100
    ) as emu:
        async with workers(emu, redis_url, namespace, 1) as (first,):
            await first.search(limit=1)  # learns the window
        emu.clear_requests()
        async with workers(emu, redis_url, namespace, 1) as (second,):
            await asyncio.gather(*(second.search(limit=1) for _ in range(5)))
        learned = [r.time for r in emu.requests]
        emu.clear_requests()
        async with workers(emu, redis_url, f"{namespace}-fresh", 1) as (fresh,):
            await asyncio.gather(*(fresh.search(limit=1) for _ in range(5)))
        probed = sorted(r.time for r in emu.requests)

    assert max(learned) - min(learned) < 0.08  # all five at once: no probe
    assert probed[1] - probed[0] > 0.09  # a fresh namespace probes: one, then the rest


async def test_requests_outside_the_sdk_shrink_the_budget_every_process_sees(
    redis_url: str, redis_client: Redis, namespace: str
) -> None:
    window = 10
    async with LeadwayEmulator(
        conversations=20,
        rate_limit_max=window,
        rate_limit_interval_ms=1000,
        rate_limit_mode="sliding",
    ) as emu:
        headers = {"Authorization": f"Bearer {emu.token}", "Version": DEFAULT_API_VERSION}
        async with aiohttp.ClientSession() as session:
            for _ in range(6):  # someone else, with the same app, not through the SDK
                url = f"{emu.url}/conversations/search?locationId={emu.location_id}"
                async with session.get(url, headers=headers) as answer:
                    assert answer.status == 200
        async with workers(emu, redis_url, namespace, 2) as (first, second):
            await first.search(limit=1)  # the probe: Remaining says 10 - 7
            others = location_keys(namespace, emu.location_id)[2]
            assert await redis_client.zcard(others) == 6
            started = asyncio.get_running_loop().time()
            await asyncio.gather(
                *(client.search(limit=1) for client in (first, second) for _ in range(6))
            )
            took = asyncio.get_running_loop().time() - started
    assert emu.count_429 == 0
    assert took > 0.5  # it waited for the outsider's places to free


async def test_a_429_pauses_every_process(redis_url: str, namespace: str) -> None:
    async with (
        LeadwayEmulator(
            conversations=20, rate_limit_max=100, rate_limit_interval_ms=300, retry_after=1.5
        ) as emu,
        workers(emu, redis_url, namespace, 2, retry=None) as (first, second),
    ):
        await first.search(limit=1)
        emu.inject("status:429")
        with pytest.raises(RateLimitError):
            await first.search(limit=1)
        refused = emu.requests[-1].time
        await second.search(limit=1)
        after = emu.requests[-1].time
    assert after - refused >= 1.45  # Retry-After, not the window (whose places it fills)


async def test_a_used_up_daily_quota_stops_every_process_without_sending(
    redis_url: str, namespace: str
) -> None:
    async with (
        LeadwayEmulator(conversations=20, daily_limit=2) as emu,
        workers(emu, redis_url, namespace, 2, retry=None) as (first, second),
    ):
        await first.search(limit=1)
        await first.search(limit=1)  # its answer says: 0 left today
        with pytest.raises(RateLimitError) as caught:
            await second.search(limit=1)
        assert emu.request_count == 2
    assert caught.value.daily_quota_exhausted
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0


async def test_no_wait_passes_the_calls_deadline(redis_url: str, namespace: str) -> None:
    async with (
        LeadwayEmulator(conversations=20, rate_limit_max=1, rate_limit_interval_ms=5000) as emu,
        workers(emu, redis_url, namespace, 1, deadline=0.5, retry=None) as (client,),
    ):
        await client.search(limit=1)
        started = asyncio.get_running_loop().time()
        with pytest.raises(APITimeoutError):
            await client.search(limit=1)
        assert asyncio.get_running_loop().time() - started < 0.2
        assert emu.request_count == 1


async def test_a_process_sends_in_arrival_order(redis_url: str, namespace: str) -> None:
    async with (
        LeadwayEmulator(conversations=20, rate_limit_max=2, rate_limit_interval_ms=300) as emu,
        workers(emu, redis_url, namespace, 1) as (client,),
    ):
        await client.search(limit=1)

        async def search(order: int) -> None:
            await asyncio.sleep(order * 0.005)
            await client.search(limit=order)

        await asyncio.gather(*(search(order) for order in range(2, 9)))
        sent = [int(r.query["limit"]) for r in emu.requests]
    assert sent == list(range(1, 9))
    assert emu.count_429 == 0


async def test_usage_and_keys(redis_url: str, redis_client: Redis, namespace: str) -> None:
    async with LeadwayEmulator(
        conversations=20, rate_limit_max=4, rate_limit_interval_ms=1000
    ) as emu:
        async with RedisThrottle(redis_url, namespace=namespace) as throttle:
            assert throttle.usage(emu.location_id) is None
            async with client_for(emu, throttle) as client:
                await client.search(limit=1)
                await client.search(limit=1)
            assert throttle.usage(emu.location_id) == pytest.approx(0.5)
            assert throttle.usage("elsewhere") is None
            assert throttle.shared
        keys = sorted(key.decode() for key in await redis_client.keys(f"*{namespace}*"))
    prefix = f"leadway-async:{{{namespace}:{emu.location_id}}}:"
    assert keys == [prefix + part for part in ("done", "seq", "window")]
    assert all(emu.token not in key for key in keys)
    for key in keys:
        assert await redis_client.pttl(key) > 0


async def test_a_client_given_is_used_and_left_open(redis_url: str, namespace: str) -> None:
    given = Redis.from_url(redis_url)
    try:
        async with (
            LeadwayEmulator(conversations=20) as emu,
            RedisThrottle(given, namespace=namespace) as throttle,
            client_for(emu, throttle) as client,
        ):
            await client.search(limit=1)
            assert "127.0.0.1" in repr(throttle)
        assert await given.ping()
    finally:
        await given.aclose()
