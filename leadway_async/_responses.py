"""Turning a complete `Response` into a page or a typed error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._collector import collector_paused
from ._convert import decode_json, new_page, page_from_payload
from ._fast_pages import decode_page
from ._headers import parse_retry_after
from .cursor import DEFAULT_SORT_BY
from .errors import APIStatusError, RateLimitError, body_excerpt, quota_resets, status_error_class
from .middleware.chain import Response, request_id_from, request_id_of
from .models import ConversationPage, RateLimit

__all__ = ["error_from_response", "page_from_body", "raise_for_status"]


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


def page_from_body(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    sort_by: str = DEFAULT_SORT_BY,
    notes: set[str] | None = None,
) -> ConversationPage:
    """A search's success answer as a `ConversationPage`, read with the cycle collector
    paused; `ResponseDecodeError` or `ResponseValidationError` if it is not one.

    A page whose every conversation is as the model has it is decoded straight into
    models (`_fast_pages`); any other is decoded, then structured the tolerant way.

    `sort_by` is the order the page was asked in; `notes` holds the fields already warned
    about in this walk (see `page_from_payload`).
    """
    with collector_paused():
        decoded = decode_page(body)
        if decoded is not None:
            conversations, total, trace = decoded
            return new_page(
                conversations,
                total,
                sort_by=sort_by,
                rate_limit=RateLimit.from_headers(headers),
                request_id=request_id_from(trace, headers),
            )
        payload = decode_json(body, status=status, request_id=headers.get("X-Request-Id"))
        page = page_from_payload(
            payload,
            rate_limit=RateLimit.from_headers(headers),
            request_id=request_id_of(payload, headers),
            status=status,
            body=body,
            sort_by=sort_by,
            notes=notes,
        )
        del payload  # freed while the collector is still off
    return page
