"""A run stopped at any moment, then run again: the mirror ends up whole, with no
duplicate, no gap and no half-written page, and a full pass continues where it stood."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from typing import Any

from leadway_async import tokens
from leadway_async.mirror import Mirror, MirrorResult, RunPlan
from leadway_async.mirror.database import backend_for_url

from .conftest import Database
from .helpers import (
    assert_mirror_is,
    changed,
    cli_env,
    client_for,
    connection,
    console_script,
    emulator,
    wait_for_lease_expiry,
)

PAGE = 40


class CancelAfterEachPage:
    """Cancels the run's task right after its first page is written."""

    def __init__(self) -> None:
        self.task: asyncio.Task[MirrorResult] | None = None
        self.plans: list[RunPlan] = []

    def started(self, location_id: str, plan: RunPlan) -> None:
        self.plans.append(plan)

    def page(self, location_id: str, done: int, total: int | None) -> None:
        assert self.task is not None
        self.task.cancel()

    def finished(self, result: Any) -> None:
        pass


async def until_done(client: Any, db: Any, *, full: bool = False) -> tuple[int, list[RunPlan]]:
    """Run again and again, each run cancelled after one page, until one finishes;
    returns how many runs that took, and each run's plan."""
    stopper = CancelAfterEachPage()
    for runs in range(1, 200):
        mirror = Mirror(client, db, progress=stopper, concurrency=3, filters={"limit": PAGE})
        stopper.task = asyncio.ensure_future(mirror.run(full=full))
        try:
            await stopper.task
        except asyncio.CancelledError:
            continue
        return runs, stopper.plans
    raise AssertionError("the runs never finished")


async def test_a_full_pass_cancelled_after_every_page_continues_to_the_whole(
    database: Database,
) -> None:
    async with emulator(400, latency_ms=1) as emu, client_for(emu) as client:
        runs, plans = await until_done(client, database.url)
        truth = emu.expected({"locationId": emu.location_id})

    # Each run is cancelled once its first page is written (a write then under way in
    # SQLite's thread still commits, so a run writes two pages at most).
    assert runs >= 400 // PAGE // 2
    assert [p.kind for p in plans] == ["full"] * runs
    assert [p.resume for p in plans] == [False] + [True] * (runs - 1)
    assert_mirror_is(database, truth, emu.location_id)
    state = database.states()[emu.location_id]
    assert (state["pass_id"], state["pass_token"]) == (None, None)


async def test_a_full_pass_cancelled_after_every_page_still_marks_deletions(
    database: Database,
) -> None:
    async with emulator(300, latency_ms=1) as emu, client_for(emu) as client:
        await Mirror(client, database.url).run()
        truth, touched = changed(
            emu.conversations, 5, messages=10, created=7, deleted=12, read=4,
            at_ms=int(time.time() * 1000),
        )  # fmt: skip
        emu.set_conversations(truth)
        await until_done(client, database.url, full=True)
        assert_mirror_is(database, emu.expected({"locationId": emu.location_id}), emu.location_id)
    rows = database.rows()
    assert all(rows[i]["deleted_at"] is not None for i in touched["deleted"])
    assert not database.sql("SELECT * FROM mirror_seen")  # the pass's record is cleared


async def test_an_incremental_run_cancelled_after_every_page_continues_to_the_whole(
    database: Database,
) -> None:
    async with emulator(300, latency_ms=1) as emu, client_for(emu) as client:
        await Mirror(client, database.url).run()
        truth, _ = changed(
            emu.conversations, 6, messages=150, created=50, deleted=0, read=0,
            at_ms=int(time.time() * 1000),
        )  # fmt: skip
        emu.set_conversations(truth)
        runs, plans = await until_done(client, database.url)
        assert_mirror_is(database, emu.expected({"locationId": emu.location_id}), emu.location_id)
    assert {p.kind for p in plans} == {"incremental"}
    assert runs >= 200 // PAGE // 2


class CancelDuringWrites:
    """A backend whose every page write sees its run cancelled while it is under way."""

    def __init__(self, url: str) -> None:
        self._backend = backend_for_url(url)
        self.task: asyncio.Task[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    async def write_page(self, *args: Any, **options: Any) -> Any:
        assert self.task is not None
        self.task.cancel()
        return await self._backend.write_page(*args, **options)


async def test_runs_cancelled_in_the_middle_of_writing_a_page_leave_no_half_page(
    database: Database,
) -> None:
    async with emulator(300, latency_ms=1) as emu, client_for(emu) as client:
        backend = CancelDuringWrites(database.url)
        for _ in range(60):
            mirror = Mirror(client, backend, filters={"limit": PAGE})  # type: ignore[arg-type]
            backend.task = asyncio.ensure_future(mirror.run())
            with contextlib.suppress(asyncio.CancelledError):
                await backend.task  # done without a page to write: the pass is over
            # Whole pages only: the rows are what the bookmark says was handed out.
            rows = len(database.rows())
            state = database.states()[emu.location_id]
            if state["pass_id"] is None:
                assert rows == 300  # the pass finished
                break
            token = state["pass_token"]
            assert rows == (0 if token is None else tokens.decode(token, (tokens.SCAN,))[1]["n"])
        await Mirror(client, database.url).run()
        assert_mirror_is(database, emu.expected({"locationId": emu.location_id}), emu.location_id)


def killed_while_mirroring(
    emu: Any, db: Database, command: list[str], *, rows_before_kill: int
) -> None:
    """Start `command`, SIGKILL it once the database holds `rows_before_kill` rows."""
    with subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_env(),
    ) as process:  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if db.sql("SELECT count(*) FROM conversations")[0][0] >= rows_before_kill:
                        break
                except Exception:  # not created yet, or locked
                    pass
                time.sleep(0.01)
            assert process.poll() is None, process.communicate()
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(30)
    assert process.returncode == -signal.SIGKILL


def test_a_mirror_killed_with_sigkill_continues_without_duplicates_or_gaps(
    database: Database,
) -> None:
    db = database
    with emulator(3000, latency_ms=25).run_in_thread() as emu:
        command = [
            console_script(), "mirror", "--db", db.url, "--location-id", emu.location_id,
            *connection(emu), "--limit", "50", "--concurrency", "2",
        ]  # fmt: skip
        killed_while_mirroring(emu, db, [*command, "--lease", "5s"], rows_before_kill=400)
        kept = db.rows()
        assert 400 <= len(kept) < 3000
        state = db.states()[emu.location_id]
        assert state["pass_token"] is not None
        assert state["lease_owner"] is not None  # a dead worker's lease, expiring by itself

        # The lease of the killed run holds the location until it expires...
        held = subprocess.run(command, capture_output=True, text=True, env=cli_env(), timeout=60)
        assert held.returncode == 0, held.stderr
        assert "skipped: another worker holds it" in held.stderr
        wait_for_lease_expiry(db, emu.location_id)

        # ...then a run continues the full pass from its bookmark.
        rerun = subprocess.run(command, capture_output=True, text=True, env=cli_env(), timeout=60)
        assert rerun.returncode == 0, rerun.stderr
        assert "full pass, continuing the one a stopped run left" in rerun.stderr
        assert "full pass (continued)" in rerun.stderr
        truth = emu.expected({"locationId": emu.location_id})
    assert_mirror_is(db, truth, emu.location_id)
    rows = db.rows()
    assert all(rows[i]["revision"] == 1 for i in kept)  # not written twice
