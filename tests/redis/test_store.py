"""RedisTokenStore against a real redis-server: what it keeps, its lock across stores and
processes, a holder that dies, and a Redis that refuses or holds something else."""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest
from redis_helpers import need_redis

need_redis()

from redis.asyncio import Redis  # noqa: E402

from leadway_async import LeadwayClient, ParameterError  # noqa: E402
from leadway_async.auth import OAuthApp  # noqa: E402
from leadway_async.auth.store import TokenStore  # noqa: E402
from leadway_async.auth.tokens import OAuthTokens, TokenStoreError  # noqa: E402
from leadway_async.redis import RedisThrottle, RedisTokenStore  # noqa: E402
from leadway_async.redis.local_server import LocalRedisServer, _free_port  # noqa: E402
from leadway_async.testing import LeadwayEmulator  # noqa: E402

ACCESS, REFRESH, SECRET = "at-very-secret", "rt-very-secret", "s3cret-pa55"

HOLD_AND_WAIT = """
import asyncio, sys
from leadway_async.redis import RedisTokenStore

async def main():
    store = RedisTokenStore(sys.argv[1], key=sys.argv[2], lock_timeout_s=float(sys.argv[3]))
    async with store.lock():
        print("held", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


def tokens(expires_at: float, access: str = ACCESS) -> OAuthTokens:
    return OAuthTokens(
        access_token=access,
        refresh_token=REFRESH,
        expires_at=expires_at,
        user_type="Location",
        company_id="company-1",
        location_id="location-1",
        scopes=("conversations.readonly",),
    )


@pytest.fixture
async def stores(redis_url: str, namespace: str) -> AsyncIterator[Callable[..., RedisTokenStore]]:
    """Makes stores on one key, each with a Redis client of its own (as on other hosts)."""
    async with AsyncExitStack() as stack:

        def make(**options: float) -> RedisTokenStore:
            store = RedisTokenStore(redis_url, key=f"{namespace}:oauth", **options)
            stack.push_async_callback(store.aclose)
            return store

        yield make


async def test_what_one_store_writes_another_reads(
    stores: Callable[..., RedisTokenStore], redis_client: Redis, namespace: str
) -> None:
    first, second = stores(), stores()
    assert isinstance(first, TokenStore)
    assert await first.read() is None
    await first.write(tokens(1_000.0))
    assert await second.read() == tokens(1_000.0)
    await second.write(tokens(2_000.0, access="at-2"))
    assert await first.read() == tokens(2_000.0, access="at-2")
    stored = await redis_client.get(f"{namespace}:oauth")
    assert stored is not None
    assert b'"format": "leadway-async/oauth-tokens"' in stored
    assert ACCESS not in repr(first)
    assert await redis_client.pttl(f"{namespace}:oauth") == -1  # tokens never expire here


async def test_the_lock_is_held_by_one_store_at_a_time(
    stores: Callable[..., RedisTokenStore],
) -> None:
    spans: list[tuple[float, float]] = []

    async def hold(store: RedisTokenStore) -> None:
        async with store.lock():
            entered = time.monotonic()
            await asyncio.sleep(0.03)
            spans.append((entered, time.monotonic()))

    both = [stores(), stores()]
    await asyncio.gather(*(hold(store) for store in both for _ in range(3)))
    spans.sort()
    assert len(spans) == 6
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))


async def test_one_refresh_per_expiry_across_many_hosts(
    stores: Callable[..., RedisTokenStore],
) -> None:
    await stores().write(tokens(time.time() - 1))  # expired
    refreshes = 0

    async def use(store: RedisTokenStore) -> str:
        nonlocal refreshes
        async with store.lock():
            current = await store.read()
            assert current is not None
            if current.expires_in(time.time()) <= 0:
                refreshes += 1
                await asyncio.sleep(0.02)  # the token endpoint
                current = tokens(time.time() + 3600, access=f"at-{refreshes}")
                await store.write(current)
            return current.access_token

    hosts = [stores() for _ in range(4)]
    used = await asyncio.gather(*(use(store) for store in hosts for _ in range(3)))
    assert refreshes == 1
    assert set(used) == {"at-1"}


async def test_a_holder_that_dies_frees_the_lock_when_its_time_runs_out(
    stores: Callable[..., RedisTokenStore], redis_url: str, namespace: str
) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_AND_WAIT,
        redis_url,
        f"{namespace}:oauth",
        "0.6",
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"held\n"
    holder.kill()  # dies holding the lock
    await holder.wait()
    died = time.monotonic()
    async with stores(lock_timeout_s=2).lock():
        waited = time.monotonic() - died
    assert 0.2 < waited < 1.5


async def test_a_lock_that_runs_out_while_held_is_reported(
    stores: Callable[..., RedisTokenStore], caplog: pytest.LogCaptureFixture
) -> None:
    store = stores(lock_timeout_s=0.1)
    async with store.lock():
        await asyncio.sleep(0.2)
    assert any("ran out" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    async with store.lock():  # and it can be taken again
        pass


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (None, "not a leadway-async token store"),  # a list, not a string
        ("not json", "not a leadway-async token store"),
        ('{"format": "something else"}', "not a leadway-async token store"),
        ('{"format": "leadway-async/oauth-tokens", "version": 9}', "version 9"),
    ],
)
async def test_a_key_holding_something_else_is_a_token_store_error(
    stores: Callable[..., RedisTokenStore],
    redis_client: Redis,
    namespace: str,
    stored: str | None,
    message: str,
) -> None:
    if stored is None:
        await redis_client.rpush(f"{namespace}:oauth", "someone else's")
    else:
        await redis_client.set(f"{namespace}:oauth", stored)
    with pytest.raises(TokenStoreError, match=message):
        await stores().read()


async def test_a_redis_that_does_not_answer_is_a_token_store_error() -> None:
    store = RedisTokenStore(f"redis://127.0.0.1:{_free_port()}/0")
    try:
        with pytest.raises(TokenStoreError, match="does not answer"):
            await store.read()
        with pytest.raises(TokenStoreError, match="does not answer"):
            await store.write(tokens(1.0))
        with pytest.raises(TokenStoreError, match="does not answer"):
            async with store.lock():
                pass
    finally:
        await store.aclose()


async def test_refused_credentials_are_a_token_store_error_that_hides_the_password(
    own_redis_server: Callable[..., LocalRedisServer],
) -> None:
    server = own_redis_server(password=SECRET)
    store = RedisTokenStore(f"redis://:wrong-{SECRET}@127.0.0.1:{server.port}/0")
    try:
        with pytest.raises(TokenStoreError, match="credentials") as caught:
            await store.read()
        assert SECRET not in str(caught.value)
        assert SECRET not in repr(store)
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("arguments", "options", "match"),
    [
        (("http://localhost/0",), {}, "url_or_client"),
        ((f"redis://:{SECRET}@localhost:port/0",), {}, "url_or_client"),
        (("redis://localhost/0",), {"key": ""}, "key"),
        (("redis://localhost/0",), {"lock_timeout_s": 0}, "lock_timeout_s"),
    ],
)
def test_bad_arguments_are_refused_naming_them(
    arguments: tuple[str], options: dict[str, object], match: str
) -> None:
    with pytest.raises(ParameterError, match=match) as caught:
        RedisTokenStore(*arguments, **options)  # type: ignore[arg-type]
    assert SECRET not in str(caught.value)


async def test_apps_on_two_hosts_sharing_one_key_refresh_once_across_an_expiry(
    redis_url: str, namespace: str
) -> None:
    now = [1_800_000_000.0]
    lifetime = 3_600.0

    def clock() -> float:
        return now[0]

    async with AsyncExitStack() as stack:
        emu = await stack.enter_async_context(
            LeadwayEmulator(conversations=10, clock=clock, token_lifetime_s=lifetime, latency_ms=30)
        )
        clients = []
        for _ in range(2):  # each host: its own store, app, throttle and client
            store = RedisTokenStore(redis_url, key=f"{namespace}:oauth")
            stack.push_async_callback(store.aclose)
            app = OAuthApp(emu.client_id, emu.client_secret, store, base_url=emu.url, clock=clock)
            throttle = await stack.enter_async_context(
                RedisThrottle(redis_url, namespace=namespace)
            )
            clients.append(
                await stack.enter_async_context(
                    LeadwayClient(auth=app, base_url=emu.url, throttle=throttle)
                )
            )
        code = emu.authorization_code("Location")
        await app.exchange_code(code, redirect_uri="https://example.com/callback")
        for client in clients:  # the window is learned, each host has read the tokens
            await client.search(location_id=emu.location_id)
        now[0] += lifetime - 1  # every task on both hosts finds the token due
        pages = await asyncio.gather(
            *(c.search(location_id=emu.location_id) for _ in range(10) for c in clients)
        )
    assert [page.total for page in pages] == [10] * 20
    assert emu.oauth_requests["refresh_token"] == 1
    assert emu.count_429 == 0
