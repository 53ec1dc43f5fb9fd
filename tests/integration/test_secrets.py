"""Secrets kept out of reach beyond messages and logs: frames an error reporter records,
error bodies that echo the header, and text that cannot be sent as it is."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from leadway_async import (
    APIConnectionError,
    AuthenticationError,
    LeadwayClient,
    LeadwayError,
    ServerError,
)
from leadway_async.middleware import set_testing
from leadway_async.testing import LeadwayEmulator

from .conftest import RawServer

SECRET = "pit-7d1e0c55-frame-secret"


def frames(error: BaseException) -> Iterator[types.FrameType]:
    """Every frame an error reporter would walk: the traceback and every chained error's."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback = current.__traceback__
        while traceback is not None:
            yield traceback.tb_frame
            traceback = traceback.tb_next
        pending += [current.__cause__, current.__context__]


def holds(value: Any, secret: str, depth: int = 0) -> bool:
    """Whether `value`, or what it contains (a few levels down), carries `secret`."""
    if depth > 4:
        return False
    if isinstance(value, str):
        return secret in value
    if isinstance(value, bytes):
        return secret.encode() in value
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    elif hasattr(value, "items") and callable(value.items):  # header multidicts
        try:
            items = [part for pair in value.items() for part in pair]
        except Exception:
            return False
    else:
        return False
    return any(holds(item, secret, depth + 1) for item in items)


def leaking_frames(error: BaseException, secret: str) -> list[str]:
    return [
        f"{frame.f_code.co_filename}:{frame.f_code.co_name}: {name}"
        for frame in frames(error)
        for name, value in frame.f_locals.items()
        if holds(value, secret)
    ]


async def test_no_frame_keeps_the_token_when_a_connection_error_passes() -> None:
    refused_url = "http://127.0.0.1:9"
    async with LeadwayClient(SECRET, location_id="L", base_url=refused_url, retry=None) as client:
        with pytest.raises(APIConnectionError) as refused:
            await client.search()
    assert list(frames(refused.value))  # the check below looked at real frames
    assert leaking_frames(refused.value, SECRET) == []


async def test_no_frame_keeps_the_token_when_a_dropped_answer_passes_through_a_walk() -> None:
    async with LeadwayEmulator(conversations=50, token=SECRET) as emu:
        emu.inject(*["drop"] * 4)  # every attempt of the first page, retries included
        async with LeadwayClient(SECRET, location_id=emu.location_id, base_url=emu.url) as client:
            with set_testing(True), pytest.raises(APIConnectionError) as dropped:
                async for _ in client.paginate():
                    pass
    assert leaking_frames(dropped.value, SECRET) == []


async def test_the_frame_check_would_see_a_token_kept_in_a_local() -> None:
    async def careless() -> None:
        headers = {"Authorization": f"Bearer {SECRET}"}
        raise RuntimeError(f"failed with {len(headers)} headers")

    with pytest.raises(RuntimeError) as caught:
        await careless()
    assert leaking_frames(caught.value, SECRET) != []


@pytest.mark.parametrize("status", [401, 500])
async def test_an_error_body_echoing_the_token_is_redacted(
    raw_server: RawServer, status: int
) -> None:
    async def echo(request: web.Request) -> web.Response:
        header = request.headers["Authorization"]
        return web.json_response(
            {"statusCode": status, "message": f"rejected header {header}"}, status=status
        )

    url = await raw_server(echo)
    async with LeadwayClient(SECRET, location_id="L", base_url=url, retry=None) as client:
        with pytest.raises(LeadwayError) as failed:
            await client.search()
    error = failed.value
    assert isinstance(error, (AuthenticationError, ServerError))
    texts = [str(error), repr(error), repr(error.__dict__)]
    assert all(SECRET not in text for text in texts)
    assert "rejected header Bearer [redacted]" in str(error)
    assert error.body == {"statusCode": status, "message": "rejected header Bearer [redacted]"}


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("query", "ab\ud800cd"),
        ("contact_id", "\udfff"),
        ("conversation_id", "x\ud83d"),
        ("assigned_to", ["u1", "u\udc00"]),
        ("location_id", "loc\ud800"),
    ],
)
async def test_text_with_a_lone_surrogate_is_refused_naming_the_parameter(
    raw_server: RawServer, keyword: str, value: object
) -> None:
    received: list[web.Request] = []

    async def record(request: web.Request) -> web.Response:
        received.append(request)
        return web.json_response({"conversations": [], "total": 0})

    url = await raw_server(record)
    async with LeadwayClient("pit-x", location_id="L", base_url=url) as client:
        with pytest.raises(ValueError, match=f"{keyword} contains .*lone surrogate"):
            await client.search(**{keyword: value})
    assert received == []
