"""Rate limits: the headers on every answer, the burst window (fixed, sliding), the daily budget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from leadway_async.testing import LeadwayEmulator
from leadway_async.testing.ratelimit import RateLimiter

from .conftest import Api, FakeClock, untraced

TOO_MANY = {"statusCode": 429, "message": "Too many requests", "error": "Too Many Requests"}


DAY_S = 86_400


class Clock:
    def __init__(self) -> None:
        self.ms = 0.0
        self.day = 0

    def seconds(self) -> float:
        return self.ms / 1000

    def wall(self) -> float:
        return self.day * DAY_S + 1.0


def limiter(clock: Clock, **options: Any) -> RateLimiter:
    return RateLimiter(clock=clock.seconds, wall_clock=clock.wall, **options)


def allowed_at(limits: RateLimiter, clock: Clock, times: list[float]) -> list[bool]:
    result = []
    for at in times:
        clock.ms = at
        result.append(limits.hit("key").allowed)
    return result


def test_fixed_window_opens_with_the_first_request_and_resets_whole() -> None:
    clock = Clock()
    limits = limiter(clock, max_requests=2, interval_ms=1000, mode="fixed")
    assert allowed_at(limits, clock, [100, 200, 300, 1099, 1100, 1101, 1102]) == [
        True,
        True,
        False,
        False,
        True,  # a new window opened at 1100
        True,
        False,
    ]


def test_sliding_window_frees_each_slot_one_interval_after_its_request() -> None:
    clock = Clock()
    limits = limiter(clock, max_requests=2, interval_ms=1000, mode="sliding")
    assert allowed_at(limits, clock, [0, 600, 700, 1000, 1001, 1599, 1600]) == [
        True,
        True,
        False,
        True,  # the request at 0 left the window
        False,  # the one at 600 is still in it
        False,
        True,
    ]


def test_refused_requests_do_not_count() -> None:
    clock = Clock()
    limits = limiter(clock, max_requests=1, interval_ms=1000, mode="sliding", daily_limit=5)
    assert allowed_at(limits, clock, [0, 10, 20, 30, 1000]) == [True, False, False, False, True]
    assert limits.hit("key").daily_remaining == 3


def test_remaining_counts_down_per_key() -> None:
    clock = Clock()
    limits = limiter(clock, max_requests=3, interval_ms=1000, daily_limit=10)
    quotas = [limits.hit("a") for _ in range(4)]
    assert [q.remaining for q in quotas] == [2, 1, 0, 0]
    assert [q.daily_remaining for q in quotas] == [9, 8, 7, 7]
    assert limits.hit("b").remaining == 2


def test_the_daily_budget_is_final_until_the_next_day() -> None:
    clock = Clock()
    limits = limiter(clock, max_requests=100, interval_ms=10, daily_limit=2)
    assert [limits.hit("k").allowed for _ in range(2)] == [True, True]
    clock.ms = 1_000_000
    refused = limits.hit("k")
    assert (refused.allowed, refused.daily_exhausted, refused.daily_remaining) == (False, True, 0)
    clock.day += 1
    assert limits.hit("k").allowed


def test_the_daily_reset_counts_down_to_utc_midnight_by_the_wall_clock() -> None:
    wall = FakeClock(20_000 * DAY_S + 3600.25)  # 01:00:00.250 UTC
    limits = RateLimiter(daily_limit=3, wall_clock=wall)
    first = limits.hit("k")
    assert first.daily_reset_ms == 82_799_750
    assert first.headers()["X-RateLimit-Daily-Reset"] == "82799750"
    wall.now = 20_001 * DAY_S - 0.0005  # half a millisecond before midnight: rounded up
    assert limits.hit("k").daily_reset_ms == 1
    assert limits.hit("k").daily_remaining == 0
    wall.now = 20_001 * DAY_S  # midnight: a new day, a whole day to go
    fresh = limits.hit("k")
    assert (fresh.allowed, fresh.daily_remaining, fresh.daily_reset_ms) == (True, 2, 86_400_000)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        RateLimiter(mode="leaky")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(max_requests=0)


Start = Callable[..., Any]


@pytest.fixture
async def start(http: aiohttp.ClientSession) -> AsyncIterator[Callable[..., Any]]:
    emulators: list[LeadwayEmulator] = []

    async def make(**options: Any) -> Api:
        emulator = LeadwayEmulator(conversations=30, **options)
        await emulator.start()
        emulators.append(emulator)
        return Api(emulator, http)

    yield make
    for emulator in emulators:
        await emulator.aclose()


async def test_every_answer_carries_the_rate_limit_headers_and_a_trace_id(start: Start) -> None:
    api = await start(rate_limit_max=5, rate_limit_interval_ms=60_000, daily_limit=1000)
    replies = [await api.get() for _ in range(3)]
    assert [r.headers["X-RateLimit-Remaining"] for r in replies] == ["4", "3", "2"]
    assert [r.headers["X-RateLimit-Daily-Remaining"] for r in replies] == ["999", "998", "997"]
    for reply in replies:
        assert reply.headers["X-RateLimit-Limit-Daily"] == "1000"
        assert reply.headers["X-RateLimit-Interval-Milliseconds"] == "60000"
        assert reply.headers["X-RateLimit-Max"] == "5"
        assert 0 < int(reply.headers["X-RateLimit-Daily-Reset"]) <= 86_400_000
        assert "X-Request-Id" not in reply.headers
    assert len({r.body["traceId"] for r in replies}) == 3


async def test_the_daily_reset_header_follows_the_emulators_clock(start: Start) -> None:
    clock = FakeClock(20_000 * DAY_S + 3600.25)
    api = await start(clock=clock, daily_limit=2, retry_after=1)
    first = await api.get()
    assert first.headers["X-RateLimit-Daily-Reset"] == "82799750"
    clock.advance(1.5)
    second = await api.get()
    assert second.headers["X-RateLimit-Daily-Reset"] == "82798250"
    clock.advance(600)
    refused = await api.get()  # the daily budget is spent: the header says how long for
    assert (refused.status, refused.headers["X-RateLimit-Daily-Remaining"]) == (429, "0")
    assert refused.headers["X-RateLimit-Daily-Reset"] == "82198250"
    elsewhere = await api.get({"locationId": "anotherLocation00000"}, location=False)
    assert (elsewhere.status, elsewhere.headers["X-RateLimit-Daily-Reset"]) == (403, "82198250")
    clock.now = 20_001 * DAY_S + 0.001  # just past midnight
    after = await api.get()
    assert after.status == 200
    assert after.headers["X-RateLimit-Daily-Reset"] == "86399999"


@pytest.mark.parametrize("mode", ["fixed", "sliding"])
async def test_the_burst_window_is_enforced_then_clears(mode: str, start: Start) -> None:
    api = await start(rate_limit_max=3, rate_limit_interval_ms=500, rate_limit_mode=mode)
    statuses = [(await api.get()).status for _ in range(3)]
    refused = await api.get()
    assert statuses == [200, 200, 200]
    assert (refused.status, untraced(refused.body)) == (429, TOO_MANY)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in refused.headers
    assert api.emulator.count_429 == 1
    await asyncio.sleep(0.5)
    assert (await api.get()).status == 200


async def test_sliding_and_fixed_windows_differ_as_they_should(start: Start) -> None:
    fixed = await start(rate_limit_max=2, rate_limit_interval_ms=600, rate_limit_mode="fixed")
    sliding = await start(rate_limit_max=2, rate_limit_interval_ms=600, rate_limit_mode="sliding")
    for api in (fixed, sliding):
        assert (await api.get()).status == 200
    await asyncio.sleep(0.3)
    for api in (fixed, sliding):
        assert [(await api.get()).status for _ in range(2)] == [200, 429]
    await asyncio.sleep(0.31)  # the first window closed; the second request is still recent
    assert [(await fixed.get()).status for _ in range(2)] == [200, 200]
    assert [(await sliding.get()).status for _ in range(2)] == [200, 429]


async def test_retry_after_is_sent_on_burst_429s_when_configured(start: Start) -> None:
    whole = await start(rate_limit_max=1, retry_after=2)
    await whole.get()
    assert (await whole.get()).headers["Retry-After"] == "2"
    part = await start(rate_limit_max=1, retry_after=0.25)
    await part.get()
    assert (await part.get()).headers["Retry-After"] == "0.25"


async def test_a_spent_daily_budget_is_429_with_daily_remaining_zero(start: Start) -> None:
    api = await start(daily_limit=2, retry_after=1)
    assert [(await api.get()).status for _ in range(2)] == [200, 200]
    refused = await api.get()
    assert (refused.status, untraced(refused.body)) == (429, TOO_MANY)
    assert refused.headers["X-RateLimit-Daily-Remaining"] == "0"
    assert "Retry-After" not in refused.headers  # waiting seconds will not help
    assert api.emulator.count_429 == 1
    api.emulator.reset_rate_limits()
    assert (await api.get()).status == 200


async def test_limits_are_per_location(start: Start) -> None:
    api = await start(rate_limit_max=1)
    await api.get()
    assert (await api.get()).status == 429
    other = await api.get({"locationId": "anotherLocation00000"}, location=False)
    assert other.status == 403
    assert other.headers["X-RateLimit-Remaining"] == "0"  # its first request: 1 allowed, 1 used
