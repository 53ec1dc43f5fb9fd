"""The JSON bodies the real API answers with: a page, and the error body status by status.

Every body ends with a top-level `traceId`, the id of the request (a UUID4 string).
"""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any

import orjson

__all__ = ["error_body", "grant_error_body", "json_body", "new_trace_id", "page_body"]

_DEFAULTS: dict[int, tuple[str, str | None]] = {
    400: ("Bad Request", None),
    401: ("Invalid token: access token is invalid", "Unauthorized"),
    403: ("The token does not have access to this location.", "Forbidden"),
    404: ("Not Found", "Not Found"),
    422: ("Unprocessable Entity", "Unprocessable Entity"),
    429: ("Too many requests", "Too Many Requests"),
}


def new_trace_id() -> str:
    """A fresh trace id."""
    return str(uuid.uuid4())


def page_body(items: bytes, total: int, trace_id: str) -> bytes:
    """`{"conversations": [...], "total", "traceId"}` around conversations already encoded.

    `items` is the JSON of the conversations joined by commas, without the brackets.
    """
    return b'{"conversations":[%b],"total":%d,"traceId":%b}' % (
        items,
        total,
        orjson.dumps(trace_id),
    )


def error_body(status: int, message: str | list[str] | None = None, *, trace_id: str) -> bytes:
    """`{"statusCode", "message", "error", "traceId"}` for `status`; a 422's message is a list.

    A 400 has no `error` field, as in the API's BadRequestDTO.
    """
    default, error = _DEFAULTS.get(status, (_phrase(status), _phrase(status)))
    text = default if message is None else message
    body: dict[str, object] = {"statusCode": status, "message": text}
    if status == 422 and isinstance(text, str):
        body["message"] = [text]
    if error is not None:
        body["error"] = error
    body["traceId"] = trace_id
    return orjson.dumps(body)


def json_body(fields: dict[str, Any], *, trace_id: str) -> bytes:
    """`fields` as a JSON object, with `traceId` last."""
    return orjson.dumps({**fields, "traceId": trace_id})


def grant_error_body(error: str, description: str, *, trace_id: str) -> bytes:
    """The token endpoint's refusal: `{"error", "error_description", "traceId"}` (RFC 6749)."""
    return json_body({"error": error, "error_description": description}, trace_id=trace_id)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
