"""One location's places as this process alone sees them, and the limit it keeps by itself
while Redis does not answer (pure: the caller passes the time).

It keeps `Throttle`'s rule over the whole window: a place per request from its send
until one window plus the margin after its answer, and places for other spenders learned
from `X-RateLimit-Remaining`, with requests going out only while fewer than the window's
size are held. On top of that, this process's own places may not exceed `share` of the
window (at least one): with processes that together hold no more than the whole window
(four at the default quarter), a Redis outage sends no more than the window allows
whatever each of them believes of the others.

The same book is kept while Redis answers, so at the moment Redis goes away the process
still counts the places it took through Redis, and at the moment Redis is back it can hand
over (`holds()`) what it took without it.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

__all__ = ["LocalBudget"]


class LocalBudget:
    """This process's view of one location's window (times in seconds, one clock)."""

    def __init__(self, *, share: float, margin_ratio: float, margin_min_s: float) -> None:
        self._share = share
        self._margin_ratio = margin_ratio
        self._margin_min_s = margin_min_s
        self.size: int | None = None  # requests allowed per window; None: not known
        self.interval_ms: int | None = None
        self.span = 0.0  # the window plus the margin, in seconds
        self.learned = False  # an answer (or Redis) told whether there is a window
        self._ids = itertools.count()
        self._in_flight: dict[int, float] = {}  # id -> send time, oldest first
        self._mine: deque[float] = deque()  # when each of ours finished, oldest first
        self._others: deque[float] = deque()  # when each other spender's place was seen

    @property
    def in_flight(self) -> int:
        """Our requests sent and not finished yet."""
        return len(self._in_flight)

    @property
    def cap(self) -> int | None:
        """The most places this process holds by itself while Redis is away."""
        if self.size is None:
            return None
        return max(1, math.floor(self.size * self._share))

    def learn(self, size: int | None, interval_ms: int | None) -> None:
        """Take the window the API announced (size None: it announced none)."""
        self.learned = True
        if size is None or interval_ms is None or size <= 0:
            return
        window = interval_ms / 1000
        self.size, self.interval_ms = max(1, size), interval_ms
        self.span = window + max(self._margin_min_s, window * self._margin_ratio)

    def send(self, now: float) -> int:
        """Hold a place for a request sent at `now`; returns its id for `finish()`."""
        grant = next(self._ids)
        self._in_flight[grant] = now
        return grant

    def finish(self, grant: int, now: float, remaining: int | None = None) -> None:
        """The request of `grant` was answered (or failed) at `now`; `remaining` is its
        `X-RateLimit-Remaining`. Its place is held one more span."""
        self._forget(now)
        sent = self._in_flight.pop(grant)
        self._mine.append(now)
        if remaining is None or self.size is None:
            return
        ours = self.in_flight + sum(1 for t in self._mine if t > sent - self.span)
        others = self.size - remaining - ours
        if others > 0:
            kept = list(self._others)[: max(0, len(self._others) - others)]
            self._others = deque(kept + [now] * others)

    def held(self, now: float) -> int:
        """Places held at `now`: ours (sent or finished) and other spenders'."""
        self._forget(now)
        horizon = now - self.span
        finished = sum(1 for t in itertools.chain(self._mine, self._others) if t > horizon)
        return self.in_flight + finished

    def holds(self, now: float) -> list[float]:
        """How long each finished place held at `now` stays held (seconds), ours and others'."""
        self._forget(now)
        ends = (t + self.span - now for t in itertools.chain(self._mine, self._others))
        return sorted(end for end in ends if end > 0)

    def delay(self, now: float) -> float | None:
        """Seconds before one more request may go out under the fallback's limit (0: now;
        None: not before a request of ours in flight finishes)."""
        if self.size is None:
            return 0.0
        self._forget(now)
        horizon = now - self.span
        mine = sorted(t for t in self._mine if t > horizon)
        every = sorted(itertools.chain(mine, (t for t in self._others if t > horizon)))
        delays = [0.0]
        for limit, finished in ((self.size, every), (self.cap, mine)):
            release = _release(self.in_flight, finished, limit)
            if release is None:
                return None
            delays.append(release + self.span - now)
        return max(delays)

    def _forget(self, now: float) -> None:
        """Drop places no count can need again (`finish()` looks back to a send time)."""
        oldest_send = next(iter(self._in_flight.values()), now)
        horizon = min(now, oldest_send) - self.span
        while self._mine and self._mine[0] <= horizon:
            self._mine.popleft()
        while self._others and self._others[0] <= now - self.span:
            self._others.popleft()


def _release(in_flight: int, finished: list[float], size: int | None) -> float | None:
    """The finish time (oldest first in `finished`) whose release frees a place under a
    limit of `size` (-inf: one is free now; None: only a request in flight finishing can
    free one)."""
    if size is None:
        return -math.inf
    excess = in_flight + len(finished) - size
    if excess < 0:
        return -math.inf
    if excess >= len(finished):
        return None
    return finished[excess]
