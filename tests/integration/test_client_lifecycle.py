"""Configuration, the session's lifecycle, token handling and secrecy."""

from __future__ import annotations

import gc
import logging
import time

import aiohttp
import pytest

from leadway_async import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    LeadwayClient,
    LeadwayError,
)
from leadway_async.middleware import Request, RetryEvent, RetryPolicy, set_testing
from leadway_async.testing import LeadwayEmulator
from leadway_async.transport import AiohttpTransport, Bearer


def test_client_can_be_made_outside_an_event_loop() -> None:
    client = LeadwayClient("pit-x", location_id="L")
    assert client.closed is False
    assert "pit-x" not in repr(client)


async def test_async_with_opens_one_session_reuses_it_and_closes_it(
    emulator: LeadwayEmulator,
) -> None:
    async with LeadwayClient(
        emulator.token, location_id=emulator.location_id, base_url=emulator.url
    ) as client:
        await client.search(limit=1)
        first = client._transport._session()
        await client.search(limit=1)
        assert client._transport._session() is first
    assert first.closed
    assert client.closed


async def test_closing_twice_is_harmless_and_a_call_after_close_raises(
    emulator: LeadwayEmulator,
) -> None:
    client = LeadwayClient(emulator.token, location_id=emulator.location_id, base_url=emulator.url)
    await client.search(limit=1)
    await client.aclose()
    await client.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await client.search()
    assert len(emulator.requests) == 1


async def test_closing_an_unused_client_is_harmless() -> None:
    client = LeadwayClient("pit-x", location_id="L")
    await client.aclose()
    assert client.closed


async def test_a_callers_session_is_used_and_never_closed(emulator: LeadwayEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with LeadwayClient(
            emulator.token,
            location_id=emulator.location_id,
            base_url=emulator.url,
            session=session,
        ) as client:
            await client.search(limit=2)
        assert not session.closed
        assert len(emulator.requests) == 1


async def test_configuration_falls_back_to_the_environment(
    emulator: LeadwayEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADWAY_TOKEN", emulator.token)
    monkeypatch.setenv("LEADWAY_LOCATION_ID", emulator.location_id)
    monkeypatch.setenv("LEADWAY_BASE_URL", emulator.url)
    async with LeadwayClient() as client:
        page = await client.search(limit=4)
    assert len(page) == 4
    assert emulator.requests[-1].query["locationId"] == emulator.location_id


def test_a_missing_token_is_reported_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADWAY_TOKEN", raising=False)
    with pytest.raises(ValueError, match="LEADWAY_TOKEN"):
        LeadwayClient(location_id="L")


@pytest.mark.parametrize(
    ("options", "error", "names"),
    [
        ({"token": ""}, ValueError, "token"),
        ({"token": "pit with space"}, ValueError, "token"),
        ({"token": 42}, TypeError, "token"),
        ({"token": "t", "base_url": "ftp://x"}, ValueError, "base_url"),
        ({"token": "t", "timeout": 0}, ValueError, "timeout"),
        ({"token": "t", "api_version": ""}, ValueError, "api_version"),
    ],
)
def test_bad_configuration_is_rejected_without_echoing_the_token(
    options: dict[str, object], error: type[Exception], names: str
) -> None:
    with pytest.raises(error, match=names) as caught:
        LeadwayClient(**options)  # type: ignore[arg-type]
    assert "pit with space" not in str(caught.value)


async def test_an_async_token_provider_is_asked_for_every_request(
    emulator: LeadwayEmulator,
) -> None:
    calls = 0

    async def token() -> str:
        nonlocal calls
        calls += 1
        return emulator.token

    async with LeadwayClient(token, location_id=emulator.location_id, base_url=emulator.url) as c:
        await c.search(limit=1)
        await c.search(limit=1)
    assert calls == 2


async def test_the_token_appears_in_no_repr_exception_or_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "pit-4f1c2a9e-secret-value"
    wrong = "pit-0000-wrong-secret"
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    async with LeadwayEmulator(conversations=20, token=secret) as emu:
        no_retry = LeadwayClient(secret, location_id=emu.location_id, base_url=emu.url, retry=None)
        async with no_retry as c:
            seen.append(repr(c))
            emu.inject("drop")
            with pytest.raises(APIConnectionError) as dropped:
                await c.search()
            seen += [str(dropped.value), repr(dropped.value)]
            emu.inject("status:500")
            with pytest.raises(LeadwayError) as failed:
                await c.search()
            seen += [str(failed.value), repr(failed.value), repr(failed.value.__dict__)]
        async with LeadwayClient(wrong, location_id=emu.location_id, base_url=emu.url) as c:
            with pytest.raises(AuthenticationError) as auth:
                await c.search()
            seen += [str(auth.value), repr(auth.value), repr(auth.value.__dict__)]
    async with LeadwayClient(secret, location_id="L", base_url="http://127.0.0.1:9") as c:
        with pytest.raises(LeadwayError) as refused:
            await c.search()
        seen += [str(refused.value), repr(refused.value)]
    seen += [record.getMessage() for record in caplog.records]
    assert all(secret not in text and wrong not in text for text in seen)


def test_no_unclosed_session_warning_when_a_used_client_is_closed() -> None:
    import asyncio

    async def use_and_close() -> None:
        client = LeadwayClient("pit-x", location_id="L", base_url="http://127.0.0.1:9")
        with pytest.raises(APIConnectionError):
            await client.search()
        await client.aclose()

    asyncio.run(use_and_close())
    gc.collect()  # an unclosed aiohttp session would warn here, and warnings are errors


async def test_the_transport_sends_nothing_once_the_deadline_has_passed(
    emulator: LeadwayEmulator,
) -> None:
    transport = AiohttpTransport(
        base_url=emulator.url,
        api_version="2021-07-28",
        credential=lambda _: _static(emulator.token),
        timeout=5,
    )
    try:
        past = Request("GET", "/conversations/search", (("locationId", "L"),), deadline=1.0)
        with pytest.raises(APITimeoutError, match="deadline passes before the request"):
            await transport(past)
        assert emulator.requests == []
        soon = time.monotonic() + 0.2
        emulator.inject("latency:1000")
        where = (("locationId", emulator.location_id),)
        request = Request("GET", "/conversations/search", where, deadline=soon)
        with pytest.raises(APITimeoutError, match=r"within 0\.\d+ s"):
            await transport(request)  # the attempt's limit is what the deadline leaves
        assert time.monotonic() - soon < 0.5
    finally:
        await transport.aclose()


async def test_a_connection_dropped_early_is_not_silently_sent_again(
    emulator: LeadwayEmulator,
) -> None:
    # aiohttp would send the GET once more on its own; with that resend off, the drop
    # reaches the caller and the server saw a single request.
    emulator.inject("drop:early")
    async with LeadwayClient(
        emulator.token, location_id=emulator.location_id, base_url=emulator.url, retry=None
    ) as client:
        with pytest.raises(APIConnectionError, match="ServerDisconnectedError"):
            await client.search(limit=1)
    assert [(r.status, r.fault) for r in emulator.requests] == [(None, "drop:early")]


async def test_a_connection_dropped_early_is_retried_once_by_the_retry_middleware(
    emulator: LeadwayEmulator,
) -> None:
    events: list[RetryEvent] = []
    emulator.inject("drop:early")
    async with LeadwayClient(
        emulator.token,
        location_id=emulator.location_id,
        base_url=emulator.url,
        retry=RetryPolicy(on_retry=events.append),
    ) as client:
        with set_testing(True):
            page = await client.search(limit=1)
    assert len(page.conversations) == 1
    assert [(r.status, r.fault) for r in emulator.requests] == [(None, "drop:early"), (200, None)]
    assert [(event.attempt, event.reason.split(":")[0]) for event in events] == [
        (1, "APIConnectionError")
    ]


async def _static(token: str) -> Bearer:
    return Bearer(token)
