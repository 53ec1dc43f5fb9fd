"""The HTTP side: an aiohttp application answering `GET /conversations/search` like the real API.

Checks run in this order: bearer token (401), rate limits (429), path and method (404),
Version header (400), locationId (400 missing, 403 another location), then the fault for
this request if any, then the query (422), then the live changes due are applied and the
page is cut. Every body carries a fresh `traceId`. The control path (`livepath`) is answered
after the token check alone.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from .bodies import error_body, new_trace_id, page_body
from .faults import Fault
from .livepath import LIVE_PATH, answer_live
from .query import QueryError, parse_query
from .ratelimit import Quota
from .recording import RecordedRequest
from .spec import SEARCH_PATH
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

    __slots__ = ("fault", "status", "trace_id")

    def __init__(self) -> None:
        self.status: int | None = None
        self.fault: str | None = None
        self.trace_id = new_trace_id()


class _Handler:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == LIVE_PATH and request.method == "GET":
            return self._live(request)
        received = time.time()
        outcome = _Outcome()
        try:
            return await self._answer(request, outcome)
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
                    trace_id=outcome.trace_id,
                    time=received,
                )
            )

    def _live(self, request: web.Request) -> web.Response:
        outcome = _Outcome()
        if not self._authorized(request):
            return _error(outcome, 401, {})
        status, body = answer_live(
            self._state.live, request.query.items(), trace_id=outcome.trace_id
        )
        return web.Response(status=status, body=body, headers={"Content-Type": _JSON})

    async def _answer(self, request: web.Request, outcome: _Outcome) -> web.StreamResponse:
        state = self._state
        if state.latency_ms > 0:
            await asyncio.sleep(state.latency_ms / 1000)
        headers: dict[str, str] = {}
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
        if version not in state.versions:
            message = "Version header must be " + " or ".join(state.versions)
            return _error(outcome, 400, headers, message)
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
        state.live.catch_up()
        items, total = state.store.page(
            query,
            use_cursor=fault is None or fault.action != "stuck",
            empty=fault is not None and fault.action == "empty",
        )
        body = page_body(items, total, outcome.trace_id)
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
    body = error_body(status, message, trace_id=outcome.trace_id)
    return web.Response(status=status, body=body, headers={**headers, "Content-Type": _JSON})


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
