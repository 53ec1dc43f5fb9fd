"""Walks against the emulator while its location changes: over loopback, both orders,
resumed, with a filter that conversations leave; checked against its ground truth."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from leadway_async import ConversationPager
from leadway_async.testing import LeadwayEmulator, LiveChanges

from .helpers import client_for

LATENCY_MS = 15


def live_emulator(**changes: float) -> LeadwayEmulator:
    return LeadwayEmulator(
        conversations=3_000,
        seed=5,
        latency_ms=LATENCY_MS,
        rate_limit_max=1_000_000,
        live=LiveChanges(seed=3, **changes),
    )


async def walk(pager: ConversationPager, stop_after: int | None = None) -> list[str]:
    ids: list[str] = []
    async for conversation in pager:
        ids.append(conversation.id)
        if stop_after is not None and len(ids) == stop_after:
            break
    return ids


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_a_walk_loses_nothing_that_was_there_throughout(order: str) -> None:
    async with live_emulator(messages_per_s=80, created_per_s=10, deleted_per_s=5) as emu:
        async with client_for(emu) as client:
            started = emu.now()
            pager = client.paginate(sort=order, limit=50, prefetch=0)
            ids = await walk(pager)
            ended = emu.now()
        present = emu.live.present_throughout(started, ended)
        moved = emu.live.moved(started, ended)
    assert len(moved) > 20  # the location really changed under the walk
    assert present <= set(ids)
    counts = Counter(ids)
    again = sum(n - 1 for n in counts.values())
    assert pager.redelivered == again
    assert all(counts[i] == 1 for i in present - moved)


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_a_resumed_walk_loses_nothing_either(order: str) -> None:
    async with live_emulator(messages_per_s=80) as emu:
        async with client_for(emu) as client:
            started = emu.now()
            first = client.paginate(sort=order, limit=40, prefetch=1)
            ids = await walk(first, stop_after=1_234)
            token = first.resume_token
            await first.aclose()
            ids += await walk(client.paginate(sort=order, limit=40, resume_token=token))
            ended = emu.now()
        present = emu.live.present_throughout(started, ended)
    assert present <= set(ids)


async def test_conversations_leaving_the_filter_do_not_end_the_walk_early() -> None:
    async with live_emulator(read_per_s=150) as emu:
        async with client_for(emu) as client:
            started = emu.now()
            ids = await walk(client.paginate(status="unread", limit=30, prefetch=0))
            ended = emu.now()
        query = {"locationId": emu.location_id, "status": "unread"}
        unread_throughout = emu.live.matching_throughout(query, started, ended)
        left = emu.live.read(started, ended)
    assert len(left) > 20
    assert unread_throughout <= set(ids)


async def test_a_still_location_costs_one_request_to_catch_up() -> None:
    emulator = LeadwayEmulator(conversations=1_000, seed=2, rate_limit_max=1_000_000)
    async with emulator as emu, client_for(emu) as client:
        newest_first = await walk(client.paginate(limit=100))
        requests_desc = emu.request_count
        emu.clear_requests()
        oldest_first = await walk(client.paginate(sort="asc", limit=100))
        requests_asc = emu.request_count
    assert len(newest_first) == len(set(newest_first)) == 1_000
    assert sorted(oldest_first) == sorted(newest_first)
    # 1,000 conversations: ten full pages and an empty one end either walk; newest
    # first then looks once more at the top.
    assert requests_asc == 11
    assert requests_desc == 12


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def test_the_walk_handles_the_real_shape_of_every_field() -> None:
    emulator = LeadwayEmulator(conversations=2_000, seed=9, rate_limit_max=1_000_000)
    async with emulator as emu, client_for(emu) as client:
        conversations = [c async for c in client.paginate()]
    assert _ids(emu.expected({"locationId": emu.location_id})) == [c.id for c in conversations]
    assert any(c.message_types for c in conversations)
    assert any(c.profile_photo for c in conversations)
    assert any(c.last_message_type == "TYPE_NO_SHOW" for c in conversations)
    assert any(isinstance(c.scoring, tuple) and c.scoring for c in conversations)
    assert all(c.extra == {} for c in conversations)  # every field the API sends is typed


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_sorting_by_a_field_most_lack_walks_them_all_exactly_once(order: str) -> None:
    async with LeadwayEmulator(conversations=1_500, seed=4, rate_limit_max=1_000_000) as emu:
        async with client_for(emu) as client:
            started = time.monotonic()
            ids = [
                c.id async for c in client.paginate(sort_by="last_manual_message_date", sort=order)
            ]
            elapsed = time.monotonic() - started
        expected = emu.expected(
            {"locationId": emu.location_id, "sortBy": "last_manual_message_date", "sort": order}
        )
        requests = emu.request_count
    assert sorted(ids) == sorted(_ids(expected))
    assert len(ids) == len(set(ids)) == 1_500
    assert requests < 60
    assert elapsed < 30


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_a_finished_walk_resumed_later_hands_out_what_was_created_since(order: str) -> None:
    now = [1_800_000_000.0]
    live = LiveChanges(seed=8, created_per_s=20)
    emulator = LeadwayEmulator(
        conversations=250, seed=6, rate_limit_max=1_000_000, live=live, clock=lambda: now[0]
    )
    async with emulator as emu, client_for(emu) as client:
        first = client.paginate(sort=order, limit=100)
        ids = await walk(first)  # the clock stands still: nothing changes meanwhile
        finished = now[0]
        now[0] += 2
        later = await walk(client.paginate(sort=order, limit=100, resume_token=first.resume_token))
        created = emu.live.created(finished, now[0])
    assert len(ids) == len(set(ids)) == 250
    assert len(created) > 20
    assert sorted(later) == sorted(created)  # each new one once, none of the old again
