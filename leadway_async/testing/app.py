"""The HTTP side: an aiohttp application answering `GET /conversations/search` like the real API.

Checks run in this order: bearer token (401), rate limits (429), path and method (404),
Version header (400), locationId (400 missing, 403 another location), then the fault for
this request if any, then the query (422), then the page.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from .bodies import error_body
from .faults import Fault
from .query import QueryError, parse_query
from .ratelimit import Quota
from .recording import RecordedRequest
from .spec import SEARCH_PATH, VERSIONS
from .state import EmulatorState

__all__ = ["build_app"]

_JSON = "application/json; charset=utf-8"


def build_app(state: EmulatorState) -> web.Application:
    """An application serving `state` on every path (all but the search path answer 404)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _Handler(state).handle)
    return app


class _Outcome:
    """What was answered, for the record."""

    __slots__ = ("fault", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.fault: str | None = None


class _Handler:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    async def handle(self, request: web.Request) -> web.StreamResponse:
        received = time.time()
        request_id = str(uuid.uuid4())
        outcome = _Outcome()
        try:
            return await self._answer(request, request_id, outcome)
        finally:
            headers = CIMultiDict(
                (k, v) for k, v in request.headers.items() if k.lower() != "authorization"
            )
            self._state.recorder.add(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query={k: request.query[k] for k in request.query},
                    raw_query=request.query_string,
                    headers=CIMultiDictProxy(headers),
                    status=outcome.status,
                    fault=outcome.fault,
                    request_id=request_id,
                    time=received,
                )
            )

    async def _answer(
        self, request: web.Request, request_id: str, outcome: _Outcome
    ) -> web.StreamResponse:
        state = self._state
        if state.latency_ms > 0:
            await asyncio.sleep(state.latency_ms / 1000)
        headers = {"X-Request-Id": request_id}
        if not self._authorized(request):
            return _error(outcome, 401, headers)

        location = request.query.get("locationId", "")
        quota = state.limiter.hit((state.token, location))
        headers.update(quota.headers())
        if not quota.allowed:
            return self._too_many(outcome, headers, quota)
        if request.method != "GET" or request.path != SEARCH_PATH:
            return _error(outcome, 404, headers, f"Cannot {request.method} {request.path}")
        version = request.headers.get("Version")
        if version is None:
            return _error(outcome, 400, headers, "Version header was not found")
        if version not in VERSIONS:
            return _error(outcome, 400, headers, "Version header must be " + " or ".join(VERSIONS))
        if not location:
            return _error(outcome, 400, headers, "locationId is required")
        if location != state.location_id:
            return _error(outcome, 403, headers)

        fault = state.plan.next()
        if fault is not None and fault.action != "ok":
            outcome.fault = fault.kind
            answered = await self._fault(request, fault, outcome, headers, quota)
            if answered is not None:
                return answered
        try:
            query = parse_query(request.query.items())
        except QueryError as exc:
            return _error(outcome, 422, headers, exc.messages)
        body = state.store.page(
            query,
            use_cursor=fault is None or fault.action != "stuck",
            empty=fault is not None and fault.action == "empty",
        )
        if fault is not None and fault.action in ("drop", "truncate"):
            keep = 0 if fault.action == "drop" else len(body) // 2
            return await _cut_short(request, outcome, headers, body, keep)
        outcome.status = 200
        return web.Response(body=body, headers={**headers, "Content-Type": _JSON})

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self._state.token

    def _too_many(self, outcome: _Outcome, headers: dict[str, str], quota: Quota) -> web.Response:
        self._state.count_429 += 1
        retry_after = self._state.retry_after
        if retry_after is not None and not quota.daily_exhausted:
            headers["Retry-After"] = _seconds(retry_after)
        return _error(outcome, 429, headers)

    async def _fault(
        self,
        request: web.Request,
        fault: Fault,
        outcome: _Outcome,
        headers: dict[str, str],
        quota: Quota,
    ) -> web.StreamResponse | None:
        """Answer for a fault that replaces the page; None for one that alters it."""
        if fault.action == "latency" and fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        elif fault.action == "status" and fault.status == 429:
            headers["X-RateLimit-Remaining"] = "0"
            return self._too_many(outcome, headers, quota)
        elif fault.action == "status" and fault.status is not None:
            return _error(outcome, fault.status, headers)
        elif fault.action == "drop:early":
            _close(request)
            # aiohttp fails quietly to write this to the closed transport.
            return web.Response(status=500)
        return None


def _error(
    outcome: _Outcome,
    status: int,
    headers: dict[str, str],
    message: str | list[str] | None = None,
) -> web.Response:
    outcome.status = status
    return web.Response(
        status=status, body=error_body(status, message), headers={**headers, "Content-Type": _JSON}
    )


async def _cut_short(
    request: web.Request, outcome: _Outcome, headers: dict[str, str], body: bytes, keep: int
) -> web.StreamResponse:
    """Send the head of a 200 promising all of `body`, then `keep` bytes of it, then close."""
    outcome.status = 200
    response = web.StreamResponse(status=200, headers={**headers, "Content-Type": _JSON})
    response.content_length = len(body)
    await response.prepare(request)
    if keep:
        await response.write(body[:keep])
    _close(request)
    return response


def _close(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
