"""The OAuth endpoints over HTTP: `POST /oauth/token`, `POST /oauth/locationToken` and
`GET /oauth/installedLocations`.

They are not rate limited and take no injected faults (the emulator's latency applies).
`/oauth/token` takes a form (`application/x-www-form-urlencoded`) and refuses as RFC 6749
does, `{"error", "error_description", "traceId"}`. The other two take a company access
token and a `Version` header and refuse in the API's body shape (`statusCode`, `message`,
`error`): a bad token 401, a token that is not a company's 401 "not authorized for this
scope", a missing Version 400, bad parameters 422, another company 401, a location not
served 400. Token answers carry `Cache-Control: no-store`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web

from .bodies import error_body, grant_error_body, json_body
from .oauth import NOT_IN_SCOPE, ApiError, GrantError
from .spec import version_problem
from .state import EmulatorState, bearer_token

__all__ = [
    "INSTALLED_LOCATIONS_PATH",
    "LOCATION_TOKEN_PATH",
    "TOKEN_PATH",
    "answer_oauth",
    "is_oauth",
    "read_form",
]

TOKEN_PATH = "/oauth/token"
LOCATION_TOKEN_PATH = "/oauth/locationToken"
INSTALLED_LOCATIONS_PATH = "/oauth/installedLocations"

_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_ENDPOINTS = {
    ("POST", TOKEN_PATH): "token",
    ("POST", LOCATION_TOKEN_PATH): "location_token",
    ("GET", INSTALLED_LOCATIONS_PATH): "installed_locations",
}

Answer = tuple[int, bytes, dict[str, str]]


def is_oauth(request: web.Request) -> bool:
    """Whether the request is for one of the OAuth endpoints (method and path)."""
    return (request.method, request.path) in _ENDPOINTS


async def read_form(request: web.Request) -> list[tuple[str, str]] | None:
    """The request's form fields, in order; None when the body is not a UTF-8 form."""
    if request.content_type != _FORM:
        return None
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return parse_qsl(text, keep_blank_values=True)


async def answer_oauth(state: EmulatorState, request: web.Request, trace_id: str) -> Answer:
    """The status, body and extra headers answering an OAuth endpoint's request."""
    kind = _ENDPOINTS[(request.method, request.path)]
    if kind == "token":
        return await _token(state, request, trace_id)
    oauth = state.oauth
    oauth.count(kind)
    token = bearer_token(request.headers.get("Authorization"))
    try:
        if token is not None and token == state.token:
            raise ApiError(401, NOT_IN_SCOPE)  # a location's token, not the agency's
        oauth.company(token)
        problem = version_problem(request.headers.get("Version"), state.versions)
        if problem is not None:
            raise ApiError(400, problem)
        if kind == "location_token":
            body = oauth.location_token(token, await read_form(request) or [])
            headers = dict(_NO_STORE)
        else:
            body = oauth.installed_locations(token, request.query.items())
            headers = {}
    except ApiError as refused:
        return refused.status, error_body(refused.status, refused.message, trace_id=trace_id), {}
    return 200, json_body(body, trace_id=trace_id), headers


async def _token(state: EmulatorState, request: web.Request, trace_id: str) -> Answer:
    form = await read_form(request)
    try:
        if form is None:
            state.oauth.count("invalid_request")
            raise GrantError(
                400, "invalid_request", f"Invalid request: content must be {_FORM} in UTF-8"
            )
        body = state.oauth.token(form)
    except GrantError as refused:
        answer = grant_error_body(refused.error, refused.description, trace_id=trace_id)
        return refused.status, answer, dict(_NO_STORE)
    return 200, json_body(body, trace_id=trace_id), dict(_NO_STORE)
