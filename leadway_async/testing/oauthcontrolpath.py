"""The OAuth control routes, for tests whose clients run in another process.

Not part of the API: each needs the emulator's static bearer token (401 otherwise), and
none is rate limited or recorded. Parameters come in the query string or a form body.

- `POST /_emulator/oauth/code` (`user_type`: Location by default or Company;
  `location_id`; `redirect_uri`) answers `{"code"}`, a single-use authorization code.
- `POST /_emulator/oauth/revoke` (`access_token`, or none for every access token issued so
  far) answers `{"revoked"}`, how many valid tokens it revoked.
- `GET /_emulator/oauth/requests` answers the OAuth request counters (`oauth_requests`).
- `GET /_emulator/oauth/tokens` answers `{"valid_access_tokens"}`.

A bad parameter is a 422. Every body carries a `traceId`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from .bodies import error_body, json_body
from .oauth import LOCATION
from .oauthpath import read_form
from .state import EmulatorState, bearer_token

__all__ = [
    "CODE_PATH",
    "REQUESTS_PATH",
    "REVOKE_PATH",
    "TOKENS_PATH",
    "answer_control",
    "is_control",
]

CODE_PATH = "/_emulator/oauth/code"
REVOKE_PATH = "/_emulator/oauth/revoke"
REQUESTS_PATH = "/_emulator/oauth/requests"
TOKENS_PATH = "/_emulator/oauth/tokens"

_PARAMETERS = {
    ("POST", CODE_PATH): ("user_type", "location_id", "redirect_uri"),
    ("POST", REVOKE_PATH): ("access_token",),
    ("GET", REQUESTS_PATH): (),
    ("GET", TOKENS_PATH): (),
}


def is_control(request: web.Request) -> bool:
    """Whether the request is for one of these control routes (method and path)."""
    return (request.method, request.path) in _PARAMETERS


async def answer_control(
    state: EmulatorState, request: web.Request, trace_id: str
) -> tuple[int, bytes]:
    """The status and body answering a control route's request."""
    allowed = _PARAMETERS[(request.method, request.path)]
    if bearer_token(request.headers.get("Authorization")) != state.token:
        return 401, error_body(401, trace_id=trace_id)
    pairs = [*request.query.items(), *(await read_form(request) or [])]
    try:
        params = _params(pairs, allowed)
        body = _act(state, request.path, params)
    except ValueError as exc:
        return 422, error_body(422, str(exc), trace_id=trace_id)
    return 200, json_body(body, trace_id=trace_id)


def _act(state: EmulatorState, path: str, params: dict[str, str]) -> dict[str, Any]:
    oauth = state.oauth
    if path == CODE_PATH:
        code = oauth.authorization_code(
            params.get("user_type", LOCATION),
            params.get("location_id"),
            redirect_uri=params.get("redirect_uri"),
        )
        return {"code": code}
    if path == REVOKE_PATH:
        return {"revoked": oauth.revoke(params.get("access_token"))}
    if path == REQUESTS_PATH:
        return dict(oauth.counts())
    return {"valid_access_tokens": oauth.valid_access_token_count()}


def _params(pairs: list[tuple[str, str]], allowed: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise ValueError(f"property {name} should not exist")
        if name in params:
            raise ValueError(f"{name} must be a single value, not an array")
        if value:
            params[name] = value
    return params
