"""SIGTERM (what `timeout`, `docker stop` and systemd send) stops a command as Ctrl-C does."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Terminated(Exception):
    """The command was stopped by SIGTERM, after cleaning up as for Ctrl-C."""


async def stop_on_sigterm(work: Awaitable[T]) -> T:
    """Await `work`; a SIGTERM meanwhile cancels it and raises `Terminated`."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
        return await work
    try:
        return await work
    except asyncio.CancelledError:
        if terminated:
            raise Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
