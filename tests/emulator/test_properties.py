"""Properties of cursor walks over many data sets and queries, on one reused server."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadway_async.testing import (
    USER_IDS,
    LeadwayEmulator,
    ThreadedEmulator,
    generate_conversations,
)


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedEmulator]:
    with LeadwayEmulator(conversations=0, rate_limit_max=10**9).run_in_thread() as emulator:
        yield emulator


def get(server: ThreadedEmulator, params: list[tuple[str, str]]) -> dict[str, Any]:
    query = urllib.parse.urlencode([("locationId", server.location_id), *params])
    request = urllib.request.Request(
        f"{server.url}/conversations/search?{query}",
        headers={"Authorization": f"Bearer {server.token}", "Version": "2021-07-28"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, Any] = json.load(answer)
        return body


filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["all", "read", "unread", "starred", "recents"]),
        "lastMessageDirection": st.sampled_from(["inbound", "outbound"]),
        "assignedTo": st.sampled_from([*USER_IDS[:3], "unassigned", f"{USER_IDS[4]},unassigned"]),
        "sort": st.sampled_from(["asc", "desc"]),
        "sortBy": st.sampled_from(["last_message_date", "last_manual_message_date", "due_at"]),
    },
)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(0, 120),
    seed=st.integers(0, 10**6),
    ties=st.sampled_from([0.0, 0.3, 0.9]),
    wire=filters,
    limit=st.integers(1, 100),
)
def test_a_cursor_walk_sees_each_conversation_at_most_once_in_order(
    server: ThreadedEmulator,
    size: int,
    seed: int,
    ties: float,
    wire: dict[str, str],
    limit: int,
) -> None:
    server.set_conversations(generate_conversations(size, seed=seed, location_id="L", ties=ties))
    expected = [c["id"] for c in server.expected(wire)]
    walked: list[str] = []
    cursor: list[tuple[str, str]] = []
    while True:
        page = get(server, [*wire.items(), ("limit", str(limit)), *cursor])
        assert page["total"] == len(expected)
        assert len(page["conversations"]) <= limit
        if not page["conversations"]:
            break
        walked += [c["id"] for c in page["conversations"]]
        cursor = [("startAfterDate", str(page["conversations"][-1]["sort"][0]))]

    assert len(set(walked)) == len(walked)
    rest = iter(expected)
    assert all(conv_id in rest for conv_id in walked)  # in the server's order
    if ties == 0 and wire.get("sortBy", "last_message_date") == "last_message_date":
        assert walked == expected  # no ties: nothing is skipped at page boundaries
