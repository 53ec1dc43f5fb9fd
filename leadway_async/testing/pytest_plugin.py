"""Pytest fixtures serving a fresh Leadway emulator to each test.

Registered through the `pytest11` entry point. The emulators run in threads of their own,
so the fixtures work in sync tests and under any async test framework alike. Importing
this module loads none of the emulator: that waits until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from .threaded import ThreadedEmulator

__all__ = ["EmulatorFactory", "leadway_emulator", "leadway_emulator_factory"]

DEFAULT_CONVERSATIONS = 500


class EmulatorFactory(Protocol):
    """Starts an emulator with `LeadwayEmulator`'s keywords; it is stopped at teardown."""

    def __call__(self, **options: Any) -> ThreadedEmulator: ...


@pytest.fixture
def leadway_emulator_factory() -> Iterator[EmulatorFactory]:
    """A function starting emulators: `LeadwayEmulator` keywords, 500 conversations unless told.

    Every emulator it started is stopped when the test ends.
    """
    from .server import LeadwayEmulator

    started: list[ThreadedEmulator] = []

    def start(**options: Any) -> ThreadedEmulator:
        options.setdefault("conversations", DEFAULT_CONVERSATIONS)
        emulator = LeadwayEmulator(**options).run_in_thread()
        emulator.start()
        started.append(emulator)
        return emulator

    try:
        yield start
    finally:
        for emulator in reversed(started):
            emulator.close()


@pytest.fixture
def leadway_emulator(leadway_emulator_factory: EmulatorFactory) -> ThreadedEmulator:
    """A started emulator with 500 generated conversations, fresh for each test."""
    return leadway_emulator_factory()
