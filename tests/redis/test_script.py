"""The Lua scripts' arithmetic against a real redis-server: places reserved until the window
is full, release times, places for unseen spenders, pauses, the daily stop, lapses and
expiry, each read back from Redis itself."""

from __future__ import annotations

import asyncio

import pytest
from redis_helpers import answer, need_redis, redis_now

need_redis()

from redis.asyncio import Redis  # noqa: E402

from leadway_async.redis.script import (  # noqa: E402
    DAILY,
    GRANTED,
    UNKNOWN,
    WAIT,
    ThrottleScripts,
    location_keys,
)

LOCATION = "loc-1"
SPAN_US = 1_005_000  # a window of 1000 ms plus the least margin, 5 ms
DONE, FLIGHT, OTHERS, WINDOW, PAUSE, DAILY_KEY = 1, 0, 2, 3, 4, 5


def scripts(client: Redis, **options: float) -> ThrottleScripts:
    settings: dict[str, float] = {
        "margin_ratio": 0.001,
        "margin_min_s": 0.005,
        "request_limit_s": 30.0,
        "history_s": 31.0,
        "window_ttl_s": 3600.0,
    }
    settings.update(options)
    return ThrottleScripts(client, **settings)  # type: ignore[arg-type]


async def learn_window(s: ThrottleScripts, keys: list[str], size: int = 3) -> None:
    """One probe answered with a window of `size` per 1000 ms."""
    probe = await s.reserve(keys)
    assert probe.code == GRANTED
    await s.finish(
        keys,
        ticket=probe.ticket,
        sent=probe.now,
        **answer(max_requests=size, interval_ms=1000, remaining=size - 1),
    )


async def test_one_probe_until_the_window_is_known_then_places_until_it_is_full(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, LOCATION)
    probe = await s.reserve(keys)
    assert (probe.code, probe.size, probe.held) == (GRANTED, None, 1)
    waiting = await s.reserve(keys)  # the window is unknown and the probe is out
    assert (waiting.code, waiting.value) == (UNKNOWN, 0)

    finished = await s.finish(
        keys, ticket=probe.ticket, sent=probe.now, **answer(max_requests=3, interval_ms=1000)
    )
    assert (finished.size, finished.interval_ms, finished.held) == (3, 1000, 1)
    assert await redis_client.hgetall(keys[WINDOW]) == {b"max": b"3", b"interval_ms": b"1000"}

    first, second = await s.reserve(keys), await s.reserve(keys)
    assert (first.code, first.held, second.code, second.held) == (GRANTED, 2, GRANTED, 3)
    assert await redis_client.zcard(keys[FLIGHT]) == 2
    full = await s.reserve(keys)
    # Full: the next place frees when the probe's place is released.
    release = await redis_client.zscore(keys[DONE], f"d{probe.ticket}")
    assert release is not None
    assert full.code == WAIT
    assert full.value == pytest.approx(release - full.now, abs=1)


async def test_a_place_is_held_one_window_plus_the_margin_after_its_answer(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, LOCATION)
    await learn_window(s, keys)
    granted = await s.reserve(keys)
    before = await redis_now(redis_client)
    await s.finish(keys, ticket=granted.ticket, sent=granted.now, **answer())
    after = await redis_now(redis_client)
    release = await redis_client.zscore(keys[DONE], f"d{granted.ticket}")
    assert release is not None
    assert before + SPAN_US <= release <= after + SPAN_US
    assert await redis_client.zscore(keys[FLIGHT], granted.ticket) is None


async def test_all_places_in_flight_answers_unknown_and_a_place_in_flight_lapses(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client, request_limit_s=0.2), location_keys(namespace, LOCATION)
    await learn_window(s, keys, size=2)
    await asyncio.sleep(SPAN_US / 1e6)  # the probe's place is released
    lost = [await s.reserve(keys) for _ in range(2)]  # never answered: their process died
    assert [r.code for r in lost] == [GRANTED, GRANTED]
    lapse = await redis_client.zscore(keys[FLIGHT], lost[0].ticket)
    assert lapse == lost[0].now + 200_000 + SPAN_US  # its send, the time limit, one window
    blocked = await s.reserve(keys)
    assert (blocked.code, blocked.held) == (UNKNOWN, 2)
    await asyncio.sleep((lapse - blocked.now) / 1e6 + 0.01)
    assert (await s.reserve(keys)).code == GRANTED


async def test_remaining_below_our_count_holds_places_for_unseen_spenders(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, LOCATION)
    await learn_window(s, keys, size=10)
    ours = [await s.reserve(keys) for _ in range(2)]
    # The server counted 10 - 3 = 7 in its window; ours since the send: the probe's, this
    # one and the other one in flight: 3. So 4 are someone else's.
    before = await redis_now(redis_client)
    await s.finish(keys, ticket=ours[0].ticket, sent=ours[0].now, **answer(remaining=3))
    others = await redis_client.zrange(keys[OTHERS], 0, -1, withscores=True)
    assert len(others) == 4
    assert all(before + SPAN_US <= score <= before + SPAN_US + 100_000 for _, score in others)
    # A later answer accounting for all of them changes nothing...
    await s.finish(keys, ticket=ours[1].ticket, sent=ours[1].now, **answer(remaining=7))
    assert await redis_client.zrange(keys[OTHERS], 0, -1, withscores=True) == others
    # ...and one showing more holds the excess from now, shortening none.
    third = await s.reserve(keys)
    await s.finish(keys, ticket=third.ticket, sent=third.now, **answer(remaining=0))
    assert await redis_client.zcard(keys[OTHERS]) == 10 - 0 - 4
    usage = await s.reserve(keys)
    assert usage.held == 4 + 6  # our four places and the six unseen
    assert usage.code == WAIT


async def test_a_429_pauses_for_retry_after_else_for_the_window(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, LOCATION)
    await learn_window(s, keys, size=100)
    granted = await s.reserve(keys)
    await s.finish(
        keys, ticket=granted.ticket, sent=granted.now, **answer(status=429, retry_after_ms=2500)
    )
    paused = await s.reserve(keys)
    assert paused.code == WAIT
    assert 2_400_000 < paused.value <= 2_500_000
    assert 2400 < await redis_client.pttl(keys[PAUSE]) <= 2500
    # A shorter pause never cuts a longer one short.
    await s.finish(keys, ticket="", sent=0, **answer(status=429, retry_after_ms=100))
    assert (await s.reserve(keys)).value > 2_000_000

    keys = location_keys(namespace, "no-retry-after")
    await learn_window(s, keys, size=100)
    granted = await s.reserve(keys)
    await s.finish(keys, ticket=granted.ticket, sent=granted.now, **answer(status=429))
    assert 900_000 < (await s.reserve(keys)).value <= SPAN_US

    keys = location_keys(namespace, "unknown-window")
    await s.finish(keys, ticket="", sent=0, **answer(status=429))  # nothing says how long
    assert 9_000_000 < (await s.reserve(keys)).value <= 10_000_000


async def test_a_used_up_daily_quota_stops_the_location_until_the_announced_reset(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, LOCATION)
    await learn_window(s, keys, size=100)
    granted = await s.reserve(keys)
    await s.finish(
        keys,
        ticket=granted.ticket,
        sent=granted.now,
        **answer(daily_remaining=0, daily_reset_ms=4000),
    )
    stopped = await s.reserve(keys)
    assert stopped.code == DAILY
    assert 3_900_000 < stopped.value <= 4_000_000
    assert 3900 < await redis_client.pttl(keys[DAILY_KEY]) <= 4000

    keys = location_keys(namespace, "no-reset")
    await s.finish(keys, ticket="", sent=0, **answer(daily_remaining=0, daily_recheck_s=7.0))
    assert 6_900_000 < (await s.reserve(keys)).value <= 7_000_000


async def test_every_key_expires_by_itself(redis_client: Redis, namespace: str) -> None:
    s = scripts(redis_client, request_limit_s=0.1, history_s=0.2, window_ttl_s=0.5)
    keys = location_keys(namespace, LOCATION)
    await learn_window(s, keys, size=4)
    granted, lost = await s.reserve(keys), await s.reserve(keys)  # one never answered
    assert lost.code == GRANTED
    await s.finish(
        keys,
        ticket=granted.ticket,
        sent=granted.now,
        **answer(
            status=429, retry_after_ms=300, remaining=0, daily_remaining=0, daily_reset_ms=400
        ),
    )
    existing = [key for key in keys if await redis_client.exists(key)]
    assert set(existing) == set(keys)  # every kind of key was written
    for key in existing:
        assert 0 < await redis_client.pttl(key) <= 1_500, key
    await asyncio.sleep(1.5)
    assert [key for key in keys if await redis_client.exists(key)] == []


async def test_a_process_back_from_the_fallback_hands_over_what_it_took(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, LOCATION)
    answered = await s.reserve(keys)  # granted by Redis, answered while Redis was away
    assert answered.code == GRANTED
    await redis_client.delete(keys[WINDOW])  # as after a restart: the window is not known
    before = await redis_now(redis_client)
    adopted = await s.adopt(
        keys,
        max_requests=5,
        interval_ms=1000,
        in_flight=2,
        holds_s=[0.5, 0.9],
        finished=[answered.ticket],
    )
    assert before <= adopted.now <= before + 100_000
    assert len(adopted.tickets) == 2
    assert await redis_client.hgetall(keys[WINDOW]) == {b"max": b"5", b"interval_ms": b"1000"}
    flight = dict(await redis_client.zrange(keys[FLIGHT], 0, -1, withscores=True))
    assert set(flight) == {ticket.encode() for ticket in adopted.tickets}  # answered: gone
    assert set(flight.values()) == {adopted.now + 30_000_000 + SPAN_US}
    others = sorted(
        score for _, score in await redis_client.zrange(keys[OTHERS], 0, -1, withscores=True)
    )
    assert others == [adopted.now + 500_000, adopted.now + 900_000]
    full = await s.reserve(keys)
    assert (full.code, full.size, full.held) == (GRANTED, 5, 5)
    assert (await s.reserve(keys)).code == WAIT  # four taken over, one more: the window is full


async def test_keys_carry_the_namespace_and_location_under_one_hash_tag() -> None:
    keys = location_keys("my-app", "ab{c}%")
    assert keys[0] == "leadway-async:{my-app:ab%7Bc%7D%25}:flight"
    assert {key.split("}:")[0] for key in keys} == {"leadway-async:{my-app:ab%7Bc%7D%25"}
