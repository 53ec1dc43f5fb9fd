"""The request road: immutable `Request` and fully-read `Response` values, and `compose`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from attrs import field, frozen

from ..models import RateLimit

__all__ = [
    "BodyReader",
    "Handler",
    "Middleware",
    "Request",
    "Response",
    "compose",
    "request_id_from",
    "request_id_of",
]

BodyReader = Callable[[int, Mapping[str, str], bytes], Awaitable[Any]]
"""Turns a success answer (status, headers, whole body) into `Response.data`."""


@frozen
class Request:
    """One API call as it travels down the chain; it carries no bearer token.

    `deadline` is when the whole call must be over, on the `time.monotonic()` clock
    (None: no deadline); `attempt` counts from 1 and is set by the retry middleware.
    `form` is a form-encoded body (the token endpoint's grants: hidden from the repr);
    `idempotent` is false for a request that must not be sent twice when the server may
    have taken the first (a grant spends a single-use code or refresh token). `read`
    turns a success body into `Response.data` (None: the body decoded as JSON); an error
    it raises is the attempt's, so a `ResponseDecodeError` is retried like any other.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    deadline: float | None = None
    attempt: int = 1
    form: tuple[tuple[str, str], ...] | None = field(default=None, repr=False)
    idempotent: bool = True
    read: BodyReader | None = field(default=None, eq=False, repr=False)

    @property
    def query(self) -> dict[str, str]:
        """The query parameters as a dict."""
        return dict(self.params)


@frozen(eq=False)
class Response:
    """A complete answer: status, headers and the whole body, already read.

    `data` is the body decoded as JSON (None for an error body that is not JSON), or
    what the request's `read` made of a success body;
    `rate_limit` is what the `X-RateLimit-*` headers said; `elapsed` is in seconds;
    `credential` names the credential the request was sent with (never the credential
    itself; None for a static token or none), so a 401 can say which one was refused.
    """

    request: Request
    status: int
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    data: Any = field(repr=False)
    rate_limit: RateLimit
    elapsed: float
    credential: object = field(default=None, repr=False)

    @property
    def request_id(self) -> str | None:
        """The server's id for this request: the body's `traceId`, else an `X-Request-Id`
        header; None when it sent neither."""
        return request_id_of(self.data, self.headers)


def request_id_of(data: Any, headers: Mapping[str, str]) -> str | None:
    """The server's id for a request: the decoded body's `traceId`, else an
    `X-Request-Id` header; None when it sent neither."""
    return request_id_from(data.get("traceId") if isinstance(data, dict) else None, headers)


def request_id_from(trace: object, headers: Mapping[str, str]) -> str | None:
    """The server's id for a request: `trace` (a body's `traceId`) if it is text, else an
    `X-Request-Id` header; None when it sent neither."""
    if isinstance(trace, str) and trace:
        return trace
    return headers.get("X-Request-Id")


Handler = Callable[[Request], Awaitable[Response]]
"""Sends a request and returns its complete response."""

Middleware = Callable[[Request, Handler], Awaitable[Response]]
"""Does something around a request, calling the next handler zero or more times."""


def compose(transport: Handler, middlewares: Sequence[Middleware]) -> Handler:
    """One handler that runs `middlewares` around `transport`, the first listed outermost."""
    handler = transport
    for middleware in reversed(middlewares):
        handler = _bind(middleware, handler)
    return handler


def _bind(middleware: Middleware, next_handler: Handler) -> Handler:
    async def handler(request: Request) -> Response:
        return await middleware(request, next_handler)

    handler.__qualname__ = f"{getattr(middleware, '__qualname__', type(middleware).__name__)}"
    return handler
