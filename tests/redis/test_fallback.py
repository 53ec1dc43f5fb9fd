"""Redis away: the walk goes on under the fallback's limit, with one WARNING, and returns to
the shared budget once Redis answers again; no Redis call ever hangs a request."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis_helpers import need_redis

need_redis()

from redis.asyncio import Redis  # noqa: E402

from leadway_async import LeadwayClient  # noqa: E402
from leadway_async.middleware import Handler, Request, Response  # noqa: E402
from leadway_async.redis import RedisThrottle  # noqa: E402
from leadway_async.redis.local_server import LocalRedisServer, _free_port  # noqa: E402
from leadway_async.testing import LeadwayEmulator  # noqa: E402

WENT_AWAY = "does not answer"
CAME_BACK = "answers again"


def busiest(times: list[float], window: float) -> int:
    """The most of `times` inside any half-open span of one window."""
    return max((sum(1 for t in times if start <= t < start + window) for start in times), default=0)


def work(seconds: float) -> None:
    """Keep the thread (and so its event loop) busy for `seconds`."""
    time.sleep(seconds)


def messages(caplog: pytest.LogCaptureFixture, text: str, level: int) -> int:
    return sum(1 for r in caplog.records if text in r.getMessage() and r.levelno == level)


async def walk(client: LeadwayClient, requests: int, tasks: int) -> None:
    searches = iter(range(requests))

    async def task() -> None:
        for _ in searches:
            await client.search(limit=1)

    await asyncio.gather(*(task() for _ in range(tasks)))


async def test_redis_stopped_mid_walk_and_restarted(
    own_redis_server: Callable[..., LocalRedisServer],
    namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="leadway_async")
    server = own_redis_server()
    size, share = 20, 0.25
    mid_walk, answered = asyncio.Event(), 0

    async def count(request: Request, handler: Handler) -> Response:
        nonlocal answered
        response = await handler(request)
        answered += 1
        if answered == 25:
            mid_walk.set()
        return response

    async with (
        LeadwayEmulator(
            conversations=20,
            rate_limit_max=size,
            rate_limit_interval_ms=1000,
            rate_limit_mode="sliding",
            latency_ms=10,
        ) as emu,
        RedisThrottle(
            server.url, namespace=namespace, probe_interval_s=0.5, redis_timeout_s=0.2
        ) as throttle,
        LeadwayClient(
            emu.token,
            location_id=emu.location_id,
            base_url=emu.url,
            throttle=throttle,
            middlewares=[count],
        ) as client,
    ):
        moments: dict[str, float] = {}

        async def outage() -> None:
            await mid_walk.wait()
            moments["stop"] = time.time()
            await asyncio.to_thread(server.stop)
            await asyncio.sleep(2.0)
            await asyncio.to_thread(server.start)
            moments["start"] = time.time()

        await asyncio.gather(walk(client, 80, 4), outage())
        assert throttle.shared
        times = [r.time for r in emu.requests]

    assert len(times) == 80
    assert emu.count_429 == 0
    assert messages(caplog, WENT_AWAY, logging.WARNING) == 1
    assert messages(caplog, CAME_BACK, logging.INFO) == 1
    during = [t for t in times if moments["stop"] + 0.05 <= t <= moments["start"]]
    assert during  # the walk went on while Redis was away...
    assert busiest(during, 1.0) <= int(size * share)  # ...under the fallback's limit
    after = [t for t in times if t > moments["start"] + 0.6]  # asked again within 0.5 s
    assert busiest(after, 1.0) > int(size * share)  # back to the shared, whole window


async def test_redis_unreachable_from_the_start(
    namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leadway_async")
    nowhere = f"redis://127.0.0.1:{_free_port()}/0"
    async with (
        LeadwayEmulator(
            conversations=20, rate_limit_max=8, rate_limit_interval_ms=300, latency_ms=50
        ) as emu,
        RedisThrottle(nowhere, namespace=namespace, probe_interval_s=0.3) as throttle,
        LeadwayClient(
            emu.token, location_id=emu.location_id, base_url=emu.url, throttle=throttle
        ) as client,
    ):
        await walk(client, 12, 4)
        assert not throttle.shared
        assert throttle.usage(emu.location_id) is not None
        times = sorted(r.time for r in emu.requests)

    assert len(times) == 12
    assert emu.count_429 == 0
    assert times[1] - times[0] >= 0.05  # one probe until an answer says the window
    assert busiest(times, 0.3) <= 2  # a quarter of 8
    assert messages(caplog, WENT_AWAY, logging.WARNING) == 1
    assert messages(caplog, CAME_BACK, logging.INFO) == 0


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never says a word: a hung Redis."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("given", [False, True], ids=["url", "client without timeouts"])
async def test_a_redis_that_never_answers_never_hangs_a_request(
    silent_server: str, namespace: str, caplog: pytest.LogCaptureFixture, given: bool
) -> None:
    redis: str | Redis = silent_server
    if given:
        redis = Redis.from_url(silent_server, socket_timeout=None, socket_connect_timeout=None)
    async with (
        LeadwayEmulator(conversations=20) as emu,
        RedisThrottle(
            redis, namespace=namespace, redis_timeout_s=0.2, probe_interval_s=0.2
        ) as throttle,
        LeadwayClient(
            emu.token, location_id=emu.location_id, base_url=emu.url, throttle=throttle
        ) as client,
    ):
        started = time.monotonic()
        await client.search(limit=1)
        assert time.monotonic() - started < 1.0
        await asyncio.sleep(0.25)  # the next request asks Redis again, in vain
        started = time.monotonic()
        await client.search(limit=1)
        assert time.monotonic() - started < 1.0
    if isinstance(redis, Redis):
        await redis.aclose()
    assert messages(caplog, WENT_AWAY, logging.WARNING) == 1


async def test_connections_from_before_an_outage_are_not_used_after_it(
    own_redis_server: Callable[..., LocalRedisServer],
    namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = own_redis_server()
    async with (
        LeadwayEmulator(conversations=20, latency_ms=50) as emu,
        RedisThrottle(server.url, namespace=namespace, probe_interval_s=0.2) as throttle,
        LeadwayClient(
            emu.token, location_id=emu.location_id, base_url=emu.url, throttle=throttle
        ) as client,
    ):
        await client.search(limit=1)
        await asyncio.gather(*(client.search(limit=1) for _ in range(6)))  # connections open
        await asyncio.to_thread(server.stop)
        await client.search(limit=1)  # Redis is away
        await asyncio.to_thread(server.start)
        await asyncio.sleep(0.25)
        await client.search(limit=1)  # Redis is back
        assert throttle.shared
        await asyncio.gather(*(client.search(limit=1) for _ in range(6)))
        assert throttle.shared
    assert messages(caplog, WENT_AWAY, logging.WARNING) == 1


async def test_a_busy_event_loop_is_not_a_redis_that_does_not_answer(
    redis_url: str, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        LeadwayEmulator(conversations=20) as emu,
        RedisThrottle(redis_url, namespace=namespace, redis_timeout_s=0.1) as throttle,
        LeadwayClient(
            emu.token, location_id=emu.location_id, base_url=emu.url, throttle=throttle
        ) as client,
    ):
        walking = True

        async def busy() -> None:  # a walker working on its pages, 0.3 s at a time
            while walking:
                work(0.3)
                await asyncio.sleep(0.001)

        blocker = asyncio.create_task(busy())
        try:
            for _ in range(4):
                await client.search(limit=1)
        finally:
            walking = False
            await blocker
        assert throttle.shared
    assert messages(caplog, WENT_AWAY, logging.WARNING) == 0
