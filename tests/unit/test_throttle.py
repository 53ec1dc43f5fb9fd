"""The Throttle alone: learned windows, the first-request probe, fairness, daily budget."""

from __future__ import annotations

import asyncio
import logging

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadway_async import APIConnectionError, APITimeoutError, RateLimitError
from leadway_async.middleware import Request, Response, Throttle
from leadway_async.middleware.throttle import SendLog

from .middleware_helpers import REQUEST, FakeClock, response

WINDOW = {"X_RateLimit_Max": 3, "X_RateLimit_Interval_Milliseconds": 1000}


def throttle(clock: FakeClock, **options: float) -> Throttle:
    return Throttle(clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


class RecordingHandler:
    """Answers at once with the given headers, noting the fake time of each request."""

    def __init__(self, clock: FakeClock, status: int = 200, **headers: object) -> None:
        self.clock, self.status, self.headers = clock, status, headers
        self.sent: list[tuple[float, Request]] = []

    async def __call__(self, request: Request) -> Response:
        self.sent.append((self.clock.now, request))
        return response(self.status, request, **self.headers)


@given(
    size=st.integers(min_value=1, max_value=20),
    interval_ms=st.integers(min_value=100, max_value=5000),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=80),
)
def test_no_span_of_one_window_ever_holds_more_than_its_size(
    size: int, interval_ms: int, gaps: list[float]
) -> None:
    log = SendLog(margin_ratio=0.02, margin_min_s=0.025)
    log.learn(size, interval_ms)
    now, sends = 0.0, []
    for gap in gaps:
        now += gap
        now += log.delay(now)  # a request arriving now goes out when allowed
        log.record(now)
        sends.append(now)
    window = interval_ms / 1000
    for start in sends:
        assert sum(1 for t in sends if start <= t < start + window) <= size


def test_a_backlog_fills_each_window_to_its_size() -> None:
    log = SendLog(margin_ratio=0.0, margin_min_s=0.0)
    log.learn(5, 1000)
    now, sends = 0.0, []
    for _ in range(20):
        now += log.delay(now)
        log.record(now)
        sends.append(now)
    assert sends == [float(i // 5) for i in range(20)]


async def test_until_the_first_answer_only_one_request_goes_out() -> None:
    clock = FakeClock()
    gate = asyncio.Event()
    entered: list[Request] = []

    async def handler(request: Request) -> Response:
        entered.append(request)
        await gate.wait()
        return response(200, request, **WINDOW)

    limiter = throttle(clock)
    tasks = [asyncio.create_task(limiter(REQUEST, handler)) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert len(entered) == 1  # the probe; the others wait to learn the window
    gate.set()
    await asyncio.gather(*tasks)
    assert len(entered) == 5


async def test_requests_are_spaced_to_the_learned_window_first_come_first_served() -> None:
    clock = FakeClock()
    handler = RecordingHandler(clock, **WINDOW)
    limiter = throttle(clock, margin_ratio=0.0, margin_min_s=0.0)
    requests = [attrs.evolve(REQUEST, attempt=i) for i in range(10)]
    await asyncio.gather(*(limiter(r, handler) for r in requests))

    order = [r.attempt for _, r in handler.sent]
    times = [t - handler.sent[0][0] for t, _ in handler.sent]
    assert order == list(range(10))  # arrival order
    assert times == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]


async def test_a_429_or_an_empty_window_pauses_for_a_whole_window() -> None:
    clock = FakeClock()
    limiter = throttle(clock, margin_ratio=0.0, margin_min_s=0.0)
    await limiter(REQUEST, RecordingHandler(clock, **WINDOW))
    exhausted = RecordingHandler(clock, 429, X_RateLimit_Remaining=0, **WINDOW)
    await limiter(REQUEST, exhausted)
    started = clock.now
    after = RecordingHandler(clock, **WINDOW)
    await limiter(REQUEST, after)
    assert after.sent[0][0] - started >= 1.0


async def test_a_low_daily_budget_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    low = RecordingHandler(
        clock, X_RateLimit_Limit_Daily=1000, X_RateLimit_Daily_Remaining=40, **WINDOW
    )
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        for _ in range(3):
            await limiter(REQUEST, low)
    warnings = [r for r in caplog.records if "running low" in r.getMessage()]
    assert len(warnings) == 1
    assert "40 of 1000" in warnings[0].getMessage()


async def test_a_used_up_daily_budget_fails_fast_until_it_is_worth_looking_again() -> None:
    clock = FakeClock()
    limiter = throttle(clock, daily_recheck_s=300)
    empty = RecordingHandler(clock, X_RateLimit_Daily_Remaining=0, **WINDOW)
    await limiter(REQUEST, empty)
    with pytest.raises(RateLimitError) as caught:
        await limiter(REQUEST, empty)
    assert caught.value.daily_quota_exhausted
    assert len(empty.sent) == 1  # nothing sent
    clock.now += 301
    await limiter(REQUEST, empty)
    assert len(empty.sent) == 2


async def test_a_used_up_daily_budget_stops_until_the_announced_reset() -> None:
    clock = FakeClock()
    limiter = throttle(clock, daily_recheck_s=300)
    headers = {"X_RateLimit_Daily_Remaining": 0, "X_RateLimit_Daily_Reset": 7_200_000}
    empty = RecordingHandler(clock, **headers, **WINDOW)
    await limiter(REQUEST, empty)
    clock.now += 3_600
    with pytest.raises(RateLimitError, match=r"resets in 1 h 00 min \(at ") as caught:
        await limiter(REQUEST, empty)
    assert caught.value.retry_after == pytest.approx(3_600)
    assert len(empty.sent) == 1
    clock.now += 3_599
    with pytest.raises(RateLimitError):
        await limiter(REQUEST, empty)
    clock.now += 2
    await limiter(REQUEST, empty)
    assert len(empty.sent) == 2


async def test_a_probe_that_fails_hands_the_probe_to_the_next_request() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    calls = 0

    async def flaky(request: Request) -> Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise APIConnectionError("reset")
        return response(200, request, **WINDOW)

    results = await asyncio.gather(
        limiter(REQUEST, flaky), limiter(REQUEST, flaky), return_exceptions=True
    )
    assert isinstance(results[0], APIConnectionError)
    assert isinstance(results[1], Response)


async def test_without_rate_limit_headers_nothing_is_held_back() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    handler = RecordingHandler(clock)
    await asyncio.gather(*(limiter(REQUEST, handler) for _ in range(50)))
    assert clock.sleeps == []
    assert len(handler.sent) == 50


async def test_each_location_has_its_own_budget() -> None:
    clock = FakeClock()
    limiter = throttle(clock, margin_ratio=0.0, margin_min_s=0.0)
    one = {"X_RateLimit_Max": 1, "X_RateLimit_Interval_Milliseconds": 1000}
    other = attrs.evolve(REQUEST, params=(("locationId", "L2"),))
    handler = RecordingHandler(clock, **one)
    for request in (REQUEST, other, REQUEST, other):
        await limiter(request, handler)
    times = [t for t, _ in handler.sent]
    assert times[1] == times[0]  # L2's first request did not wait for L1's window
    assert times[2] - times[0] >= 1.0


async def test_a_wait_past_the_calls_deadline_fails_at_once_instead_of_sleeping() -> None:
    clock = FakeClock()
    limiter = throttle(clock, margin_ratio=0, margin_min_s=0)
    handler = RecordingHandler(clock, **WINDOW)
    for _ in range(3):
        await limiter(REQUEST, handler)
    late = attrs.evolve(REQUEST, deadline=clock.now + 0.5)  # the window reopens in 1 s
    with pytest.raises(APITimeoutError, match="deadline passes before the rate limit allows"):
        await limiter(late, handler)
    assert clock.sleeps == []
    assert len(handler.sent) == 3
    in_time = attrs.evolve(REQUEST, deadline=clock.now + 1.5)
    await limiter(in_time, handler)
    assert clock.sleeps == [pytest.approx(1.0)]
    assert len(handler.sent) == 4
