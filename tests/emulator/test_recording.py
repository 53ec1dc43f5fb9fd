"""The record of requests: what tests use to count requests and check what was sent."""

from __future__ import annotations

import time

import aiohttp

from leadway_async.testing import LeadwayEmulator

from .conftest import SEARCH, Api


async def test_each_request_is_recorded_without_its_authorization(
    api: Api, emulator: LeadwayEmulator
) -> None:
    before = time.time()
    await api.get([("status", "unread"), ("startAfterDate", "5"), ("startAfterDate", "3")])
    await api.get(path="/elsewhere", headers={"X-Trace": "abc"})
    await api.get(headers={"Authorization": "Bearer wrong"})

    search, elsewhere, unauthorized = emulator.requests
    assert search.method == "GET"
    assert search.path == SEARCH
    assert search.query == {
        "locationId": emulator.location_id,
        "status": "unread",
        "startAfterDate": "5",
    }
    assert search.raw_query.endswith("status=unread&startAfterDate=5&startAfterDate=3")
    assert search.headers["Version"] == "2021-07-28"
    assert search.headers["version"] == "2021-07-28"  # case-insensitive, as HTTP headers are
    assert before <= search.time <= elsewhere.time <= time.time()
    assert (search.status, elsewhere.status, unauthorized.status) == (200, 404, 401)
    assert elsewhere.headers["X-Trace"] == "abc"
    for record in emulator.requests:
        assert "Authorization" not in record.headers
        assert emulator.token not in repr(record)
    assert len({r.trace_id for r in emulator.requests}) == 3
    assert emulator.request_count == 3


async def test_the_trace_id_recorded_is_the_one_sent(api: Api, emulator: LeadwayEmulator) -> None:
    replies = [
        await api.get(),
        await api.get({"limit": "0"}),
        await api.get(headers={"Authorization": "Bearer wrong"}),
    ]
    assert [r.status for r in replies] == [200, 422, 401]
    records = emulator.requests
    assert [r.trace_id for r in records] == [r.body["traceId"] for r in replies]
    assert [r.request_id for r in records] == [r.trace_id for r in records]  # the old name


async def test_clearing_the_record(api: Api, emulator: LeadwayEmulator) -> None:
    await api.get()
    emulator.clear_requests()
    assert emulator.requests == []
    assert emulator.request_count == 0
    await api.get()
    assert len(emulator.requests) == 1


async def test_the_record_keeps_the_latest_but_counts_all(http: aiohttp.ClientSession) -> None:
    async with LeadwayEmulator(conversations=5, record_limit=3) as emulator:
        api = Api(emulator, http)
        for limit in range(1, 6):
            await api.get({"limit": str(limit)})
    assert [r.query["limit"] for r in emulator.requests] == ["3", "4", "5"]
    assert emulator.request_count == 5
