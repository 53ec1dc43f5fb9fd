"""Runs on a location that changes while they go (messages, new conversations, deletions,
reads, and an index that shows new conversations late): after every run the mirror is
held against the emulator's record of what happened."""

from __future__ import annotations

import asyncio
from typing import Any

from leadway_async.mirror import Mirror, MirrorResult
from leadway_async.testing import LiveChanges

from .conftest import Database
from .helpers import alive, assert_no_duplicates, client_for, emulator, served

INDEX_LAG_S = 0.3


def check(
    db: Database, emu: Any, result: MirrorResult, started: float, full_started: float
) -> dict[str, int]:
    """Missing, stale and wrongly kept or marked rows after a run that began at `started`
    (the last full pass at `full_started`), leaving aside what changed since `started`,
    and, after an incremental run, the reads and deletions since the last full pass
    (they move no date: the next full pass takes them)."""
    live = emu.live
    checked = emu.now()
    truth = {c["id"]: served(c) for c in emu.conversations}
    changed = (
        live.moved(started, checked)
        | live.read(started, checked)
        | live.deleted(started, checked)
        | live.created(started - INDEX_LAG_S - 0.05, checked)
    )
    (location,) = result.locations
    waiting = set()
    if location.kind == "incremental":
        waiting = live.read(full_started, checked) | live.deleted(full_started, checked)
    rows = db.rows()
    present = alive(rows, emu.location_id)
    marked = {i for i, row in rows.items() if row["deleted_at"] is not None}
    return {
        "missing": sum(1 for i in truth if i not in present and i not in changed),
        "stale": sum(
            1
            for i, row in present.items()
            if i in truth and i not in changed | waiting and row["raw"] != truth[i]
        ),
        "kept though deleted": sum(
            1 for i in present if i not in truth and i not in changed | waiting
        ),
        "marked though present": sum(1 for i in marked if i in truth and i not in changed),
    }


async def test_after_every_run_the_mirror_is_the_ground_truth(database: Database) -> None:
    changes = LiveChanges(
        messages_per_s=60,
        created_per_s=6,
        deleted_per_s=4,
        read_per_s=8,
        index_lag_s=INDEX_LAG_S,
        seed=4,
    )
    clean = {"missing": 0, "stale": 0, "kept though deleted": 0, "marked though present": 0}
    async with emulator(1500, latency_ms=3, live=changes) as emu, client_for(emu) as client:
        full_started = emu.now()
        kinds = []
        for full in (False, False, False, True, False):
            started = emu.now()
            if full or not kinds:
                full_started = started
            result = await Mirror(client, database.url, concurrency=3).run(full=full)
            kinds.append(result.locations[0].kind)
            assert check(database, emu, result, started, full_started) == clean, kinds
            assert_no_duplicates(database)
            await asyncio.sleep(0.4)  # changes pile up between runs
        began = emu.live.now() - 10
        moved = emu.live.moved(began, emu.now())
        deleted = emu.live.deleted(began, emu.now())
    assert kinds == ["full", "incremental", "incremental", "full", "incremental"]
    assert len(moved) > 60
    rows = database.rows()
    # The full pass marked what was deleted before it began.
    assert sum(1 for i in deleted if rows.get(i, {}).get("deleted_at")) >= 2
