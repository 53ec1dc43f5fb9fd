"""Live changes: messages, creations, deletions and reads while the emulator serves, and the
ground truth it keeps about them, checked against what searches answer over loopback."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from leadway_async.testing import LeadwayEmulator, LiveChanges
from leadway_async.testing.query import parse_query, query_pairs
from leadway_async.testing.store import ConversationStore

from .conftest import Api, FakeClock, untraced

Conv = dict[str, Any]
Live = Callable[..., Any]


@pytest.fixture
def live(http: aiohttp.ClientSession) -> Live:
    """Start an emulator with live changes: `async with live(clock, conversations=..., **rates)`."""

    @asynccontextmanager
    async def start(
        clock: Callable[[], float] = time.time, conversations: int = 200, **rates: Any
    ) -> AsyncIterator[Api]:
        emulator = LeadwayEmulator(
            conversations=conversations,
            seed=4,
            rate_limit_max=10**9,
            clock=clock,
            live=LiveChanges(**rates),
        )
        async with emulator:
            yield Api(emulator, http)

    return start


def ids(body: dict[str, Any]) -> list[str]:
    return [c["id"] for c in body["conversations"]]


async def everything(api: Api, **params: str) -> list[Conv]:
    """One page holding every conversation the query selects (the data sets here are small)."""
    body = await api.search(**params, limit="100")
    assert len(body["conversations"]) == body["total"] < 100
    conversations: list[Conv] = body["conversations"]
    return conversations


async def test_messages_move_conversations_to_the_newest_end(live: Live) -> None:
    clock = FakeClock()
    async with live(clock, messages_per_s=40, seed=1) as api:
        t0 = api.emulator.now()
        before = {c["id"]: c for c in await api.walk(limit="100")}
        newest_before = max(c["lastMessageDate"] for c in before.values())
        t1 = clock.advance(1.0)
        moved = api.emulator.live.moved(t0, t1)
        first = await api.search(limit="100")

    assert 20 < len(moved) < 60
    top = first["conversations"][: len(moved)]
    assert {c["id"] for c in top} == moved  # the newest end, in order
    assert first["conversations"][len(moved)]["lastMessageDate"] == newest_before
    dates = [c["lastMessageDate"] for c in top]
    assert dates == sorted(dates, reverse=True)
    assert all(t0 * 1000 <= d <= t1 * 1000 for d in dates)
    for conv in top:
        old = before[conv["id"]]
        assert conv["sort"] == [conv["lastMessageDate"]]
        assert conv["dateUpdated"] == conv["lastMessageDate"] > old["lastMessageDate"]
        assert conv["isLastMessageInternalComment"] == (
            conv["lastMessageType"] == "TYPE_INTERNAL_COMMENT"
        )
    assert first["total"] == len(before)
    inbound = [c for c in top if c.get("lastMessageDirection") == "inbound"]
    assert inbound
    assert all(c["unreadCount"] >= 1 for c in inbound)
    manual = [
        c
        for c in top
        if c.get("lastMessageDirection") == "outbound"
        and c["lastOutboundMessageAction"] == "manual"
    ]
    assert manual
    # Several messages can go to one conversation: its manual date is then its last one's.
    assert all(c["lastManualMessageDate"] <= c["lastMessageDate"] for c in manual)
    assert all(c["lastManualMessageDate"] >= t0 * 1000 for c in manual)


async def test_creations_appear_only_after_the_index_lag(live: Live) -> None:
    clock = FakeClock()
    async with live(clock, conversations=50, created_per_s=10, index_lag_s=5, seed=2) as api:
        emulator = api.emulator
        t0 = emulator.now()
        t2 = clock.advance(2)
        created = emulator.live.created(t0, t2)
        assert 5 <= len(created) <= 40
        early = await everything(api)
        assert len(early) == 50
        assert created.isdisjoint(c["id"] for c in early)
        for conv_id in created:
            assert (await api.search(id=conv_id))["total"] == 0
        assert created.isdisjoint(c["id"] for c in emulator.conversations)

        clock.now = t0 + 4.99  # every conversation created so far is less than 5 s old
        assert len(await everything(api)) == 50
        clock.now = t2 + 5
        shown = await everything(api)
        later = emulator.live.created(t2, clock.now)
        found = {c["id"]: c for c in shown}

    assert len(shown) == 50 + len(created)
    assert created <= set(found)
    assert later.isdisjoint(found)  # created after t2: not yet
    for conv_id in created:
        conv = found[conv_id]
        assert conv["dateAdded"] == conv["lastMessageDate"] == conv["dateUpdated"]
        assert t0 * 1000 <= conv["dateAdded"] <= t2 * 1000
        assert conv["locationId"] == api.emulator.location_id


async def test_a_zero_lag_shows_creations_at_once(live: Live) -> None:
    clock = FakeClock()
    async with live(clock, conversations=30, created_per_s=10, seed=9) as api:
        t0 = api.emulator.now()
        t1 = clock.advance(1)
        created = api.emulator.live.created(t0, t1)
        shown = await everything(api)
    assert created
    assert created <= {c["id"] for c in shown}
    assert [c["id"] for c in shown[: len(created)]] == sorted(
        created, key=lambda i: -next(c["lastMessageDate"] for c in shown if c["id"] == i)
    )


async def test_deletions_disappear_from_results_and_totals(live: Live) -> None:
    clock = FakeClock()
    async with live(clock, conversations=80, deleted_per_s=10, seed=3) as api:
        t0 = api.emulator.now()
        before = {c["id"] for c in await everything(api)}
        t1 = clock.advance(1.5)
        deleted = api.emulator.live.deleted(t0, t1)
        after = {c["id"] for c in await everything(api)}
        one = next(iter(deleted))
        assert untraced(await api.search(id=one)) == {"conversations": [], "total": 0}
    assert 5 <= len(deleted) <= 30
    assert deleted <= before
    assert after == before - deleted


async def test_reads_leave_status_unread(live: Live) -> None:
    clock = FakeClock()
    async with live(clock, read_per_s=10, seed=5) as api:
        t0 = api.emulator.now()
        unread_before = {c["id"] for c in await api.walk(status="unread", limit="100")}
        t1 = clock.advance(1.5)
        read = api.emulator.live.read(t0, t1)
        unread_after = {c["id"] for c in await api.walk(status="unread", limit="100")}
        read_now = {c["id"] for c in await api.walk(status="read", limit="100")}
    assert 5 <= len(read) <= 30
    assert read <= unread_before
    assert unread_after == unread_before - read
    assert read <= read_now


async def test_the_changes_follow_the_seed_whenever_requests_come(live: Live) -> None:
    rates = {
        "messages_per_s": 30,
        "created_per_s": 5,
        "deleted_per_s": 5,
        "read_per_s": 5,
        "index_lag_s": 0.5,
    }

    async def run(seed: int, steps: int) -> tuple[list[Conv], dict[str, frozenset[str]]]:
        clock = FakeClock()
        async with live(clock, conversations=60, seed=seed, **rates) as api:
            t0 = api.emulator.now()
            for _ in range(steps):  # requests in between apply what is due, in small batches
                clock.advance(2 / steps)
                await api.search(status="unread")
            clock.now = t0 + 2
            body = await everything(api)
            truth = {
                "moved": api.emulator.live.moved(t0, clock.now),
                "created": api.emulator.live.created(t0, clock.now),
                "deleted": api.emulator.live.deleted(t0, clock.now),
                "read": api.emulator.live.read(t0, clock.now),
            }
        return body, truth

    first = await run(seed=7, steps=1)
    assert all(first[1].values())
    assert await run(seed=7, steps=1) == first
    assert await run(seed=7, steps=40) == first
    other = await run(seed=8, steps=1)
    assert other[1]["moved"] != first[1]["moved"]


async def test_cached_views_are_kept_in_step_with_the_changes(live: Live) -> None:
    queries: list[dict[str, str]] = [
        {},
        {"sort": "asc"},
        {"status": "unread"},
        {"status": "read", "sort": "asc"},
        {"status": "recents"},
        {"lastMessageDirection": "inbound"},
        {"sortBy": "last_manual_message_date"},
        {"sortBy": "last_manual_message_date", "sort": "asc", "status": "unread"},
        {"sortBy": "due_at", "sort": "asc"},
        {"query": "a"},
    ]
    clock = FakeClock()
    rates = {"messages_per_s": 20, "created_per_s": 4, "deleted_per_s": 4, "read_per_s": 6}
    async with live(clock, conversations=70, seed=6, **rates) as api:
        for _ in range(4):
            for query in queries:  # every view is cached, then changed in place
                await api.search(**query, limit="100")
            clock.advance(0.4)
        fresh = ConversationStore(api.emulator.conversations)
        fresh.newest = api.emulator._state.store.newest
        for query in queries:
            served = await api.search(**query, limit="100")
            expected = fresh.expected(parse_query(query_pairs(query)))
            assert served["conversations"] == expected, query
            assert served["total"] == len(expected)


async def test_ground_truth_questions_need_a_span_that_has_passed(live: Live) -> None:
    clock = FakeClock()
    async with live(clock, messages_per_s=5) as api:
        truth = api.emulator.live
        now = api.emulator.now()
        assert now == clock.now
        with pytest.raises(ValueError, match="after now"):
            truth.moved(now, now + 1)
        with pytest.raises(ValueError, match="before it starts"):
            truth.present_throughout(now, now - 1)
        assert len(truth.present_throughout(now, now)) == 200


async def test_changes_stop_when_the_emulator_stops(live: Live) -> None:
    clock = FakeClock()
    async with live(clock, messages_per_s=50, deleted_per_s=5) as api:
        started = api.emulator.now()
        stopped = clock.advance(1)
    truth = api.emulator.live
    later = clock.advance(10)
    assert truth.moved(started, stopped)
    assert truth.moved(stopped + 0.001, later) == frozenset()
    assert truth.deleted(stopped + 0.001, later) == frozenset()
    assert len(api.emulator.conversations) == 200 - len(truth.deleted(started, later))


async def test_new_data_starts_the_record_afresh(live: Live) -> None:
    clock = FakeClock()
    async with live(clock, conversations=20, deleted_per_s=20, messages_per_s=20) as api:
        t0 = api.emulator.now()
        clock.advance(1)
        assert api.emulator.live.deleted(t0, clock.now)
        api.emulator.set_conversations([{"id": "x", "lastMessageDate": 1}])
        assert api.emulator.live.deleted(t0, clock.now) == frozenset()
        assert api.emulator.live.present_throughout(t0, clock.now) == {"x"}
        clock.advance(5)
        assert ids(await api.search()) == []  # the one conversation was deleted since
        assert api.emulator.live.deleted(t0, clock.now) == {"x"}


async def test_ground_truth_matches_searches_at_both_ends_of_a_real_span(live: Live) -> None:
    rates = {
        "messages_per_s": 300,
        "created_per_s": 40,
        "deleted_per_s": 40,
        "read_per_s": 60,
        "index_lag_s": 0.02,
        "seed": 11,
    }
    async with live(conversations=50, **rates) as api:
        t0 = time.time()
        start, start_unread = await everything(api), await everything(api, status="unread")
        await asyncio.sleep(0.25)
        before_end = time.time()  # what happened by then shows in the answers that follow
        end, end_unread = await everything(api), await everything(api, status="unread")
        t1 = time.time()
        truth = api.emulator.live
        present = truth.present_throughout(t0, t1)
        unread = truth.matching_throughout({"status": "unread"}, t0, t1)
        inbound = truth.matching_throughout({"lastMessageDirection": "inbound"}, t0, t1)
        moved, read = truth.moved(t0, t1), truth.read(t0, t1)
        created, deleted = truth.created(t0, t1), truth.deleted(t0, t1)
        read_by_end, deleted_by_end = truth.read(t0, before_end), truth.deleted(t0, before_end)

    at_start, at_end = ({c["id"] for c in cs} for cs in (start, end))
    assert all((moved, read, created, deleted))
    assert present <= at_start & at_end
    assert (at_start & at_end) - present <= created  # made and indexed just after t0
    assert at_start - at_end <= deleted
    assert at_end - at_start <= created
    assert deleted_by_end.isdisjoint(at_end)

    was = {c["id"]: c for c in start}
    changed = {c["id"] for c in end if c["id"] in was and c != was[c["id"]]}
    assert changed <= moved | read
    fresh = {c["id"] for c in end if c["lastMessageDate"] >= math.ceil(t0 * 1000)}
    assert fresh <= moved | created
    assert [c["id"] for c in end[: len(fresh)]] == [c["id"] for c in end if c["id"] in fresh]

    unread_start, unread_end = ({c["id"] for c in cs} for cs in (start_unread, end_unread))
    assert unread <= unread_start & unread_end
    assert (unread_start & unread_end & present) - moved - read <= unread
    assert (read_by_end - moved).isdisjoint(unread_end)
    untouched = present - moved - read
    assert inbound & untouched == {
        c["id"]
        for c in start
        if c["id"] in untouched and c.get("lastMessageDirection") == "inbound"
    }


async def test_matching_throughout_needs_every_state_in_the_span_to_match(live: Live) -> None:
    clock = FakeClock()
    rates = {"messages_per_s": 60, "read_per_s": 30, "seed": 12}
    async with live(clock, conversations=40, **rates) as api:
        t0 = api.emulator.now()
        unread_at_start = {c["id"] for c in await everything(api, status="unread")}
        t1 = clock.advance(1)
        unread_at_end = {c["id"] for c in await everything(api, status="unread")}
        truth = api.emulator.live
        read = truth.read(t0, t1)
        matching = truth.matching_throughout(
            {"locationId": api.emulator.location_id, "status": "unread", "limit": 5}, t0, t1
        )
        everyone = truth.matching_throughout(None, t0, t1)
        present = truth.present_throughout(t0, t1)

    assert everyone == present
    assert matching == unread_at_start - read
    read_again = (unread_at_start & unread_at_end) & read  # read, then a new inbound message
    assert read_again, "the seed should give a conversation read and then written to"
    assert read_again.isdisjoint(matching)


async def test_recents_follow_the_newest_message_as_it_moves(live: Live) -> None:
    clock = FakeClock()
    async with live(clock, conversations=300, messages_per_s=5, seed=13) as api:
        truth = api.emulator.live
        t0 = api.emulator.now()
        recent_at_start = {c["id"] for c in await everything(api, status="recents")}
        assert 3 <= len(recent_at_start) < 100
        early = clock.advance(0.001)
        assert truth.moved(t0, early) == frozenset()
        assert truth.matching_throughout({"status": "recents"}, t0, early) == recent_at_start
        t1 = clock.advance(3)
        moved = truth.moved(t0, t1)
        recent_at_end = {c["id"] for c in await everything(api, status="recents")}
        matching = truth.matching_throughout({"status": "recents"}, t0, t1)

    # The first message of 2027 leaves the data of 2025 far behind: only the moved are recent.
    assert recent_at_end == moved
    assert matching <= recent_at_start & moved
    assert len(matching) <= 1  # at most the one that got the first message
