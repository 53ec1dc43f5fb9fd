"""Several workers on one database: each location mirrored by one worker at a time, the
locations shared out (Postgres claims skip the rows another claim holds), a dead
worker's location taken over once its lease runs out."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from leadway_async.mirror import Mirror
from leadway_async.mirror.backend import LocationKey
from leadway_async.mirror.database import backend_for_url
from leadway_async.mirror.errors import MirrorDatabaseError
from leadway_async.mirror.sqlite import SqliteBackend

from .conftest import Database, PostgresDatabase
from .helpers import assert_mirror_is, client_for, emulator

LOCATIONS = [f"loc{letter * 17}" for letter in "ABCDEF"]


async def test_two_workers_share_the_locations_each_mirrored_once(database: Database) -> None:
    async with emulator(300, locations=LOCATIONS[1:], latency_ms=8, seed=3) as emu:
        assert emu.location_ids[1:] == tuple(LOCATIONS[1:])
        locations = list(emu.location_ids)
        async with client_for(emu) as one, client_for(emu) as two:
            first, second = await asyncio.gather(
                Mirror(one, database.url, locations_at_once=1).run(locations),
                Mirror(two, database.url, locations_at_once=1).run(locations),
            )
        truths = {loc: emu.expected({"locationId": loc}) for loc in locations}

    for a, b in zip(first.locations, second.locations, strict=True):
        assert sorted([a.kind, b.kind]) == ["full", "skipped"], (a, b)
    done_by_first = sum(r.kind == "full" for r in first.locations)
    assert 0 < done_by_first < len(locations)  # both had work
    skipped = [r for r in (*first.locations, *second.locations) if r.kind == "skipped"]
    assert all((r.skipped or "").startswith("another worker") for r in skipped)
    for location in locations:
        assert_mirror_is(database, truths[location], location)


async def test_a_postgres_claim_skips_the_rows_another_claim_has_locked(
    postgres_database: PostgresDatabase,
) -> None:
    db = postgres_database
    keys = [LocationKey(location, "{}") for location in LOCATIONS[:3]]
    backend = backend_for_url(db.url)
    await backend.open()
    try:
        await backend.register(keys)
        since = await backend.now()
        locked = threading.Event()
        release = threading.Event()

        def hold_the_first_row() -> None:
            with db.server.connect(db.schema) as other, other.transaction():
                other.execute(
                    "SELECT * FROM mirror_state WHERE location_id = %s FOR UPDATE",
                    (LOCATIONS[0],),
                )
                locked.set()
                release.wait(10)

        holder = threading.Thread(target=hold_the_first_row)
        holder.start()
        try:
            assert await asyncio.to_thread(locked.wait, 10)
            # Not blocked by the lock: the next free row, at once.
            state = await asyncio.wait_for(
                backend.claim(keys, "me", lease_s=30, not_run_since=since), timeout=5
            )
        finally:
            release.set()
            await asyncio.to_thread(holder.join, 10)
        assert state is not None
        assert state.key.location_id == LOCATIONS[1]
        again = await backend.claim(keys, "you", lease_s=30, not_run_since=since)
        assert again is not None
        assert again.key.location_id == LOCATIONS[0]  # free once the other let go
        assert (await backend.claim(keys[:2], "them", lease_s=30, not_run_since=since)) is None
        owners = {s.key.location_id: s.lease_owner for s in await backend.states(keys)}
        assert owners == {LOCATIONS[0]: "you", LOCATIONS[1]: "me", LOCATIONS[2]: None}
    finally:
        await backend.aclose()


async def test_a_location_whose_worker_died_is_taken_over_when_its_lease_runs_out(
    database: Database,
) -> None:
    async with emulator(300, latency_ms=2) as emu, client_for(emu) as client:
        # A worker that took the lease and died: nobody renews it, nobody gives it back.
        dead = backend_for_url(database.url)
        await dead.open()
        key = LocationKey(emu.location_id, "{}")
        await dead.register([key])
        await dead.claim([key], "dead-worker", lease_s=1.0, not_run_since=await dead.now())
        await dead.aclose()

        held = await Mirror(client, database.url).run()
        assert held.locations[0].kind == "skipped"
        assert (held.locations[0].skipped or "").startswith("another worker holds it")
        assert database.rows() == {}

        await asyncio.sleep(1.1)
        taken = await Mirror(client, database.url, lease=timedelta(seconds=5)).run()
        truth = emu.expected({"locationId": emu.location_id})
    assert taken.locations[0].kind == "full"
    assert_mirror_is(database, truth, emu.location_id)
    assert database.states()[emu.location_id]["lease_owner"] is None


async def test_a_long_page_does_not_lose_the_lease(database: Database) -> None:
    """The lease is renewed while a page takes longer than the lease itself: a worker
    arriving meanwhile finds the location held."""
    lease = timedelta(seconds=1)
    async with emulator(150, latency_ms=1) as emu, client_for(emu) as client:
        emu.inject("latency:1600")  # the first page takes longer than the lease
        first = asyncio.ensure_future(Mirror(client, database.url, lease=lease).run())
        await asyncio.sleep(1.3)  # past the lease, had it not been renewed
        second = await Mirror(client, database.url, lease=lease).run()
        result = await first
        truth = emu.expected({"locationId": emu.location_id})
    assert second.locations[0].kind == "skipped"
    assert (second.locations[0].skipped or "").startswith("another worker holds it")
    assert result.locations[0].error is None
    assert_mirror_is(database, truth, emu.location_id)


async def test_a_new_sqlite_mirror_opens_while_another_worker_holds_its_write_lock(
    tmp_path: Path,
) -> None:
    # Two workers opening a new file together: one switching it to WAL while the other
    # holds the write lock of the still rollback-journal file. SQLite refuses that switch
    # at once, without waiting; the backend waits for the lock as for any other.
    path = tmp_path / "mirror.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, other.execute, ("COMMIT",))
    release.start()
    backend = SqliteBackend(path, busy_timeout_s=10)
    try:
        await backend.open()
        journal = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()
        assert journal == ("wal",)
    finally:
        release.join()
        other.close()
        await backend.aclose()


async def test_a_sqlite_mirror_still_gives_up_on_a_write_lock_held_past_its_timeout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mirror.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(MirrorDatabaseError, match="database is locked"):
            await SqliteBackend(path, busy_timeout_s=0.2).open()
    finally:
        other.close()
