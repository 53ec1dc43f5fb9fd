"""One Redis connection as the shared throttle and token store use it: made from a URL
(checked first) or taken as given, every call under a short time limit, described
without its password, and its failures sorted into outages and refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    AuthorizationError,
    BusyLoadingError,
    ClusterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..errors import ParameterError

__all__ = ["Failure", "RedisConnection", "classify", "redact_url", "refusal"]

T = TypeVar("T")

Failure = Literal["outage", "refused"]
"""What a failed Redis call means: `outage` (it may answer later: unreachable, timed out,
loading, read-only during a failover, out of memory) or `refused` (it will not: wrong
credentials, missing permission, a key of another type, a script it rejects)."""

_SCHEMES = ("redis", "rediss", "unix")
_STEPS = 10  # `call()` counts its time limit in this many steps
_SECRET_QUERY_KEYS = ("password", "pass", "token", "secret")
_REFUSALS = (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    AuthorizationError,
    NoPermissionError,
)
_OUTAGES = (
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,
    ReadOnlyError,
    OutOfMemoryError,
    ClusterDownError,
    TryAgainError,
    asyncio.TimeoutError,
    OSError,
)


def redact_url(url: str) -> str:
    """`url` with its password (and any password-like query value) replaced by `***`."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            name = user.partition(":")[0]
            netloc = f"{name}:***@{host}"
        query = urlencode(
            [
                (key, "***" if key.lower() in _SECRET_QUERY_KEYS else value)
                for key, value in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="*",
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<a URL that cannot be parsed>"


def _check_url(url: str, parameter: str) -> None:
    """`ParameterError` naming `parameter` unless `url` is a Redis URL redis-py can use."""
    shown = redact_url(url)

    def refuse(reason: str) -> ParameterError:
        return ParameterError(
            f"{parameter} must be a Redis URL (redis://[[user]:password@]host[:port][/db], "
            f"rediss://... or unix:///path/to.sock) or a redis.asyncio.Redis client: "
            f"{reason}; got {shown!r}"
        )

    try:
        parts = urlsplit(url)
        port = parts.port  # reading it checks it
    except ValueError as exc:
        raise refuse(str(exc)) from None
    if parts.scheme not in _SCHEMES:
        raise refuse(f"the scheme must be one of {', '.join(_SCHEMES)}")
    if parts.scheme == "unix":
        if not parts.path:
            raise refuse("a unix:// URL needs the socket's path")
        return
    if not parts.hostname:
        raise refuse("it names no host")
    if port == 0:
        raise refuse("port 0 is not a port a server listens on")
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise refuse(f"the path must be a database number, not {parts.path!r}")


def _describe(client: Redis) -> str:
    """Where a given client connects, without credentials."""
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}"
    host, port, database = (
        kwargs.get("host", "localhost"),
        kwargs.get("port", 6379),
        kwargs.get("db", 0),
    )
    return f"redis://{host}:{port}/{database}"


class RedisConnection:
    """A `redis.asyncio.Redis` client and how this package uses it.

    From a URL, the client is made here (closed by `aclose()`) with no retries and no
    time limits of its own; a client given is used as it is and never closed here.
    Either way every call made through `call()` is abandoned after `timeout_s` of time
    the event loop was free to hear the answer (see `call()`). `where` describes the
    server without any password.
    """

    def __init__(self, url_or_client: str | Redis, *, timeout_s: float, parameter: str) -> None:
        self.timeout_s = timeout_s
        if isinstance(url_or_client, str):
            _check_url(url_or_client, parameter)
            try:
                # No time limits here: redis-py's count a busy event loop as a slow Redis.
                self.client: Redis = Redis.from_url(
                    url_or_client,
                    socket_timeout=None,
                    socket_connect_timeout=None,
                    retry=Retry(NoBackoff(), 0),
                )
            except ValueError as exc:  # a query option redis-py cannot read
                raise ParameterError(
                    f"{parameter} has an option redis-py cannot read ({exc}); got "
                    f"{redact_url(url_or_client)!r}"
                ) from None
            self.owned = True
            self.where = redact_url(url_or_client)
        elif isinstance(url_or_client, Redis):
            self.client = url_or_client
            self.owned = False
            self.where = _describe(url_or_client)
        else:
            raise TypeError(
                f"{parameter} must be a Redis URL or a redis.asyncio.Redis client, not "
                f"{type(url_or_client).__name__}"
            )

    async def call(self, awaitable: Awaitable[T]) -> T:
        """Await one Redis call; abandon it (`asyncio.TimeoutError`) once it has had
        `timeout_s` to answer.

        The time is counted in ten steps, and a step the event loop came back to late (it
        was busy with other work, as a walker processing a page keeps it) counts as one
        step: an answer waiting in the socket while the loop is busy is not a Redis that
        does not answer. So a call gets at least ten turns of the loop, and at most ten
        steps plus what the loop was kept from them.
        """
        task = asyncio.ensure_future(awaitable)
        step = self.timeout_s / _STEPS
        try:
            for _ in range(_STEPS):
                done, _ = await asyncio.wait({task}, timeout=step)
                if done:
                    return task.result()
        except BaseException:
            _abandon(task)
            raise
        if task.done():  # it ended just now
            return task.result()
        _abandon(task)
        raise asyncio.TimeoutError(f"Redis did not answer within {self.timeout_s:g} s")

    async def drop_idle(self) -> None:
        """Close the pool's idle connections (after an outage they may be dead ends); the
        next calls open new ones."""
        await self.call(self.client.connection_pool.disconnect(inuse_connections=False))

    async def aclose(self) -> None:
        """Close the client if it was made here."""
        if self.owned:
            await self.client.aclose()


def _abandon(task: asyncio.Future[Any]) -> None:
    """Cancel a call no one waits for any more; whatever it ends with is dropped."""
    task.cancel()
    task.add_done_callback(lambda done: done.cancelled() or done.exception())


def classify(exc: BaseException) -> Failure | None:
    """Whether `exc`, raised by a Redis call, is an outage or a refusal (None: neither,
    so not Redis's doing)."""
    if isinstance(exc, _REFUSALS):
        return "refused"
    if isinstance(exc, _OUTAGES):
        return "outage"
    if isinstance(exc, (ResponseError, RedisError)):
        return "refused"
    return None


def refusal(exc: BaseException) -> Literal["credentials", "permission", "foreign key", "other"]:
    """Why Redis refused: the credentials, a missing permission, a key holding a value of
    another type than the command needs, or something else."""
    if isinstance(exc, (AuthenticationError, AuthenticationWrongNumberOfArgsError)):
        return "credentials"
    if isinstance(exc, (AuthorizationError, NoPermissionError)):
        return "permission"
    if "WRONGTYPE" in str(exc):
        return "foreign key"
    return "other"
