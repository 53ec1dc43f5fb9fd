"""Injected faults: each kind is seen by a client as intended; scripted ones apply in order."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import aiohttp
import orjson
import pytest

from leadway_async.testing import Faults, LeadwayEmulator

from .conftest import SEARCH, Api, untraced


@pytest.fixture(autouse=True)
def no_server_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    assert [r for r in caplog.records if r.name.startswith("aiohttp")] == []


async def test_status_faults_answer_with_the_usual_error_body(
    api: Api, emulator: LeadwayEmulator
) -> None:
    emulator.inject("status:503", "status:422", "status:500")
    unavailable, unprocessable, internal = [await api.get() for _ in range(3)]
    assert (unavailable.status, untraced(unavailable.body)) == (
        503,
        {"statusCode": 503, "message": "Service Unavailable", "error": "Service Unavailable"},
    )
    assert unavailable.headers["X-RateLimit-Max"]
    assert unprocessable.body["message"] == ["Unprocessable Entity"]
    assert internal.body["statusCode"] == 500
    assert [r.fault for r in emulator.requests] == ["status:503", "status:422", "status:500"]


async def test_a_429_fault_looks_like_a_real_rate_limit(http: aiohttp.ClientSession) -> None:
    async with LeadwayEmulator(conversations=10, retry_after=3) as emulator:
        emulator.inject("status:429")
        reply = await Api(emulator, http).get()
    assert (reply.status, reply.body["message"]) == (429, "Too many requests")
    assert reply.headers["X-RateLimit-Remaining"] == "0"
    assert reply.headers["X-RateLimit-Daily-Remaining"] == "199999"
    assert reply.headers["Retry-After"] == "3"
    assert emulator.count_429 == 1


async def test_drop_closes_the_connection_after_the_head(
    api: Api, emulator: LeadwayEmulator
) -> None:
    emulator.inject("drop")
    async with api.session.get(
        emulator.url + SEARCH,
        params={"locationId": emulator.location_id},
        headers={"Authorization": f"Bearer {emulator.token}", "Version": "2021-07-28"},
    ) as answer:
        assert answer.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await answer.read()
    assert (await api.get()).status == 200
    dropped, after = emulator.requests
    assert (dropped.status, dropped.fault, after.fault) == (200, "drop", None)


async def test_drop_early_is_a_disconnect_which_aiohttp_resends_once(
    api: Api, emulator: LeadwayEmulator
) -> None:
    emulator.inject("drop:early")
    assert (await api.get()).status == 200  # aiohttp sent the GET again, silently
    assert [(r.status, r.fault) for r in emulator.requests] == [(None, "drop:early"), (200, None)]

    emulator.inject("drop:early", "drop:early")
    with pytest.raises(aiohttp.ServerDisconnectedError) as caught:
        await api.get()
    assert isinstance(caught.value, aiohttp.ClientConnectionError)
    assert emulator.pending_faults == ()


async def test_truncate_cuts_the_body_that_content_length_promises(
    api: Api, emulator: LeadwayEmulator
) -> None:
    emulator.inject("truncate")
    with pytest.raises(aiohttp.ClientPayloadError):
        await api.get({"limit": "50"})

    emulator.inject("truncate")
    head, body = await raw_get(emulator, "limit=50")
    whole = orjson.dumps((await api.get({"limit": "50"})).body)
    assert head.startswith(b"HTTP/1.1 200")
    assert f"Content-Length: {len(whole)}".encode() in head
    assert body == whole[: len(whole) // 2]
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)


async def raw_get(emulator: LeadwayEmulator, query: str) -> tuple[bytes, bytes]:
    """GET over a bare socket, reading until the server closes; returns head and body bytes."""
    where = urlsplit(emulator.url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(
        f"GET {SEARCH}?locationId={emulator.location_id}&{query} HTTP/1.1\r\n"
        f"Host: {where.netloc}\r\nAuthorization: Bearer {emulator.token}\r\n"
        "Version: 2021-07-28\r\n\r\n".encode()
    )
    received = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body


async def test_latency_delays_then_answers(api: Api, emulator: LeadwayEmulator) -> None:
    emulator.inject("latency:150")
    started = time.monotonic()
    reply = await api.get({"limit": "3"})
    assert time.monotonic() - started >= 0.15
    assert len(reply.body["conversations"]) == 3

    emulator.latency_ms = 100
    started = time.monotonic()
    await api.get()
    assert time.monotonic() - started >= 0.1
    with pytest.raises(ValueError, match="negative"):
        emulator.latency_ms = -1


async def test_empty_gives_a_page_with_nothing_in_the_middle_of_a_walk(
    api: Api, emulator: LeadwayEmulator
) -> None:
    first = await api.search(limit="10")
    emulator.inject("empty")
    cursor = str(first["conversations"][-1]["sort"][0])
    empty = await api.search(limit="10", startAfterDate=cursor)
    assert untraced(empty) == {"conversations": [], "total": first["total"]}
    again = await api.search(limit="10", startAfterDate=cursor)
    assert len(again["conversations"]) == 10


async def test_stuck_ignores_the_cursor(api: Api, emulator: LeadwayEmulator) -> None:
    first = await api.search(limit="10")
    cursor = str(first["conversations"][-1]["sort"][0])
    emulator.inject("stuck")
    stuck = await api.search(limit="10", startAfterDate=cursor)
    assert untraced(stuck) == untraced(first)
    assert stuck["traceId"] != first["traceId"]
    assert (await api.search(limit="10", startAfterDate=cursor))["conversations"] != (
        first["conversations"]
    )


async def test_scripted_faults_apply_in_order_then_stop(
    api: Api, emulator: LeadwayEmulator
) -> None:
    emulator.inject("status:500", "status:502")
    emulator.inject("ok", "status:503")
    assert emulator.pending_faults == ("status:500", "status:502", "ok", "status:503")
    statuses = [(await api.get()).status for _ in range(5)]
    assert statuses == [500, 502, 200, 503, 200]
    emulator.inject("status:500")
    emulator.clear_faults()
    assert (await api.get()).status == 200


async def test_faults_wait_for_a_request_that_passes_the_checks(
    api: Api, emulator: LeadwayEmulator
) -> None:
    emulator.inject("status:503")
    assert (await api.get(headers={"Authorization": "Bearer nope"})).status == 401
    assert (await api.get({"locationId": "elsewhere"}, location=False)).status == 403
    assert emulator.pending_faults == ("status:503",)
    assert (await api.get()).status == 503


async def random_statuses(http: aiohttp.ClientSession, faults: Faults, count: int) -> list[int]:
    async with LeadwayEmulator(conversations=10, faults=faults, rate_limit_max=1000) as emulator:
        api = Api(emulator, http)
        return [(await api.get()).status for _ in range(count)]


async def test_random_faults_follow_the_rate_and_the_seed(http: aiohttp.ClientSession) -> None:
    faults = Faults(rate=0.4, kinds=("status:503", "status:500"), seed=4)
    statuses = await random_statuses(http, faults, 120)
    assert 0.25 < sum(s != 200 for s in statuses) / len(statuses) < 0.55
    assert {500, 503} <= set(statuses)
    assert await random_statuses(http, faults, 120) == statuses
    other_seed = Faults(rate=0.4, kinds=("status:503", "status:500"), seed=5)
    assert await random_statuses(http, other_seed, 120) != statuses
    assert set(await random_statuses(http, Faults(rate=1.0, kinds=("status:502",)), 5)) == {502}


async def test_random_faults_can_be_set_and_unset_at_runtime_behind_scripted_ones(
    api: Api, emulator: LeadwayEmulator
) -> None:
    emulator.faults = Faults(rate=1.0, kinds=("status:504",))
    emulator.inject("status:501")
    assert [(await api.get()).status for _ in range(3)] == [501, 504, 504]
    assert emulator.faults == Faults(rate=1.0, kinds=("status:504",))
    emulator.faults = None
    assert (await api.get()).status == 200


@pytest.mark.parametrize(
    "kind", ["bogus", "status:200", "status:600", "status:x", "latency:-1", "latency:nan", "drop:"]
)
def test_unknown_fault_kinds_are_refused(kind: str, emulator: LeadwayEmulator) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        emulator.inject(kind)
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults(rate=0.1, kinds=(kind,))


def test_fault_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="rate"):
        Faults(rate=1.5)
    with pytest.raises(ValueError, match="kind"):
        Faults(rate=0.5, kinds=())
    assert Faults(kinds=["drop", "truncate"]).kinds == ("drop", "truncate")  # type: ignore[arg-type]
