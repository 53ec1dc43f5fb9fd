"""Retries with backoff: a plain loop over attempts, and the only module importing `backoff`.

`backoff` gives the schedule: `backoff.expo` the doubling caps and `backoff.full_jitter`
the draw below each cap. The loop is ours (as openai-python's is), so a wait the server
asked for is never jittered below what it asked and the call's deadline is checked
before every wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import backoff
from attrs import evolve, field, frozen

from .._headers import parse_retry_after
from .._time import time_left
from ..errors import APIConnectionError, ParameterError, ResponseDecodeError
from .chain import Handler, Request, Response

__all__ = ["RetryEvent", "RetryMiddleware", "RetryPolicy", "is_testing", "set_testing"]

logger = logging.getLogger("leadway_async")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# The statuses that say the server did not act on the request: the only ones after which
# a request that must not be sent twice (`Request.idempotent` false) is retried.
NOT_TAKEN_STATUSES = frozenset({429, 503})
_testing = False


class _TestingMode:
    """What `set_testing()` returns: usable as a context manager restoring the old mode."""

    def __init__(self, previous: bool) -> None:
        self._previous = previous

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        global _testing
        _testing = self._previous


def set_testing(on: bool) -> _TestingMode:
    """Turn every retry wait to zero (for test suites), or back to normal.

    Takes effect at once; `with set_testing(True): ...` restores the previous mode on exit.
    """
    global _testing
    previous, _testing = _testing, on
    return _TestingMode(previous)


def is_testing() -> bool:
    """Whether `set_testing(True)` is in force."""
    return _testing


@frozen
class RetryEvent:
    """One retry about to happen: the attempt that failed, the wait before the next, why."""

    attempt: int
    wait: float
    reason: str
    request: Request


def _count(_: object, attribute: Any, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"{attribute.name} must be an integer >= 0, got {value!r}")


def _seconds(_: object, attribute: Any, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ParameterError(f"{attribute.name} must be a number of seconds >= 0, got {value!r}")


@frozen
class RetryPolicy:
    """How failed attempts are retried.

    `max_retries` retries after the first attempt (0 turns retrying off); the waits'
    caps grow from `base_delay` by doubling up to `max_delay`, and each wait is drawn
    below its cap by `jitter` (full jitter). On a 429 the wait is what the server asked
    (`Retry-After`, else the rate-limit window) plus a little, never less; a server
    asking for more than `max_retry_wait` seconds, or a used-up daily quota, ends the
    call at once. `on_retry` is called with a `RetryEvent` before each wait (for metrics).
    """

    max_retries: int = field(default=3, validator=_count)
    base_delay: float = field(default=0.5, validator=_seconds)
    max_delay: float = field(default=8.0, validator=_seconds)
    max_retry_wait: float = field(default=60.0, validator=_seconds)
    retry_statuses: frozenset[int] = RETRY_STATUSES
    on_retry: Callable[[RetryEvent], object] | None = field(default=None, eq=False)
    jitter: Callable[[float], float] = field(default=backoff.full_jitter, eq=False)

    def delay_caps(self) -> Iterator[float]:
        """The cap of each backoff wait in turn: `base_delay` doubling up to `max_delay`."""
        caps = backoff.expo(base=2, factor=self.base_delay, max_value=self.max_delay)
        next(caps)  # backoff's generators start with a bare yield for `send()`
        return caps

    def wait(self, outcome: Response | Exception, cap: float) -> float:
        """The wait before retrying after `outcome`, the backoff cap being `cap`.

        What the server asked for plus a jitter of up to 10 % (at most 1 s); else a
        draw below `cap`.
        """
        asked = server_asked_wait(outcome) if isinstance(outcome, Response) else None
        if asked is None:
            return self.jitter(cap)
        return asked + self.jitter(min(1.0, 0.1 * asked + 0.05))

    def gives_up(self, outcome: Response | Exception) -> bool:
        """A 429 that waiting will not cure soon: daily quota used up, or too long a wait."""
        if not isinstance(outcome, Response) or outcome.status != 429:
            return False
        if outcome.rate_limit.daily_remaining == 0:
            return True
        asked = server_asked_wait(outcome)
        return asked is not None and asked > self.max_retry_wait


def server_asked_wait(response: Response) -> float | None:
    """The wait a 429 asks for: `Retry-After`, else the length of the rate-limit window."""
    if response.status != 429:
        return None
    asked = parse_retry_after(response.headers)
    if asked is None and response.rate_limit.interval_ms is not None:
        asked = response.rate_limit.interval_ms / 1000
    return asked


def failure_reason(outcome: Response | Exception) -> str:
    """What went wrong, for logs and `RetryEvent.reason`."""
    if isinstance(outcome, Response):
        return f"HTTP {outcome.status}"
    return f"{type(outcome).__name__}: {outcome}"


class RetryMiddleware:
    """Retries connection errors, timeouts, bodies cut short and the statuses in the policy.

    A request that must not be sent twice (a token grant) is retried only after an
    answer saying the server did not take it: 429 or 503.

    Each attempt goes down the rest of the chain as the same request with `attempt` set,
    so a retried page asks the same cursor again. The final outcome is returned (an error
    response) or raised (a connection error), exactly as without retries.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock

    async def __call__(self, request: Request, handler: Handler) -> Response:
        policy = self.policy
        caps = policy.delay_caps()
        while True:
            outcome = await self._attempt(request, handler)
            if isinstance(outcome, Response) and outcome.status not in policy.retry_statuses:
                return outcome
            if not request.idempotent and not _not_taken(outcome):
                return _final(outcome)
            if request.attempt > policy.max_retries or policy.gives_up(outcome):
                return _final(outcome)
            wait = 0.0 if _testing else policy.wait(outcome, next(caps))
            left = time_left(request.deadline, self._clock())
            if left is not None and wait >= left:
                return _final(outcome)  # waiting would pass the call's deadline
            self._announce(RetryEvent(request.attempt, wait, failure_reason(outcome), request))
            await self._sleep(wait)
            request = evolve(request, attempt=request.attempt + 1)

    @staticmethod
    async def _attempt(request: Request, handler: Handler) -> Response | Exception:
        """One attempt: its response, or the error worth retrying that it raised."""
        try:
            return await handler(request)
        except (APIConnectionError, ResponseDecodeError) as error:
            return error

    def _announce(self, event: RetryEvent) -> None:
        request = event.request
        logger.warning(
            "retrying %s %s in %.2f s after %s (attempt %d of %d failed)",
            request.method, request.path, event.wait, event.reason, event.attempt,
            self.policy.max_retries + 1,
        )  # fmt: skip
        if self.policy.on_retry is not None:
            self.policy.on_retry(event)


def _not_taken(outcome: Response | Exception) -> bool:
    return isinstance(outcome, Response) and outcome.status in NOT_TAKEN_STATUSES


def _final(outcome: Response | Exception) -> Response:
    if isinstance(outcome, Response):
        return outcome
    raise outcome
