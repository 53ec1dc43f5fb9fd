"""More of the Lua scripts' rules against a real redis-server, each found missing by the Lua
mutation tester (tests/mutation/lua.py): what is counted as held and when it stops being
counted, the window learned from answers, pauses and the daily stop, what a process hands
over after an outage, and how long each key lives (until the last moment it records, to
Redis's millisecond, and not much longer)."""

from __future__ import annotations

import asyncio
from typing import cast

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

FLIGHT, DONE, OTHERS, WINDOW, PAUSE, DAILY_KEY, SEQ = range(7)
# A least margin of 5.5 ms makes each span end mid-millisecond, where rounding shows.
MARGIN_US = 5_500
SPAN_US = 1_000_000 + MARGIN_US  # a window of 1000 ms plus the least margin
SHORT_SPAN_US = 100_000 + MARGIN_US  # a window of 100 ms
LIMIT_US = 100_000_000  # the request time limit, 100 s
HISTORY_US = 101_000_000
WINDOW_TTL_MS = 3_600_000
SLACK_MS = 50  # Redis's clock moving on between a script's TIME and its PEXPIRE


def scripts(client: Redis, **options: float) -> ThrottleScripts:
    settings: dict[str, float] = {
        "margin_ratio": 0.001,
        "margin_min_s": MARGIN_US / 1e6,
        "request_limit_s": LIMIT_US / 1e6,
        "history_s": HISTORY_US / 1e6,
        "window_ttl_s": WINDOW_TTL_MS / 1000,
    }
    settings.update(options)
    return ThrottleScripts(client, **settings)


async def learn_window(
    s: ThrottleScripts, keys: list[str], size: int = 3, interval_ms: int = 1000
) -> None:
    """One probe answered with a window of `size` per `interval_ms`."""
    probe = await s.reserve(keys)
    assert probe.code == GRANTED
    await s.finish(
        keys,
        ticket=probe.ticket,
        sent=probe.now,
        **answer(max_requests=size, interval_ms=interval_ms),
    )


async def last_release(client: Redis, key: str) -> float:
    """The latest score of a sorted set: when its last place is released (or lapses)."""
    scores = cast(list[tuple[bytes, float]], await client.zrange(key, 0, -1, withscores=True))
    return max(score for _, score in scores)


async def assert_lives_until(
    client: Redis, key: str, moment_us: float, *, longer_ms: int = 0
) -> None:
    """`key` lives until `moment_us` (to Redis's millisecond: it may vanish within the
    millisecond `moment_us` falls in, not before) and about `longer_ms` more, no longer."""
    expires_ms = await client.pexpiretime(key)
    assert expires_ms >= 0, f"{key} does not expire ({expires_ms})"
    earliest = int(moment_us // 1000) + longer_ms
    assert earliest <= expires_ms <= earliest + 2 + SLACK_MS, (key, expires_ms - earliest)


# --- what is held, and until when ------------------------------------------------------


async def test_a_lost_place_stops_counting_when_it_lapses_though_later_ones_are_out(
    redis_client: Redis, namespace: str
) -> None:
    s = scripts(redis_client, request_limit_s=0.2)
    keys = location_keys(namespace, "loc")
    await learn_window(s, keys, size=5, interval_ms=100)
    lost = await s.reserve(keys)  # never answered: its process died
    await asyncio.sleep(0.15)
    out = await s.reserve(keys)  # still out when the lost one lapses
    assert (lost.code, out.code, out.held) == (GRANTED, GRANTED, 2)
    lapse = lost.now + 200_000 + SHORT_SPAN_US
    await asyncio.sleep((lapse - await redis_now(redis_client)) / 1e6 + 0.01)
    after = await s.reserve(keys)
    assert (after.code, after.held) == (GRANTED, 2)  # the one out and this one


async def test_a_probe_lapses_the_time_limit_after_its_send(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    probe = await s.reserve(keys)  # no window known: nothing is added to the time limit
    assert await redis_client.zscore(keys[FLIGHT], probe.ticket) == probe.now + LIMIT_US


async def test_places_of_unseen_spenders_free_each_at_its_own_time(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await s.adopt(keys, max_requests=10, interval_ms=1000, in_flight=0, holds_s=[0.2, 2.0])
    granted = await s.reserve(keys)
    assert (granted.code, granted.held) == (GRANTED, 3)
    await asyncio.sleep(0.3)  # the first unseen place is released
    finished = await s.finish(keys, ticket=granted.ticket, sent=granted.now, **answer())
    assert finished.held == 2  # the other unseen place and this answer's
    assert (await s.reserve(keys)).held == 3


async def test_a_place_released_before_a_send_is_not_one_the_server_counted_for_it(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await learn_window(s, keys, size=10, interval_ms=100)
    early = await s.reserve(keys)
    await s.finish(keys, ticket=early.ticket, sent=early.now, **answer())
    await asyncio.sleep(0.15)  # the probe's and that answer's places are released
    late = await s.reserve(keys)
    # The server counted 2 in its window: this request and one of someone else's.
    finished = await s.finish(keys, ticket=late.ticket, sent=late.now, **answer(remaining=8))
    assert finished.held == 2
    assert await redis_client.zcard(keys[OTHERS]) == 1


async def test_answers_released_longer_ago_than_the_history_are_not_counted_as_ours(
    redis_client: Redis, namespace: str
) -> None:
    s = scripts(redis_client, history_s=0.05)
    keys = location_keys(namespace, "loc")
    await learn_window(s, keys, size=10)  # the probe's place: released after one span
    await asyncio.sleep(0.5)
    recent = await s.reserve(keys)
    await s.finish(keys, ticket=recent.ticket, sent=recent.now, **answer())
    await asyncio.sleep(SPAN_US / 1e6 + 0.05 - 0.5 + 0.02)  # the probe's: past the history
    # A place taken while Redis was away (no ticket, send time not known): the server
    # counted 4; ours are the recent answer and this one, so two are someone else's.
    await s.finish(keys, ticket="", sent=0, **answer(remaining=6))
    assert await redis_client.zcard(keys[OTHERS]) == 2


async def test_places_redis_never_granted_each_hold_a_place(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await learn_window(s, keys, size=10)
    for held in (2, 3, 4):  # the probe's, then one more for each
        assert (await s.finish(keys, ticket="", sent=0, **answer())).held == held


async def test_every_unseen_spender_counts_once(redis_client: Redis, namespace: str) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await learn_window(s, keys, size=20)
    sent = await redis_now(redis_client)
    # Ours since the send: the probe's place and this one; the server counted 6.
    await s.finish(keys, ticket="", sent=sent, **answer(remaining=14))
    assert await redis_client.zcard(keys[OTHERS]) == 4
    # Ours: three; the server counted 5: two of the four are held on from now.
    finished = await s.finish(keys, ticket="", sent=sent, **answer(remaining=15))
    assert finished.held == 3 + 4
    assert await redis_client.zcard(keys[OTHERS]) == 4


async def test_every_unseen_spender_counts_once_when_the_window_shortens(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    probe = await s.reserve(keys)
    # 10 per 10 s; the server counted 6: the probe and five unseen, held 10 s.
    await s.finish(
        keys,
        ticket=probe.ticket,
        sent=probe.now,
        **answer(max_requests=10, interval_ms=10_000, remaining=4),
    )
    first, second = await s.reserve(keys), await s.reserve(keys)
    # Now 10 per second. Ours since the first's send: the probe, the first, the second
    # (out): the server counted 4, so one unseen is held on from now (one span).
    shorter = answer(max_requests=10, interval_ms=1000)
    await s.finish(keys, ticket=first.ticket, sent=first.now, **{**shorter, "remaining": 6})
    # Ours since the second's send: 3; the server counted 5: two more held from now.
    finished = await s.finish(
        keys, ticket=second.ticket, sent=second.now, **{**shorter, "remaining": 5}
    )
    assert await redis_client.zcard(keys[OTHERS]) == 5
    assert finished.held == 3 + 5


async def test_a_full_window_waits_for_the_release_that_frees_a_place_whatever_its_kind(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    # An answer (held one span) with a window of 2, then five unseen places released
    # 0.1 to 0.5 s from now: 6 held, so the fifth release frees the first place.
    await s.finish(keys, ticket="", sent=0, **answer(max_requests=2, interval_ms=1000))
    holds = [0.1, 0.2, 0.3, 0.4, 0.5]
    adopted = await s.adopt(keys, max_requests=2, interval_ms=1000, in_flight=0, holds_s=holds)
    full = await s.reserve(keys)
    assert (full.code, full.held) == (WAIT, 6)
    assert full.value == adopted.now + 500_000 - full.now


async def test_answers_to_a_refused_or_granted_place_say_no_ticket_and_no_wait(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    probe = await s.reserve(keys)
    assert (probe.code, probe.value) == (GRANTED, 0)
    refused = await s.reserve(keys)
    assert (refused.code, refused.ticket) == (UNKNOWN, "")


# --- the window, learned from answers --------------------------------------------------


async def test_an_answer_without_the_headers_means_no_limit_unless_one_is_known(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "free")
    probe = await s.reserve(keys)
    finished = await s.finish(keys, ticket=probe.ticket, sent=probe.now, **answer())
    assert (finished.size, finished.interval_ms, finished.held) == (0, 0, 0)
    places = [await s.reserve(keys) for _ in range(5)]
    assert [(p.code, p.size, p.held) for p in places] == [(GRANTED, 0, n) for n in range(1, 6)]
    for place in places:
        finished = await s.finish(keys, ticket=place.ticket, sent=place.now, **answer())
    assert finished.held == 0  # without a limit, no place is held after its answer

    keys = location_keys(namespace, "limited")
    await learn_window(s, keys, size=3)
    granted = await s.reserve(keys)
    finished = await s.finish(keys, ticket=granted.ticket, sent=granted.now, **answer())
    assert (finished.size, finished.interval_ms) == (3, 1000)


async def test_an_announced_max_of_zero_or_one_is_a_window_of_one(
    redis_client: Redis, namespace: str
) -> None:
    s = scripts(redis_client)
    for announced in (0, 1):
        keys = location_keys(namespace, f"max-{announced}")
        finished = await s.finish(
            keys, ticket="", sent=0, **answer(max_requests=announced, interval_ms=1000)
        )
        assert (finished.size, finished.interval_ms, finished.held) == (1, 1000, 1)
        assert (await s.reserve(keys)).code == WAIT


async def test_a_window_of_zero_ms_holds_places_for_the_margin_only(
    redis_client: Redis, namespace: str
) -> None:
    s = scripts(redis_client, margin_min_s=0.5)
    keys = location_keys(namespace, "loc")
    finished = await s.finish(keys, ticket="", sent=0, **answer(max_requests=1, interval_ms=0))
    assert (finished.size, finished.interval_ms) == (1, 0)
    full = await s.reserve(keys)
    assert full.code == WAIT
    assert 0 < full.value <= 500_000


async def test_a_max_without_an_interval_announces_no_window(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    finished = await s.finish(keys, ticket="", sent=0, **answer(max_requests=5))
    assert (finished.size, finished.interval_ms) == (0, 0)


async def test_a_request_that_got_no_answer_leaves_the_window_unknown(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    probe = await s.reserve(keys)
    finished = await s.finish(keys, ticket=probe.ticket, sent=probe.now, **answer(status=0))
    assert (finished.size, finished.interval_ms, finished.held) == (None, None, 0)
    again = await s.reserve(keys)  # another probe, and only one
    assert (again.code, again.size) == (GRANTED, None)
    assert (await s.reserve(keys)).code == UNKNOWN


# --- pauses and the daily stop ---------------------------------------------------------


async def test_a_429_with_retry_after_zero_does_not_pause(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await learn_window(s, keys, size=100)
    await s.finish(keys, ticket="", sent=0, **answer(status=429, retry_after_ms=0))
    assert (await s.reserve(keys)).code == GRANTED


async def test_a_longer_pause_replaces_a_shorter_one(redis_client: Redis, namespace: str) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await learn_window(s, keys, size=100)
    await s.finish(keys, ticket="", sent=0, **answer(status=429, retry_after_ms=100))
    await s.finish(keys, ticket="", sent=0, **answer(status=429, retry_after_ms=2500))
    paused = await s.reserve(keys)
    assert (paused.code, paused.value > 2_400_000) == (WAIT, True)


async def test_a_429_without_retry_after_at_a_window_of_one_pauses_one_span(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await s.adopt(keys, max_requests=1, interval_ms=1000, in_flight=0, holds_s=[])
    before = await redis_now(redis_client)
    await s.finish(keys, ticket="", sent=0, **answer(status=429))
    paused = await s.reserve(keys)
    assert paused.code == WAIT
    assert paused.now + paused.value - before <= SPAN_US + 50_000  # not the 10 s default


async def test_a_daily_reset_of_zero_stops_the_location_for_one_millisecond(
    redis_client: Redis, namespace: str
) -> None:
    s = scripts(redis_client)
    for n in range(10):
        keys = location_keys(namespace, f"loc-{n}")
        await s.finish(keys, ticket="", sent=0, **answer(daily_remaining=0, daily_reset_ms=0))
        after = await redis_now(redis_client)
        ends = await redis_client.pexpiretime(keys[DAILY_KEY])  # -2: already gone
        assert ends == -2 or 0 <= ends <= after // 1000 + 1
        stopped = await s.reserve(keys)
        assert stopped.code == GRANTED or (stopped.code, stopped.value <= 1000) == (DAILY, True)


# --- what a process hands over after an outage -----------------------------------------


async def test_handing_over_keeps_the_window_redis_knows_and_invents_none(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "known")
    await learn_window(s, keys, size=3)
    await s.adopt(keys, max_requests=10, interval_ms=500, in_flight=0, holds_s=[])
    assert (await s.reserve(keys)).size == 3

    keys = location_keys(namespace, "unknown")
    await s.adopt(keys, max_requests=None, interval_ms=None, in_flight=0, holds_s=[])
    assert (await s.reserve(keys)).size is None


async def test_handing_over_one_place_leaves_the_places_of_other_processes_in_flight(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    out = await s.reserve(keys)  # another process's probe, still out: ticket 1
    assert out.ticket == "1"
    await s.adopt(keys, max_requests=10, interval_ms=1000, in_flight=0, holds_s=[0.5])
    assert (await s.reserve(keys)).held == 3  # the one out, the one handed over, this one


async def test_every_place_handed_over_by_several_processes_counts(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    for count in (4, 2, 4):
        await s.adopt(keys, max_requests=20, interval_ms=1000, in_flight=0, holds_s=[1.0] * count)
    assert (await s.reserve(keys)).held == 10 + 1


# --- how long each key lives -----------------------------------------------------------


async def test_reserving_keeps_the_places_and_the_counter_as_long_as_a_place_can_last(
    redis_client: Redis, namespace: str
) -> None:
    s = scripts(redis_client)
    for n in range(20):
        keys = location_keys(namespace, f"loc-{n}")
        probe = await s.reserve(keys)  # no window known yet: no span
        await assert_lives_until(redis_client, keys[FLIGHT], probe.now + LIMIT_US)
        await assert_lives_until(
            redis_client, keys[SEQ], probe.now + LIMIT_US + HISTORY_US, longer_ms=100
        )
        await s.finish(
            keys, ticket=probe.ticket, sent=probe.now, **answer(max_requests=5, interval_ms=1000)
        )
        await asyncio.sleep(0.005)  # so that the counter's time from that answer falls short
        granted = await s.reserve(keys)
        lapse = granted.now + LIMIT_US + SPAN_US
        await assert_lives_until(redis_client, keys[FLIGHT], lapse)
        await assert_lives_until(redis_client, keys[SEQ], lapse + HISTORY_US, longer_ms=100)


async def test_finishing_keeps_each_key_as_long_as_what_it_records(
    redis_client: Redis, namespace: str
) -> None:
    s = scripts(redis_client)
    for n in range(20):
        keys = location_keys(namespace, f"loc-{n}")
        before = await redis_now(redis_client)
        # Learned from a place Redis never granted: the counter starts here.
        await s.finish(keys, ticket="", sent=0, **answer(max_requests=10, interval_ms=1000))
        window_ttl = await redis_client.pexpiretime(keys[WINDOW])
        assert before // 1000 + WINDOW_TTL_MS <= window_ttl <= before // 1000 + WINDOW_TTL_MS + 50
        await assert_lives_until(
            redis_client, keys[SEQ], before + LIMIT_US + SPAN_US + HISTORY_US, longer_ms=100
        )
        granted = await s.reserve(keys)
        await s.finish(
            keys, ticket=granted.ticket, sent=granted.now, **answer(status=429, remaining=5)
        )
        release = await last_release(redis_client, keys[DONE])  # the answer's + one span
        await assert_lives_until(redis_client, keys[DONE], release + HISTORY_US)
        assert await redis_client.zcard(keys[OTHERS]) == 3  # the server counted 5; ours: 2
        await assert_lives_until(
            redis_client, keys[OTHERS], await last_release(redis_client, keys[OTHERS])
        )
        pause_ends = int(cast(bytes, await redis_client.get(keys[PAUSE])))
        assert pause_ends == release  # no Retry-After: one span
        await assert_lives_until(redis_client, keys[PAUSE], pause_ends)
        await assert_lives_until(  # a ticket drawn at the answer: out, answered, history
            redis_client,
            keys[SEQ],
            release + LIMIT_US + HISTORY_US,
            longer_ms=100,
        )


async def test_a_pause_of_retry_after_lives_as_long_as_the_pause(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await learn_window(s, keys, size=100)
    await s.finish(keys, ticket="", sent=0, **answer(status=429, retry_after_ms=2500))
    paused = await s.reserve(keys)
    await assert_lives_until(redis_client, keys[PAUSE], paused.now + paused.value)


async def test_an_answer_without_the_headers_keeps_its_no_limit_for_the_window_time_to_live(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    before = await redis_now(redis_client)
    await s.finish(keys, ticket="", sent=0, **answer())
    expires = await redis_client.pexpiretime(keys[WINDOW])
    assert before // 1000 + WINDOW_TTL_MS <= expires <= before // 1000 + WINDOW_TTL_MS + 50


async def test_a_later_answer_showing_no_more_spenders_does_not_prolong_their_places(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await learn_window(s, keys, size=10)
    sent = await redis_now(redis_client)
    await s.finish(keys, ticket="", sent=sent, **answer(remaining=6))  # two unseen
    release = await last_release(redis_client, keys[OTHERS])
    await asyncio.sleep(0.1)
    await s.finish(keys, ticket="", sent=sent, **answer(remaining=7))  # none but ours
    await assert_lives_until(redis_client, keys[OTHERS], release)


async def test_handing_over_keeps_each_key_as_long_as_what_it_records(
    redis_client: Redis, namespace: str
) -> None:
    s = scripts(redis_client)
    for n in range(20):
        keys = location_keys(namespace, f"loc-{n}")
        adopted = await s.adopt(
            keys, max_requests=10, interval_ms=1000, in_flight=1, holds_s=[0.2, 0.7005]
        )
        assert len(adopted.tickets) == 1
        window_ttl = await redis_client.pexpiretime(keys[WINDOW])
        assert (
            adopted.now // 1000 + WINDOW_TTL_MS
            <= window_ttl
            <= adopted.now // 1000 + WINDOW_TTL_MS + 50
        )
        lapse = adopted.now + LIMIT_US + SPAN_US
        await assert_lives_until(redis_client, keys[FLIGHT], lapse)
        await assert_lives_until(redis_client, keys[OTHERS], adopted.now + 700_500)
        await assert_lives_until(redis_client, keys[SEQ], lapse + HISTORY_US, longer_ms=100)


async def test_handing_over_no_place_in_flight_leaves_the_places_in_flight_alone(
    redis_client: Redis, namespace: str
) -> None:
    s, keys = scripts(redis_client), location_keys(namespace, "loc")
    await learn_window(s, keys, size=10)
    out = await s.reserve(keys)
    await asyncio.sleep(0.1)
    await s.adopt(keys, max_requests=10, interval_ms=1000, in_flight=0, holds_s=[0.3])
    await assert_lives_until(redis_client, keys[FLIGHT], out.now + LIMIT_US + SPAN_US)
