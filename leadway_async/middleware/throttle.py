"""A client-side limiter that keeps requests inside the API's rate-limit window.

It learns each location's window (`X-RateLimit-Max` requests per
`X-RateLimit-Interval-Milliseconds`) from the responses themselves. Until the first
response has told it, only one request goes out, so a fresh client started by many tasks
cannot overrun a window it does not know yet.

From then on each request holds a place in the window from its send until one window
(plus a small margin) after its answer was seen, or after its failure was seen when it
got no answer; a request goes out only while fewer places than the window's size are
held. The server counts a request when it arrives, somewhere between its send and its
answer, so any span of one window holds at most the window's size of arrivals however
the round trips vary: the rule holds for a window that slides and for one that resets at
fixed times. A saturating caller gets about `max / (window + round trip)` requests a
second.

The server's `X-RateLimit-Remaining` reveals other spenders of the same budget (other
processes or clients): an answer seen at `t` saying `Remaining = R` means the server
counted `max - R` requests in its window, and ours among them are at most our places
held at some moment between that request's send and `t`. The excess are other spenders'
requests: at least that many places are held for them until `t` plus one window (plus
the margin). Alone, that never holds anything back.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from .._headers import parse_retry_after
from .._time import deadline_passed, time_left
from ..errors import RateLimitError, quota_resets
from .chain import Handler, Request, Response

__all__ = ["DEFAULT_WINDOW_S", "SendLog", "Throttle"]

logger = logging.getLogger("leadway_async")

DEFAULT_WINDOW_S = 10.0
"""How long a 429 pauses a location whose window is not known and that sent no
`Retry-After`: the API's documented burst window."""


class SendLog:
    """The places held in one location's window, and when one more fits (pure: the
    caller passes the time).

    A place is held from `send()` until one span (the window plus the margin) after
    `finish()`; other spenders' places, learned from `X-RateLimit-Remaining`, for one
    span after the answer that revealed them.
    """

    def __init__(self, margin_ratio: float, margin_min_s: float) -> None:
        self._margin_ratio = margin_ratio
        self._margin_min_s = margin_min_s
        self.size: int | None = None  # requests allowed per window; None: not known
        self.span = 0.0  # the window plus the margin, in seconds
        self._tickets = itertools.count()
        self._in_flight: dict[int, float] = {}  # ticket -> send time, oldest first
        self._answered: deque[float] = deque()  # when each of ours finished, oldest first
        self._others: deque[float] = deque()  # when each other spender's place was seen

    @property
    def in_flight(self) -> int:
        """Requests sent and not finished yet."""
        return len(self._in_flight)

    def learn(self, size: int, interval_ms: int) -> None:
        """Take the window the API announced."""
        window = interval_ms / 1000
        self.size = max(1, size)
        self.span = window + max(self._margin_min_s, window * self._margin_ratio)

    def send(self, now: float) -> int:
        """Hold a place for a request sent at `now`; returns its ticket for `finish()`."""
        ticket = next(self._tickets)
        self._in_flight[ticket] = now
        return ticket

    def finish(self, ticket: int, now: float, remaining: int | None = None) -> None:
        """The request of `ticket` was answered (or failed) at `now`: its place is held
        one more span. `remaining` is the `X-RateLimit-Remaining` of its answer."""
        self._forget(now)
        sent = self._in_flight.pop(ticket)
        self._answered.append(now)
        if remaining is None or self.size is None:
            return
        # Of ours, the server can have counted only those holding a place at some moment
        # between this request's send and now.
        ours = self.in_flight + self._answered_after(sent - self.span)
        others = self.size - remaining - ours
        if others > 0:
            # At least `others` places stay held one span from now; none is shortened.
            # (Copied once, not four times: a large budget can hold thousands of them.)
            kept = deque(itertools.islice(self._others, max(0, len(self._others) - others)))
            kept.extend(itertools.repeat(now, others))
            self._others = kept

    def held(self, now: float) -> int:
        """Places held at `now`, ours (sent or finished) and other spenders'."""
        return self.in_flight + self._releases(now)[0]

    def delay(self, now: float) -> float | None:
        """Seconds to wait before one more request may go out (0: it may go now; None:
        not before one of those in flight finishes)."""
        if self.size is None:
            return 0.0
        count, releases = self._releases(now)
        excess = self.in_flight + count - self.size
        if excess < 0:
            return 0.0
        if excess >= count:
            return None
        return next(itertools.islice(releases, excess, None)) + self.span - now

    def _releases(self, now: float) -> tuple[int, Iterator[float]]:
        """How many finished places are still held at `now`, and when each was finished,
        oldest first. (Both logs are in time order, so this costs no sort.)"""
        self._forget(now)
        ours = self._answered_after(now - self.span)
        start = len(self._answered) - ours
        return ours + len(self._others), heapq.merge(
            itertools.islice(self._answered, start, None), self._others
        )

    def _answered_after(self, moment: float) -> int:
        """How many of our requests finished after `moment`."""
        return len(self._answered) - bisect.bisect_right(self._answered, moment)

    def _forget(self, now: float) -> None:
        """Drop places no count can need again (`finish()` looks back to a send time)."""
        oldest_send = next(iter(self._in_flight.values()), now)
        horizon = min(now, oldest_send) - self.span
        while self._answered and self._answered[0] <= horizon:
            self._answered.popleft()
        while self._others and self._others[0] <= now - self.span:
            self._others.popleft()


class _Location:
    """The budget of one location: its places and what the API last said of it."""

    def __init__(self, log: SendLog) -> None:
        self.log = log
        self.lock = asyncio.Lock()  # FIFO: waiting requests go out in arrival order
        self.learned = False
        self.finished: asyncio.Future[None] | None = None  # wakes a wait for a place
        self.paused_until = 0.0
        self.exhausted_until = 0.0
        self.warned_low = False


class Throttle:
    """Middleware holding requests back so they stay inside each location's window.

    One budget per location id; tasks sharing the throttle share the budget, served
    first come, first served. Share one `Throttle` between clients that use the same
    token and location.

    Each request holds a place from its send until one window after its answer (or its
    failure) was seen, plus a margin of `max(margin_min_s, window * margin_ratio)`; one
    goes out only while fewer places than `X-RateLimit-Max` are held. The default margin,
    5 ms or 0.1 % of the window (10 ms of the API's 10 s), covers the server stamping
    requests in whole milliseconds and clocks running at rates up to 0.1 % apart. An
    answer whose `X-RateLimit-Remaining` counts more requests than ours holds the excess
    as other spenders' places for one window.

    A 429 pauses the location for its `Retry-After`, else for the window (else
    `DEFAULT_WINDOW_S`, 10 s). A response bearing only one of the two window headers
    leaves the window learned before as it was. When the daily budget falls under
    `daily_warning_ratio` of the day's limit it logs a warning, once until it rises
    again; at zero, requests fail at once with `RateLimitError(daily_quota_exhausted=True)`
    until the reset the server announced (`X-RateLimit-Daily-Reset`), or, when it
    announced none, for `daily_recheck_s` seconds before one is let through to look again.
    No wait that would pass a request's deadline is started.
    """

    def __init__(
        self,
        *,
        margin_ratio: float = 0.001,
        margin_min_s: float = 0.005,
        daily_warning_ratio: float = 0.05,
        daily_recheck_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._margin = (margin_ratio, margin_min_s)
        self._daily_warning_ratio = daily_warning_ratio
        self._daily_recheck_s = daily_recheck_s
        self._clock = clock
        self._sleep = sleep
        self._locations: dict[str, _Location] = {}

    def usage(self, location_id: str) -> float | None:
        """The share of the location's window in use now, from 0 to 1 (places held over
        the window's size); None while its window is not known."""
        location = self._locations.get(location_id)
        if location is None or location.log.size is None:
            return None
        return min(1.0, location.log.held(self._clock()) / location.log.size)

    async def __call__(self, request: Request, handler: Handler) -> Response:
        key = request.query.get("locationId", "")
        location = self._locations.get(key)
        if location is None:
            location = self._locations[key] = _Location(SendLog(*self._margin))
        ticket = await self._wait_turn(location, request)
        try:
            response = await handler(request)
        except BaseException:
            self._finish(location, ticket, None)
            raise
        self._finish(location, ticket, response)
        return response

    async def _wait_turn(self, location: _Location, request: Request) -> int:
        """Wait until `request` may go out; returns the ticket of the place it holds."""
        async with location.lock:
            while True:
                now = self._clock()
                if location.exhausted_until > now:
                    resets_in = location.exhausted_until - now
                    raise RateLimitError(
                        429,
                        "the daily request quota of this location is used up; it resets "
                        f"{quota_resets(resets_in)} (not sent: the client already knew)",
                        daily_quota_exhausted=True,
                        retry_after=resets_in,
                    )
                if not location.learned and location.log.in_flight:
                    await self._next_finish(location, request, "the rate limit is known")
                    continue
                delay = location.log.delay(now)
                if delay is None:
                    await self._next_finish(location, request, "the rate limit allows it")
                    continue
                wait = max(delay, location.paused_until - now)
                if wait <= 0:
                    return location.log.send(now)
                left = time_left(request.deadline, now)
                if left is not None and wait >= left:
                    raise deadline_passed(request.method, request.path, "the rate limit allows it")
                await self._sleep(wait)

    async def _next_finish(self, location: _Location, request: Request, before: str) -> None:
        """Wait until a request in flight finishes, within the call's deadline."""
        if location.finished is None:
            location.finished = asyncio.get_running_loop().create_future()
        left = time_left(request.deadline, self._clock())
        try:
            await asyncio.wait_for(asyncio.shield(location.finished), left)
        except asyncio.TimeoutError:
            raise deadline_passed(request.method, request.path, before) from None

    def _finish(self, location: _Location, ticket: int, response: Response | None) -> None:
        """Release the request's place to the window and take in what its answer said."""
        now = self._clock()
        remaining = None
        if response is not None:
            self._learn(location, response, now)
            remaining = response.rate_limit.remaining
        location.log.finish(ticket, now, remaining)
        if location.finished is not None:
            finished, location.finished = location.finished, None
            finished.set_result(None)

    def _learn(self, location: _Location, response: Response, now: float) -> None:
        budget = response.rate_limit
        if budget.max is not None and budget.interval_ms is not None:
            location.log.learn(budget.max, budget.interval_ms)
        location.learned = True  # a response without the headers means: no limit announced
        if response.status == 429:
            pause = parse_retry_after(response.headers)
            if pause is None:
                pause = DEFAULT_WINDOW_S if location.log.size is None else location.log.span
            location.paused_until = max(location.paused_until, now + pause)
        daily, limit = budget.daily_remaining, budget.limit_daily
        if daily is None:
            return
        if daily == 0:
            # Until the reset the server announced; without one, look again after a while.
            wait = (
                self._daily_recheck_s if budget.daily_reset is None else budget.daily_reset / 1000
            )
            location.exhausted_until = now + wait
            logger.warning(
                "the daily request quota is used up; requests fail until it resets %s",
                quota_resets(wait),
            )
        elif limit and daily <= limit * self._daily_warning_ratio:
            if not location.warned_low:
                location.warned_low = True
                logger.warning("daily request budget running low: %d of %d left", daily, limit)
        else:
            location.warned_low = False
