"""Turning a complete `Response` into a page or a typed error."""

from __future__ import annotations

from typing import Any

from ._convert import page_from_payload
from ._headers import parse_retry_after
from .cursor import DEFAULT_SORT_BY
from .errors import APIStatusError, RateLimitError, body_excerpt, quota_resets, status_error_class
from .middleware.chain import Response
from .models import ConversationPage

__all__ = ["error_from_response", "page_from_response", "raise_for_status"]


def server_message(data: Any, body: bytes) -> str:
    """The server's error message: `message` as text (a 422's list joined), else the body."""
    message = data.get("message") if isinstance(data, dict) else None
    if isinstance(message, list):
        return "; ".join(str(part) for part in message)
    if message is not None:
        return str(message)
    return body_excerpt(body) or "(empty body)"


def error_from_response(response: Response) -> APIStatusError:
    """The typed exception for an error response."""
    message = server_message(response.data, response.body)
    body = response.data if response.data is not None else body_excerpt(response.body)
    error_class = status_error_class(response.status)
    if error_class is RateLimitError:
        budget = response.rate_limit
        exhausted = budget.daily_remaining == 0
        retry_after = parse_retry_after(response.headers)
        if exhausted:
            message += " (the daily request quota is used up"
            if budget.daily_reset is not None:
                retry_after = budget.daily_reset / 1000
                message += f"; it resets {quota_resets(retry_after)}"
            message += ")"
        return RateLimitError(
            response.status,
            message,
            body=body,
            request_id=response.request_id,
            rate_limit=response.rate_limit,
            retry_after=retry_after,
            daily_quota_exhausted=exhausted,
        )
    return error_class(
        response.status,
        message,
        body=body,
        request_id=response.request_id,
        rate_limit=response.rate_limit,
    )


def raise_for_status(response: Response) -> None:
    """Raise the typed exception when `response` is not a success."""
    if not 200 <= response.status < 300:
        raise error_from_response(response)


def page_from_response(response: Response, notes: set[str] | None = None) -> ConversationPage:
    """A successful search response as a `ConversationPage`.

    `notes` holds the fields already warned about in this walk (see `page_from_payload`).
    """
    raise_for_status(response)
    return page_from_payload(
        response.data,
        rate_limit=response.rate_limit,
        request_id=response.request_id,
        status=response.status,
        body=response.body,
        sort_by=response.request.query.get("sortBy", DEFAULT_SORT_BY),
        notes=notes,
    )
