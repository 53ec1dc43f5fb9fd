"""What a RedisThrottle refuses at construction, and the errors of a Redis that refuses it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis_helpers import need_redis

need_redis()

from redis.asyncio import Redis  # noqa: E402

from leadway_async import LeadwayClient, ParameterError  # noqa: E402
from leadway_async.redis import RedisThrottle, RedisThrottleError  # noqa: E402
from leadway_async.redis.local_server import LocalRedisServer  # noqa: E402
from leadway_async.redis.script import location_keys  # noqa: E402
from leadway_async.testing import LeadwayEmulator  # noqa: E402

SECRET = "s3cret-pa55"


@pytest.mark.parametrize(
    "url",
    [
        "localhost:6379",
        "http://localhost:6379/0",
        f"redis://:{SECRET}@localhost:notaport/0",
        f"redis://:{SECRET}@/0",
        "redis://localhost:6379/zero",
        "redis://localhost:99999/0",
        "redis://localhost:6379/0?socket_timeout=soon",
        "unix://",
        "",
    ],
)
def test_a_malformed_url_is_refused_naming_the_parameter_and_hiding_the_password(url: str) -> None:
    with pytest.raises(ParameterError, match="url_or_client") as caught:
        RedisThrottle(url)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("namespace", ""),
        ("namespace", "a{b}"),
        ("namespace", "two words"),
        ("fallback_share", 0),
        ("fallback_share", 1.5),
        ("fallback_share", True),
        ("probe_interval_s", 0),
        ("redis_timeout_s", -1),
        ("request_timeout_s", "30"),
        ("poll_s", 0),
    ],
)
def test_a_bad_option_is_refused_naming_it(option: str, value: object) -> None:
    with pytest.raises(ParameterError, match=option):
        RedisThrottle("redis://localhost:6379/0", **{option: value})  # type: ignore[arg-type]


def test_something_else_than_a_url_or_client_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="url_or_client"):
        RedisThrottle(6379)  # type: ignore[arg-type]


def test_the_repr_shows_no_password() -> None:
    throttle = RedisThrottle(f"redis://user:{SECRET}@localhost:6379/0?password={SECRET}")
    assert SECRET not in repr(throttle)
    assert "localhost:6379" in repr(throttle)


@pytest.mark.parametrize("credentials", ["", ":wrong-password@"])
async def test_refused_credentials_are_an_error_and_nothing_is_sent(
    own_redis_server: Callable[..., LocalRedisServer], namespace: str, credentials: str
) -> None:
    server = own_redis_server(password=SECRET)
    url = f"redis://{credentials}127.0.0.1:{server.port}/0"
    async with (
        LeadwayEmulator(conversations=20) as emu,
        RedisThrottle(url, namespace=namespace) as throttle,
        LeadwayClient(
            emu.token, location_id=emu.location_id, base_url=emu.url, throttle=throttle
        ) as client,
    ):
        with pytest.raises(RedisThrottleError, match="credentials"):
            await client.search(limit=1)
        assert emu.request_count == 0
        assert throttle.shared  # no fallback: a refusal is not an outage


@pytest.mark.parametrize(
    ("part", "value"), [("window", "list"), ("pause", "not a moment"), ("flight", "string")]
)
async def test_a_key_of_the_namespace_holding_something_else_is_an_error(
    redis_url: str, redis_client: Redis, namespace: str, part: str, value: str
) -> None:
    async with LeadwayEmulator(conversations=20) as emu:
        keys = dict(
            zip(
                ("flight", "done", "others", "window", "pause", "daily", "seq"),
                location_keys(namespace, emu.location_id),
                strict=True,
            )
        )
        if value == "list":
            await redis_client.rpush(keys[part], "someone else's")
        else:
            await redis_client.set(keys[part], value)
        async with (
            RedisThrottle(redis_url, namespace=namespace) as throttle,
            LeadwayClient(
                emu.token, location_id=emu.location_id, base_url=emu.url, throttle=throttle
            ) as client,
        ):
            with pytest.raises(RedisThrottleError, match=f"namespace '{namespace}'"):
                await client.search(limit=1)
        assert emu.request_count == 0
