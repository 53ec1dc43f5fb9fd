"""Every request the client puts on the wire validates against the official OpenAPI spec."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadway_async import (
    ConversationStatus,
    LeadwayClient,
    MessageAction,
    MessageDirection,
    MessageType,
    SortBy,
    SortOrder,
)

from .openapi_contract import validate_search_request

ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ids = st.text(alphabet=ALPHANUMERIC, min_size=1, max_size=20)
id_lists = st.one_of(ids, st.lists(ids, min_size=1, max_size=4))
text = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "")
numbers = st.one_of(
    st.integers(min_value=0, max_value=2**53),
    st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False),
)
epoch_ms = st.integers(min_value=0, max_value=4_000_000_000_000)
aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(timezone.utc)
)


def choice(enum_class: Any) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(list(enum_class)), st.sampled_from([m.value for m in enum_class])
    )


filters = st.fixed_dictionaries(
    {},
    optional={
        "contact_id": ids,
        "assigned_to": st.one_of(id_lists, st.just("unassigned")),
        "followers": id_lists,
        "mentions": id_lists,
        "query": text,
        "sort": choice(SortOrder),
        "start_after_date": numbers,
        "conversation_id": ids,
        "limit": st.integers(min_value=1, max_value=100),
        "last_message_type": choice(MessageType),
        "last_message_action": choice(MessageAction),
        "last_message_direction": choice(MessageDirection),
        "status": choice(ConversationStatus),
        "sort_by": choice(SortBy),
        "sort_score_profile": ids,
        "score_profile": ids,
        "score_profile_min": st.integers(min_value=0, max_value=50),
        "score_profile_max": st.integers(min_value=50, max_value=100),
        "start_date": st.one_of(
            epoch_ms.map(lambda ms: min(ms, 2_000_000_000_000)), aware_datetimes
        ),
        "end_date": st.integers(min_value=4_102_444_800_000, max_value=4_102_444_800_001),
    },
)


async def send_and_capture(search_filters: dict[str, Any]) -> tuple[str, dict[str, str]]:
    captured: list[tuple[str, dict[str, str]]] = []

    async def record(request: web.Request) -> web.Response:
        captured.append((str(request.url), dict(request.headers)))
        return web.json_response({"conversations": [], "total": 0})

    app = web.Application()
    app.router.add_get("/conversations/search", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with LeadwayClient(
            "pit-contract-test",
            location_id="ve9EPM428h8vShlRW1KT",
            base_url=f"http://{host}:{port}",
        ) as client:
            await client.search(**search_filters)
    finally:
        await runner.cleanup()
    (request,) = captured
    return request


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filters)
def test_every_request_the_client_sends_validates_against_the_spec(
    search_filters: dict[str, Any],
) -> None:
    url, headers = asyncio.run(send_and_capture(search_filters))
    validate_search_request(url, headers)
