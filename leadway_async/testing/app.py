"""The HTTP side: an aiohttp application answering `GET /conversations/search` like the real API,
and the OAuth endpoints beside it (`oauthpath`).

Checks run in this order: bearer token (401; a company token 401 "not authorized for this
scope"), rate limits of the location asked for (429), path and method (404), Version header
(400), locationId (400 missing, 403 a location not served or not the token's), then the
fault for this request if any, then the query (422), then the live changes due are applied
and the page is cut. Every body carries a fresh `traceId`. The OAuth endpoints are neither
rate limited nor faulted. The control paths (`livepath`, `oauthcontrolpath`) are not recorded.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from .bodies import error_body, new_trace_id, page_body
from .faults import Fault
from .livepath import LIVE_PATH, answer_live
from .oauth import COMPANY, NOT_IN_SCOPE, Bearer
from .oauthcontrolpath import answer_control, is_control
from .oauthpath import answer_oauth, is_oauth
from .query import QueryError, parse_query
from .ratelimit import Quota
from .recording import (
    RecordedRequest,
    redacted_headers,
    redacted_pairs,
    redacted_query_string,
)
from .spec import SEARCH_PATH, version_problem
from .state import EmulatorState

__all__ = ["build_app"]

_JSON = "application/json; charset=utf-8"


def build_app(state: EmulatorState) -> web.Application:
    """An application serving `state` on every path (all but the search, OAuth and control
    paths answer 404)."""
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
        if is_control(request):
            status, body = await answer_control(self._state, request, new_trace_id())
            return web.Response(status=status, body=body, headers={"Content-Type": _JSON})
        received = time.time()
        outcome = _Outcome()
        try:
            return await self._answer(request, outcome)
        finally:
            query: dict[str, str] = {}
            for name, value in redacted_pairs(request.query.items()):
                query.setdefault(name, value)
            self._state.recorder.add(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=query,
                    raw_query=redacted_query_string(request.query_string),
                    headers=CIMultiDictProxy(CIMultiDict(redacted_headers(request.headers))),
                    status=outcome.status,
                    fault=outcome.fault,
                    trace_id=outcome.trace_id,
                    time=received,
                )
            )

    def _live(self, request: web.Request) -> web.Response:
        outcome = _Outcome()
        bearer = self._state.bearer(request.headers.get("Authorization"))
        if bearer is None or bearer.user_type == COMPANY:
            return _unauthorized(outcome, {}, bearer)
        location = request.query.get("locationId") or self._state.location_id
        world = self._state.worlds.get(location)
        if world is None or not bearer.reads(location):
            return _error(outcome, 403, {})
        status, body = answer_live(world, request.query.items(), trace_id=outcome.trace_id)
        return web.Response(status=status, body=body, headers={"Content-Type": _JSON})

    async def _answer(self, request: web.Request, outcome: _Outcome) -> web.StreamResponse:
        state = self._state
        if state.latency_ms > 0:
            await asyncio.sleep(state.latency_ms / 1000)
        if is_oauth(request):
            status, body, extra = await answer_oauth(state, request, outcome.trace_id)
            outcome.status = status
            return web.Response(status=status, body=body, headers={**extra, "Content-Type": _JSON})
        headers: dict[str, str] = {}
        bearer = state.bearer(request.headers.get("Authorization"))
        if bearer is None or bearer.user_type == COMPANY:
            return _unauthorized(outcome, headers, bearer)

        location = request.query.get("locationId", "")
        quota = state.limiter.hit(location)  # the budget is per app and location
        headers.update(quota.headers())
        if not quota.allowed:
            return self._too_many(outcome, headers, quota)
        if request.method != "GET" or request.path != SEARCH_PATH:
            return _error(outcome, 404, headers, f"Cannot {request.method} {request.path}")
        problem = version_problem(request.headers.get("Version"), state.versions)
        if problem is not None:
            return _error(outcome, 400, headers, problem)
        if not location:
            return _error(outcome, 400, headers, "locationId is required")
        world = state.worlds.get(location)
        if world is None or not bearer.reads(location):
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
        world.catch_up()
        items, total = world.store.page(
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


def _unauthorized(
    outcome: _Outcome, headers: dict[str, str], bearer: Bearer | None
) -> web.Response:
    """The 401 for a token that may not search: none valid, or a valid one out of scope."""
    return _error(outcome, 401, headers, None if bearer is None else NOT_IN_SCOPE)


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
