"""`RedisThrottle`: `Throttle`'s rule kept in Redis, so every process and host using the same
Redis and namespace shares one budget per location."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from types import TracebackType
from typing import Any

from redis.asyncio import Redis

from .._headers import parse_retry_after
from .._time import deadline_passed, time_left
from ..errors import ParameterError, RateLimitError, quota_resets
from ..middleware.chain import Handler, Request, Response
from ..middleware.throttle import DEFAULT_WINDOW_S
from ..models import RateLimit
from ._connect import RedisConnection, classify, refusal
from .errors import RedisThrottleError
from .fallback import LocalBudget
from .script import DAILY, GRANTED, WAIT, ThrottleScripts, location_keys

__all__ = ["RedisThrottle"]

logger = logging.getLogger("leadway_async")

_JITTER_S = 0.002  # the most added to a wait, so processes due at one moment ask in turn
_WINDOW_TTL_S = 86_400.0  # a learned window not confirmed for a day is probed again
_US = 1_000_000


class _Grant:
    """One request's place: its id in the local book, its Redis ticket ("" when Redis did
    not grant it) and when Redis granted it (µs of Redis's clock; 0: not known)."""

    __slots__ = ("local", "sent", "ticket")

    def __init__(self, local: int, ticket: str, sent: int) -> None:
        self.local, self.ticket, self.sent = local, ticket, sent


class _Location:
    """One location: its keys in Redis, this process's book of it, and its waiters."""

    def __init__(self, keys: list[str], budget: LocalBudget) -> None:
        self.keys = keys
        self.budget = budget
        self.lock = asyncio.Lock()  # FIFO: a process's requests go out in arrival order
        self.finished: asyncio.Future[None] | None = None  # wakes a wait for a finish
        self.grants: set[_Grant] = set()  # requests of this process in flight
        self.unreported: list[str] = []  # tickets answered while Redis was away
        self.usage: float | None = None
        self.paused_until = 0.0
        self.exhausted_until = 0.0
        self.warned_low = False


class RedisThrottle:
    """Middleware keeping the requests of every process and host that uses the same Redis
    and `namespace` inside each location's window: `Throttle`'s promises, shared.

    Pass it as `LeadwayClient(throttle=RedisThrottle(...))`. `url_or_client` is a Redis
    URL (`redis://[[user]:password@]host[:port][/db]`, `rediss://`, `unix://`; a malformed
    one is a `ParameterError` here) or a `redis.asyncio.Redis` client, which is used as it
    is and not closed by `aclose()`. `namespace` names the budget: use one per app
    (client id) whose requests share the API's limits, and the same one everywhere.

    The rule is `Throttle`'s, kept in Redis by one atomic script per request on Redis's
    clock: each request holds a place in its location's window from its send until one
    window plus the margin after its answer (or failure) was seen; one goes out only
    while fewer places than `X-RateLimit-Max` are held, so no span of one window holds
    more of the window's size, sliding or fixed. The window is learned from the answers
    once for everyone (one request in flight, across all processes, until then); an
    answer's `X-RateLimit-Remaining` below what the SDK can account for holds the excess
    for spenders it cannot see; a 429 pauses every process for `Retry-After`, else the
    window; a used-up daily quota (`X-RateLimit-Daily-Remaining: 0`) makes every process
    fail at once with `RateLimitError(daily_quota_exhausted=True)` until the announced
    reset (else for `daily_recheck_s`). A place whose answer is never reported (a process
    that died) lapses `request_timeout_s` plus one window after its send; set it to at
    least the client's `timeout`. No wait that would pass a request's deadline is started.

    Waiting: within a process, requests go out in arrival order, one location at a time
    asking Redis. A full window answers how long until its next place frees, and the
    process waits that long plus a random 0 to 2 ms, so processes due at the same moment
    reach Redis in a random order and share the places in proportion to their demand:
    none starves. When every place is held by a request still in flight, the process
    asks again every `poll_s`, or as soon as one of its own requests finishes.

    When Redis does not answer within `redis_timeout_s` (or refuses to work for a while:
    loading, read-only, out of memory), the throttle logs one WARNING and each process
    keeps `Throttle`'s rule by itself over the whole window, on top of holding no more than
    `fallback_share` of the window's places itself (at least one). The default quarter
    means four processes together never pass the window during an outage, and a walk
    goes on at a quarter of its pace rather than stopping. Every `probe_interval_s` one
    request asks Redis again; when it answers, the process hands Redis the places it took
    meanwhile and the spenders it saw, and logs at INFO that the shared budget is back.
    A refusal that waiting will not mend (wrong credentials, no permission, a key of the
    namespace holding something else) raises `RedisThrottleError` instead; the request
    is not sent.

    `usage(location_id)` is the share of the window in use as last seen by this process.
    Keys are `leadway-async:{<namespace>:<location id>}:*`: never anything derived from a
    token, each with a time to live renewed on every write.
    """

    def __init__(
        self,
        url_or_client: str | Redis,
        *,
        namespace: str = "default",
        fallback_share: float = 0.25,
        probe_interval_s: float = 5.0,
        redis_timeout_s: float = 0.5,
        request_timeout_s: float = 30.0,
        poll_s: float = 0.05,
        margin_ratio: float = 0.001,
        margin_min_s: float = 0.005,
        daily_warning_ratio: float = 0.05,
        daily_recheck_s: float = 300.0,
    ) -> None:
        _check_namespace(namespace)
        if (
            isinstance(fallback_share, bool)
            or not isinstance(fallback_share, (int, float))
            or not 0 < fallback_share <= 1
        ):
            raise ParameterError(
                f"fallback_share must be a number above 0 and at most 1, got {fallback_share!r}"
            )
        for name, value in (
            ("probe_interval_s", probe_interval_s),
            ("redis_timeout_s", redis_timeout_s),
            ("request_timeout_s", request_timeout_s),
            ("poll_s", poll_s),
            ("daily_recheck_s", daily_recheck_s),
        ):
            _check_seconds(name, value)
        self.namespace = namespace
        self._redis = RedisConnection(
            url_or_client, timeout_s=redis_timeout_s, parameter="url_or_client"
        )
        self._scripts = ThrottleScripts(
            self._redis.client,
            margin_ratio=margin_ratio,
            margin_min_s=margin_min_s,
            request_limit_s=request_timeout_s,
            history_s=request_timeout_s + 1.0,
            window_ttl_s=_WINDOW_TTL_S,
        )
        self._share = float(fallback_share)
        self._margin = (margin_ratio, margin_min_s)
        self._probe_interval_s = probe_interval_s
        self._poll_s = poll_s
        self._daily_warning_ratio = daily_warning_ratio
        self._daily_recheck_s = daily_recheck_s
        self._clock = time.monotonic
        self._locations: dict[str, _Location] = {}
        self._down = False  # Redis did not answer: each process limits itself
        self._next_probe = 0.0
        self._finishing: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"RedisThrottle({self._redis.where!r}, namespace={self.namespace!r})"

    @property
    def shared(self) -> bool:
        """Whether the budget is kept in Redis now (False: Redis is away, each process
        keeps the fallback limit)."""
        return not self._down

    def usage(self, location_id: str) -> float | None:
        """The share of the location's window in use, from 0 to 1, as this process last
        saw it (from Redis's last answer, or from its own book while Redis is away);
        None while its window is not known."""
        location = self._locations.get(location_id)
        if location is None:
            return None
        budget = location.budget
        if self._down and budget.size is not None:
            return min(1.0, budget.held(self._clock()) / budget.size)
        return location.usage

    async def aclose(self) -> None:
        """Report the answers still being reported, and close the Redis client if it was
        made from a URL here."""
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)
        await self._redis.aclose()

    async def __aenter__(self) -> RedisThrottle:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def __call__(self, request: Request, handler: Handler) -> Response:
        location = self._location(request.query.get("locationId", ""))
        grant = await self._wait_turn(location, request)
        try:
            response = await handler(request)
        except BaseException:
            await self._finish_shielded(location, grant, None)
            raise
        await self._finish_shielded(location, grant, response)
        return response

    def _location(self, location_id: str) -> _Location:
        location = self._locations.get(location_id)
        if location is None:
            budget = LocalBudget(
                share=self._share, margin_ratio=self._margin[0], margin_min_s=self._margin[1]
            )
            location = _Location(location_keys(self.namespace, location_id), budget)
            self._locations[location_id] = location
        return location

    # --- waiting for a place ------------------------------------------------------------

    async def _wait_turn(self, location: _Location, request: Request) -> _Grant:
        """Wait until `request` may go out; returns the place it holds."""
        async with location.lock:
            while True:
                if self._down and self._clock() >= self._next_probe:
                    await self._try_return()
                if self._down:
                    grant = await self._local_turn(location, request)
                else:
                    grant = await self._shared_turn(location, request)
                if grant is not None:
                    return grant

    async def _shared_turn(self, location: _Location, request: Request) -> _Grant | None:
        """Ask Redis for a place: the place, or None after waiting as long as it said."""
        try:
            answer = await self._redis.call(self._scripts.reserve(location.keys))
        except Exception as exc:
            self._failed(exc)
            return None
        if answer.code == DAILY:
            raise _daily_used_up(answer.value / _US)
        self._note(location, answer.size, answer.interval_ms, answer.held)
        now = self._clock()
        if answer.code == GRANTED:
            return self._grant(location, now, answer.ticket, answer.now)
        left = time_left(request.deadline, now)
        if answer.code == WAIT or answer.value > 0:  # a known wait (a pause counts)
            wait = answer.value / _US
            if left is not None and wait >= left:
                raise deadline_passed(request.method, request.path, "the rate limit allows it")
            await asyncio.sleep(wait + random.random() * _JITTER_S)
            return None
        # Every place is held by a request in flight: ask again soon, or when one of ours ends.
        if left is not None and left <= 0:
            raise deadline_passed(request.method, request.path, "the rate limit allows it")
        poll = self._poll_s + random.random() * _JITTER_S
        await self._next_finish(location, poll if left is None else min(poll, left))
        return None

    async def _local_turn(self, location: _Location, request: Request) -> _Grant | None:
        """The fallback while Redis is away: the place, or None after waiting (never past
        the next time Redis is to be asked again)."""
        now = self._clock()
        budget = location.budget
        if location.exhausted_until > now:
            raise _daily_used_up(location.exhausted_until - now)
        until_probe = max(0.001, self._next_probe - now)
        left = time_left(request.deadline, now)
        delay = budget.delay(now)
        if delay is None or (not budget.learned and budget.in_flight):
            if left is not None and left <= 0:
                raise deadline_passed(request.method, request.path, "the rate limit allows it")
            await self._next_finish(
                location, until_probe if left is None else min(until_probe, left)
            )
            return None
        wait = max(delay, location.paused_until - now)
        if wait <= 0:
            return self._grant(location, now, "", 0)
        if left is not None and wait >= left:
            raise deadline_passed(request.method, request.path, "the rate limit allows it")
        await asyncio.sleep(min(wait, until_probe))
        return None

    async def _next_finish(self, location: _Location, timeout: float) -> None:
        """Wait until a request of this process finishes at this location, or `timeout`."""
        if location.finished is None:
            location.finished = asyncio.get_running_loop().create_future()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(location.finished), timeout)

    def _grant(self, location: _Location, now: float, ticket: str, sent: int) -> _Grant:
        grant = _Grant(location.budget.send(now), ticket, sent)
        location.grants.add(grant)
        return grant

    # --- after the answer ---------------------------------------------------------------

    async def _finish_shielded(
        self, location: _Location, grant: _Grant, response: Response | None
    ) -> None:
        """Finish the request's place; a cancelled caller does not cut the report short."""
        task = asyncio.ensure_future(self._finish(location, grant, response))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        await asyncio.shield(task)

    async def _finish(self, location: _Location, grant: _Grant, response: Response | None) -> None:
        """Release the place one window after now, here and in Redis, and take in what
        the answer said; wake this process's waiters."""
        now = self._clock()
        location.grants.discard(grant)
        remaining = None
        if response is not None:
            self._learn(location, response, now)
            remaining = response.rate_limit.remaining
        location.budget.finish(grant.local, now, remaining)
        try:
            reported = not self._down and await self._report(location, grant, response)
            if not reported and grant.ticket:  # its place in Redis goes when Redis is back
                location.unreported.append(grant.ticket)
        finally:
            if location.finished is not None:
                finished, location.finished = location.finished, None
                finished.set_result(None)

    async def _report(self, location: _Location, grant: _Grant, response: Response | None) -> bool:
        """Tell Redis the request finished; whether it heard. Never fails the request: an
        outage turns to the fallback, a refusal is logged (the next request raises it)."""
        budget = response.rate_limit if response is not None else RateLimit()
        retry_after = parse_retry_after(response.headers) if response is not None else None
        try:
            finished = await self._redis.call(
                self._scripts.finish(
                    location.keys,
                    ticket=grant.ticket,
                    sent=grant.sent,
                    status=0 if response is None else response.status,
                    max_requests=budget.max,
                    interval_ms=budget.interval_ms,
                    remaining=budget.remaining,
                    retry_after_ms=None if retry_after is None else round(retry_after * 1000),
                    daily_remaining=budget.daily_remaining,
                    daily_reset_ms=budget.daily_reset,
                    default_pause_s=DEFAULT_WINDOW_S,
                    daily_recheck_s=self._daily_recheck_s,
                )
            )
        except Exception as exc:
            try:
                self._failed(exc)
            except RedisThrottleError as refusal:
                logger.error("the answer could not be reported to Redis: %s", refusal)
            return False
        self._note(location, finished.size, finished.interval_ms, finished.held)
        return True

    def _learn(self, location: _Location, response: Response, now: float) -> None:
        """What this process keeps of an answer for itself: the window, a 429's pause, the
        daily quota (used while Redis is away), and the warnings."""
        budget = response.rate_limit
        if budget.max is not None and budget.interval_ms is not None:
            location.budget.learn(budget.max, budget.interval_ms)
        else:
            location.budget.learned = True  # an answer without the headers: no limit announced
        if response.status == 429:
            pause = parse_retry_after(response.headers)
            if pause is None:
                pause = DEFAULT_WINDOW_S if location.budget.size is None else location.budget.span
            location.paused_until = max(location.paused_until, now + pause)
        daily, limit = budget.daily_remaining, budget.limit_daily
        if daily is None:
            return
        if daily == 0:
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

    def _note(
        self, location: _Location, size: int | None, interval_ms: int | None, held: int
    ) -> None:
        """Keep what Redis said of the window: for `usage()`, and for the fallback."""
        if size is None:
            return
        location.budget.learn(size, interval_ms)
        location.usage = min(1.0, held / size) if size > 0 else None

    # --- Redis away and back ------------------------------------------------------------

    def _failed(self, exc: Exception) -> None:
        """Turn to the fallback on an outage; raise `RedisThrottleError` on a refusal and
        anything else as it is."""
        kind = classify(exc)
        if kind is None:
            raise exc
        if kind == "refused":
            raise RedisThrottleError(self._refusal(exc)) from exc
        if not self._down:
            self._down = True
            self._next_probe = self._clock() + self._probe_interval_s
            logger.warning(
                "Redis at %s does not answer (%s); until it does, this process keeps each "
                "location to %g%% of its window by itself, and asks Redis again every %g s",
                self._redis.where,
                _reason(exc),
                self._share * 100,
                self._probe_interval_s,
            )

    async def _try_return(self) -> None:
        """Ask Redis again; when it answers, hand it what this process took meanwhile."""
        now = self._clock()
        self._next_probe = now + self._probe_interval_s  # others wait for this attempt
        try:
            await self._redis.drop_idle()  # connections from before the outage
            await self._redis.call(self._redis.client.ping())
            for location in list(self._locations.values()):
                await self._hand_over(location, now)
        except Exception as exc:
            if classify(exc) == "outage":
                return
            self._failed(exc)
        self._down = False
        logger.info("Redis at %s answers again: the shared budget is in use", self._redis.where)

    async def _hand_over(self, location: _Location, now: float) -> None:
        """Give Redis the places this process holds that Redis does not know of."""
        budget = location.budget
        flying = [grant for grant in location.grants if not grant.ticket]
        holds = budget.holds(now)
        finished = list(location.unreported)
        if not flying and not holds and not finished and budget.size is None:
            return
        adopted = await self._redis.call(
            self._scripts.adopt(
                location.keys,
                max_requests=budget.size,
                interval_ms=budget.interval_ms,
                in_flight=len(flying),
                holds_s=holds,
                finished=finished,
            )
        )
        del location.unreported[: len(finished)]
        for grant, ticket in zip(flying, adopted.tickets, strict=True):
            grant.ticket, grant.sent = ticket, 0

    def _refusal(self, exc: Exception) -> str:
        where = f"Redis at {self._redis.where}"
        kind = refusal(exc)
        if kind == "foreign key":
            return (
                f"{where} holds, under the namespace {self.namespace!r}, a key that is not "
                f"leadway-async's ({exc}); use another namespace, or delete the keys "
                f"matching leadway-async:{{{self.namespace}:*"
            )
        if kind == "permission":
            return f"{where} does not let this user run the throttle's commands: {exc}"
        if kind == "credentials":
            return f"{where} refused the credentials: {exc}"
        return f"{where} refused the throttle's script: {exc}"


def _daily_used_up(resets_in: float) -> RateLimitError:
    return RateLimitError(
        429,
        "the daily request quota of this location is used up; it resets "
        f"{quota_resets(resets_in)} (not sent: the client already knew)",
        daily_quota_exhausted=True,
        retry_after=resets_in,
    )


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _check_namespace(namespace: Any) -> None:
    if not isinstance(namespace, str) or not namespace:
        raise ParameterError(f"namespace must be a non-empty string, got {namespace!r}")
    if any(char in "{}" or char.isspace() or not char.isprintable() for char in namespace):
        raise ParameterError(
            "namespace must not contain braces, whitespace or control characters, got "
            f"{namespace!r}"
        )


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ParameterError(f"{name} must be a positive number of seconds, got {value!r}")
