"""Rate limiting per key (the emulator keys by location): a burst window and a daily budget,
as the real API has."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Quota", "RateLimiter", "WindowMode"]

WindowMode = Literal["fixed", "sliding"]

_DAY_MS = 86_400_000


@dataclass(frozen=True)
class Quota:
    """The outcome of one request against the limits, and what the headers report.

    `daily_reset_ms` is how long until the daily budget starts afresh (next UTC midnight).
    """

    allowed: bool
    daily_exhausted: bool
    daily_limit: int
    daily_remaining: int
    interval_ms: int
    max_requests: int
    remaining: int
    daily_reset_ms: int

    def headers(self) -> dict[str, str]:
        """The `X-RateLimit-*` headers the real API sends with every answer."""
        return {
            "X-RateLimit-Limit-Daily": str(self.daily_limit),
            "X-RateLimit-Daily-Remaining": str(self.daily_remaining),
            "X-RateLimit-Interval-Milliseconds": str(self.interval_ms),
            "X-RateLimit-Max": str(self.max_requests),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Daily-Reset": str(self.daily_reset_ms),
        }


@dataclass
class _Usage:
    day: int = -1
    daily_used: int = 0
    window_start: float = float("-inf")
    window_count: int = 0
    stamps: deque[float] = field(default_factory=deque)


class RateLimiter:
    """Counts requests per key in a burst window ("fixed" or "sliding") and per UTC day.

    A fixed window opens with the first request after the previous one closed. A refused
    request counts against neither limit. `clock` (seconds) times the burst window;
    `wall_clock` (Unix seconds) tells the day, which ends at UTC midnight.
    """

    def __init__(
        self,
        *,
        max_requests: int = 100,
        interval_ms: int = 10_000,
        mode: WindowMode = "fixed",
        daily_limit: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if mode not in ("fixed", "sliding"):
            raise ValueError(f"rate limit mode must be 'fixed' or 'sliding', not {mode!r}")
        if max_requests < 1 or interval_ms < 1 or daily_limit < 1:
            raise ValueError("rate limits must be positive")
        self.max_requests = max_requests
        self.interval_ms = interval_ms
        self.mode = mode
        self.daily_limit = daily_limit
        self._clock = clock
        self._wall_clock = wall_clock
        self._usage: dict[Hashable, _Usage] = {}

    def hit(self, key: Hashable) -> Quota:
        """Count one request for `key` if the limits allow it; say whether they did."""
        usage = self._usage.setdefault(key, _Usage())
        now = self._clock() * 1000
        wall_ms = self._wall_clock() * 1000
        today = int(wall_ms // _DAY_MS)
        if usage.day != today:
            usage.day, usage.daily_used = today, 0
        used = self._window_used(usage, now)
        daily_exhausted = usage.daily_used >= self.daily_limit
        allowed = not daily_exhausted and used < self.max_requests
        if allowed:
            usage.daily_used += 1
            used += 1
            if self.mode == "fixed":
                usage.window_count += 1
            else:
                usage.stamps.append(now)
        return Quota(
            allowed=allowed,
            daily_exhausted=daily_exhausted,
            daily_limit=self.daily_limit,
            daily_remaining=self.daily_limit - usage.daily_used,
            interval_ms=self.interval_ms,
            max_requests=self.max_requests,
            remaining=max(0, self.max_requests - used),
            daily_reset_ms=math.ceil((today + 1) * _DAY_MS - wall_ms),
        )

    def reset(self, key: Hashable | None = None) -> None:
        """Forget the counts of `key` (None: of every key), as if a new day and a new
        window had begun."""
        if key is None:
            self._usage.clear()
        else:
            self._usage.pop(key, None)

    def _window_used(self, usage: _Usage, now: float) -> int:
        if self.mode == "fixed":
            if now - usage.window_start >= self.interval_ms:
                usage.window_start, usage.window_count = now, 0
            return usage.window_count
        stamps = usage.stamps
        while stamps and stamps[0] <= now - self.interval_ms:
            stamps.popleft()
        return len(stamps)
