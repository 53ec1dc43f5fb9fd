"""Retries with backoff: the only module that imports `backoff`.

`backoff` drives the loop (one `on_exception` around one attempt, so retries never stack),
but the waits are ours. The wait generator receives each failure and computes its wait:
what the server asked for on a 429, never less, else exponential backoff with full
jitter. It hands `backoff` a zero and the `on_backoff` handler does the real sleep, so the
clock can be replaced in tests and `set_testing()` can turn waits off. `backoff`'s own
jitter (which would shorten a server-asked wait) and `max_time` (only checked between
attempts) are not used; the call's deadline is carried by the request and respected here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, cast

import backoff
from attrs import evolve, field, frozen

from .._headers import parse_retry_after
from ..errors import APIConnectionError, ResponseDecodeError
from .chain import Handler, Request, Response

__all__ = ["RetryEvent", "RetryMiddleware", "RetryPolicy", "is_testing", "set_testing"]

logger = logging.getLogger("leadway_async")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_testing = False


def set_testing(on: bool) -> None:
    """Turn every retry wait to zero (for test suites), or back to normal."""
    global _testing
    _testing = on


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


@frozen
class RetryPolicy:
    """How failed attempts are retried.

    `max_retries` retries after the first attempt (0 turns retrying off); waits grow
    from `base_delay` by doubling up to `max_delay`, each drawn at random below its cap
    (full jitter). On a 429 the wait is what the server asked (`Retry-After`, else the
    rate-limit window), never less; a server asking for more than `max_retry_wait`
    seconds, or a used-up daily quota, ends the call at once. `on_retry` is called with
    a `RetryEvent` before each wait (for metrics).
    """

    max_retries: int = field(default=3)
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_wait: float = 60.0
    retry_statuses: frozenset[int] = RETRY_STATUSES
    on_retry: Callable[[RetryEvent], object] | None = field(default=None, eq=False)

    @max_retries.validator
    def _check(self, _: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {value!r}")


class _Failed(Exception):
    """A failed attempt worth retrying: its response (an error status) or its error."""

    def __init__(self, outcome: Response | Exception) -> None:
        super().__init__()
        self.outcome = outcome
        self.response = outcome if isinstance(outcome, Response) else None
        self.wait = 0.0  # decided by the wait generator before the retry


class _Call:
    """One call through the middleware: the request and the attempt it is on."""

    def __init__(self, request: Request, handler: Handler) -> None:
        self.request = request
        self.handler = handler


def failure_reason(failure: _Failed) -> str:
    """What went wrong, for logs and `RetryEvent.reason`."""
    if failure.response is not None:
        return f"HTTP {failure.response.status}"
    return f"{type(failure.outcome).__name__}: {failure.outcome}"


def server_asked_wait(response: Response) -> float | None:
    """The wait a 429 asks for: `Retry-After`, else the length of the rate-limit window."""
    if response.status != 429:
        return None
    asked = parse_retry_after(response.headers)
    if asked is None and response.rate_limit.interval_ms is not None:
        asked = response.rate_limit.interval_ms / 1000
    return asked


def gives_up_at_once(failure: _Failed, policy: RetryPolicy) -> bool:
    """A 429 that waiting will not cure soon: daily quota used up, or too long a wait."""
    response = failure.response
    if response is None or response.status != 429:
        return False
    if response.rate_limit.daily_remaining == 0:
        return True
    asked = server_asked_wait(response)
    return asked is not None and asked > policy.max_retry_wait


def backoff_wait(policy: RetryPolicy, retry: int, rng: random.Random) -> float:
    """The wait before retry number `retry` (1-based) when the server asked for none."""
    cap = min(policy.max_delay, policy.base_delay * 2 ** (retry - 1))
    return rng.uniform(0, cap)


def next_wait(policy: RetryPolicy, retry: int, failure: _Failed, rng: random.Random) -> float:
    """The wait before retry number `retry`: the server's ask plus a little, else backoff."""
    asked = server_asked_wait(failure.response) if failure.response is not None else None
    if asked is None:
        return backoff_wait(policy, retry, rng)
    return asked + rng.uniform(0, min(1.0, 0.1 * asked + 0.05))  # jitter only adds


class RetryMiddleware:
    """Retries connection errors, timeouts, bodies cut short and the statuses in the policy.

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
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        waits: Any = self._waits  # backoff's stubs do not know generators that receive
        self._attempts = backoff.on_exception(
            waits,
            _Failed,
            max_tries=self.policy.max_retries + 1,
            jitter=None,
            giveup=lambda failure: gives_up_at_once(cast(_Failed, failure), self.policy),
            on_backoff=self._before_retry,
            raise_on_giveup=True,
            logger=None,  # our own WARNING per retry says more
        )(self._attempt)

    async def __call__(self, request: Request, handler: Handler) -> Response:
        try:
            response: Response = await self._attempts(_Call(request, handler))
        except _Failed as failure:
            if isinstance(failure.outcome, Response):
                return failure.outcome
            raise failure.outcome from None
        return response

    async def _attempt(self, call: _Call) -> Response:
        try:
            response = await call.handler(call.request)
        except (APIConnectionError, ResponseDecodeError) as error:
            raise _Failed(error) from error
        if response.status in self.policy.retry_statuses:
            raise _Failed(response)
        return response

    def _waits(self) -> Generator[float, _Failed, None]:
        """Receives each failure and decides its wait; `backoff` itself always gets 0."""
        failure = yield 0.0
        retry = 0
        while True:
            retry += 1
            failure.wait = 0.0 if _testing else next_wait(self.policy, retry, failure, self._rng)
            failure = yield 0.0

    async def _before_retry(self, details: Any) -> None:
        failure: _Failed = details["exception"]
        call: _Call = details["args"][0]
        request = call.request
        deadline = request.deadline
        if deadline is not None and self._clock() + failure.wait >= deadline:
            raise failure  # waiting would pass the call's deadline: this was the last try
        event = RetryEvent(request.attempt, failure.wait, failure_reason(failure), request)
        logger.warning(
            "retrying %s %s in %.2f s after %s (attempt %d of %d failed)",
            request.method, request.path, failure.wait, event.reason, request.attempt,
            self.policy.max_retries + 1,
        )  # fmt: skip
        if self.policy.on_retry is not None:
            self.policy.on_retry(event)
        await self._sleep(failure.wait)
        call.request = evolve(request, attempt=request.attempt + 1)
