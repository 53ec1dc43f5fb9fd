"""The Throttle alone: the window rule, other spenders, the probe, fairness, daily budget."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import selectors
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadway_async import APIConnectionError, APITimeoutError, RateLimitError
from leadway_async.middleware import Request, Response, Throttle
from leadway_async.middleware.throttle import SendLog

from .middleware_helpers import REQUEST, FakeClock, response

T = TypeVar("T")
WINDOW = {"X_RateLimit_Max": 3, "X_RateLimit_Interval_Milliseconds": 1000}


def throttle(clock: FakeClock, **options: float) -> Throttle:
    return Throttle(clock=clock, sleep=clock.sleep, **options)


class RecordingHandler:
    """Answers at once with the given headers, noting the fake time of each request."""

    def __init__(self, clock: FakeClock, status: int = 200, **headers: object) -> None:
        self.clock, self.status, self.headers = clock, status, headers
        self.sent: list[tuple[float, Request]] = []

    async def __call__(self, request: Request) -> Response:
        self.sent.append((self.clock.now, request))
        return response(self.status, request, **self.headers)


class _JumpingSelector(selectors.DefaultSelector):
    """Never blocks: a wait for the next timer moves the loop's clock to it instead."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if not events:
            if timeout is None:
                raise RuntimeError("every task waits and no timer is set: a deadlock")
            self._loop.now += timeout
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on simulated time, which jumps ahead whenever every task waits."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self.now


def in_virtual_time(main: Callable[[VirtualTimeLoop], Awaitable[T]]) -> T:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        loop.close()


class Server:
    """The API's side: counts each request when it arrives, in a sliding or fixed window.

    `others` are arrival times of another spender's requests; `overruns` counts the
    requests that arrived with the window already full (the real API answers those 429).
    """

    def __init__(
        self, size: int, interval_ms: int, mode: str = "sliding", others: tuple[float, ...] = ()
    ) -> None:
        self.size, self.window, self.mode = size, interval_ms / 1000, mode
        self.headers = {"X_RateLimit_Max": size, "X_RateLimit_Interval_Milliseconds": interval_ms}
        self.arrivals = sorted(others)
        self.window_start = float("-inf")
        self.window_count = 0
        self.overruns = 0

    def arrive(self, now: float) -> int:
        """Count a request arriving at `now`; returns `X-RateLimit-Remaining`."""
        self.arrivals.append(now)
        if self.mode == "fixed":
            if now - self.window_start >= self.window:
                self.window_start, self.window_count = now, 0
            self.window_count += 1
            used = self.window_count
        else:
            used = sum(1 for t in self.arrivals if now - self.window < t <= now)
        self.overruns += used > self.size
        return max(0, self.size - used)

    def answer(self, request: Request, remaining: int) -> Response:
        return response(200, request, X_RateLimit_Remaining=remaining, **self.headers)


def busiest_window(times: list[float], window: float) -> int:
    """The most of `times` inside any half-open span of one window."""
    return max((sum(1 for t in times if start <= t < start + window) for start in times), default=0)


trip = st.tuples(
    st.floats(min_value=0, max_value=1),  # gap before the request, in windows
    st.floats(min_value=0, max_value=1.5),  # round trip, in windows
    st.floats(min_value=0, max_value=1),  # where in the round trip the server counts it
    st.booleans(),  # whether it fails without an answer
)


@settings(deadline=None)
@given(
    size=st.integers(min_value=1, max_value=8),
    interval_ms=st.integers(min_value=100, max_value=5000),
    concurrency=st.integers(min_value=1, max_value=8),
    trips=st.lists(trip, min_size=1, max_size=40),
)
def test_no_span_of_one_window_ever_holds_more_than_its_size_of_arrivals(
    size: int,
    interval_ms: int,
    concurrency: int,
    trips: list[tuple[float, float, float, bool]],
) -> None:
    window = interval_ms / 1000
    server = Server(size, interval_ms)

    async def main(loop: VirtualTimeLoop) -> None:
        limiter = Throttle(clock=loop.time)
        todo = iter(trips)

        async def handler(
            request: Request, *, round_trip: float, at: float, fails: bool
        ) -> Response:
            await asyncio.sleep(round_trip * at)
            remaining = server.arrive(loop.time())
            await asyncio.sleep(round_trip * (1 - at))
            if fails:
                raise APIConnectionError("reset after the server counted it")
            return server.answer(request, remaining)

        async def worker() -> None:
            for gap, round_trip, at, fails in todo:
                await asyncio.sleep(gap * window)
                send = functools.partial(
                    handler, round_trip=round_trip * window, at=at, fails=fails
                )
                with contextlib.suppress(APIConnectionError):
                    await limiter(REQUEST, send)

        # The window is learned first: a probe failing without an answer hands over to
        # the next request at once, as nothing tells how long to wait.
        await limiter(REQUEST, functools.partial(handler, round_trip=0, at=0, fails=False))
        await asyncio.gather(*(worker() for _ in range(concurrency)))

    in_virtual_time(main)
    assert len(server.arrivals) == len(trips) + 1
    assert busiest_window(server.arrivals, window) <= size  # spans closed on the left
    assert server.overruns == 0  # and on the right, as the server counts


def saturate(
    size: int, interval_ms: int, round_trip: float, tasks: int, mode: str, windows: int = 8
) -> tuple[float, Server]:
    """Tasks sending back to back for `windows` windows; returns the rate kept after the
    first window, as a share of `size / (window + round_trip)`, and the server."""
    window = interval_ms / 1000
    server = Server(size, interval_ms, mode)
    sends: list[float] = []

    async def main(loop: VirtualTimeLoop) -> None:
        limiter = Throttle(clock=loop.time)

        async def handler(request: Request) -> Response:
            sends.append(loop.time())
            await asyncio.sleep(round_trip / 2)
            remaining = server.arrive(loop.time())
            await asyncio.sleep(round_trip / 2)
            return server.answer(request, remaining)

        async def worker() -> None:
            while loop.time() < windows * window:
                await limiter(REQUEST, handler)

        await asyncio.gather(*(worker() for _ in range(tasks)))

    in_virtual_time(main)
    # Each request's place is next taken `size` requests later: the mean of those
    # cycles is the rate, unbiased by where the run starts and ends within a window.
    cycles = [sends[i + size] - sends[i] for i in range(size, len(sends) - size)]
    return (window + round_trip) / (sum(cycles) / len(cycles)), server


@pytest.mark.parametrize("mode", ["sliding", "fixed"])
@pytest.mark.parametrize(
    ("size", "interval_ms", "round_trip", "tasks"),
    [
        (20, 1000, 0.03, 1),  # sequential: 33 a second possible, 20 allowed
        (20, 1000, 0.03, 4),
        (100, 10_000, 0.3, 4),  # the parallel scan against the production window
    ],
)
def test_a_caller_alone_keeps_nearly_all_of_the_allowed_rate(
    size: int, interval_ms: int, round_trip: float, tasks: int, mode: str
) -> None:
    share, server = saturate(size, interval_ms, round_trip, tasks, mode)
    assert share >= 0.95
    assert server.overruns == 0


def test_a_place_is_held_from_its_send_until_one_window_after_its_answer() -> None:
    sends: list[float] = []

    async def main(loop: VirtualTimeLoop) -> None:
        limiter = Throttle(clock=loop.time, margin_ratio=0, margin_min_s=0)
        two = {"X_RateLimit_Max": 2, "X_RateLimit_Interval_Milliseconds": 1000}
        round_trips = iter([0.0, 5.0, 6.0, 0.0])

        async def handler(request: Request) -> Response:
            sends.append(loop.time())
            await asyncio.sleep(next(round_trips))
            return response(200, request, **two)

        await limiter(REQUEST, handler)  # the probe, answered at once at 0
        await asyncio.gather(*(limiter(REQUEST, handler) for _ in range(3)))

    in_virtual_time(main)
    # The third waits for the probe's place, free at 1; the fourth for the place of the
    # one answered at 5, free at 6 (not at 1, one window after its send).
    assert sends == [0.0, 0.0, 1.0, 6.0]


@pytest.mark.parametrize("ending", ["connection error", "cancelled"])
def test_a_request_without_an_answer_holds_its_place_one_window_after_it_ended(
    ending: str,
) -> None:
    sends: list[float] = []

    async def main(loop: VirtualTimeLoop) -> None:
        limiter = Throttle(clock=loop.time, margin_ratio=0, margin_min_s=0)
        one = {"X_RateLimit_Max": 1, "X_RateLimit_Interval_Milliseconds": 1000}

        async def handler(request: Request) -> Response:
            sends.append(loop.time())
            if len(sends) == 2:
                await asyncio.sleep(3)
                raise APIConnectionError("reset")
            return response(200, request, **one)

        await limiter(REQUEST, handler)
        await asyncio.sleep(1)
        stuck = asyncio.create_task(limiter(REQUEST, handler))
        await asyncio.sleep(0)
        if ending == "cancelled":
            loop.call_later(2, stuck.cancel)
        await limiter(REQUEST, handler)
        with pytest.raises((APIConnectionError, asyncio.CancelledError)):
            await stuck

    in_virtual_time(main)
    ended = 4.0 if ending == "connection error" else 3.0
    assert sends == [0.0, 1.0, ended + 1.0]


async def test_other_spenders_shrink_the_window_until_their_requests_leave_it() -> None:
    clock = FakeClock()
    server = Server(10, 1000, others=(clock.now - 0.5,) * 4)  # another client sent 4
    sends: list[float] = []

    async def handler(request: Request) -> Response:
        sends.append(clock.now)
        return server.answer(request, server.arrive(clock.now))

    limiter = throttle(clock)
    for _ in range(16):
        await limiter(REQUEST, handler)
    assert server.overruns == 0
    first_window = sum(1 for t in sends if t < sends[0] + 1)
    assert first_window == 6  # 10 less the 4 the server counted beside ours
    assert sends[6] == pytest.approx(sends[0] + 1.005)  # their places held one window
    assert sends[6:] == [sends[6]] * 10  # then the whole window is ours again


@pytest.mark.parametrize(
    ("size", "script"),
    [
        # A slow answer path: the server counted the first request beside the second,
        # though the first's place has expired when the second's answer comes back.
        (2, [(0.0, 0.0), (0.5, 1.0), (1.6, 0.0)]),
        # One request still in flight when another's answer counts it.
        (4, [(0.0, 0.0), (0.01, 5.0), (0.01, 0.1), (0.2, 0.0)]),
    ],
)
def test_a_count_that_is_all_ours_never_holds_anything_back(
    size: int, script: list[tuple[float, float]]
) -> None:
    server = Server(size, 1000)
    sends: list[float] = []

    async def main(loop: VirtualTimeLoop) -> None:
        limiter = Throttle(clock=loop.time, margin_ratio=0, margin_min_s=0)

        async def handler(request: Request, round_trip: float) -> Response:
            sends.append(loop.time())
            remaining = server.arrive(loop.time())  # counted as it is sent
            await asyncio.sleep(round_trip)
            return server.answer(request, remaining)

        async def call(start: float, round_trip: float) -> None:
            await asyncio.sleep(start)
            await limiter(REQUEST, functools.partial(handler, round_trip=round_trip))

        await asyncio.gather(*(call(*step) for step in script))

    in_virtual_time(main)
    assert sends == [start for start, _ in script]
    assert server.overruns == 0


async def test_a_remaining_of_zero_that_counts_only_ours_pauses_nothing() -> None:
    clock = FakeClock()
    server = Server(3, 1000)
    sends: list[float] = []

    async def handler(request: Request) -> Response:
        sends.append(clock.now)
        answer = server.answer(request, server.arrive(clock.now))
        clock.now += 0.1  # the round trip
        return answer

    limiter = throttle(clock, margin_ratio=0, margin_min_s=0)
    for _ in range(6):
        await limiter(REQUEST, handler)
    start = sends[0]
    assert [round(t - start, 3) for t in sends] == [0, 0.1, 0.2, 1.1, 1.2, 1.3]


def test_a_backlog_fills_each_window_to_its_size() -> None:
    log = SendLog(margin_ratio=0.0, margin_min_s=0.0)
    log.learn(5, 1000)
    now, sends = 0.0, []
    for _ in range(20):
        delay = log.delay(now)
        assert delay is not None
        now += delay
        log.finish(log.send(now), now)  # answered at once
        sends.append(now)
    assert sends == [float(i // 5) for i in range(20)]


def test_with_every_place_in_flight_the_log_waits_for_an_answer() -> None:
    log = SendLog(margin_ratio=0.0, margin_min_s=0.0)
    log.learn(2, 1000)
    first, _ = log.send(0.0), log.send(0.0)
    assert log.delay(50.0) is None  # however long they take
    log.finish(first, 60.0)
    assert log.delay(60.5) == pytest.approx(0.5)
    assert log.delay(61.0) == 0.0


@pytest.mark.parametrize(
    ("interval_ms", "held_for"),
    [(1000, 1.005), (10_000, 10.01), (100, 0.105)],  # at least 5 ms, else 0.1 %
)
async def test_the_default_margin_holds_each_place_a_few_ms_past_the_window(
    interval_ms: int, held_for: float
) -> None:
    clock = FakeClock()
    window = {"X_RateLimit_Max": 2, "X_RateLimit_Interval_Milliseconds": interval_ms}
    handler = RecordingHandler(clock, **window)
    limiter = throttle(clock)
    for _ in range(3):
        await limiter(REQUEST, handler)
    assert clock.sleeps == [pytest.approx(held_for)]


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


@pytest.mark.parametrize(
    ("learned_first", "headers", "paused"),
    [
        (False, {}, 10.0),  # no window known, none asked: the API's 10 s
        (False, {"Retry_After": 3}, 3.0),
        (True, {}, 1.005),  # the window learned before, and its margin
        (True, {"Retry_After": 3}, 3.0),
    ],
)
async def test_a_429_pauses_for_retry_after_else_the_window(
    learned_first: bool, headers: dict[str, object], paused: float
) -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    if learned_first:
        await limiter(REQUEST, RecordingHandler(clock, **WINDOW))
    await limiter(REQUEST, RecordingHandler(clock, 429, **headers))
    after = RecordingHandler(clock, **WINDOW)
    await limiter(REQUEST, after)
    assert clock.sleeps == [pytest.approx(paused)]
    assert len(after.sent) == 1


@pytest.mark.parametrize(
    "header", [{"X_RateLimit_Max": 50}, {"X_RateLimit_Interval_Milliseconds": 60_000}]
)
async def test_a_response_with_one_window_header_keeps_the_window_learned_before(
    header: dict[str, int],
) -> None:
    clock = FakeClock()
    limiter = throttle(clock, margin_ratio=0, margin_min_s=0)
    await limiter(REQUEST, RecordingHandler(clock, **WINDOW))
    partial = RecordingHandler(clock, **header)
    for _ in range(4):
        await limiter(REQUEST, partial)
    assert [t - 1000.0 for t, _ in partial.sent] == [0, 0, 1, 1]  # 3 a second, as learned
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize(
    "header", [{"X_RateLimit_Max": 1}, {"X_RateLimit_Interval_Milliseconds": 60_000}]
)
async def test_one_window_header_alone_from_the_start_holds_nothing_back(
    header: dict[str, int],
) -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    handler = RecordingHandler(clock, **header)
    await asyncio.gather(*(limiter(REQUEST, handler) for _ in range(20)))
    assert clock.sleeps == []
    assert len(handler.sent) == 20
    assert limiter.usage("L1") is None


async def test_usage_is_the_share_of_the_window_held_now() -> None:
    clock = FakeClock()
    limiter = throttle(clock, margin_ratio=0, margin_min_s=0)
    four = {"X_RateLimit_Max": 4, "X_RateLimit_Interval_Milliseconds": 1000}
    assert limiter.usage("L1") is None  # nothing known yet
    gate = asyncio.Event()
    seen: list[float | None] = []

    async def handler(request: Request) -> Response:
        seen.append(limiter.usage("L1"))
        if len(seen) == 3:
            await gate.wait()
        return response(200, request, **four)

    await limiter(REQUEST, handler)
    await limiter(REQUEST, handler)
    assert limiter.usage("L1") == 0.5
    in_flight = asyncio.create_task(limiter(REQUEST, handler))
    await asyncio.sleep(0.01)
    assert limiter.usage("L1") == 0.75  # a request in flight holds its place
    gate.set()
    await in_flight
    assert seen == [None, 0.5, 0.75]
    clock.now += 1.0
    assert limiter.usage("L1") == 0.0
    assert limiter.usage("another location") is None


async def test_a_low_daily_budget_warns_once_until_it_rises_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    daily = {"X_RateLimit_Limit_Daily": 1000, **WINDOW}
    low = RecordingHandler(clock, X_RateLimit_Daily_Remaining=40, **daily)
    risen = RecordingHandler(clock, X_RateLimit_Daily_Remaining=900, **daily)
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        for handler in (low, low, low, risen, low, low):
            await limiter(REQUEST, handler)
    warnings = [r.getMessage() for r in caplog.records if "running low" in r.getMessage()]
    assert warnings == ["daily request budget running low: 40 of 1000 left"] * 2


async def test_a_used_up_daily_budget_fails_fast_until_it_is_worth_looking_again() -> None:
    clock = FakeClock()
    limiter = throttle(clock, daily_recheck_s=300)
    empty = RecordingHandler(clock, X_RateLimit_Daily_Remaining=0, **WINDOW)
    await limiter(REQUEST, empty)
    with pytest.raises(RateLimitError) as caught:
        await limiter(REQUEST, empty)
    assert caught.value.status == 429
    assert caught.value.daily_quota_exhausted
    assert caught.value.retry_after == pytest.approx(300)
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
    assert caught.value.status == 429
    assert caught.value.daily_quota_exhausted
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


def test_a_wait_for_an_answer_ends_at_the_calls_deadline() -> None:
    outcome: list[object] = []

    async def main(loop: VirtualTimeLoop) -> None:
        limiter = Throttle(clock=loop.time)
        one = {"X_RateLimit_Max": 1, "X_RateLimit_Interval_Milliseconds": 1000}

        async def slow(request: Request) -> Response:
            await asyncio.sleep(30)
            return response(200, request, **one)

        await limiter(REQUEST, lambda request: asyncio.sleep(0, response(200, request, **one)))
        await asyncio.sleep(2)
        stuck = asyncio.create_task(limiter(REQUEST, slow))  # holds the only place
        await asyncio.sleep(0)
        try:
            await limiter(attrs.evolve(REQUEST, deadline=loop.time() + 5), slow)
        except APITimeoutError as exc:
            outcome.extend([loop.time(), str(exc)])
        await stuck

    in_virtual_time(main)
    assert outcome[0] == pytest.approx(7.0)
    assert "deadline passes before the rate limit allows it" in str(outcome[1])


async def test_usage_never_passes_one_when_the_window_shrinks_below_the_places_held() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    for _ in range(2):
        await limiter(REQUEST, RecordingHandler(clock, **WINDOW))  # 3 a second
    shrunk = {"X_RateLimit_Max": 1, "X_RateLimit_Interval_Milliseconds": 1000}
    await limiter(REQUEST, RecordingHandler(clock, **shrunk))  # 3 places held, 1 allowed
    assert limiter.usage("L1") == 1.0


def test_a_wait_for_the_probe_past_the_deadline_says_what_it_waited_for() -> None:
    outcome: list[str] = []

    async def main(loop: VirtualTimeLoop) -> None:
        limiter = Throttle(clock=loop.time)

        async def slow(request: Request) -> Response:
            await asyncio.sleep(30)
            return response(200, request, **WINDOW)

        probe = asyncio.create_task(limiter(REQUEST, slow))  # the window is not known yet
        await asyncio.sleep(0)
        try:
            await limiter(attrs.evolve(REQUEST, deadline=loop.time() + 5), slow)
        except APITimeoutError as exc:
            outcome.append(str(exc))
        await probe

    in_virtual_time(main)
    assert outcome == [
        "GET /conversations/search: the call's deadline passes before the rate limit is known"
    ]


async def test_a_wait_that_would_end_just_at_the_deadline_is_not_started() -> None:
    clock = FakeClock()
    limiter = throttle(clock, margin_ratio=0, margin_min_s=0)
    handler = RecordingHandler(clock, **WINDOW)
    for _ in range(3):
        await limiter(REQUEST, handler)
    just = attrs.evolve(REQUEST, deadline=clock.now + 1.0)  # the window reopens in 1 s
    with pytest.raises(APITimeoutError) as caught:
        await limiter(just, handler)
    assert str(caught.value) == (
        "GET /conversations/search: the call's deadline passes before the rate limit allows it"
    )
    assert clock.sleeps == []
    assert len(handler.sent) == 3


async def test_the_used_up_daily_quota_is_logged_with_when_it_resets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    headers = {"X_RateLimit_Daily_Remaining": 0, "X_RateLimit_Daily_Reset": 5_400_000}
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        await throttle(clock)(REQUEST, RecordingHandler(clock, **headers, **WINDOW))
    [message] = [r.getMessage() for r in caplog.records]
    assert message.startswith(
        "the daily request quota is used up; requests fail until it resets in 1 h 30 min (at "
    )


async def test_a_daily_budget_just_at_the_warning_share_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    limiter = throttle(clock, daily_warning_ratio=0.05)
    at_share = RecordingHandler(
        clock, X_RateLimit_Limit_Daily=1000, X_RateLimit_Daily_Remaining=50, **WINDOW
    )
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        await limiter(REQUEST, at_share)
    assert [r.getMessage() for r in caplog.records] == [
        "daily request budget running low: 50 of 1000 left"
    ]


def test_one_other_spender_holds_one_place() -> None:
    log = SendLog(0.0, 0.0)
    log.learn(10, 1000)
    ticket = log.send(0.0)
    log.finish(ticket, 0.1, remaining=8)  # 2 counted: ours and one other's
    assert log.held(0.2) == 2


def test_the_next_place_frees_when_an_other_spenders_place_lapses() -> None:
    log = SendLog(0.0, 0.0)  # a span of exactly the 1 s window
    log.learn(4, 1000)
    log.finish(log.send(0.0), 0.0)
    log.finish(log.send(0.4), 0.5, remaining=0)  # 2 of ours, so 2 other spenders' places
    log.send(0.6)
    log.send(0.6)  # 2 in flight: the window is 2 over, so the third oldest place must go
    assert log.delay(0.6) == pytest.approx(0.9)  # an other spender's, seen at 0.5


def test_a_place_is_released_exactly_one_span_after_its_answer() -> None:
    log = SendLog(0.0, 0.0)
    log.learn(3, 1000)
    log.finish(log.send(0.0), 0.5, remaining=1)  # ours and one other's, both from 0.5
    assert log.held(1.25) == 2
    assert log.held(1.5) == 0


def test_before_the_window_is_known_an_answered_request_holds_no_place() -> None:
    log = SendLog(0.001, 0.005)
    log.finish(log.send(0.0), 0.0)
    assert log.held(0.5) == 0
    assert log.delay(0.5) == 0.0


async def test_by_default_a_used_up_daily_quota_without_a_reset_is_looked_at_after_5_min() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    empty = RecordingHandler(clock, X_RateLimit_Daily_Remaining=0, **WINDOW)
    await limiter(REQUEST, empty)
    with pytest.raises(RateLimitError) as caught:
        await limiter(REQUEST, empty)
    assert caught.value.retry_after == 300.0
