"""The JSON error bodies the real API answers with, status by status."""

from __future__ import annotations

from http import HTTPStatus

import orjson

__all__ = ["error_body"]

_DEFAULTS: dict[int, tuple[str, str | None]] = {
    400: ("Bad Request", None),
    401: ("Invalid token: access token is invalid", "Unauthorized"),
    403: ("The token does not have access to this location.", "Forbidden"),
    404: ("Not Found", "Not Found"),
    422: ("Unprocessable Entity", "Unprocessable Entity"),
    429: ("Too many requests", "Too Many Requests"),
}


def error_body(status: int, message: str | list[str] | None = None) -> bytes:
    """`{"statusCode", "message", "error"}` for `status`; a 422's message is always a list.

    A 400 has no `error` field, as in the API's BadRequestDTO.
    """
    default, error = _DEFAULTS.get(status, (_phrase(status), _phrase(status)))
    text = default if message is None else message
    body: dict[str, object] = {"statusCode": status, "message": text}
    if status == 422 and isinstance(text, str):
        body["message"] = [text]
    if error is not None:
        body["error"] = error
    return orjson.dumps(body)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
