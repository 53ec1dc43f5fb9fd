"""How much of the rate limit a command uses, measured by a middleware of its own."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

from ..middleware.chain import Handler, Request, Response


class RateMeter:
    """A middleware recording when requests were sent and the last window announced.

    Give it to `LeadwayClient(middlewares=[meter])`. Each answer counts once per attempt
    made for it (a retried request counts its failed attempts too, at the time of the
    last); the window is the last `X-RateLimit-Max` per `X-RateLimit-Interval-Milliseconds`
    seen. `share()` is the requests sent in the last window over the window's size.

    `requests` counts every request sent; `window` is the last window announced
    (requests allowed, seconds), None until one is; `peak` is the largest share seen
    when an answer came, None while no window is known.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sent: list[float] = []  # send times within the last window, oldest first
        self.requests = 0
        self.window: tuple[int, float] | None = None
        self.peak: float | None = None

    async def __call__(self, request: Request, handler: Handler) -> Response:
        response = await handler(request)
        now = self._clock()
        limit = response.rate_limit
        if limit.max and limit.interval_ms:
            self.window = (limit.max, limit.interval_ms / 1000)
        attempts = max(1, response.request.attempt)
        sent = now - max(0.0, response.elapsed)
        for _ in range(attempts):
            bisect.insort(self._sent, sent)
        self.requests += attempts
        share = self.share(now)
        if share is not None and (self.peak is None or share > self.peak):
            self.peak = share
        return response

    def share(self, now: float | None = None) -> float | None:
        """The requests sent in the window up to `now` over its size; None while no window
        is known."""
        if self.window is None:
            return None
        size, seconds = self.window
        now = self._clock() if now is None else now
        del self._sent[: bisect.bisect_right(self._sent, now - seconds)]
        return len(self._sent) / size
