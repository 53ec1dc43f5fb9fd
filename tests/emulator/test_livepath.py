"""The control path GET /_emulator/live: the ground truth for a client in another process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from leadway_async.testing import LeadwayEmulator, LiveChanges

from .conftest import FakeClock, untraced

KEYS = ["present_throughout", "matching_throughout", "moved", "created", "deleted", "read"]
RATES = LiveChanges(
    messages_per_s=30, created_per_s=5, deleted_per_s=5, read_per_s=10, index_lag_s=0.3, seed=2
)


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def live(clock: FakeClock) -> AsyncIterator[LeadwayEmulator]:
    emulator = LeadwayEmulator(conversations=120, rate_limit_max=2, clock=clock, live=RATES)
    async with emulator:
        yield emulator


async def control(
    http: aiohttp.ClientSession,
    emulator: LeadwayEmulator,
    params: list[tuple[str, str]],
    *,
    token: str | None = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token or emulator.token}"}
    async with http.get(f"{emulator.url}/_emulator/live", params=params, headers=headers) as got:
        return got.status, await got.json()


async def test_it_reports_what_the_emulator_knows(
    http: aiohttp.ClientSession, live: LeadwayEmulator, clock: FakeClock
) -> None:
    t0 = live.now()
    t1 = clock.advance(2)
    span = [("from", str(t0)), ("to", str(t1))]
    status, body = await control(http, live, [*span, ("status", "unread"), ("sort", "asc")])

    assert status == 200
    assert list(body) == KEYS
    truth = live.live
    assert body == {
        "present_throughout": sorted(truth.present_throughout(t0, t1)),
        "matching_throughout": sorted(truth.matching_throughout({"status": "unread"}, t0, t1)),
        "moved": sorted(truth.moved(t0, t1)),
        "created": sorted(truth.created(t0, t1)),
        "deleted": sorted(truth.deleted(t0, t1)),
        "read": sorted(truth.read(t0, t1)),
    }
    assert all(body[key] for key in KEYS)
    assert set(body["matching_throughout"]) < set(body["present_throughout"])
    _, unfiltered = await control(http, live, span)
    assert unfiltered["matching_throughout"] == unfiltered["present_throughout"]
    _, later = await control(http, live, [("from", str(t0 + 1)), ("to", str(t1))])
    assert set(later["moved"]) < set(body["moved"])


async def test_it_needs_the_token_but_is_neither_limited_nor_recorded(
    http: aiohttp.ClientSession, live: LeadwayEmulator
) -> None:
    now = str(live.now())
    status, body = await control(http, live, [("from", now), ("to", now)], token="wrong")
    assert status == 401
    assert untraced(body)["message"] == "Invalid token: access token is invalid"
    for _ in range(5):  # the burst limit is 2
        assert (await control(http, live, [("from", now), ("to", now)]))[0] == 200
    assert live.requests == []
    assert live.request_count == 0
    headers = {"Authorization": f"Bearer {live.token}", "Version": "v3"}
    search = f"{live.url}/conversations/search"
    async with http.get(search, params={"locationId": live.location_id}, headers=headers) as got:
        assert got.status == 200
        assert got.headers["X-RateLimit-Remaining"] == "1"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ([("to", "{now}")], "from is required"),
        ([("from", "{now}")], "to is required"),
        ([("from", "yesterday"), ("to", "{now}")], "from must be a number"),
        ([("from", "nan"), ("to", "{now}")], "from must be a number"),
        ([("from", "{now}"), ("from", "{now}"), ("to", "{now}")], "from must be a single"),
        ([("from", "{now}"), ("to", "{later}")], "ends after now"),
        ([("from", "{now}"), ("to", "{earlier}")], "ends before it starts"),
        ([("from", "{now}"), ("to", "{now}"), ("foo", "1")], "property foo should not exist"),
        ([("from", "{now}"), ("to", "{now}"), ("status", "gone")], "status must be one of"),
    ],
)
async def test_a_bad_query_is_422(
    params: list[tuple[str, str]], problem: str, http: aiohttp.ClientSession, live: LeadwayEmulator
) -> None:
    now = live.now()
    times = {"now": now, "later": now + 60, "earlier": now - 60}
    status, body = await control(http, live, [(k, v.format(**times)) for k, v in params])
    assert status == 422
    (message,) = untraced(body)["message"]
    assert problem in message


async def test_other_methods_are_not_the_control_path(
    http: aiohttp.ClientSession, live: LeadwayEmulator
) -> None:
    headers = {"Authorization": f"Bearer {live.token}"}
    async with http.post(f"{live.url}/_emulator/live", headers=headers) as got:
        assert got.status == 404
    assert [r.path for r in live.requests] == ["/_emulator/live"]
