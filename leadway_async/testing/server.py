"""The emulator handle: a real HTTP server on loopback, driven from async code."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

from aiohttp import web

from .app import build_app
from .controls import EmulatorControls
from .data import generate_conversations
from .faults import FaultPlan, Faults
from .live import LiveChanges, LiveWorld
from .locations import describe_locations, location_seed
from .oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_COMPANY_ID, OAuthServer
from .ratelimit import RateLimiter, WindowMode
from .recording import Recorder
from .spec import VERSIONS
from .state import EmulatorState
from .threaded import ThreadedEmulator

__all__ = ["DEFAULT_LOCATION_ID", "DEFAULT_TOKEN", "LeadwayEmulator"]

DEFAULT_TOKEN = "pit-3c7e2b1a-emulator-token-0000"
DEFAULT_LOCATION_ID = "btcYOewX8Tc1bz9hiSlu"

# Turns of the loop given to connections accepted just before the server stops.
_SETTLE_TURNS = 5

# In-flight answers (a latency fault, say) get this long to finish when the server stops.
_SHUTDOWN_TIMEOUT = 0.5


class LeadwayEmulator(EmulatorControls):
    """A local Leadway conversations search API, on a real loopback socket.

    `conversations` is a number to generate (seeded by `seed`, with `ties` the chance of
    repeating the previous lastMessageDate and `skew` the share in the last tenth of the
    time range) or the wire dicts to serve. `versions` are the
    `Version` headers accepted. `live` makes conversations change while it serves (see
    `LiveChanges`; `live` on the emulator answers what happened). `clock` (Unix seconds)
    times the live changes, the daily quota's reset and the OAuth tokens' expiry.

    `location_id` is the default location; `locations` are extra ones, each served with
    its own conversations (as many as the default location's, generated from a seed
    derived from `seed` and its id), its own rate-limit window and daily budget, and its
    own live changes (a seed derived from `live.seed` and its id). `token` is a static
    token that reads every served location.

    OAuth: the app is `client_id` (`<appId>-<suffix>`) with `client_secret`, installed by
    the company `company_id`; access tokens live `token_lifetime_s` (at least 1). Codes
    come from `authorization_code()` (or `POST /_emulator/oauth/code`); tokens from
    `POST /oauth/token`, `POST /oauth/locationToken`; `GET /oauth/installedLocations` lists
    the served locations. Use it as
    `async with LeadwayEmulator(...) as emu:`, or `with LeadwayEmulator(...).run_in_thread()
    as emu:` from synchronous code or another event loop.
    """

    def __init__(
        self,
        *,
        conversations: int | Sequence[dict[str, Any]] = 500,
        seed: int = 0,
        ties: float = 0.0,
        skew: float = 0.0,
        token: str = DEFAULT_TOKEN,
        location_id: str = DEFAULT_LOCATION_ID,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_max: int = 100,
        rate_limit_interval_ms: int = 10_000,
        rate_limit_mode: WindowMode = "fixed",
        daily_limit: int = 200_000,
        retry_after: float | None = None,
        latency_ms: float = 0,
        faults: Faults | None = None,
        record_limit: int | None = 100_000,
        versions: Iterable[str] = VERSIONS,
        live: LiveChanges | None = None,
        clock: Callable[[], float] = time.time,
        locations: Sequence[str] | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        company_id: str = DEFAULT_COMPANY_ID,
        token_lifetime_s: float = 86_399,
    ) -> None:
        if isinstance(conversations, int):
            data = generate_conversations(
                conversations, seed=seed, location_id=location_id, ties=ties, skew=skew
            )
        else:
            data = list(conversations)
        worlds = {location_id: LiveWorld(data, location_id=location_id, changes=live, clock=clock)}
        for extra in _extra_locations(locations, location_id):
            generated = generate_conversations(
                len(data), seed=location_seed(seed, extra), location_id=extra, ties=ties, skew=skew
            )
            changes = None
            if live is not None:
                changes = dataclasses.replace(live, seed=location_seed(live.seed, extra))
            worlds[extra] = LiveWorld(generated, location_id=extra, changes=changes, clock=clock)
        if retry_after is not None and retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        accepted = (versions,) if isinstance(versions, str) else tuple(versions)
        if not accepted or not all(isinstance(v, str) and v for v in accepted):
            raise ValueError("versions must be one or more non-empty strings")
        self._state = EmulatorState(
            token=token,
            location_id=location_id,
            worlds=worlds,
            limiter=RateLimiter(
                max_requests=rate_limit_max,
                interval_ms=rate_limit_interval_ms,
                mode=rate_limit_mode,
                daily_limit=daily_limit,
                wall_clock=clock,
            ),
            oauth=OAuthServer(
                client_id=client_id,
                client_secret=client_secret,
                company_id=company_id,
                locations=describe_locations(list(worlds)),
                token_lifetime_s=token_lifetime_s,
                clock=clock,
            ),
            versions=accepted,
            plan=FaultPlan(faults),
            recorder=Recorder(record_limit),
            retry_after=retry_after,
            latency_ms=latency_ms,
        )
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._url: str | None = None
        self._closed = False

    @property
    def url(self) -> str:
        """The base URL, `http://host:port` (only once started)."""
        if self._url is None:
            raise RuntimeError("the emulator is not running: start() it first")
        return self._url

    async def start(self) -> None:
        """Start listening (on a free port when `port` is 0)."""
        if self._runner is not None or self._closed:
            raise RuntimeError("an emulator can be started only once")
        runner = web.AppRunner(
            build_app(self._state), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        self._runner = runner
        server = runner.server
        assert server is not None
        try:
            self._listener = await asyncio.get_running_loop().create_server(
                server, self._host, self._port
            )
        except BaseException:
            await self.aclose()
            raise
        host, port = self._listener.sockets[0].getsockname()[:2]
        self._url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        for world in self._state.worlds.values():
            world.begin()

    async def aclose(self) -> None:
        """Stop listening and close every connection; calling it again does nothing."""
        self._closed = True
        for world in self._state.worlds.values():
            world.end()
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        self._url = None
        if listener is not None:
            # Stop accepting, then let the connections already accepted finish their
            # set-up before the listener closes: on Python 3.11 a connection whose set-up
            # runs after the close is left open with nobody to close it.
            loop = asyncio.get_running_loop()
            for sock in listener.sockets:
                loop.remove_reader(sock.fileno())
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            listener.close()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> LeadwayEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def run_in_thread(self) -> ThreadedEmulator:
        """A handle that runs this emulator on its own event loop in a daemon thread."""
        return ThreadedEmulator(self)


def _extra_locations(locations: Sequence[str] | None, default: str) -> list[str]:
    """The extra location ids, checked: distinct non-empty strings, none the default."""
    if locations is None:
        return []
    if isinstance(locations, str):
        raise ValueError("locations must be a sequence of location ids, not one string")
    extra = list(locations)
    if not all(isinstance(location, str) and location for location in extra):
        raise ValueError("locations must be non-empty strings")
    if len(set(extra)) != len(extra) or default in extra:
        raise ValueError("locations must be distinct, and not the default location_id")
    return extra
