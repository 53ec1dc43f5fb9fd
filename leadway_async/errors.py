"""The exception tree: everything the SDK raises derives from `LeadwayError`."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import RateLimit

_BODY_EXCERPT = 500


def body_excerpt(body: bytes | str | None, limit: int = _BODY_EXCERPT) -> str:
    """The start of a response body as text, cut to `limit` characters for messages."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class LeadwayError(Exception):
    """The base of every error the SDK raises."""


class ParameterError(LeadwayError, ValueError):
    """A value given to the SDK was refused before anything was sent; the message names it.

    A `ValueError`, so `except ValueError` keeps working.
    """


class ClientClosedError(LeadwayError, RuntimeError):
    """A request was made through a client that has been closed."""


class APIStatusError(LeadwayError):
    """The API answered with an error status (4xx or 5xx)."""

    status: int
    message: str
    body: Any
    request_id: str | None
    rate_limit: RateLimit | None

    def __init__(
        self,
        status: int,
        message: str,
        *,
        body: Any = None,
        request_id: str | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.body = body
        self.request_id = request_id
        self.rate_limit = rate_limit
        text = f"HTTP {status}: {message}"
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text)


class BadRequestError(APIStatusError):
    """400: the API rejected the request as malformed."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, invalid or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not read this location."""


class NotFoundError(APIStatusError):
    """404: no such resource."""


class UnprocessableEntityError(APIStatusError):
    """422: a parameter was unknown or had a value the API does not accept."""


class RateLimitError(APIStatusError):
    """429: a rate limit was exceeded, or the daily quota is used up.

    `retry_after` is how long the server asked to wait, in seconds, when it said;
    `daily_quota_exhausted` is true when waiting seconds will not help.
    """

    retry_after: float | None
    daily_quota_exhausted: bool

    def __init__(
        self,
        status: int,
        message: str,
        *,
        body: Any = None,
        request_id: str | None = None,
        rate_limit: RateLimit | None = None,
        retry_after: float | None = None,
        daily_quota_exhausted: bool = False,
    ) -> None:
        self.retry_after = retry_after
        self.daily_quota_exhausted = daily_quota_exhausted
        super().__init__(status, message, body=body, request_id=request_id, rate_limit=rate_limit)


def quota_resets(seconds: float, now: datetime | None = None) -> str:
    """When a used-up daily quota resets, in words: `in 3 h 05 min (at 2026-11-28 00:00 UTC)`."""
    moment = (now or datetime.now(timezone.utc)) + timedelta(seconds=seconds)
    minutes = max(0, math.ceil(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    span = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return f"in {span} (at {moment:%Y-%m-%d %H:%M} UTC)"


class ServerError(APIStatusError):
    """5xx: the API failed on its side."""


class APIConnectionError(LeadwayError):
    """The request did not get a complete answer: refused, reset or dropped connection."""


class APITimeoutError(APIConnectionError):
    """The request did not complete within its timeout or the call's deadline."""


class ResponseValidationError(LeadwayError):
    """A response body was not what the API promises (not JSON, or not the expected shape).

    `reason` says what was wrong; `status` is the answer's status, `request_id` the server's
    id for the request (the body's `traceId`, else an `X-Request-Id` header) and
    `body_excerpt` the start of the body, each when known: what a support request needs.
    """

    reason: str
    status: int | None
    request_id: str | None
    body_excerpt: str

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        body: bytes | str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.reason = reason
        self.status = status
        self.request_id = request_id
        self.body_excerpt = body_excerpt(body)
        known = [f"HTTP {status}"] if status is not None else []
        if request_id:
            known.append(f"request id {request_id}")
        text = f"{reason} ({', '.join(known)})" if known else reason
        if self.body_excerpt:
            text += f"; body: {self.body_excerpt}"
        super().__init__(text)


class ResponseDecodeError(ResponseValidationError):
    """A response body could not be decoded as JSON, as when it was cut short."""


class PaginationError(LeadwayError):
    """A walk cannot go on without risking duplicates, gaps or an endless loop.

    `resume_token` points just after the last conversation handed out, so the walk can be
    resumed once the cause is dealt with.
    """

    resume_token: str | None

    def __init__(self, message: str, *, resume_token: str | None = None) -> None:
        self.resume_token = resume_token
        super().__init__(message)


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for an error status."""
    if status >= 500:
        return ServerError
    return _STATUS_ERRORS.get(status, APIStatusError)
