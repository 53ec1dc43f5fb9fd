"""Fixtures: an emulator on loopback and a plain aiohttp client talking to it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from multidict import CIMultiDictProxy

from leadway_async.testing import LeadwayEmulator

# The pytest11 entry point registers these when the package is installed; importing them
# here makes them available when the tests run from a plain checkout too.
from leadway_async.testing.pytest_plugin import (  # noqa: F401
    leadway_emulator,
    leadway_emulator_factory,
)

SEARCH = "/conversations/search"


def untraced(body: dict[str, Any]) -> dict[str, Any]:
    """`body` without its `traceId`, which must be there, a UUID4 in canonical form."""
    rest = dict(body)
    trace = rest.pop("traceId")
    assert isinstance(trace, str)
    assert str(uuid.UUID(trace)) == trace
    assert uuid.UUID(trace).version == 4
    return rest


class FakeClock:
    """A clock tests move by hand, in Unix seconds."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move on by `seconds`; return the new time."""
        self.now += seconds
        return self.now


@dataclass(frozen=True)
class Reply:
    """One answer: status, headers and the decoded JSON body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: Any


class Api:
    """Sends search requests the way a client would, with the emulator's credentials, to
    `location_id` (by default the emulator's default location)."""

    def __init__(
        self,
        emulator: LeadwayEmulator,
        session: aiohttp.ClientSession,
        location_id: str | None = None,
    ) -> None:
        self.emulator = emulator
        self.session = session
        self.location_id = location_id

    async def get(
        self,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        *,
        path: str = SEARCH,
        headers: Mapping[str, str] | None = None,
        location: bool = True,
    ) -> Reply:
        """GET `path` with `params` (plus locationId unless `location` is False)."""
        query = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        if location:
            query.insert(0, ("locationId", self.location_id or self.emulator.location_id))
        sent = {"Authorization": f"Bearer {self.emulator.token}", "Version": "2021-07-28"}
        sent.update(headers or {})
        async with self.session.get(self.emulator.url + path, params=query, headers=sent) as answer:
            return Reply(answer.status, answer.headers, orjson.loads(await answer.read()))

    async def search(self, **params: str) -> Any:
        """A search that must succeed; returns its JSON body."""
        reply = await self.get(params)
        assert reply.status == 200, reply.body
        return reply.body

    async def walk(self, **params: str) -> list[dict[str, Any]]:
        """Every conversation a cursor walk sees, following `sort` of each page's last item."""
        seen: list[dict[str, Any]] = []
        cursor: list[str] = []
        while True:
            reply = await self.get([*params.items(), *(("startAfterDate", c) for c in cursor)])
            page = reply.body["conversations"]
            seen += page
            if not page:
                return seen
            cursor = [str(page[-1]["sort"][0])]


@pytest.fixture
async def emulator() -> AsyncIterator[LeadwayEmulator]:
    async with LeadwayEmulator(
        conversations=400, seed=5, ties=0.3, rate_limit_max=1_000_000
    ) as emu:
        yield emu


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(emulator: LeadwayEmulator, http: aiohttp.ClientSession) -> Api:
    return Api(emulator, http)
