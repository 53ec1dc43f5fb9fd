"""Runs against the emulator over loopback, on SQLite and Postgres: the first run is a full
pass, later ones incremental, a full pass marks deletions; after every run the mirror is
held against the emulator's ground truth."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest

from leadway_async import LeadwayClient, ParameterError, PermissionDeniedError, SortBy
from leadway_async.mirror import Mirror, MirrorError, MirrorResult
from leadway_async.mirror.rows import CONVERSATION_COLUMNS

from .conftest import Database
from .helpers import alive, assert_mirror_is, assert_no_duplicates, changed, client_for, emulator


async def run(emu: Any, db: Database, **options: Any) -> MirrorResult:
    full = options.pop("full", False)
    locations = options.pop("locations", None)
    async with client_for(emu) as client:
        return await Mirror(client, db.url, **options).run(locations, full=full)


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_the_first_run_is_a_full_pass_that_mirrors_every_conversation(
    database: Database,
) -> None:
    async with emulator(700) as emu:
        result = await run(emu, database)
        truth = emu.expected({"locationId": emu.location_id})

    (location,) = result.locations
    assert (location.kind, location.resumed) == ("full", False)
    assert (result.inserted, result.updated, result.deleted) == (700, 0, 0)
    assert location.present == 700
    assert location.requests >= location.pages >= 7
    assert_mirror_is(database, truth, emu.location_id)
    rows = database.rows()
    assert {row["revision"] for row in rows.values()} == {1}
    state = database.states()[emu.location_id]
    assert state["bookmark"] == max(c["lastMessageDate"] for c in truth)
    assert state["pass_id"] is None
    assert state["pass_token"] is None
    assert state["last_full_at"] is not None
    assert state["conversations"] == 700
    assert state["lease_owner"] is None  # given back


async def test_typed_columns_hold_the_model_values(database: Database) -> None:
    async with emulator(300) as emu:
        await run(emu, database)
        truth = {c["id"]: c for c in emu.expected({"locationId": emu.location_id})}

    rows = database.rows()
    columns = [column.name for column in CONVERSATION_COLUMNS]
    assert set(columns) <= set(next(iter(rows.values())))
    for conversation_id, row in rows.items():
        wire = truth[conversation_id]
        assert row["last_message_type"] == wire.get("lastMessageType")
        assert row["unread_count"] == wire.get("unreadCount")
        assert row["last_message_date_ms"] == wire.get("lastMessageDate")
        assert bool(row["starred"]) == bool(wire.get("starred"))
        tags = row["tags"]
        if database.kind == "sqlite" and tags is not None:
            tags = json.loads(tags)
        assert tags == wire.get("tags")


async def test_an_incremental_run_takes_new_messages_and_conversations_and_rewrites_nothing_else(
    database: Database,
) -> None:
    async with emulator(800) as emu:
        first = await run(emu, database)
        before = database.rows()
        truth, touched = changed(
            emu.conversations, 1, messages=30, created=10, deleted=15, read=5, at_ms=now_ms()
        )
        emu.set_conversations(truth)

        second = await run(emu, database)

    (location,) = second.locations
    assert location.kind == "incremental"
    assert (location.inserted, location.updated, location.deleted) == (10, 30, 0)
    # 40 changed, few besides in the lookback window: a page, and the short one after.
    assert location.requests <= 40 // 100 + 3
    rows = database.rows()
    for conversation_id in touched["moved"] | touched["created"]:
        assert rows[conversation_id]["raw"] == {
            k: v for k, v in emu.expected({"id": conversation_id})[0].items() if v is not None
        }
    untouched = before.keys() - touched["moved"]
    assert all(rows[i]["revision"] == 1 for i in untouched)
    assert all(rows[i]["last_changed_at"] == before[i]["last_changed_at"] for i in untouched)
    assert all(rows[i]["revision"] == 2 for i in touched["moved"])
    # Deletions and reads (they move no date) wait for the next full pass.
    assert all(rows[i]["deleted_at"] is None for i in touched["deleted"])
    assert first.locations[0].present == 800
    assert location.present == 810


async def test_a_full_pass_marks_deletions_takes_reads_and_brings_the_deleted_back(
    database: Database,
) -> None:
    async with emulator(800) as emu:
        await run(emu, database)
        original = list(emu.conversations)
        truth, touched = changed(
            original, 2, messages=20, created=5, deleted=15, read=8, at_ms=now_ms()
        )
        emu.set_conversations(truth)
        await run(emu, database)

        full = await run(emu, database, full=True)
        assert_mirror_is(database, emu.expected({"locationId": emu.location_id}), emu.location_id)
        (location,) = full.locations
        assert (location.kind, location.deleted, location.inserted) == ("full", 15, 0)
        assert location.updated == 8  # the reads
        rows = database.rows()
        assert all(rows[i]["deleted_at"] is not None for i in touched["deleted"])
        assert all(rows[i]["revision"] >= 2 for i in touched["deleted"])
        assert database.states()[emu.location_id]["deleted"] == 15

        # Five come back: their marks are cleared, and rows are never deleted.
        back = [c for c in original if c["id"] in sorted(touched["deleted"])[:5]]
        emu.set_conversations([*emu.conversations, *back])
        again = await run(emu, database, full=True)
        assert again.locations[0].updated == 5
        assert again.locations[0].deleted == 0
        assert_mirror_is(database, emu.expected({"locationId": emu.location_id}), emu.location_id)
        assert len(database.rows()) == 800 + 5


async def test_a_full_pass_comes_when_the_last_one_is_full_every_old(database: Database) -> None:
    async with emulator(200) as emu:
        await run(emu, database)
        kinds = []
        for full_every in (timedelta(hours=1), timedelta(0)):
            result = await run(emu, database, full_every=full_every)
            kinds.append(result.locations[0].kind)
    assert kinds == ["incremental", "full"]


async def test_unchanged_rows_are_not_rewritten_by_a_full_pass(database: Database) -> None:
    async with emulator(500) as emu:
        await run(emu, database)
        before = database.rows()
        result = await run(emu, database, full=True)

    assert (result.inserted, result.updated, result.deleted, result.unchanged) == (0, 0, 0, 500)
    assert database.rows() == before


async def test_several_locations_run_side_by_side_each_its_own(database: Database) -> None:
    extra = ["locAAAAAAAAAAAAAAAAA", "locBBBBBBBBBBBBBBBBB", "locCCCCCCCCCCCCCCCCC"]
    # A window of 30 requests per second per location: one location alone would take
    # over a second; side by side, the four take about that long.
    async with emulator(
        300, locations=extra, latency_ms=5, rate_limit_max=30, rate_limit_interval_ms=1000
    ) as emu:
        locations = [emu.location_id, *extra]
        result = await run(emu, database, locations=locations, locations_at_once=4)
        truths = {loc: emu.expected({"locationId": loc}) for loc in locations}
        count_429 = emu.count_429

    assert [r.location_id for r in result.locations] == locations
    assert all(r.kind == "full" for r in result.locations)
    for location in locations:
        assert_mirror_is(database, truths[location], location)
    assert count_429 == 0
    assert len(database.states()) == 4


async def test_filters_are_part_of_a_mirror_and_another_set_is_refused(
    database: Database,
) -> None:
    async with emulator(400) as emu:
        result = await run(emu, database, filters={"status": "unread"})
        unread = emu.expected({"locationId": emu.location_id, "status": "unread"})
        assert 0 < result.inserted == len(unread) < 400
        assert_mirror_is(database, unread, emu.location_id)
        assert database.states()[emu.location_id]["filters"] == '{"status":"unread"}'

        with pytest.raises(MirrorError, match="with the filters"):
            await run(emu, database)


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"sort": "asc"}, "sort"),
        ({"start_after_date": 5}, "start_after_date"),
        ({"sort_by": "score_profile"}, "sort_by"),
        ({"location_id": "x"}, "location_id"),
        ({"status": "sideways"}, "status"),
    ],
)
def test_filters_a_mirror_cannot_take_are_refused_before_anything(
    filters: dict[str, Any], named: str
) -> None:
    client = LeadwayClient("pit-never-sent", base_url="http://127.0.0.1:9")
    with pytest.raises(ParameterError, match=named):
        Mirror(client, "sqlite:///never.db", filters=filters)


@pytest.mark.parametrize("sort_by", ["last_message_date", SortBy.LAST_MESSAGE_DATE, None])
def test_the_order_a_mirror_follows_may_be_named(sort_by: Any, tmp_path: Any) -> None:
    client = LeadwayClient("pit-never-sent", base_url="http://127.0.0.1:9")
    Mirror(client, f"sqlite:///{tmp_path / 'm.db'}", filters={"sort_by": sort_by})


async def test_locations_are_checked_before_anything_is_opened(tmp_path: Any) -> None:
    path = tmp_path / "m.db"
    async with emulator(5) as emu, client_for(emu) as client:
        mirror = Mirror(client, f"sqlite:///{path}")
        for bad in ([], "btcYOewX8Tc1bz9hiSlu", [""]):
            with pytest.raises(ParameterError):
                await mirror.run(bad)
    assert not path.exists()


async def test_an_api_failure_of_one_location_lets_the_others_finish(database: Database) -> None:
    extra = ["locAAAAAAAAAAAAAAAAA"]
    async with emulator(200, locations=extra) as emu, client_for(emu) as client:
        mirror = Mirror(client, database.url)
        with pytest.raises(PermissionDeniedError):
            await mirror.run([emu.location_id, "notServedHereXXXXXXX", *extra])
        truth = emu.expected({"locationId": extra[0]})
    assert_mirror_is(database, truth, extra[0])
    assert len(alive(database.rows(), emu.location_id)) == 200
    assert_no_duplicates(database)


async def test_a_mirror_does_one_run_at_a_time(sqlite_database: Database) -> None:
    async with emulator(300, latency_ms=5) as emu, client_for(emu) as client:
        mirror = Mirror(client, sqlite_database.url)
        first = asyncio.ensure_future(mirror.run())
        await asyncio.sleep(0)  # the first run has begun: it is opening the database
        assert not first.done()
        with pytest.raises(RuntimeError, match="runs once at a time"):
            await mirror.run()
        assert (await first).inserted == 300
        again = await mirror.run()  # and again once it is over
    assert again.locations[0].kind == "incremental"
