"""Fixtures: a redis-server of the tests' own on a loopback port, and fresh namespaces.

Nothing here imports redis-py at load time: each test module calls `need_redis()` first,
which skips it (or fails it under LEADWAY_REQUIRE_REDIS=1) when Redis is missing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from redis_helpers import need_redis

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from leadway_async.redis.local_server import LocalRedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedisServer]:
    """One redis-server for the session (tests keep apart by namespace)."""
    need_redis()
    from leadway_async.redis.local_server import LocalRedisServer

    with LocalRedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: LocalRedisServer) -> str:
    return redis_server.url


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    """A plain redis-py client on the session's server, to look at what the SDK wrote."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def own_redis_server() -> Iterator[Callable[..., LocalRedisServer]]:
    """Starts redis-servers of the test's own (to stop, restart or protect with a
    password); all are stopped at the end."""
    need_redis()
    from leadway_async.redis.local_server import LocalRedisServer

    servers: list[LocalRedisServer] = []

    def start(**options: Any) -> LocalRedisServer:
        server = LocalRedisServer(**options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
