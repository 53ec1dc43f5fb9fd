"""Fixtures: the real console script, and emulators in threads of this process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadway_async.testing import LeadwayEmulator, ThreadedEmulator

from .helpers import Cli, find_script


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli(find_script())


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[ThreadedEmulator]:
    """600 conversations, never changed by the tests; no rate limit in the way."""
    emu = LeadwayEmulator(conversations=600, seed=11, rate_limit_max=1_000_000)
    with emu.run_in_thread() as running:
        yield running


@pytest.fixture
def emulator(shared_emulator: ThreadedEmulator) -> Iterator[ThreadedEmulator]:
    """The shared emulator, with no requests recorded and no faults pending."""
    shared_emulator.clear_faults()
    shared_emulator.clear_requests()
    yield shared_emulator
    shared_emulator.clear_faults()
