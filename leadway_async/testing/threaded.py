"""The thread-backed handle: the emulator on its own event loop, for sync code or any loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Protocol

from .controls import EmulatorControls
from .state import EmulatorState

__all__ = ["Servable", "ThreadedEmulator"]


class Servable(Protocol):
    """What a thread can run: a server with state, started and closed from its loop."""

    _state: EmulatorState

    @property
    def url(self) -> str:
        """The base URL once started."""
        ...

    async def start(self) -> None:
        """Start listening."""
        ...

    async def aclose(self) -> None:
        """Stop listening."""
        ...


class ThreadedEmulator(EmulatorControls):
    """Runs a `LeadwayEmulator` in a daemon thread; use it as `with ... as emu:`.

    It offers the same attributes as the emulator; `start()` and `close()` are blocking.
    """

    def __init__(self, emulator: Servable, *, timeout: float = 60.0) -> None:
        self._emulator = emulator
        self._state = emulator._state
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def emulator(self) -> Servable:
        """The emulator this runs."""
        return self._emulator

    @property
    def url(self) -> str:
        """The base URL, `http://host:port` (only once started)."""
        return self._emulator.url

    def start(self) -> ThreadedEmulator:
        """Start the thread and the server in it; return once it listens."""
        if self._thread is not None:
            raise RuntimeError("this emulator thread was started already")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=_run_loop, args=(loop,), name="leadway-emulator", daemon=True
        )
        self._thread.start()
        try:
            self._call(self._emulator.start())
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop the server, then the loop and the thread; calling it again does nothing."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        try:
            self._call(self._emulator.aclose())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(self._timeout)

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(self._timeout)

    def __enter__(self) -> ThreadedEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()
