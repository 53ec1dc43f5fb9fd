"""Walks that begin after a caller's `startAfterDate`: the API's `total` may count what
lies before the cursor, so it cannot say the walk is not over."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadway_async import LeadwayClient
from leadway_async.testing import LeadwayEmulator


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_a_walk_with_one_conversation_after_the_cursor_hands_it_out_and_ends(
    order: str,
) -> None:
    async with LeadwayEmulator(conversations=50, seed=4) as emu:
        dates = sorted(c["lastMessageDate"] for c in emu.conversations_in())
        cursor = dates[-2] if order == "asc" else dates[1]
        query = {"locationId": emu.location_id, "sort": order, "startAfterDate": str(cursor)}
        want = [c["id"] for c in emu.expected(query)]
        assert len(want) == 1
        async with LeadwayClient(emu.token, base_url=emu.url) as client:
            pager = client.paginate(
                location_id=emu.location_id, sort=order, start_after_date=cursor
            )
            got = [c.id async for c in pager]
        assert got == want
        assert len(emu.requests) <= 2  # the page, and at most the catch-up's look


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 119), order=st.sampled_from(["asc", "desc"]), limit=st.integers(1, 30))
async def test_a_walk_from_any_cursor_hands_out_exactly_what_lies_after_it(
    index: int, order: str, limit: int
) -> None:
    async with LeadwayEmulator(conversations=120, seed=9, ties=0.3) as emu:
        dates = sorted(c["lastMessageDate"] for c in emu.conversations_in())
        cursor = dates[index]
        query = {"locationId": emu.location_id, "sort": order, "startAfterDate": str(cursor)}
        want = [c["id"] for c in emu.expected(query)]
        async with LeadwayClient(emu.token, base_url=emu.url) as client:
            pager = client.paginate(
                location_id=emu.location_id, sort=order, start_after_date=cursor, limit=limit
            )
            got = [c.id async for c in pager]
        assert sorted(got) == sorted(want)
        assert len(got) == len(set(got))
