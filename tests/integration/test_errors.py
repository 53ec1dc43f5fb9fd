"""Every error class, raised by real answers over loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from leadway_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    LeadwayClient,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)
from leadway_async.testing import LeadwayEmulator

from .conftest import RawServer


@pytest.fixture
async def client(emulator: LeadwayEmulator) -> AsyncIterator[LeadwayClient]:
    async with client_for(emulator) as client:
        yield client


def client_for(emu: LeadwayEmulator, **overrides: object) -> LeadwayClient:
    """A client that shows each answer as it is: no retries, no throttle."""
    options: dict[str, object] = {
        "token": emu.token,
        "location_id": emu.location_id,
        "base_url": emu.url,
        "retry": None,
        "throttle": False,
    }
    options.update(overrides)
    return LeadwayClient(**options)  # type: ignore[arg-type]


async def test_wrong_token_raises_authentication_error_with_the_servers_message(
    emulator: LeadwayEmulator,
) -> None:
    async with client_for(emulator, token="pit-wrong-token") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.search()
    assert caught.value.status == 401
    assert "Invalid token" in str(caught.value)
    assert caught.value.body["error"] == "Unauthorized"
    assert "pit-wrong-token" not in str(caught.value)
    assert "pit-wrong-token" not in repr(caught.value)


async def test_other_location_raises_permission_denied(emulator: LeadwayEmulator) -> None:
    async with client_for(emulator, location_id="notMyLocation0000000") as client:
        with pytest.raises(PermissionDeniedError) as caught:
            await client.search()
    assert caught.value.status == 403
    assert caught.value.request_id


async def test_unknown_path_raises_not_found(emulator: LeadwayEmulator) -> None:
    async with client_for(emulator, base_url=f"{emulator.url}/v9") as client:
        with pytest.raises(NotFoundError) as caught:
            await client.search()
    assert caught.value.status == 404


async def test_unsupported_version_raises_bad_request(emulator: LeadwayEmulator) -> None:
    async with client_for(emulator, api_version="1999-01-01") as client:
        with pytest.raises(BadRequestError) as caught:
            await client.search()
    assert caught.value.status == 400
    assert emulator.requests[-1].headers["Version"] == "1999-01-01"


async def test_422_list_message_is_in_the_exception_text(
    client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    emulator.inject("status:422")
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.search()
    assert caught.value.status == 422
    assert isinstance(caught.value.body["message"], list)
    for part in caught.value.body["message"]:
        assert part in str(caught.value)


async def test_server_error_is_raised_for_5xx(
    client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    emulator.inject("status:503")
    with pytest.raises(ServerError) as caught:
        await client.search()
    assert caught.value.status == 503
    assert isinstance(caught.value, APIStatusError)


async def test_burst_window_overrun_raises_rate_limit_error_with_headers() -> None:
    async with (
        LeadwayEmulator(conversations=10, rate_limit_max=1) as emu,
        client_for(emu) as client,
    ):
        await client.search()
        with pytest.raises(RateLimitError) as caught:
            await client.search()
    assert caught.value.status == 429
    assert caught.value.daily_quota_exhausted is False
    assert caught.value.rate_limit is not None
    assert caught.value.rate_limit.remaining == 0
    assert caught.value.rate_limit.max == 1


async def test_daily_budget_used_up_sets_daily_quota_exhausted() -> None:
    async with LeadwayEmulator(conversations=10, daily_limit=1) as emu, client_for(emu) as client:
        await client.search()
        with pytest.raises(RateLimitError) as caught:
            await client.search()
    assert caught.value.daily_quota_exhausted is True
    assert caught.value.rate_limit is not None
    assert caught.value.rate_limit.daily_remaining == 0


async def test_retry_after_header_is_read_into_the_error() -> None:
    async with (
        LeadwayEmulator(conversations=10, rate_limit_max=1, retry_after=7) as emu,
        client_for(emu) as client,
    ):
        await client.search()
        with pytest.raises(RateLimitError) as caught:
            await client.search()
    assert caught.value.retry_after == 7


async def test_dropped_connection_raises_api_connection_error(
    client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    emulator.inject("drop")
    with pytest.raises(APIConnectionError) as caught:
        await client.search()
    assert not isinstance(caught.value, APITimeoutError)
    assert "/conversations/search" in str(caught.value)


async def test_truncated_body_raises_a_retryable_error(
    client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    emulator.inject("truncate")
    with pytest.raises((APIConnectionError, ResponseDecodeError)):
        await client.search()


async def test_refused_connection_raises_api_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with LeadwayClient("pit-x", location_id="L", base_url=f"http://127.0.0.1:{port}") as c:
        with pytest.raises(APIConnectionError):
            await c.search()


async def test_slow_answer_raises_api_timeout_error(emulator: LeadwayEmulator) -> None:
    emulator.inject("latency:2000")
    async with client_for(emulator, timeout=0.2) as client:
        with pytest.raises(APITimeoutError, match=r"0\.2"):
            await client.search()


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"<html>gateway</html>", "text/html", "not valid JSON"),
        (b"[1, 2]", "application/json", "not a JSON object"),
        (b'{"total": 3}', "application/json", "'conversations'"),
        (b'{"conversations": {"a": 1}, "total": 1}', "application/json", "'conversations'"),
        (b'{"conversations": [{"fullName": "x"}], "total": 1}', "application/json", "no string id"),
        (b'{"conversations": [], "total": "many"}', "application/json", "total"),
    ],
)
async def test_malformed_success_bodies_raise_response_validation_error(
    body: bytes,
    content_type: str,
    reason: str,
    raw_server: RawServer,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    url = await raw_server(handler)
    async with LeadwayClient("pit-x", location_id="L", base_url=url) as client:
        with pytest.raises(ResponseValidationError, match=reason) as caught:
            await client.search()
    assert caught.value.status == 200
    assert "HTTP 200" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"conversations": null, "total": 1, "traceId": "trace-77"}', "'conversations'"),
        (
            b'{"conversations": [{"fullName": "x"}], "total": 1, "traceId": "trace-77"}',
            "no string id",
        ),
    ],
)
async def test_a_malformed_page_error_carries_its_trace_id_and_body(
    body: bytes, reason: str, raw_server: RawServer
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    url = await raw_server(handler)
    async with LeadwayClient("pit-x", location_id="L", base_url=url) as client:
        with pytest.raises(ResponseValidationError, match=reason) as caught:
            await client.search()
    assert (caught.value.status, caught.value.request_id) == (200, "trace-77")
    assert caught.value.body_excerpt == body.decode()
    assert "request id trace-77" in str(caught.value)


async def test_a_body_that_is_not_json_carries_the_request_id_header(raw_server: RawServer) -> None:
    async def handler(request: web.Request) -> web.Response:
        headers = {"X-Request-Id": "req-42"}
        return web.Response(body=b'{"conversations": [', headers=headers)

    url = await raw_server(handler)
    async with LeadwayClient("pit-x", location_id="L", base_url=url, retry=None) as client:
        with pytest.raises(ResponseDecodeError) as caught:
            await client.search()
    assert (caught.value.status, caught.value.request_id) == (200, "req-42")
    assert caught.value.body_excerpt == '{"conversations": ['


async def test_a_malformed_page_echoing_the_token_has_it_redacted(raw_server: RawServer) -> None:
    token = "pit-echoed-secret-0123"

    async def handler(request: web.Request) -> web.Response:
        echo = {"conversations": [{"note": request.headers["Authorization"]}], "traceId": "t"}
        return web.json_response(echo)

    url = await raw_server(handler)
    async with LeadwayClient(token, location_id="L", base_url=url) as client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.search()
    assert "[redacted]" in caught.value.body_excerpt
    assert token not in str(caught.value)
    assert token not in repr(vars(caught.value))


async def test_error_body_that_is_not_json_still_gives_a_typed_error(raw_server: RawServer) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad gateway</html>", content_type="text/html")

    url = await raw_server(handler)
    async with LeadwayClient("pit-x", location_id="L", base_url=url) as client:
        with pytest.raises(ServerError, match="Bad gateway") as caught:
            await client.search()
    assert caught.value.status == 502


async def test_cancelling_a_search_leaves_the_client_usable(
    client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    emulator.inject("latency:1000")
    task = asyncio.create_task(client.search())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    page = await client.search(limit=3)
    assert len(page) == 3


async def test_a_page_body_that_is_not_json_is_asked_again(raw_server: RawServer) -> None:
    answers = [b'{"conversations": [', b'{"conversations": [{"id": "c1"}], "total": 1}']

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=answers.pop(0), content_type="application/json")

    url = await raw_server(handler)
    async with LeadwayClient("pit-x", location_id="L", base_url=url) as client:
        page = await client.search()
    assert [c.id for c in page] == ["c1"]
    assert answers == []  # the page is read inside the retried attempt
