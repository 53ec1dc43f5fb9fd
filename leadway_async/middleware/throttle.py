"""A client-side limiter that keeps requests inside the API's rate-limit window.

It learns each location's window (`X-RateLimit-Max` requests per
`X-RateLimit-Interval-Milliseconds`) from the responses themselves. Until the first
response has told it, only one request goes out, so a fresh client started by many tasks
cannot overrun a window it does not know yet. From then on it keeps a log of send times
and never lets more than the window's size go out within any span of one window (plus a
small margin): that holds for a window that slides and for one that resets at fixed times.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .._time import deadline_passed, time_left
from ..errors import RateLimitError, quota_resets
from .chain import Handler, Request, Response

__all__ = ["SendLog", "Throttle"]

logger = logging.getLogger("leadway_async")


class SendLog:
    """When requests were sent, and how long until one more fits the window (pure)."""

    def __init__(self, margin_ratio: float, margin_min_s: float) -> None:
        self._margin_ratio = margin_ratio
        self._margin_min_s = margin_min_s
        self._sent: deque[float] = deque()
        self.size: int | None = None  # requests allowed per window; None: not known
        self.span = 0.0  # the window plus the margin, in seconds

    def learn(self, size: int, interval_ms: int) -> None:
        """Take the window the API announced."""
        window = interval_ms / 1000
        self.size = max(1, size)
        self.span = window + max(self._margin_min_s, window * self._margin_ratio)

    def record(self, now: float) -> None:
        """Count a request sent at `now`."""
        self._sent.append(now)

    def delay(self, now: float) -> float:
        """Seconds to wait before one more request may go out (0: it may go now)."""
        if self.size is None:
            return 0.0
        while self._sent and self._sent[0] <= now - self.span:
            self._sent.popleft()
        if len(self._sent) < self.size:
            return 0.0
        return self._sent[-self.size] + self.span - now


class _Location:
    """The budget of one location: its send log and what the API last said of it."""

    def __init__(self, log: SendLog) -> None:
        self.log = log
        self.lock = asyncio.Lock()  # FIFO: waiting requests go out in arrival order
        self.learned = False
        self.probe: asyncio.Future[None] | None = None  # the first request, until it answers
        self.paused_until = 0.0
        self.exhausted_until = 0.0
        self.warned_low = False


class Throttle:
    """Middleware holding requests back so they stay inside each location's window.

    One budget per location id; tasks sharing the throttle share the budget, served
    first come, first served. Share one `Throttle` between clients that use the same
    token and location. `margin_ratio`/`margin_min_s` widen the learned window a little
    (2 %, at least 25 ms) against timing differences between client and server. When the
    daily budget falls under `daily_warning_ratio` of the day's limit it logs a warning;
    at zero, requests fail at once with `RateLimitError(daily_quota_exhausted=True)` until
    the reset the server announced (`X-RateLimit-Daily-Reset`), or, when it announced
    none, for `daily_recheck_s` seconds before one is let through to look again.
    """

    def __init__(
        self,
        *,
        margin_ratio: float = 0.02,
        margin_min_s: float = 0.025,
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

    async def __call__(self, request: Request, handler: Handler) -> Response:
        key = request.query.get("locationId", "")
        location = self._locations.get(key)
        if location is None:
            location = self._locations[key] = _Location(SendLog(*self._margin))
        is_probe = await self._wait_turn(location, request)
        try:
            response = await handler(request)
        finally:
            if is_probe and location.probe is not None:
                probe, location.probe = location.probe, None
                probe.set_result(None)
        self._learn(location, response)
        return response

    async def _wait_turn(self, location: _Location, request: Request) -> bool:
        """Wait until `request` may go out; True when it goes out to learn the window."""
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
                if not location.learned:
                    if location.probe is not None:
                        await self._until(location.probe, request)
                        continue
                    location.probe = asyncio.get_running_loop().create_future()
                    location.log.record(now)
                    return True
                wait = max(location.log.delay(now), location.paused_until - now)
                if wait <= 0:
                    location.log.record(now)
                    return False
                left = time_left(request.deadline, now)
                if left is not None and wait >= left:
                    raise deadline_passed(request.method, request.path, "the rate limit allows it")
                await self._sleep(wait)

    async def _until(self, probe: asyncio.Future[None], request: Request) -> None:
        """Wait for the window-learning request to answer, within the call's deadline."""
        left = time_left(request.deadline, self._clock())
        try:
            await asyncio.wait_for(asyncio.shield(probe), left)
        except asyncio.TimeoutError:
            raise deadline_passed(request.method, request.path, "the rate limit is known") from None

    def _learn(self, location: _Location, response: Response) -> None:
        budget = response.rate_limit
        now = self._clock()
        if budget.max is not None and budget.interval_ms is not None:
            location.log.learn(budget.max, budget.interval_ms)
        location.learned = True  # a response without the headers means: no limit announced
        # The server counted more than our log did (another client on the same budget):
        # hold everything for a whole window. Otherwise the log already holds us back.
        exhausted = budget.remaining == 0 and location.log.delay(now) == 0
        if response.status == 429 or exhausted:
            location.paused_until = now + location.log.span
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
