"""The request road: `Request`, `Response` and `compose`, with fake transports."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from multidict import CIMultiDict

from leadway_async.middleware import Handler, Middleware, Request, Response, compose
from leadway_async.models import RateLimit

REQUEST = Request("GET", "/conversations/search", (("locationId", "loc"), ("limit", "20")))


def make_response(request: Request, status: int = 200, body: bytes = b"{}") -> Response:
    headers = CIMultiDict({"X-Request-Id": f"id-{request.attempt}"})
    return Response(
        request=request,
        status=status,
        headers=headers,
        body=body,
        data=None,
        rate_limit=RateLimit.from_headers(headers),
        elapsed=0.0,
    )


class FakeTransport:
    """Records every request it is handed and answers each with a fresh response."""

    def __init__(self, events: list[str] | None = None) -> None:
        self.requests: list[Request] = []
        self.events = events if events is not None else []

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        self.events.append("transport")
        return make_response(request)


def recording(name: str, events: list[str]) -> Middleware:
    async def middleware(request: Request, call_next: Handler) -> Response:
        events.append(f"enter {name}")
        result = await call_next(request)
        events.append(f"exit {name}")
        return result

    return middleware


async def test_the_first_middleware_listed_is_the_outermost() -> None:
    events: list[str] = []
    transport = FakeTransport(events)
    handler = compose(transport, [recording(n, events) for n in ("a", "b", "c")])
    result = await handler(REQUEST)
    assert events == [
        "enter a",
        "enter b",
        "enter c",
        "transport",
        "exit c",
        "exit b",
        "exit a",
    ]
    assert result.request is REQUEST
    assert transport.requests == [REQUEST]


async def test_a_middleware_can_short_circuit() -> None:
    events: list[str] = []
    transport = FakeTransport(events)
    cached = make_response(attrs.evolve(REQUEST, attempt=99), status=304)

    async def short_circuit(request: Request, call_next: Handler) -> Response:
        events.append("short")
        return cached

    handler = compose(transport, [recording("a", events), short_circuit, recording("c", events)])
    result = await handler(REQUEST)
    assert result is cached
    assert events == ["enter a", "short", "exit a"]
    assert transport.requests == []


async def test_a_middleware_can_call_the_next_handler_twice() -> None:
    events: list[str] = []
    transport = FakeTransport(events)

    async def twice(request: Request, call_next: Handler) -> Response:
        first = await call_next(request)
        second = await call_next(attrs.evolve(request, attempt=request.attempt + 1))
        assert first.request.attempt == 1
        return second

    handler = compose(transport, [recording("outer", events), twice, recording("inner", events)])
    result = await handler(REQUEST)
    assert [r.attempt for r in transport.requests] == [1, 2]
    assert result.request.attempt == 2
    assert result.request_id == "id-2"
    assert events == [
        "enter outer",
        "enter inner",
        "transport",
        "exit inner",
        "enter inner",
        "transport",
        "exit inner",
        "exit outer",
    ]


async def test_a_middleware_can_change_the_request_for_those_below_it() -> None:
    transport = FakeTransport()

    async def add_param(request: Request, call_next: Handler) -> Response:
        return await call_next(attrs.evolve(request, params=(*request.params, ("sort", "asc"))))

    handler = compose(transport, [add_param])
    await handler(REQUEST)
    assert transport.requests[0].query == {"locationId": "loc", "limit": "20", "sort": "asc"}
    assert REQUEST.query == {"locationId": "loc", "limit": "20"}


async def test_an_exception_propagates_through_the_outer_middlewares() -> None:
    events: list[str] = []

    async def failing(request: Request) -> Response:
        raise ConnectionResetError("dropped")

    async def catcher(request: Request, call_next: Handler) -> Response:
        try:
            return await call_next(request)
        except ConnectionResetError:
            events.append("caught")
            return make_response(request, status=599)

    handler = compose(failing, [catcher, recording("inner", events)])
    result = await handler(REQUEST)
    assert result.status == 599
    assert events == ["enter inner", "caught"]


async def test_no_middlewares_is_the_transport_itself() -> None:
    transport = FakeTransport()
    assert compose(transport, []) is transport
    assert compose(transport, ()) is transport


async def test_the_composed_handler_is_reusable() -> None:
    events: list[str] = []
    transport = FakeTransport(events)
    handler = compose(transport, [recording("a", events)])
    await handler(REQUEST)
    await handler(attrs.evolve(REQUEST, path="/other"))
    assert [r.path for r in transport.requests] == ["/conversations/search", "/other"]
    assert events == ["enter a", "transport", "exit a"] * 2


# --- Request / Response values ---------------------------------------------------------


def test_request_is_immutable() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        REQUEST.attempt = 2  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        REQUEST.params = ()  # type: ignore[misc]
    with pytest.raises((attrs.exceptions.FrozenInstanceError, AttributeError)):
        REQUEST.headers = {"Authorization": "Bearer x"}  # type: ignore[attr-defined]


def test_request_query_is_a_copy() -> None:
    query = REQUEST.query
    query["locationId"] = "changed"
    assert REQUEST.query["locationId"] == "loc"


@pytest.mark.parametrize("name", ["token", "headers", "authorization", "auth", "api_key"])
def test_request_carries_no_credentials(name: str) -> None:
    names = {field.name for field in attrs.fields(Request)}
    assert not any(secret in field for field in names for secret in ("token", "auth", "key"))
    assert "headers" not in names
    with pytest.raises(TypeError):
        Request("GET", "/conversations/search", **{name: "Bearer secret"})


def test_request_defaults() -> None:
    request = Request("GET", "/conversations/search")
    assert request.attempt == 1
    assert request.params == ()
    assert request.query == {}


def test_evolve_makes_a_new_request_for_another_attempt() -> None:
    second = attrs.evolve(REQUEST, attempt=2)
    assert second.attempt == 2
    assert REQUEST.attempt == 1
    assert second is not REQUEST
    assert second != REQUEST
    assert attrs.evolve(second, attempt=1) == REQUEST
    for field in attrs.fields(Request):
        if field.name != "attempt":
            assert getattr(second, field.name) == getattr(REQUEST, field.name)


def test_equal_requests_hash_alike() -> None:
    twin = Request("GET", "/conversations/search", (("locationId", "loc"), ("limit", "20")))
    assert twin == REQUEST
    assert hash(twin) == hash(REQUEST)
    assert len({twin, REQUEST}) == 1


def test_response_is_immutable_and_reads_the_request_id() -> None:
    result = make_response(REQUEST)
    assert result.request_id == "id-1"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.status = 500  # type: ignore[misc]
    lower = attrs.evolve(result, headers=CIMultiDict({"x-request-id": "abc"}))
    assert lower.request_id == "abc"
    assert attrs.evolve(result, headers=CIMultiDict()).request_id is None


def test_response_repr_leaves_out_headers_and_body() -> None:
    secret: Any = CIMultiDict({"Set-Cookie": "session=secret"})
    text = repr(attrs.evolve(make_response(REQUEST), headers=secret, body=b"private body"))
    assert "secret" not in text
    assert "private body" not in text
    assert "200" in text
