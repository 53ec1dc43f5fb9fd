"""Fixtures: the emulator and clients talking to it over real loopback sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from leadway_async import LeadwayClient
from leadway_async.testing import LeadwayEmulator

RawHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RawServer = Callable[[RawHandler], Awaitable[str]]


@pytest.fixture
async def emulator() -> AsyncIterator[LeadwayEmulator]:
    async with LeadwayEmulator(conversations=600, seed=11) as emu:
        yield emu


@pytest.fixture
async def client(emulator: LeadwayEmulator) -> AsyncIterator[LeadwayClient]:
    async with LeadwayClient(
        emulator.token, location_id=emulator.location_id, base_url=emulator.url
    ) as client:
        yield client


@pytest.fixture
async def raw_server() -> AsyncIterator[RawServer]:
    """Starts a bare loopback HTTP server with a given handler; returns its base URL.

    For answers the emulator never gives on purpose (malformed bodies), and for seeing
    exactly what went over the wire.
    """
    runners: list[web.AppRunner] = []

    async def start(handler: RawHandler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()
