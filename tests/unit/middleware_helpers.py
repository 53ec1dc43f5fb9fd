"""Fake handlers, responses and a fake clock for testing middlewares alone."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from leadway_async.middleware import Request, Response
from leadway_async.models import RateLimit

REQUEST = Request("GET", "/conversations/search", (("locationId", "L1"),))


def response(status: int = 200, request: Request = REQUEST, **headers: Any) -> Response:
    """A complete response; header names use underscores for dashes."""
    raw = CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): str(v) for k, v in headers.items()}))
    return Response(
        request=request,
        status=status,
        headers=raw,
        body=b"{}",
        data={},
        rate_limit=RateLimit.from_headers(raw),
        elapsed=0.001,
    )


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


class ScriptedHandler:
    """Answers each request with the next outcome: a Response, or an exception to raise."""

    def __init__(self, outcomes: Iterable[Response | Exception | int]) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if self.outcomes else 200
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, int):
            return response(outcome, request)
        return outcome
